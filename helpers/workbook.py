"""What the notebooks share: the chosen track, the opening of every notebook, the day's checklist,
and a learner's figures against the targets.

The track chosen in ``00_start`` is saved in ``artifacts/track.json``; every later notebook opens
with :func:`setup_notebook`, which reads it and makes the model and data ready: your own model
when ``week5_model.toml`` declares one (see :mod:`helpers.week5`), else the track's reference
model. (Instructors and tests may set the environment variable ``DAY26_TRACK`` instead; it wins
over the saved choice.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from helpers import contract
from helpers.data import Dataset
from helpers.errors import Day26Error, show_errors_in_one_line
from helpers.reference import ready_model
from helpers.report import VariantResult, records_by_variant
from helpers.targets import Judgement, Threshold, judge, threshold_for
from helpers.tracks import Track, get_track, with_own_model
from helpers.week5 import read_declaration

ARTIFACTS = contract.ARTIFACTS_DIR
FINE_TUNING_SECONDS = 120.0  # per recipe of notebook 05 (see NotebookSetup.fine_tuning_seconds)
RESULTS = contract.RESULTS.path()
TRACK_FILE = contract.TRACK_CHOICE.path()

CHECKLIST = (
    ("Baseline model benchmarks", contract.BASELINE),
    ("Quantized model", contract.QUANTIZED_DYNAMIC),
    ("Pruned model, with sparsity metrics", contract.PRUNED),
    ("ONNX exported model", contract.ONNX_FP32),
    ("Combined optimized model", contract.COMBINED),
    ("Comparison visualization saved", contract.COMPARISON_PLOT),
)


def track_with_its_model(name: str) -> Track:
    """The track called ``name`` with the model the notebooks use: the one declared in
    ``week5_model.toml`` (checked against the model contract), else the reference model."""
    track = get_track(name)
    declaration = read_declaration()
    return track if declaration is None else with_own_model(track, declaration)


def choose_track(name: str) -> Track:
    """Save the track choice for the later notebooks and return the track."""
    show_errors_in_one_line()
    override = os.environ.get("DAY26_TRACK")
    if override:
        name = override
    track = track_with_its_model(name)
    ARTIFACTS.mkdir(exist_ok=True)
    TRACK_FILE.write_text(json.dumps({"track": track.name, "model": track.model_name}))
    return track


def chosen_track() -> Track:
    """The track chosen in 00_start (or given by ``DAY26_TRACK``)."""
    override = os.environ.get("DAY26_TRACK")
    if override:
        return track_with_its_model(override)
    if not TRACK_FILE.is_file():
        raise Day26Error(f"{TRACK_FILE}: no track chosen yet. Run the notebook 00_start first.")
    try:
        name = json.loads(TRACK_FILE.read_text())["track"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise Day26Error(f"{TRACK_FILE}: unreadable. Run the notebook 00_start again.") from None
    return track_with_its_model(name)


@dataclass
class NotebookSetup:
    """What every exercise notebook starts from.

    ``model`` is the trained Week-5 model in eval mode; ``val`` the validation split on which
    accuracy is reported; ``targets`` the targets of the artifact this notebook makes (None when
    it makes none).
    """

    track: Track
    model: nn.Module
    val: Dataset
    targets: Threshold | None

    def train_data(self) -> Dataset:
        """The training split (for calibration and fine-tuning; made on first use)."""
        return self.track.train_data()

    @property
    def shows_demonstrations(self) -> bool:
        """False while nbgrader's autograder runs the notebook (``NBGRADER_EXECUTION=autograde``):
        the live demonstrations of the old lesson plan's traps are then skipped, to keep grading one
        submission within two minutes. Nothing in them is graded."""
        return os.environ.get("NBGRADER_EXECUTION") != "autograde"

    @property
    def measurement_seconds(self) -> float:
        """Seconds of interleaved timing per measured variant: 2.0 while you work, 0.5 while
        nbgrader's autograder runs the notebook. The grader's own speed lane then measures the speed
        that earns points, so the notebook's figure only has to be roughly right, and a submission is
        graded within two minutes."""
        return 2.0 if self.shows_demonstrations else 0.5

    @property
    def fine_tuning_seconds(self) -> float:
        """Seconds of fine-tuning one recipe of notebook 05 may take, so that two recipes leave room for
        pruning, export and measurement within the cell's 600 s limit on 2 cores, whatever the model's
        size (a large model gets fewer epochs: :func:`helpers.train.plan_fine_tuning`)."""
        return FINE_TUNING_SECONDS


def setup_notebook(artifact: contract.Artifact | None = None) -> NotebookSetup:
    """Read the chosen track, make its model and data ready and print what the notebook works on.

    ``artifact`` is the artifact the notebook makes (e.g. ``contract.PRUNED``); its targets are
    printed and returned.
    """
    show_errors_in_one_line()
    track = chosen_track()
    print(f"Track: {track.name} ({track.description})")
    setup = NotebookSetup(track, ready_model(track).model, track.val_data(), None)
    if artifact is not None and artifact.target:
        setup.targets = targets_of(track, artifact)
        print(targets_text(track, artifact))
    return setup


def checklist() -> str:
    """The day's checklist, ticked for every artifact that exists (and is recorded)."""
    recorded = records_by_variant(RESULTS)
    lines = []
    for item, artifact in CHECKLIST:
        done = artifact.path().is_file() and (not artifact.variant or artifact.variant in recorded)
        lines.append(f"[{'x' if done else ' '}] {item:<38} artifacts/{artifact.file}")
    return "\n".join(lines)


