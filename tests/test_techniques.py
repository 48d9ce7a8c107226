"""Each technique does what it says: smaller files, the sparsity asked for, smaller models
that keep their output shape, ONNX outputs within tolerance of PyTorch."""

from __future__ import annotations

import copy
from pathlib import Path

import onnx
import pytest
import torch

from grading.techniques.export import export_onnx, strip_exporter_notes
from grading.techniques.prune import (
    add_l1_masks,
    make_pruning_permanent,
    prune_channels,
    prune_l1_unstructured,
    prune_recurrent_units,
)
from grading.techniques.quantize import ort_dynamic_int8, ort_static_int8, torch_dynamic_int8
from helpers.data import make_skin_images
from helpers.measure import count_parameters, size_on_disk, sparsity
from helpers.models import LesionNet, SentimentLSTM, StockMLP
from helpers.parity import check_parity
from helpers.runtime import open_session, run_session


@pytest.mark.parametrize("scope", ["layer", "global"])
@pytest.mark.parametrize("amount", [0.3, 0.5, 0.9])
def test_unstructured_pruning_reaches_the_sparsity_asked_for(scope, amount):
    pruned = prune_l1_unstructured(LesionNet(), amount, scope)
    assert sparsity(pruned).overall == pytest.approx(amount, abs=0.002)
    if scope == "layer":
        assert all(f == pytest.approx(amount, abs=0.01) for f in sparsity(pruned).per_layer.values())


def test_pruning_also_reaches_lstm_matrices_and_the_file_loads_into_the_architecture(tmp_path):
    pruned = prune_l1_unstructured(SentimentLSTM(), 0.5)
    assert sparsity(pruned).per_layer["lstm.weight_hh_l0"] == pytest.approx(0.5, abs=0.01)
    torch.save(pruned.state_dict(), tmp_path / "pruned.pth")
    SentimentLSTM().load_state_dict(torch.load(tmp_path / "pruned.pth", weights_only=True))


def test_masks_are_folded_in_and_the_dense_file_keeps_its_size(tmp_path):
    model = StockMLP()
    masked = add_l1_masks(StockMLP(), 0.5)
    assert any(key.endswith("weight_mask") for key in masked.state_dict())
    torch.save(masked.state_dict(), tmp_path / "masked.pth")  # weight_orig + mask: about twice the size
    permanent = make_pruning_permanent(masked)
    assert not any(key.endswith(("weight_mask", "weight_orig")) for key in permanent.state_dict())
    torch.save(model.state_dict(), tmp_path / "dense.pth")
    torch.save(permanent.state_dict(), tmp_path / "pruned.pth")
    dense = size_on_disk(tmp_path / "dense.pth")
    assert size_on_disk(tmp_path / "pruned.pth") == pytest.approx(dense, rel=0.01)  # zeros still take 4 bytes
    assert size_on_disk(tmp_path / "masked.pth") > 1.8 * dense


def test_channel_pruning_really_lowers_the_parameter_count_and_keeps_the_output_shape():
    model = LesionNet().eval()
    x = torch.rand(2, 3, 224, 224)
    smaller = prune_channels(model, x, 0.5)
    assert count_parameters(smaller) < 0.35 * count_parameters(model)
    assert smaller(x).shape == model(x).shape == (2, 2)
    assert all(c.out_channels % 8 == 0 for c in smaller.modules() if isinstance(c, torch.nn.Conv2d))


def test_lstm_unit_pruning_builds_a_smaller_lstm_with_the_same_outputs_shape():
    model = SentimentLSTM().eval()
    smaller = prune_recurrent_units(model, 0.25)
    assert smaller.lstm.hidden_size == 96 and smaller.embedding.embedding_dim == 48
    x = torch.randint(0, 5000, (3, 200))
    assert smaller(x).shape == (3, 2)
    assert count_parameters(smaller) < 0.8 * count_parameters(model)


