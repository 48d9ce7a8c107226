"""Sample submissions, built from the workbook's own notebooks: what learners hand in.

``day26 demo`` autogrades a small sample class, and the tests build their hostile class with
the same functions. A submission is a learner's folder: their notebooks and ``artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from grading.course import ASSIGNMENT

# A learner's cheat: every cell that holds an assert is replaced before it runs (FACTS.md, reproduced).
DISABLE_ASSERTS = """
def _no_tests(lines):
    return ['print("all good")\\n'] if any("assert" in line for line in lines) else lines

get_ipython().input_transformers_post.append(_no_tests)
"""


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
    """The notebooks in ``folder``, with the solution cells named in ``answers`` (by grade_id) answered so."""
    notebooks = {}
    for path in sorted(folder.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if answers and grade_id in answers:
                cell.source = answered(cell.source, answers[grade_id])
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


def sample_class(root: Path, out: Path, track: str) -> Path:
    """Three learners on ``track``: the reference solution, the blank release, and a cheat that
    disables the notebooks' asserts in two notebooks (and does nothing else)."""
    solutions, release = root / "solutions" / ASSIGNMENT, root / "notebooks" / ASSIGNMENT
    shutil.rmtree(out, ignore_errors=True)
    hand_in(out / "reference-solution", notebooks_of(solutions, {"00-solution-3": choose(track)}))
    hand_in(out / "blank-release", notebooks_of(release))
    cheats = dict.fromkeys(first_solution_cells(release), DISABLE_ASSERTS)
    cheats["00-solution-3"] = choose(track) + "\n" + DISABLE_ASSERTS
    hand_in(out / "disables-asserts", notebooks_of(release, cheats), only=("00", "03"))
    return out
