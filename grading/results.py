"""The measured results the documentation quotes, produced by one command: ``day26 results``.

One run measures, on this machine:

* per track, the reference pipeline (``day26 optimize``): every variant's size, latency, speed-up,
  accuracy, parameters and sparsity, and the combined model against the track's targets;
* per track, the workbook: the six solution notebooks executed in order, as a learner runs them,
  with each notebook's seconds and whether any cell failed;
* the sample class of ``day26 demo`` autograded on a local Dask cluster: each learner's status,
  points and grading seconds, and the wall time of the whole class.

The run is saved as ``docs/results/<date>-<machine>.json`` (the data, stamped with the machine's
description, the library versions and the commit) and rendered to a Markdown page beside it;
``docs/results/index.md`` is rebuilt from every JSON file there, newest first. The pages are rendered
from the JSON files only (a test renders them again and compares), so no figure in them is typed.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from helpers.files import write_text_atomically
from helpers.machine import machine_description, machine_kind
from helpers.report import library_versions
from helpers.tracks import TRACKS, get_track

RESULTS_FOLDER = Path("docs") / "results"
INDEX_PAGE = "index.md"
Progress = Callable[[str], None]


# --- measuring ---------------------------------------------------------------------------------


def _commit(root: Path) -> str:
    """The commit the run measured, with ``+changes`` when the work tree differed from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True)  # fmt: skip
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _version_of(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def stamp(root: Path) -> dict:
    """What a run was measured on and with: date (UTC), machine, Python, libraries, commit."""
    return {
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "machine_kind": machine_kind(machine_description()),
        "python": platform.python_version(),
        "versions": {name: version for name, version in library_versions().items() if name != "python"}
        | {"nbgrader": _version_of("nbgrader"), "torch-pruning": _version_of("torch-pruning")},
        "commit": _commit(root),
    }


def optimize_track(track_name: str, work: Path) -> dict:
    """The reference pipeline on one track: every variant's record and the combined model's verdict."""
    from grading.pipeline import run_pipeline

    started = time.perf_counter()
    result = run_pipeline(get_track(track_name), work / "optimize" / track_name)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "variants": [_variant_row(asdict(record)) for record in result.records],
        "targets_status": result.target.status,
        "targets_lines": list(result.target.lines),
    }


def _variant_row(record: dict) -> dict:
    """The figures of one variant that the results page shows (units in the keys)."""
    latency = record["latency_ms"]
    return {
        "variant": record["variant"],
        "size_bytes": record["size_bytes"],
        "median_ms": latency["median"],
        "p90_ms": latency["p90"],
        "threads": latency.get("threads"),
        "runtime": latency.get("runtime"),
        "speedup": record["speedup_vs_baseline"],
        "accuracy": record["accuracy"],
        "params": record["params"],
        "sparsity": record["sparsity"],
    }


def time_workbook(root: Path, track_name: str, work: Path) -> dict:
    """Execute the six solution notebooks of a track in order, in a fresh folder, as nbgrader's
    Validate runs them (the course's cell time limit); each notebook's seconds and failed cells."""
    import nbformat
    from nbgrader import utils
    from nbgrader.preprocessors import Execute

    from grading.course import course_config

    folder = work / "workbook" / track_name
    folder.mkdir(parents=True)
    notebooks = sorted((root / "solutions" / "day26").glob("*.ipynb"))
    for path in notebooks:
        shutil.copy(path, folder / path.name)
    config = course_config(root, work / "course-workbook" / track_name)
    seconds: dict[str, float] = {}
    failed: dict[str, list[str]] = {}
    previous = os.environ.get("DAY26_TRACK")
    os.environ["DAY26_TRACK"] = track_name
    try:
        for path in notebooks:
            notebook = nbformat.read(folder / path.name, as_version=4)
            started = time.perf_counter()
            with utils.chdir(str(folder)):
                executed, _ = Execute(config=config).preprocess(notebook, {})
            seconds[path.stem] = round(time.perf_counter() - started, 1)
            errors = [
                cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
                for index, cell in enumerate(executed.cells)
                if any(output.output_type == "error" for output in cell.get("outputs", []))
            ]
            if errors:
                failed[path.stem] = errors
    finally:
        if previous is None:
            os.environ.pop("DAY26_TRACK", None)
        else:
            os.environ["DAY26_TRACK"] = previous
    return {"notebook_seconds": seconds, "total_seconds": round(sum(seconds.values()), 1), "failed_cells": failed}


