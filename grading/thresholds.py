"""Reading the thresholds file (``grading/thresholds.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from helpers.errors import Day26Error


@dataclass(frozen=True)
class Threshold:
    """What one artifact of one track must reach against the baseline."""

    max_accuracy_drop: float  # percentage points
    min_size_reduction: float = 0.0  # 0 = not required
    min_speedup: float = 0.0  # 0 = not required
    min_sparsity: float = 0.0  # fraction, 0 = not required
    max_parity_difference: float = 0.0  # 0 = not checked


def load_thresholds() -> dict:
    """The whole thresholds file as a dictionary."""
    text = resources.files("grading").joinpath("thresholds.toml").read_text()
    return tomllib.loads(text)


@dataclass(frozen=True)
class Lane:
    """How the grader measures speed: ``blocks`` interleaved blocks over about ``seconds`` seconds,
    and a verdict within ``guard_band`` (a fraction) of a target is measured again."""

    guard_band: float
    blocks: int
    seconds: float


def lane_settings() -> Lane:
    """The benchmark lane's settings, from the ``[lane]`` table of the thresholds file."""
    lane = load_thresholds()["lane"]
    return Lane(float(lane["guard_band"]), int(lane["blocks"]), float(lane["seconds"]))


def speed_guard_band() -> float:
    """The fraction around a speed target inside which a verdict needs another measurement."""
    return lane_settings().guard_band


def threshold_for(track: str, artifact: str) -> Threshold:
    """The threshold of one artifact (``"optimized"``, ``"pruned"``, ...) of one track."""
    table = load_thresholds()
    if track not in table:  # a learner's own track uses the targets of the track it is like
        from helpers.tracks import TRACKS

        registered = TRACKS.get(track)
        track = registered.like if registered is not None and registered.like else track
    try:
        return Threshold(**table[track][artifact])
    except KeyError:
        raise Day26Error(f"grading/thresholds.toml has no [{track}.{artifact}] table") from None
    except TypeError as error:
        raise Day26Error(f"grading/thresholds.toml: [{track}.{artifact}] has an unknown key ({error})") from None
