"""How much error INT8 puts into each layer's weights, measured as a signal-to-noise ratio.

INT8 stores a weight as a whole number from -127 to 127 times a scale. The rounding adds noise;
how much depends on the spread of the layer's weights: one large weight stretches the scale and
every small weight then rounds coarsely. The figure used here is the *signal-to-quantization-noise
ratio* (SQNR), in decibels: ``20 * log10(|w| / |w - int8(w)|)`` over the layer's weights. Higher is
better; every 6 dB halves the error. ONNX Runtime's ``qdq_loss_debug`` reports the same figure.

Two ways of choosing the scale are compared: one scale for the whole tensor ("per tensor", what
PyTorch's dynamic INT8 does) and one per output channel ("per channel", what the workbook's static
INT8 uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class WeightError:
    """INT8 rounding error of one weight tensor, in dB (higher is better)."""

    layer: str
    kind: str  # the layer's type, e.g. "Conv2d"
    values: int  # number of weights in the tensor
    per_tensor_db: float
    per_channel_db: float


def sqnr_db(original: torch.Tensor, approximation: torch.Tensor) -> float:
    """Signal-to-noise ratio of ``approximation`` against ``original``, in decibels."""
    original, approximation = original.detach().float(), approximation.detach().float()
    signal = float(original.norm())
    noise = float((original - approximation).norm())
    return 20.0 * math.log10(max(signal, 1e-12) / max(noise, 1e-12))


def int8_round_trip(weight: torch.Tensor, per_channel: bool) -> torch.Tensor:
    """``weight`` rounded to symmetric INT8 and back to float (per output channel: row 0 is
    channel 0, as in Conv and Linear weights)."""
    weight = weight.detach().float()
    if per_channel:
        largest = weight.abs().reshape(len(weight), -1).amax(dim=1)
        largest = largest.reshape(-1, *([1] * (weight.dim() - 1)))
    else:
        largest = weight.abs().max()
    scale = largest.clamp(min=1e-12) / 127.0
    return torch.round(weight / scale).clamp(-127, 127) * scale


def _weights(model: nn.Module) -> list[tuple[str, str, torch.Tensor]]:
    """``(name, layer type, weight)`` of every Conv, Linear, Embedding and recurrent weight matrix."""
    found = []
    for name, module in model.named_modules():
        kind = type(module).__name__
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Linear | nn.Embedding):
            found.append((f"{name}.weight", kind, module.weight))
        elif isinstance(module, nn.LSTM | nn.GRU):
            found += [
                (f"{name}.{w}", kind, getattr(module, w)) for w in module._flat_weights_names if w.startswith("weight")
            ]
    return found


def int8_weight_errors(model: nn.Module) -> list[WeightError]:
    """The INT8 rounding error of every weight matrix of an FP32 ``model``, per tensor and per channel."""
    return [
        WeightError(
            name,
            kind,
            weight.numel(),
            sqnr_db(weight, int8_round_trip(weight, False)),
            sqnr_db(weight, int8_round_trip(weight, True)),
        )
        for name, kind, weight in _weights(model)
    ]


def weight_error_table(errors: list[WeightError]) -> str:
    """A text table of :func:`int8_weight_errors`, worst per-tensor figure marked."""
    worst = min(errors, key=lambda error: error.per_tensor_db) if errors else None
    lines = [f"{'weights':<28} {'type':<10} {'values':>10} {'per tensor':>11} {'per channel':>12}"]
    for error in errors:
        mark = "  <- most error" if error is worst else ""
        lines.append(
            f"{error.layer:<28} {error.kind:<10} {error.values:>10,} {error.per_tensor_db:>8.1f} dB "
            f"{error.per_channel_db:>9.1f} dB{mark}"
        )
    return "\n".join(lines)
