"""Saving and loading a dynamically quantized (PyTorch INT8) model's weights safely.

A quantized LSTM or GRU keeps its weights in packed C++ objects; a plain ``torch.save(model.state_dict())``
of it cannot be read back with ``torch.load(..., weights_only=True)``, the only safe way to load a
file someone else made. :func:`save_dynamic_int8` stores plain INT8 tensors instead, and
:func:`load_dynamic_int8` puts them back into the INT8 form of the architecture.
"""

from __future__ import annotations

import collections
import copy
import warnings
from pathlib import Path

import torch
from torch import nn

# The layer types a saved dynamic INT8 state_dict is read with: every type PyTorch's dynamic INT8
# converts that a Week-5 model of the day uses (Linear layers and the recurrent LSTM and GRU).
DYNAMIC_INT8_LAYERS = {nn.Linear, nn.LSTM, nn.GRU}


def dynamic_int8_form(model: nn.Module, layers: set | None = None) -> nn.Module:
    """A copy of ``model`` with its ``layers`` in their dynamic INT8 form, the form a saved INT8
    state_dict is loaded into. ``layers`` is a set of layer types or of layer names, as
    ``quantize_dynamic`` takes it (default: :data:`DYNAMIC_INT8_LAYERS`). (``torch.ao.quantization``
    announces its deprecation on every call; that notice is silenced here, where it arises.)"""
    model = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*deprecated.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation.*", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, layers or DYNAMIC_INT8_LAYERS, dtype=torch.qint8)


def int8_layer_names(model: nn.Module, state: dict) -> set[str]:
    """Names of the layers of ``model`` that a portable INT8 ``state`` holds in INT8: a Linear whose
    weights are packed (``<name>._packed_params``), an LSTM or GRU whose weights are INT8 tensors.
    Whoever quantized chose those layers; loading follows their choice."""
    names = set()
    for name, layer in model.named_modules():
        if isinstance(layer, nn.Linear) and f"{name}._packed_params._packed_params" in state:
            names.add(name)
        weight = state.get(f"{name}.weight_ih_l0")
        if isinstance(layer, nn.LSTM | nn.GRU) and isinstance(weight, torch.Tensor) and weight.is_quantized:
            names.add(name)
    return names


def _quantized_recurrent_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, layer)`` of every dynamically quantized LSTM or GRU in ``model``."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.ao.nn.quantized.dynamic.LSTM | torch.ao.nn.quantized.dynamic.GRU)
    ]


def portable_state_dict(model: nn.Module) -> dict:
    """A state_dict of a dynamically quantized model that loads with ``weights_only=True``.

    A quantized LSTM or GRU keeps its weights in packed C++ objects, which ``torch.load(...,
    weights_only=True)`` refuses to unpickle. Here they are replaced by plain INT8 tensors
    (``lstm.weight_ih_l0`` and so on) and FP32 biases. Other layers are unchanged.
    """
    state = model.state_dict()
    for name, layer in _quantized_recurrent_layers(model):
        for key in [key for key in state if key.startswith(f"{name}._all_weight_values.")]:
            del state[key]
        weights_and_biases = layer._weight_bias()
        for group in ("weight", "bias"):
            for key, tensor in weights_and_biases[group].items():
                state[f"{name}.{key}"] = tensor.detach()
    return state


def save_dynamic_int8(model: nn.Module, path: str | Path) -> Path:
    """Save a dynamically quantized model's weights (see :func:`portable_state_dict`)."""
    path = Path(path)
    torch.save(portable_state_dict(model), path)
    return path


def load_dynamic_int8(model: nn.Module, state: dict) -> nn.Module:
    """Load a portable INT8 state_dict into ``model`` (an FP32 architecture), strictly.

    The layers that ``state`` holds in INT8 (:func:`int8_layer_names`) are first converted with
    :func:`dynamic_int8_form`; then every key of ``state`` must match. Raises ``RuntimeError`` (like
    ``load_state_dict``) when the keys or shapes do not fit.
    """
    layers = int8_layer_names(model, state)
    if not layers:
        raise RuntimeError("no layer of the architecture is INT8 in this state_dict")
    quantized = dynamic_int8_form(model, layers)
    metadata = getattr(state, "_metadata", None)  # layer versions: they decide how layers load
    state = collections.OrderedDict(state)
    state._metadata = metadata  # type: ignore[attr-defined]
    for name, layer in _quantized_recurrent_layers(quantized):
        expected = portable_state_dict(quantized)
        layer_keys = [key for key in expected if key.startswith(f"{name}.") and "." not in key[len(name) + 1 :]]
        missing = [key for key in layer_keys if key not in state]
        if missing:
            raise RuntimeError(f"Missing key(s) in state_dict: {', '.join(missing)}")
        for key in layer_keys:
            if state[key].shape != expected[key].shape:
                raise RuntimeError(
                    f"size mismatch for {key}: {tuple(state[key].shape)} != {tuple(expected[key].shape)}"
                )
        layer.set_weight_bias({key[len(name) + 1 :]: state.pop(key) for key in layer_keys})
        state.update({key: value for key, value in quantized.state_dict().items() if key.startswith(f"{name}._all_")})
    quantized.load_state_dict(state, strict=True)
    return quantized.eval()
