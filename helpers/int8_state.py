"""Saving and loading a dynamically quantized (PyTorch INT8) model's weights safely.

A quantized LSTM keeps its weights in packed C++ objects; a plain ``torch.save(model.state_dict())``
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

# The layer types a saved dynamic INT8 state_dict is read with (the reference models' INT8 layers).
DYNAMIC_INT8_LAYERS = {nn.Linear, nn.LSTM}


def dynamic_int8_form(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with the layers of :data:`DYNAMIC_INT8_LAYERS` in their dynamic INT8 form,
    the form a saved INT8 state_dict is loaded into. (``torch.ao.quantization`` announces its
    deprecation on every call; that notice is silenced here, where it arises.)"""
    model = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*deprecated.*", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation.*", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, DYNAMIC_INT8_LAYERS, dtype=torch.qint8)


def _quantized_lstms(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, layer)`` of every dynamically quantized LSTM in ``model``."""
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.ao.nn.quantized.dynamic.LSTM)
    ]


def portable_state_dict(model: nn.Module) -> dict:
    """A state_dict of a dynamically quantized model that loads with ``weights_only=True``.

    A quantized LSTM keeps its weights in packed C++ objects, which ``torch.load(...,
    weights_only=True)`` refuses to unpickle. Here they are replaced by plain INT8 tensors
    (``lstm.weight_ih_l0`` and so on) and FP32 biases. Other layers are unchanged.
    """
    state = model.state_dict()
    for name, lstm in _quantized_lstms(model):
        for key in [key for key in state if key.startswith(f"{name}._all_weight_values.")]:
            del state[key]
        weights_and_biases = lstm._weight_bias()
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

    The model is first converted with :func:`dynamic_int8_form` so its layers have the
    INT8 form; then every key of ``state`` must match. Raises ``RuntimeError`` (like
    ``load_state_dict``) when the keys or shapes do not fit.
    """
    quantized = dynamic_int8_form(model)
    metadata = getattr(state, "_metadata", None)  # layer versions: they decide how layers load
    state = collections.OrderedDict(state)
    state._metadata = metadata  # type: ignore[attr-defined]
    for name, lstm in _quantized_lstms(quantized):
        expected = portable_state_dict(quantized)
        lstm_keys = [key for key in expected if key.startswith(f"{name}.") and "." not in key[len(name) + 1 :]]
        missing = [key for key in lstm_keys if key not in state]
        if missing:
            raise RuntimeError(f"Missing key(s) in state_dict: {', '.join(missing)}")
        for key in lstm_keys:
            if state[key].shape != expected[key].shape:
                raise RuntimeError(
                    f"size mismatch for {key}: {tuple(state[key].shape)} != {tuple(expected[key].shape)}"
                )
        lstm.set_weight_bias({key[len(name) + 1 :]: state.pop(key) for key in lstm_keys})
        state.update({key: value for key, value in quantized.state_dict().items() if key.startswith(f"{name}._all_")})
    quantized.load_state_dict(state, strict=True)
    return quantized.eval()
