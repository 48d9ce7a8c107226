"""Is a learner's model.onnx their own baseline, from data alone?

For an own Week-5 model the verifier cannot build the architecture (that would run the learner's
code), so it measures the optimized artifacts against the learner's ``model.onnx`` in ONNX Runtime.
That is only fair if ``model.onnx`` really is the declared model, unchanged and not padded with work
that makes it slow. This module checks both from the files' tensors, never from code:

- **the declared weights**: every weight tensor of ``baseline.pth`` (two or more dimensions: kernels,
  matrices, embeddings) is found in ``model.onnx``'s initializers: row by row, exactly (the exporter
  copies tensors; recurrent layers' gates are reordered and stacked, Linear weights may be
  transposed), or scaled per output channel (a BatchNorm folded into the layer before it);
- **no padding**: ``model.onnx`` holds no sizeable weights that are not baseline.pth's, no control
  flow (``Loop``, ``Scan``, ``If``), and every matrix product or convolution has a weight operand,
  except the two products per attention softmax.

What it cannot tell: padding made of cheap element-wise operators alone, or a baseline.pth that was
itself trained to be slow. The docs (docs/design.md, "Grading an own model") say so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import onnx
import torch
from onnx import numpy_helper

WEIGHT_OPERATORS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum", "LSTM", "GRU", "RNN"}
# The same products after ONNX Runtime's quantizer (dynamic INT8 and QOperator forms)
QUANTIZED_PRODUCTS = {
    "MatMulInteger", "ConvInteger", "QLinearConv", "QLinearMatMul", "DynamicQuantizeLSTM",
    "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention",
}  # fmt: skip
CONTROL_FLOW = {"Loop", "Scan", "If"}
# nn.MultiheadAttention keeps its input projections as parameters of its own, outside any Linear
# layer, so the notebooks' prunable layers (Conv, Linear, LSTM, GRU) and sparsity leave them out
ATTENTION_PROJECTIONS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")
ROWS_FOUND = 0.99  # fraction of a weight's rows that must be found in model.onnx
FOREIGN_WEIGHTS_ALLOWED = 4096  # initializer elements not from baseline.pth (shape constants, scales)
CHANNEL_SCALE_TOLERANCE = 1e-4  # relative spread of one output channel's ratio (BatchNorm folded)
# The least cosine, over pruned.pth's weight tensors, of its kept weights with baseline.pth's at the
# same places. One pass of fine-tuning with the masks on (notebook 03) kept it at 0.9995 for an own plain CNN;
# the same architecture with weights of another seed, pruned alike, gave -0.01 (tests/test_own_baseline.py).
KEPT_SIMILARITY = 0.9


@dataclass
class BaselineFinding:
    """What the comparison of baseline.pth with model.onnx found: ``problems`` is empty when
    model.onnx is the declared model and holds no padding."""

    weights_in_baseline: int  # elements of baseline.pth's weight tensors (2+ dimensions)
    weights_found: int  # of those, elements found in model.onnx
    foreign_weights: int  # elements of model.onnx's initializers not from baseline.pth
    problems: list[str] = field(default_factory=list)
    # baseline.pth's tensors that model.onnx multiplies with (kernels and matrices of Conv, Gemm,
    # MatMul, LSTM, GRU), the weights pruning is about; not an embedding table (Gather) nor the
    # input projections of nn.MultiheadAttention (ATTENTION_PROJECTIONS), which the notebooks leave
    multiplied: set[str] = field(default_factory=set)

    @property
    def trusted(self) -> bool:
        return not self.problems


def _rows(array: np.ndarray) -> np.ndarray:
    """``array`` as a 2-D array of rows: one row per output channel (first dimension)."""
    return np.ascontiguousarray(array.reshape(array.shape[0], -1) if array.ndim > 1 else array.reshape(1, -1))


def _row_views(array: np.ndarray) -> list[np.ndarray]:
    """The ways an exported tensor may hold a baseline tensor's rows: by first dimension, by last
    dimension (stacked recurrent weights), and transposed (a Linear layer exported for MatMul)."""
    views = [_rows(array)]
    if array.ndim > 2:
        views.append(np.ascontiguousarray(array.reshape(-1, array.shape[-1])))
    if array.ndim == 2:
        views.append(np.ascontiguousarray(array.T))
    return views


def float_initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The floating-point initializers of an ONNX model by name, as float32 arrays."""
    tensors = {}
    for initializer in model.graph.initializer:
        array = numpy_helper.to_array(initializer)
        if np.issubdtype(array.dtype, np.floating):
            tensors[initializer.name] = array.astype(np.float32)
    return tensors


