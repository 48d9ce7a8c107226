"""Plots of the day's experiments: the pruning sweep, the layer sensitivity scan, the recipes.

Each function takes the figures you measured and returns a matplotlib ``Figure``; save it with
:func:`save_figure`. The figures are drawn without a display (``matplotlib.figure.Figure``), so
they work in a notebook, a terminal and the grader alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure


@dataclass
class SweepPoint:
    """One model of a pruning sweep: how it was pruned and what it measured."""

    scope: str  # "layer" or "global"
    amount: float  # fraction of the weights asked to be zero, 0 to 1
    sparsity: float  # fraction of the prunable weights that are zero, 0 to 1
    accuracy: float  # on the sweep's validation subset, 0 to 1
    dense_bytes: int  # the .pth file on disk
    gzip_bytes: int  # that file compressed with gzip
    int8_gzip_bytes: int  # weights rounded to INT8, then gzip


def sparsity_sweep_figure(points: list[SweepPoint], baseline_accuracy: float, baseline_bytes: int) -> Figure:
    """Left: accuracy (%) against sparsity (%), one line per scope. Right: size on disk (MB)
    against sparsity for the dense file, gzip and INT8 + gzip (from the global sweep, or
    whichever scope there is). The baseline is a dashed line in both."""
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    accuracy_axis, size_axis = figure.subplots(1, 2)
    for scope in sorted({point.scope for point in points}):
        line = sorted((p for p in points if p.scope == scope), key=lambda p: p.sparsity)
        accuracy_axis.plot([100 * p.sparsity for p in line], [100 * p.accuracy for p in line], "o-", label=scope)
    accuracy_axis.axhline(100 * baseline_accuracy, color="grey", linestyle="--", label="baseline")
    accuracy_axis.set(xlabel="sparsity (%)", ylabel="accuracy (%)", title="accuracy against sparsity")
    accuracy_axis.legend()
    scopes = {point.scope for point in points}
    shown = sorted(
        (p for p in points if p.scope == ("global" if "global" in scopes else min(scopes))), key=lambda p: p.sparsity
    )
    x = [100 * p.sparsity for p in shown]
    for label, values in (
        ("dense .pth", [p.dense_bytes for p in shown]),
        ("gzip", [p.gzip_bytes for p in shown]),
        ("INT8 + gzip", [p.int8_gzip_bytes for p in shown]),
    ):
        size_axis.plot(x, [value / 1e6 for value in values], "o-", label=label)
    size_axis.axhline(baseline_bytes / 1e6, color="grey", linestyle="--", label="baseline")
    size_axis.set(xlabel="sparsity (%)", ylabel="size (MB)", title="size against sparsity", ylim=(0, None))
    size_axis.legend()
    for axis in (accuracy_axis, size_axis):
        axis.grid(True, alpha=0.3)
    return figure


def sensitivity_figure(accuracy_by_layer: dict[str, dict[float, float]], baseline_accuracy: float) -> Figure:
    """Accuracy (%) after pruning one layer at a time: a group of bars per layer, one bar per
    amount (fraction of that layer's weights zeroed). The baseline is a dashed line."""
    layers = list(accuracy_by_layer)
    amounts = sorted({amount for scores in accuracy_by_layer.values() for amount in scores})
    figure = Figure(figsize=(max(8, 0.6 * len(layers) + 3), 4.5), layout="constrained")
    axis = figure.subplots()
    width = 0.8 / max(1, len(amounts))
    for index, amount in enumerate(amounts):
        positions = [i + (index - (len(amounts) - 1) / 2) * width for i in range(len(layers))]
        axis.bar(
            positions,
            [100 * accuracy_by_layer[layer].get(amount, float("nan")) for layer in layers],
            width=width,
            label=f"{amount:.0%} of the layer pruned",
        )
    axis.axhline(100 * baseline_accuracy, color="grey", linestyle="--", label="baseline")
    axis.set_xticks(range(len(layers)), layers, rotation=45, ha="right")
    axis.set(ylabel="accuracy (%)", title="pruning one layer at a time")
    axis.legend()
    axis.grid(True, axis="y", alpha=0.3)
    return figure


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Save ``figure`` as a PNG at ``path`` (folders are created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
