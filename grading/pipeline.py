"""The reference optimization pipeline of a track: every technique of the day, measured.

``run_pipeline`` makes each variant, saves it under ``out_dir`` with the names of the
artifacts contract (helpers/contract.py), measures it against the PyTorch FP32 baseline and records
it in ``results.json``. It is what ``day26 optimize`` runs, and what the notebooks do
step by step.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from grading.techniques.export import export_onnx, strip_exporter_notes
from grading.techniques.prune import prune_channels, prune_l1_unstructured, prune_recurrent_units
from grading.techniques.quantize import RECURRENT_KEPT_FP32, ort_dynamic_int8, ort_static_int8, torch_dynamic_int8
from helpers import contract
from helpers.compression import gzip_size
from helpers.data import Dataset
from helpers.int8_state import save_dynamic_int8
from helpers.measure import count_parameters
from helpers.parity import check_parity
from helpers.reference import ready_model
from helpers.report import VariantResult, read_results, save_comparison_plot, summary_table
from helpers.runtime import open_session
from helpers.targets import INSIDE_BAND, MET, MISSED, Judgement, judge, overall_status
from helpers.tracks import Track, check_inputs
from helpers.train import train
from helpers.variants import measure_variant
from helpers.workbook import targets_of

STEPS = ("reference model", "baseline", "dynamic INT8", "pruning", "ONNX export", "ONNX INT8", "combined", "report")
UNSTRUCTURED_AMOUNT = 0.5  # fraction of weights zeroed in the "pruned" variant
CALIBRATION_SAMPLES = 256


@dataclass
class TargetCheck:
    """The combined model against the track's targets, judged by :func:`helpers.targets.judge`."""

    judgements: list[Judgement]

    @property
    def status(self) -> str:
        return overall_status(self.judgements)

    @property
    def passed(self) -> bool:
        """No target missed (a speed inside the guard band is not a miss: the grader measures again)."""
        return self.status != MISSED

    @property
    def lines(self) -> list[str]:
        return [
            f"  {j.figure:<9} {j.measured_text():<16} (target {j.target_text()}): {j.verdict_text()}"
            for j in self.judgements
        ]


@dataclass
class PipelineResult:
    track: str
    out_dir: Path
    records: list[VariantResult]
    target: TargetCheck

    def summary(self) -> str:
        verdict = {MET: "all targets met", INSIDE_BAND: "targets met or inside the band", MISSED: "TARGETS MISSED"}
        return "\n".join(
            [
                summary_table(self.records),
                "",
                f"combined model against the {self.track} targets: {verdict[self.target.status]}",
                *self.target.lines,
            ]
        )


def _has(model: nn.Module, *kinds: type) -> bool:
    return any(isinstance(layer, kinds) for layer in model.modules())


def _structured_prune(track: Track, model: nn.Module) -> nn.Module:
    """Structured pruning by what the model contains, as notebook 05 does: the units of an LSTM or
    GRU by hand, else channels with torch-pruning (conv nets, MLPs, Transformer encoders)."""
    amount = track.combined.prune_amount
    if _has(model, nn.LSTM, nn.GRU):
        return prune_recurrent_units(model, amount)
    return prune_channels(model, track.example_batch(), amount)


def _int8_kind(track: Track, model: nn.Module) -> str:
    """ONNX Runtime INT8 by what the model contains, as notebook 05 does: static (calibrated) for
    convolutions, dynamic for recurrent layers and attention, else the track's recipe."""
    if _has(model, nn.Conv1d, nn.Conv2d):
        return "static"
    if _has(model, nn.LSTM, nn.GRU, nn.MultiheadAttention):
        return "dynamic"
    return track.combined.quantization


def _int8_in_onnx_runtime(
    track: Track, model: nn.Module, source: Path, target: Path, calibration: Dataset, for_combined: bool
) -> str:
    """Write ``target`` as the track's kind of ONNX Runtime INT8 of ``source``; return its name.

    Static (calibrated) for conv nets, dynamic for LSTMs. ``for_combined``: the combined model,
    which for a track whose recipe uses no INT8 (the tiny MLP) is the FP32 model copied, and which
    keeps an LSTM or GRU in FP32, as notebook 05 does (ONNX Runtime's INT8 LSTM is slower than FP32
    on CPUs with AMX). Otherwise dynamic INT8 of every operator is shown.
    """
    kind = _int8_kind(track, model)
    if kind == "static":
        ort_static_int8(source, target, calibration)
        return "static INT8 (QDQ, calibrated)"
    if kind == "none" and for_combined:
        shutil.copyfile(source, target)
        return "FP32"
    if for_combined and _has(model, nn.LSTM, nn.GRU):
        ort_dynamic_int8(source, target, RECURRENT_KEPT_FP32)
        return "dynamic INT8 of the embedding and matrix products (recurrent layer FP32)"
    ort_dynamic_int8(source, target)
    return "dynamic INT8"