def grade_sample_class(root: Path, work: Path, workers: int = 2) -> dict:
    """Autograde the demo's sample class (tabular track) on a local Dask cluster, as ``day26 demo``
    does; each learner's status, points, expected points and seconds, and the class's wall time."""
    from grading.autograde import Course, prepare_course, submissions_in
    from grading.cohort import autograde_class, grading_client
    from grading.samples import SAMPLE_CLASS_POINTS, sample_class
    from grading.sandbox import Limits, probe_isolation

    course = Course(root, work / "course")
    prepare_course(course)
    sources = submissions_in(sample_class(root, work / "submissions", "tabular"))
    # Executing the workbook above set up the root logger at INFO; Dask's connection chatter is not news.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    started = time.perf_counter()
    with grading_client(workers, None) as client:
        outcomes = autograde_class(course, sources, Limits(), client, force=True)
    wall = time.perf_counter() - started
    learners = [
        {
            "learner": outcome.learner,
            "status": outcome.status,
            "points": outcome.points,
            "max_points": outcome.max_points,
            "expected_points": SAMPLE_CLASS_POINTS.get(outcome.learner),
            "seconds": round(outcome.seconds, 1),
        }
        for outcome in sorted(outcomes, key=lambda outcome: outcome.learner)
    ]
    return {
        "track": "tabular",
        "workers": workers,
        "sandbox_isolated": probe_isolation().available,
        "wall_seconds": round(wall, 1),
        "learners": learners,
    }


def measure(root: Path, tracks: list[str], grading: bool, on_step: Progress = lambda step: None) -> dict:
    """One run of every measurement the documentation quotes (see the module's docstring)."""
    run = {**stamp(root), "tracks": {}, "sample_class": None}
    with tempfile.TemporaryDirectory(prefix="day26-results-") as scratch:
        work = Path(scratch)
        for name in tracks:
            on_step(f"{name}: reference pipeline")
            optimized = optimize_track(name, work)
            on_step(f"{name}: workbook")
            workbook = time_workbook(root, name, work)
            run["tracks"][name] = {"targets": _targets_of(name), "optimize": optimized, "workbook": workbook}
        if grading:
            on_step("sample class")
            run["sample_class"] = grade_sample_class(root, work)
    run["wall_seconds"] = None  # filled by the caller, who saw the whole run
    return run


def _targets_of(track_name: str) -> dict:
    """The combined model's targets of a track, as helpers/targets.toml states them."""
    from helpers.targets import threshold_for

    return {key: value for key, value in asdict(threshold_for(track_name, "optimized")).items() if value}


# --- saving and rendering ----------------------------------------------------------------------


def run_name(run: dict) -> str:
    """``<date>-<processor>``: the file name of a run, e.g. ``2026-12-06-amd-epyc-7b13``."""
    date = run["measured_at"][:10]
    processor = re.sub(r"\(.*?\)|\b(processor|cpu|with|radeon|graphics)\b|@.*$", " ", run["machine"]["processor"],
                       flags=re.IGNORECASE)  # fmt: skip
    instructions = run["machine"].get("int8_instructions") or []
    fastest_int8 = instructions[-1] if instructions else ""  # in INT8_FLAGS order: the last is the fastest
    slug = re.sub(r"[^a-z0-9]+", "-", f"{processor} {fastest_int8}".lower()).strip("-")[:48].strip("-")
    return f"{date}-{slug or 'unknown-cpu'}"


