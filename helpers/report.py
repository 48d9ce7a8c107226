"""Recording results: the results.json record, the summary table and the comparison plot.

Every variant of the model (baseline, quantized, pruned, ONNX, combined) becomes one
record with the same fields, so results from different days, machines or learners can be
compared: size on disk, latency (median and p90), accuracy, parameters, sparsity, and the
settings they were measured under (thread counts, library versions, machine).
"""

from __future__ import annotations

import datetime
import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import matplotlib
import numpy
import onnx
import onnxruntime
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from helpers.contract import day_order
from helpers.errors import file_error
from helpers.files import write_text_atomically
from helpers.machine import machine_description, machine_kind

RESULTS_SCHEMA = "day26-results/1"


def library_versions() -> dict[str, str]:
    """Versions of the libraries that decide the figures."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
    }


@dataclass
class VariantResult:
    """One variant of the model, measured. Sizes in bytes, latency in ms, accuracy in [0, 1]."""

    variant: str
    description: str
    artifact: str  # file name under artifacts/
    size_bytes: int
    latency_ms: dict  # Measurement.as_dict(): median, p90, iqr, calls, threads, batch_size, runtime
    speedup_vs_baseline: float  # median of interleaved per-block ratios; 1.0 for the baseline
    accuracy: float
    params: int
    sparsity: float
    track: str
    extra: dict = field(default_factory=dict)
    versions: dict = field(default_factory=library_versions)
    machine: dict = field(default_factory=machine_description)
    measured_at: str = field(default_factory=lambda: datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))

    @classmethod
    def from_dict(cls, record: dict) -> VariantResult:
        """A record as read back from results.json (unknown keys are an error: TypeError)."""
        return cls(**record)

    @property
    def median_ms(self) -> float:
        """Median latency at batch 1, in milliseconds."""
        return self.latency_ms["median"]


def read_results(path: str | Path) -> list[VariantResult]:
    """The records of a results.json file in the day's order, baseline first ([] if there is no file yet).

    Records are kept by variant, so re-running a notebook replaces its record; the order comes
    from :data:`helpers.contract.VARIANT_ORDER`, not from the order the notebooks were run in.
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        content = json.loads(path.read_text())
        records = [VariantResult.from_dict(record) for record in content["records"]]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise file_error(path, "is not a Day 26 results file", "Delete it and run the notebooks again.") from None
    return sorted(records, key=lambda record: day_order(record.variant))


def records_by_variant(path: str | Path) -> dict[str, VariantResult]:
    """The records of a results.json file, keyed by variant name."""
    return {record.variant: record for record in read_results(path)}


def record_result(path: str | Path, result: VariantResult) -> None:
    """Add ``result`` to results.json, replacing an earlier record of the same variant.

    The file is replaced in one step, so an interrupted run never leaves a half-written file.
    """
    records = [record for record in read_results(path) if record.variant != result.variant]
    records = sorted([*records, result], key=lambda record: day_order(record.variant))
    content = {"schema": RESULTS_SCHEMA, "records": [asdict(record) for record in records]}
    write_text_atomically(path, json.dumps(content, indent=2))


def summary_table(records: list[VariantResult]) -> str:
    """A plain-text table of all variants, with ratios against the first record (the baseline)."""
    if not records:
        return "(no results yet)"
    base = records[0]
    header = (
        f"{'variant':<18} {'size MB':>8} {'smaller':>8} {'median ms':>10} {'p90 ms':>8} {'faster':>7} "
        f"{'accuracy':>9} {'change':>7} {'params':>10} {'sparsity':>8}"
    )
    lines = [header, "-" * len(header)]
    for record in records:
        drop = 100.0 * (record.accuracy - base.accuracy)
        lines.append(
            f"{record.variant:<18} {record.size_bytes / 1e6:>8.3f} "
            f"{base.size_bytes / record.size_bytes:>7.1f}x "
            f"{record.latency_ms['median']:>10.3f} {record.latency_ms['p90']:>8.3f} "
            f"{record.speedup_vs_baseline:>6.2f}x {100 * record.accuracy:>8.2f}% {drop:>+6.2f} "
            f"{record.params:>10,} {100 * record.sparsity:>7.1f}%"
        )
    first = records[0]
    lines.append(
        f"track {first.track}; batch {first.latency_ms['batch_size']}; "
        f"{first.latency_ms['threads']} thread(s) for PyTorch and ONNX Runtime; "
        f"'faster' = median of interleaved per-block ratios against {first.variant}; "
        f"'change' = accuracy change in points"
    )
    return "\n".join(lines)


