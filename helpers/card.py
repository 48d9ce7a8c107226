"""A results card for the daily Teams check-in: one picture and one small table.

``day26 card`` reads your ``artifacts/results.json`` and writes

- ``card.png``: each variant of your model as a point, latency (x) against size on disk (y),
  coloured by accuracy, with the track, the model and the machine in the title;
- ``card.md``: the same figures as a Markdown table, ready to paste into the chat;
- with ``--teams``, ``card.json``: the card as a Teams message (see :mod:`helpers.teams_card`).

Both say plainly that the figures are **self-measured**: your own notebook timed them on your
own machine, and nobody has checked them. Latency depends on the machine, so compare the
"x faster" and "x smaller" ratios with your peers, not the milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from helpers.errors import file_error
from helpers.machine import machine_kind
from helpers.report import VariantResult, read_results, tradeoff_scatter

SELF_MEASURED = "self-measured: timed by the learner's own notebook on their own machine, not checked by the grader"


@dataclass
class CardRow:
    """One variant on the card. Size in MB (10^6 bytes), latency in ms (median, batch 1), accuracy in %."""

    variant: str
    size_mb: float
    times_smaller: float
    latency_ms: float
    times_faster: float
    accuracy_percent: float
    change_points: float


def card_rows(records: list[VariantResult]) -> list[CardRow]:
    """The card's rows, with ratios against the first record (the baseline)."""
    base = records[0]
    return [
        CardRow(
            variant=record.variant,
            size_mb=record.size_bytes / 1e6,
            times_smaller=base.size_bytes / record.size_bytes,
            latency_ms=record.median_ms,
            times_faster=record.speedup_vs_baseline,
            accuracy_percent=100 * record.accuracy,
            change_points=100 * (record.accuracy - base.accuracy),
        )
        for record in records
    ]


def _setting_line(record: VariantResult) -> str:
    """The cores of the machine and the settings the latency was timed with."""
    threads = record.latency_ms.get("threads", "?")
    return f"{record.machine.get('cores', '?')} cores; batch 1, {threads} thread(s)"


def machine_line(record: VariantResult) -> str:
    """The kind of machine (processor and INT8 instruction sets), its cores, batch and threads."""
    return f"{machine_kind(record.machine)}, {_setting_line(record)}"


def libraries_line(record: VariantResult) -> str:
    """The versions of the libraries that decide the figures, e.g. ``torch 2.13.0, onnxruntime 1.32.0``."""
    return ", ".join(f"{name} {version}" for name, version in record.versions.items())


CARD_COLUMNS = ("variant", "size MB", "smaller", "latency ms", "faster", "accuracy", "change")


def card_cells(row: CardRow) -> list[str]:
    """The figures of ``row`` as the card shows them, one text per :data:`CARD_COLUMNS` column."""
    return [
        row.variant,
        f"{row.size_mb:.3f}",
        f"{row.times_smaller:.1f}x",
        f"{row.latency_ms:.3f}",
        f"{row.times_faster:.2f}x",
        f"{row.accuracy_percent:.1f}%",
        f"{row.change_points:+.1f} pts",
    ]


def model_of(results: str | Path) -> str:
    """The model the figures are of, as ``track.json`` beside ``results`` names it (00_start writes
    it): the reference model or the learner's own class. "" when it does not say."""
    choice = Path(results).with_name("track.json")
    try:
        model = json.loads(choice.read_text())["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return model if isinstance(model, str) else ""


def heading(records: list[VariantResult], model: str) -> str:
    """The card's title: the day, the track and the model measured."""
    return f"Day 26, {records[0].track} track" + (f", {model}" if model else "")


def card_markdown(records: list[VariantResult], model: str = "") -> str:
    """The Markdown table of the card (paste it into Teams); ``model`` names the model measured.
    Ratios are against the first record: the learner's own baseline."""
    first = records[0]
    lines = [
        f"**{heading(records, model)}**: {machine_line(first)}",
        "",
        "| " + " | ".join(CARD_COLUMNS) + " |",
        "| --- |" + " ---: |" * (len(CARD_COLUMNS) - 1),
    ]
    for row in card_rows(records):
        lines.append("| " + " | ".join(card_cells(row)) + " |")
    lines += ["", f"_All figures {SELF_MEASURED}._"]
    return "\n".join(lines) + "\n"


def card_figure(records: list[VariantResult], model: str = "") -> Figure:
    """Latency (x, ms) against size (y, MB), one point per variant, coloured by accuracy (%)."""
    rows = card_rows(records)
    figure = Figure(figsize=(7, 5), layout="constrained")
    axis = tradeoff_scatter(
        figure,
        [row.latency_ms for row in rows],
        [row.size_mb for row in rows],
        [row.accuracy_percent for row in rows],
        [row.variant for row in rows],
    )
    first = records[0]
    title = f"{heading(records, model)}\n{machine_kind(first.machine)}\n{_setting_line(first)}"
    title += "\nself-measured by the learner, not checked by the grader"
    axis.set_title(title, fontsize=10)
    return figure


def results_for_a_card(results: Path) -> list[VariantResult]:
    """The records of ``results`` (a results.json), or a clear error when there are none yet."""
    if not results.is_file():
        raise file_error(results, "does not exist", "Run notebooks 01 to 05 first: they write artifacts/results.json.")
    records = read_results(results)
    if not records:
        raise file_error(results, "holds no results", "Run notebook 01_baseline first.")
    return records


def make_card(results: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``card.png`` and ``card.md`` for ``results`` (a results.json) into ``out_dir``."""
    results, out_dir = Path(results), Path(out_dir)
    records = results_for_a_card(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    picture, table = out_dir / "card.png", out_dir / "card.md"
    model = model_of(results)
    card_figure(records, model).savefig(picture, dpi=110)
    table.write_text(card_markdown(records, model))
    return picture, table
