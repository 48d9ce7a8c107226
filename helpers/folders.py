"""Where the learner's files are, whichever folder a command runs in.

The notebooks live in ``notebooks/day26/`` of the bundle and write their artifacts beside them, in
``notebooks/day26/artifacts/``. A learner runs ``day26`` commands from the bundle's top (where
``make lab`` starts JupyterLab and its terminal) or from the notebook folder; both must find the same
files. Every function here says which folder it chose, and a folder the learner named that does not
exist is an error, never a silent fallback.
"""

from __future__ import annotations

from pathlib import Path

from helpers import contract
from helpers.errors import Day26Error

NOTEBOOK_FOLDER = Path("notebooks") / "day26"  # from the bundle's top (and the course's)
NBGRADER_CONFIG = "nbgrader_config.py"


def notebook_folder(start: Path | None = None) -> Path:
    """The folder of the day's notebooks, seen from ``start`` (default: the current folder): the
    folder itself when it holds them, else its ``notebooks/day26``, else that of a parent folder."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        for candidate in (folder, folder / NOTEBOOK_FOLDER):
            if any(candidate.glob("0[0-5]_*.ipynb")):
                return candidate
    raise Day26Error(
        f"{start}: no Day 26 notebooks here, in {NOTEBOOK_FOLDER} below, or in a folder above. "
        "Run the command in the workbook's folder (the unpacked bundle) or in notebooks/day26."
    )


def _named(given: str | Path, is_there: bool, kind: str, what: str) -> Path:
    """A path the learner named on the command line: returned when it is there, else an error that
    names it and says what to give instead (``kind``: "folder" or "file"; ``what``: what it should be)."""
    if not is_there:
        raise Day26Error(f"{given}: no such {kind}. Give {what} the notebooks wrote, or leave the option out to use "
                         "the one beside the notebooks.")  # fmt: skip
    return Path(given)


def artifacts_folder(given: str | Path | None = None) -> Path:
    """The artifacts folder: ``given`` when the learner named one (it must exist), else the one beside
    the day's notebooks (:func:`notebook_folder`)."""
    if given is not None:
        return _named(given, Path(given).is_dir(), "folder", "the artifacts folder")
    return notebook_folder() / contract.ARTIFACTS_DIR


def results_file(given: str | Path | None = None) -> Path:
    """results.json: ``given`` when the learner named one (it must exist), else the artifacts folder's."""
    if given is not None:
        return _named(given, Path(given).is_file(), "file", "the results.json")
    return contract.RESULTS.path(artifacts_folder())


def learner_file(given: str | Path) -> Path:
    """A file the learner named: as given when it exists, else the same path inside the notebook
    folder (``artifacts/pruned.pth`` from the bundle's top). An error names both places tried."""
    path = Path(given)
    if path.exists() or path.is_absolute():
        return path
    try:
        inside = notebook_folder() / path
    except Day26Error:
        inside = None
    if inside is not None and inside.exists():
        return inside
    tried = f" or {inside}" if inside is not None else ""
    raise Day26Error(f"{path}: no such file here{tried}. Check the name (day26 check lists the artifacts).")


def nbgrader_settings_folder(notebook: Path) -> Path | None:
    """The nearest folder at or above ``notebook`` that holds nbgrader_config.py (the course's limits
    for Validate), or None."""
    for folder in notebook.resolve().parents:
        if (folder / NBGRADER_CONFIG).is_file():
            return folder
    return None
