"""ONNX export and a parity check against PyTorch.

``torch.onnx.export`` uses the dynamo exporter today. Three things differ from older
tutorials (docs/design.md, "Measured facts"):

- weights go to a second file ``model.onnx.data`` unless ``external_data=False``; we always
  write one self-contained file, so the file you copy is the whole model;
- the batch dimension is made dynamic with ``dynamic_shapes`` keyed by the name of
  ``forward()``'s argument (``x`` in our models), not with ``dynamic_axes``;
- ``opset_version=11`` is no longer honoured (the exporter writes opset 18 or newer).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from helpers.runtime import open_session, run_session

# The exporter logs that optional torchvision operators are missing; we write the models by hand.
_REGISTRATION_LOGGER = "torch.onnx._internal.exporter._registration"


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Export ``model`` to one self-contained ONNX file with a dynamic batch dimension.

    ``example`` is a batch of valid inputs (use a batch of 2 or more: a batch of 1 would let
    the exporter assume the batch size is always 1). Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    registration_log = logging.getLogger(_REGISTRATION_LOGGER)
    previous_level = registration_log.level
    registration_log.setLevel(logging.ERROR)
    try:
        # Autograd off: where the exporter works out shapes, nn.LSTM then goes through torch's
        # fused CPU layer instead of stepping through its 200 time steps (text track), which
        # halves the export time (22 s -> 11 s on 2 cores). The ONNX graph is the same.
        with warnings.catch_warnings(), torch.no_grad():
            # torch's own pytree code warns about an API it is itself still calling.
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            warnings.filterwarnings("ignore", message=".*_check_is_size.*", category=FutureWarning)
            # nn.LSTM caches its weights in a plain list; export reads them correctly all the same.
            warnings.filterwarnings("ignore", message=".*_flat_weights.*", category=UserWarning)
            torch.onnx.export(
                model,
                (example,),
                str(path),
                input_names=["x"],
                output_names=["scores"],
                dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                external_data=False,
                verbose=False,
            )
    finally:
        registration_log.setLevel(previous_level)
    onnx.checker.check_model(str(path))
    return path


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
    model: nn.Module, onnx_path: str | Path, inputs: torch.Tensor, tolerance: float = 1e-3
) -> ParityResult:
    """Compare PyTorch and ONNX Runtime outputs (class scores) on ``inputs``.

    An FP32 export should agree to about 1e-5; the default tolerance of 1e-3 leaves room for
    the different order of floating-point operations, and is far below what a broken
    export gives (differences of order 1).
    """
    with torch.inference_mode():
        expected = model.eval()(inputs).numpy()
    actual = run_session(open_session(onnx_path), inputs)
    return ParityResult(
        max_abs_difference=float(np.abs(expected - actual).max()),
        tolerance=tolerance,
        same_prediction_fraction=float((expected.argmax(1) == actual.argmax(1)).mean()),
    )
