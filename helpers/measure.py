"""Honest measurements: size on disk, parameter counts, sparsity and accuracy.

- Size means bytes on disk of the file **and every file it references**. An ONNX model can
  keep its weights in a second file (``model.onnx.data``); counting only ``model.onnx``
  would report a fake 500x reduction.
- Sparsity is the fraction of exact zeros in the weights of prunable layers (Conv, Linear
  and the LSTM and GRU weight matrices); biases, norms and embeddings are not counted. It is read
  from ``module.weight``, the tensor the layer really uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from helpers.data import Dataset
from helpers.errors import file_error
from helpers.int8_state import portable_state_dict
from helpers.onnx_files import external_locations, load_graph_only, model_tensors
from helpers.same_model import dataset_digest, model_digest

# ----------------------------------------------------------------------------- size on disk


def referenced_files(path: str | Path) -> list[Path]:
    """The files an artifact needs: the file itself, plus every file an ONNX model's tensors are
    stored in (see :mod:`helpers.onnx_files`)."""
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "does not exist", "Check the path, or create the artifact first.")
    if path.suffix != ".onnx":
        return [path]
    files = [path]
    for location in external_locations(load_graph_only(path)):
        data_file = path.parent / location
        if not data_file.is_file():
            raise file_error(
                path,
                f"keeps its weights in '{location}', which is missing",
                "Copy that file next to the model, or export again with external_data=False.",
            )
        if data_file not in files:
            files.append(data_file)
    return files


def size_on_disk(path: str | Path) -> int:
    """Bytes on disk of an artifact: the file plus every file it references."""
    return sum(file.stat().st_size for file in referenced_files(path))


# ----------------------------------------------------------------------------- parameters

_NOT_PARAMETERS = ("running_mean", "running_var", "num_batches_tracked", "scale", "zero_point", "dtype")


def state_tensors(state: dict) -> Iterator[tuple[str, torch.Tensor]]:
    """The tensors of a state_dict, unpacking quantized layers' packed (weight, bias) tuples."""
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            yield key, value
        elif isinstance(value, tuple | list):
            for index, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    yield f"{key}.{index}", item


def count_parameters(model_or_state: nn.Module | dict) -> int:
    """Number of learned values (weights and biases), also for quantized models.

    Counted from the state_dict, so the INT8 weights of a quantized layer count too;
    BatchNorm running statistics and quantization scales are not parameters.
    """
    state = portable_state_dict(model_or_state) if isinstance(model_or_state, nn.Module) else model_or_state
    return sum(tensor.numel() for key, tensor in state_tensors(state) if not key.endswith(_NOT_PARAMETERS))


def count_onnx_parameters(path: str | Path) -> int:
    """Number of stored weight values in an ONNX model (quantization scales and zero points excluded).

    Every stored tensor counts, wherever the exporter put it: initializers, Constant nodes and
    subgraphs. An INT8 weight counts once, like the FP32 weight it replaced, so the count of a
    quantized model (QDQ or dynamic) is that of the model it was made from.
    """
    model = load_graph_only(path)
    skip = ("_scale", "_zero_point", "scale", "zero_point")
    return sum(int(np.prod(tensor.dims)) for tensor in model_tensors(model) if not tensor.name.endswith(skip))


# ----------------------------------------------------------------------------- sparsity


@dataclass
class SparsityReport:
    """Zero fraction of the prunable weights, overall and per layer (fractions in [0, 1])."""

    zeros: int
    total: int
    per_layer: dict[str, float] = field(default_factory=dict)

    @property
    def overall(self) -> float:
        return self.zeros / self.total if self.total else 0.0

    def __str__(self) -> str:
        lines = [f"sparsity {self.overall:.1%} ({self.zeros:,} of {self.total:,} prunable weights are zero)"]
        lines += [f"  {name:<32} {fraction:6.1%}" for name, fraction in self.per_layer.items()]
        return "\n".join(lines)


def _as_float(weight: torch.Tensor) -> torch.Tensor:
    """A float view of a weight, dequantizing INT8 tensors."""
    return weight.dequantize() if weight.is_quantized else weight


