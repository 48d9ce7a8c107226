"""Did a technique do what was asked? Each check here measures the effect itself and, when it falls
short, says in one line what happened, why, and what to do.

Libraries are quiet about doing nothing: ``torch.ao.quantization.quantize_dynamic`` skips layer
types it has no INT8 kernel for, torch-pruning's ``MetaPruner`` can remove no channel at all (with
``round_to`` on a model with ``GroupNorm``), and a model that never learned still gets optimized.
These checks are how the notebooks hear about it where it happens:

- :func:`learned_beyond_chance`: is a model's validation accuracy clearly above chance?
- :func:`dynamic_int8_effect`: how many layers did dynamic INT8 convert?
- :func:`dynamic_int8_speed_effect`: why did dynamic INT8 make the model faster or slower?
- :func:`structured_pruning_effect`: how many weights did structured pruning remove, and where not?
- :func:`onnx_int8_effect`: what share of an ONNX model's weight bytes did INT8 make 8-bit?
- :func:`onnx_int8_speed_effect`: is the INT8 ONNX model faster than the same model in FP32?
- :func:`static_int8_accuracy_effect`: did static INT8 keep the accuracy, and if not, was it a concatenation?
- :func:`recipes_size_effect`: did any recipe of notebook 05 make the model small enough?
- :func:`export_effect`: did the export keep a dynamic batch, and did the exporter fall back?
- :func:`calibration_effect`: does a calibration reader serve the data it was given?
- :func:`calibration_explained`: ONNX Runtime's "No data is collected." said in words.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from helpers.errors import Day26Error
from helpers.torch_time import TorchOperatorTime, milliseconds, operator_runs, top_operators

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Linear, nn.LSTM, nn.GRU, nn.Embedding, nn.EmbeddingBag)
# A model whose accuracy chance would reach this often (or more) has not shown it learned anything.
CHANCE_P_VALUE = 1e-3
# Structured pruning that removed less than this share of what was asked fell short.
PRUNING_SHORTFALL = 0.5


@dataclass(frozen=True)
class Effect:
    """The outcome of one check: ``ok`` when the technique did what was asked; ``line`` says what
    was measured and, when not ok, why and what to do."""

    ok: bool
    line: str

    def __str__(self) -> str:
        return self.line


# --- a model that learned -----------------------------------------------------------------


def chance_tail(correct: int, samples: int, classes: int = 2) -> float:
    """How often guessing (1 in ``classes``) gets at least ``correct`` of ``samples`` right: the
    one-sided binomial tail, a probability from 0 to 1."""
    p = 1.0 / classes
    if correct <= samples * p:
        return 1.0
    log_terms = [
        math.lgamma(samples + 1) - math.lgamma(k + 1) - math.lgamma(samples - k + 1)
        + k * math.log(p) + (samples - k) * math.log1p(-p)
        for k in range(correct, samples + 1)
    ]  # fmt: skip
    largest = max(log_terms)
    return min(1.0, math.exp(largest) * sum(math.exp(term - largest) for term in log_terms))


def learned_beyond_chance(accuracy: float, samples: int, classes: int = 2, where: str = "your model") -> Effect:
    """Is ``accuracy`` (a fraction, on ``samples`` validation samples) clearly above chance? Not ok
    when guessing would do as well at least once in a thousand tries (:data:`CHANCE_P_VALUE`)."""
    correct = round(accuracy * samples)
    tail = chance_tail(correct, samples, classes)
    chance = 1.0 / classes
    if tail <= CHANCE_P_VALUE:
        shown = f"{accuracy:.1%} on {samples:,} validation samples"
        return Effect(True, f"{where}: {shown}, clearly above chance ({chance:.0%})")
    return Effect(
        False,
        f"{where} gets {accuracy:.1%} of {samples:,} validation samples right and chance is {chance:.0%}: it has not "
        f"learned (guessing does this well {tail:.0%} of the time), so every speed-up and accuracy verdict of the day "
        "would be noise. Train it until its validation accuracy is clearly above chance, or delete week5_model.toml "
        "to work on the track's reference model.",
    )


# --- dynamic INT8 -------------------------------------------------------------------------


def _is_dynamic_int8(layer: nn.Module) -> bool:
    return type(layer).__module__.startswith("torch.ao.nn.quantized.dynamic")


def dynamic_int8_effect(model: nn.Module, quantized: nn.Module) -> Effect:
    """How many layers ``quantize_dynamic`` converted in ``quantized`` (a copy of ``model``); not ok
    when none was, with the layer types the model has and the ones dynamic INT8 can convert."""
    converted = [name for name, layer in quantized.named_modules() if _is_dynamic_int8(layer)]
    candidates = [name for name, layer in model.named_modules() if isinstance(layer, PRUNABLE)]
    if converted:
        return Effect(True, f"dynamic INT8 converted {len(converted)} of {len(candidates)} layers with weights")
    kinds = sorted({type(layer).__name__ for layer in model.modules() if isinstance(layer, PRUNABLE)})
    return Effect(
        False,
        f"dynamic INT8 converted none of your {len(candidates)} layers with weights ({', '.join(kinds)}): "
        "quantize_dynamic converts only the types you list, and it has kernels for nn.Linear, nn.LSTM and nn.GRU "
        "(never convolutions or embeddings). List the types your model has; for convolutions, use static INT8.",
    )


SAME_SPEED = 0.05  # within 5 % of FP32's speed: timing noise, not a gain or a loss


def dynamic_int8_speed_effect(
    speedup: float, fp32: list[TorchOperatorTime], int8: list[TorchOperatorTime], cpu: str
) -> Effect:
    """Why dynamic INT8 made your model faster or slower, from your own measurements: ``speedup`` is
    its measured speed against FP32 (the protocol's ratio), ``fp32`` and ``int8`` the two models'
    PyTorch profiles (:func:`helpers.torch_time.time_by_torch_operator`), ``cpu`` the machine's kind.
    Not ok when INT8 is more than 5 % slower; the line then says where the time went and what to do.
    The profiles give shares of the time, not milliseconds: the profiler's own cost grows with the
    number of operators run."""
    fp32_runs, int8_runs = operator_runs(fp32), operator_runs(int8)
    int8_products = sum(row.share for row in int8 if row.operator.startswith("quantized::"))
    both = (
        f"FP32 runs {fp32_runs:,} operator(s) a call, {top_operators(fp32, 1)}; "
        f"INT8 runs {int8_runs:,}, {top_operators(int8, 2)}"
    )
    if speedup > 1 + SAME_SPEED:
        return Effect(True, f"dynamic INT8 runs {speedup:.2f}x the speed of FP32 here: {both}")
    if speedup >= 1 - SAME_SPEED:
        return Effect(True, f"dynamic INT8 runs at FP32's speed here ({speedup:.2f}x): {both}")
    if int8_runs >= 3 * fp32_runs:
        why = (
            f"the INT8 model runs {int8_runs / max(fp32_runs, 1):.0f}x as many operators: PyTorch's INT8 LSTM and GRU "
            "compute one time step after another in small operations, where FP32 runs one fused kernel"
        )
    elif int8_products < 0.1:
        why = (
            f"the layers INT8 converted take {int8_products:.0%} of the INT8 model's time, so INT8 cannot explain "
            "the difference: it is timing noise or a busy machine (measure again)"
        )
    elif milliseconds(fp32) < 0.1:
        why = (
            f"an FP32 call takes {milliseconds(fp32):.3f} ms: converting the activations to INT8 and back at every "
            "call costs more than the smaller products save"
        )
    else:
        why = f"this CPU ({cpu}) computes these INT8 products no faster than FP32"
    return Effect(
        False,
        f"dynamic INT8 runs {speedup:.2f}x the speed of FP32 here, slower. {both}. Why: {why}. PyTorch's dynamic "
        "INT8 buys size here, not speed; for speed, notebook 05 removes units and runs INT8 in ONNX Runtime.",
    )


# --- structured pruning -------------------------------------------------------------------


def _weights(model: nn.Module) -> dict[str, int]:
    """Weights per layer with weights (the layer's name -> values), biases and norms left out."""
    counts = {}
    for name, layer in model.named_modules():
        if isinstance(layer, PRUNABLE):
            counts[name] = sum(p.numel() for key, p in layer.named_parameters(recurse=False) if "weight" in key)
    return counts


def _why_not_pruned(model: nn.Module, untouched: list[str], before: dict[str, int]) -> str:
    """The likeliest reason, from what the model contains, that pruning left its weights."""
    total = sum(before.values()) or 1
    embeddings = [name for name, layer in model.named_modules() if isinstance(layer, nn.Embedding | nn.EmbeddingBag)]
    embedding_share = sum(before.get(name, 0) for name in embeddings) / total
    if any(isinstance(layer, nn.GroupNorm) for layer in model.modules()):
        return (
            "your model has GroupNorm: torch-pruning then removes the same channels from every group and applies "
            "round_to inside each group, which can leave nothing to remove. Leave round_to out (the channels "
            "stay a multiple of the groups)"
        )
    if embedding_share > 0.5 and any(name in untouched for name in embeddings):
        return (
            f"{embedding_share:.0%} of the weights are in {', '.join(embeddings)}, which MetaPruner does not shrink: "
            "quantize the embedding (ONNX Runtime dynamic INT8 stores a Gather's table in 8 bits) or give it fewer "
            "dimensions"
        )
    return "check ignored_layers (only the classifier's outputs must stay) and round_to"


def structured_pruning_effect(model: nn.Module, pruned: nn.Module, asked: float) -> Effect:
    """How much of ``model``'s weights structured pruning removed in ``pruned``, against ``asked``
    (the fraction of channels or units asked to go, 0 to 1). Not ok when it removed less than
    :data:`PRUNING_SHORTFALL` of that fraction of the weights, with the layers left whole and why."""
    before, after = _weights(model), _weights(pruned)
    total_before, total_after = sum(before.values()), sum(after.values())
    removed = 1.0 - total_after / total_before if total_before else 0.0
    untouched = [name for name, count in before.items() if after.get(name) == count]
    line = (
        f"structured pruning removed {removed:.0%} of the weights ({total_before:,} -> {total_after:,}; "
        f"asked: {asked:.0%} of the channels or units)"
    )
    if removed >= PRUNING_SHORTFALL * asked:
        return Effect(True, line)
    shown = ", ".join(untouched[:6]) + (f" and {len(untouched) - 6} more" if len(untouched) > 6 else "")
    return Effect(False, f"{line}: left whole: {shown or 'none'}. Why: {_why_not_pruned(model, untouched, before)}.")


# --- INT8 in ONNX Runtime -----------------------------------------------------------------


def onnx_int8_effect(path: str, expected: bool = True) -> Effect:
    """What share of an ONNX model's weight bytes are 8-bit (int8 or uint8 initializers). Not ok when
    INT8 was ``expected`` and none is: the quantizer found no operator of the kinds it was asked for."""
    import onnx
    from onnx import numpy_helper

    weights = [numpy_helper.to_array(tensor) for tensor in onnx.load(str(path)).graph.initializer]
    total = sum(array.nbytes for array in weights) or 1
    eight_bit = sum(array.nbytes for array in weights if array.dtype.itemsize == 1)
    line = f"{eight_bit / total:.0%} of the weight bytes of {path} are 8-bit"
    if eight_bit or not expected:
        return Effect(True, line)
    return Effect(
        False,
        f"{line}: the quantizer converted nothing, and said nothing. It quantizes only the operators you list "
        "(op_types_to_quantize) that it supports: check the operators of the exported graph (notebook 04's "
        "summary) against that list.",
    )


def onnx_int8_speed_effect(speedup: float, int8_path: str | Path, fp32_path: str | Path) -> Effect:
    """Is the INT8 ONNX model at ``int8_path`` faster than the same model exported in FP32 to
    ``fp32_path``? ``speedup`` is INT8's measured speed against that FP32 file (the protocol's interleaved ratio,
    :func:`helpers.bench.compare_latency`). Not ok when INT8 is more than 5 % slower: the line counts
    the conversions of activations to 8 bits the INT8 graph runs at every call, the cost that small
    matrix products over many positions (a small Transformer's) do not earn back."""
    import onnx

    if speedup >= 1 - SAME_SPEED:
        return Effect(True, f"INT8 runs {speedup:.2f}x the speed of the same model in FP32")
    nodes = onnx.load(str(int8_path), load_external_data=False).graph.node
    conversions = sum(node.op_type in ("DynamicQuantizeLinear", "QuantizeLinear") for node in nodes)
    return Effect(
        False,
        f"INT8 runs {speedup:.2f}x the speed of the same model in FP32, slower: its graph converts activations to "
        f"8 bits {conversions} time(s) a call, and on small matrix products that costs more than the 8-bit products "
        f"save. INT8 buys this model size, not speed: weigh the two in your reflection (the FP32 file: {fp32_path}).",
    )


# Weight-holding operators: quantizing only these leaves every activation between them FP32 except
# the inputs of the layers themselves (which follow a normalization and have one range).
WEIGHT_OPERATORS = ("Conv", "Gemm", "MatMul")


def quantized_concatenations(path: str | Path) -> list[str]:
    """The ``Concat`` nodes of a QDQ model whose output goes into a ``QuantizeLinear``: concatenated
    activations stored in 8 bits with one scale for the whole tensor."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    quantized_inputs = {node.input[0] for node in graph.node if node.op_type == "QuantizeLinear"}
    return [node.name for node in graph.node if node.op_type == "Concat" and node.output[0] in quantized_inputs]


def static_int8_accuracy_effect(
    path: str | Path, accuracy_drop_points: float, budget_points: float, technique: str = "static INT8"
) -> Effect:
    """Did ``technique`` (ending in static INT8: ``path``, a QDQ model) keep the accuracy within
    ``budget_points`` of the FP32 baseline? ``accuracy_drop_points`` is measured on the validation
    split, in percentage points (a gain is negative). When it did not, the line names the cause this
    check can see in the graph: a concatenation carried in 8 bits. ``torch.cat`` of feature maps (a
    DenseNet-style block) stacks channels whose ranges differ into one tensor, and QDQ gives each
    activation one 8-bit scale: the channels with small ranges round to a few levels. (A DenseNet-style
    CNN lost 20 points this way, and none with only its weight-holding layers quantized.)"""
    line = f"{technique} changed the accuracy by {-accuracy_drop_points:+.1f} points (budget: -{budget_points:g})"
    if accuracy_drop_points <= budget_points:
        return Effect(True, line)
    concatenations = quantized_concatenations(path)
    if concatenations:
        more = len(concatenations) - 3
        named = ", ".join(concatenations[:3]) + (f" and {more} more" if more > 0 else "")
        return Effect(
            False,
            f"{line}: {len(concatenations)} concatenation(s) ({named}) are carried in 8 bits with one scale for "
            "channels of very different ranges, which rounds the small ones away. Quantize only the layers "
            f"that hold weights: op_types_to_quantize={list(WEIGHT_OPERATORS)} (notebook 02, hint 1).",
        )
    return Effect(
        False,
        f"{line}: the activation-error table of notebook 02 shows where the error builds up; leave that "
        "layer FP32 (nodes_to_exclude), or calibrate on more samples.",
    )


def recipes_size_effect(
    recipes: dict[str, tuple[float, float, float]], min_size_reduction: float, max_accuracy_drop: float
) -> Effect:
    """Did any recipe reach the size target? ``recipes`` maps a recipe's name to (the fraction it
    pruned, how many times smaller than the baseline its file is, the accuracy it lost in points).
    Not ok when none reached ``min_size_reduction``: the line names the closest one and says whether
    its accuracy leaves room to prune more. A small model's file keeps bytes no pruning removes (the
    graph: names, scales, the first layer), so the track's suggested amount can fall short."""
    if not recipes or min_size_reduction <= 0:
        return Effect(True, "no size target for this track")
    best = max(recipes, key=lambda name: recipes[name][1])
    amount, reduction, lost = recipes[best]
    line = f"the smallest recipe, {best!r} (prune {amount:.0%}), is {reduction:.2f}x smaller"
    line += f" (target {min_size_reduction:g}x)"
    if reduction >= min_size_reduction:
        return Effect(True, line)
    if lost < max_accuracy_drop:
        return Effect(
            False,
            f"{line}; its accuracy changed by {-lost:+.1f} points, inside the {max_accuracy_drop:g} it may lose: "
            f"add a recipe that prunes more than {amount:.0%} and run this cell again.",
        )
    return Effect(
        False,
        f"{line}, and it already lost {lost:.1f} points (budget {max_accuracy_drop:g}): pruning more would cost "
        "more accuracy. Give the recipe more epochs of fine-tuning, or keep it and say why in your reflection.",
    )


