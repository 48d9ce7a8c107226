"""Every technique checks its own effect: a pruner that removed nothing, INT8 that converted nothing,
a model at chance, each heard in one line with the reason and what to do (helpers/effects.py)."""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
import torch
import torch_pruning as tp
from torch import nn

from helpers.effects import chance_tail, dynamic_int8_effect, learned_beyond_chance, structured_pruning_effect


class GroupNormResNet(nn.Module):
    """A residual CNN with GroupNorm(8, ...) and SiLU, the kind learners bring."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, stride=4, padding=1), nn.GroupNorm(8, 32), nn.SiLU())
        self.conv_a, self.norm_a = nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.GroupNorm(8, 32)
        self.conv_b, self.norm_b = nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.GroupNorm(8, 32)
        self.head = nn.Linear(32, 2)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.stem(pixels)
        x = nn.functional.silu(x + self.norm_b(self.conv_b(nn.functional.silu(self.norm_a(self.conv_a(x))))))
        return self.head(x.mean((2, 3)))


def _meta_pruned(model: nn.Module, round_to: int | None) -> nn.Module:
    smaller = copy.deepcopy(model).eval()
    pruner = tp.pruner.MetaPruner(smaller, torch.rand(1, 3, 64, 64), importance=tp.importance.MagnitudeImportance(p=1),
                                  pruning_ratio=0.5, ignored_layers=[smaller.head], round_to=round_to)  # fmt: skip
    pruner.step()
    return smaller


def test_metapruner_with_round_to_on_groupnorm_removes_nothing_and_the_check_says_why():
    torch.manual_seed(0)
    model = GroupNormResNet().eval()
    silent = structured_pruning_effect(model, _meta_pruned(model, round_to=8), asked=0.5)
    assert not silent.ok
    assert "removed 0% of the weights" in silent.line and "GroupNorm" in silent.line and "round_to" in silent.line
    assert "stem.0" in silent.line  # a layer left whole is named
    pruned = structured_pruning_effect(model, _meta_pruned(model, round_to=None), asked=0.5)
    assert pruned.ok, pruned.line


class EmbeddingBagText(nn.Module):
    """fastText style: the mean of the embeddings of the non-padding tokens, then a small MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Embedding(5000, 96, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(96, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != 0).unsqueeze(-1).float()
        return self.mlp((self.table(tokens) * mask).sum(1) / mask.sum(1).clamp(min=1))


def test_an_embedding_that_holds_the_bytes_is_named_when_pruning_leaves_it():
    model = EmbeddingBagText().eval()
    smaller = copy.deepcopy(model)
    pruner = tp.pruner.MetaPruner(smaller, torch.randint(0, 5000, (1, 200)),
                                  importance=tp.importance.MagnitudeImportance(p=1), pruning_ratio=0.5,
                                  ignored_layers=[smaller.mlp[2], smaller.table])  # fmt: skip
    pruner.step()
    effect = structured_pruning_effect(model, smaller, asked=0.5)
    assert not effect.ok and "table" in effect.line and "Gather" in effect.line


def test_dynamic_int8_that_converted_nothing_says_so():
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3)).eval()
    mlp = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        cnn_int8 = torch.ao.quantization.quantize_dynamic(cnn, {nn.Conv2d}, dtype=torch.qint8)
        mlp_int8 = torch.ao.quantization.quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)
    nothing = dynamic_int8_effect(cnn, cnn_int8)
    assert not nothing.ok and "none of your 2 layers" in nothing.line and "static INT8" in nothing.line
    converted = dynamic_int8_effect(mlp, mlp_int8)
    assert converted.ok and "converted 2 of 2" in converted.line


def test_the_chance_tail_is_the_binomial_tail():
    assert chance_tail(3, 3) == pytest.approx(1 / 8)
    assert chance_tail(2, 3) == pytest.approx(4 / 8)
    assert chance_tail(1, 3) == 1.0  # at or below chance: guessing does at least as well


@pytest.mark.parametrize(
    ("accuracy", "samples", "learned"),
    [(0.53, 1000, False), (0.50, 500, False), (0.58, 1000, True), (0.6805, 2000, True), (0.60, 20, False)],
)
def test_a_model_at_chance_is_told_to_retrain(accuracy, samples, learned):
    effect = learned_beyond_chance(accuracy, samples, where="StackedGRU")
    assert effect.ok is learned
    if not learned:
        assert "has not learned" in effect.line and "week5_model.toml" in effect.line


