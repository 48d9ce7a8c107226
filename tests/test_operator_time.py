"""helpers.operator_time: ONNX Runtime's profile, summed by operator, and which operators read weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.errors import Day26Error
from helpers.operator_time import time_by_operator


class Attention(nn.Module):
    """One head of self-attention over 50 positions, then a classifier: two of its products have no weights."""

    def __init__(self) -> None:
        super().__init__()
        self.query, self.key, self.value = nn.Linear(32, 32), nn.Linear(32, 32), nn.Linear(32, 32)
        self.decide = nn.Linear(32, 2)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        scores = self.query(sequence) @ self.key(sequence).transpose(1, 2) / 32**0.5
        return self.decide((torch.softmax(scores, dim=-1) @ self.value(sequence)).mean(dim=1))


def _exported(model: nn.Module, example: torch.Tensor, path) -> None:
    with torch.no_grad():
        torch.onnx.export(model.eval(), (example,), str(path), external_data=False, verbose=False)


def test_every_operator_that_ran_has_its_share_and_softmax_reads_no_weights(tmp_path):
    torch.manual_seed(0)
    example = torch.randn(1, 50, 32)
    _exported(Attention(), example, tmp_path / "attention.onnx")
    rows = time_by_operator(tmp_path / "attention.onnx", example, calls=20)
    by_operator = {row.operator: row for row in rows}
    assert sum(row.share for row in rows) == pytest.approx(1.0)
    assert [row.share for row in rows] == sorted((row.share for row in rows), reverse=True)
    assert all(row.ms_per_call > 0 and row.nodes >= 1 for row in rows)
    assert not by_operator["Softmax"].has_weights and by_operator["Softmax"].weight_bytes == 0
    with_weights = [row for row in rows if row.has_weights]
    # the four Linear layers' 32x32 (and 2x32) matrices, whatever kernels ONNX Runtime fused them into
    assert sum(row.weight_bytes for row in with_weights) >= 3 * 32 * 32 * 4


def test_a_missing_model_is_named(tmp_path):
    with pytest.raises(Day26Error, match=r"nothing\.onnx"):
        time_by_operator(tmp_path / "nothing.onnx", torch.randn(1, 10))


class ConvThenLSTM(nn.Module):
    """Convolutions feeding an LSTM over 16 columns: which takes the time decides the INT8 path."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())  # fmt: skip
        self.lstm = nn.LSTM(channels * 4, hidden, batch_first=True)
        self.decide = nn.Linear(hidden, 2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = nn.functional.adaptive_avg_pool2d(self.convs(images), (4, 16))
        columns = features.permute(0, 3, 1, 2).flatten(2)  # (batch, 16, channels * 4)
        return self.decide(self.lstm(columns)[0][:, -1])


def test_the_costliest_family_follows_the_time_not_the_layer_types(tmp_path):
    from helpers.operator_time import costliest_weighted_family, time_by_family, time_line
    from helpers.rnn_export import recurrent_layers_as_loops

    torch.manual_seed(0)
    example = torch.randn(1, 3, 64, 64)
    families = {}
    for channels, hidden in ((64, 4), (4, 512)):
        path = tmp_path / f"{channels}-{hidden}.onnx"
        with recurrent_layers_as_loops():
            _exported(ConvThenLSTM(channels, hidden), example, path)
        rows = time_by_operator(path, example, calls=20)
        assert sum(time_by_family(rows).values()) == pytest.approx(1.0)
        assert "%" in time_line(rows)
        families[channels, hidden] = costliest_weighted_family(rows)
    assert families == {(64, 4): "convolutions", (4, 512): "recurrent layers"}


def test_what_the_libraries_leave_is_named_by_layer_kind():
    from helpers.library_limits import left_alone

    class WithPositions(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.positions = nn.Parameter(torch.zeros(200, 16))
            self.table = nn.Embedding(100, 16)
            self.norm = nn.GroupNorm(4, 16)

    sentences = left_alone(WithPositions())
    assert any(sentence.startswith("Embedding") for sentence in sentences)
    assert any(sentence.startswith("GroupNorm") and "round_to" in sentence for sentence in sentences)
    assert any("positions" in sentence for sentence in sentences)
    assert not any("LSTM" in sentence for sentence in sentences)
    assert left_alone(nn.Sequential(nn.Linear(10, 2))) == []
