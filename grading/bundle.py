"""The learner bundle: one zip with everything a learner needs and nothing of the grader's.

It holds the release notebooks, the helpers package, the public thresholds (targets the
notebooks show), the install files and the README. It never holds the solutions, the
hidden tests, the grader's code or the hidden split's seed; a test opens it and checks.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from helpers.errors import Day26Error

# What a learner gets, relative to the workbook root. grading/ contributes only the public targets.
BUNDLE_FILES = (
    "README.md",
    "LICENSE",
    "Makefile",
    "pyproject.toml",
    "environment.yml",
    "grading/__init__.py",
    "grading/thresholds.py",
    "grading/thresholds.toml",
)
BUNDLE_FOLDERS = ("helpers", "notebooks/day26")
SUFFIXES = (".py", ".ipynb")


def bundle_members(root: Path) -> list[Path]:
    """The files that go into the bundle, relative to ``root``."""
    members = [Path(name) for name in BUNDLE_FILES]
    for folder in BUNDLE_FOLDERS:
        members += sorted(p.relative_to(root) for p in (root / folder).rglob("*") if p.suffix in SUFFIXES)
    missing = [str(member) for member in members if not (root / member).is_file()]
    if missing:
        raise Day26Error(f"{root}: cannot build the learner bundle, missing {', '.join(missing)}")
    return members


def build_bundle(root: str | Path, target: str | Path) -> Path:
    """Write the learner bundle zip to ``target`` and return its path."""
    root, target = Path(root), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for member in bundle_members(root):
            bundle.write(root / member, f"day26/{member.as_posix()}")
    return target
