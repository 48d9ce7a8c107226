"""Autograding a class of hostile and broken submissions, end to end.

Every submission here is built by the test, handed to ``day26 autograde`` as a learner would hand
it in, executed by nbgrader in the sandbox, verified in a fresh process and scored into a real
gradebook. Each must earn exactly what it should, with a reason. The tabular track keeps it fast.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import onnx
import pytest
import torch

from grading.autograde import GRADED, REFUSED, REVIEW
from grading.samples import DISABLE_ASSERTS, choose, first_solution_cells, hand_in, notebooks_of
from grading.score import VERIFIED_CELLS
from helpers.models import LesionNet, StockMLP
from helpers.pipeline import run_pipeline
from helpers.prune import prune_l1_unstructured
from helpers.tracks import get_track

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "day26"
RELEASE = ROOT / "notebooks" / "day26"
FULL_MARKS = 25.0  # the autograded test cells of the five notebooks and the start notebook
POINTS = {"00-test-10": 1, "01-test-8": 4, "02-test-7": 3, "02-test-11": 1, "03-test-6": 4, "04-test-6": 4}
POINTS |= {"05-test-5": 1, "05-test-9": 6, "05-test-12": 1}

CHOOSE_TABULAR = choose("tabular")
# A learner's cheat: the clock runs 1000x faster while the PyTorch baseline computes, so the
# notebook's own timing sees a slow baseline and a fast "optimized" model.
PATCH_TIMER = """
import time

_real_clock = time.perf_counter
_clock = {"factor": 1.0, "last": _real_clock(), "virtual": 0.0}

def _patched_clock():
    now = _real_clock()
    _clock["virtual"] += (now - _clock["last"]) * _clock["factor"]
    _clock["last"] = now
    return _clock["virtual"]

def _fast(*_):
    _patched_clock()
    _clock["factor"] = 1000.0

def _normal(*_):
    _patched_clock()
    _clock["factor"] = 1.0

