"""Bad input gets one clear line naming the file and what to do, and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

import onnx
import pytest
import torch

from grading.techniques.export import export_onnx
from helpers.artifacts import load_into
from helpers.errors import Day26Error
from helpers.models import LesionNet, StockMLP
from helpers.tracks import check_inputs, get_track


def day26(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grading.cli", *args],  # what `day26` runs where the grader is installed
        capture_output=True,
        text=True,
        env={"DAY26_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


def _one_clear_line(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unknown_track(tmp_path):
    _one_clear_line(day26("train", "--track", "audio", home=tmp_path), "unknown track 'audio'", "images")
    _one_clear_line(day26("optimize", "--track", "audio", home=tmp_path), "unknown track")


def test_missing_file(tmp_path):
    _one_clear_line(day26("inspect", str(tmp_path / "nope.pth"), home=tmp_path), "nope.pth", "does not exist")


def test_corrupt_model_file(tmp_path):
    (tmp_path / "broken.pth").write_bytes(b"this is not a model")
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage" * 10)
    _one_clear_line(day26("inspect", str(tmp_path / "broken.pth"), home=tmp_path), "broken.pth", "damaged")
    _one_clear_line(day26("inspect", str(tmp_path / "broken.onnx"), home=tmp_path), "broken.onnx", "ONNX")


def test_a_pickled_whole_model_is_refused_and_named(tmp_path):
    torch.save(StockMLP(), tmp_path / "whole.pth")  # a module, not a state_dict: code on load
    _one_clear_line(day26("inspect", str(tmp_path / "whole.pth"), home=tmp_path), "whole.pth", "never loaded")


def test_a_state_dict_of_the_wrong_architecture(tmp_path):
    torch.save(StockMLP().state_dict(), tmp_path / "mlp.pth")
    with pytest.raises(Day26Error, match=r"mlp\.pth: does not fit the LesionNet architecture"):
        load_into(LesionNet, tmp_path / "mlp.pth")


def test_a_cached_reference_model_of_the_wrong_architecture_fails_the_command(tmp_path):
    track = get_track("tabular")
    torch.save(LesionNet().state_dict(), tmp_path / f"week5_tabular_v{track.version}.pth")
    _one_clear_line(day26("train", "--track", "tabular", home=tmp_path), "week5_tabular", "StockMLP")


def test_wrong_input_shape():
    with pytest.raises(Day26Error, match=r"\(1, 3, 32, 32\).*images track expects \('batch', 3, 224, 224\)"):
        check_inputs(get_track("images"), torch.rand(1, 3, 32, 32))
    with pytest.raises(Day26Error, match="int64"):
        check_inputs(get_track("text"), torch.rand(2, 200))


def test_onnx_with_missing_external_data(tmp_path):
    path = export_onnx(StockMLP(), torch.randn(2, 10), tmp_path / "m.onnx")
    onnx.save_model(onnx.load(str(path)), str(tmp_path / "ext.onnx"), save_as_external_data=True,
                    location="ext.onnx.data", size_threshold=0)  # fmt: skip
    (tmp_path / "ext.onnx.data").unlink()
    _one_clear_line(day26("inspect", str(tmp_path / "ext.onnx"), home=tmp_path), "ext.onnx", "missing")


def test_help_works_for_every_command(tmp_path):
    for command in ("train", "optimize", "inspect", "check", "validate", "card", "pack", "release", "demo"):
        result = day26(command, "--help", home=tmp_path)
        assert result.returncode == 0 and "usage: day26" in result.stdout
