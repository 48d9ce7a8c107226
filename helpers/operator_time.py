"""Where an ONNX model's time goes: ONNX Runtime's own profile, summed by operator.

Pruning channels makes the products with weights smaller (Conv, Gemm, MatMul with a weight matrix,
LSTM, GRU), and INT8 makes them cheaper. Operators that only move or combine activations (the
products of queries with keys and of attention weights with values, Softmax, Transpose, Reshape,
element-wise operators) cost the same as before. Their share of the time bounds the speed-up those
techniques can give: if half the time goes to operators without weights, no pruning or INT8 of the
weights makes the model more than twice as fast.

:func:`time_by_operator` runs a model with profiling on (one thread, as every timing here) and adds
up the kernel time of each operator ONNX Runtime ran, after its graph optimizations (so a Conv with
its ReLU shows as ``FusedConv``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from helpers.measure import size_on_disk
from helpers.runtime import as_numpy, session_options


@dataclass(frozen=True)
class OperatorTime:
    """The kernel time of one operator type over a profiled run."""

    operator: str  # ONNX Runtime's kernel name, e.g. FusedConv, QLinearConv, Softmax
    nodes: int  # nodes of the optimized graph that ran it
    ms_per_call: float  # kernel time per model call, milliseconds
    share: float  # of the kernel time of all operators (0 to 1)
    weight_bytes: int  # bytes of the weight tensors its nodes read (0: activations only)

    @property
    def has_weights(self) -> bool:
        """Its nodes read a weight tensor: a constant of two or more dimensions (a kernel, a matrix,
        an embedding table). Shapes, biases, a LayerNorm's vectors and the scale and zero point of a
        quantized operator are constants too, but of one dimension or none."""
        return self.weight_bytes > 0


def time_by_operator(path: str | Path, inputs: torch.Tensor, calls: int = 50) -> list[OperatorTime]:
    """Run the model at ``path`` ``calls`` times on ``inputs`` with ONNX Runtime's profiler on and
    return each operator's time, largest share first."""
    size_on_disk(path)  # the file and every file it references exist (a clear message if not)
    folder = Path(tempfile.mkdtemp(prefix="day26-profile-"))
    try:
        options = session_options(threads=1)
        options.enable_profiling = True
        options.profile_file_prefix = str(folder / "profile")
        options.optimized_model_filepath = str(folder / "optimized.onnx")  # the graph that actually runs
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: as_numpy(inputs)}
        for _ in range(1 + calls):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
        weight_bytes = _weight_bytes_by_node(onnx.load(str(folder / "optimized.onnx")))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _summed_by_operator(_after_the_first_call(events), calls, weight_bytes)


def _weight_bytes_by_node(graph_model: onnx.ModelProto) -> dict[str, int]:
    """Bytes of the weight tensors (initializers of two or more dimensions) each node reads."""
    sizes = {}
    for tensor in graph_model.graph.initializer:
        if len(tensor.dims) < 2:
            continue
        element_bytes = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
        sizes[tensor.name] = int(np.prod(tensor.dims, dtype=np.int64)) * element_bytes
    return {node.name: sum(sizes.get(name, 0) for name in node.input) for node in graph_model.graph.node}


def _after_the_first_call(events: list[dict]) -> list[dict]:
    """The profile's events without those of the first call, which allocates and chooses kernels."""
    runs = sorted((event for event in events if event.get("name") == "model_run"), key=lambda event: event["ts"])
    if not runs:
        return events
    first_ends = runs[0]["ts"] + runs[0]["dur"]
    return [event for event in events if event.get("ts", 0) >= first_ends]


def _summed_by_operator(events: list[dict], calls: int, weight_bytes: dict[str, int]) -> list[OperatorTime]:
    """The kernel-time events of the profile (one per node and call, in microseconds), added up by
    operator over ``calls`` calls, with the weight bytes of the nodes that ran each operator."""
    microseconds: dict[str, int] = defaultdict(int)
    nodes: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time"):
            continue
        operator = event["args"]["op_name"]
        microseconds[operator] += int(event["dur"])
        nodes[operator].add(event["name"].removesuffix("_kernel_time"))
    total = sum(microseconds.values()) or 1
    rows = [
        OperatorTime(
            operator=operator,
            nodes=len(nodes[operator]),
            ms_per_call=duration / calls / 1000.0,
            share=duration / total,
            weight_bytes=sum(weight_bytes.get(node, 0) for node in nodes[operator]),
        )
        for operator, duration in microseconds.items()
    ]
    return sorted(rows, key=lambda row: row.share, reverse=True)


# ONNX Runtime's kernels, grouped by what the recipe can do about them. A kernel of one of these
# families that reads weights is a product with weights; everything else only moves activations.
FAMILIES: dict[str, tuple[str, ...]] = {
    "convolutions": ("Conv", "FusedConv", "QLinearConv", "ConvInteger", "ConvTranspose", "NhwcFusedConv"),
    "recurrent layers": ("LSTM", "GRU", "RNN", "DynamicQuantizeLSTM", "Loop", "Scan"),
    "matrix products": ("MatMul", "FusedMatMul", "Gemm", "FusedGemm", "MatMulInteger", "DynamicQuantizeMatMul",
                        "QLinearMatMul", "MatMulIntegerToFloat", "Attention", "MultiHeadAttention"),
    "embedding lookups": ("Gather", "GatherElements"),
}  # fmt: skip


def family_of(row: OperatorTime) -> str:
    """The family of one operator: one of :data:`FAMILIES` when it reads weights, else "activations only"."""
    if row.has_weights:
        for family, operators in FAMILIES.items():
            if row.operator in operators:
                return family
    return "activations only"


def time_by_family(rows: list[OperatorTime]) -> dict[str, float]:
    """The share of the time (0 to 1) of each family of operators, largest first."""
    shares: dict[str, float] = defaultdict(float)
    for row in rows:
        shares[family_of(row)] += row.share
    return dict(sorted(shares.items(), key=lambda item: item[1], reverse=True))


def costliest_weighted_family(rows: list[OperatorTime]) -> str | None:
    """The family of products with weights that takes the most time (what pruning and INT8 can
    speed up most), or None when no operator reads weights."""
    weighted = {family: share for family, share in time_by_family(rows).items() if family != "activations only"}
    return max(weighted, key=weighted.get) if weighted else None


def time_line(rows: list[OperatorTime]) -> str:
    """Where the time goes, in one line: each family's share, e.g. "convolutions 81%, activations only 17%"."""
    return ", ".join(f"{family} {share:.0%}" for family, share in time_by_family(rows).items() if share >= 0.005)
