"""The learner bundle: one zip with everything a learner needs and nothing of the grader's.

It holds the release notebooks, the whole ``helpers`` package (with the public targets the
notebooks show, ``helpers/targets.toml``), the instructor's trained reference models (in
``helpers/reference_models/``, so every learner loads the weights the grader holds), and the learner's
own install files and README from ``grading/bundle_files/``, placed at the same paths in the bundle, and
the machine the class is graded on (``notebooks/day26/grading_machine.json``). It never
holds the solutions, the hidden tests, the grader's code (``grading/``) or the hidden split's seed; a
test opens it and checks.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

from helpers.errors import Day26Error
from helpers.folders import NOTEBOOK_FOLDER
from helpers.grading_machine import GRADING_MACHINE_FILE
from helpers.tracks import Track

# README.md, pyproject.toml, Makefile, environment.yml, nbgrader_config.py, and the notebook folder's
# nbgrader_config.py (notebooks/day26/), each at its place in the bundle
LEARNER_FILES = Path("grading") / "bundle_files"
SHARED_FILES = ("LICENSE",)
BUNDLE_FOLDERS = ("helpers", "notebooks/day26")
SKIPPED_PARTS = ("__pycache__", ".ipynb_checkpoints", "reference_models")  # shipped models come from the cache
SHIPPED_MODELS = "helpers/reference_models"  # where helpers.reference looks for them (SHIPPED_FOLDER)


def _folder_files(root: Path, folder: str) -> list[Path]:
    """Every file in ``root/folder`` (caches left out), relative to ``root``."""
    found = (path for path in (root / folder).rglob("*") if path.is_file())
    return sorted(path.relative_to(root) for path in found if not set(path.parts) & set(SKIPPED_PARTS))


def bundle_members(root: Path) -> dict[str, Path]:
    """What goes into the bundle: its name inside ``day26/`` -> the file under ``root``."""
    learner_files = sorted(path for path in (root / LEARNER_FILES).rglob("*") if path.is_file())
    members = {path.relative_to(root / LEARNER_FILES).as_posix(): path.relative_to(root) for path in learner_files}
    members |= {name: Path(name) for name in SHARED_FILES}
    for folder in BUNDLE_FOLDERS:
        members |= {path.as_posix(): path for path in _folder_files(root, folder)}
    missing = sorted(name for name, source in members.items() if not (root / source).is_file())
    if missing or "README.md" not in members:
        raise Day26Error(f"{root}: cannot build the learner bundle, missing {', '.join(missing) or 'README.md'}")
    return members


def reference_model_files(tracks: Iterable[Track]) -> list[Path]:
    """The instructor's trained reference model of each track and its info file (trained first where
    missing: the grader loads these very files)."""
    from helpers.reference import ready_model

    files = []
    for track in tracks:
        ready = ready_model(track)
        files += [ready.path, ready.path.with_suffix(".json")]
    return files


def build_bundle(
    root: str | Path, target: str | Path, reference_models: Iterable[Path] = (), grading_machine: dict | None = None
) -> Path:
    """Write the learner bundle zip to ``target`` and return its path; ``reference_models`` (from
    :func:`reference_model_files`) go into ``helpers/reference_models/``, and ``grading_machine`` (a
    :func:`helpers.machine.machine_description`) beside the notebooks as ``grading_machine.json``."""
    root, target = Path(root), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, source in bundle_members(root).items():
            bundle.write(root / source, f"day26/{name}")
        for path in reference_models:
            bundle.write(path, f"day26/{SHIPPED_MODELS}/{path.name}")
        if grading_machine is not None:
            bundle.writestr(
                f"day26/{NOTEBOOK_FOLDER.as_posix()}/{GRADING_MACHINE_FILE}", json.dumps(grading_machine, indent=2)
            )
    return target
