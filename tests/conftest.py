"""Shared fixtures. Reference models are trained once per test session, in a temporary home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def day26_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAY26_HOME for the session: reuse the caller's (CI sets one), else a fresh folder."""
    home = Path(os.environ.get("DAY26_HOME") or tmp_path_factory.mktemp("day26_home"))
    os.environ["DAY26_HOME"] = str(home)
    return home
