"""The day's targets, and the one rule that says whether a figure meets its target.

The targets live in ``helpers/targets.toml``, per track and per artifact (the ``target`` names of
:mod:`helpers.contract`). The notebooks' tables and tests, ``day26 check``, ``day26 optimize`` and
the grader all read that file and all decide with :func:`judge`, so the same figure gets the same
word everywhere:

- **met**: the figure reaches its target;
- **not met**: it does not;
- **inside the band**: a *timed* figure (speed) lies within the guard band around its target
  (10 % by default). Timings wobble from run to run, so such a figure is neither met nor missed:
  the grader measures it again, up to three times, and an instructor decides if it stays there.

Sizes, accuracy, sparsity and parity are not timings: they get no band.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from helpers.errors import Day26Error

TARGETS_FILE = "helpers/targets.toml"
MET, MISSED, INSIDE_BAND = "met", "not met", "inside the band"


@dataclass(frozen=True)
class Threshold:
    """What one artifact of one track must reach against the baseline (0 = no such target)."""

    max_accuracy_drop: float  # percentage points
    min_size_reduction: float = 0.0  # times smaller
    min_speedup: float = 0.0  # times faster
    min_sparsity: float = 0.0  # fraction of zero weights
    max_parity_difference: float = 0.0  # largest |PyTorch - ONNX Runtime| output difference


@dataclass(frozen=True)
class Lane:
    """How the grader times speed: ``blocks`` interleaved blocks over about ``seconds`` seconds;
    a speed within ``guard_band`` (a fraction) of its target is measured again."""

    guard_band: float
    blocks: int
    seconds: float


def load_targets() -> dict:
    """The whole targets file as a dictionary."""
    return tomllib.loads(resources.files("helpers").joinpath("targets.toml").read_text())


def lane_settings() -> Lane:
    """The benchmark lane's settings, from the ``[lane]`` table of the targets file."""
    lane = load_targets()["lane"]
    return Lane(float(lane["guard_band"]), int(lane["blocks"]), float(lane["seconds"]))


def speed_guard_band() -> float:
    """The fraction around a speed target inside which a figure is measured again."""
    return lane_settings().guard_band


def credit_split() -> dict[str, dict[str, float]]:
    """Points per check of the test cells that earn partial credit (``[credit."<grade id>"]`` in the
    targets file): test cell -> {check name: points}."""
    return {
        cell: {check: float(points) for check, points in split.items()}
        for cell, split in load_targets().get("credit", {}).items()
    }


def threshold_for(track: str, target: str, own_model: bool = False) -> Threshold:
    """The targets of one artifact (its ``target`` name, e.g. ``"optimized"``) on one track.

    With ``own_model`` (a model declared in ``week5_model.toml``) the targets are the lesson plan's
    goal against the learner's own baseline: the ``[own.<target>]`` table, or ``[own.<track>.<target>]``
    where a track differs.
    """
    table = load_targets()
    where = f"[{track}.{target}]"
    try:
        if own_model:
            own = table["own"]
            content, where = own[target], f"[own.{target}]"
            if target in own.get(track, {}):
                content, where = own[track][target], f"[own.{track}.{target}]"
        else:
            content = table[track][target]
        return Threshold(**content)
    except KeyError:
        raise Day26Error(f"{TARGETS_FILE} has no {where} table") from None
    except TypeError as error:
        raise Day26Error(f"{TARGETS_FILE}: {where} has an unknown key ({error})") from None


