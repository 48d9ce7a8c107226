"""Writing files so that an interrupted run never leaves a half-written one behind.

:func:`replaced_atomically` hands out a temporary name next to the target; when the block ends
without an error the temporary file takes the target's place in one step (``os.replace``), so a
reader sees either the old file or the new one, never a part. Two processes writing the same
target at once each use their own temporary name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one step.

    The folder of ``path`` is created if needed. On an error the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` in one step (see :func:`replaced_atomically`); return ``path``."""
    with replaced_atomically(path) as temporary:
        temporary.write_text(text)
    return Path(path)
