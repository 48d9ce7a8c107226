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


def trained_briefly(model, track_name: str, epochs: int = 2, seed: int = 0):
    """``model`` trained for ``epochs`` on its track's data: an own Week-5 model has learned something
    (one at chance is stopped before the day starts, helpers/effects.py)."""
    from helpers.tracks import get_track
    from helpers.train import TrainingRecipe, train

    track = get_track(track_name)
    train(model, track.train_data(), TrainingRecipe(epochs, track.training.batch_size, track.training.learning_rate),
          seed=seed)  # fmt: skip
    return model.eval()