# --- export to ONNX -----------------------------------------------------------------------

# torch.onnx.export tries ways to capture the graph in turn and logs each, e.g.
# "[torch.onnx] Obtain model graph for `Net([...]` with `torch.export.export(..., strict=False)`... ✅"
_CAPTURE_LINE = re.compile(r"Obtain model graph for .* with `(?P<how>.+?)`\.\.\. (?P<outcome>✅|❌)")


def capture_attempts(exporter_text: str) -> list[tuple[str, bool]]:
    """The exporter's tries at capturing the graph, in order: (how, whether it worked)."""
    return [(match["how"], match["outcome"] == "✅") for match in _CAPTURE_LINE.finditer(exporter_text)]


def export_effect(path: str | Path, exporter_text: str = "") -> Effect:
    """Did ``torch.onnx.export`` write a model with a dynamic batch dimension, and how did it capture
    the graph? ``exporter_text`` is what the exporter printed (a ``library_output`` block's stdout and
    stderr). Not ok when the batch dimension is a fixed number: a batch of any other size then fails."""
    import onnx

    model_input = onnx.load(str(path), load_external_data=False).graph.input[0]
    batch = model_input.type.tensor_type.shape.dim[0]
    attempts = capture_attempts(exporter_text)
    failed = [how for how, worked in attempts if not worked]
    captured = next((how for how, worked in attempts if worked), None)
    fell_back = f"; the exporter fell back: {', '.join(failed)} failed, {captured} captured the graph" if failed else ""
    name = Path(path).name
    if batch.dim_param:
        return Effect(True, f"{name}: input {model_input.name!r} with a dynamic batch ({batch.dim_param}){fell_back}")
    return Effect(
        False,
        f"{name}: the batch dimension of input {model_input.name!r} is fixed at {batch.dim_value}{fell_back}: any "
        "other batch size fails in ONNX Runtime. Pass dynamic_shapes keyed to forward()'s argument name, with an "
        "example batch of 2 (from a batch of 1 the exporter assumes 1 always).",
    )


