"""The class leaderboard: who made the best combined model, by the grader's own measurements.

Every figure comes from the verifier's verdict in the grading records (``records/*.json``):
size on disk, accuracy on the hidden split and latency in the benchmark lane, all measured by
the grader. Nothing a learner reported (results.json, notebook output) is read.

Ranking, per track: learners whose ``optimized.onnx`` passed every check of the combined model
come first, then the others; within each group the larger verified speed-up ranks higher, and a
smaller file breaks ties. Learners without a verified ``optimized.onnx`` are counted, not ranked.
Learners with their own Week-5 model are ranked in a table of their own: their ratios are against
their own baseline (size against baseline.pth, speed and accuracy against their model.onnx in ONNX
Runtime, as the verifier measures them), not against the track's reference in PyTorch, so the two
kinds of figure are never ranked together.

Learners appear under the name the instructor chooses: their ``id``, a ``pseudonym`` (the same
for a learner every time, derived from the id with a secret kept in the grading workspace, so it
cannot be traced back without it), or ``hidden`` (ranks and figures only).

``day26 leaderboard --teams`` also writes ``card.json``: the board as a Teams message (an Adaptive
Card 1.5, checked against the shipped schema and kept under Teams' 28 KB, see
:mod:`helpers.adaptive_cards`), under pseudonyms unless the instructor names another naming.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from matplotlib.figure import Figure

from grading.autograde import Course, class_records
from grading.records import GradeRecord
from grading.verify import Check
from helpers import contract
from helpers.adaptive_cards import FittedCard, Picture, fit_card, table, text, write_payload
from helpers.errors import Day26Error
from helpers.machine import machine_kind
from helpers.report import tradeoff_scatter

NAMINGS = ("id", "pseudonym", "hidden")
COMBINED = contract.COMBINED.file
ADJECTIVES = ("amber", "brisk", "calm", "deft", "eager", "fleet", "gentle", "hardy", "keen", "lucid", "nimble", "swift")
ANIMALS = ("badger", "crane", "dolphin", "falcon", "gecko", "heron", "ibex", "lynx", "marten", "otter", "puffin")


@dataclass
class Entry:
    """One learner's combined model, as the verifier measured it. Sizes in MB (10^6 bytes),
    latency in ms (median at batch 1 in the lane), accuracy in %, change in points."""

    track: str
    rank: int
    name: str
    speedup: float
    times_smaller: float
    latency_ms: float
    size_mb: float
    accuracy_percent: float
    change_points: float
    targets_met: bool
    missed: str  # the combined model's checks that did not pass ('' when none)
    model: str = "reference"  # the reference model, or the class of the learner's own Week-5 model
    machine: str = ""  # the kind of machine the grader measured on (helpers.machine.machine_kind)


@dataclass
class Reference:
    """The track's reference model in the same lane: the point every learner is compared with."""

    track: str
    latency_ms: float
    size_mb: float
    accuracy_percent: float


def leaderboard_secret(course: Course) -> bytes:
    """The workspace's pseudonym secret, made once and kept (pseudonyms stay the same all term)."""
    path = course.workspace / "leaderboard-secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
    return path.read_text().strip().encode()


def pseudonym(secret: bytes, learner: str) -> str:
    """A readable name like 'swift-otter-07', the same for ``learner`` whenever ``secret`` is."""
    digest = hmac.new(secret, learner.encode(), hashlib.sha256).digest()
    return f"{ADJECTIVES[digest[0] % len(ADJECTIVES)]}-{ANIMALS[digest[1] % len(ANIMALS)]}-{digest[2] % 100:02d}"


def _display_name(course: Course, learner: str, naming: str) -> str:
    if naming == "id":
        return learner
    if naming == "pseudonym":
        return pseudonym(leaderboard_secret(course), learner)
    return ""


