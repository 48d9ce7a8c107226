"""The grader's hidden test split. Its seed lives only here, under grading/, and never
reaches the learners' release: accuracy is verified on samples no learner has seen."""

from __future__ import annotations

from helpers.course_data import read_split
from helpers.data import Dataset
from helpers.tracks import Track

HIDDEN_SEED = 731_026
HIDDEN_SIZES = {"images": 300, "text": 600, "tabular": 1500}


def hidden_split(track: Track) -> Dataset:
    """The hidden test samples of a track: drawn from the same generator as train and val, or, when
    the track reads the course's own data, the held-out file its ``hidden`` entry names."""
    if track.course_data is not None:
        return read_split(track.course_data, "hidden")
    return track.make_split(HIDDEN_SIZES.get(track.name, track.val_size), HIDDEN_SEED)
