"""helpers.rnn_export: LSTMs and GRUs exported with their time steps traced as loops."""

from __future__ import annotations

import inspect
from collections import Counter

import onnx
import pytest
import torch
from torch import nn

from helpers.parity import check_parity
from helpers.rnn_export import recurrent_layers_as_loops


class Reviews(nn.Module):
    """Text of 200 tokens through a two-layer bidirectional GRU or LSTM, names of its own."""

    def __init__(self, layer: type[nn.GRU] | type[nn.LSTM]) -> None:
        super().__init__()
        self.words = nn.Embedding(5000, 12)
        self.reader = layer(12, 10, num_layers=2, batch_first=True, bidirectional=True)
        self.verdict = nn.Linear(20, 2)

    def forward(self, reviews: torch.Tensor) -> torch.Tensor:
        states, _ = self.reader(self.words(reviews))
        return self.verdict(states.amax(dim=1))


@pytest.mark.parametrize("layer", [nn.GRU, nn.LSTM], ids=["GRU", "LSTM"])
def test_a_recurrent_model_exported_inside_the_block_has_a_dynamic_batch_and_computes_the_same(tmp_path, layer):
    torch.manual_seed(0)
    model = Reviews(layer).eval()
    path = tmp_path / "model.onnx"
    with torch.no_grad(), recurrent_layers_as_loops():
        torch.onnx.export(
            model,
            (torch.randint(0, 5000, (2, 200)),),
            str(path),
            external_data=False,
            dynamic_shapes={"reviews": {0: torch.export.Dim("batch")}},
            verbose=False,
        )
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # the batch stays a symbol
    operators = Counter(node.op_type for node in graph.node)
    assert operators[layer.__name__] == 2 and "Loop" not in operators  # one ONNX operator per layer
    for batch in (1, 5):
        parity = check_parity(model, path, torch.randint(0, 5000, (batch, 200)))
        assert parity.passed and parity.max_abs_difference < 1e-5, parity


class TimeFirst(nn.Module):
    """A one-layer GRU fed time-major (batch_first=False), read at its last step."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5000, 16)
        self.gru = nn.GRU(16, 12)
        self.out = nn.Linear(12, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(self.embed(ids).transpose(0, 1))
        return self.out(states[-1])


class LstmIntoGru(nn.Module):
    """A bidirectional LSTM into a three-layer GRU started from an explicit zero state."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5000, 16)
        self.lstm = nn.LSTM(16, 12, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(24, 8, num_layers=3, batch_first=True, dropout=0.1)
        self.out = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.lstm(self.embed(x))
        _, last = self.gru(states, torch.zeros(3, x.shape[0], 8))
        return self.out(last[-1])


@pytest.mark.parametrize("model_class", [TimeFirst, LstmIntoGru])
def test_other_recurrent_shapes_export_inside_the_block_and_compute_the_same(tmp_path, model_class):
    torch.manual_seed(0)
    model = model_class().eval()
    argument = next(iter(inspect.signature(model.forward).parameters))
    path = tmp_path / "model.onnx"
    with torch.no_grad(), recurrent_layers_as_loops():
        torch.onnx.export(model, (torch.randint(0, 5000, (2, 200)),), str(path), external_data=False,
                          dynamic_shapes={argument: {0: torch.export.Dim("batch")}}, verbose=False)  # fmt: skip
    assert "Loop" not in {node.op_type for node in onnx.load(str(path)).graph.node}
    for batch in (1, 3):
        assert check_parity(model, path, torch.randint(0, 5000, (batch, 200))).max_abs_difference < 1e-5


def test_the_block_puts_torchs_own_recurrent_decompositions_back():
    key = torch._C.DispatchKey.CompositeImplicitAutograd
    before = {op: op.py_kernels.get(key) for op in (torch.ops.aten.gru.input, torch.ops.aten.lstm.input)}
    with recurrent_layers_as_loops():
        assert all(op.py_kernels.get(key) is not kernel for op, kernel in before.items())
    assert {op: op.py_kernels.get(key) for op in before} == before
