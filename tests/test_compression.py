"""helpers.compression and helpers.plots: what the pruning sweep measures and draws."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import prune

from helpers.compression import gzip_size, int8_gzip_size
from helpers.plots import SweepPoint, save_figure, sensitivity_figure, sparsity_sweep_figure


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 2))


def test_zeros_shrink_the_compressed_file_but_not_the_dense_one(tmp_path):
    dense, sparse = _model(), copy.deepcopy(_model())
    prune.global_unstructured([(sparse[0], "weight"), (sparse[2], "weight")], prune.L1Unstructured, amount=0.8)
    for layer in (sparse[0], sparse[2]):
        prune.remove(layer, "weight")
    torch.save(dense.state_dict(), tmp_path / "dense.pth")
    torch.save(sparse.state_dict(), tmp_path / "sparse.pth")
    dense_bytes, sparse_bytes = (tmp_path / "dense.pth").stat().st_size, (tmp_path / "sparse.pth").stat().st_size
    assert abs(dense_bytes - sparse_bytes) < 100  # the same dense tensors, zeros included
    assert gzip_size(tmp_path / "sparse.pth") < 0.5 * gzip_size(tmp_path / "dense.pth")
    # INT8 stores a weight in one byte instead of four: about 4x before compression helps further
    assert int8_gzip_size(dense) < 0.35 * gzip_size(tmp_path / "dense.pth")
    assert int8_gzip_size(sparse) < int8_gzip_size(dense)


def test_the_sweep_and_sensitivity_plots_are_drawn_from_the_figures(tmp_path):
    points = [
        SweepPoint(scope, amount, amount, 0.9 - amount / 2, 1000, int(1000 * (1 - amount)), 300)
        for scope in ("layer", "global")
        for amount in (0.3, 0.6, 0.9)
    ]
    figure = sparsity_sweep_figure(points, baseline_accuracy=0.9, baseline_bytes=1000)
    accuracy_axis, size_axis = figure.axes
    assert [line.get_label() for line in accuracy_axis.get_lines()] == ["global", "layer", "baseline"]
    assert [round(value, 6) for value in accuracy_axis.get_lines()[0].get_ydata()] == [75.0, 60.0, 45.0]
    assert [line.get_label() for line in size_axis.get_lines()][:3] == ["dense .pth", "gzip", "INT8 + gzip"]
    scan = sensitivity_figure({"conv1": {0.5: 0.8, 0.9: 0.5}, "fc": {0.5: 0.9, 0.9: 0.88}}, baseline_accuracy=0.9)
    assert len(scan.axes[0].patches) == 4
    assert save_figure(scan, tmp_path / "scan.png").read_bytes()[:4] == b"\x89PNG"
