"""Parity: does the ONNX model compute what the PyTorch model computes?

An FP32 export should agree with PyTorch to about 1e-5 on the same inputs; a broken export
(wrong input layout, a layer left out) gives differences of order 1. The check compares the
class scores and the predicted class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from helpers.runtime import open_session, run_session


@dataclass
class ParityResult:
    """How closely ONNX Runtime reproduces PyTorch on the same inputs."""

    max_abs_difference: float
    tolerance: float
    same_prediction_fraction: float

    @property
    def passed(self) -> bool:
        return self.max_abs_difference <= self.tolerance

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "MISMATCH"
        return (
            f"parity {verdict}: largest output difference {self.max_abs_difference:.2e} "
            f"(tolerance {self.tolerance:.0e}), same prediction on {self.same_prediction_fraction:.1%}"
        )


def check_parity(
    model: nn.Module, onnx_model: str | Path | ort.InferenceSession, inputs: torch.Tensor, tolerance: float = 1e-3
) -> ParityResult:
    """Compare PyTorch and ONNX Runtime outputs (class scores) on ``inputs``.

    ``onnx_model`` is an ONNX file (opened with :func:`helpers.runtime.open_session`) or a
    session you opened yourself.

    An FP32 export should agree to about 1e-5; the default tolerance of 1e-3 leaves room for
    the different order of floating-point operations, and is far below what a broken
    export gives (differences of order 1).
    """
    with torch.inference_mode():
        expected = model.eval()(inputs).numpy()
    session = onnx_model if isinstance(onnx_model, ort.InferenceSession) else open_session(onnx_model)
    actual = run_session(session, inputs)
    return ParityResult(
        max_abs_difference=float(np.abs(expected - actual).max()),
        tolerance=tolerance,
        same_prediction_fraction=float((expected.argmax(1) == actual.argmax(1)).mean()),
    )
