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


def show_errors_in_one_line() -> None:
    """In a notebook, show a :class:`Day26Error` as its one line (what is wrong, what to do) instead
    of a traceback. Every other error keeps its full traceback. Outside IPython this does nothing."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: the command line prints Day26Error in one line itself
        return
    shell = get_ipython()
    if shell is None:
        return

    def one_line(shell, kind, error, traceback, tb_offset=None) -> None:
        # IPython's own hook for showing an error: here with the one line "Day26Error: <message>".
        shell._showtraceback(kind, error, shell.InteractiveTB.get_exception_only(kind, error))

    shell.set_custom_exc((Day26Error,), one_line)
