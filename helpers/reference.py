"""Making the reference "Week 5" model of a track ready: train it once, then load it.

Trained models are cached in the folder named by the ``DAY26_HOME`` environment variable
(default ``~/.cache/day26``), so every notebook and command finds the same model.
Loading always uses ``weights_only=True``: a state_dict holds tensors, never code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from helpers.artifacts import load_into
from helpers.cache import home
from helpers.effects import learned_beyond_chance
from helpers.errors import Day26Error, file_error
from helpers.files import replaced_atomically, write_text_atomically
from helpers.measure import accuracy, correct_per_sample, remember_correct
from helpers.tracks import Track
from helpers.train import train

TRAINING_SEED = 26


# The instructor's trained reference models, which `day26 release` puts here in the learner bundle:
# every learner and the grader then load the same weights, whatever CPU would have trained them.
SHIPPED_FOLDER = Path(__file__).resolve().parent / "reference_models"


def checkpoint_name(track: Track) -> str:
    """The file name of the track's reference model (its version and course data in the name)."""
    data = f"_data{track.course_data.fingerprint()}" if track.course_data is not None else ""
    return f"week5_{track.name}_v{track.version}{data}.pth"


def checkpoint_path(track: Track) -> Path:
    """Where the track's trained model lives: a learner's own weights file; else the reference model
    shipped with the release, when there is one; else the cache (where it is trained on first use)."""
    if track.own_model is not None:
        return track.own_model.weights
    shipped = SHIPPED_FOLDER / checkpoint_name(track)
    return shipped if shipped.is_file() else home() / checkpoint_name(track)


@dataclass
class ReadyModel:
    """A trained model with where it came from and how good it is."""

    track: Track
    model: nn.Module
    path: Path
    val_accuracy: float
    seconds_to_train: float | None  # None when it was loaded from disk


def _check_records_folder() -> Path | None:
    """Where own-model checks are kept: the cache folder, or, where that is read-only (as in the
    grader's sandbox), the temporary folder of this session; None when neither can be written."""
    for folder in (home() / "own_model_checks", Path(tempfile.gettempdir()) / "day26-own-model-checks"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return None


def _own_model_accuracy(track: Track, model: nn.Module, weights: Path) -> float:
    """An own model's accuracy on the validation split (a fraction), checked against chance: a model
    that never learned makes every verdict of the day noise, so it stops here with what to do.

    Which samples it gets right is kept in the cache (in the temporary folder where the cache is
    read-only, as in the grader's sandbox) under a digest of the weights, the model's code
    and the split, so the notebooks after the first read it in a moment instead of running the whole
    split again (20 to 40 s for a ResNet-18 at 224x224 on two cores). Changed weights or code
    measure again.
    """
    own = track.own_model
    val = track.val_data()
    digest = hashlib.sha256()
    for part in (
        weights.read_bytes(),
        own.code.read_bytes(),
        own.class_name.encode(),
        repr(own.arguments).encode(),
        f"{track.name} v{track.version} {len(val)} {val.name} {track.course_data is not None}".encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    folder = _check_records_folder()
    record = folder / f"{digest.hexdigest()}.json" if folder is not None else Path(os.devnull)
    try:
        kept = json.loads(record.read_text())
        correct = np.unpackbits(np.frombuffer(bytes.fromhex(kept["correct"]), np.uint8))[: len(val)].astype(bool)
        if int(kept["samples"]) != len(val):
            raise ValueError("another split")
        remember_correct(model, val, correct)  # 01's own measurement of the baseline then takes no time either
    except (OSError, ValueError, KeyError, TypeError):  # not measured yet, or an unreadable record
        correct = correct_per_sample(model, val)
        kept = {"samples": len(val), "correct": np.packbits(correct).tobytes().hex()}
        if folder is not None:
            write_text_atomically(record, json.dumps(kept))
    val_accuracy = float(correct.mean())
    learned = learned_beyond_chance(val_accuracy, len(val), where=own.class_name)
    if not learned.ok:
        raise Day26Error(learned.line)
    return val_accuracy


def ready_model(
    track: Track, retrain: bool = False, on_epoch: Callable[[int, float], None] | None = None
) -> ReadyModel:
    """The track's trained model: loaded from disk if it exists, trained (and saved) if not.

    Training is deterministic (fixed seeds, fixed thread count) and takes at most about two
    minutes on two cores.
    """
    path = checkpoint_path(track)
    info_path = path.with_suffix(".json")
    if path.is_file() and not retrain:
        model = load_into(track.build_model, path)
        if info_path.is_file() and track.own_model is None:
            val_accuracy = json.loads(info_path.read_text())["val_accuracy"]
        elif track.own_model is not None:
            val_accuracy = _own_model_accuracy(track, model, path)
        else:
            val_accuracy = accuracy(model, track.val_data())
        return ReadyModel(track, model, path, val_accuracy, None)
    if track.own_model is not None:
        raise file_error(path, "does not exist", f"Give the path of your trained state_dict in {track.own_model.file}.")

    path = home() / checkpoint_name(track)  # a model trained here goes to the cache, never beside a shipped one
    info_path = path.with_suffix(".json")
    started = time.perf_counter()
    torch.manual_seed(TRAINING_SEED)
    model = track.build_model()
    train(model, track.train_data(), track.training, seed=TRAINING_SEED, on_epoch=on_epoch)
    seconds = time.perf_counter() - started
    val_accuracy = accuracy(model, track.val_data())
    with replaced_atomically(path) as temporary:  # never leave a half-written model behind
        torch.save(model.state_dict(), temporary)
    info = {"track": track.name, "val_accuracy": val_accuracy, "seconds_to_train": seconds, "torch": torch.__version__}
    write_text_atomically(info_path, json.dumps(info, indent=2))
    return ReadyModel(track, model, path, val_accuracy, seconds)
