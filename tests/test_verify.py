"""The verifier measures for itself and refuses unsafe or fake artifacts, each with a reason."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import torch

from grading.pipeline import run_pipeline
from grading.verify import verify_submission
from helpers.models import LesionNet, StockMLP
from helpers.tracks import get_track


@pytest.fixture(scope="module")
def reference_submission(day26_home, tmp_path_factory) -> Path:
    """The reference solution of the tabular track, laid out as a learner's folder."""
    folder = tmp_path_factory.mktemp("reference")
    run_pipeline(get_track("tabular"), folder / "artifacts", seconds_per_comparison=0.5)
    (folder / "artifacts" / "track.json").write_text(json.dumps({"track": "tabular"}))
    return folder


@pytest.fixture
def submission(reference_submission, tmp_path) -> Path:
    """A fresh copy of the reference solution, for a test to spoil."""
    return Path(shutil.copytree(reference_submission, tmp_path / "learner"))


def _checks(verdict, artifact: str) -> dict[str, object]:
    return {check.name: check for check in verdict.checks if check.artifact == artifact}


def test_the_reference_solution_passes_every_check(submission):
    verdict = verify_submission(submission)
    assert verdict.passed, verdict.table()
    assert verdict.track == "tabular"
    assert list(dict.fromkeys(c.artifact for c in verdict.checks)) == [  # every graded cell, in notebook order
        "track.json",
        "baseline.pth",
        "quantized_dynamic.pth",
        "quantized_static.onnx",
        "pruned.pth",
        "model.onnx",
        "optimized.onnx",
        "comparison.png",
    ]
    assert _checks(verdict, "quantized_static.onnx")["track"].measured == "not used"  # images track only
    assert _checks(verdict, "optimized.onnx")["structure"].passed is True
    attempts = verdict.lane["optimized.onnx"]["attempts"]
    assert attempts and attempts[0]["reference_ms"] and attempts[0]["artifact_ms"]  # raw samples kept


def test_a_missing_track_choice_is_a_failed_check_not_an_error(submission):
    (submission / "artifacts" / "track.json").unlink()
    verdict = verify_submission(submission)
    assert verdict.track == "unknown" and not verdict.passed
    [check] = verdict.checks
    assert (check.artifact, check.name, check.passed) == ("track.json", "track", False)
    assert "track.json is missing" in check.reason and "choose_track" in check.reason
    assert json.loads(json.dumps(verdict.as_dict()))["checks"][0]["status"] == "FAIL"
    assert "track.json" in verdict.table()


def test_a_baseline_with_random_weights_fails_on_accuracy(submission):
    torch.manual_seed(0)
    torch.save(StockMLP().state_dict(), submission / "artifacts" / "baseline.pth")  # fits, but untrained
    verdict = verify_submission(submission)
    check = _checks(verdict, "baseline.pth")["accuracy"]
    assert check.passed is False and "reference model" in check.reason


def test_an_unpruned_model_submitted_as_optimized_fails_on_structure(submission):
    from grading.techniques.export import export_onnx
    from helpers.reference import ready_model

    track = get_track("tabular")
    export_onnx(ready_model(track).model, track.example_batch(), submission / "artifacts" / "optimized.onnx")
    verdict = verify_submission(submission)
    check = _checks(verdict, "optimized.onnx")["structure"]
    assert check.passed is False and "structured pruning must remove weights" in check.reason


def test_a_text_file_named_comparison_png_is_not_an_image(submission):
    (submission / "artifacts" / "comparison.png").write_text("a plot would be here")
    verdict = verify_submission(submission)
    check = _checks(verdict, "comparison.png")["image"]
    assert check.passed is False and check.measured == "not a PNG"
    assert "save_comparison_plot" in check.reason


def test_results_json_is_never_trusted(submission):
    results = submission / "artifacts" / "results.json"
    fake = json.loads(results.read_text())
    for record in fake["records"]:
        record["accuracy"], record["speedup_vs_baseline"] = 1.0, 100.0
    results.write_text(json.dumps(fake))
    torch.save(StockMLP().state_dict(), submission / "artifacts" / "pruned.pth")  # random weights
    verdict = verify_submission(submission)
    assert not verdict.passed
    assert _checks(verdict, "pruned.pth")["accuracy"].passed is False


