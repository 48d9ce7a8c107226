"""The one error type learners and instructors should see: a clear sentence, no traceback.

Raise :class:`Day26Error` for anything the person can fix (a missing file, a wrong shape,
an unknown track). The command line prints its message on one line and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path


class Day26Error(Exception):
    """A problem with the user's input, with what to do about it."""


def file_error(path: str | Path, problem: str, fix: str) -> Day26Error:
    """Build an error that names the file, says what is wrong and what to do."""
    return Day26Error(f"{path}: {problem}. {fix}")
