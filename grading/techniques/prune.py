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

from helpers.models import SentimentLSTM

PRUNABLE_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _prunable_parameters(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """``(layer, parameter name)`` for every Conv/Linear weight and LSTM weight matrix."""
    targets: list[tuple[nn.Module, str]] = []
    for module in model.modules():
        if isinstance(module, PRUNABLE_LAYERS):
            targets.append((module, "weight"))
        elif isinstance(module, nn.LSTM):
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


def prune_lstm_units(model: SentimentLSTM, amount: float) -> SentimentLSTM:
    """A smaller :class:`SentimentLSTM` with the fraction ``amount`` of embedding dimensions
    and of LSTM hidden units removed.

    torch-pruning cannot prune LSTMs, so this does it by hand. An LSTM keeps the weights of
    its four gates (input, forget, cell, output) stacked: hidden unit ``j`` owns rows
    ``j, H+j, 2H+j, 3H+j`` of every weight, column ``j`` of the recurrent weight and column
    ``j`` of the classifier. Embedding dimension ``d`` owns column ``d`` of the embedding
    and of the input weight. Each is scored by the L1 norm of all the weights it owns.
    """
    lstm = model.lstm
    hidden = lstm.hidden_size
    w_ih, w_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()
    b_ih, b_hh = lstm.bias_ih_l0.detach(), lstm.bias_hh_l0.detach()

    dim_scores = model.embedding.weight.detach().abs().sum(0) + w_ih.abs().sum(0)
    dims = _keep_strongest(dim_scores, amount)
    unit_scores = (
        w_ih.abs().reshape(4, hidden, -1).sum((0, 2))
        + w_hh.abs().reshape(4, hidden, -1).sum((0, 2))
        + w_hh.abs().sum(0)
        + model.classifier.weight.detach().abs().sum(0)
    )
    units = _keep_strongest(unit_scores, amount)
    rows = torch.cat([units + gate * hidden for gate in range(4)])  # the unit's row in each gate

    smaller = SentimentLSTM(
        vocab_size=model.embedding.num_embeddings,
        embed_dim=len(dims),
        hidden_size=len(units),
        num_classes=model.classifier.out_features,
    )
    with torch.no_grad():
        smaller.embedding.weight.copy_(model.embedding.weight[:, dims])
        smaller.lstm.weight_ih_l0.copy_(w_ih[rows][:, dims])
        smaller.lstm.weight_hh_l0.copy_(w_hh[rows][:, units])
        smaller.lstm.bias_ih_l0.copy_(b_ih[rows])
        smaller.lstm.bias_hh_l0.copy_(b_hh[rows])
        smaller.classifier.weight.copy_(model.classifier.weight[:, units])
        smaller.classifier.bias.copy_(model.classifier.bias)
    return smaller.eval()
