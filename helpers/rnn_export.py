"""Exporting a model that holds an LSTM or a GRU: its recurrent layers traced as loops.

``torch.onnx.export`` with ``dynamic_shapes`` captures each ``nn.LSTM`` and ``nn.GRU`` as one loop
over the time steps (torch's ``while_loop`` versions of the two layers). In torch 2.13 the step that
follows, which prepares the captured program for ONNX, works out their output shapes a second time
without the loop: one traced cell per time step, layer and direction, each with the batch size as a
symbol. For a two-layer bidirectional GRU over 200 tokens that is 800 traced cells and took 74 s on
2 cores; with the loops kept for that step too, 10 s (docs/design.md, "Export"). The ONNX graph is
the same either way: one ``GRU`` or ``LSTM`` operator per layer, computing the same outputs.

:func:`recurrent_layers_as_loops` keeps torch's loop versions registered for the whole export.
Models without an LSTM or GRU export exactly as before. Export inside ``torch.no_grad()``: the loops
do not support autograd.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# A private module of torch (the leading underscore): the context managers it documents are what the
# exporter itself uses while capturing. Later torch releases apply them to the second step as well.
from torch.export._patches import register_gru_while_loop_decomposition, register_lstm_while_loop_decomposition


@contextmanager
def recurrent_layers_as_loops() -> Iterator[None]:
    """Inside the block, ``torch.onnx.export`` traces every LSTM and GRU as a loop over time steps."""
    with register_lstm_while_loop_decomposition(), register_gru_while_loop_decomposition():
        yield