def test_lstm_unit_pruning_keeps_the_strongest_units_exactly():
    model = SentimentLSTM(vocab_size=20, embed_dim=4, hidden_size=4).eval()
    with torch.no_grad():  # unit 2 is made far stronger than the others
        model.lstm.weight_hh_l0[2::4].mul_(100)
    smaller = prune_recurrent_units(model, 0.75)
    assert smaller.lstm.hidden_size == 1
    hidden = 4
    rows = [2 + gate * hidden for gate in range(4)]
    assert torch.equal(smaller.lstm.bias_ih_l0, model.lstm.bias_ih_l0[rows])


def test_recurrent_unit_pruning_is_the_function_notebook_05_gives_learners():
    """The pipeline's prune_recurrent_units and notebook 05's remove_recurrent_units (a given cell the
    learner reads) are one algorithm written twice (the instructor side cannot import a notebook):
    on a stacked bidirectional GRU with names of its own they give the same model, tensor by tensor."""
    import json

    from own_models.week5_models import StackedGRU

    notebook = json.loads((Path(__file__).parent.parent / "solutions" / "day26" / "05_combined.ipynb").read_text())
    cell = next(
        c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "05-code-lstm-units"
    )
    namespace = {"copy": copy, "torch": torch, "nn": torch.nn}
    exec("".join(cell["source"]), namespace)
    torch.manual_seed(4)
    model = StackedGRU().eval()
    ours, theirs = prune_recurrent_units(model, 0.4), namespace["remove_recurrent_units"](model, 0.4)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert all(torch.equal(ours.state_dict()[k], theirs.state_dict()[k]) for k in ours.state_dict())
    assert count_parameters(ours) < 0.7 * count_parameters(model)
    tokens = torch.randint(0, 5000, (2, 200))
    assert ours(tokens).shape == model(tokens).shape


@pytest.mark.parametrize(
    ("model", "example"),
    [
        (LesionNet(), torch.rand(2, 3, 224, 224)),
        (SentimentLSTM(), torch.randint(0, 5000, (2, 200))),
        (StockMLP(), torch.randn(2, 10)),
    ],
    ids=["images", "text", "tabular"],
)
def test_onnx_export_is_one_file_with_dynamic_batch_and_matches_pytorch(tmp_path, model, example):
    path = export_onnx(model.eval(), example, tmp_path / "model.onnx")
    assert torch.is_grad_enabled()  # export turns autograd off for itself only
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no external data file
    batch_dim = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param  # symbolic, not a fixed number
    five = torch.cat([example, example, example[:1]])
    parity = check_parity(model, path, five)
    assert parity.passed and parity.max_abs_difference < 1e-4
    assert parity.same_prediction_fraction == 1.0


def test_the_exporters_notes_on_every_node_are_stripped_and_the_model_computes_the_same(tmp_path):
    """A small model's file is mostly the exporter's per-node notes (stack traces with this machine's
    paths): stripping them shrinks the file and changes no output."""
    model = StockMLP().eval()
    path = export_onnx(model, torch.randn(2, 10), tmp_path / "model.onnx")
    notes = [prop.key for node in onnx.load(str(path)).graph.node for prop in node.metadata_props]
    assert "pkg.torch.onnx.stack_trace" in notes
    before = size_on_disk(path)
    strip_exporter_notes(path)
    assert not [prop for node in onnx.load(str(path)).graph.node for prop in node.metadata_props]
    assert size_on_disk(path) < 0.9 * before  # 27.5 KB -> 22.9 KB: weights 20 KB, the notes 4.6 KB
    five = torch.randn(5, 10)
    assert check_parity(model, path, five).max_abs_difference < 1e-5