@dataclass
class _Run:
    """One run of the pipeline: the track, its baseline model and data, where things go."""

    track: Track
    out_dir: Path
    baseline: nn.Module
    val: Dataset
    threads: int
    seconds: float

    @property
    def results(self) -> Path:
        return contract.RESULTS.path(self.out_dir)

    def record(self, artifact: contract.Artifact, model: object, description: str, extra: dict | None = None):
        """Measure ``model`` (saved as ``artifact`` in the output folder) and record it."""
        return measure_variant(
            artifact, model, baseline=self.baseline, val=self.val, track_name=self.track.name,
            description=description, saved_as=artifact.path(self.out_dir), results_path=self.results,
            threads=self.threads, seconds=self.seconds, extra=extra,
        )  # fmt: skip

    def session(self, artifact: contract.Artifact) -> object:
        return open_session(artifact.path(self.out_dir), self.threads)


def _baseline(run: _Run) -> VariantResult:
    path = contract.BASELINE.path(run.out_dir)
    torch.save(run.baseline.state_dict(), path)
    return run.record(contract.BASELINE, run.baseline, "PyTorch FP32")


def _dynamic_int8(run: _Run) -> None:
    quantized = torch_dynamic_int8(run.baseline)
    save_dynamic_int8(quantized, contract.QUANTIZED_DYNAMIC.path(run.out_dir))
    run.record(contract.QUANTIZED_DYNAMIC, quantized, "PyTorch dynamic INT8 (Linear, LSTM)")


def _unstructured_pruning(run: _Run) -> None:
    pruned = prune_l1_unstructured(run.baseline, UNSTRUCTURED_AMOUNT, scope="global")
    path = contract.PRUNED.path(run.out_dir)
    torch.save(pruned.state_dict(), path)
    description = f"L1 unstructured, {UNSTRUCTURED_AMOUNT:.0%} global"
    run.record(contract.PRUNED, pruned, description, {"gzip_size_bytes": gzip_size(path)})


def _onnx_export(run: _Run) -> Path:
    onnx_path = export_onnx(run.baseline, run.track.example_batch(), contract.ONNX_FP32.path(run.out_dir))
    parity = check_parity(run.baseline, onnx_path, run.val.model_inputs(0, 16))
    extra = {"parity_max_abs_difference": parity.max_abs_difference}
    run.record(contract.ONNX_FP32, run.session(contract.ONNX_FP32), "ONNX Runtime FP32", extra)
    return onnx_path


def _onnx_int8(run: _Run, onnx_path: Path, calibration: Dataset) -> None:
    """The whole model in ONNX Runtime INT8: static (notebook 02's artifact) for conv nets, else dynamic."""
    static = _int8_kind(run.track, run.baseline) == "static"
    artifact = contract.QUANTIZED_STATIC if static else contract.ONNX_DYNAMIC_INT8
    how = _int8_in_onnx_runtime(run.track, run.baseline, onnx_path, artifact.path(run.out_dir), calibration, False)
    run.record(artifact, run.session(artifact), f"ONNX Runtime {how}")


def _combined(run: _Run, train_data: Dataset, calibration: Dataset) -> VariantResult:
    recipe = run.track.combined
    smaller = _structured_prune(run.track, run.baseline)
    train(smaller, train_data, recipe.fine_tune, seed=1)
    fp32_path = export_onnx(smaller, run.track.example_batch(), run.out_dir / "optimized_fp32.onnx")
    how = _int8_in_onnx_runtime(run.track, smaller, fp32_path, contract.COMBINED.path(run.out_dir), calibration, True)
    strip_exporter_notes(contract.COMBINED.path(run.out_dir))
    fp32_path.unlink()
    structure = "recurrent units" if _has(run.baseline, nn.LSTM, nn.GRU) else "channels"
    description = f"{structure} pruned {recipe.prune_amount:.0%}, fine-tuned, ONNX, {how}"
    extra = {"pytorch_params_after_structured_pruning": count_parameters(smaller)}
    return run.record(contract.COMBINED, run.session(contract.COMBINED), description, extra)


def run_pipeline(
    track: Track,
    out_dir: str | Path,
    threads: int = 1,
    seconds_per_comparison: float = 2.0,
    on_step: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Make, save and measure every variant of the track's model; write results and plot.

    ``on_step(name)`` is called as each of :data:`STEPS` begins (for progress bars).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    contract.RESULTS.path(out_dir).unlink(missing_ok=True)
    step = on_step or (lambda name: None)

    step("reference model")
    val = track.val_data()
    check_inputs(track, val.model_inputs(0, 2), f"the {track.name} validation data")
    run = _Run(track, out_dir, ready_model(track).model, val, threads, seconds_per_comparison)
    step("baseline")
    base = _baseline(run)
    step("dynamic INT8")
    _dynamic_int8(run)
    step("pruning")
    _unstructured_pruning(run)
    step("ONNX export")
    onnx_path = _onnx_export(run)
    step("ONNX INT8")
    train_data = track.train_data()
    calibration = train_data.subset(CALIBRATION_SAMPLES)
    _onnx_int8(run, onnx_path, calibration)
    step("combined")
    combined = _combined(run, train_data, calibration)

    step("report")
    records = read_results(run.results)
    save_comparison_plot(records, contract.COMPARISON_PLOT.path(out_dir))
    judgements = judge(
        targets_of(track, contract.COMBINED),
        size_reduction=base.size_bytes / combined.size_bytes,
        speedup=combined.speedup_vs_baseline,
        accuracy_drop_points=100.0 * (base.accuracy - combined.accuracy),
    )
    return PipelineResult(track.name, out_dir, records, TargetCheck(judgements))