def test_missing_artifacts_are_named(submission):
    (submission / "artifacts" / "optimized.onnx").unlink()
    (submission / "artifacts" / "pruned.pth").unlink()
    verdict = verify_submission(submission)
    assert "optimized.onnx is missing" in _checks(verdict, "optimized.onnx")["file"].reason
    assert "pruned.pth is missing" in _checks(verdict, "pruned.pth")["file"].reason


def test_a_dense_pruned_model_and_an_fp32_quantized_model_fail(submission):
    artifacts = submission / "artifacts"
    shutil.copy(artifacts / "baseline.pth", artifacts / "pruned.pth")
    shutil.copy(artifacts / "baseline.pth", artifacts / "quantized_dynamic.pth")
    verdict = verify_submission(submission)
    assert _checks(verdict, "pruned.pth")["sparsity"].passed is False
    assert "the weights are FP32" in _checks(verdict, "quantized_dynamic.pth")["file"].reason


def test_a_pickled_module_and_a_wrong_architecture_are_refused(submission):
    artifacts = submission / "artifacts"
    torch.save(StockMLP(), artifacts / "pruned.pth")  # a whole module: code runs on load
    torch.save(LesionNet().state_dict(), artifacts / "quantized_dynamic.pth")
    verdict = verify_submission(submission)
    assert "never loaded" in _checks(verdict, "pruned.pth")["file"].reason
    assert _checks(verdict, "quantized_dynamic.pth")["file"].passed is False


def test_a_corrupt_onnx_file_is_refused(submission):
    (submission / "artifacts" / "optimized.onnx").write_bytes(b"not an onnx model at all")
    verdict = verify_submission(submission)
    assert "not a readable ONNX model" in _checks(verdict, "optimized.onnx")["file"].reason


def test_onnx_weights_outside_the_submission_are_refused(submission, tmp_path):
    artifacts = submission / "artifacts"
    model = onnx.load(str(artifacts / "model.onnx"))
    outside = tmp_path / "outside"
    outside.mkdir()
    onnx.save_model(model, str(outside / "model.onnx"), save_as_external_data=True, location="weights.data",
                    size_threshold=0)  # fmt: skip
    shutil.copy(outside / "model.onnx", artifacts / "model.onnx")
    graph = onnx.load(str(artifacts / "model.onnx"), load_external_data=False)
    for tensor in graph.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../../outside/weights.data"
    onnx.save_model(graph, str(artifacts / "model.onnx"))
    verdict = verify_submission(submission)
    assert "outside the submission" in _checks(verdict, "model.onnx")["file"].reason


def test_linked_files_are_refused(submission, tmp_path):
    artifacts = submission / "artifacts"
    target = tmp_path / "elsewhere.onnx"
    shutil.move(artifacts / "optimized.onnx", target)
    os.symlink(target, artifacts / "optimized.onnx")
    os.link(artifacts / "pruned.pth", tmp_path / "second_name.pth")  # pruned.pth now has two names
    verdict = verify_submission(submission)
    assert "symbolic link" in _checks(verdict, "optimized.onnx")["file"].reason
    assert "hard link" in _checks(verdict, "pruned.pth")["file"].reason


def test_an_unoptimized_model_submitted_as_optimized_fails_on_size_and_speed(day26_home, tmp_path):
    track = get_track("text")
    folder = tmp_path / "learner"
    artifacts = folder / "artifacts"
    artifacts.mkdir(parents=True)
    from grading.techniques.export import export_onnx
    from helpers.reference import ready_model

    export_onnx(ready_model(track).model, track.example_batch(), artifacts / "optimized.onnx")
    verdict = verify_submission(folder, "text")
    checks = _checks(verdict, "optimized.onnx")
    assert checks["size"].passed is False and checks["speed"].passed is False
    assert checks["accuracy"].passed is True  # the same model: no accuracy lost


def test_verify_command_exit_codes(reference_submission, tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "grading.cli", "verify", *args], capture_output=True, text=True)

    passed = run(str(reference_submission), "--json")
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout)["passed"] is True
    missing = run(str(tmp_path / "nobody"))
    assert missing.returncode == 2 and "no artifacts/ folder" in missing.stderr


