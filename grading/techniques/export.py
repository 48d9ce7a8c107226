"""ONNX export and a parity check against PyTorch.

``torch.onnx.export`` uses the dynamo exporter today. Three things differ from older
tutorials (docs/design.md, "Measured facts"):

- weights go to a second file ``model.onnx.data`` unless ``external_data=False``; we always
  write one self-contained file, so the file you copy is the whole model;
- the batch dimension is made dynamic with ``dynamic_shapes`` keyed by the name of
  ``forward()``'s argument (``x`` in the reference models; a learner's may call it anything), not
  with ``dynamic_axes``;
- ``opset_version=11`` is no longer honoured (the exporter writes opset 18 or newer).
"""

from __future__ import annotations

import inspect
import logging
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from helpers.rnn_export import recurrent_layers_as_loops

# The exporter logs that optional torchvision operators are missing; we write the models by hand.
_REGISTRATION_LOGGER = "torch.onnx._internal.exporter._registration"


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Export ``model`` to one self-contained ONNX file with a dynamic batch dimension.

    ``example`` is a batch of valid inputs (use a batch of 2 or more: a batch of 1 would let
    the exporter assume the batch size is always 1). Returns the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    argument = next(iter(inspect.signature(model.forward).parameters))  # the learner names it
    registration_log = logging.getLogger(_REGISTRATION_LOGGER)
    previous_level = registration_log.level
    registration_log.setLevel(logging.ERROR)
    try:
        # Autograd off, and LSTMs and GRUs traced as loops (helpers/rnn_export.py): otherwise the
        # exporter works out their shapes one of the 200 time steps at a time (text track), which
        # took 74 s instead of 10 s for a two-layer bidirectional GRU. The ONNX graph is the same.
        with warnings.catch_warnings(), torch.no_grad(), recurrent_layers_as_loops():
            # torch's own pytree code warns about an API it is itself still calling.
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            warnings.filterwarnings("ignore", message=".*_check_is_size.*", category=FutureWarning)
            # nn.LSTM caches its weights in a plain list; export reads them correctly all the same.
            warnings.filterwarnings("ignore", message=".*_flat_weights.*", category=UserWarning)
            torch.onnx.export(
                model,
                (example,),
                str(path),
                input_names=["x"],
                output_names=["scores"],
                dynamic_shapes={argument: {0: torch.export.Dim("batch")}},
                external_data=False,
                verbose=False,
            )
    finally:
        registration_log.setLevel(previous_level)
    onnx.checker.check_model(str(path))
    return path


def strip_exporter_notes(path: str | Path) -> Path:
    """Remove the notes the exporter writes on every node of ``path`` (in place) and return it.

    ``torch.onnx.export`` records, per node, the Python stack trace (with the file paths of the
    machine that exported it), the module path and the FX node it came from: about 1 KB per node.
    ONNX Runtime never reads them. In a large CNN they are a rounding error of the file; in a small
    Transformer they were half of its INT8 file (docs/design.md, "Export").
    """
    path = Path(path)
    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
    onnx.save(model, str(path))
    return path