def _combined_figures(record: GradeRecord) -> tuple[dict, dict, list[Check]] | None:
    """(learner figures, reference figures, combined-model checks), or None when not verified."""
    if record.verdict is None:
        return None
    figures = record.verdict.figures
    mine, reference = figures.get(COMBINED, {}), figures.get("reference", {})
    needed = ("size_bytes", "accuracy", "latency_ms", "speedup")
    if not all(key in mine for key in needed) or not all(key in reference for key in needed[:3]):
        return None
    checks = [check for check in record.verdict.checks if check.artifact == COMBINED]
    return mine, reference, checks


def build_leaderboard(course: Course, naming: str = "id") -> tuple[list[Entry], list[Reference], dict[str, int]]:
    """The ranked entries of every track, each track's reference, and per track the number of
    graded learners without a verified combined model."""
    if naming not in NAMINGS:
        raise Day26Error(f"--names {naming}: choose one of {', '.join(NAMINGS)}.")
    records = class_records(course)
    if not records:
        raise Day26Error(f"{course.workspace / 'records'}: no grading records yet. Run day26 autograde first.")
    rows: dict[str, list[tuple]] = {}
    references: dict[str, Reference] = {}
    unranked: dict[str, int] = {}
    for record in records:
        track = record.verdict.track if record.verdict is not None else "unknown"
        found = _combined_figures(record)
        if found is None:
            unranked[track] = unranked.get(track, 0) + 1
            continue
        mine, reference, checks = found
        if "model" not in reference:  # the track's reference model, not a learner's own baseline
            references.setdefault(
                track,
                Reference(track, reference["latency_ms"], reference["size_bytes"] / 1e6, 100 * reference["accuracy"]),
            )
        missed = ", ".join(check.name for check in checks if check.status != "pass")
        row = (record.learner, mine, reference, missed, machine_kind(record.machine or {}))
        rows.setdefault((track, "model" in reference), []).append(row)
    entries = []
    for track, own in sorted(rows):
        ordered = sorted(rows[track, own], key=lambda row: (row[3] != "", -row[1]["speedup"], row[1]["size_bytes"]))
        for rank, (learner, mine, reference, missed, machine) in enumerate(ordered, start=1):
            entries.append(
                Entry(
                    machine=machine,
                    model=reference.get("model", "reference"),
                    track=track,
                    rank=rank,
                    name=_display_name(course, learner, naming),
                    speedup=mine["speedup"],
                    times_smaller=reference["size_bytes"] / mine["size_bytes"],
                    latency_ms=mine["latency_ms"],
                    size_mb=mine["size_bytes"] / 1e6,
                    accuracy_percent=100 * mine["accuracy"],
                    change_points=100 * (mine["accuracy"] - reference["accuracy"]),
                    targets_met=missed == "",
                    missed=missed,
                )
            )
    return entries, [references[track] for track in sorted(references)], unranked


TITLE = "Day 26 leaderboard"
MEASURED_BY_THE_GRADER = "Figures measured by the grader (verifier), not reported by learners."
OWN_BASELINE_NOTE = (
    "Each against its own baseline: size against its baseline.pth, speed and accuracy against its "
    "model.onnx in ONNX Runtime (not comparable with the reference table's speed-ups against PyTorch)."
)


def machine_kinds(entries: list[Entry]) -> list[str]:
    """The kinds of machine the entries were measured on, sorted."""
    return sorted({entry.machine for entry in entries})


def machine_sentence(kinds: list[str]) -> str:
    """What the board says about the machines ("" when it has no entries)."""
    if len(kinds) == 1:
        return f"Measured on one kind of machine: {kinds[0]}."
    if kinds:
        return (
            f"Measured on {len(kinds)} kinds of machine: INT8 speed depends on the processor's instructions, so "
            "compare speed-ups only between rows of the same machine (the machine column)."
        )
    return ""


def table_groups(entries: list[Entry]) -> list[tuple[str, bool]]:
    """The board's tables: (track, own Week-5 models or not), sorted."""
    return sorted({(entry.track, entry.model != "reference") for entry in entries})