def test_an_own_model_at_chance_stops_before_the_day_is_spent_on_it(tmp_path, monkeypatch, day26_home):
    """ready_model (00, and every later notebook) refuses an own model that never learned."""
    from test_own_model import declare

    from helpers.errors import Day26Error
    from helpers.reference import ready_model
    from helpers.tracks import get_track, with_own_model
    from helpers.week5 import read_declaration

    declare(tmp_path, "BatchNormMLP", "tabular")  # its weights as built: never trained
    monkeypatch.chdir(tmp_path)
    track = with_own_model(get_track("tabular"), read_declaration())
    with pytest.raises(Day26Error, match="has not learned"):
        ready_model(track)


def test_where_the_bytes_are_is_measured_by_layer_kind():
    """05 chooses INT8 for an embedding that holds the bytes from this measurement, not from layer names."""
    from helpers.layers import bytes_by_kind, bytes_line

    shares = bytes_by_kind(EmbeddingBagText())
    assert next(iter(shares)) == "Embedding" and shares["Embedding"] == 5000 * 96 * 4
    assert shares["Linear"] == (96 * 32 + 32 + 32 * 2 + 2) * 4
    assert bytes_line(EmbeddingBagText()).startswith("Embedding 99%")
    encoder = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    assert "MultiheadAttention" in bytes_by_kind(encoder)  # its input projections are counted, not lost


def test_fine_tuning_plans_the_epochs_that_fit_its_budget():
    """A model too large for the budget gets fewer epochs, at least one, and the line says why."""
    from helpers.data import Dataset
    from helpers.train import plan_fine_tuning

    torch.manual_seed(0)
    data = Dataset(torch.rand(64, 3, 64, 64), torch.randint(0, 2, (64,)))
    model = GroupNormResNet()
    roomy = plan_fine_tuning(model, data, batch_size=16, wanted_epochs=3, budget_seconds=600)
    assert roomy.epochs == 3 and roomy.seconds_per_epoch > 0 and "over the" not in roomy.summary()
    tight = plan_fine_tuning(model, data, batch_size=16, wanted_epochs=3, budget_seconds=1e-6)
    assert tight.epochs == 1 and "over the 0 s budget" in tight.summary()


def test_the_grader_says_where_a_notebook_stopped_and_why(tmp_path):
    """A hand-in whose model is at chance stops in every notebook with the same line: the grading
    record says it once, naming the notebooks (what the learner was told, for the instructor too)."""
    import nbformat

    from grading.autograde import _stops

    message = "StackedGRU gets 49.0% of 1,000 validation samples right and chance is 50%: it has not learned"
    for name in ("00_start", "01_baseline"):
        cell = nbformat.v4.new_code_cell("setup = setup_notebook()")
        cell.outputs = [nbformat.v4.new_output("error", ename="Day26Error", evalue=message, traceback=[])]
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), tmp_path / f"{name}.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), tmp_path / "02_quantization.ipynb")
    assert _stops(tmp_path, ["00_start", "01_baseline", "02_quantization", "05_combined"]) == [
        f"00_start, 01_baseline stopped: {message}"
    ]


