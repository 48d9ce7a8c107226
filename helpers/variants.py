"""Measuring one variant of a model against the baseline, the same way everywhere.

The notebooks and ``day26 optimize`` both call :func:`measure_variant`, so a figure in a
learner's results.json means exactly what the same figure means in the reference run.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
from torch import nn

from helpers.bench import compare_latency, measure_latency
from helpers.contract import BASELINE, Artifact
from helpers.data import Dataset
from helpers.errors import Day26Error
from helpers.measure import accuracy, count_onnx_parameters, count_parameters, onnx_weight_sparsity, size_on_disk
from helpers.measure import sparsity as weight_sparsity
from helpers.report import VariantResult, record_result


def measure_variant(
    artifact: Artifact,
    model: nn.Module | ort.InferenceSession,
    *,
    val: Dataset,
    track_name: str,
    description: str,
    baseline: nn.Module | None = None,
    saved_as: str | Path | None = None,
    results_path: str | Path | None = None,
    threads: int = 1,
    seconds: float = 2.0,
    extra: dict | None = None,
) -> VariantResult:
    """Measure ``model``, the variant of the contract's ``artifact`` (e.g. ``contract.PRUNED``),
    against the PyTorch ``baseline`` (not needed when ``artifact`` is the baseline itself).

    - size: bytes on disk of the saved file (``saved_as``, default ``artifact.path()``) and every
      file it references;
    - latency: batch 1, ``threads`` threads; for the baseline a plain measurement, for any
      other variant an interleaved comparison with the baseline (``speedup_vs_baseline``);
    - accuracy on ``val``; parameters and sparsity of the weights.

    With ``results_path`` the result is also recorded in that results.json.
    """
    variant = artifact.variant
    path = Path(saved_as) if saved_as is not None else artifact.path()
    one_input = val.model_inputs(0, 1)
    if artifact == BASELINE:
        latency = measure_latency(model, one_input, variant, threads, seconds=seconds)
        speedup = 1.0
    elif baseline is None:
        raise Day26Error(f"measuring {variant} needs the baseline model to compare with: pass baseline=model")
    else:
        comparison = compare_latency(baseline, model, one_input, ("baseline", variant), threads, seconds=seconds)
        latency, speedup = comparison.candidate, comparison.speedup
    if isinstance(model, ort.InferenceSession):
        params, zero_fraction = count_onnx_parameters(path), onnx_weight_sparsity(path).overall
    else:
        params, zero_fraction = count_parameters(model), weight_sparsity(model).overall
    result = VariantResult(
        variant=variant,
        description=description,
        artifact=path.name,
        size_bytes=size_on_disk(path),
        latency_ms=latency.as_dict(),
        speedup_vs_baseline=speedup,
        accuracy=accuracy(model, val),
        params=params,
        sparsity=zero_fraction,
        track=track_name,
        extra=extra or {},
    )
    if results_path is not None:
        record_result(results_path, result)
    return result
