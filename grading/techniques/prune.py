"""Pruning: unstructured (zero out single weights) and structured (remove whole channels).

- **Unstructured L1** sets the smallest-magnitude weights to zero. The tensors keep their
  shape, so the saved file is just as big and inference is not faster: sparsity pays off
  only when the file is compressed or the runtime has sparse kernels.
- **Structured** pruning removes whole channels (or LSTM units) and builds a smaller model.
  That model really is smaller and faster, but its outputs move: fine-tune it afterwards.
"""

from __future__ import annotations

import copy

import torch
import torch_pruning as tp
from torch import nn
from torch.nn.utils import prune

PRUNABLE_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _prunable_parameters(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """``(layer, parameter name)`` for every Conv/Linear weight and recurrent (LSTM, GRU) weight matrix."""
    targets: list[tuple[nn.Module, str]] = []
    for module in model.modules():
        if isinstance(module, PRUNABLE_LAYERS):
            targets.append((module, "weight"))
        elif isinstance(module, nn.RNNBase):  # LSTM, GRU, RNN: every layer and direction
            targets += [(module, name) for name in module._flat_weights_names if name.startswith("weight")]
    return targets


def add_l1_masks(model: nn.Module, amount: float, scope: str = "layer") -> nn.Module:
    """Attach L1 pruning masks that zero the fraction ``amount`` (0 to 1) of the weights.

    ``scope="layer"`` removes that fraction from every layer; ``scope="global"`` ranks all
    weights together, so layers with many small weights lose more. While the masks are
    attached, training keeps pruned weights at zero (use this before fine-tuning).
    """
    targets = _prunable_parameters(model)
    if scope == "global":
        prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)
    elif scope == "layer":
        for module, name in targets:
            prune.l1_unstructured(module, name=name, amount=amount)
    else:
        raise ValueError(f"scope must be 'layer' or 'global', not {scope!r}")
    return model


def make_pruning_permanent(model: nn.Module) -> nn.Module:
    """Fold the masks into the weights (``weight = weight_orig * mask``) and drop them.

    Before this, the state_dict holds ``weight_orig`` and ``weight_mask``: twice the size,
    and it no longer loads into the original architecture.
    """
    for module, name in _prunable_parameters(model):
        if prune.is_pruned(module) and hasattr(module, f"{name}_mask"):
            prune.remove(module, name)
    return model


def prune_l1_unstructured(model: nn.Module, amount: float, scope: str = "layer") -> nn.Module:
    """A copy of ``model`` with ``amount`` of its prunable weights set to zero, permanently."""
    pruned = copy.deepcopy(model)
    return make_pruning_permanent(add_l1_masks(pruned, amount, scope))


def prune_channels(model: nn.Module, example: torch.Tensor, amount: float) -> nn.Module:
    """A smaller copy of a conv net or MLP with the fraction ``amount`` of channels removed.

    Uses the torch-pruning library (DepGraph), which follows the dependencies between
    layers (a residual add forces both branches to keep the same channels). Channels are
    ranked by the L1 norm of their weights; the last Linear layer (the classifier, whatever it is
    called) keeps its outputs, the classes. Channel counts are rounded to multiples of 8, which INT8
    kernels like.
    """
    smaller = copy.deepcopy(model).eval()
    ignored = [[layer for layer in smaller.modules() if isinstance(layer, nn.Linear)][-1]]
    pruner = tp.pruner.MetaPruner(
        smaller,
        example,
        importance=tp.importance.MagnitudeImportance(p=1),
        pruning_ratio=amount,
        ignored_layers=ignored,
        round_to=8,
    )
    pruner.step()
    return smaller


def _keep_strongest(scores: torch.Tensor, amount: float) -> torch.Tensor:
    """Sorted indices of the ``1 - amount`` fraction of entries with the largest score."""
    keep = max(1, round(len(scores) * (1.0 - amount)))
    return torch.sort(torch.topk(scores, keep).indices).values


def _replace_layer(model: nn.Module, old: nn.Module, new: nn.Module) -> None:
    """Put ``new`` where ``old`` sits in ``model``, whatever the attribute is called."""
    name = next(name for name, layer in model.named_modules() if layer is old)
    parent_name, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent_name), attribute, new)