# --- calibration for static INT8 ----------------------------------------------------------

# Why a calibration reader serves nothing, and what to do: said by both checks below.
EMPTY_READER = (
    "the reader's get_next returned None at its first call (a generator used up by an earlier call, or an empty "
    "dataset). Build a new reader for each quantize_static call, over a dataset with samples."
)


def calibration_effect(reader, samples_given: int) -> Effect:
    """Read a fresh calibration reader (an ONNX Runtime ``CalibrationDataReader``) to its end, as
    ``quantize_static`` will, and count what it serves. ``samples_given`` is the number of samples of
    the dataset it was built over. Not ok when it serves no batch, or fewer samples than it was given:
    the ranges of every INT8 activation come from those samples alone."""
    batches, samples, names = 0, 0, set()
    for _ in range(100_000):  # a reader that never returns None would hang quantize_static too
        feed = reader.get_next()
        if feed is None:
            break
        if not all(isinstance(array, np.ndarray) for array in feed.values()):
            return Effect(
                False,
                "calibration: the reader serves something other than numpy arrays: convert each batch "
                "with .numpy() (ONNX Runtime reads numpy arrays only)",
            )
        batches += 1
        names |= set(feed)
        samples += len(next(iter(feed.values())))
    else:
        return Effect(
            False,
            "calibration: the reader served 100,000 batches and never returned None: get_next must "
            "return None when the data is used up, or quantize_static never ends",
        )
    if batches == 0:
        return Effect(
            False,
            'calibration: the reader served no batch, so quantize_static will stop with "No data is collected.": '
            + EMPTY_READER,
        )
    line = f"calibration: the reader serves {samples:,} samples in {batches} batch(es) to input(s) {sorted(names)}"
    if samples < samples_given:
        return Effect(
            False,
            f"{line}, of the {samples_given:,} it was given: the activation ranges come from the "
            "samples it serves alone. Serve every batch, the last partial one too.",
        )
    return Effect(True, line)


@contextlib.contextmanager
def calibration_explained() -> Iterator[None]:
    """Around ``quantize_static``: its ``ValueError("No data is collected.")`` becomes a one-line
    :class:`Day26Error` that says why it happens and what to do. Every other error passes unchanged."""
    try:
        yield
    except ValueError as error:
        if "No data is collected" not in str(error):
            raise
        raise Day26Error("quantize_static saw no calibration data: " + EMPTY_READER) from error
