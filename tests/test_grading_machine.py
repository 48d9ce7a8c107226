"""The release names the machine the class is graded on, and the learner's `day26 check` prints it
beside their own and says whether INT8 speed-ups carry over (helpers/grading_machine.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from test_targets import _results

from grading.bundle import build_bundle
from grading.cli import grading_machine
from helpers.errors import Day26Error
from helpers.grading_machine import grading_machine_lines, one_step_int8
from helpers.machine import machine_description

ROOT = Path(__file__).resolve().parent.parent
WITH_VNNI = {"processor": "Grader CPU", "cores": 2, "int8_instructions": ["AVX2", "AVX-512", "AVX-512 VNNI"]}
AVX2_ONLY = {"processor": "Laptop CPU", "cores": 8, "int8_instructions": ["AVX2"]}
UNKNOWN = {"processor": "Apple M2", "cores": 8, "int8_instructions": None, "torch_capability": "NO AVX"}


def test_whether_int8_speed_carries_over_follows_the_two_cpus_instructions():
    assert one_step_int8(WITH_VNNI) is True and one_step_int8(AVX2_ONLY) is False and one_step_int8(UNKNOWN) is None
    assert grading_machine_lines(AVX2_ONLY, None) == []  # the course named no grading machine: nothing to say
    differ = grading_machine_lines(AVX2_ONLY, WITH_VNNI)
    assert differ[0].startswith("graded on: Grader CPU (AVX2, AVX-512, AVX-512 VNNI)")
    assert "faster than FP32" in differ[0]
    assert "will differ on the grading machine" in differ[2]
    assert "carry over" in grading_machine_lines(WITH_VNNI, WITH_VNNI)[2]
    assert "unknown" in grading_machine_lines(UNKNOWN, WITH_VNNI)[2]
    assert "buys size there, not speed" in grading_machine_lines(WITH_VNNI, AVX2_ONLY)[0]


def test_the_bundle_names_the_grading_machine_and_check_prints_it(tmp_path):
    with zipfile.ZipFile(build_bundle(ROOT, tmp_path / "bundle.zip", grading_machine=AVX2_ONLY)) as archive:
        archive.extractall(tmp_path)
    folder = tmp_path / "day26"
    assert json.loads((folder / "notebooks" / "day26" / "grading_machine.json").read_text()) == AVX2_ONLY
    _results(folder / "notebooks" / "day26" / "artifacts", speedup=9.0)
    environment = {"PATH": os.environ["PATH"], "DAY26_HOME": str(tmp_path), "PYTHONPATH": str(folder)}
    checked = subprocess.run([sys.executable, "-m", "helpers.cli", "check"], cwd=folder, capture_output=True,
                             text=True, env=environment)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "graded on: Laptop CPU (AVX2): it has no one-step 8-bit products" in checked.stdout
    here = "will differ" if one_step_int8(machine_description()) else "carry over"
    assert here in checked.stdout  # the results were measured on this machine
    (folder / "notebooks" / "day26" / "grading_machine.json").write_text("[1, 2]")
    damaged = subprocess.run([sys.executable, "-m", "helpers.cli", "check"], cwd=folder, capture_output=True,
                             text=True, env=environment)  # fmt: skip
    assert damaged.returncode == 2 and "grading_machine.json: not a machine description" in damaged.stderr


def test_the_instructor_names_the_grading_machine_with_its_own_description(tmp_path):
    described = subprocess.run([sys.executable, "-m", "helpers.cli", "machine", "--json"], capture_output=True,
                               text=True, cwd=ROOT, check=True)  # fmt: skip
    (tmp_path / "grader.json").write_text(described.stdout)
    assert grading_machine(str(tmp_path / "grader.json")) == json.loads(described.stdout)
    assert grading_machine(None)["processor"] == machine_description()["processor"]
    (tmp_path / "other.json").write_text('{"cores": 2}')
    for path, problem in ((tmp_path / "missing.json", "unreadable"), (tmp_path / "other.json", "not a machine")):
        with pytest.raises(Day26Error, match=problem):
            grading_machine(str(path))
