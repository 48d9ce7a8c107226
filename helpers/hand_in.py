"""The hand-in: one zip with exactly what the grader needs, checked as the grader's intake checks it.

``day26 pack --name YOUR_ID`` collects, from the notebook folder:

- the six notebooks (``00_start.ipynb`` to ``05_combined.ipynb``);
- ``artifacts/``: every file the notebooks wrote there (the grader reads them by name);
- with your own model, ``week5_model.toml`` and the code and weights files it names.

The zip is called ``YOUR_ID.zip``: the grader takes the learner id from the file name, so the name is
checked the way the grader checks it. Before writing, each file is checked as the grader's intake
will (a plain file, no link, within the size caps), and what is missing is listed: a notebook, an
artifact the day makes for your model, a file your declaration names. Nothing in the folder changes.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from helpers import contract
from helpers.errors import Day26Error
from helpers.files import replaced_atomically

NOTEBOOKS = ("00_start", "01_baseline", "02_quantization", "03_pruning", "04_onnx", "05_combined")
MAX_FILE_BYTES = 100_000_000  # the grader's intake refuses a larger file (grading/intake.py uses these)
MAX_TOTAL_BYTES = 500_000_000  # ... and a larger hand-in
LEARNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # what nbgrader takes as a student id
DECLARATION = "week5_model.toml"
ALWAYS = (
    contract.TRACK_CHOICE,
    contract.RESULTS,
    contract.BASELINE,
    contract.QUANTIZED_DYNAMIC,
    contract.PRUNED,
    contract.ONNX_FP32,
    contract.COMBINED,
    contract.COMPARISON_PLOT,
)


@dataclass
class HandIn:
    """What :func:`pack` put in the zip (paths inside it), its size in bytes, and what is missing."""

    zip_path: Path
    files: list[str] = field(default_factory=list)
    size_bytes: int = 0
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Two or more lines: the zip, its files and size, then each missing file with what makes it."""
        lines = [f"{self.zip_path}: {len(self.files)} files, {self.size_bytes / 1e6:.1f} MB"]
        if self.missing:
            lines += [f"  missing: {item}" for item in self.missing]
            lines.append("=> not complete: make the missing files (run those notebooks), then pack again")
        else:
            lines.append("=> complete: every notebook and every artifact the grader reads is in it")
        return "\n".join(lines)


def _plain_file_problem(path: Path, shown: str) -> str | None:
    """Why the grader's intake would refuse ``path``, or None."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return f"{shown} is a link; put the file itself there"
    if not stat.S_ISREG(info.st_mode):
        return f"{shown} is not a regular file"
    if info.st_nlink > 1:
        return f"{shown} is a hard link to another file; put a copy there"
    if info.st_size > MAX_FILE_BYTES:
        return f"{shown} is {info.st_size / 1e6:.0f} MB, over the grader's {MAX_FILE_BYTES / 1e6:.0f} MB cap"
    return None


def _uses_convolutions(model_onnx: Path) -> bool:
    """Does model.onnx hold a convolution (then the day makes a static INT8 model too, as the grader expects)?"""
    from helpers.onnx_files import load_graph_only

    try:
        return any(node.op_type == "Conv" for node in load_graph_only(model_onnx).graph.node)
    except Exception:  # an unreadable model.onnx: the grader says so; the pack does not guess
        return False


def _declared_files(folder: Path) -> tuple[list[Path], list[str]]:
    """The declaration and the files it names (inside ``folder``), and the problems with them."""
    declaration = folder / DECLARATION
    if not declaration.exists():
        return [], []
    try:
        content = tomllib.loads(declaration.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        return [declaration], [f"{DECLARATION} cannot be read ({error}): fix it, as notebook 00 says"]
    files, problems = [declaration], []
    for key in ("code", "weights"):
        named = content.get(key)
        if not isinstance(named, str) or not named:
            problems.append(f"{DECLARATION} names no {key} file")
            continue
        path = (folder / named).resolve()
        if not path.is_relative_to(folder.resolve()):
            problems.append(f"{DECLARATION}'s {key} file {named} lies outside {folder}: keep it beside the notebooks")
        elif not path.is_file():
            problems.append(f"{named} (the {key} file {DECLARATION} names)")
        else:
            files.append(folder / named)
    return files, problems


def pack(folder: Path, learner_id: str, out_dir: Path | None = None) -> HandIn:
    """Write ``learner_id.zip`` (in ``out_dir``, default: the current folder) with the hand-in of the
    notebook folder ``folder``; return what it holds and what is missing."""
    if not LEARNER_ID.fullmatch(learner_id):
        raise Day26Error(
            f"'{learner_id}' cannot be a learner id: the grader takes the zip's name as your id, and it must start "
            "with a letter or digit, then letters, digits, '.', '_' or '-', at most 64 characters. Use the id your "
            "instructor gave you."
        )
    out_dir = out_dir if out_dir is not None else Path.cwd()
    missing = [f"{name}.ipynb" for name in NOTEBOOKS if not (folder / f"{name}.ipynb").is_file()]
    chosen = [folder / f"{name}.ipynb" for name in NOTEBOOKS if (folder / f"{name}.ipynb").is_file()]
    artifacts = folder / contract.ARTIFACTS_DIR
    expected = list(ALWAYS)
    if _uses_convolutions(contract.ONNX_FP32.path(artifacts)):
        expected.insert(4, contract.QUANTIZED_STATIC)
    missing += [
        f"artifacts/{item.file} (notebook {item.notebook})" for item in expected if not item.path(artifacts).is_file()
    ]
    if artifacts.is_dir():
        chosen += sorted(path for path in artifacts.rglob("*") if not path.is_dir())
    declared, problems = _declared_files(folder)
    chosen += [path for path in declared if path not in chosen]
    missing += problems
    refused = [problem for path in chosen if (problem := _plain_file_problem(path, str(path.relative_to(folder))))]
    if refused:
        raise Day26Error("the grader would refuse this hand-in: " + "; ".join(refused))
    total = sum(path.lstat().st_size for path in chosen)
    if total > MAX_TOTAL_BYTES:
        raise Day26Error(f"the hand-in is {total / 1e6:.0f} MB, over the grader's {MAX_TOTAL_BYTES / 1e6:.0f} MB cap: "
                         "remove what is not yours to hand in from artifacts/")  # fmt: skip
    zip_path = out_dir / f"{learner_id}.zip"
    out_dir.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(zip_path) as temporary, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in chosen:
            archive.write(path, path.relative_to(folder).as_posix())
    names = [path.relative_to(folder).as_posix() for path in chosen]
    return HandIn(zip_path, names, os.path.getsize(zip_path), missing)
