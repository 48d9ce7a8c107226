"""Opening and inspecting artifacts: state_dict files (.pth) and ONNX models (.onnx).

Everything here treats files as untrusted: state_dicts are loaded with
``weights_only=True`` (tensors only, never code), and every problem becomes one clear
message naming the file.
"""

from __future__ import annotations

import collections
import pickle
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import onnx
import torch
from torch import nn

from helpers.errors import file_error
from helpers.int8_state import load_dynamic_int8
from helpers.measure import (
    count_onnx_parameters,
    count_parameters,
    onnx_weight_sparsity,
    referenced_files,
    sparsity,
)


def load_state_dict_file(path: str | Path) -> dict:
    """Read a state_dict file safely, with a clear message for every way it can be wrong."""
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "does not exist", "Run 'day26 train' or check the path.")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        raise file_error(path, "is damaged or not a PyTorch file", "Save it again with torch.save.")
    try:
        with warnings.catch_warnings():
            # Loading INT8 tensors touches an old storage API inside torch itself.
            warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*quantized tensor creation.*", category=UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise file_error(
            path,
            "holds Python objects besides tensors (a whole pickled model, or code), which are never loaded",
            "Save only the weights: torch.save(model.state_dict(), path).",
        ) from None
    except Exception:  # a damaged file can fail anywhere inside the unpickler
        raise file_error(path, "is damaged or not a PyTorch file", "Save it again with torch.save.") from None
    if not isinstance(state, dict):
        raise file_error(path, f"holds a {type(state).__name__}, not a state_dict", "Save model.state_dict().")
    return state


