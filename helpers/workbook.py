"""What the notebooks share: the chosen track, the artifacts folder, the day's checklist,
and showing a learner's figures against the targets.

The track chosen in ``00_start`` is saved in ``artifacts/track.json``; every later notebook
reads it with :func:`chosen_track`. (Instructors and tests may set the environment variable
``DAY26_TRACK`` instead; it wins over the saved choice.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from grading.thresholds import threshold_for
from helpers.errors import Day26Error
from helpers.report import read_results
from helpers.tracks import Track, get_track

ARTIFACTS = Path("artifacts")
RESULTS = ARTIFACTS / "results.json"
TRACK_FILE = ARTIFACTS / "track.json"

CHECKLIST = (
    ("Baseline model benchmarks", "results.json", "baseline"),
    ("Quantized model", "quantized_dynamic.pth", "quantized_dynamic"),
    ("Pruned model, with sparsity metrics", "pruned.pth", "pruned"),
    ("ONNX exported model", "model.onnx", "onnx"),
    ("Combined optimized model", "optimized.onnx", "combined"),
    ("Comparison visualization saved", "comparison.png", None),
)


def choose_track(name: str) -> Track:
    """Save the track choice for the later notebooks and return the track."""
    override = os.environ.get("DAY26_TRACK")
    if override:
        name = override
    track = get_track(name)
    ARTIFACTS.mkdir(exist_ok=True)
    TRACK_FILE.write_text(json.dumps({"track": track.name}))
    return track


def chosen_track() -> Track:
    """The track chosen in 00_start (or given by ``DAY26_TRACK``)."""
    override = os.environ.get("DAY26_TRACK")
    if override:
        return get_track(override)
    if not TRACK_FILE.is_file():
        raise Day26Error(f"{TRACK_FILE}: no track chosen yet. Run the notebook 00_start first.")
    try:
        return get_track(json.loads(TRACK_FILE.read_text())["track"])
    except (json.JSONDecodeError, KeyError, TypeError):
        raise Day26Error(f"{TRACK_FILE}: unreadable. Run the notebook 00_start again.") from None


def checklist() -> str:
    """The day's checklist, ticked for every artifact that exists (and is recorded)."""
    recorded = {record["variant"] for record in read_results(RESULTS)}
    lines = []
    for item, artifact, variant in CHECKLIST:
        done = (ARTIFACTS / artifact).is_file() and (variant is None or variant in recorded)
        lines.append(f"[{'x' if done else ' '}] {item:<38} artifacts/{artifact}")
    return "\n".join(lines)


def targets_text(track: Track, artifact: str) -> str:
    """The targets of one artifact of the track, in words."""
    t = threshold_for(track.name, artifact)
    parts = []
    if t.min_size_reduction:
        parts.append(f"at least {t.min_size_reduction:g}x smaller")
    if t.min_speedup:
        parts.append(f"at least {t.min_speedup:g}x faster")
    parts.append(f"at most {t.max_accuracy_drop:g} accuracy points lost")
    return f"{track.name} targets for {artifact}: " + ", ".join(parts)


def figures_against_targets(track: Track, variant: str, artifact: str) -> str:
    """Your recorded figures for ``variant`` next to the track's targets for ``artifact``."""
    records = {record["variant"]: record for record in read_results(RESULTS)}
    if "baseline" not in records or variant not in records:
        return f"record the baseline (notebook 01) and {variant} first"
    base, mine = records["baseline"], records[variant]
    t = threshold_for(track.name, artifact)
    size_ratio = base["size_bytes"] / mine["size_bytes"]
    change = 100.0 * (mine["accuracy"] - base["accuracy"])  # accuracy change in points

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    rows = [
        ("size on disk", f"{size_ratio:.2f}x smaller", t.min_size_reduction, size_ratio >= t.min_size_reduction),
        ("speed (median)", f"{mine['speedup_vs_baseline']:.2f}x faster", t.min_speedup,
         mine["speedup_vs_baseline"] >= t.min_speedup),
    ]  # fmt: skip
    lines = [f"{variant} against the {track.name} targets for {artifact}:"]
    for name, yours, minimum, ok in rows:
        target = f"at least {minimum:g}x" if minimum else "no target"
        lines.append(f"  {name:<16} {yours:<16} {target:<16} {verdict(ok) if minimum else ''}")
    lines.append(
        f"  {'accuracy':<16} {change:+.2f} points     {'lose at most ' + format(t.max_accuracy_drop, 'g'):<16} "
        f"{verdict(-change <= t.max_accuracy_drop)}"
    )
    if t.min_sparsity:
        lines.append(
            f"  {'sparsity':<16} {mine['sparsity']:<16.1%} {'at least ' + format(t.min_sparsity, '.0%'):<16} "
            f"{verdict(mine['sparsity'] >= t.min_sparsity)}"
        )
    return "\n".join(lines)
