"""Is this the model (and the split) we already measured? Digests of what a model computes with.

A notebook measures the same model on the same split more than once: your own line of code, then
``measure_variant`` for the results table, then a test that checks the figure. For a ResNet-18 at
224x224 one pass over the validation split takes about twenty seconds on two cores, so
:mod:`helpers.measure` keeps, for the life of the kernel, which samples each model got right, under
the digests made here. A digest covers everything a model's outputs depend on:

- a PyTorch model: the type and settings of every layer (``repr``), the plain attributes of the
  model's own classes (a temperature, a flag), and every tensor of its state (INT8 tensors by their
  integers and scales). A pruning mask counts as the weight it makes, so a model with its masks on
  and the same model after ``prune.remove`` are one model. A model with any other hook gets no
  digest (a hook can change what it computes without changing its state): it is always measured;
- an ONNX Runtime session: the bytes of the model file and of every file it references, and the
  graph optimisation level;
- a dataset: its inputs and labels, byte for byte.

Two models with the same digest compute the same outputs. When in doubt there is no digest, and the
model is measured again: a repeated measurement costs time, a wrong one would cost trust.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnxruntime as ort
import torch
import torch.nn.utils.prune as prune
from torch import nn

from helpers.data import Dataset
from helpers.onnx_files import external_locations, load_graph_only

_PLAIN = (bool, int, float, str, type(None), torch.dtype)


def _update_with_tensor(digest: hashlib._Hash, tensor: torch.Tensor) -> None:
    if tensor.is_quantized:
        digest.update(str(tensor.qscheme()).encode())
        if tensor.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            for part in (tensor.q_per_channel_scales(), tensor.q_per_channel_zero_points()):
                _update_with_tensor(digest, part)
        else:
            digest.update(repr((tensor.q_scale(), tensor.q_zero_point())).encode())
        tensor = tensor.int_repr()
    digest.update(f"{tensor.dtype} {tuple(tensor.shape)}".encode())
    digest.update(tensor.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())


def _update_with_value(digest: hashlib._Hash, value: object) -> bool:
    """Add one state entry; False when it is something this digest cannot read."""
    if isinstance(value, torch.Tensor):
        _update_with_tensor(digest, value)
        return True
    if isinstance(value, tuple | list):  # a quantized layer's packed (weight, bias)
        return all(_update_with_value(digest, item) for item in value)
    if isinstance(value, _PLAIN):
        digest.update(repr(value).encode())
        return True
    if hasattr(value, "__getstate__") and type(value).__name__.endswith("PackedParamsBase"):
        return _update_with_value(digest, value.__getstate__())
    return False


def _is_pruning_mask(hook: object) -> bool:
    """torch.nn.utils.prune's hook: it sets ``weight = weight_orig * weight_mask`` before each call."""
    return isinstance(hook, prune.BasePruningMethod)


def _has_other_hooks(model: nn.Module) -> bool:
    """Does ``model`` carry a hook other than a pruning mask (which :func:`_effective_state` reads)?"""
    for layer in model.modules():
        if any(not _is_pruning_mask(hook) for hook in layer._forward_pre_hooks.values()):
            return True
        if layer._forward_hooks or layer._backward_hooks or getattr(layer, "_backward_pre_hooks", None):
            return True
    globals_ = ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks")
    return any(getattr(nn.modules.module, name, None) for name in globals_)


def _effective_state(model: nn.Module) -> dict[str, object]:
    """The state a model computes with, sorted by name: a pruned layer's ``weight_orig`` and
    ``weight_mask`` become the ``weight`` they make, so a model with its masks on and the same model
    after ``prune.remove`` (or saved and loaded again) have the same state."""
    state = dict(model.state_dict())
    for owner, layer in model.named_modules():
        prefix = f"{owner}." if owner else ""
        for hook in layer._forward_pre_hooks.values():
            if _is_pruning_mask(hook):
                name = hook._tensor_name
                state.pop(f"{prefix}{name}_orig", None)
                state.pop(f"{prefix}{name}_mask", None)
                state[f"{prefix}{name}"] = getattr(layer, name).detach()
    return dict(sorted(state.items()))


def model_digest(model: nn.Module | ort.InferenceSession) -> str | None:
    """A digest of everything ``model``'s outputs depend on, or None when that cannot be told."""
    if isinstance(model, ort.InferenceSession):
        return _session_digest(model)
    if _has_other_hooks(model):
        return None
    digest = hashlib.sha256(repr(model).encode())
    for name, layer in model.named_modules():
        digest.update(f"{name}:{type(layer).__module__}.{type(layer).__qualname__}".encode())
        if not type(layer).__module__.startswith("torch."):  # the model's own classes: their plain settings
            for key, value in sorted(vars(layer).items()):
                if not key.startswith("_") and key != "training" and isinstance(value, _PLAIN):
                    digest.update(f"{key}={value!r}".encode())
    try:
        state = _effective_state(model)
    except Exception:  # a layer whose state cannot be read: measure every time
        return None
    for key, value in state.items():
        digest.update(key.encode())
        if not _update_with_value(digest, value):
            return None
    return digest.hexdigest()


def _session_digest(session: ort.InferenceSession) -> str | None:
    path = getattr(session, "_model_path", None)
    if not path or not Path(path).is_file():
        return None
    digest = hashlib.sha256(str(session.get_session_options().graph_optimization_level).encode())
    files = [Path(path)] + [Path(path).parent / location for location in external_locations(load_graph_only(path))]
    for file in files:
        if not file.is_file():
            return None
        digest.update(hashlib.sha256(file.read_bytes()).digest())  # its name is in the model's bytes
    return digest.hexdigest()


def dataset_digest(dataset: Dataset) -> str:
    """A digest of a dataset's inputs and labels, byte for byte."""
    digest = hashlib.sha256()
    for tensor in (dataset.inputs, dataset.labels):
        _update_with_tensor(digest, tensor)
    return digest.hexdigest()