def group_entries(entries: list[Entry], track: str, own: bool) -> list[Entry]:
    """The ranked entries of one table, best first."""
    return [entry for entry in entries if entry.track == track and (entry.model != "reference") == own]


def group_title(track: str, own: bool) -> str:
    return f"{track} track, own Week-5 models" if own else f"{track} track"


def reference_sentence(reference: Reference) -> str:
    return (
        f"Reference model: {reference.latency_ms:.3f} ms, {reference.size_mb:.3f} MB, "
        f"{reference.accuracy_percent:.1f}% accuracy."
    )


def targets_text(entry: Entry) -> str:
    return "met" if entry.targets_met else f"missed: {entry.missed}"


def unranked_lines(unranked: dict[str, int]) -> list[str]:
    """One sentence per track about the learners the board could not rank."""
    lines = []
    for track, count in sorted(unranked.items()):
        if track == "unknown":
            lines.append(f"Not ranked: {count} learner(s) with no known track (refused, or no track.json).")
        else:
            lines.append(f"Not ranked ({track}): {count} learner(s) without a verified {COMBINED}.")
    return lines


def leaderboard_markdown(entries: list[Entry], references: list[Reference], unranked: dict[str, int]) -> str:
    """One Markdown table per track."""
    lines = [f"# {TITLE}", "", MEASURED_BY_THE_GRADER, ""]
    kinds = machine_kinds(entries)
    machine_column = (" machine |", " --- |") if len(kinds) > 1 else ("", "")
    if kinds:
        lines += [machine_sentence(kinds), ""]
    by_track = {reference.track: reference for reference in references}
    for track, own in table_groups(entries):
        explanation = OWN_BASELINE_NOTE if own else reference_sentence(by_track[track])
        lines += [f"## {group_title(track, own)}", "", explanation]
        lines += [
            "",
            "| rank | learner | model | faster | smaller | latency ms | size MB | accuracy | change | targets |"
            + machine_column[0],
            "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |" + machine_column[1],
        ]
        for entry in group_entries(entries, track, own):
            lines.append(
                f"| {entry.rank} | {entry.name or '(hidden)'} | {entry.model} | {entry.speedup:.2f}x | "
                f"{entry.times_smaller:.1f}x | {entry.latency_ms:.3f} | {entry.size_mb:.3f} | "
                f"{entry.accuracy_percent:.1f}% | {entry.change_points:+.1f} pts | {targets_text(entry)} |"
                + (f" {entry.machine} |" if len(kinds) > 1 else "")
            )
        lines.append("")
    lines += unranked_lines(unranked)
    return "\n".join(lines).rstrip() + "\n"


def tradeoff_figure(entries: list[Entry], reference: Reference, show_names: bool) -> Figure:
    """One track: latency (x, ms) against size (y, MB), accuracy as colour, the reference a star."""
    figure = Figure(figsize=(7.5, 5.5), layout="constrained")
    axis = tradeoff_scatter(
        figure,
        [entry.latency_ms for entry in entries],
        [entry.size_mb for entry in entries],
        [entry.accuracy_percent for entry in entries],
        [entry.name if show_names else "" for entry in entries],
        reference=(reference.latency_ms, reference.size_mb),
        missed=[not entry.targets_met for entry in entries],
    )
    axis.set_xlabel("latency, median at batch 1 in the grader's lane (ms)")
    axis.set_title(f"Day 26 leaderboard, {reference.track} track (measured by the grader)")
    return figure