def _scaled_match(weight: np.ndarray, exported: np.ndarray) -> bool:
    """``exported`` is ``weight`` with every output channel multiplied by one factor (BatchNorm folded)."""
    if weight.shape != exported.shape:
        return False
    rows_w, rows_e = _rows(weight).astype(np.float64), _rows(exported).astype(np.float64)
    for row_w, row_e in zip(rows_w, rows_e, strict=True):
        used = np.abs(row_w) > 1e-8
        if not used.any():
            continue
        ratios = row_e[used] / row_w[used]
        middle = np.median(ratios)
        if middle == 0 or np.max(np.abs(ratios - middle)) > CHANNEL_SCALE_TOLERANCE * abs(middle):
            return False
    return True


def compare_baseline_with_onnx(baseline: dict[str, torch.Tensor], model: onnx.ModelProto) -> BaselineFinding:
    """Check that ``model`` (a loaded model.onnx) holds the weights of ``baseline`` (baseline.pth's
    state_dict, loaded as data) and no padding; see the module's docstring for the rules."""
    exported = float_initializers(model)
    holders: dict[bytes, set[str]] = {}  # one row's bytes -> the initializers holding that row
    for name, array in exported.items():
        for view in _row_views(array):
            for row in view:
                holders.setdefault(row.tobytes(), set()).add(name)
    sources: Counter[str] = Counter()  # initializer -> how many baseline tensors it holds
    held_by: dict[str, set[str]] = {}  # baseline tensor -> the initializers holding it
    total = found = 0
    missing = []
    for name, tensor in baseline.items():
        if not torch.is_floating_point(tensor) or tensor.dim() < 2:
            continue
        weight = tensor.detach().float().numpy()
        rows = [holders.get(row.tobytes()) for row in _rows(weight)]
        total += weight.size
        if sum(row is not None for row in rows) >= ROWS_FOUND * len(rows):
            found += weight.size
            held_by[name] = set().union(*(row for row in rows if row is not None))
            sources.update(held_by[name])
            continue
        scaled = next((other for other, array in exported.items() if _scaled_match(weight, array)), None)
        if scaled is not None:
            found += weight.size
            held_by[name] = {scaled}
            sources[scaled] += 1
            continue
        missing.append(name)
    foreign = sum(array.size for name, array in exported.items() if name not in sources and array.ndim >= 2)
    multiplied_initializers = _multiplied_initializers(model)
    finding = BaselineFinding(total, found, foreign)
    finding.multiplied = {
        name
        for name, holders_of in held_by.items()
        if holders_of & multiplied_initializers and not name.endswith(ATTENTION_PROJECTIONS)
    }
    if total == 0:
        finding.problems.append("baseline.pth holds no weight tensors to compare")
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        finding.problems.append(
            f"model.onnx does not hold baseline.pth's {shown}: it is not the declared model, exported unchanged"
        )
    if foreign > FOREIGN_WEIGHTS_ALLOWED:
        finding.problems.append(f"model.onnx holds {foreign:,} weights that are not baseline.pth's (padding)")
    finding.problems += _padding_in_graph(model, sources)
    return finding


def multiplied_weight_count(model: onnx.ModelProto) -> int:
    """Elements of the weight tensors (2+ dimensions) that reach a matrix product or convolution,
    in FP32 or quantized form: what structured pruning shrinks. An embedding table (read by Gather)
    is not counted, nor biases and quantization scales."""
    origins = _constant_origins(model)
    shapes = {i.name: list(i.dims) for i in model.graph.initializer}
    used: set[str] = set()
    for node in model.graph.node:
        if node.op_type in WEIGHT_OPERATORS | QUANTIZED_PRODUCTS:
            for name in node.input:
                used |= origins.get(name, set())
    return sum(int(np.prod(shapes[name])) for name in used if len(shapes[name]) >= 2)


def _constant_origins(model: onnx.ModelProto) -> dict[str, set[str]]:
    """For every tensor computed from constants only (initializers, Constant nodes, and nodes of
    those, a Transpose of a weight say), the initializers it comes from."""
    origins: dict[str, set[str]] = {i.name: {i.name} for i in model.graph.initializer}
    for node in model.graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type == "Constant" or (inputs and all(name in origins for name in inputs)):
            found = set().union(*(origins[name] for name in inputs)) if inputs else set()
            for output in node.output:
                origins[output] = found
    return origins


def _multiplied_initializers(model: onnx.ModelProto) -> set[str]:
    """The initializers that reach a weight operand of a matrix product or convolution, directly or
    through nodes of constants only (a Transpose of a weight, say)."""
    origins = _constant_origins(model)
    multiplied: set[str] = set()
    for node in model.graph.node:
        if node.op_type in WEIGHT_OPERATORS:
            for name in _weight_inputs(node):
                multiplied |= origins.get(name, set())
    return multiplied


