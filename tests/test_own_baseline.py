"""grading/own_baseline.py: is a learner's model.onnx their baseline.pth, exported unchanged and
unpadded? Judged from the files' tensors and graph only, on models of other families than the
reference ones (BatchNorm folded at export, convolutions)."""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
from pathlib import Path

import onnx
import pytest
import torch
from own_models.week5_models import BatchNormMLP, PlainCNN, TextCNN, TinyTransformer
from torch import nn
from torch.nn.utils import prune

from grading.own_baseline import compare_baseline_with_onnx, compare_pruned_with_baseline, multiplied_weight_count
from helpers.tracks import get_track


def _exported(model: nn.Module, example: torch.Tensor, path: Path) -> onnx.ModelProto:
    """model.onnx as notebook 04 writes it (dynamic batch, weights in the file)."""
    argument = next(iter(inspect.signature(model.forward).parameters))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), torch.no_grad():
        torch.onnx.export(model.eval(), (example,), str(path), external_data=False,
                          dynamic_shapes={argument: {0: torch.export.Dim("batch")}})  # fmt: skip
    return onnx.load(str(path))


class _Padded(nn.Module):
    """The learner's model with useless work added: a Linear applied six times, multiplied by zero."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.extra = inner, nn.Linear(10, 10)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        waste = features
        for _ in range(6):
            waste = self.extra(waste)
        return self.inner(features) + 0 * waste.sum()


def _trained_like(model: nn.Module) -> nn.Module:
    """Weights and BatchNorm statistics that are not the initial ones (BatchNorm folding shows)."""
    torch.manual_seed(3)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
        for layer in model.modules():
            if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
                layer.running_var.uniform_(0.5, 2.0)
                layer.running_mean.uniform_(-1.0, 1.0)
    return model.eval()


@pytest.mark.parametrize(("make", "track"), [(BatchNormMLP, "tabular"), (lambda: PlainCNN(width=8), "images")])
def test_the_declared_model_exported_unchanged_is_trusted_and_another_is_not(tmp_path, make, track):
    model = _trained_like(make())
    example = get_track(track).example_batch()
    baseline = copy.deepcopy(model.state_dict())
    finding = compare_baseline_with_onnx(baseline, _exported(model, example, tmp_path / "model.onnx"))
    assert finding.trusted, finding.problems
    assert finding.weights_found == finding.weights_in_baseline > 0

    other = _trained_like(make())
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.normal_()
    finding = compare_baseline_with_onnx(baseline, _exported(other, example, tmp_path / "other.onnx"))
    assert not finding.trusted and "does not hold baseline.pth's" in finding.problems[0]


def test_a_baseline_padded_with_useless_work_is_not_trusted(tmp_path):
    model = _trained_like(BatchNormMLP())
    baseline = copy.deepcopy(model.state_dict())
    padded = _Padded(model)
    finding = compare_baseline_with_onnx(
        baseline, _exported(padded, get_track("tabular").example_batch(), tmp_path / "m.onnx")
    )
    assert not finding.trusted
    assert any(
        "not baseline.pth's (padding)" in problem or "work done twice" in problem for problem in finding.problems
    )


def _pruned_state(model: nn.Module, amount: float = 0.3) -> tuple[nn.Module, list[tuple[nn.Module, str]]]:
    """A copy of ``model`` with ``amount`` of its Linear weights zeroed (global L1), masks still on."""
    pruned = copy.deepcopy(model)
    pairs = [(layer, "weight") for layer in pruned.modules() if isinstance(layer, nn.Linear)]
    prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=amount)
    return pruned, pairs


def test_pruned_weights_must_be_the_baselines_with_zeros_or_fine_tuned_around_them():
    model = _trained_like(BatchNormMLP())
    baseline = model.state_dict()
    pruned, pairs = _pruned_state(model)
    for layer, name in pairs:
        prune.remove(layer, name)
    finding = compare_pruned_with_baseline(baseline, pruned.state_dict())
    assert not finding.problems and 0.29 < finding.sparsity < 0.31 and finding.kept_from_baseline == 1.0
    assert not finding.fine_tuned

    # notebook 03's way out when the zeros cost too much: one pass over the data with the masks on
    tuned, pairs = _pruned_state(model)
    optimizer = torch.optim.AdamW(tuned.parameters(), lr=1e-4)
    tuned.train()
    for inputs, labels in get_track("tabular").train_data().batches(128, shuffle_seed=0):
        optimizer.zero_grad()
        nn.functional.cross_entropy(tuned(inputs), labels).backward()
        optimizer.step()
    for layer, name in pairs:
        prune.remove(layer, name)
    finding = compare_pruned_with_baseline(baseline, tuned.state_dict())
    assert not finding.problems, finding.problems
    assert finding.fine_tuned and finding.kept_from_baseline < 0.01 and 0.29 < finding.sparsity < 0.31
    assert finding.similarity > 0.99

    # the same architecture with other weights, pruned the same way, is not this baseline pruned
    torch.manual_seed(11)
    other, pairs = _pruned_state(BatchNormMLP().eval())
    for layer, name in pairs:
        prune.remove(layer, name)
    finding = compare_pruned_with_baseline(baseline, other.state_dict())
    assert "it is not the baseline pruned" in finding.problems[0] and finding.similarity < 0.5


def test_sparsity_counts_the_weights_model_onnx_multiplies_with_not_the_embedding(tmp_path):
    """A text CNN's embedding is most of its weights but no layer the notebooks prune: the verifier
    learns from model.onnx which tensors feed a product (Conv here) and counts those."""
    model = _trained_like(TextCNN())
    baseline = copy.deepcopy(model.state_dict())
    finding = compare_baseline_with_onnx(
        baseline, _exported(model, get_track("text").example_batch(), tmp_path / "m.onnx")
    )
    embedding = next(name for name, tensor in baseline.items() if tensor.dim() == 2 and tensor.shape[0] == 5000)
    assert finding.trusted and embedding not in finding.multiplied and finding.multiplied
    pruned = {name: tensor.clone() for name, tensor in baseline.items()}
    for name in finding.multiplied:
        pruned[name][pruned[name].abs() < pruned[name].abs().median()] = 0.0
    assert 0.45 < compare_pruned_with_baseline(baseline, pruned, finding.multiplied).sparsity < 0.55
    assert compare_pruned_with_baseline(baseline, pruned).sparsity < 0.1  # counting the embedding too
    exported = onnx.load(str(tmp_path / "m.onnx"))
    conv_weights = sum(baseline[name].numel() for name in finding.multiplied)
    assert multiplied_weight_count(exported) == conv_weights  # structure is judged on these, not the embedding


def test_an_attention_models_sparsity_counts_what_the_notebooks_prune(tmp_path):
    """nn.MultiheadAttention's input projection is no Linear layer: the notebooks neither prune nor
    count it, so neither does the verifier; its output projection and the feed-forward layers count."""
    model = _trained_like(TinyTransformer())
    baseline = copy.deepcopy(model.state_dict())
    exported = _exported(model, get_track("text").example_batch(), tmp_path / "m.onnx")
    finding = compare_baseline_with_onnx(baseline, exported)
    assert finding.trusted, finding.problems
    assert not any(name.endswith("in_proj_weight") for name in finding.multiplied)
    assert any(name.endswith("out_proj.weight") for name in finding.multiplied)