def load_into(build_model: Callable[[], nn.Module], path: str | Path) -> nn.Module:
    """Build the architecture and load a state_dict file into it strictly."""
    model = build_model()
    state = load_state_dict_file(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        details = " ".join(str(error).split())[:300]
        raise file_error(
            path,
            f"does not fit the {type(model).__name__} architecture ({details})",
            "Load it with the model it was saved from, or retrain with 'day26 train'.",
        ) from None
    return model.eval()


def load_int8_into(build_model: Callable[[], nn.Module], path: str | Path) -> nn.Module:
    """Load a saved dynamic-INT8 state_dict (see :func:`helpers.int8_state.save_dynamic_int8`)."""
    state = load_state_dict_file(path)
    if all(value.is_floating_point() for value in state.values() if isinstance(value, torch.Tensor)):
        raise file_error(
            path,
            "holds FP32 weights only: the weights are FP32, not INT8",
            "Quantize it with torch.ao.quantization.quantize_dynamic and save it with save_dynamic_int8.",
        )
    try:
        return load_dynamic_int8(build_model(), state)
    except (RuntimeError, KeyError) as error:
        details = " ".join(str(error).split())[:300]
        raise file_error(
            path, f"is not a dynamic-INT8 state_dict of this architecture ({details})", "Save it again."
        ) from None


QUANTIZED_OPS = {
    "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger",
    "ConvInteger", "DynamicQuantizeLinear", "DynamicQuantizeLSTM", "DynamicQuantizeMatMul",
}  # fmt: skip


@dataclass
class ArtifactReport:
    """What ``day26 inspect`` says about a file. Sizes in bytes; sparsity as a fraction."""

    path: str
    kind: str  # "state_dict" or "onnx"
    size_bytes: int
    files: list[str]
    params: int
    sparsity: float
    weight_dtypes: dict[str, int]  # dtype -> number of values stored in that type
    quantized: bool
    architecture: str = ""  # the track whose model the state_dict fits, if any
    opset: int | None = None
    operators: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        dtypes = ", ".join(f"{name} {count:,}" for name, count in self.weight_dtypes.items())
        lines = [
            f"{self.path} ({self.kind})",
            f"  size on disk   {self.size_bytes:,} bytes ({self.size_bytes / 1e6:.3f} MB)",
            f"  files          {', '.join(self.files)}",
            f"  parameters     {self.params:,}",
            f"  sparsity       {self.sparsity:.1%} of prunable weights are zero",
            f"  weight dtypes  {dtypes}",
            f"  quantized      {'yes' if self.quantized else 'no'}",
        ]
        if self.architecture:
            lines.append(f"  architecture   {self.architecture}")
        if self.opset is not None:
            top = ", ".join(f"{op} {count}" for op, count in list(self.operators.items())[:8])
            lines += [f"  opset          {self.opset}", f"  operators      {top}"]
        return "\n".join(lines)


def _dtype_counts(tensors: list[tuple[str, int]]) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for dtype, count in tensors:
        counts[dtype] += count
    return dict(counts.most_common())


def _fitting_model(path: Path) -> tuple[str, nn.Module | None]:
    """The built-in track (and its loaded model) whose architecture the state_dict fits."""
    from helpers.tracks import TRACKS  # late import: tracks are only needed here

    for name, track in TRACKS.items():
        for loader, form in ((load_into, "FP32"), (load_int8_into, "dynamic INT8")):
            try:
                return f"{name} track ({type(track.build_model()).__name__}, {form})", loader(track.build_model, path)
            except Exception:  # does not fit this architecture: try the next one
                continue
    return "", None


def inspect_state_dict(path: Path) -> ArtifactReport:
    """Inspect a saved state_dict."""
    state = load_state_dict_file(path)
    tensors = [value for key, value in state.items() if isinstance(value, torch.Tensor)]
    for value in state.values():
        if isinstance(value, tuple | list):
            tensors += [item for item in value if isinstance(item, torch.Tensor)]
    architecture, model = _fitting_model(path)
    if model is not None:
        zero_fraction = sparsity(model).overall
    else:  # unknown architecture: every weight matrix counts
        matrices = [t.dequantize() if t.is_quantized else t for t in tensors if t.dim() >= 2]
        total = sum(t.numel() for t in matrices)
        zero_fraction = sum(int((t == 0).sum()) for t in matrices) / total if total else 0.0
    return ArtifactReport(
        path=str(path),
        kind="state_dict",
        size_bytes=path.stat().st_size,
        files=[path.name],
        params=count_parameters(state),
        sparsity=zero_fraction,
        weight_dtypes=_dtype_counts([(str(t.dtype).removeprefix("torch."), t.numel()) for t in tensors]),
        quantized=any(t.is_quantized for t in tensors),
        architecture=architecture,
    )


def inspect_onnx(path: Path) -> ArtifactReport:
    """Inspect an ONNX model, including the external data files it references."""
    files = referenced_files(path)  # raises a clear error if a referenced file is missing
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as error:  # a damaged file can fail in many ways inside onnx
        raise file_error(path, f"is not a valid ONNX model ({type(error).__name__})", "Export it again.") from None
    operators = collections.Counter(node.op_type for node in model.graph.node)
    dtypes = [
        (onnx.helper.tensor_dtype_to_np_dtype(t.data_type).name, int(max(1, _numel(t.dims))))
        for t in model.graph.initializer
    ]
    opset = next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), None)
    return ArtifactReport(
        path=str(path),
        kind="onnx",
        size_bytes=sum(file.stat().st_size for file in files),
        files=[file.name for file in files],
        params=count_onnx_parameters(path),
        sparsity=onnx_weight_sparsity(path).overall,
        weight_dtypes=_dtype_counts(dtypes),
        quantized=bool(QUANTIZED_OPS & set(operators)),
        opset=opset,
        operators=dict(operators.most_common()),
    )


def _numel(dims: list[int]) -> int:
    count = 1
    for dim in dims:
        count *= dim
    return count


def inspect_artifact(path: str | Path) -> ArtifactReport:
    """Report size on disk (with every referenced file), parameters, sparsity, weight
    dtypes and, for ONNX, the opset and whether the model is quantized."""
    path = Path(path)
    if not path.is_file():
        raise file_error(path, "does not exist", "Check the path.")
    if path.suffix == ".onnx":
        return inspect_onnx(path)
    if path.suffix in (".pth", ".pt"):
        return inspect_state_dict(path)
    raise file_error(path, "is neither a .pth state_dict nor an .onnx model", "Give a .pth or .onnx file.")
