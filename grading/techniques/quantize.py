"""INT8 quantization: PyTorch dynamic, ONNX Runtime dynamic, ONNX Runtime static (calibrated).

Which one pays off depends on the layers (docs/design.md, "Measured facts"):

- PyTorch ``quantize_dynamic`` converts Linear and LSTM layers only. It silently skips
  Conv2d, so a CNN barely shrinks; an Embedding table stays FP32 too.
- ONNX Runtime ``quantize_dynamic`` stores an embedding in 8 bits and can turn an LSTM into
  DynamicQuantizeLSTM. That kernel's speed depends on the CPU: faster than the FP32 LSTM on some,
  slower on CPUs with AMX, so the combined model quantizes only the embedding and the matrix
  products (``RECURRENT_KEPT_FP32``). On a CNN dynamic INT8 is *slower* than FP32.
- ONNX Runtime ``quantize_static`` (QDQ format, calibrated on real inputs) suits CNNs: with
  per-channel int8 weights and uint8 activations it is several times faster than FP32.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn

from helpers.data import Dataset
from helpers.effects import WEIGHT_OPERATORS
from helpers.int8_state import dynamic_int8_form


def dynamic_int8_layer_names(model: nn.Module) -> set[str]:
    """Names of the Linear, LSTM and GRU layers to convert, as notebook 02 chooses them: not those
    inside an ``nn.TransformerEncoderLayer``, whose fused fast path reads their FP32 weights and
    fails on INT8 ones ("'function' object has no attribute 'device'")."""
    fused_blocks = [block for block in model.modules() if isinstance(block, nn.TransformerEncoderLayer)]
    inside_fused = {id(layer) for block in fused_blocks for layer in block.modules()}
    return {
        name
        for name, layer in model.named_modules()
        if isinstance(layer, nn.Linear | nn.LSTM | nn.GRU) and id(layer) not in inside_fused
    }


def torch_dynamic_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with its Linear, LSTM and GRU layers in dynamic INT8 (PyTorch eager),
    those of Transformer encoder layers left FP32: the same conversion the loader of INT8
    artifacts uses (:func:`helpers.int8_state.dynamic_int8_form`)."""
    return dynamic_int8_form(model, dynamic_int8_layer_names(model))


def _prepare_for_quantization(source: Path, work_dir: Path) -> Path:
    """Run ORT's recommended pre-processing (shape inference and graph clean-up)."""
    prepared = work_dir / "prepared.onnx"
    quant_logger = logging.getLogger()
    previous_level = quant_logger.level
    quant_logger.setLevel(logging.ERROR)  # it logs advice about symbolic shape inference at INFO
    try:
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=False)
    finally:
        quant_logger.setLevel(previous_level)
    return prepared


# The operators dynamic INT8 converts when the recurrent layer stays FP32: the embedding (Gather),
# where most of the bytes are, and the matrix products.
RECURRENT_KEPT_FP32 = ("Gather", "MatMul")


def ort_dynamic_int8(source: str | Path, target: str | Path, op_types: tuple[str, ...] | None = None) -> Path:
    """Quantize an FP32 ONNX model's weights to INT8; activations are quantized on the fly.
    ``op_types`` limits it to those operators (None: every operator ONNX Runtime can convert)."""
    target = Path(target)
    limit = {} if op_types is None else {"op_types_to_quantize": list(op_types)}
    with tempfile.TemporaryDirectory() as work_dir:
        prepared = _prepare_for_quantization(Path(source), Path(work_dir))
        quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8, **limit)
    return target


class _DatasetReader(CalibrationDataReader):
    """Feeds calibration batches from a dataset to ORT's static quantizer."""

    def __init__(self, input_name: str, dataset: Dataset, batch_size: int) -> None:
        self._batches = (
            {input_name: np.ascontiguousarray(inputs.numpy())} for inputs, _ in dataset.batches(batch_size)
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def _nodes_reading_the_input(path: Path) -> list[str]:
    """Names of the convolutions that read the model's input directly (the first layer). A text
    model's first node, its embedding lookup (Gather), is not one: the largest table is quantized."""
    model = onnx.load(str(path))
    input_names = {graph_input.name for graph_input in model.graph.input}
    return [node.name for node in model.graph.node if input_names & set(node.input) and node.op_type == "Conv"]


def _group_norm_nodes(path: Path) -> list[str]:
    """Names of the InstanceNormalization nodes that nn.GroupNorm exports to: per-channel quantization
    gives their 1-D scale an axis it does not have, and the INT8 model then fails to load."""
    return [node.name for node in onnx.load(str(path)).graph.node if node.op_type == "InstanceNormalization"]


def _weight_operators_if_concatenating(path: Path) -> list[str] | None:
    """The operators to quantize: only those with weights when the graph concatenates activations
    (a Concat stores channels of different ranges in one tensor, and one 8-bit scale for all of them
    cost a DenseNet-style CNN 20 points); None (every operator) otherwise."""
    if any(node.op_type == "Concat" for node in onnx.load(str(path)).graph.node):
        return list(WEIGHT_OPERATORS)
    return None


def ort_static_int8(
    source: str | Path,
    target: str | Path,
    calibration: Dataset,
    batch_size: int = 16,
    keep_first_layer_fp32: bool = True,
) -> Path:
    """Quantize weights and activations to INT8, with activation ranges calibrated on real data.

    Uses the settings that are fast on x86 CPUs with VNNI: QDQ format, per-channel int8
    weights, uint8 activations. A few hundred calibration samples are plenty.

    ``keep_first_layer_fp32`` leaves the layer that reads the raw input in FP32: with only
    3 input channels it gains nothing from INT8, and quantizing the full-size input image
    costs more than the layer itself (measured: about 40 % of the INT8 model's time).
    """
    target = Path(target)
    with tempfile.TemporaryDirectory() as work_dir:
        prepared = _prepare_for_quantization(Path(source), Path(work_dir))
        excluded = (_nodes_reading_the_input(prepared) if keep_first_layer_fp32 else []) + _group_norm_nodes(prepared)
        quantize_static(
            str(prepared),
            str(target),
            calibration_data_reader=_DatasetReader("x", calibration, batch_size),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=excluded,
            op_types_to_quantize=_weight_operators_if_concatenating(prepared),
        )
    return target