def prune_recurrent_units(model: nn.Module, amount: float) -> nn.Module:
    """A smaller copy of a model with an LSTM or GRU: the fraction ``amount`` of its hidden units
    removed (the same units in every layer and direction), and of the dimensions of the embedding
    that feeds it; the Linear layer that reads the recurrent outputs loses the matching inputs.

    torch-pruning cannot prune recurrent layers, so this does it by hand. A recurrent layer keeps
    its gates' weights stacked (LSTM: 4 gates, GRU: 3): hidden unit ``j`` owns row ``j`` of every
    gate, column ``j`` of the recurrent weight and its output features in the reading Linear.
    Embedding dimension ``d`` owns column ``d`` of the embedding and of the first input weight.
    Each is scored by the L1 norm of the weights it owns. Notebook 05 gives learners the same
    function to read (``remove_recurrent_units``); ``tests/test_techniques.py`` keeps the two equal.
    """
    reduced = copy.deepcopy(model).eval()
    rnn = next(layer for layer in reduced.modules() if isinstance(layer, nn.LSTM | nn.GRU))
    gates = 4 if isinstance(rnn, nn.LSTM) else 3
    directions, hidden = (2 if rnn.bidirectional else 1), rnn.hidden_size
    feeding = [
        layer
        for layer in reduced.modules()
        if isinstance(layer, nn.Embedding) and layer.embedding_dim == rnn.input_size
    ]
    reading = [
        layer
        for layer in reduced.modules()
        if isinstance(layer, nn.Linear) and layer.in_features == directions * hidden
    ]
    if len(reading) != 1 or getattr(rnn, "proj_size", 0):
        raise ValueError(f"cannot tell which layer reads the {type(rnn).__name__}'s outputs: prune its units by hand")
    suffixes = ("", "_reverse")[:directions]
    weights = dict(rnn.named_parameters())
    unit_scores = reading[0].weight.detach().abs().sum(0).reshape(directions, hidden).sum(0)
    for layer in range(rnn.num_layers):
        for suffix in suffixes:
            w_ih = weights[f"weight_ih_l{layer}{suffix}"].detach()
            w_hh = weights[f"weight_hh_l{layer}{suffix}"].detach()
            unit_scores = unit_scores + w_ih.abs().reshape(gates, hidden, -1).sum((0, 2))
            unit_scores = unit_scores + w_hh.abs().reshape(gates, hidden, -1).sum((0, 2)) + w_hh.abs().sum(0)
    units = _keep_strongest(unit_scores, amount)
    rows = torch.cat([units + gate * hidden for gate in range(gates)])  # the unit's row in each gate
    outputs = torch.cat([units + direction * hidden for direction in range(directions)])
    dims = torch.arange(rnn.input_size)
    if len(feeding) == 1:
        column_scores = feeding[0].weight.detach().abs().sum(0) + weights["weight_ih_l0"].detach().abs().sum(0)
        dims = _keep_strongest(column_scores, amount)
    new_rnn = type(rnn)(
        len(dims),
        len(units),
        num_layers=rnn.num_layers,
        bias=rnn.bias,
        batch_first=rnn.batch_first,
        dropout=rnn.dropout,
        bidirectional=rnn.bidirectional,
    )
    with torch.no_grad():
        for name, parameter in new_rnn.named_parameters():
            old = weights[name]
            if name.startswith("weight_ih"):
                parameter.copy_(old[rows][:, dims if name.startswith("weight_ih_l0") else outputs])
            elif name.startswith("weight_hh"):
                parameter.copy_(old[rows][:, units])
            else:
                parameter.copy_(old[rows])
        new_reader = nn.Linear(len(outputs), reading[0].out_features, bias=reading[0].bias is not None)
        new_reader.weight.copy_(reading[0].weight[:, outputs])
        if reading[0].bias is not None:
            new_reader.bias.copy_(reading[0].bias)
        if len(feeding) == 1:
            new_embedding = nn.Embedding(feeding[0].num_embeddings, len(dims), padding_idx=feeding[0].padding_idx)
            new_embedding.weight.copy_(feeding[0].weight[:, dims])
            _replace_layer(reduced, feeding[0], new_embedding)
    _replace_layer(reduced, rnn, new_rnn)
    _replace_layer(reduced, reading[0], new_reader)
    return reduced.eval()