def comparison_figure(records: list[VariantResult], title: str = "") -> Figure:
    """Bar charts of latency, size and accuracy for every variant (baseline first)."""
    names = [record.variant for record in records]
    colours = ["#8c8c8c"] + ["#4c72b0"] * (len(records) - 2) + ["#c44e52"] if len(records) > 1 else ["#8c8c8c"]
    panels = [
        ("Latency, median (ms)", [r.median_ms for r in records], "{:.2f}"),
        ("Size on disk (MB)", [r.size_bytes / 1e6 for r in records], "{:.2f}"),
        ("Accuracy (%)", [100 * r.accuracy for r in records], "{:.1f}"),
    ]
    figure = Figure(figsize=(15, 4.8), layout="constrained")
    axes = figure.subplots(1, 3)
    for axis, (label, values, number_format) in zip(axes, panels, strict=True):
        bars = axis.bar(names, values, color=colours)
        axis.bar_label(bars, labels=[number_format.format(value) for value in values], fontsize=8)
        axis.set_title(label)
        axis.set_xticks(range(len(names)), names, rotation=30, ha="right")
        axis.grid(True, axis="y", alpha=0.3)
    accuracies = panels[2][1]
    if accuracies:  # zoom in: differences of a point or two are what matter
        axes[2].set_ylim(max(0.0, min(accuracies) - 5.0), min(100.0, max(accuracies) + 2.0))
    if records:
        first = records[0]
        threads = first.latency_ms["threads"]
        figure.suptitle(
            title or f"Day 26, {first.track} track: batch 1, {threads} thread(s), {machine_kind(first.machine)}"
        )
    return figure


MISSED_COLOUR = "#c44e52"  # the ring around a model that missed a target
MIN_COLOUR_SPAN = 10.0  # accuracy points from the darkest to the brightest colour, at least


def tradeoff_scatter(
    figure: Figure,
    latency_ms: list[float],
    size_mb: list[float],
    accuracy_percent: list[float],
    labels: list[str],
    reference: tuple[float, float] | None = None,
    reference_label: str = "reference",
    missed: list[bool] | None = None,
) -> Axes:
    """Latency (x, ms) against size on disk (y, MB), both from 0, one point per model, coloured by
    accuracy (%) on a scale at least :data:`MIN_COLOUR_SPAN` points wide (so models a point apart look
    alike, as they are), each labelled (an empty label draws none). ``reference`` (latency, size) is drawn
    as a star labelled ``reference_label``. With ``missed``, a model that missed a target gets a red
    ring, "(missed)" after its label and a legend, so a fast model that lost too much accuracy does not
    look like a winner. Faster and smaller models sit towards the bottom left. Returns the axes."""
    axis = figure.subplots()
    best = max(accuracy_percent)
    low = min(min(accuracy_percent), best - MIN_COLOUR_SPAN)  # a point of accuracy is a shade, not a rainbow
    points = axis.scatter(latency_ms, size_mb, c=accuracy_percent, cmap="viridis", vmin=low, vmax=best, s=80,
                          edgecolors="black")  # fmt: skip
    if missed is not None:
        rings = [(x, y) for x, y, miss in zip(latency_ms, size_mb, missed, strict=True) if miss]
        if rings:
            axis.scatter(*zip(*rings, strict=True), s=300, facecolors="none", edgecolors=MISSED_COLOUR, linewidths=2)
        labels = [f"{label} (missed)" if miss and label else label for label, miss in zip(labels, missed, strict=True)]
        axis.legend(
            handles=[
                Line2D([], [], marker="o", linestyle="", color="grey", markeredgecolor="black",
                       label="met every target"),
                Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor=MISSED_COLOUR,
                       markeredgewidth=2, markersize=13, label="missed a target"),
            ],
            loc="upper left",
            fontsize=9,
        )  # fmt: skip
    x_top = max([*latency_ms, reference[0] if reference else 0]) or 1.0
    y_top = max([*size_mb, reference[1] if reference else 0]) or 1.0
    for names, x, y in _label_groups(labels, latency_ms, size_mb, x_top, y_top):
        on_the_right = x / x_top > 0.6  # a label there would leave the axes: write it to the left
        axis.annotate("\n".join(names), (x, y), textcoords="offset points", xytext=(-8 if on_the_right else 8, 6),
                      ha="right" if on_the_right else "left", va="bottom", fontsize=9)  # fmt: skip
    if reference is not None:
        axis.scatter([reference[0]], [reference[1]], marker="*", s=300, color="#c44e52")
        axis.annotate(reference_label, reference, textcoords="offset points", xytext=(8, -14), color="#c44e52")
    axis.set_xlim(left=0, right=1.15 * x_top)
    axis.set_ylim(bottom=0, top=1.25 * y_top)  # room above the highest point for its label
    axis.set_xlabel("latency, median at batch 1 (ms)")
    axis.set_ylabel("size on disk (MB)")
    axis.grid(True, alpha=0.3)
    figure.colorbar(points, ax=axis, label="accuracy (%)")
    return axis


def _label_groups(
    labels: list[str], xs: list[float], ys: list[float], x_top: float, y_top: float, near: float = 0.08
) -> list[tuple[list[str], float, float]]:
    """Labels of points that sit close together (within ``near`` of the axes' ranges), gathered into
    one label per group, placed at the group's highest point (so it prints above all of them): a
    baseline, its dynamic INT8 copy and its pruned copy often land on the same spot, and their labels
    would print on top of each other."""
    groups: list[tuple[list[str], list[tuple[float, float]]]] = []
    for label, x, y in zip(labels, xs, ys, strict=True):
        if not label:
            continue
        for names, points in groups:
            gx, gy = points[0]
            if abs(x - gx) / x_top < near and abs(y - gy) / y_top < near:
                names.append(label)
                points.append((x, y))
                break
        else:
            groups.append(([label], [(x, y)]))
    return [(names, *max(points, key=lambda point: point[1])) for names, points in groups]


def save_comparison_plot(records: list[VariantResult], path: str | Path) -> Path:
    """Draw :func:`comparison_figure` and save it as a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    comparison_figure(records).savefig(path, dpi=120)
    return path
