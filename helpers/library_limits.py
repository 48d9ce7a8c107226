"""What the day's libraries cannot prune or quantize in a model, named before the recipe runs.

torch-pruning, PyTorch's dynamic INT8 and ONNX Runtime's quantizers each skip some layers, and they
skip them quietly. :func:`left_alone` reads a model's layers and says, for each kind it holds that a
library leaves, which library leaves it, why, and what the workbook does about it. The sentences are
about layer kinds, so a model gets the ones that concern it and no others.
"""

from __future__ import annotations

from torch import nn

# (layer kinds, what a library leaves of them and what the workbook does instead)
_LIMITS: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    (
        (nn.LSTM, nn.GRU),
        "LSTM/GRU: torch-pruning cannot remove recurrent units (notebook 05 removes them by hand), and ONNX "
        "Runtime's INT8 LSTM kernel is faster or slower depending on the CPU, so the recurrent layer stays FP32",
    ),
    (
        (nn.Embedding, nn.EmbeddingBag),
        "Embedding: torch-pruning keeps every dimension of the table; ONNX Runtime stores it in 8 bits only when "
        "Gather is among the operators quantize_dynamic converts",
    ),
    (
        (nn.GroupNorm,),
        "GroupNorm: torch-pruning prunes inside each group, where round_to can leave nothing to remove (leave it "
        "out), and ONNX Runtime's InstanceNormalization stays FP32 in static INT8",
    ),
    (
        (nn.MultiheadAttention,),
        "MultiheadAttention: torch-pruning removes whole heads only, and the products of queries with keys and of "
        "attention with values have no weights: neither pruning nor INT8 of the weights makes them cheaper",
    ),
    (
        (nn.LayerNorm, nn.BatchNorm1d, nn.BatchNorm2d),
        "normalisation layers stay FP32 in every INT8 path (a BatchNorm after a convolution is folded into it "
        "by the export, at no cost)",
    ),
)


def left_alone(model: nn.Module) -> list[str]:
    """One sentence per kind of layer in ``model`` that a library of the day leaves as it is, with
    why and what the workbook does about it; an empty list when there is none."""
    layers = list(model.modules())
    sentences = [sentence for kinds, sentence in _LIMITS if any(isinstance(layer, kinds) for layer in layers)]
    loose = [  # held by the model's own classes rather than by a torch.nn layer: a CLS token, learned positions
        f"{owner}.{name}" if owner else name
        for owner, layer in model.named_modules()
        if not type(layer).__module__.startswith("torch.nn")
        for name, _ in layer.named_parameters(recurse=False)
    ]
    if loose:
        sentences.append(
            f"parameters outside any layer ({', '.join(loose)}): torch-pruning prunes their last dimension with the "
            "embedding's, and warns that it does"
        )
    return sentences
