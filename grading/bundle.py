"""The learner bundle: one zip with everything a learner needs and nothing of the grader's.

It holds the release notebooks, the whole ``helpers`` package (with the public targets the
notebooks show, ``helpers/targets.toml``), and the learner's own install files and README from
``grading/bundle_files/``, placed at the top of the bundle. It never holds the solutions, the
hidden tests, the grader's code (``grading/``) or the hidden split's seed; a test opens it and checks.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from helpers.errors import Day26Error

LEARNER_FILES = Path("grading") / "bundle_files"  # README.md, pyproject.toml, Makefile, environment.yml
SHARED_FILES = ("LICENSE",)
BUNDLE_FOLDERS = ("helpers", "notebooks/day26")
SKIPPED_PARTS = ("__pycache__", ".ipynb_checkpoints")


def _folder_files(root: Path, folder: str) -> list[Path]:
    """Every file in ``root/folder`` (caches left out), relative to ``root``."""
    found = (path for path in (root / folder).rglob("*") if path.is_file())
    return sorted(path.relative_to(root) for path in found if not set(path.parts) & set(SKIPPED_PARTS))


def bundle_members(root: Path) -> dict[str, Path]:
    """What goes into the bundle: its name inside ``day26/`` -> the file under ``root``."""
    members = {path.name: LEARNER_FILES / path.name for path in sorted((root / LEARNER_FILES).iterdir())}
    members |= {name: Path(name) for name in SHARED_FILES}
    for folder in BUNDLE_FOLDERS:
        members |= {path.as_posix(): path for path in _folder_files(root, folder)}
    missing = sorted(name for name, source in members.items() if not (root / source).is_file())
    if missing or "README.md" not in members:
        raise Day26Error(f"{root}: cannot build the learner bundle, missing {', '.join(missing) or 'README.md'}")
    return members


def build_bundle(root: str | Path, target: str | Path) -> Path:
    """Write the learner bundle zip to ``target`` and return its path."""
    root, target = Path(root), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, source in bundle_members(root).items():
            bundle.write(root / source, f"day26/{name}")
    return target