model.register_forward_pre_hook(_fast)
model.register_forward_hook(_normal)
time.perf_counter = _patched_clock
"""
SLOW_OPTIMIZED = """
class _Slow(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        outputs = [self.inner(x) for _ in range(50)]
        return sum(outputs) / len(outputs)

smaller = model
export_onnx(_Slow(model), track.example_batch(), optimized_path)
"""


@pytest.fixture(scope="module")
def reference_artifacts(day26_home, tmp_path_factory) -> Path:
    """The tabular reference pipeline's artifacts, as a learner's artifacts/ folder."""
    artifacts = tmp_path_factory.mktemp("reference") / "artifacts"
    run_pipeline(get_track("tabular"), artifacts, seconds_per_comparison=0.5)
    (artifacts / "track.json").write_text(json.dumps({"track": "tabular"}))
    return artifacts


def _spoiled(reference: Path, into: Path, spoil) -> Path:
    """A copy of the reference artifacts, spoiled by ``spoil(artifacts_folder)``."""
    shutil.copytree(reference, into)
    spoil(into)
    return into


def _missing(artifacts: Path) -> None:
    (artifacts / "pruned.pth").unlink()
    (artifacts / "optimized.onnx").unlink()


def _corrupt_onnx(artifacts: Path) -> None:
    (artifacts / "model.onnx").write_bytes(b"this is not an ONNX model")


def _weights_outside(artifacts: Path) -> None:
    model = onnx.load(artifacts / "model.onnx")
    onnx.save(model, artifacts / "model.onnx", save_as_external_data=True, location="weights.bin", size_threshold=0)
    model = onnx.load(artifacts / "model.onnx", load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../../outside/weights.bin"
    onnx.save(model, artifacts / "model.onnx")
    (artifacts / "weights.bin").unlink()


def _pickled_module(artifacts: Path) -> None:
    torch.save(StockMLP(), artifacts / "quantized_dynamic.pth")  # a whole module: code, not weights


def _wrong_architecture(artifacts: Path) -> None:
    torch.save(LesionNet().state_dict(), artifacts / "pruned.pth")


def _random_weights(artifacts: Path) -> None:
    torch.save(prune_l1_unstructured(StockMLP(), 0.5).state_dict(), artifacts / "pruned.pth")


def _dense_pruned(artifacts: Path) -> None:
    shutil.copyfile(artifacts / "baseline.pth", artifacts / "pruned.pth")


def _fp32_quantized(artifacts: Path) -> None:
    shutil.copyfile(artifacts / "baseline.pth", artifacts / "quantized_dynamic.pth")


# learner -> (how its artifacts are spoiled, the cells that must earn nothing, words in the reason)
SPOILED = {
    "missing-artifacts": (_missing, {"03-test-6", "05-test-5", "05-test-9"}, "pruned.pth is missing"),
    "corrupt-onnx": (_corrupt_onnx, {"04-test-6"}, "model.onnx"),
    "weights-outside": (_weights_outside, {"04-test-6"}, "outside"),
    "pickled-module": (_pickled_module, {"02-test-7"}, "quantized_dynamic.pth"),
    "wrong-architecture": (_wrong_architecture, {"03-test-6"}, "pruned.pth"),
    "random-weights": (_random_weights, {"03-test-6"}, "accuracy"),
    "dense-pruned": (_dense_pruned, {"03-test-6"}, "sparsity"),
    "fp32-quantized": (_fp32_quantized, {"02-test-7"}, "INT8"),
}


def _autograde(submissions: Path, workspace: Path, *options: str, timeout: float = 1500) -> dict[str, dict]:
    command = [sys.executable, "-m", "helpers.cli", "autograde", str(submissions), "--root", str(ROOT)]
    done = subprocess.run(
        [*command, "--workspace", str(workspace), "--json", *options], capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {record["learner"]: record for record in map(json.loads, map(Path.read_text, _records(workspace)))}


def _records(workspace: Path) -> list[Path]:
    return sorted((workspace / "records").glob("*.json"))


def _cells(record: dict) -> dict[str, dict]:
    return {cell["grade_id"]: cell for cell in record["cells"]}


def _verified_points(record: dict) -> float:
    return sum(cell["verifier_points"] or 0.0 for cell in record["cells"])


@pytest.fixture(scope="module")
def graded_class(reference_artifacts, tmp_path_factory) -> tuple[dict[str, dict], Path]:
    """One class, autograded once: the reference, the blank release, spoiled artifacts and two cheats."""
    submissions = tmp_path_factory.mktemp("class")
    hand_in(submissions / "reference", notebooks_of(SOLUTIONS, {"00-solution-3": CHOOSE_TABULAR}))
    hand_in(submissions / "blank", notebooks_of(RELEASE))
    for learner, (spoil, _, _) in SPOILED.items():  # artifacts only: nothing to execute, all to verify
        artifacts = _spoiled(reference_artifacts, submissions / f".{learner}-artifacts", spoil)
        hand_in(submissions / learner, {}, artifacts)
    cheats = dict.fromkeys(first_solution_cells(RELEASE), DISABLE_ASSERTS)
    cheats["00-solution-3"] = CHOOSE_TABULAR + "\n" + DISABLE_ASSERTS
    hand_in(submissions / "disables-asserts", notebooks_of(RELEASE, cheats), only=("00", "03"))
    timed = {"00-solution-3": CHOOSE_TABULAR, "05-solution-4": "smaller = model\n"}
    timed["05-solution-7"] = SLOW_OPTIMIZED + PATCH_TIMER  # skips pruning; exports a slow model
    hand_in(submissions / "patches-timer", notebooks_of(SOLUTIONS, timed), only=("00", "01", "05"))
    for hidden in submissions.glob(".*-artifacts"):
        shutil.rmtree(hidden)
    workspace = tmp_path_factory.mktemp("grading")
    return _autograde(submissions, workspace), workspace


def test_every_autograded_test_cell_has_verifier_checks_behind_it():
    graded = set()
    for path in SOLUTIONS.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade"):
                graded.add(meta["grade_id"])
                assert meta["points"] == POINTS[meta["grade_id"]]
    assert graded == {cell.grade_id for cell in VERIFIED_CELLS}
    assert sum(POINTS.values()) == FULL_MARKS


def test_the_reference_solution_earns_full_marks(graded_class):
    record = graded_class[0]["reference"]
    assert record["status"] == GRADED, record["reasons"]
    assert _verified_points(record) == FULL_MARKS
    assert not [cell for cell in record["cells"] if cell["disagrees"]]
    assert record["submission_sha256"] and record["files"] and record["versions"]["torch"] == torch.__version__
    assert record["machine"] and record["verdict"]["lane"]["optimized.onnx"]["attempts"][0]["artifact_ms"]


def test_the_blank_release_earns_nothing(graded_class):
    record = graded_class[0]["blank"]
    assert record["status"] == GRADED
    assert _verified_points(record) == 0
    assert "no test cell earned points" in " ".join(record["reasons"])  # said, not silently zero
    assert "track.json" in _cells(record)["00-test-10"]["reason"]


@pytest.mark.parametrize("learner", sorted(SPOILED))
def test_a_spoiled_artifact_earns_nothing_with_the_reason(graded_class, learner):
    _, zeroed, words = SPOILED[learner]
    record = graded_class[0][learner]
    assert record["status"] == GRADED, record["reasons"]
    cells = _cells(record)
    for grade_id, cell in cells.items():
        expected = 0.0 if grade_id in zeroed else POINTS[grade_id]
        assert cell["verifier_points"] == expected, (grade_id, cell["reason"])
    assert any(words in cells[grade_id]["reason"] for grade_id in zeroed), [cells[g]["reason"] for g in zeroed]
    assert "notebooks not submitted" in " ".join(record["reasons"])  # said, not silently zero


def test_disabling_asserts_fools_the_notebook_but_not_the_grader(graded_class):
    cells = _cells(graded_class[0]["disables-asserts"])
    assert cells["03-test-6"]["notebook_points"] == 4  # every test cell "passed" in the learner's kernel
    assert cells["03-test-6"]["verifier_points"] == 0 and cells["03-test-6"]["disagrees"]
    # only the track choice (and the images-only cell, passed on every other track) earn points
    assert _verified_points(graded_class[0]["disables-asserts"]) == POINTS["00-test-10"] + POINTS["02-test-11"]


def test_patching_the_timer_fools_the_notebook_but_not_the_grader(graded_class):
    record = graded_class[0]["patches-timer"]
    cells = _cells(record)
    assert cells["05-test-9"]["notebook_points"] == 6, "the cheat no longer fools the notebook's own speed test"
    assert cells["05-test-9"]["verifier_points"] == 0 and cells["05-test-9"]["disagrees"]
    speed = next(c for c in record["verdict"]["checks"] if c["artifact"] == "optimized.onnx" and c["name"] == "speed")
    assert speed["passed"] is False


def test_the_gradebook_holds_the_verifier_points_and_the_grades_csv_lists_everyone(graded_class, tmp_path):
    records, workspace = graded_class
    out = tmp_path / "grades.csv"
    command = [sys.executable, "-m", "helpers.cli", "grades", "--root", str(ROOT), "--workspace", str(workspace)]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    rows = {row["learner"]: row for row in csv.DictReader(out.open())}
    assert set(rows) == set(records)
    for learner, record in records.items():
        assert float(rows[learner]["autograded_points"]) == _verified_points(record)
    assert rows["disables-asserts"]["disagreements"]


def test_feedback_pages_show_the_figures_and_reasons(graded_class, tmp_path):
    _, workspace = graded_class
    command = [sys.executable, "-m", "helpers.cli", "feedback", "--root", str(ROOT), "--workspace", str(workspace)]
    subprocess.run([*command, "--out", str(tmp_path)], check=True, capture_output=True)
    reference = (tmp_path / "reference.html").read_text()
    assert "25 / 25" in reference and "data:image/png;base64," in reference and "faster" in reference
    assert "the weights are FP32" in (tmp_path / "fp32-quantized.html").read_text()


# --- limits, refusals and a killed run ------------------------------------------------------

LOOP_FOREVER = CHOOSE_TABULAR + "\nwhile True:\n    pass"
EAT_MEMORY = CHOOSE_TABULAR + "\nhog = bytearray(64 * 2**30)"
CRASH_KERNEL = CHOOSE_TABULAR + "\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
# A learner's code that looks around the grader's machine and writes down what it could do.
SNOOP = (
    CHOOSE_TABULAR
    + """
import json, socket
from pathlib import Path

found = {}
try:
    from grading.hidden import HIDDEN_SEED
    found["seed"] = HIDDEN_SEED
except Exception as error:
    found["seed"] = type(error).__name__
try:
    socket.create_connection(("pypi.org", 443), timeout=5).close()
    found["network"] = "open"
except OSError as error:
    found["network"] = type(error).__name__
for name, target in {"gradebook": GRADEBOOK, "helpers": HELPERS}.items():
    try:
        with open(target, "ab"):
            found[name] = "writable"
    except OSError as error:
        found[name] = type(error).__name__
Path("snooped.json").write_text(json.dumps(found))
"""
)


@pytest.fixture(scope="module")
def limited_class(day26_home, tmp_path_factory) -> tuple[dict[str, dict], Path]:
    """A class graded with a 20 s time limit per notebook and 4 GB of memory."""
    submissions = tmp_path_factory.mktemp("limited")
    two = ("00", "01")  # the hostile start notebook, and one after it that must still run
    hand_in(submissions / "loops-forever", notebooks_of(RELEASE, {"00-solution-3": LOOP_FOREVER}), only=two)
    hand_in(submissions / "eats-memory", notebooks_of(RELEASE, {"00-solution-3": EAT_MEMORY}), only=two)
    hand_in(submissions / "crashes-kernel", notebooks_of(RELEASE, {"00-solution-3": CRASH_KERNEL}), only=two)
    with zipfile.ZipFile(submissions / "escapes.zip", "w") as archive:
        archive.writestr("../../outside.ipynb", "{}")
    hand_in(submissions / "ann smith", notebooks_of(RELEASE), only=("00",))
    grading = tmp_path_factory.mktemp("limited-grading")
    snoop = SNOOP.replace("GRADEBOOK", repr(str(grading / "gradebook.db")))
    snoop = snoop.replace("HELPERS", repr(str(ROOT / "helpers" / "__init__.py")))
    hand_in(submissions / "snoops", notebooks_of(RELEASE, {"00-solution-3": snoop}), only=("00",))
    (submissions / "links").mkdir()
    (submissions / "links" / "00_start.ipynb").symlink_to(SOLUTIONS / "00_start.ipynb")
    return _autograde(submissions, grading, "--notebook-seconds", "20", "--memory-gb", "4"), grading


def test_time_memory_and_crashes_are_distinct_reasons_and_refusals_are_named(limited_class):
    records, _ = limited_class
    assert set(records) == {"loops-forever", "eats-memory", "crashes-kernel", "escapes", "links", "ann smith", "snoops"}
    reasons = {learner: " ".join(record["reasons"]) for learner, record in records.items()}
    assert records["loops-forever"]["status"] == REVIEW and "out of time" in reasons["loops-forever"]
    assert records["eats-memory"]["status"] == REVIEW and "out of memory" in reasons["eats-memory"]
    assert records["crashes-kernel"]["status"] == REVIEW and "kernel crashed" in reasons["crashes-kernel"]
    assert records["escapes"]["status"] == REFUSED and "outside the submission" in reasons["escapes"]
    assert records["links"]["status"] == REFUSED and "link" in reasons["links"]
    assert records["ann smith"]["status"] == REFUSED and "rename it" in reasons["ann smith"]
    for learner in ("loops-forever", "eats-memory", "crashes-kernel"):  # the next notebook still ran
        assert records[learner]["execution"]["notebooks"]["01_baseline"]["status"] == "done"
    # after a timeout or a MemoryError nbgrader goes on with the next cell (choose_track); a crash ends the notebook
    assert _cells(records["loops-forever"])["00-test-10"]["verifier_points"] == 1
    assert _cells(records["eats-memory"])["00-test-10"]["verifier_points"] == 1
    assert _cells(records["crashes-kernel"])["00-test-10"]["verifier_points"] == 0


def test_learner_code_cannot_reach_the_network_the_hidden_seed_or_the_grader_files(limited_class):
    from grading.hidden import HIDDEN_SEED
    from grading.sandbox import probe_isolation

    if not probe_isolation().available:
        pytest.skip(f"no sandbox isolation on this machine: {probe_isolation().warning}")
    _, workspace = limited_class  # graded by the test above
    found = json.loads((workspace / "autograded" / "snoops" / "day26" / "snooped.json").read_text())
    assert found["seed"] != HIDDEN_SEED and found["network"] != "open", found
    assert found["gradebook"] == "OSError" and found["helpers"] == "OSError", found
    assert (workspace / "gradebook.db").stat().st_size > 0


def test_a_killed_run_finishes_on_restart_with_nothing_lost_or_counted_twice(day26_home, tmp_path):
    from nbgrader.api import Gradebook

    submissions = tmp_path / "class"
    for learner in ("ann", "ben", "cat"):  # ben's notebooks are running when the grader is killed
        chosen = notebooks_of(RELEASE, {"00-solution-3": CHOOSE_TABULAR})
        hand_in(submissions / learner, chosen, only=("00", "01") if learner == "ben" else ("00",))
    workspace = tmp_path / "grading"
    command = [sys.executable, "-m", "helpers.cli", "autograde", str(submissions), "--root", str(ROOT)]
    command += ["--workspace", str(workspace), "--json"]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not _records(workspace) and time.monotonic() < deadline:
        time.sleep(0.5)
    os.killpg(run.pid, signal.SIGKILL)  # in the middle of the second learner, kernel and all
    run.wait()
    first = {path.name: path.read_text() for path in _records(workspace)}
    assert 1 <= len(first) < 3
    records = _autograde(submissions, workspace)
    assert set(records) == {"ann", "ben", "cat"}
    for name, text in first.items():  # graded before the kill: kept, not redone
        assert (workspace / "records" / name).read_text() == text
    with Gradebook(f"sqlite:///{workspace / 'gradebook.db'}") as book:
        submissions_in_book = [s.student.id for s in book.find_assignment("day26").submissions]
        assert sorted(submissions_in_book) == ["ann", "ben", "cat"]
        for learner in ("ann", "ben", "cat"):
            # the track choice, and the images-only static INT8 cell every other track passes
            assert book.find_submission("day26", learner).score == POINTS["00-test-10"] + POINTS["02-test-11"]


def test_lane_check_reports_every_verification(day26_home, tmp_path):
    from grading.stability import lane_stability

    report = lane_stability(get_track("tabular"), runs=1, folder=tmp_path)
    assert [status for _, status in report.reference] == ["pass"]
    assert report.unoptimized and report.unoptimized[0][1] in ("pass", "FAIL", "review")
    assert abs(report.self_ratios[0] - 1) <= report.guard_band
    assert "reference vs itself" in report.summary()