@dataclass(frozen=True)
class Judgement:
    """One figure against its target, and the verdict of :func:`judge`.

    ``at_least`` says the figure must reach ``target`` (size, speed, sparsity) rather than stay at
    or under it (accuracy lost, parity difference). ``band`` is the guard band (a fraction; 0 for
    figures that are not timings).
    """

    figure: str  # "size", "speed", "accuracy", "sparsity" or "parity"
    measured: float
    target: float
    at_least: bool
    band: float = 0.0

    @property
    def status(self) -> str:
        """:data:`MET`, :data:`MISSED` or :data:`INSIDE_BAND`."""
        if self.at_least:
            if self.measured >= self.target * (1 + self.band):
                return MET
            return MISSED if self.measured <= self.target * (1 - self.band) else INSIDE_BAND
        if self.measured <= self.target * (1 - self.band):
            return MET
        return MISSED if self.measured >= self.target * (1 + self.band) else INSIDE_BAND

    @property
    def passed(self) -> bool | None:
        """True when met, False when not met, None inside the band (measure again)."""
        return {MET: True, MISSED: False, INSIDE_BAND: None}[self.status]

    @property
    def missed(self) -> bool:
        return self.status == MISSED

    def measured_text(self) -> str:
        """The figure in words: "12.30x faster", "-0.20 points", "30.0%"."""
        value = self.measured
        return {
            "size": f"{value:.2f}x smaller",
            "speed": f"{value:.2f}x faster",
            "accuracy": f"{-value:+.2f} points",
            "sparsity": f"{value:.1%}",
        }.get(self.figure, f"{value:.1e}")

    def target_text(self) -> str:
        """The target in words: "at least 8x", "lose at most 1"."""
        target = self.target
        return {
            "size": f"at least {target:g}x",
            "speed": f"at least {target:g}x",
            "accuracy": f"lose at most {target:g}",
            "sparsity": f"at least {target:.0%}",
        }.get(self.figure, f"at most {target:g}")

    def verdict_text(self) -> str:
        """The verdict as the notebooks show it."""
        if self.status == INSIDE_BAND:
            return f"inside the {self.band:.0%} band: the grader measures again"
        return "met" if self.status == MET else "NOT MET"


def judge(
    threshold: Threshold,
    *,
    size_reduction: float | None = None,
    speedup: float | None = None,
    accuracy_drop_points: float | None = None,
    sparsity: float | None = None,
    parity_difference: float | None = None,
    band: float | None = None,
) -> list[Judgement]:
    """Judge the given figures against ``threshold``; figures without a target are left out.

    - ``size_reduction``: baseline bytes on disk / artifact bytes on disk (times smaller);
    - ``speedup``: times faster than the baseline (median of interleaved per-block ratios);
    - ``accuracy_drop_points``: baseline accuracy - artifact accuracy, in percentage points;
    - ``sparsity``: fraction of zero weights in prunable layers;
    - ``parity_difference``: largest |PyTorch - ONNX Runtime| output difference;
    - ``band``: the speed guard band (default: the one in the targets file).
    """
    speed_band = speed_guard_band() if band is None else band
    t = threshold
    candidates = [
        ("size", size_reduction, t.min_size_reduction, True, 0.0),
        ("speed", speedup, t.min_speedup, True, speed_band),
        ("accuracy", accuracy_drop_points, t.max_accuracy_drop, False, 0.0),
        ("sparsity", sparsity, t.min_sparsity, True, 0.0),
        ("parity", parity_difference, t.max_parity_difference, False, 0.0),
    ]
    return [
        Judgement(figure, float(measured), target, at_least, figure_band)
        for figure, measured, target, at_least, figure_band in candidates
        if measured is not None and (target or figure == "accuracy")
    ]


def missed_targets(threshold: Threshold, **figures: float) -> list[Judgement]:
    """The figures (keyword arguments of :func:`judge`) that miss their target; [] when none does.

    A speed inside the guard band is not a miss: the grader measures it again.
    """
    return [judgement for judgement in judge(threshold, **figures) if judgement.missed]


def overall_status(judgements: list[Judgement]) -> str:
    """Not met if any figure is not met; inside the band if any is; met when all are."""
    statuses = {judgement.status for judgement in judgements}
    if MISSED in statuses:
        return MISSED
    return INSIDE_BAND if INSIDE_BAND in statuses else MET
