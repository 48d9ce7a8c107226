"""Building the student release from the solutions, with nbgrader's generate_assignment."""

from __future__ import annotations

from pathlib import Path

from nbgrader.apps import NbGraderAPI

from grading.course import ASSIGNMENT, course_config
from helpers.errors import Day26Error


def build_release(root: str | Path, workspace: str | Path | None = None) -> Path:
    """Generate ``notebooks/day26`` from ``solutions/day26`` under ``root``; return its folder.

    nbgrader strips the solutions and hidden tests, clears outputs, and records checksums
    of the graded cells. Its API never raises: the result it returns is checked here.
    """
    root = Path(root).resolve()
    source = root / "solutions" / ASSIGNMENT
    if not any(source.glob("*.ipynb")):
        raise Day26Error(f"{source}: no notebooks to release. Run this in the workbook's folder (--root).")
    api = NbGraderAPI(config=course_config(root, workspace))
    result = api.generate_assignment(ASSIGNMENT, force=True, create=True)
    if not result.get("success"):
        log = (result.get("log") or "").strip().splitlines()[-5:]
        raise Day26Error(f"nbgrader could not build the release: {result.get('error')} {' | '.join(log)}")
    return root / "notebooks" / ASSIGNMENT