def save_run(run: dict, folder: Path) -> Path:
    """Write the run's JSON file and every page of the results folder; return the JSON file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_name(run)}.json"
    write_text_atomically(path, json.dumps(run, indent=1) + "\n")
    render_folder(folder)
    return path


def read_runs(folder: Path) -> list[tuple[str, dict]]:
    """Every run saved in ``folder``, newest first, each with its name (the file's stem)."""
    runs = [(path.stem, json.loads(path.read_text())) for path in folder.glob("*.json")]
    return sorted(runs, key=lambda named: named[1]["measured_at"], reverse=True)


def rendered_pages(folder: Path) -> dict[str, str]:
    """The Markdown pages the results folder should hold, by file name, from its JSON files."""
    runs = read_runs(folder)
    pages = {f"{name}.md": render_run(run) for name, run in runs}
    pages[INDEX_PAGE] = render_index(runs)
    return pages


def render_folder(folder: Path) -> list[Path]:
    """Write every page of :func:`rendered_pages` into ``folder``."""
    written = []
    for name, text in rendered_pages(folder).items():
        write_text_atomically(folder / name, text)
        written.append(folder / name)
    return written


GENERATED = "<!-- generated by `day26 results` from the JSON file of the same name: do not edit -->\n"


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:.3f}"


