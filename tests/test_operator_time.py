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