def _weight_inputs(node: onnx.NodeProto) -> list[str]:
    """The inputs of a matrix product or convolution that may be weights: both factors of MatMul and
    Einsum, the kernel of Conv, B of Gemm, W and R of the recurrent operators."""
    inputs = list(node.input)
    if node.op_type in ("MatMul", "Einsum"):
        return [name for name in inputs if name]
    if node.op_type in ("LSTM", "GRU", "RNN"):
        return inputs[1:3]
    return inputs[1:2]


def _padding_in_graph(model: onnx.ModelProto, sources: Counter[str]) -> list[str]:
    """Work in the graph that no declared weight explains: control flow, and matrix products or
    convolutions between activations beyond the two of each attention softmax, and a weight used by
    more products than baseline.pth has copies of it (``sources``)."""
    problems = []
    operators = [node.op_type for node in model.graph.node]
    loops = sorted(set(operators) & CONTROL_FLOW)
    if loops:
        problems.append(f"model.onnx has control flow ({', '.join(loops)}), which a Week-5 model's export has not")
    derived = set(_constant_origins(model))  # tensors computed from constants only (a transposed weight, say)
    weighted = [node for node in model.graph.node if node.op_type in WEIGHT_OPERATORS]
    unexplained = sum(1 for node in weighted if not any(name in derived for name in _weight_inputs(node)))
    allowed = 2 * operators.count("Softmax")
    if unexplained > allowed:
        problems.append(
            f"model.onnx has {unexplained} matrix products or convolutions without a weight "
            f"({allowed} expected from its attention): work that is not the declared model's"
        )
    uses = Counter(name for node in weighted for name in _weight_inputs(node) if name in derived)
    reused = sorted(name for name, count in uses.items() if count > max(1, sources[name]))
    if reused:
        problems.append(f"model.onnx uses the weight {reused[0]} in {uses[reused[0]]} products: work done twice")
    return problems


@dataclass(frozen=True)
class PrunedFinding:
    """pruned.pth against baseline.pth, as data: how sparse its weights are, and whether the weights
    it kept are the baseline's. Pruning zeroes weights; a short fine-tune with the masks on (notebook
    03, when the zeros cost too much accuracy) moves the others a little. Neither replaces them."""

    sparsity: float  # fraction of zeros in the weight tensors (2+ dimensions)
    kept_from_baseline: float  # fraction of the nonzero weights exactly equal to the baseline's
    similarity: float  # cosine of the kept weights with the baseline's at the same places (1 = unchanged)
    problems: tuple[str, ...]

    @property
    def fine_tuned(self) -> bool:
        """The kept weights moved (a fine-tune after pruning), but stayed the baseline's."""
        return self.kept_from_baseline < 1.0 and not self.problems


def compare_pruned_with_baseline(
    baseline: dict[str, torch.Tensor], pruned: dict[str, torch.Tensor], multiplied: set[str] | None = None
) -> PrunedFinding:
    """Compare a pruned state_dict with the baseline's, tensor by tensor of the same name. Sparsity
    counts the ``multiplied`` tensors (see :class:`BaselineFinding`), the weights the notebooks prune,
    or every weight tensor when model.onnx could not tell. The kept weights must be the baseline's:
    equal, or close to them in every tensor (cosine at least ``KEPT_SIMILARITY``), as after a short
    fine-tune; another model's weights, pruned, are not (their cosine with these is near 0)."""
    weights = [name for name, t in baseline.items() if torch.is_floating_point(t) and t.dim() >= 2]
    if multiplied:
        weights = [name for name in weights if name in multiplied]
    absent = [name for name in weights if name not in pruned or pruned[name].shape != baseline[name].shape]
    if absent or not weights:
        why = f"pruned.pth does not have baseline.pth's {', '.join(absent[:3]) or 'weights'} with the same shapes"
        return PrunedFinding(0.0, 0.0, 0.0, (why,))
    elements = zeros = kept = same = 0
    similarities = {}
    for name in weights:
        before, after = baseline[name].double(), pruned[name].double()
        nonzero = after != 0
        elements += after.numel()
        zeros += int((~nonzero).sum())
        kept += int(nonzero.sum())
        same += int((after[nonzero] == before[nonzero]).sum())
        if nonzero.any():
            similarities[name] = float(torch.nn.functional.cosine_similarity(after[nonzero], before[nonzero], dim=0))
    kept_fraction = same / kept if kept else 1.0
    least = min(similarities, key=similarities.get) if similarities else None
    similarity = similarities[least] if least else 1.0
    problems = ()
    if similarity < KEPT_SIMILARITY:
        share = f"only {kept_fraction:.1%} of pruned.pth's nonzero weights are baseline.pth's"
        problems = (f"{share}, and its {least} is unlike baseline.pth's (cosine {similarity:.2f}): "
                    "it is not the baseline pruned",)  # fmt: skip
    return PrunedFinding(zeros / elements, kept_fraction, similarity, problems)
