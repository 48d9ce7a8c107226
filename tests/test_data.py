"""Datasets are generated offline, bit-for-bit reproducible, and shaped as each track says."""

from __future__ import annotations

import hashlib

import pytest
import torch

from helpers import data
from helpers.tracks import TRACKS


def _digest(dataset: data.Dataset) -> str:
    return hashlib.sha256(dataset.inputs.numpy().tobytes() + dataset.labels.numpy().tobytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(TRACKS))
def test_same_seed_same_bytes_other_seed_other_bytes(name):
    make = TRACKS[name].make_split
    assert _digest(make(24, 7)) == _digest(make(24, 7))
    assert _digest(make(24, 7)) != _digest(make(24, 8))


@pytest.mark.parametrize("name", sorted(TRACKS))
def test_batches_have_the_track_input_shape_and_type(name):
    track = TRACKS[name]
    inputs, labels = next(track.make_split(40, 3).batches(16))
    assert tuple(inputs.shape) == (16, *track.input_shape)
    assert inputs.dtype == track.input_dtype
    assert set(labels.tolist()) <= {0, 1}


def test_images_are_stored_as_bytes_and_served_in_unit_range():
    images = data.make_skin_images(8, 1)
    assert images.inputs.dtype == torch.uint8
    served = images.model_inputs()
    assert served.min() >= 0.0 and served.max() <= 1.0


def test_both_classes_are_present_in_every_split():
    for name, track in TRACKS.items():
        labels = track.make_split(200, data.VAL_SEED).labels.float()
        assert 0.3 < labels.mean() < 0.7, name


def test_shuffled_batches_cover_every_sample_once():
    dataset = data.make_stock_features(100, 5)
    seen = torch.cat([inputs for inputs, _ in dataset.batches(32, shuffle_seed=1)])
    assert len(seen) == len(dataset)
    assert torch.equal(torch.sort(seen[:, 0]).values, torch.sort(dataset.inputs[:, 0]).values)
