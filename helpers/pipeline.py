"""The reference optimization pipeline of a track: every technique of the day, measured.

``run_pipeline`` makes each variant, saves it under ``out_dir`` with the names of the
artifacts contract (DESIGN.md), measures it against the PyTorch FP32 baseline and records
it in ``results.json``. It is what ``day26 optimize`` runs, and what the notebooks do
step by step.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from grading.thresholds import Threshold, threshold_for
from helpers.data import Dataset
from helpers.export import check_parity, export_onnx
from helpers.measure import count_parameters
from helpers.prune import prune_channels, prune_l1_unstructured, prune_lstm_units
from helpers.quantize import ort_dynamic_int8, ort_static_int8, save_dynamic_int8, torch_dynamic_int8
from helpers.reference import ready_model
from helpers.report import read_results, save_comparison_plot, summary_table
from helpers.runtime import open_session
from helpers.tracks import Track, check_inputs
from helpers.train import train
from helpers.variants import measure_variant

STEPS = ("reference model", "baseline", "dynamic INT8", "pruning", "ONNX export", "ONNX INT8", "combined", "report")
UNSTRUCTURED_AMOUNT = 0.5  # fraction of weights zeroed in the "pruned" variant
CALIBRATION_SAMPLES = 256


@dataclass
class TargetCheck:
    """The combined model against the track's targets."""

    size_reduction: float
    speedup: float
    accuracy_drop_points: float
    threshold: Threshold

    @property
    def lines(self) -> list[str]:
        def mark(ok: bool) -> str:
            return "PASS" if ok else "FAIL"

        t = self.threshold
        size_ok = self.size_reduction >= t.min_size_reduction
        speed_ok = self.speedup >= t.min_speedup
        accuracy_ok = self.accuracy_drop_points <= t.max_accuracy_drop
        size_target = f">= {t.min_size_reduction:g}x" if t.min_size_reduction else "reported only"
        return [
            f"  {mark(size_ok)}  size: {self.size_reduction:.1f}x smaller (target {size_target})",
            f"  {mark(speed_ok)}  speed: {self.speedup:.2f}x faster (target >= {t.min_speedup:g}x)",
            f"  {mark(accuracy_ok)}  accuracy: {-self.accuracy_drop_points:+.2f} points against the baseline "
            f"(target: lose at most {t.max_accuracy_drop:g})",
        ]

    @property
    def passed(self) -> bool:
        return all(line.startswith("  PASS") for line in self.lines)


@dataclass
class PipelineResult:
    track: str
    out_dir: Path
    records: list[dict]
    target: TargetCheck

    def summary(self) -> str:
        verdict = "all targets met" if self.target.passed else "TARGETS MISSED"
        return "\n".join(
            [
                summary_table(self.records),
                "",
                f"combined model against the {self.track} targets: {verdict}",
                *self.target.lines,
            ]
        )


def gzip_size(path: Path) -> int:
    """Bytes of ``path`` after gzip: shows how much the zeros of a pruned model could save."""
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def _structured_prune(track: Track, model: nn.Module) -> nn.Module:
    """The track's structured pruning: channels (conv nets, MLPs) or LSTM units."""
    recipe = track.combined
    if recipe.structure == "lstm_units":
        return prune_lstm_units(model, recipe.prune_amount)
    return prune_channels(model, track.example_batch(), recipe.prune_amount, keep=(track.classifier_name,))


def _int8_in_onnx_runtime(track: Track, source: Path, target: Path, calibration: Dataset, allow_none: bool) -> str:
    """Write ``target`` as the track's kind of ONNX Runtime INT8 of ``source``; return its name.

    Static (calibrated) for conv nets, dynamic for LSTMs. For a track whose recipe uses no
    INT8 (the tiny MLP), ``allow_none`` copies the FP32 model, else dynamic INT8 is shown.
    """
    kind = track.combined.quantization
    if kind == "static":
        ort_static_int8(source, target, calibration)
        return "static INT8 (QDQ, calibrated)"
    if kind == "none" and allow_none:
        shutil.copyfile(source, target)
        return "FP32"
    ort_dynamic_int8(source, target)
    return "dynamic INT8"


