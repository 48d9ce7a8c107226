"""One folder, whatever the learner does: the learner's commands find the artifacts from the bundle's
top or from the notebook folder and say which they read; a path that does not exist is an error;
Validate has the course's limits from either folder and an exit status; `make setup` takes the CPU
build of PyTorch on Linux by itself; `make lab` puts `day26` on the terminal's PATH."""

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

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The learner bundle, unpacked, with a day's results in notebooks/day26/artifacts/."""
    place = tmp_path_factory.mktemp("bundle")
    with zipfile.ZipFile(build_bundle(ROOT, place / "bundle.zip")) as archive:
        archive.extractall(place)
    folder = place / "day26"
    _results(folder / "notebooks" / "day26" / "artifacts", speedup=9.0)
    return folder


@pytest.mark.parametrize("where", ["top", "notebooks"])
def test_check_and_card_find_the_artifacts_from_the_top_and_the_notebook_folder(bundle, tmp_path, where):
    cwd = bundle if where == "top" else bundle / "notebooks" / "day26"
    environment = {"PATH": os.environ["PATH"], "DAY26_HOME": str(tmp_path), "PYTHONPATH": str(bundle)}
    run = [sys.executable, "-m", "helpers.cli"]
    checked = subprocess.run([*run, "check"], cwd=cwd, capture_output=True, text=True, env=environment)
    artifacts = (bundle / "notebooks" / "day26" / "artifacts").resolve()
    assert checked.returncode == 0, checked.stderr
    assert f"figures from {artifacts / 'results.json'}" in checked.stdout  # it says which folder it read
    card = subprocess.run([*run, "card", "--json"], cwd=cwd, capture_output=True, text=True, env=environment)
    assert card.returncode == 0, card.stderr
    assert Path(json.loads(card.stdout)["png"]).resolve() == artifacts / "card.png"
    inspected = subprocess.run([*run, "inspect", "artifacts/track.json"], cwd=cwd, capture_output=True, text=True,
                               env=environment)  # fmt: skip
    assert "no such file" not in inspected.stderr  # found from either folder (track.json is no model: another error)


def test_a_folder_or_file_that_does_not_exist_is_an_error_that_names_it(bundle, tmp_path):
    environment = {"PATH": os.environ["PATH"], "DAY26_HOME": str(tmp_path), "PYTHONPATH": str(bundle)}
    run = [sys.executable, "-m", "helpers.cli"]
    for arguments, named in (
        (["check", "--artifacts", "artefacts"], "artefacts: no such folder"),
        (["card", "--results", "results.jsn"], "results.jsn: no such file"),
        (["inspect", "artifacts/optimised.onnx"], "artifacts/optimised.onnx: no such file"),
        (["validate", "01_baselin.ipynb"], "01_baselin.ipynb: no such file"),
    ):
        ran = subprocess.run([*run, *arguments], cwd=bundle, capture_output=True, text=True, env=environment)
        assert ran.returncode == 2 and named in ran.stderr and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    elsewhere = subprocess.run([*run, "check"], cwd=tmp_path, capture_output=True, text=True, env=environment)
    assert elsewhere.returncode == 2 and "no Day 26 notebooks here" in elsewhere.stderr


def test_validate_has_the_course_limits_in_the_notebook_folder_too(bundle):
    for folder in (bundle, bundle / "notebooks" / "day26"):
        code = "from nbgrader.apps import ValidateApp; a = ValidateApp(); a.initialize([]); "
        code += "print(a.config.Execute.timeout)"
        ran = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True)
        assert ran.stdout.strip() == "600", (folder, ran.stdout, ran.stderr[-500:])


def test_validate_names_the_failing_notebook_and_exits_non_zero(bundle, tmp_path):
    import nbformat

    test_cell = nbformat.v4.new_code_cell("assert 1 + 1 == 3, 'not yet'")
    test_cell.metadata["nbgrader"] = {"grade": True, "grade_id": "probe-test", "points": 1, "solution": False,
                                      "locked": True, "schema_version": 3}  # fmt: skip
    nbformat.write(nbformat.v4.new_notebook(cells=[test_cell]), bundle / "notebooks" / "day26" / "probe.ipynb")
    environment = {"PATH": os.environ["PATH"], "DAY26_HOME": str(tmp_path), "PYTHONPATH": str(bundle)}
    ran = subprocess.run([sys.executable, "-m", "helpers.cli", "validate", "probe.ipynb"], cwd=bundle,
                         capture_output=True, text=True, env=environment)  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    assert "VALIDATION FAILED" in ran.stdout and "not yet" in ran.stdout and "limits from" in ran.stdout
    assert "0 of 1 notebook(s) pass all their tests; not yet: probe.ipynb" in ran.stdout


