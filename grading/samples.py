"""Sample submissions, built from the workbook's own notebooks: what learners hand in.

``day26 demo`` autogrades a small sample class, and the tests build their hostile class with
the same functions. A submission is a learner's folder: their notebooks and ``artifacts/``.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nbformat

from grading.course import ASSIGNMENT

# A learner's cheat: every cell that holds an assert is replaced before it runs
# (docs/design.md, "Grading with nbgrader").
DISABLE_ASSERTS = """
def _no_tests(lines):
    return ['print("all good")\\n'] if any("assert" in line for line in lines) else lines

get_ipython().input_transformers_post.append(_no_tests)
"""


UNANSWERED = "YOUR ANSWER HERE"  # what nbgrader puts in a reflection cell of the release


def choose(track: str) -> str:
    """The answer to notebook 00's first cell: the learner's track."""
    return f'TRACK = "{track}"'


def answered(source: str, answer: str) -> str:
    """``source`` with the code between the solution markers replaced (all of it if there are none)."""
    if "### BEGIN SOLUTION" not in source:
        return answer
    before, rest = source.split("### BEGIN SOLUTION", 1)
    return before + answer + rest.split("### END SOLUTION", 1)[1]


def notebooks_of(folder: Path, answers: dict[str, str] | None = None) -> dict[str, nbformat.NotebookNode]:
    """The notebooks in ``folder``, with the solution cells named in ``answers`` (by grade_id) answered so.

    Written reflections are handed in unanswered, as the release has them: the source notebooks'
    reflection cells hold the instructor's rubric and exemplar, which no sample learner hands in.
    """
    notebooks = {}
    for path in sorted(folder.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if answers and grade_id in answers:
                cell.source = answered(cell.source, answers[grade_id])
            elif cell.cell_type == "markdown" and meta.get("solution"):
                cell.source = UNANSWERED
        notebooks[path.name] = notebook
    return notebooks


def first_solution_cells(folder: Path) -> list[str]:
    """The grade_id of the first solution cell of every notebook in ``folder``."""
    first = []
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("solution"):
                first.append(meta["grade_id"])
                break
    return first


def hand_in(
    folder: Path, notebooks: dict[str, nbformat.NotebookNode], artifacts: Path | None = None, only: tuple = ()
) -> Path:
    """Write a learner's folder: the notebooks (``only`` those whose names start so), and artifacts/."""
    folder.mkdir(parents=True)
    for name, notebook in notebooks.items():
        if not only or name.startswith(only):
            nbformat.write(notebook, folder / name)
    if artifacts is not None:
        shutil.copytree(artifacts, folder / "artifacts")
    return folder


def escaping_zip(path: Path) -> Path:
    """A broken hand-in: a zip whose entry would be written outside the folder it is unpacked in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../outside.txt", "where does this land?")
        archive.writestr("00_start.ipynb", "{}")
    return path


# The body of a prune_structurally that prunes nothing: every candidate keeps all its channels.
SKIP_PRUNING = "return copy.deepcopy(model).eval()\n"

# The sample class: each learner's verified points out of 25 (None: refused at intake). The cheat
# earns the track choice and the images-only static INT8 cell that every other track passes; the
# learner who skipped structured pruning loses the combined model's structure cell (5 points: the
# day's central step carries the weight).
SAMPLE_CLASS_POINTS = {
    "reference-solution": 25.0,
    "blank-release": 0.0,
    "disables-asserts": 2.0,
    "stops-after-02": 8.0,
    "skips-pruning": 20.0,
    "escapes": None,
}


def sample_class(root: Path, out: Path, track: str) -> Path:
    """Six learners on ``track``: the reference solution, the blank release, a cheat that disables
    the notebooks' asserts in two notebooks, a partial hand-in (notebooks 00-02 only), a learner who
    skipped structured pruning in notebook 05, and a zip that tries to write outside its folder."""
    solutions, release = root / "solutions" / ASSIGNMENT, root / "notebooks" / ASSIGNMENT
    shutil.rmtree(out, ignore_errors=True)
    chosen = {"00-solution-3": choose(track)}
    hand_in(out / "reference-solution", notebooks_of(solutions, chosen))
    hand_in(out / "blank-release", notebooks_of(release))
    cheats = dict.fromkeys(first_solution_cells(release), DISABLE_ASSERTS)
    cheats["00-solution-3"] = choose(track) + "\n" + DISABLE_ASSERTS
    hand_in(out / "disables-asserts", notebooks_of(release, cheats), only=("00", "03"))
    hand_in(out / "stops-after-02", notebooks_of(solutions, chosen), only=("00", "01", "02"))
    hand_in(out / "skips-pruning", notebooks_of(solutions, chosen | {"05-solution-structured": SKIP_PRUNING}))
    escaping_zip(out / "escapes.zip")
    return out
