"""End to end: reference models train well above chance, and the pipeline writes every
artifact of the contract with a complete results record. Performance targets are checked
by `day26 demo` and `day26 results` (docs/results/), not here: timings under a loaded test machine say little."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from grading.pipeline import run_pipeline
from helpers.artifacts import load_int8_into, load_into
from helpers.reference import ready_model
from helpers.runtime import open_session
from helpers.tracks import TRACKS

ARTIFACTS = ("quantized_dynamic.pth", "pruned.pth", "model.onnx", "optimized.onnx", "results.json", "comparison.png")
RECORD_FIELDS = ("size_bytes", "latency_ms", "accuracy", "params", "sparsity", "track", "versions", "machine")
WELL_ABOVE_CHANCE = {"images": 0.9, "text": 0.9, "tabular": 0.62}


@pytest.mark.parametrize("name", sorted(TRACKS))
def test_reference_model_is_well_above_chance_and_cached(day26_home, name):
    ready = ready_model(TRACKS[name])
    assert ready.val_accuracy >= WELL_ABOVE_CHANCE[name]
    assert ready.path.parent == day26_home and ready.path.is_file()
    again = ready_model(TRACKS[name])
    assert again.seconds_to_train is None  # loaded, not trained again
    assert torch.equal(next(iter(again.model.state_dict().values())), next(iter(ready.model.state_dict().values())))


@pytest.mark.parametrize("name", sorted(TRACKS))
def test_pipeline_writes_the_artifacts_of_the_contract(day26_home, tmp_path, name):
    track = TRACKS[name]
    result = run_pipeline(track, tmp_path, seconds_per_comparison=0.5)
    for artifact in ARTIFACTS:
        assert (tmp_path / artifact).is_file(), artifact
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"

    records = json.loads((tmp_path / "results.json").read_text())["records"]
    # The day's order; the whole model in ONNX Runtime INT8 is notebook 02's static INT8 for the conv net.
    whole_int8 = ["quantized_static"] if name == "images" else []
    rest_int8 = [] if name == "images" else ["onnx_int8"]
    assert [r["variant"] for r in records] == [
        "baseline", "quantized_dynamic", *whole_int8, "pruned", "onnx", *rest_int8, "combined",
    ]  # fmt: skip
    static = tmp_path / "quantized_static.onnx"
    assert static.is_file() == (name == "images") and (tmp_path / "onnx_int8.onnx").is_file() == (name != "images")
    for record in records:
        for field in RECORD_FIELDS:
            assert field in record, (record["variant"], field)
        assert record["latency_ms"]["threads"] == 1 and record["latency_ms"]["median"] > 0
        assert record["size_bytes"] == (tmp_path / record["artifact"]).stat().st_size

    by_name = {r["variant"]: r for r in records}
    assert by_name["pruned"]["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert by_name["combined"]["size_bytes"] < by_name["baseline"]["size_bytes"] or name == "tabular"
    assert abs(by_name["onnx"]["accuracy"] - by_name["baseline"]["accuracy"]) <= 0.002
    assert "targets" in result.summary()

    # The artifacts load the way the grader will load them.
    load_into(track.build_model, tmp_path / "pruned.pth")
    load_int8_into(track.build_model, tmp_path / "quantized_dynamic.pth")
    open_session(tmp_path / "optimized.onnx")


def test_optimize_command_prints_json(day26_home, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "grading.cli", "optimize", "--track", "tabular", "--out", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["track"] == "tabular" and len(outcome["records"]) == 6
    assert (tmp_path / "optimized.onnx").is_file()


def test_a_learners_own_model_runs_through_the_pipeline_with_the_lesson_plans_targets(day26_home, tmp_path):
    from helpers.measure import count_parameters
    from helpers.models import StockMLP
    from helpers.targets import threshold_for
    from helpers.tracks import get_track, with_own_model
    from helpers.week5 import read_declaration

    (tmp_path / "my_mlp.py").write_text("from helpers.models import StockMLP as MyMLP\n")
    from conftest import trained_briefly

    torch.manual_seed(3)
    torch.save(trained_briefly(StockMLP(hidden=32), "tabular").state_dict(), tmp_path / "my_mlp.pth")
    (tmp_path / "week5_model.toml").write_text(
        'track = "tabular"\ncode = "my_mlp.py"\nclass = "MyMLP"\nweights = "my_mlp.pth"\n[arguments]\nhidden = 32\n'
    )
    track = with_own_model(get_track("tabular"), read_declaration(tmp_path / "week5_model.toml"))
    assert threshold_for("tabular", "optimized", own_model=True).min_speedup == 3.0
    result = run_pipeline(track, tmp_path / "artifacts", seconds_per_comparison=0.3)
    assert (tmp_path / "artifacts" / "optimized.onnx").is_file()
    assert result.records[0].params == count_parameters(StockMLP(hidden=32))  # the learner's model, not retrained
