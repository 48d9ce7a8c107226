"""Measurements against cases with known answers."""

from __future__ import annotations

import onnx
import pytest
import torch
from torch import nn

from grading.techniques.export import export_onnx
from grading.techniques.quantize import ort_dynamic_int8, torch_dynamic_int8
from helpers.artifacts import inspect_artifact
from helpers.bench import Measurement, compare_latency, measure_latency
from helpers.errors import Day26Error
from helpers.int8_state import save_dynamic_int8
from helpers.measure import accuracy, count_onnx_parameters, count_parameters, size_on_disk, sparsity
from helpers.models import LesionNet, SentimentLSTM, StockMLP


def _half_zero_mlp() -> StockMLP:
    """A model whose prunable weights are exactly half zeros (biases are not counted)."""
    model = StockMLP()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                flat = module.weight.view(-1)
                flat[: flat.numel() // 2] = 0.0
                module.bias.fill_(0.0)  # zero biases must not count
    return model


def test_sparsity_of_a_model_with_exactly_half_its_weights_zero():
    report = sparsity(_half_zero_mlp())
    assert report.overall == 0.5
    assert set(report.per_layer) == {"hidden.0.weight", "hidden.2.weight", "classifier.weight"}
    assert all(fraction == 0.5 for fraction in report.per_layer.values())


def test_sparsity_counts_lstm_matrices_but_not_the_embedding():
    model = SentimentLSTM(vocab_size=50, embed_dim=8, hidden_size=4)
    with torch.no_grad():
        model.embedding.weight.zero_()
    report = sparsity(model)
    assert "lstm.weight_ih_l0" in report.per_layer and "lstm.weight_hh_l0" in report.per_layer
    assert not any(name.startswith("embedding") for name in report.per_layer)
    assert report.overall == 0.0


def test_parameter_count_matches_pytorch_and_survives_quantization():
    model = SentimentLSTM()
    expected = sum(p.numel() for p in model.parameters())
    assert count_parameters(model) == expected
    assert count_parameters(torch_dynamic_int8(model)) == expected


def test_onnx_parameter_count_matches_pytorch_also_in_int8_and_constant_nodes(tmp_path):
    model = StockMLP()
    fp32 = export_onnx(model, torch.randn(2, 10), tmp_path / "model.onnx")
    assert count_onnx_parameters(fp32) == count_parameters(model)
    int8 = ort_dynamic_int8(fp32, tmp_path / "int8.onnx")  # INT8 weights; scales are not counted
    assert count_onnx_parameters(int8) == count_parameters(model)
    graph = onnx.load(str(fp32))
    weights = list(graph.graph.initializer)
    del graph.graph.initializer[:]
    for tensor in weights:  # the same weights, held by Constant nodes instead of initializers
        graph.graph.node.insert(0, onnx.helper.make_node("Constant", [], [tensor.name], value=tensor))
    onnx.save_model(graph, str(tmp_path / "constants.onnx"))
    assert count_onnx_parameters(tmp_path / "constants.onnx") == count_parameters(model)


def test_onnx_size_counts_external_data_and_names_a_missing_file(tmp_path):
    path = export_onnx(StockMLP(), torch.randn(2, 10), tmp_path / "model.onnx")
    single_file_size = size_on_disk(path)
    model = onnx.load(str(path))
    onnx.save_model(model, str(tmp_path / "split.onnx"), save_as_external_data=True, location="split.onnx.data",
                    size_threshold=0)  # fmt: skip
    graph_only = (tmp_path / "split.onnx").stat().st_size
    data_bytes = (tmp_path / "split.onnx.data").stat().st_size
    assert size_on_disk(tmp_path / "split.onnx") == graph_only + data_bytes
    assert graph_only < single_file_size / 3  # the graph alone would fake a big reduction
    (tmp_path / "split.onnx.data").unlink()
    with pytest.raises(Day26Error, match=r"split\.onnx.*split\.onnx\.data.*missing"):
        size_on_disk(tmp_path / "split.onnx")


def test_a_quantized_file_is_smaller_and_inspect_says_it_is_quantized(tmp_path):
    model = SentimentLSTM().eval()
    torch.save(model.state_dict(), tmp_path / "fp32.pth")
    save_dynamic_int8(torch_dynamic_int8(model), tmp_path / "int8.pth")
    assert size_on_disk(tmp_path / "int8.pth") < size_on_disk(tmp_path / "fp32.pth")
    report = inspect_artifact(tmp_path / "int8.pth")
    assert report.quantized and "qint8" in report.weight_dtypes
    assert report.architecture.startswith("text track")
    assert not inspect_artifact(tmp_path / "fp32.pth").quantized


def test_inspect_reports_sparsity_of_a_state_dict(tmp_path):
    torch.save(_half_zero_mlp().state_dict(), tmp_path / "half.pth")
    report = inspect_artifact(tmp_path / "half.pth")
    assert report.sparsity == 0.5
    assert report.params == count_parameters(StockMLP())


def test_accuracy_of_pytorch_and_onnx_runtime_agree(tmp_path):
    from helpers.data import make_stock_features
    from helpers.runtime import open_session

    data = make_stock_features(300, 11)
    model = StockMLP().eval()
    path = export_onnx(model, data.model_inputs(0, 2), tmp_path / "m.onnx")
    assert accuracy(model, data) == accuracy(open_session(path), data)


def test_measurement_statistics_have_known_answers():
    m = Measurement("x", [float(v) for v in range(1, 11)], threads=1, batch_size=1, runtime="pytorch")
    assert m.median_ms == 5.5
    assert 9.0 <= m.p90_ms <= 10.0
    assert m.as_dict()["calls"] == 10 and "1 thread" in str(m)


class _Slowed(nn.Module):
    """Wraps a model and sleeps a fixed time per call: a known slowdown."""

    def __init__(self, inner: nn.Module, seconds: float) -> None:
        super().__init__()
        self.inner, self.seconds = inner, seconds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        time.sleep(self.seconds)
        return self.inner(x)


def test_comparison_finds_a_known_slowdown_and_states_its_settings():
    model = StockMLP().eval()
    x = torch.randn(1, 10)
    comparison = compare_latency(_Slowed(model, 0.004), model, x, ("slow", "fast"), blocks=4, seconds=0.4)
    assert comparison.speedup > 5  # 4 ms of sleep against a call of well under 0.5 ms
    assert len(comparison.block_speedups) == 4
    assert comparison.baseline.median_ms >= 4.0
    single = measure_latency(model, x, "mlp", threads=1, seconds=0.1)
    assert single.threads == 1 and single.batch_size == 1 and len(single.samples_ms) >= 20
    shown = str(comparison)
    assert shown.splitlines()[1].strip().startswith("slow") and "pytorch, 1 thread(s)" in shown


def test_conv_net_measures_as_a_whole_in_megabytes(tmp_path):
    torch.save(LesionNet().state_dict(), tmp_path / "cnn.pth")
    assert 4_000_000 < size_on_disk(tmp_path / "cnn.pth") < 48_000_000
    assert 1_000_000 <= count_parameters(LesionNet()) <= 12_000_000


def test_the_layer_table_shows_what_dynamic_int8_converted_and_what_it_weighs():
    import warnings

    from helpers.layers import layer_changes, layer_table
    from helpers.models import SentimentLSTM

    model = SentimentLSTM().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear, torch.nn.LSTM}, dtype=torch.qint8)
    changes = {change.name: change for change in layer_changes(model, quantized)}
    assert list(changes) == ["embedding", "lstm", "classifier"]
    assert not changes["embedding"].converted and changes["embedding"].bytes_after == 4 * 5000 * 64
    assert changes["lstm"].type_after == "dynamic INT8 LSTM" and changes["lstm"].converted
    weights = sum(p.numel() for name, p in model.lstm.named_parameters() if name.startswith("weight"))
    assert changes["lstm"].bytes_before == 4 * sum(p.numel() for p in model.lstm.parameters())
    assert weights <= changes["lstm"].bytes_after < changes["lstm"].bytes_before / 3  # INT8 weights, FP32 biases
    assert "2 of 3 layers converted" in layer_table(list(changes.values()))
