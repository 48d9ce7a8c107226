"""Catching what libraries print, so a notebook cell shows it in a line instead of a red wall.

Exporters and quantizers print progress lines, warnings and sometimes whole tracebacks (to
stderr, which nbgrader scores as a failure in a test cell). :func:`library_output` collects
all of it inside a ``with`` block: what went to ``sys.stdout`` and ``sys.stderr``, every
warning, and every log line of the libraries' loggers. Nothing is thrown away: the cell
prints a summary, and the full text stays in the returned :class:`LibraryOutput`.

Only the block is affected; warnings outside it behave as usual. If the code in the block
raises, everything it printed is shown before the error, since it may say why.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import textwrap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class LibraryOutput:
    """What the code inside a :func:`library_output` block printed."""

    stdout: str = ""
    stderr: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def stdout_lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def distinct_warnings(self) -> list[str]:
        """The first line of each different warning, in the order they came."""
        firsts = [message.splitlines()[0] if message else "" for message in self.warnings]
        return list(dict.fromkeys(firsts))

    def summary(self, who: str = "the library", width: int = 150) -> str:
        """A few lines: how much was printed, and each distinct warning shortened to ``width``."""
        lines = [
            f"{who} printed {len(self.stdout_lines)} line(s) of progress, "
            f"{len(self.stderr_lines)} line(s) on stderr and {len(self.warnings)} warning(s)"
        ]
        lines += [f"  warning: {textwrap.shorten(message, width)}" for message in self.distinct_warnings()]
        return "\n".join(lines)


class _Capture(io.StringIO):
    """A text buffer standing in for ``sys.stdout`` or ``sys.stderr``.

    Some library code asks the stream for its file descriptor (to check for a terminal);
    it gets the descriptor of the stream this one replaces, as it would without capturing.
    """

    def __init__(self, replaced: object) -> None:
        super().__init__()
        self._replaced = replaced

    def fileno(self) -> int:
        return self._replaced.fileno()  # type: ignore[attr-defined]


def _stream_handlers() -> list[logging.StreamHandler]:
    """Every logging handler that writes to a stream (torch's own loggers have one)."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    handlers = {id(h): h for logger in loggers for h in logger.handlers if isinstance(h, logging.StreamHandler)}
    return [
        handler
        for handler in handlers.values()
        if not isinstance(handler, logging.FileHandler) and handler.stream in (sys.stdout, sys.stderr)
    ]


def _replay(out: _Capture, err: _Capture) -> None:
    """Write what was captured to the streams that were replaced (the notebook's own)."""
    out._replaced.write(out.getvalue())  # type: ignore[attr-defined]
    err._replaced.write(err.getvalue())  # type: ignore[attr-defined]


@contextlib.contextmanager
def library_output() -> Iterator[LibraryOutput]:
    """Collect stdout, stderr, warnings and log lines printed inside the block.

    Usage::

        with library_output() as printed:
            torch.onnx.export(...)
        print(printed.summary("the exporter"))
    """
    captured = LibraryOutput()
    out, err = _Capture(sys.stdout), _Capture(sys.stderr)
    handlers = _stream_handlers()
    previous_streams = [handler.stream for handler in handlers]
    with (
        warnings.catch_warnings(record=True) as raised,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        for handler in handlers:
            handler.setStream(err)
        try:
            yield captured
        except BaseException:
            _replay(out, err)  # the code failed: what it printed may explain why, so show all of it
            raise
        finally:
            for handler, stream in zip(handlers, previous_streams, strict=True):
                handler.setStream(stream)
            captured.stdout, captured.stderr = out.getvalue(), err.getvalue()
            captured.warnings = [str(warning.message) for warning in raised]


@contextlib.contextmanager
def native_stderr() -> Iterator[LibraryOutput]:
    """Collect what compiled library code writes straight to the process's stderr (file descriptor 2)
    inside the block, which :func:`library_output` cannot see: it replaces only Python's
    ``sys.stderr``. PyTorch's profiler, for one, prints a line when it starts and stops. The text is
    kept in the returned :class:`LibraryOutput` (``stderr``), and shown if the block raises."""
    captured = LibraryOutput()
    sys.stderr.flush()
    saved = os.dup(2)
    failed = False
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.stderr = sink.read().decode(errors="replace")
            if failed:  # the code failed: what it printed may explain why, so show all of it
                sys.stderr.write(captured.stderr)
