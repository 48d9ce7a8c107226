"""The grader's hidden test split. Its seed lives only here, under grading/, and never
reaches the learners' release: accuracy is verified on samples no learner has seen."""

from __future__ import annotations

from helpers.data import Dataset
from helpers.tracks import Track

HIDDEN_SEED = 731_026
HIDDEN_SIZES = {"images": 300, "text": 600, "tabular": 1500}


def hidden_split(track: Track) -> Dataset:
    """The hidden test samples of a track (drawn from the same generator as train and val)."""
    return track.make_split(HIDDEN_SIZES.get(track.name, track.val_size), HIDDEN_SEED)