def run_pipeline(
    track: Track,
    out_dir: str | Path,
    threads: int = 1,
    seconds_per_comparison: float = 2.0,
    on_step: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Make, save and measure every variant of the track's model; write results and plot."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.json"
    results_path.unlink(missing_ok=True)

    def step(name: str) -> None:
        if on_step is not None:
            on_step(name)

    step("reference model")
    ready = ready_model(track)
    baseline = ready.model
    val = track.val_data()
    check_inputs(track, val.model_inputs(0, 2), f"the {track.name} validation data")

    def record(variant: str, description: str, artifact: Path, model: object, extra: dict | None = None):
        return measure_variant(
            variant, description, artifact, model, baseline, val, track.name, threads,
            seconds_per_comparison, results_path, extra,
        )  # fmt: skip

    step("baseline")
    baseline_path = out_dir / "baseline.pth"
    torch.save(baseline.state_dict(), baseline_path)
    base = record("baseline", "PyTorch FP32", baseline_path, baseline)

    step("dynamic INT8")
    quantized = torch_dynamic_int8(baseline)
    quantized_path = out_dir / "quantized_dynamic.pth"
    save_dynamic_int8(quantized, quantized_path)
    record("quantized_dynamic", "PyTorch dynamic INT8 (Linear, LSTM)", quantized_path, quantized)

    step("pruning")
    pruned = prune_l1_unstructured(baseline, UNSTRUCTURED_AMOUNT, scope="global")
    pruned_path = out_dir / "pruned.pth"
    torch.save(pruned.state_dict(), pruned_path)
    record(
        "pruned",
        f"L1 unstructured, {UNSTRUCTURED_AMOUNT:.0%} global",
        pruned_path,
        pruned,
        {"gzip_size_bytes": gzip_size(pruned_path)},
    )

    step("ONNX export")
    onnx_path = export_onnx(baseline, track.example_batch(), out_dir / "model.onnx")
    parity = check_parity(baseline, onnx_path, val.model_inputs(0, 16))
    record(
        "onnx",
        "ONNX Runtime FP32",
        onnx_path,
        open_session(onnx_path, threads),
        {"parity_max_abs_difference": parity.max_abs_difference},
    )

    step("ONNX INT8")
    train_data = track.train_data()
    calibration = train_data.subset(CALIBRATION_SAMPLES)
    # images: the name notebook 02 and the grader give static INT8 (the other tracks' INT8 is not graded)
    static = track.combined.quantization == "static"
    int8_path = out_dir / ("quantized_static.onnx" if static else "onnx_int8.onnx")
    how = _int8_in_onnx_runtime(track, onnx_path, int8_path, calibration, allow_none=False)
    record("onnx_int8", f"ONNX Runtime {how}", int8_path, open_session(int8_path, threads))

    step("combined")
    recipe = track.combined
    smaller = _structured_prune(track, baseline)
    train(smaller, train_data, recipe.fine_tune, seed=1)
    fp32_path = export_onnx(smaller, track.example_batch(), out_dir / "optimized_fp32.onnx")
    optimized_path = out_dir / "optimized.onnx"
    how = _int8_in_onnx_runtime(track, fp32_path, optimized_path, calibration, allow_none=True)
    fp32_path.unlink()
    combined = record(
        "combined",
        f"{recipe.structure.replace('_', ' ')} pruned {recipe.prune_amount:.0%}, fine-tuned, ONNX, {how}",
        optimized_path,
        open_session(optimized_path, threads),
        {"pytorch_params_after_structured_pruning": count_parameters(smaller)},
    )

    step("report")
    records = read_results(results_path)
    save_comparison_plot(records, out_dir / "comparison.png")
    target = TargetCheck(
        size_reduction=base.size_bytes / combined.size_bytes,
        speedup=combined.speedup_vs_baseline,
        accuracy_drop_points=100.0 * (base.accuracy - combined.accuracy),
        threshold=threshold_for(track.name, "optimized"),
    )
    return PipelineResult(track.name, out_dir, records, target)
