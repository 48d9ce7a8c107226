"""What quantization did to each layer: its type before and after, and its bytes.

``layer_changes(model, quantized)`` lines up every layer that holds weights (Conv, Linear, LSTM,
GRU, Embedding, norms...) in the original model with the same layer of the quantized copy, so you
can see which layers a technique really converted and what each one weighs now. Bytes are those
of the layer's stored tensors (weights, biases, buffers): 4 per FP32 value, 1 per INT8 value.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from helpers.int8_state import portable_state_dict
from helpers.measure import state_tensors


@dataclass
class LayerChange:
    """One layer, before and after. Sizes in bytes of its stored tensors."""

    name: str
    type_before: str
    type_after: str
    params: int
    bytes_before: int
    bytes_after: int

    @property
    def converted(self) -> bool:
        """Did the layer become another kind of layer (e.g. a dynamically quantized Linear)?"""
        return self.type_after != self.type_before


def _layer_bytes(state: dict, name: str) -> int:
    prefix = f"{name}."
    return sum(tensor.numel() * tensor.element_size() for key, tensor in state_tensors(state) if key.startswith(prefix))


def _layers_with_weights(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Leaf layers (no sub-layers) that hold parameters, and LSTM/GRU layers as a whole."""
    found = []
    for name, module in model.named_modules():
        recurrent = isinstance(module, nn.RNNBase)
        if name and (recurrent or not list(module.children())) and any(True for _ in module.parameters()):
            found.append((name, module))
    return found


def type_name(layer: nn.Module) -> str:
    """The layer's kind: "Linear", or "dynamic INT8 Linear" for one of torch.ao's quantized layers."""
    module, name = type(layer).__module__, type(layer).__name__
    if ".quantized.dynamic" in module:
        return f"dynamic INT8 {name}"
    return f"INT8 {name}" if ".quantized" in module else name


def layer_changes(model: nn.Module, changed: nn.Module) -> list[LayerChange]:
    """Every weighted layer of ``model`` next to the same layer in ``changed`` (e.g. its quantized copy)."""
    before, after = portable_state_dict(model), portable_state_dict(changed)
    return [
        LayerChange(
            name=name,
            type_before=type_name(layer),
            type_after=type_name(changed.get_submodule(name)),
            params=sum(parameter.numel() for parameter in layer.parameters()),
            bytes_before=_layer_bytes(before, name),
            bytes_after=_layer_bytes(after, name),
        )
        for name, layer in _layers_with_weights(model)
    ]


def layer_table(changes: list[LayerChange]) -> str:
    """The changes as a table, with the totals and how many layers were converted."""
    header = f"{'layer':<28} {'type before':<14} {'type after':<26} {'params':>10} {'bytes before':>13} {'after':>11}"
    lines = [header, "-" * len(header)]
    for change in changes:
        mark = "" if change.converted else "   (unchanged)"
        lines.append(
            f"{change.name:<28} {change.type_before:<14} {change.type_after:<26} {change.params:>10,} "
            f"{change.bytes_before:>13,} {change.bytes_after:>11,}{mark}"
        )
    converted = sum(change.converted for change in changes)
    before = sum(change.bytes_before for change in changes)
    after = sum(change.bytes_after for change in changes)
    lines.append(
        f"{converted} of {len(changes)} layers converted; {before:,} -> {after:,} bytes ({before / after:.2f}x)"
    )
    return "\n".join(lines)


def bytes_by_kind(model: nn.Module) -> dict[str, int]:
    """Where a model's bytes are: the bytes of the tensors each layer holds itself (weights, biases,
    buffers), summed by layer type (e.g. ``{"Embedding": 1_920_000, "Linear": 12_552}``), largest
    first. Parameters of the model itself (a Transformer's learned positions, a CLS token) count as
    ``"other parameters"``."""
    totals: dict[str, int] = {}
    for name, module in model.named_modules():
        own = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
        size = sum(tensor.numel() * tensor.element_size() for tensor in own)
        if size:
            kind = "other parameters" if not name else type_name(module).replace("NonDynamicallyQuantizable", "")
            totals[kind] = totals.get(kind, 0) + size
    return dict(sorted(totals.items(), key=lambda item: item[1], reverse=True))


def bytes_line(model: nn.Module) -> str:
    """One line: the share of the model's bytes in each kind of layer, e.g. 'Embedding 97%, Linear 3%'."""
    totals = bytes_by_kind(model)
    whole = sum(totals.values()) or 1
    return ", ".join(f"{kind} {size / whole:.0%}" for kind, size in totals.items() if size / whole >= 0.005)