def test_the_measure_and_speed_parts_merge_into_the_whole_verdict(submission):
    from grading.verify import merge_parts

    whole = verify_submission(submission).as_dict()
    measured_part, timed_part = (
        verify_submission(submission, part="measure"),
        verify_submission(submission, part="speed"),
    )
    measured, timed = measured_part.as_dict(), timed_part.as_dict()
    assert not [c for c in measured["checks"] if c["name"] == "speed"] and not measured["lane"]

    def names(verdict: dict) -> list[tuple[str, str]]:
        return [(check["artifact"], check["name"]) for check in verdict["checks"]]

    assert names(timed) == [("track.json", "track"), ("optimized.onnx", "speed")]
    merged = merge_parts(measured_part, timed_part).as_dict()
    assert names(merged) == names(whole)
    assert merged["passed"] and merged["lane"]["optimized.onnx"]["attempts"]
    figures = merged["figures"]  # what the leaderboard ranks: measured by the verifier, in its units
    assert figures["optimized.onnx"]["size_bytes"] == (submission / "artifacts" / "optimized.onnx").stat().st_size
    assert figures["optimized.onnx"]["speedup"] > 1 and figures["reference"]["latency_ms"] > 0
    assert 0 < figures["optimized.onnx"]["accuracy"] <= 1


def test_a_speed_part_on_an_unloadable_model_leaves_the_reason_to_the_measure_part(submission):
    (submission / "artifacts" / "optimized.onnx").write_bytes(b"not a model")
    timed = verify_submission(submission, part="speed")
    assert [check.name for check in timed.checks] == ["track"]
    measured = verify_submission(submission, part="measure")
    assert _checks(measured, "optimized.onnx")["file"].passed is False


def test_a_constant_nodes_external_data_in_a_hard_link_is_refused(submission, tmp_path):
    """onnxruntime reads a Constant node's external data and follows a hard link: the verifier must
    vet every tensor's file itself, not only the initializers', and not rely on intake."""
    from onnx import numpy_helper

    artifacts = submission / "artifacts"
    model = onnx.load(str(artifacts / "optimized.onnx"))
    secret = tmp_path / "secret.bin"
    secret.write_bytes(torch.arange(16, dtype=torch.float32).numpy().tobytes())
    os.link(secret, artifacts / "table.bin")  # a name inside the submission for a file outside it
    value = numpy_helper.from_array(torch.zeros(16).numpy(), "table")
    value.ClearField("raw_data")
    value.data_location = onnx.TensorProto.EXTERNAL
    for key, entry in (("location", "table.bin"), ("offset", "0"), ("length", "64")):
        value.external_data.add(key=key, value=entry)
    model.graph.node.append(onnx.helper.make_node("Constant", [], ["table"], value=value))
    onnx.save_model(model, str(artifacts / "optimized.onnx"))
    verdict = verify_submission(submission)
    check = _checks(verdict, "optimized.onnx")["file"]
    assert check.passed is False and "hard link" in check.reason


def test_an_artifact_without_a_size_target_is_judged_not_crashed_on(day26_home, tmp_path):
    """Images: PyTorch dynamic INT8 has no size target (it cannot shrink a CNN); the verifier judges
    the rest of it and says met for size, where it once failed with an IndexError."""
    from grading.techniques.quantize import torch_dynamic_int8
    from helpers.int8_state import save_dynamic_int8
    from helpers.reference import ready_model

    track = get_track("images")
    model = ready_model(track).model
    artifacts = tmp_path / "learner" / "artifacts"
    artifacts.mkdir(parents=True)
    (artifacts / "track.json").write_text(json.dumps({"track": "images"}))
    torch.save(model.state_dict(), artifacts / "baseline.pth")
    save_dynamic_int8(torch_dynamic_int8(model), artifacts / "quantized_dynamic.pth")
    verdict = verify_submission(tmp_path / "learner", part="measure")
    checks = _checks(verdict, "quantized_dynamic.pth")
    assert checks["size"].passed and checks["accuracy"].passed and checks["INT8 weights"].passed, verdict.table()
    assert not _checks(verdict, "pruned.pth")["file"].passed  # the others are missing, and said so