def _variants_table(variants: list[dict]) -> list[str]:
    baseline = next(row for row in variants if row["variant"] == "baseline")
    lines = [
        "| variant | size MB | smaller | median ms | p90 ms | faster | accuracy | change | params | sparsity |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in variants:
        smaller = baseline["size_bytes"] / row["size_bytes"]
        change = (row["accuracy"] - baseline["accuracy"]) * 100
        lines.append(
            f"| {row['variant']} | {_mb(row['size_bytes'])} | {smaller:.1f}x | {row['median_ms']:.3f} | "
            f"{row['p90_ms']:.3f} | {row['speedup']:.2f}x | {row['accuracy'] * 100:.2f} % | {change:+.2f} | "
            f"{row['params']:,} | {row['sparsity'] * 100:.1f} % |"
        )
    return lines


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"


def render_run(run: dict) -> str:
    """One run as a Markdown page: the stamp, then each track's tables, then the sample class."""
    machine = run["machine"]
    versions = ", ".join(f"{name} {version}" for name, version in sorted(run["versions"].items()))
    lines = [
        GENERATED,
        f"# Results of {run['measured_at'][:10]} on {machine['processor']}",
        "",
        f"- **measured**: {run['measured_at']} (UTC), commit `{run['commit']}`, "
        f"the whole run {_minutes(run.get('wall_seconds'))}",
        f"- **machine**: {run['machine_kind']}; {machine['system']}, {machine['cores']} logical cores, "
        f"PyTorch kernels {machine.get('torch_capability')}",
        f"- **software**: Python {run['python']}, {versions}",
        "",
        'Latency is per call at batch 1, with the threads each table states; "faster" is the median of',
        'interleaved per-block ratios against the PyTorch FP32 baseline; "change" is the accuracy change in',
        "points on the track's validation split. Ratios measured in one process are steadier than the",
        "milliseconds, which move between runs and machines.",
    ]
    for name, track in run["tracks"].items():
        optimized, workbook = track["optimize"], track["workbook"]
        threads = sorted({str(row["threads"]) for row in optimized["variants"] if row.get("threads")})
        lines += [
            "",
            f"## {name}",
            "",
            f"`day26 optimize --track {name}`: {optimized['seconds']:.0f} s, threads {', '.join(threads) or '-'}.",
            "",
            *_variants_table(optimized["variants"]),
            "",
            f"The combined model against the track's targets: **{optimized['targets_status']}**.",
            "",
            *[f"- {line.strip()}" for line in optimized["targets_lines"]],
            "",
            f"The six solution notebooks, executed in order: {_minutes(workbook['total_seconds'])}"
            + (" (every cell ran)." if not workbook["failed_cells"] else ", **with failed cells**:"),
            "",
            "| notebook | seconds |",
            "| --- | ---: |",
            *[f"| `{notebook}` | {seconds:.1f} |" for notebook, seconds in workbook["notebook_seconds"].items()],
        ]
        for notebook, cells in workbook["failed_cells"].items():
            lines.append(f"\n- `{notebook}` failed in: {', '.join(cells)}")
    sample = run.get("sample_class")
    if sample:
        isolation = "sandboxed" if sample["sandbox_isolated"] else "NOT isolated (no unprivileged namespaces)"
        lines += [
            "",
            "## The sample class",
            "",
            f"The sample class of `day26 demo` ({sample['track']} track), autograded by {sample['workers']} "
            f"workers and the benchmark lane, {isolation}: {_minutes(sample['wall_seconds'])} in all. Each "
            "learner's seconds are its own grading, two learners at a time on the same cores.",
            "",
            "| learner | status | points | expected | seconds |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for row in sample["learners"]:
            points = f"{row['points']:g}/{row['max_points']:g}" if row["status"] != "refused" else "-"
            expected = "refused" if row["expected_points"] is None else f"{row['expected_points']:g}"
            lines.append(f"| {row['learner']} | {row['status']} | {points} | {expected} | {row['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def render_index(runs: list[tuple[str, dict]]) -> str:
    """The results page: how to measure, the newest run's headline per track, every run listed."""
    lines = [
        GENERATED.replace("the JSON file of the same name", "every JSON file in this folder"),
        "# Measured results",
        "",
        "Every figure here comes from `day26 results` (or `make results`), which runs the reference",
        "pipeline and the six solution notebooks of each track, then autogrades the sample class, and",
        "writes one JSON file per run into `docs/results/`, stamped with the machine and the versions.",
        "The pages are rendered from those files. Runs from other machines stay here as their own files:",
        "compare ratios within one run, not milliseconds across machines.",
        "",
    ]
    if not runs:
        return "\n".join([*lines, "No run is saved yet: run `make results`.", ""])
    name, newest = runs[0]
    lines += [
        f"## Newest run: [{newest['measured_at'][:10]}, {newest['machine']['processor']}]({name}.md)",
        "",
        "| track | combined: smaller | faster | accuracy change | targets | six notebooks |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for track_name, track in newest["tracks"].items():
        variants = {row["variant"]: row for row in track["optimize"]["variants"]}
        baseline, combined = variants["baseline"], variants.get("combined")
        if combined is None:
            continue
        change = (combined["accuracy"] - baseline["accuracy"]) * 100
        lines.append(
            f"| {track_name} | {baseline['size_bytes'] / combined['size_bytes']:.1f}x | {combined['speedup']:.2f}x | "
            f"{change:+.2f} pts | {track['optimize']['targets_status']} | "
            f"{_minutes(track['workbook']['total_seconds'])} |"
        )
    sample = newest.get("sample_class")
    if sample:
        lines += ["", f"The sample class ({len(sample['learners'])} hand-ins) graded in "
                      f"{_minutes(sample['wall_seconds'])} with {sample['workers']} workers."]  # fmt: skip
    lines += ["", "## Every run", "", "| date | machine | tracks | commit |", "| --- | --- | --- | --- |"]
    for name, run in runs:
        tracks = ", ".join(run["tracks"]) + (" + sample class" if run.get("sample_class") else "")
        lines.append(f"| [{run['measured_at'][:10]}]({name}.md) | {run['machine_kind']} | {tracks} | "
                     f"`{run['commit']}` |")  # fmt: skip
    return "\n".join(lines) + "\n"


def all_tracks() -> list[str]:
    return sorted(TRACKS)