def write_leaderboard(course: Course, out_dir: Path, naming: str = "id") -> list[Path]:
    """Write leaderboard.md, leaderboard.csv and one trade-off plot per track; return their paths."""
    entries, references, unranked = build_leaderboard(course, naming)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = out_dir / "leaderboard.md"
    markdown.write_text(leaderboard_markdown(entries, references, unranked))
    table = out_dir / "leaderboard.csv"
    with table.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(Entry.__dataclass_fields__))
        writer.writeheader()
        writer.writerows(asdict(entry) for entry in entries)
    written = [markdown, table]
    for reference in references:
        plot = out_dir / f"leaderboard-{reference.track}.png"
        track_entries = [entry for entry in entries if entry.track == reference.track and entry.model == "reference"]
        tradeoff_figure(track_entries, reference, show_names=naming != "hidden").savefig(plot, dpi=110)
        written.append(plot)
    return written


# --- the Teams card ------------------------------------------------------------------------------

CARD_FILE = "card.json"
CARD_ROWS_PER_TABLE = (10, 5, 3)  # the most rows first; fewer when Teams' size limit needs it
CARD_COLUMNS = ("rank", "learner", "faster", "smaller", "accuracy", "change", "targets")


def _card_cells(entry: Entry, with_machine: bool) -> list[str]:
    cells = [
        str(entry.rank),
        entry.name or "(hidden)",
        f"{entry.speedup:.2f}x",
        f"{entry.times_smaller:.1f}x",
        f"{entry.accuracy_percent:.1f}%",
        f"{entry.change_points:+.1f} pts",
        targets_text(entry),
    ]
    return [*cells, entry.machine] if with_machine else cells


def _card_body(
    entries: list[Entry], references: list[Reference], unranked: dict[str, int], rows_per_table: int
) -> list[dict]:
    """The card's text: the board's tables, each cut to its first ``rows_per_table`` rows."""
    kinds = machine_kinds(entries)
    body = [text(TITLE, bold=True, large=True), text(MEASURED_BY_THE_GRADER, subtle=True)]
    if kinds:
        body.append(text(machine_sentence(kinds)))
    by_track = {reference.track: reference for reference in references}
    header = [*CARD_COLUMNS, "machine"] if len(kinds) > 1 else list(CARD_COLUMNS)
    for track, own in table_groups(entries):
        ranked = group_entries(entries, track, own)
        shown = ranked[:rows_per_table]
        explanation = OWN_BASELINE_NOTE if own else reference_sentence(by_track[track])
        body += [text(group_title(track, own), bold=True), text(explanation, subtle=True)]
        body.append(table(header, [_card_cells(entry, len(kinds) > 1) for entry in shown]))
        if len(ranked) > len(shown):
            body.append(text(f"... and {len(ranked) - len(shown)} more: the whole ranking is in leaderboard.md."))
    return body + [text(line, subtle=True) for line in unranked_lines(unranked)]


def leaderboard_card(
    entries: list[Entry], references: list[Reference], unranked: dict[str, int], show_names: bool, source: Path
) -> FittedCard:
    """The board as a Teams message: its tables (10 rows each, fewer if the size limit needs it) and
    each track's trade-off plot when they fit; a Day26Error naming ``source`` when nothing fits."""
    bodies = [_card_body(entries, references, unranked, rows) for rows in CARD_ROWS_PER_TABLE]
    pictures = [
        Picture(
            tradeoff_figure(group_entries(entries, reference.track, own=False), reference, show_names),
            f"Trade-off plot of the {reference.track} track: latency against size, accuracy as colour, "
            "the reference model a star",
        )
        for reference in references
    ]
    left_out = "The trade-off plots are left out: with them the message would be over Teams' size limit."
    return fit_card(bodies, pictures, left_out, source)


def write_leaderboard_card(course: Course, out_dir: Path, naming: str = "pseudonym") -> tuple[Path, FittedCard]:
    """Write the board's Teams card (``card.json``) into ``out_dir``; return its path and the card."""
    entries, references, unranked = build_leaderboard(course, naming)
    card = leaderboard_card(entries, references, unranked, naming != "hidden", course.workspace / "records")
    return write_payload(card, out_dir / CARD_FILE), card
