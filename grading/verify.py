"""The artifact verifier: the grader's own measurement of a learner's artifacts.

It never trusts results.json or anything a notebook printed. It loads each artifact safely
(``weights_only=True``, file checks first), measures size on disk, sparsity, weight dtypes,
ONNX parity and accuracy on the hidden split, paired against the reference model on the
same samples, and speed in the benchmark lane: fixed threads, interleaved blocks, a guard
band around the target, and up to three attempts, with every raw figure kept.

Every autograded test cell of the notebooks has a check here, in notebook order: the track
choice (00), baseline.pth (01), quantized_dynamic.pth and, on the images track,
quantized_static.onnx (02), pruned.pth (03), model.onnx (04), optimized.onnx with its
structured pruning, and comparison.png (05).

Run it in a fresh process (``day26 verify``): it imports grader code only. It runs in two parts
that can run apart: ``measure`` (every check but speed) and ``speed`` (the benchmark lane, which
must have the machine's lane to itself); ``merge_parts`` joins their verdicts.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from grading.hidden import hidden_split
from grading.own_baseline import compare_baseline_with_onnx, compare_pruned_with_baseline, multiplied_weight_count
from grading.safety import UnsafeFile, checked_artifact, checked_onnx, checked_submission_file
from helpers import contract
from helpers.accuracy_change import judge_drop, paired_change
from helpers.artifacts import load_int8_into, load_into, load_state_dict_file
from helpers.bench import Comparison, compare_latency
from helpers.data import Dataset
from helpers.errors import Day26Error
from helpers.measure import correct_per_sample, count_onnx_parameters, count_parameters, size_on_disk, sparsity
from helpers.parity import check_parity
from helpers.reference import ready_model
from helpers.runtime import open_session
from helpers.targets import (
    INSIDE_BAND,
    MET,
    MISSED,
    Judgement,
    Threshold,
    judge,
    lane_settings,
    overall_status,
    threshold_for,
)
from helpers.tracks import Track, get_track
from helpers.week5 import DECLARATION_FILE

LANE_ATTEMPTS = 3
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_STRUCTURED_FRACTION = 0.9  # optimized.onnx keeps fewer than this fraction of the reference's weights
CHOOSE_TRACK = "run the cell that calls choose_track(TRACK) in notebook 00_start"
LOST_ACCURACY = "too much accuracy lost: prune less, fine-tune longer or calibrate on more data"


@dataclass
class Check:
    """One verified property of one artifact."""

    artifact: str
    name: str
    measured: str
    target: str
    passed: bool | None  # None: needs review (speed stayed inside the guard band)
    reason: str = ""
    value: float | None = None  # the measured figure as a number (x smaller, x faster, fraction, ...)
    required: bool = True  # False: the track sets no such target (0 in helpers/targets.toml), so it passes by itself

    @property
    def status(self) -> str:
        return {True: "pass", False: "FAIL", None: "review"}[self.passed]

    @classmethod
    def from_dict(cls, content: dict) -> Check:
        """A check as stored by :meth:`Verdict.as_dict` (its ``status`` is derived, so left out)."""
        return cls(**{key: value for key, value in content.items() if key != "status"})


@dataclass
class Verdict:
    """Everything the verifier found in one submission."""

    submission: str
    track: str
    checks: list[Check] = field(default_factory=list)
    lane: dict = field(default_factory=dict)  # raw speed samples per artifact
    # The combined model's and the reference's figures, for the leaderboard: size_bytes (on disk),
    # accuracy (fraction of the hidden split), latency_ms (median, batch 1, in the lane) and
    # speedup (the speed check's figure: x faster than the reference).
    figures: dict = field(default_factory=dict)
    # artifact -> what only the notebook's own test checks, because measuring it would mean running
    # the learner's code (an own model's PyTorch files); scoring then takes the lower of the two.
    notebook_decides: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed is True for check in self.checks)

    def as_dict(self) -> dict:
        return {
            "submission": self.submission,
            "track": self.track,
            "passed": self.passed,
            "checks": [asdict(check) | {"status": check.status} for check in self.checks],
            "lane": self.lane,
            "figures": self.figures,
            "notebook_decides": self.notebook_decides,
        }

    @classmethod
    def from_dict(cls, content: dict) -> Verdict:
        """A verdict as written by :meth:`as_dict` (``day26 verify --json``, the grade records)."""
        checks = [Check.from_dict(check) for check in content.get("checks", [])]
        return cls(
            content["submission"],
            content["track"],
            checks,
            content.get("lane", {}),
            content.get("figures", {}),
            content.get("notebook_decides", {}),
        )

    def table(self) -> str:
        lines = [f"{self.submission} ({self.track} track)"]
        for check in self.checks:
            lines.append(
                f"  {check.status:<6} {check.artifact:<22} {check.name:<14} {check.measured:<18} {check.target:<20} "
                f"{check.reason}"
            )
        verdict = "all checks passed" if self.passed else "some checks did not pass"
        return "\n".join([*lines, f"  => {verdict}"])


def _declared_model_name(submission: Path) -> str | None:
    """The class named in the submission's week5_model.toml (read as TOML data, the code is never
    imported), or None when the learner used the reference model."""
    declaration = _declaration(submission)
    if declaration is None:
        return None
    name = declaration.get("class")
    return name if isinstance(name, str) and name else "unreadable declaration"


def _declaration(submission: Path) -> dict | None:
    """The submission's week5_model.toml as data ({} when unreadable), or None when there is none."""
    try:
        declaration = checked_submission_file(submission, DECLARATION_FILE)
    except UnsafeFile:
        return None
    try:
        return tomllib.loads(declaration.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return {}


def declared_weights_file(submission: Path) -> Path | None:
    """The weights file the submission's week5_model.toml names (a plain file inside the submission),
    or None when there is no declaration or it names no such file."""
    return _declared_file(submission, "weights")


def declared_code_file(submission: Path) -> Path | None:
    """The model code file the submission's week5_model.toml names (read as data, never imported),
    or None when there is no declaration or it names no such file."""
    return _declared_file(submission, "code")


def uses_own_model(submission: Path) -> bool:
    """Does the submission declare its own Week-5 model (a week5_model.toml beside the notebooks)?"""
    return _declaration(submission) is not None


def _declared_file(submission: Path, key: str) -> Path | None:
    declared = (_declaration(submission) or {}).get(key)
    if not isinstance(declared, str):
        return None
    try:
        return checked_submission_file(submission, declared)
    except UnsafeFile:
        return None


def _own_session(ctx: _Context, verdict: Verdict, artifact: contract.Artifact, report: bool):
    """An ORT session on one ONNX artifact of an own model and its path, or None (the refusal is
    recorded when ``report``)."""
    try:
        path = checked_onnx(ctx.submission, artifact.file)
        return open_session(path, ctx.threads), path
    except (UnsafeFile, Day26Error) as error:
        why = error
    except Exception as error:  # onnxruntime rejects a malformed graph in many ways
        why = Day26Error(f"{artifact.file} does not load in ONNX Runtime ({type(error).__name__})")
    if report:
        verdict.checks.append(_refused(artifact.file, why))
    return None


def _own_state(ctx: _Context, verdict: Verdict, artifact: contract.Artifact, report: bool) -> dict | None:
    """One state_dict artifact of an own model, loaded as data only (``weights_only``), or None."""
    try:
        return load_state_dict_file(checked_artifact(ctx.submission, artifact.file))
    except (UnsafeFile, Day26Error) as error:
        if report:
            verdict.checks.append(_refused(artifact.file, error))
        return None


def _int8_elements(value: object) -> int:
    """Elements of INT8 tensors anywhere in a loaded state_dict (packed Linear parameters are tuples)."""
    if isinstance(value, torch.Tensor):
        return value.numel() if value.is_quantized or value.dtype in (torch.int8, torch.uint8) else 0
    if isinstance(value, dict):
        return sum(_int8_elements(item) for item in value.values())
    if isinstance(value, list | tuple):
        return sum(_int8_elements(item) for item in value)
    return 0


def _same_weights(first: dict, second: dict) -> bool:
    """Two state_dicts hold the same tensors under the same names."""
    if first.keys() != second.keys():
        return False
    return all(
        isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
        for a, b in ((first[key], second[key]) for key in first)
    )


def _own_threshold(ctx: _Context, artifact: contract.Artifact | str) -> Threshold:
    target = artifact if isinstance(artifact, str) else artifact.target
    return threshold_for(ctx.track.name, target, own_model=True)


def _verify_own_model(ctx: _Context, verdict: Verdict, model_name: str, part: str) -> None:
    """An own model, measured without running its code, against the learner's own baseline.

    The PyTorch files are checked as data: baseline.pth must be the weights week5_model.toml declares,
    pruned.pth the baseline with zeros, quantized_dynamic.pth hold INT8 weights. model.onnx is the
    own baseline for everything ONNX Runtime measures (accuracy on the hidden split, the lane's
    speed) once :func:`grading.own_baseline.compare_baseline_with_onnx` has found in it exactly
    baseline.pth's weights and no padding; when it has not, every figure measured against it is
    left to an instructor (``review``), with the reason. The accuracy of the PyTorch files cannot be
    measured without the learner's code: the notebooks' tests stand for it.
    """
    measure = part != "speed"
    baseline = _own_state(ctx, verdict, contract.BASELINE, report=measure)
    ctx.baseline_bytes = None  # the own baseline's bytes stand in for the reference's
    if baseline is not None:
        ctx.baseline_bytes = size_on_disk(checked_artifact(ctx.submission, contract.BASELINE.file))
        if measure:
            verdict.checks.append(_declared_weights_check(ctx, baseline, model_name))
    graph = _own_baseline_graph(ctx)
    finding = compare_baseline_with_onnx(baseline, graph) if baseline is not None and graph is not None else None
    if measure:
        _verify_own_pytorch_files(ctx, verdict, baseline, finding.multiplied if finding else set())
    opened = _own_session(ctx, verdict, contract.ONNX_FP32, report=measure)
    if opened is None or graph is None:
        return
    onnx_baseline, _ = opened
    unreadable = ["baseline.pth cannot be read, so model.onnx cannot be checked against it"]
    untrusted = "; ".join(finding.problems if finding else unreadable)
    ctx.reference, ctx.reference_accuracy = onnx_baseline, None  # the own baseline stands in for the reference
    if measure:
        ctx.reference_correct = correct_per_sample(onnx_baseline, ctx.hidden)
        ctx.reference_accuracy = float(ctx.reference_correct.mean())
        measured = f"{ctx.reference_accuracy:.2%} on hidden"
        reason = f"{untrusted}: an instructor decides" if untrusted else f"holds baseline.pth ({model_name})"
        passed = None if untrusted else True
        verdict.checks.append(Check(contract.ONNX_FP32.file, "own baseline", measured, "baseline.pth", passed, reason))
    convolutions = any(node.op_type == "Conv" for node in graph.graph.node)  # the notebooks' has_convolutions
    if measure and not convolutions:
        why = "no convolution in model.onnx: static INT8 is for conv nets (notebook 02 skips it)"
        verdict.checks.append(Check(contract.QUANTIZED_STATIC.file, "model", "not used", "conv nets only", True, why))
    for artifact in (contract.QUANTIZED_STATIC, contract.COMBINED):
        if artifact == contract.QUANTIZED_STATIC and not convolutions:
            continue
        opened = _own_session(ctx, verdict, artifact, report=measure)
        if opened is not None:
            _verify_own_onnx(ctx, verdict, artifact, opened, untrusted, part, multiplied_weight_count(graph))
    verdict.figures.setdefault("reference", {})["model"] = model_name  # the leaderboard names it


def _declared_weights_check(ctx: _Context, baseline: dict, model_name: str) -> Check:
    """baseline.pth must hold the very weights week5_model.toml declares (compared as data)."""
    name = contract.BASELINE.file
    declared = (_declaration(ctx.submission) or {}).get("weights")
    try:
        weights = load_state_dict_file(checked_submission_file(ctx.submission, str(declared)))
    except (UnsafeFile, Day26Error, TypeError) as error:
        return Check(name, "declared weights", "unreadable", DECLARATION_FILE, False, f"{declared}: {error}")
    ok = _same_weights(baseline, weights)
    reason = "" if ok else f"baseline.pth is not {declared} ({model_name}'s weights): save the declared model unchanged"
    return Check(name, "declared weights", "the same" if ok else "different", str(declared), ok, reason)


def _own_baseline_graph(ctx: _Context) -> onnx.ModelProto | None:
    """The submission's model.onnx as a graph (data only), or None when it is missing or unsafe (the
    reason is recorded where its session is opened)."""
    try:
        return onnx.load(str(checked_onnx(ctx.submission, contract.ONNX_FP32.file)))
    except Exception:  # unsafe or unreadable: said where model.onnx itself is checked
        return None


def _verify_own_pytorch_files(ctx: _Context, verdict: Verdict, baseline: dict | None, multiplied: set[str]) -> None:
    """quantized_dynamic.pth and pruned.pth of an own model, from their tensors alone. Their accuracy
    needs the learner's class: the notebooks' tests decide it (``Verdict.notebook_decides``)."""
    for artifact in (contract.QUANTIZED_DYNAMIC, contract.PRUNED):
        verdict.notebook_decides[artifact.file] = f"{artifact.file}'s accuracy (it needs your model's code to measure)"
    quantized = _own_state(ctx, verdict, contract.QUANTIZED_DYNAMIC, report=True)
    if quantized is not None:
        ok = _int8_elements(quantized) > 0
        reason = "" if ok else "the weights are FP32: quantize before saving"
        verdict.checks.append(
            Check(contract.QUANTIZED_DYNAMIC.file, "INT8 weights", "yes" if ok else "none", "INT8 layers", ok, reason)
        )
        path = checked_artifact(ctx.submission, contract.QUANTIZED_DYNAMIC.file)
        if baseline is not None:
            t = _own_threshold(ctx, contract.QUANTIZED_DYNAMIC)
            verdict.checks.append(_size_check(ctx, contract.QUANTIZED_DYNAMIC.file, path, t))
    pruned = _own_state(ctx, verdict, contract.PRUNED, report=True)
    if pruned is None or baseline is None:
        return
    finding = compare_pruned_with_baseline(baseline, pruned, multiplied)
    t = _own_threshold(ctx, contract.PRUNED)
    ok = _met(judge(t, sparsity=finding.sparsity)) and not finding.problems
    reason = "; ".join(finding.problems) or ("" if ok else "prune a larger fraction of the weights")
    target = f">= {t.min_sparsity:.0%}"
    verdict.checks.append(
        Check(contract.PRUNED.file, "sparsity", f"{finding.sparsity:.1%}", target, ok, reason, finding.sparsity)
    )


def _own_structure_check(artifact: str, path: Path, baseline_weights: int) -> Check:
    """Structured pruning removes weights: of an own model, the weights that reach a product
    (``multiplied_weight_count``: an embedding table, which no notebook prunes, is not counted),
    in this file against model.onnx's ``baseline_weights``."""
    stored = multiplied_weight_count(onnx.load(str(path)))
    limit = MAX_STRUCTURED_FRACTION * baseline_weights
    ok = stored < limit
    reason = "" if ok else "structured pruning must remove weights: prune channels (or recurrent units) before export"
    return Check(artifact, "structure", f"{stored:,} weights in products", f"< {limit:,.0f}", ok, reason)


def _verify_own_onnx(
    ctx: _Context,
    verdict: Verdict,
    artifact: contract.Artifact,
    opened: tuple,
    untrusted: str,
    part: str,
    baseline_weights: int,
) -> None:
    """quantized_static.onnx or optimized.onnx of an own model against model.onnx, the own baseline."""
    session, path = opened
    name = artifact.file
    t = _own_threshold(ctx, artifact)
    new_checks = []
    if part != "speed":
        if artifact == contract.COMBINED:
            new_checks.append(_own_structure_check(name, path, baseline_weights))
        if t.min_size_reduction and ctx.baseline_bytes:  # without a readable baseline.pth, no size to compare
            new_checks.append(_size_check(ctx, name, path, t))
        new_checks.append(_accuracy_check(ctx, name, session, t))
    if artifact == contract.COMBINED and part in ("all", "speed"):
        new_checks.append(_speed_check(ctx, name, session, _own_threshold(ctx, "optimized_in_lane"), verdict))
    for check in new_checks:
        if untrusted and check.name in ("accuracy", "speed"):
            check.passed, check.reason = None, f"measured against model.onnx, but {untrusted}: an instructor decides"
    verdict.checks += new_checks
    if artifact == contract.COMBINED and part != "speed":
        verdict.figures.setdefault(name, {}).update(size_bytes=size_on_disk(path), accuracy=ctx.accuracies[name])
        verdict.figures.setdefault("reference", {}).update(
            size_bytes=ctx.baseline_bytes, accuracy=ctx.reference_accuracy
        )


def _track_check(submission: Path, track_name: str | None) -> tuple[Track | None, Check]:
    """The track to grade against (given, else read from artifacts/track.json) and the check on it.

    The track is ``None`` when neither names a track the grader knows.
    """
    if track_name:
        track = get_track(track_name)
        return track, Check(contract.TRACK_CHOICE.file, "track", f"{track.name} (given)", "a known track", True)
    try:
        choice = checked_artifact(submission, contract.TRACK_CHOICE.file)
        track = get_track(json.loads(choice.read_text())["track"])
    except UnsafeFile as error:
        reason = f"{error}: {CHOOSE_TRACK}"
        return None, Check(contract.TRACK_CHOICE.file, "track", "none", "a known track", False, reason)
    except (OSError, ValueError, KeyError, TypeError, Day26Error):
        reason = f"track.json does not name images, text or tabular: {CHOOSE_TRACK}"
        return None, Check(contract.TRACK_CHOICE.file, "track", "unreadable", "a known track", False, reason)
    return track, Check(contract.TRACK_CHOICE.file, "track", track.name, "a known track", True)


class _Context:
    """What every check needs: the track, the reference model and its figures on the hidden split."""

    def __init__(self, submission: Path, track: Track, threads: int) -> None:
        self.submission, self.track, self.threads = submission, track, threads
        self.hidden: Dataset = hidden_split(track)
        self.accuracies: dict[str, float] = {}  # artifact -> accuracy measured by _accuracy_check

    @cached_property
    def reference(self) -> nn.Module:
        """The track's trained reference model (loaded on first use: an own model never needs it)."""
        return ready_model(self.track).model

    @cached_property
    def reference_correct(self) -> np.ndarray:
        """Which hidden samples the reference model classifies correctly: accuracy checks are paired."""
        return correct_per_sample(self.reference, self.hidden)

    @cached_property
    def reference_accuracy(self) -> float:
        """The reference model's accuracy on the hidden split (a fraction)."""
        return float(self.reference_correct.mean())

    @cached_property
    def baseline_bytes(self) -> int:
        """Bytes on disk of the reference model's state_dict, as baseline.pth is saved."""
        with tempfile.TemporaryDirectory() as folder:
            baseline_file = contract.BASELINE.path(folder)
            torch.save(self.reference.state_dict(), baseline_file)
            return size_on_disk(baseline_file)


def _met(judgements: list[Judgement]) -> bool | None:
    """The one rule of :func:`helpers.targets.overall_status` as a check's outcome: True met, False
    missed, None inside the guard band (measure again). No judgement at all (no such target) is met."""
    return {MET: True, MISSED: False, INSIDE_BAND: None}[overall_status(judgements)]


def _accuracy_check(ctx: _Context, artifact: str, model: object, t: Threshold, advice: str = LOST_ACCURACY) -> Check:
    """Accuracy lost against the reference (or an own baseline) on the same hidden samples, judged so
    that noise cannot decide it (:func:`helpers.accuracy_change.judge_drop`): over the budget only when
    the whole interval is over it; too close to tell goes to review."""
    correct = correct_per_sample(model, ctx.hidden)
    value = ctx.accuracies[artifact] = float(correct.mean())
    change = paired_change(ctx.reference_correct, correct)
    verdict = judge_drop(change, t.max_accuracy_drop)
    certainty = {True: "sure" if "sure" in verdict.text else "likely", False: "sure", None: "too close to tell"}
    gained = -change.drop_points or 0.0  # points, positive when the artifact is better (never "-0.00")
    measured = f"{value:.2%} ({gained:+.2f} pts on {change.samples} samples, {certainty[verdict.passed]})"
    reason = {True: "", False: f"{advice} ({verdict.text})", None: f"{verdict.text}: an instructor decides"}
    return Check(
        artifact, "accuracy", measured, f"lose <= {t.max_accuracy_drop:g} pts", verdict.passed, reason[verdict.passed],
        value,
    )  # fmt: skip


def _size_check(ctx: _Context, artifact: str, path: Path, t: Threshold) -> Check:
    ratio = ctx.baseline_bytes / size_on_disk(path)
    ok = _met(judge(t, size_reduction=ratio))
    reason = "" if ok else "not small enough: quantize the weights or remove channels"
    target = f">= {t.min_size_reduction:g}x"
    return Check(artifact, "size", f"{ratio:.2f}x smaller", target, ok, reason, ratio, t.min_size_reduction > 0)


def lane_comparison(
    reference: nn.Module, candidate: object, one_input: torch.Tensor, labels: tuple[str, str], threads: int
) -> Comparison:
    """One speed measurement of the benchmark lane: the interleaved-blocks comparison with the
    lane's blocks and seconds (``[lane]`` in the thresholds file)."""
    lane = lane_settings()
    return compare_latency(reference, candidate, one_input, labels, threads, blocks=lane.blocks, seconds=lane.seconds)


def _speed_check(ctx: _Context, artifact: str, session: object, t: Threshold, verdict: Verdict) -> Check:
    one_input = ctx.hidden.model_inputs(0, 1)
    lane = lane_settings()
    band = lane.guard_band  # within this fraction of the target: measure again, do not judge
    attempts = []
    for _ in range(LANE_ATTEMPTS):
        comparison = lane_comparison(ctx.reference, session, one_input, ("reference", artifact), ctx.threads)
        attempts.append(
            {
                "speedup": comparison.speedup,
                "block_speedups": comparison.block_speedups,
                "reference_ms": comparison.baseline.samples_ms,
                "artifact_ms": comparison.candidate.samples_ms,
            }
        )
        passed = _met(judge(t, speedup=comparison.speedup, band=band))
        if passed is not None:  # met or missed; inside the band: measure again
            break
    verdict.lane[artifact] = {"threads": ctx.threads, "guard_band": band, "attempts": attempts}
    speedup = statistics.median(attempt["speedup"] for attempt in attempts)
    verdict.figures.setdefault(artifact, {}).update(
        latency_ms=statistics.median(attempts[-1]["artifact_ms"]), speedup=speedup
    )
    verdict.figures.setdefault("reference", {})["latency_ms"] = statistics.median(attempts[-1]["reference_ms"])
    reason = {
        True: "",
        False: "not fast enough: remove channels, or use INT8 that runs fast on this CPU",
        None: f"within {band:.0%} of the target after {LANE_ATTEMPTS} attempts: an instructor decides",
    }
    measured, target = f"{speedup:.2f}x faster", f">= {t.min_speedup:g}x"
    return Check(artifact, "speed", measured, target, passed, reason[passed], speedup, t.min_speedup > 0)


def _refused(artifact: str, error: Exception) -> Check:
    return Check(artifact, "file", "refused", "safe, loadable", False, str(error))


def _loaded(ctx: _Context, verdict: Verdict, name: str, load: Callable) -> tuple[Path, nn.Module] | None:
    """Check and load one state_dict artifact with ``load``; when it cannot be, record why and return None."""
    try:
        path = checked_artifact(ctx.submission, name)
        return path, load(ctx.track.build_model, path)
    except (UnsafeFile, Day26Error) as error:
        verdict.checks.append(_refused(name, error))
        return None


def _verify_baseline(ctx: _Context, verdict: Verdict) -> None:
    name, t = contract.BASELINE.file, threshold_for(ctx.track.name, contract.BASELINE.target)
    loaded = _loaded(ctx, verdict, name, load_into)
    if loaded is None:
        return
    _, model = loaded
    advice = "this is not the trained reference model: save ready_model(track).model.state_dict() unchanged"
    verdict.checks.append(_accuracy_check(ctx, name, model, t, advice))


def _verify_quantized(ctx: _Context, verdict: Verdict) -> None:
    name, t = contract.QUANTIZED_DYNAMIC.file, threshold_for(ctx.track.name, contract.QUANTIZED_DYNAMIC.target)
    loaded = _loaded(ctx, verdict, name, load_int8_into)
    if loaded is None:
        return
    path, model = loaded
    int8 = sum(v.numel() for v in model.state_dict().values() if isinstance(v, torch.Tensor) and v.is_quantized)
    int8 += sum(1 for m in model.modules() if "quantized" in type(m).__module__)
    ok = int8 > 0
    verdict.checks.append(
        Check(
            name,
            "INT8 weights",
            "yes" if ok else "none",
            "INT8 layers",
            ok,
            "" if ok else "the weights are FP32: quantize before saving",
        )
    )
    verdict.checks.append(_size_check(ctx, name, path, t))
    verdict.checks.append(_accuracy_check(ctx, name, model, t))


def _verify_static(ctx: _Context, verdict: Verdict) -> None:
    """Static (calibrated) ONNX Runtime INT8: part of the images track only."""
    if ctx.track.name == "images":
        _verify_onnx(ctx, verdict, contract.QUANTIZED_STATIC)
        return
    verdict.checks.append(
        Check(
            contract.QUANTIZED_STATIC.file,
            "track",
            "not used",
            "images track only",
            True,
            "static quantization is part of the images track only",
        )
    )


def _verify_pruned(ctx: _Context, verdict: Verdict) -> None:
    name, t = contract.PRUNED.file, threshold_for(ctx.track.name, contract.PRUNED.target)
    loaded = _loaded(ctx, verdict, name, load_into)
    if loaded is None:
        return
    _, model = loaded
    measured = sparsity(model).overall
    ok = _met(judge(t, sparsity=measured))
    reason = "" if ok else "prune a larger fraction of the weights"
    verdict.checks.append(Check(name, "sparsity", f"{measured:.1%}", f">= {t.min_sparsity:.0%}", ok, reason, measured))
    verdict.checks.append(_accuracy_check(ctx, name, model, t))


def _learner_fp32_model(ctx: _Context):
    """The learner's own FP32 model (baseline.pth) for the parity check, else the reference."""
    try:
        return load_into(ctx.track.build_model, checked_artifact(ctx.submission, contract.BASELINE.file))
    except (UnsafeFile, Day26Error):
        return ctx.reference


def _structure_check(ctx: _Context, artifact: str, path: Path, baseline_weights: int | None = None) -> Check:
    """Structured pruning removes weights: count what the ONNX file stores against the reference
    (or ``baseline_weights``, an own model's count in its model.onnx)."""
    stored = count_onnx_parameters(path)
    reference = count_parameters(ctx.reference) if baseline_weights is None else baseline_weights
    limit = MAX_STRUCTURED_FRACTION * reference
    ok = stored < limit
    reason = "" if ok else "structured pruning must remove weights: prune channels (or LSTM units) before export"
    return Check(artifact, "structure", f"{stored:,} weights", f"< {limit:,.0f}", ok, reason)


def _verify_onnx(ctx: _Context, verdict: Verdict, artifact: contract.Artifact, part: str = "all") -> None:
    """Check one ONNX artifact. ``part`` "speed" runs only its speed check (a file that cannot be
    loaded is then skipped in silence: the "measure" part reports it)."""
    name, t = artifact.file, threshold_for(ctx.track.name, artifact.target)
    try:
        path = checked_onnx(ctx.submission, name)
        session = open_session(path, ctx.threads)
    except (UnsafeFile, Day26Error) as error:
        if part != "speed":
            verdict.checks.append(_refused(name, error))
        return
    except Exception as error:  # onnxruntime rejects a malformed graph in many ways
        if part != "speed":
            why = Day26Error(f"{name} does not load in ONNX Runtime ({type(error).__name__})")
            verdict.checks.append(_refused(name, why))
        return
    if part == "speed":
        if t.min_speedup:
            verdict.checks.append(_speed_check(ctx, name, session, t, verdict))
        return
    if t.max_parity_difference:
        difference = check_parity(_learner_fp32_model(ctx), path, ctx.hidden.model_inputs(0, 16)).max_abs_difference
        ok = _met(judge(t, parity_difference=difference))
        reason = "" if ok else "the ONNX model does not compute what your model does"
        verdict.checks.append(
            Check(name, "parity", f"{difference:.1e}", f"<= {t.max_parity_difference:g}", ok, reason, difference)
        )
    if artifact == contract.COMBINED:
        verdict.checks.append(_structure_check(ctx, name, path))
    if t.min_size_reduction:
        verdict.checks.append(_size_check(ctx, name, path, t))
    verdict.checks.append(_accuracy_check(ctx, name, session, t))
    if artifact == contract.COMBINED:
        verdict.figures.setdefault(name, {}).update(size_bytes=size_on_disk(path), accuracy=ctx.accuracies[name])
        verdict.figures.setdefault("reference", {}).update(
            size_bytes=ctx.baseline_bytes, accuracy=ctx.reference_accuracy
        )
    if t.min_speedup and part == "all":
        verdict.checks.append(_speed_check(ctx, name, session, t, verdict))


def _verify_plot(ctx: _Context, verdict: Verdict) -> None:
    """comparison.png must be a real PNG image: the signature, then the IHDR chunk with its size."""
    name = contract.COMPARISON_PLOT.file
    try:
        with checked_artifact(ctx.submission, name).open("rb") as file:
            head = file.read(24)
    except (UnsafeFile, OSError) as error:
        verdict.checks.append(_refused(name, error))
        return
    ok = head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    if ok:
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        measured = f"PNG {width}x{height}"
    else:
        measured = "not a PNG"
    reason = "" if ok else "save the comparison plot with save_comparison_plot"
    verdict.checks.append(Check(name, "image", measured, "a PNG image", ok, reason))


def verify_submission(
    submission: str | Path, track_name: str | None = None, threads: int = 1, part: str = "all"
) -> Verdict:
    """Verify the artifacts of one learner folder (the folder that holds ``artifacts/``).

    ``part`` is "all", "measure" (every check but speed) or "speed" (the speed checks alone).
    """
    submission = Path(submission)
    if not (submission / "artifacts").is_dir():
        raise Day26Error(f"{submission}: no artifacts/ folder. Give the learner's folder that holds artifacts/.")
    for variable in ("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_WEIGHTS_ONLY_LOAD"):
        os.environ.pop(variable, None)  # the verifier always loads with weights_only=True itself
    track, track_check = _track_check(submission, track_name)
    if track is None:
        return Verdict(str(submission), "unknown", [track_check])
    ctx = _Context(submission, track, threads)
    verdict = Verdict(str(submission), track.name, [track_check])
    own_model = _declared_model_name(submission)
    if own_model is not None:
        _verify_own_model(ctx, verdict, own_model, part)
        if part != "speed":
            _verify_plot(ctx, verdict)
        _show_paths_from_the_submission(verdict, submission)
        return verdict
    if part == "speed":
        _verify_onnx(ctx, verdict, contract.COMBINED, part)
        _show_paths_from_the_submission(verdict, submission)
        return verdict
    _verify_baseline(ctx, verdict)  # the checks in notebook order, 00 to 05
    _verify_quantized(ctx, verdict)
    _verify_static(ctx, verdict)
    _verify_pruned(ctx, verdict)
    _verify_onnx(ctx, verdict, contract.ONNX_FP32)
    _verify_onnx(ctx, verdict, contract.COMBINED, part)
    _verify_plot(ctx, verdict)
    _show_paths_from_the_submission(verdict, submission)
    return verdict


def _show_paths_from_the_submission(verdict: Verdict, submission: Path) -> None:
    """Reasons name files as the learner knows them (artifacts/x), not by the grader's folders."""
    for prefix in {f"{submission.resolve()}/", f"{submission}/"}:
        for check in verdict.checks:
            check.reason = check.reason.replace(prefix, "")


def merge_parts(measured: Verdict, timed: Verdict) -> Verdict:
    """One verdict from the "measure" and "speed" parts: each speed check goes right after the
    accuracy check of its artifact, as a whole run of the verifier would place it."""
    checks = list(measured.checks)
    for speed in (check for check in timed.checks if check.name == "speed"):
        places = [i for i, check in enumerate(checks) if check.artifact == speed.artifact]
        checks.insert(places[-1] + 1 if places else len(checks), speed)
    figures = {key: dict(value) for key, value in measured.figures.items()}
    for key, value in timed.figures.items():
        figures.setdefault(key, {}).update(value)
    return Verdict(
        measured.submission, measured.track, checks, dict(timed.lane), figures, dict(measured.notebook_decides)
    )


def verify_command(submission: Path, out: Path, part: str = "all") -> tuple[list[str], dict[str, str]]:
    """The command line and environment that verify ``submission`` in a fresh process, writing
    the verdict as JSON to ``out``. The environment drops TORCH_FORCE_* (weights-only loading is
    always on in the verifier)."""
    command = [sys.executable, "-m", "grading.cli", "verify", str(submission), "--json", "--out", str(out)]
    command += ["--part", part]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TORCH_FORCE")}
    return command, environment