def test_make_setup_takes_the_cpu_build_on_linux_and_lab_puts_day26_on_the_path(bundle):
    planned = subprocess.run(["make", "-n", "setup", "lab"], cwd=bundle, capture_output=True, text=True)
    assert planned.returncode == 0, planned.stderr
    assert '"torch==2.13.0+cpu" --extra-index-url https://download.pytorch.org/whl/cpu' in planned.stdout
    assert 'PATH="' + str(bundle) + '/.venv/bin:$PATH"' in planned.stdout
    mirror = subprocess.run(["make", "-n", "setup", "TORCH_CPU_INDEX="], cwd=bundle, capture_output=True, text=True)
    assert '"torch==2.13.0+cpu"' in mirror.stdout and "--extra-index-url" not in mirror.stdout


def _pack(bundle: Path, tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ["PATH"], "DAY26_HOME": str(tmp_path), "PYTHONPATH": str(bundle)}
    return subprocess.run([sys.executable, "-m", "helpers.cli", "pack", *arguments], cwd=bundle,
                          capture_output=True, text=True, env=environment)  # fmt: skip


def test_pack_names_what_is_missing_and_the_grader_takes_what_it_packed(bundle, tmp_path):
    from grading.intake import intake
    from helpers import contract
    from helpers.hand_in import ALWAYS

    artifacts = bundle / "notebooks" / "day26" / "artifacts"
    incomplete = _pack(bundle, tmp_path, "--name", "ada.lovelace", "--out", str(tmp_path / "out"), "--json")
    assert incomplete.returncode == 1, incomplete.stderr
    outcome = json.loads(incomplete.stdout)
    assert "artifacts/baseline.pth (notebook 01_baseline)" in outcome["missing"]
    assert "artifacts/optimized.onnx (notebook 05_combined)" in outcome["missing"]
    assert not any(".ipynb" in item for item in outcome["missing"])  # the six notebooks are there
    for artifact in ALWAYS:  # the day's files (stand-ins: the pack checks names and files, the grader the rest)
        if not artifact.path(artifacts).exists():
            artifact.path(artifacts).write_bytes(b"made by the notebook")
    complete = _pack(bundle, tmp_path, "--name", "ada.lovelace", "--out", str(tmp_path / "out"))
    assert complete.returncode == 0, complete.stdout + complete.stderr
    assert "=> complete" in complete.stdout
    assert f"packed from {(bundle / 'notebooks' / 'day26').resolve()}" in complete.stdout
    taken = intake(tmp_path / "out" / "ada.lovelace.zip", tmp_path / "intake")
    assert taken.accepted and taken.learner == "ada.lovelace", taken.reason
    expected = {"00_start.ipynb", "05_combined.ipynb", f"artifacts/{contract.RESULTS.file}", "artifacts/optimized.onnx"}
    assert expected <= set(taken.files)


def test_pack_refuses_a_name_the_grader_cannot_use_and_a_link_it_would_refuse(bundle, tmp_path):
    bad_name = _pack(bundle, tmp_path, "--name", "../ada")
    assert bad_name.returncode == 2 and "cannot be a learner id" in bad_name.stderr
    link = bundle / "notebooks" / "day26" / "artifacts" / "linked.onnx"
    link.symlink_to(bundle / "README.md")
    try:
        refused = _pack(bundle, tmp_path, "--name", "ada", "--out", str(tmp_path))
        assert refused.returncode == 2 and "artifacts/linked.onnx is a link" in refused.stderr, refused.stderr
        assert not (tmp_path / "ada.zip").exists()  # nothing half-written
    finally:
        link.unlink()


def test_pack_with_an_own_model_takes_its_declared_files_and_names_a_missing_one(bundle, tmp_path):
    folder = bundle / "notebooks" / "day26"
    (folder / "week5").mkdir(exist_ok=True)
    (folder / "week5" / "models.py").write_text("# the learner's model class\n")
    (folder / "week5_model.toml").write_text(
        'track = "images"\ncode = "week5/models.py"\nclass = "Net"\nweights = "week5/net.pth"\n'
    )
    try:
        packed = _pack(bundle, tmp_path, "--name", "bo", "--out", str(tmp_path), "--json")
        outcome = json.loads(packed.stdout)
        assert {"week5_model.toml", "week5/models.py"} <= set(outcome["files"])
        assert "week5/net.pth (the weights file week5_model.toml names)" in outcome["missing"]
    finally:
        (folder / "week5_model.toml").unlink()