def prunable_weights(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """``(name, weight)`` for every Conv, Linear, LSTM and GRU weight matrix, as the layer uses it
    (every layer and direction of a recurrent layer).

    Works for plain, pruned (``module.weight`` is the masked tensor) and dynamically
    quantized models (whose layers hand out their weight through a method).
    """
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear):
            yield f"{name}.weight", module.weight
        elif isinstance(module, nn.LSTM | nn.GRU):
            for weight_name in module._flat_weights_names:
                if weight_name.startswith("weight"):
                    yield f"{name}.{weight_name}", getattr(module, weight_name)
        elif type(module).__name__ == "Linear" and callable(getattr(module, "weight", None)):
            yield f"{name}.weight", module.weight()  # torch.ao dynamically quantized Linear
        elif isinstance(module, torch.ao.nn.quantized.dynamic.LSTM | torch.ao.nn.quantized.dynamic.GRU):
            for weight_name, weight in module._weight_bias()["weight"].items():
                yield f"{name}.{weight_name}", weight


def sparsity(model: nn.Module) -> SparsityReport:
    """Fraction of exact zeros in the prunable weights of ``model``, overall and per layer."""
    zeros = total = 0
    per_layer: dict[str, float] = {}
    for name, weight in prunable_weights(model):
        values = _as_float(weight.detach())
        layer_zeros, layer_total = int((values == 0).sum()), values.numel()
        per_layer[name] = layer_zeros / layer_total
        zeros += layer_zeros
        total += layer_total
    return SparsityReport(zeros, total, per_layer)


def onnx_weight_sparsity(path: str | Path) -> SparsityReport:
    """Zero fraction of the weight matrices (initializers with 2 or more dimensions) of an ONNX file."""
    model = onnx.load(str(path))
    zeros = total = 0
    per_layer: dict[str, float] = {}
    for tensor in model.graph.initializer:
        if len(tensor.dims) < 2:
            continue
        values = onnx.numpy_helper.to_array(tensor)
        layer_zeros = int((values == 0).sum())
        per_layer[tensor.name] = layer_zeros / values.size
        zeros += layer_zeros
        total += values.size
    return SparsityReport(zeros, total, per_layer)


# ----------------------------------------------------------------------------- accuracy


def predict(model: nn.Module | ort.InferenceSession, inputs: torch.Tensor) -> torch.Tensor:
    """Predicted class per row, from a PyTorch module or an ONNX Runtime session."""
    if isinstance(model, ort.InferenceSession):
        input_name = model.get_inputs()[0].name
        scores = model.run(None, {input_name: np.ascontiguousarray(inputs.numpy())})[0]
        return torch.from_numpy(scores).argmax(dim=1)
    with torch.inference_mode():
        return model(inputs).argmax(dim=1)


# Which samples a model got right, for the life of the kernel: (model digest, dataset digest) -> booleans.
_MEASURED: dict[tuple[str, str], np.ndarray] = {}


def correct_per_sample(model: nn.Module | ort.InferenceSession, dataset: Dataset, batch_size: int = 64) -> np.ndarray:
    """Which samples of ``dataset`` the model classifies correctly (booleans, in the dataset's order).

    The same model on the same dataset is measured once per kernel (see :mod:`helpers.same_model`);
    a model that was changed since, even by one weight, is measured again."""
    if isinstance(model, nn.Module):
        model.eval()
    model_key = model_digest(model)
    key = (model_key, dataset_digest(dataset)) if model_key is not None else None
    if key is not None and key in _MEASURED:
        return _MEASURED[key].copy()
    correct = np.concatenate(
        [(predict(model, inputs) == labels).numpy() for inputs, labels in dataset.batches(batch_size)]
    )
    if key is not None:
        _MEASURED[key] = correct.copy()
    return correct


def remember_correct(model: nn.Module | ort.InferenceSession, dataset: Dataset, correct: np.ndarray) -> None:
    """Tell :func:`correct_per_sample` which samples of ``dataset`` ``model`` gets right, measured
    before (by another process, kept in a file): the kernel then need not run the split again."""
    model_key = model_digest(model)
    if model_key is not None and len(correct) == len(dataset):
        _MEASURED[model_key, dataset_digest(dataset)] = np.asarray(correct, dtype=bool).copy()


def accuracy(model: nn.Module | ort.InferenceSession, dataset: Dataset, batch_size: int = 64) -> float:
    """Fraction of ``dataset`` classified correctly (0.0 to 1.0)."""
    return float(correct_per_sample(model, dataset, batch_size).mean())
