"""helpers.captured: what a library prints inside the block is collected, not lost."""

from __future__ import annotations

import logging
import sys
import warnings

import pytest

from helpers.captured import library_output


def test_stdout_stderr_warnings_and_log_lines_are_collected(capsys):
    logger = logging.getLogger("day26.test.captured")
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    try:
        with library_output() as printed:
            print("progress 1")
            print("progress 2")
            print("problem", file=sys.stderr)
            warnings.warn("first warning\nsecond line", UserWarning, stacklevel=1)
            warnings.warn("first warning\nsecond line", UserWarning, stacklevel=1)
            logger.warning("a log line")
    finally:
        logger.removeHandler(handler)
    assert capsys.readouterr().out == "" and printed.stdout_lines == ["progress 1", "progress 2"]
    assert printed.stderr_lines == ["problem", "a log line"]
    assert printed.distinct_warnings() == ["first warning"] and len(printed.warnings) == 2
    assert printed.summary("the thing").splitlines() == [
        "the thing printed 2 line(s) of progress, 2 line(s) on stderr and 2 warning(s)",
        "  warning: first warning",
    ]
    assert handler.stream is sys.stderr  # the handler writes where it did before


def test_when_the_code_fails_what_it_printed_is_shown_with_the_error(capsys):
    with pytest.raises(ValueError, match="broken"), library_output():
        print("the exporter explains the failure here")
        raise ValueError("broken")
    assert "the exporter explains the failure here" in capsys.readouterr().out


def test_a_library_asking_for_the_file_descriptor_gets_the_real_one(tmp_path, monkeypatch):
    with open(tmp_path / "stderr.txt", "w") as real_stderr:
        monkeypatch.setattr(sys, "stderr", real_stderr)
        with library_output():
            assert sys.stderr is not real_stderr and sys.stderr.fileno() == real_stderr.fileno()