def test_unstructured_pruning_reaches_a_grus_weights_in_every_layer_and_direction():
    class Reviews(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.words = torch.nn.Embedding(100, 16)
            self.gru = torch.nn.GRU(16, 32, num_layers=2, bidirectional=True, batch_first=True)
            self.head = torch.nn.Linear(64, 2)

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.head(self.gru(self.words(tokens))[0].amax(dim=1))

    report = sparsity(prune_l1_unstructured(Reviews().eval(), 0.5))
    assert 0.49 < report.overall < 0.51  # before, only the head was pruned (0.1 % of a GRU model)


class _FeaturesNet(torch.nn.Module):
    """A learner's model whose forward argument is not called x."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


def test_export_keys_the_dynamic_batch_to_the_models_own_argument_name(tmp_path):
    path = export_onnx(_FeaturesNet().eval(), torch.randn(2, 10), tmp_path / "model.onnx")
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert run_session(open_session(path), torch.randn(7, 10)).shape == (7, 2)


def test_parity_check_catches_a_wrong_export(tmp_path):
    model = StockMLP().eval()
    path = export_onnx(model, torch.randn(2, 10), tmp_path / "model.onnx")
    other = StockMLP().eval()  # different random weights
    assert not check_parity(other, path, torch.randn(8, 10)).passed


def test_static_int8_shrinks_a_cnn_about_four_times_and_stays_close(tmp_path):
    model = LesionNet().eval()
    fp32 = export_onnx(model, torch.rand(2, 3, 224, 224), tmp_path / "fp32.onnx")
    images = make_skin_images(24, 3)
    int8 = ort_static_int8(fp32, tmp_path / "int8.onnx", images, batch_size=8)
    assert size_on_disk(int8) < size_on_disk(fp32) / 3.5
    ops = {node.op_type for node in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    inputs = images.model_inputs(0, 4)
    expected = model(inputs).detach().numpy()
    assert abs(run_session(open_session(int8), inputs) - expected).max() < 0.5 * abs(expected).max() + 0.05


def test_pytorch_dynamic_int8_skips_conv_layers_and_shrinks_lstms():
    cnn = torch_dynamic_int8(LesionNet())
    assert isinstance(cnn.stages[0].conv1, torch.nn.Conv2d)  # left in FP32: the lesson of exercise 2
    lstm = torch_dynamic_int8(SentimentLSTM())
    assert type(lstm.lstm).__module__.startswith("torch.ao.nn.quantized.dynamic")


def test_ort_dynamic_int8_quantizes_the_lstm_and_the_embedding(tmp_path):
    fp32 = export_onnx(SentimentLSTM().eval(), torch.randint(0, 5000, (2, 200)), tmp_path / "fp32.onnx")
    int8 = ort_dynamic_int8(fp32, tmp_path / "int8.onnx")
    assert size_on_disk(int8) < size_on_disk(fp32) / 3.5
    assert "DynamicQuantizeLSTM" in {node.op_type for node in onnx.load(str(int8)).graph.node}


class _DenseBlock(torch.nn.Module):
    """Feature maps concatenated, as a DenseNet-style block does."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.grow = torch.nn.Conv2d(3, 8, 4, 4), torch.nn.Conv2d(8, 8, 3, padding=1)
        self.norm, self.head = torch.nn.BatchNorm2d(16), torch.nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stem(x)
        stacked = torch.relu(self.norm(torch.cat([features, self.grow(features)], dim=1)))
        return self.head(stacked.mean(dim=(2, 3)))


def test_static_int8_of_a_concatenating_cnn_quantizes_only_its_weight_layers(tmp_path):
    from helpers.effects import quantized_concatenations

    fp32 = export_onnx(_DenseBlock().eval(), torch.rand(2, 3, 224, 224), tmp_path / "fp32.onnx")
    int8 = ort_static_int8(fp32, tmp_path / "int8.onnx", make_skin_images(16, 3), batch_size=8)
    graph = onnx.load(str(int8)).graph
    assert "Concat" in {node.op_type for node in graph.node} and not quantized_concatenations(int8)
    quantized = {node.input[0] for node in graph.node if node.op_type == "DequantizeLinear"}
    assert any(name.startswith("grow") for name in quantized)  # the convolution's weights are INT8