def targets_of(track: Track, artifact: contract.Artifact) -> Threshold:
    """The targets of ``artifact`` for the track's model: the track's own, or the lesson plan's goal
    against your own baseline when the model is yours (``[own...]`` in helpers/targets.toml)."""
    return threshold_for(track.name, artifact.target, own_model=track.own_model is not None)


def targets_text(track: Track, artifact: contract.Artifact) -> str:
    """The targets of one artifact of the track, in words."""
    t = targets_of(track, artifact)
    parts = []
    if t.min_size_reduction:
        parts.append(f"at least {t.min_size_reduction:g}x smaller")
    if t.min_speedup:
        parts.append(f"at least {t.min_speedup:g}x faster")
    if t.min_sparsity:
        parts.append(f"at least {t.min_sparsity:.0%} of the weights zero")
    parts.append(f"at most {t.max_accuracy_drop:g} accuracy points lost")
    return f"{track.name} targets for {artifact.file}: " + ", ".join(parts)


def recorded(variant: str, results: str | Path = RESULTS) -> VariantResult:
    """The figures recorded for ``variant`` (e.g. ``contract.BASELINE.variant``) in ``results``.

    Raises a one-line :class:`Day26Error` naming the notebook to run when there is no such record.
    """
    records = records_by_variant(results)
    if variant not in records:
        raise Day26Error(f"{results}: no '{variant}' record yet. Run the notebook {_maker(variant)} first.")
    return records[variant]


def recipes_to_grade(
    recipes: dict[str, tuple[float, int]], results: str | Path = RESULTS
) -> dict[str, tuple[float, int]]:
    """The recipes of notebook 05 that nbgrader's autograder runs: the one you chose when you ran the
    notebook yourself (its name is recorded with the combined model in ``results``), so that your
    choice is what is graded and grading fine-tunes once; every one of ``recipes`` when no choice is
    recorded, or when the recorded name is no longer one of them."""
    record = records_by_variant(results).get(contract.COMBINED.variant)
    chosen = record.extra.get("recipe") if record is not None else None
    if isinstance(chosen, str) and chosen in recipes:
        return {chosen: recipes[chosen]}
    return dict(recipes)


def judge_recorded(
    track: Track, artifact: contract.Artifact, results: str | Path = RESULTS, own_model: bool | None = None
) -> list[Judgement]:
    """Your recorded figures of ``artifact`` against its targets (see :func:`helpers.targets.judge`).

    Sizes and speed are against the recorded baseline; accuracy change in points against it. The
    targets are your own model's (``[own...]``) when ``own_model`` says so, or, left as None, when
    ``track`` carries your declared model.
    """
    own = track.own_model is not None if own_model is None else own_model
    base, mine = recorded(contract.BASELINE.variant, results), recorded(artifact.variant, results)
    return judge(
        threshold_for(track.name, artifact.target, own_model=own),
        size_reduction=base.size_bytes / mine.size_bytes,
        speedup=mine.speedup_vs_baseline,
        accuracy_drop_points=100.0 * (base.accuracy - mine.accuracy),
        sparsity=mine.sparsity,
    )


LANE_TARGET = "optimized_in_lane"  # the grader's speed target of an own model: optimized.onnx against model.onnx


def judge_lane_estimate(track_name: str, results: str | Path = RESULTS) -> Judgement | None:
    """Your own model's combined speed against your ``model.onnx``, as the grader's benchmark lane
    judges it (``[own.optimized_in_lane]``): estimated from your two recorded speed-ups over the
    PyTorch baseline (combined / onnx). None until both are recorded."""
    records = records_by_variant(results)
    onnx, combined = records.get(contract.ONNX_FP32.variant), records.get(contract.COMBINED.variant)
    if onnx is None or combined is None or not onnx.speedup_vs_baseline:
        return None
    [speed] = judge(
        threshold_for(track_name, LANE_TARGET, own_model=True),
        speedup=combined.speedup_vs_baseline / onnx.speedup_vs_baseline,
    )
    return speed


def recorded_own_model(folder: str | Path = ARTIFACTS) -> str | None:
    """The class name of your own model when ``track.json`` in ``folder`` says the day ran on it;
    None for the track's reference model (or when the choice is not saved)."""
    try:
        choice = json.loads(contract.TRACK_CHOICE.path(folder).read_text())
    except (OSError, ValueError):
        return None
    model = str(choice.get("model", "")) if isinstance(choice, dict) else ""
    return model if model and not model.startswith("reference ") else None


def _maker(variant: str) -> str:
    return contract.artifact_of_variant(variant).notebook or "day26 optimize"


def figures_against_targets(track: Track, artifact: contract.Artifact) -> str:
    """Your recorded figures for ``artifact`` next to the track's targets, with the verdicts of
    :func:`helpers.targets.judge` (the grader's rule)."""
    try:
        judgements = judge_recorded(track, artifact)
    except Day26Error as error:
        return str(error)
    lines = [f"{artifact.variant} against the {track.name} targets for {artifact.file}:"]
    for judgement in judgements:
        lines.append(
            f"  {judgement.figure:<10} {judgement.measured_text():<16} {judgement.target_text():<16} "
            f"{judgement.verdict_text()}"
        )
    if track.own_model is not None and artifact is contract.COMBINED:
        lane = judge_lane_estimate(track.name)
        if lane is not None:
            lines.append(
                f"  {'lane':<10} {lane.measured_text():<16} {lane.target_text():<16} {lane.verdict_text()}"
                "  (the grader's speed check: optimized.onnx against your model.onnx, estimated here)"
            )
    return "\n".join(lines)