def test_onnx_int8_that_converted_nothing_says_so(tmp_path):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from helpers.effects import onnx_int8_effect

    mlp = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2)).eval()
    torch.onnx.export(mlp, (torch.rand(1, 10),), str(tmp_path / "fp32.onnx"), external_data=False, dynamo=False)
    quantize_dynamic(str(tmp_path / "fp32.onnx"), str(tmp_path / "none.onnx"), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["Conv"])  # fmt: skip
    quantize_dynamic(str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx"), weight_type=QuantType.QInt8)
    nothing = onnx_int8_effect(str(tmp_path / "none.onnx"))
    assert not nothing.ok and "converted nothing" in nothing.line
    assert onnx_int8_effect(str(tmp_path / "none.onnx"), expected=False).ok
    converted = onnx_int8_effect(str(tmp_path / "int8.onnx"))
    assert converted.ok and not converted.line.startswith("0%")


class _DataDependent(nn.Module):
    """A forward whose branch depends on the values: torch.export cannot capture it either way."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(10, 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features) if features.sum() > 0 else -self.linear(features)


def test_an_export_with_a_fixed_batch_is_caught_and_the_exporters_tries_are_read(tmp_path):
    from helpers.captured import library_output
    from helpers.effects import capture_attempts, export_effect

    mlp = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 2)).eval()
    example = (torch.rand(2, 10),)
    with library_output() as dynamic_output:
        torch.onnx.export(mlp, example, str(tmp_path / "dynamic.onnx"), external_data=False,
                          dynamic_shapes={"input": {0: torch.export.Dim("batch")}})  # fmt: skip
    with library_output():
        torch.onnx.export(mlp, example, str(tmp_path / "fixed.onnx"), external_data=False)
    dynamic = export_effect(tmp_path / "dynamic.onnx", dynamic_output.stdout + dynamic_output.stderr)
    assert dynamic.ok and "dynamic batch" in dynamic.line and "fell back" not in dynamic.line
    fixed = export_effect(tmp_path / "fixed.onnx")
    assert not fixed.ok and "fixed at 2" in fixed.line and "dynamic_shapes" in fixed.line

    # The exporter's own log of its tries, from a model that neither try can capture.
    with pytest.raises(torch.onnx.OnnxExporterError), library_output() as failed_output:
        torch.onnx.export(_DataDependent().eval(), example, str(tmp_path / "never.onnx"), external_data=False)
    attempts = capture_attempts(failed_output.stdout + failed_output.stderr)
    assert [worked for _, worked in attempts] == [False, False]
    assert "strict=False" in attempts[0][0] and "strict=True" in attempts[1][0]


class _Reader:
    """A calibration reader over a list of batches, as learners write them (a generator inside)."""

    def __init__(self, batches: list[np.ndarray]) -> None:
        self.feeds = ({"input": batch} for batch in batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


def test_a_calibration_that_serves_no_data_or_too_little_is_caught():
    from helpers.effects import calibration_effect

    batches = [np.zeros((16, 3), np.float32)] * 4 + [np.zeros((4, 3), np.float32)]
    whole = calibration_effect(_Reader(batches), samples_given=68)
    assert whole.ok and "68 samples in 5 batch(es)" in whole.line
    used_up = _Reader(batches)
    while used_up.get_next() is not None:
        pass
    empty = calibration_effect(used_up, samples_given=68)
    assert not empty.ok and "no batch" in empty.line and "new reader" in empty.line
    short = calibration_effect(_Reader(batches[:4]), samples_given=68)
    assert not short.ok and "64 samples" in short.line and "of the 68" in short.line
    tensors = calibration_effect(_TensorReader(), samples_given=16)
    assert not tensors.ok and ".numpy()" in tensors.line


class _TensorReader:
    def __init__(self) -> None:
        self.served = False

    def get_next(self):
        if self.served:
            return None
        self.served = True
        return {"input": torch.zeros(16, 3)}


def test_quantize_static_without_calibration_data_says_why_in_one_line(tmp_path):
    from onnxruntime.quantization import QuantFormat, quantize_static

    from helpers.captured import library_output
    from helpers.effects import calibration_explained
    from helpers.errors import Day26Error

    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)).eval()
    with library_output():
        torch.onnx.export(net, (torch.rand(2, 3, 8, 8),), str(tmp_path / "net.onnx"), external_data=False)
    with pytest.raises(Day26Error, match="saw no calibration data"), library_output(), calibration_explained():
        quantize_static(str(tmp_path / "net.onnx"), str(tmp_path / "int8.onnx"), _Reader([]),
                        quant_format=QuantFormat.QDQ)  # fmt: skip


def test_an_own_models_check_is_measured_once_and_again_when_its_weights_change(tmp_path, monkeypatch):
    """Every notebook opens with the chance check; the notebooks after the first read its record."""
    from test_own_model import declare

    from helpers.errors import Day26Error
    from helpers.reference import ready_model
    from helpers.tracks import get_track, with_own_model
    from helpers.week5 import read_declaration

    monkeypatch.setenv("DAY26_HOME", str(tmp_path / "home"))
    declare(tmp_path, "BatchNormMLP", "tabular")  # never trained: at chance
    monkeypatch.chdir(tmp_path)
    track = with_own_model(get_track("tabular"), read_declaration())
    with pytest.raises(Day26Error, match="has not learned"):
        ready_model(track)
    (record,) = (tmp_path / "home" / "own_model_checks").glob("*.json")
    measured = json.loads(record.read_text())
    samples = len(track.val_data())
    right = np.unpackbits(np.frombuffer(bytes.fromhex(measured["correct"]), np.uint8))[:samples]
    assert measured["samples"] == samples and 0.3 < right.mean() < 0.7
    learned = np.arange(samples) % 10 != 0  # what a model that learned would have recorded: 90 % right
    record.write_text(json.dumps({"samples": samples, "correct": np.packbits(learned).tobytes().hex()}))
    ready = ready_model(track)
    assert ready.val_accuracy == pytest.approx(0.9)  # read, not measured again
    from helpers.measure import accuracy

    assert accuracy(ready.model, track.val_data()) == pytest.approx(0.9)  # the kernel knows it too (01's line)
    torch.manual_seed(1)
    torch.save(type(ready_model(track).model)().state_dict(), tmp_path / "week5" / "weights.pth")  # other weights
    with pytest.raises(Day26Error, match="has not learned"):
        ready_model(track)  # measured again
    assert len(list(record.parent.glob("*.json"))) == 2


def test_a_long_training_run_reports_its_progress_with_an_estimate(capsys):
    """helpers.progress: the learner's own loop, unchanged, over a dataset that reports how far it got."""
    from helpers.data import Dataset
    from helpers.progress import with_progress
    from helpers.train import TrainingRecipe, train

    generator = torch.Generator().manual_seed(0)
    data = Dataset(torch.randn(100, 10, generator=generator), torch.randint(0, 2, (100,), generator=generator))
    watched = with_progress(data, passes=2, label="recipe A fine-tuning")
    watched.every_seconds = 0.0  # a line after every batch but the last
    assert len(watched) == 100
    train(nn.Sequential(nn.Linear(10, 2)), watched, TrainingRecipe(epochs=2, batch_size=32, learning_rate=1e-3))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * 4 - 1  # 4 batches per pass (the last one partial), no line when all is done
    assert lines[0].startswith("  recipe A fine-tuning: 1/8 batches (12%) in ") and lines[0].endswith("s left")
    assert lines[-1].startswith("  recipe A fine-tuning: 7/8 batches (88%)")


def test_an_own_models_check_is_kept_in_the_temporary_folder_where_the_cache_is_read_only(tmp_path, monkeypatch):
    """The grader's sandbox reads the cache and cannot write it: the notebooks after 00 still read the record."""
    import tempfile

    from helpers.reference import _check_records_folder

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("DAY26_HOME", str(blocked / "cache"))  # no folder can be made under a file
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "session-tmp"))
    (tmp_path / "session-tmp").mkdir()
    assert _check_records_folder() == tmp_path / "session-tmp" / "day26-own-model-checks"
    monkeypatch.setenv("DAY26_HOME", str(tmp_path / "home"))
    assert _check_records_folder() == tmp_path / "home" / "own_model_checks"


