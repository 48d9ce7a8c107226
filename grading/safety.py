"""Checking a submission's files before anything loads them.

A learner's folder is untrusted: an artifact may be a link to a file elsewhere, an ONNX model
may point its external weights outside the submission (onnxruntime still follows a hard
link), or a file may be huge. Each check raises :class:`UnsafeFile` with a reason a learner
can act on.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import onnx

from helpers.contract import ARTIFACTS_DIR
from helpers.onnx_files import external_locations

MAX_ARTIFACT_BYTES = 100_000_000  # nbgrader skips larger files anyway
STANDARD_ONNX_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft"}  # com.microsoft: ORT's INT8 operators


class UnsafeFile(Exception):
    """A file the grader refuses to load, with the reason."""


def refuse_unless_plain_file(path: Path, shown: str, max_bytes: int = MAX_ARTIFACT_BYTES) -> None:
    """Raise :class:`UnsafeFile` unless ``path`` is a regular file of its own (no symbolic or
    hard link) within ``max_bytes``. ``shown`` is how the file is named in the message."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise UnsafeFile(f"{shown} is missing") from None
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(f"{shown} is a link (a symbolic link); submit the file itself")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{shown} is not a regular file")
    if info.st_nlink > 1:
        raise UnsafeFile(f"{shown} is a hard link to another file; submit a copy")
    if info.st_size > max_bytes:
        raise UnsafeFile(f"{shown} is {info.st_size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB cap")


def _check_regular_file(path: Path, submission: Path) -> None:
    refuse_unless_plain_file(path, path.name)
    if not path.resolve().is_relative_to(submission.resolve()):
        raise UnsafeFile(f"{path.name} lies outside the submission")


def checked_artifact(submission: Path, name: str) -> Path:
    """``submission/artifacts/name``, after the file checks."""
    return checked_submission_file(submission, ARTIFACTS_DIR / name)


def checked_submission_file(submission: Path, relative: str | Path) -> Path:
    """``submission/relative`` (e.g. ``week5_model.toml``), after the file checks."""
    path = submission / relative
    _check_regular_file(path, submission)
    return path


def _graphs(graph: onnx.GraphProto):
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for subgraph in attribute.graphs:
                yield from _graphs(subgraph)


def _operator_domains(model: onnx.ModelProto) -> set[str]:
    """The operator domains of every node: main graph, subgraphs and local functions."""
    domains = {node.domain for graph in _graphs(model.graph) for node in graph.node}
    return domains | {node.domain for function in model.functions for node in function.node}


def checked_onnx(submission: Path, name: str) -> Path:
    """An ONNX artifact whose every referenced file is a regular file inside the submission
    and whose operators all come from the standard domains.

    The referenced files are those of :func:`helpers.onnx_files.external_locations`: the external
    data of every tensor (initializers, sparse initializers, Constant nodes and other tensor
    attributes, subgraphs, functions), the same list size on disk counts.
    """
    path = checked_artifact(submission, name)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # a damaged file fails in many ways inside onnx
        raise UnsafeFile(f"{name} is not a readable ONNX model; export it again") from None
    for location in external_locations(model):
        pure = PurePosixPath(location)
        if not location or pure.is_absolute() or ".." in pure.parts or os.path.isabs(location):
            raise UnsafeFile(f"{name} points its weights at '{location}', outside the submission")
        _check_regular_file(path.parent / location, submission)
    local_functions = {function.domain for function in model.functions}
    for domain in sorted(_operator_domains(model) - STANDARD_ONNX_DOMAINS - local_functions):
        raise UnsafeFile(f"{name} uses the non-standard operator domain '{domain}'")
    return path