def test_a_speed_inside_the_guard_band_is_measured_again_not_failed():
    from grading.verify import _met
    from helpers.targets import Threshold, judge

    target = Threshold(max_accuracy_drop=1.0, min_speedup=8.0)
    assert _met(judge(target, speedup=8.29, band=0.1)) is None  # inside the band: measure again
    assert _met(judge(target, speedup=9.0, band=0.1)) is True
    assert _met(judge(target, speedup=7.0, band=0.1)) is False
    assert _met(judge(Threshold(max_accuracy_drop=1.0), size_reduction=1.0)) is True  # no size target: met


def test_an_own_model_is_graded_against_its_own_baseline_and_its_code_never_runs(day26_home, tmp_path):
    """An own model is measured against its own baseline from data alone: baseline.pth is the declared
    weights, pruned.pth the baseline with zeros, model.onnx holds baseline.pth (so it is the baseline
    for accuracy on the hidden split and the lane's speed); the learner's code file is never imported.
    A model.onnx that is not baseline.pth, or a baseline.pth that is not the declared weights, does
    not earn the points."""
    from helpers.tracks import with_own_model
    from helpers.week5 import read_declaration

    learner = tmp_path / "learner"
    (learner / "week5").mkdir(parents=True)
    marker = tmp_path / "imported"
    code = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    code += "from helpers.models import StockMLP as Mine\n"
    (learner / "week5" / "mine.py").write_text(code)
    from conftest import trained_briefly

    torch.manual_seed(5)
    torch.save(trained_briefly(StockMLP(hidden=32), "tabular").state_dict(), learner / "week5" / "mine.pth")
    (learner / "week5_model.toml").write_text(
        'track = "tabular"\ncode = "week5/mine.py"\nclass = "Mine"\nweights = "week5/mine.pth"\n'
        "[arguments]\nhidden = 32\n"
    )
    track = with_own_model(get_track("tabular"), read_declaration(learner / "week5_model.toml"))
    run_pipeline(track, learner / "artifacts", seconds_per_comparison=0.3)
    (learner / "artifacts" / "track.json").write_text(json.dumps({"track": "tabular", "model": "Mine"}))
    marker.unlink()  # the pipeline ran in this process, as the learner's notebooks would

    verdict = verify_submission(learner)
    assert not marker.exists(), "the verifier imported the learner's code"
    assert all(check.passed for check in verdict.checks), verdict.table()
    names = {(check.artifact, check.name) for check in verdict.checks}
    for expected in [("baseline.pth", "declared weights"), ("quantized_dynamic.pth", "INT8 weights"),
                     ("pruned.pth", "sparsity"), ("model.onnx", "own baseline"), ("optimized.onnx", "structure"),
                     ("optimized.onnx", "accuracy"), ("optimized.onnx", "speed")]:  # fmt: skip
        assert expected in names, verdict.table()
    assert re.fullmatch(r"[\d.]+% on hidden", _checks(verdict, "model.onnx")["own baseline"].measured)
    assert verdict.figures["reference"]["model"] == "Mine"
    assert verdict.figures["reference"]["size_bytes"] == (learner / "artifacts" / "baseline.pth").stat().st_size

    # a model.onnx of other weights is not this learner's baseline: what is measured against it goes to review
    onnx_file = learner / "artifacts" / "model.onnx"
    kept = onnx_file.read_bytes()
    other = StockMLP(hidden=32).eval()
    torch.onnx.export(other, (track.example_batch(),), str(onnx_file), external_data=False,
                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}})  # fmt: skip
    swapped = verify_submission(learner)
    assert _checks(swapped, "model.onnx")["own baseline"].status == "review"
    assert "does not hold baseline.pth's" in _checks(swapped, "model.onnx")["own baseline"].reason
    assert _checks(swapped, "optimized.onnx")["speed"].status == "review"
    assert _checks(swapped, "optimized.onnx")["accuracy"].status == "review"
    onnx_file.write_bytes(kept)

    # a baseline.pth that is not the declared weights fails, and says which file it should be
    torch.save(StockMLP(hidden=32).state_dict(), learner / "week5" / "mine.pth")
    declared = _checks(verify_submission(learner), "baseline.pth")["declared weights"]
    assert declared.status == "FAIL" and "week5/mine.pth" in declared.reason
    (learner / "artifacts" / "optimized.onnx").write_bytes(b"not onnx")
    assert _checks(verify_submission(learner), "optimized.onnx")["file"].status == "FAIL"