def test_why_dynamic_int8_made_a_recurrent_model_slower_is_read_from_its_own_profile(capfd):
    from helpers.effects import dynamic_int8_speed_effect
    from helpers.torch_time import operator_runs, time_by_torch_operator

    class Recurrent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.head = nn.LSTM(16, 32, batch_first=True), nn.Linear(32, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.lstm(x)[0][:, -1])

    model = Recurrent().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices, shown in notebook 02
        quantized = torch.ao.quantization.quantize_dynamic(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    one_input = torch.rand(1, 50, 16)
    fp32, int8 = time_by_torch_operator(model, one_input), time_by_torch_operator(quantized, one_input)
    assert capfd.readouterr().err == ""  # the profiler's own start and stop lines are not on stderr
    assert operator_runs(int8) >= 3 * operator_runs(fp32)  # the INT8 LSTM runs step by step: 50 steps
    slower = dynamic_int8_speed_effect(0.5, fp32, int8, "a test CPU")
    assert not slower.ok and "0.50x the speed of FP32 here, slower" in slower.line
    assert "as many operators" in slower.line and "notebook 05" in slower.line
    assert dynamic_int8_speed_effect(1.0, fp32, int8, "a test CPU").ok
    faster = dynamic_int8_speed_effect(1.4, fp32, int8, "a test CPU")
    assert faster.ok and "1.40x the speed of FP32" in faster.line


def test_what_compiled_code_writes_to_stderr_is_kept_not_shown(capfd):
    import os

    from helpers.captured import native_stderr

    with native_stderr() as printed:
        os.write(2, b"from C++\n")
    assert printed.stderr == "from C++\n" and capfd.readouterr().err == ""
    with pytest.raises(RuntimeError), native_stderr():
        os.write(2, b"why it failed\n")
        raise RuntimeError("failed")
    assert "why it failed" in capfd.readouterr().err  # shown when the block raises


class _ConcatenatingBlock(nn.Module):
    """A dense block in miniature: two feature maps of very different ranges concatenated, then a
    normalization and a convolution that read both."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.grow = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.norm, self.mix = nn.BatchNorm2d(8), nn.Conv2d(8, 2, 1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        features = self.stem(pixels)
        stacked = torch.cat([50.0 * features, 0.05 * self.grow(features)], dim=1)
        return self.mix(torch.relu(self.norm(stacked))).mean(dim=(2, 3))


def test_static_int8_of_a_concatenation_is_measured_and_named(tmp_path):
    import numpy as np
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from helpers.effects import WEIGHT_OPERATORS, quantized_concatenations, static_int8_accuracy_effect

    torch.manual_seed(0)
    block = _ConcatenatingBlock()
    with torch.no_grad():  # BatchNorm statistics that match the two ranges, as training leaves them
        block.norm.running_var.copy_(torch.tensor([2500.0] * 4 + [0.0025] * 4))
    block.eval()
    images = torch.rand(32, 3, 16, 16)
    torch.onnx.export(block, (images[:1],), str(tmp_path / "fp32.onnx"), input_names=["pixels"], dynamo=False,
                      dynamic_axes={"pixels": {0: "batch"}})  # fmt: skip

    class Calibration(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"pixels": images[:16].numpy()}, {"pixels": images[16:].numpy()}])

        def get_next(self):
            return next(self.batches, None)

    def quantized(name: str, operators: list[str] | None) -> tuple[str, float]:
        path = str(tmp_path / name)
        quantize_static(str(tmp_path / "fp32.onnx"), path, Calibration(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=operators)  # fmt: skip
        outputs = {}
        for model in (str(tmp_path / "fp32.onnx"), path):
            session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
            outputs[model] = session.run(None, {"pixels": images.numpy()})[0]
        expected = outputs[str(tmp_path / "fp32.onnx")]
        return path, float(np.abs(outputs[path] - expected).max() / np.abs(expected).max())

    unrestricted, unrestricted_error = quantized("all.onnx", None)
    weights_only, weights_only_error = quantized("weights.onnx", list(WEIGHT_OPERATORS))
    assert quantized_concatenations(unrestricted) and not quantized_concatenations(weights_only)
    assert weights_only_error < unrestricted_error / 4  # the measured reason for the advice

    named = static_int8_accuracy_effect(unrestricted, accuracy_drop_points=20.6, budget_points=2.0)
    assert not named.ok and "concatenation" in named.line and "op_types_to_quantize" in named.line
    other = static_int8_accuracy_effect(weights_only, accuracy_drop_points=5.0, budget_points=2.0)
    assert not other.ok and "concatenation" not in other.line and "nodes_to_exclude" in other.line
    assert static_int8_accuracy_effect(unrestricted, accuracy_drop_points=0.4, budget_points=2.0).ok


def test_recipes_that_are_not_small_enough_say_whether_to_prune_more():
    from helpers.effects import recipes_size_effect

    # DenseCNN in the zoo: 60 % pruned was 3.79x smaller and 2.6 points more accurate (target 4x, budget 2)
    short = recipes_size_effect({"lighter": (0.36, 3.35, -1.8), "suggested": (0.6, 3.79, -2.6)}, 4.0, 2.0)
    assert not short.ok and "'suggested'" in short.line and "prunes more than 60%" in short.line
    spent = recipes_size_effect({"suggested": (0.6, 3.79, 2.4)}, 4.0, 2.0)
    assert not spent.ok and "prunes more" not in spent.line and "fine-tuning" in spent.line
    assert recipes_size_effect({"suggested": (0.6, 4.2, 1.0)}, 4.0, 2.0).ok
    assert recipes_size_effect({"suggested": (0.5, 1.1, 0.0)}, 0.0, 2.0).ok  # stocks: no size target


def test_int8_that_is_slower_than_fp32_counts_its_conversions(tmp_path):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from helpers.effects import onnx_int8_speed_effect

    mlp = nn.Sequential(nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 2)).eval()
    torch.onnx.export(mlp, (torch.rand(1, 40),), str(tmp_path / "fp32.onnx"), external_data=False, dynamo=False)
    quantize_dynamic(str(tmp_path / "fp32.onnx"), str(tmp_path / "int8.onnx"), weight_type=QuantType.QInt8)
    # TinyViT in the zoo: its INT8 model ran 0.68x the speed of the same pruned model in FP32
    slower = onnx_int8_speed_effect(0.68, tmp_path / "int8.onnx", tmp_path / "fp32.onnx")
    assert not slower.ok and "0.68x" in slower.line and "3 time(s) a call" in slower.line
    assert onnx_int8_speed_effect(0.97, tmp_path / "int8.onnx", tmp_path / "fp32.onnx").ok  # within 5 %: noise
