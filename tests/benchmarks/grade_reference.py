"""How long one reference-solution hand-in takes to grade: the solution notebooks of one track handed
in unexecuted and graded by ``day26 autograde`` alone (one worker), as the grader grades a learner.
Prints the points, the grade record's seconds per stage, each notebook's seconds and its slowest cells.

    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/benchmarks/grade_reference.py images [--as-run]

Handed in unexecuted, the folder has no record of the recipe notebook 05 chose, so the grader runs every
recipe. ``--as-run`` then hands the notebooks in again with the artifacts/ folder that first grading
made, as a learner's folder is after running the notebooks (results.json names the chosen recipe, and
the grader runs that one only), and prints that grading too.

Run it from a clone (``git clone . /tmp/c && cd /tmp/c``): autograding with this repository as the
course root rebuilds its release notebooks. Nothing else in the repository is written; the folder it
works in is printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

import nbformat  # noqa: E402

from grading.samples import choose, hand_in, notebooks_of  # noqa: E402


def _cell_seconds(cell: nbformat.NotebookNode) -> float | None:
    """Seconds a code cell ran, from the execution times nbclient records in its metadata."""
    times = cell.metadata.get("execution", {})
    started, ended = times.get("iopub.execute_input"), times.get("shell.execute_reply")
    if not (started and ended):
        return None
    return (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()


def autograde_alone(work: Path, learner: str) -> tuple[dict, dict]:
    """Grade the learner folders in ``work / "class"`` with ``day26 autograde`` and one worker (those
    graded before and unchanged are skipped), the course root this repository and the workspace
    ``work / "course"``; return ``learner``'s outcome line and grade record. Exits with autograde's
    error when it fails."""
    command = [sys.executable, "-m", "grading.cli", "autograde", str(work / "class"), "--root", str(ROOT)]
    command += ["--workspace", str(work / "course"), "--workers", "1", "--json"]
    graded = subprocess.run(command, capture_output=True, text=True, check=False)
    if graded.returncode != 0:
        sys.exit(f"day26 autograde failed: {graded.stderr[-2000:]}")
    record = json.loads((work / "course" / "records" / f"{learner}.json").read_text())
    [outcome] = [line for line in json.loads(graded.stdout) if line["learner"] == learner]
    return outcome, record


def report(track: str, work: Path, learner: str, outcome: dict, record: dict) -> None:
    """Print one grading: points, seconds per stage, each notebook's cells and the checks not passed."""
    points = f"{outcome['points']:g}/{outcome['max_points']:g}"
    print(f"{track} ({learner}): {outcome['status']}, {points} in {outcome['seconds']:.0f} s")
    print("  stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in record["stage_seconds"].items()))
    for path in sorted((work / "course" / "autograded" / learner).glob("*/*.ipynb")):
        cells = []
        for cell in nbformat.read(path, as_version=4).cells:
            seconds = _cell_seconds(cell) if cell.cell_type == "code" else None
            if seconds is not None:
                cells.append((seconds, cell.metadata.get("nbgrader", {}).get("grade_id", "?")))
        slowest = ", ".join(f"{grade_id} {seconds:.1f}" for seconds, grade_id in sorted(cells, reverse=True)[:3])
        print(f"  {path.stem}: {sum(seconds for seconds, _ in cells):.1f} s in cells (slowest: {slowest})")
    for check in record["verdict"]["checks"]:
        if check["status"] != "pass":
            where = f"{check['artifact']} {check['name']}"
            print(f"  {check['status']}: {where} {check['measured']} {check['reason'][:80]}")


def main() -> None:
    track = next((argument for argument in sys.argv[1:] if not argument.startswith("--")), "images")
    work = Path(tempfile.mkdtemp(prefix=f"day26-grade-reference-{track}-"))
    notebooks = notebooks_of(ROOT / "solutions" / "day26", {"00-solution-3": choose(track)})
    hand_in(work / "class" / "reference", notebooks)
    outcome, record = autograde_alone(work, "reference")
    report(track, work, "reference", outcome, record)
    if "--as-run" in sys.argv:
        ran = work / "course" / "autograded" / "reference" / "day26" / "artifacts"
        hand_in(work / "class" / "as-run", notebooks, artifacts=ran)
        outcome, record = autograde_alone(work, "as-run")
        report(track, work, "as-run", outcome, record)
    print(f"(in {work})")


if __name__ == "__main__":
    main()
