"""The workbook: every solution notebook runs and passes its tests on every track, the release
fails until answered, matches what `day26 release` builds now, and leaks nothing."""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import onnx
import pytest
from nbgrader import utils
from nbgrader.preprocessors import Execute
from nbgrader.validator import Validator

from grading.course import course_config
from grading.release import build_release
from helpers.artifacts import load_into
from helpers.measure import sparsity
from helpers.report import records_by_variant
from helpers.tracks import TRACKS

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "day26"
RELEASE = ROOT / "notebooks" / "day26"
NOTEBOOKS = sorted(path.name for path in SOLUTIONS.glob("*.ipynb"))
# The cells that show a trap of the old lesson plan live, and what their output must show.
TRAP_CONSEQUENCES = {
    "01-code-timer-trap": (
        r"lesson plan's timer, three runs \(\d+ threads, mean of 100 time\.time\(\) calls\): "
        r"[\d.]+ ms, [\d.]+ ms, [\d.]+ ms",
        r"protocol \(1 thread, 0\.2 s warm-up, median\): [\d.]+ ms, p90 [\d.]+ ms",
        r"the first takes \d+x as long as the next ones",
    ),
    "02-solution-4": (r"PyTorch warned: torch\.ao\.quantization is deprecated",),
    "02-code-layers": (r"\d+ of \d+ layers converted; [\d,]+ -> [\d,]+ bytes",),
    "02-code-conv-trap": (
        r"Conv2d +Conv2d .*\(unchanged\)",
        r"asked to convert Conv2d: 0 of 2 convolutions converted, and no error or warning said so",
    ),
    "02-code-weight-error": (r"per tensor +per channel", r"\d+\.\d dB +\d+\.\d dB  <- most error"),
    "02-code-settings-trap": (
        # the defaults cost time: 2.6x your settings' time with VNNI, 1.28x on a CPU with AVX2 only
        r"static, default settings +[\d.]+ ms: .*; ([2-9]\.|1\.[1-9])\d*x the time of your settings",
        r"this CPU: .+\(",
        r"static, your settings, BASIC level +[\d.]+ ms: +0\.\d\dx .*SLOWER",
        r"dynamic INT8 \(ORT\) +[\d.]+ ms: +0\.\d\dx .*SLOWER",
    ),
    "02-code-activation-error": (r"activations compared: \d+; from [\d.]+ dB at the first to [\d.]+ dB at the last",),
    "03-code-parameters-trap": (
        r"over model\.parameters\(\): [0-4]\.\d% sparse; over module\.weight: 30\.0%",
        r"model\.parameters\(\) yields \d+ '\.\.\._orig' tensors",
    ),
    "03-code-remove-trap": (
        r"saved before prune\.remove: [\d,]+ bytes, 1\.[2-9]\dx the baseline's",
        r"it does not load into the original architecture: .*Missing key",
        r"after prune\.remove: [\d,]+ bytes, and it loads like the original",
    ),
    "03-code-zeros-trap": (
        r"30% of the weights are zero, and pruned\.pth is 1\.0\dx smaller and [\d.]+x faster than the baseline",
        r"compressed with gzip it would be [\d,]+ bytes, 1\.\d\dx smaller",
    ),
    "04-code-opset-trap": (r"asked for opset 11, got opset 18; the exporter printed \d+ lines on stderr",),
    "04-code-data-trap": (
        r"default\.onnx: [\d,]+ bytes, beside it default\.onnx\.data: [\d,]+ bytes",
        r"os\.path\.getsize says the ONNX model is \d{3,}\.\dx smaller than tiny\.pth: a fake reduction; "
        r"counting every file it needs: (0\.9\d|1\.0\d)x",
        r"the batch dimension is fixed at 2: a batch of 1 fails: .*invalid dimensions",
    ),
    "04-code-dynamic-axes-trap": (r"the batch dimension is 'batch_size'", r"'dynamic_axes' is not recommended"),
    "04-code-quantized-trap": (
        r"exporting the PyTorch INT8 model failed: TorchExportError",
        r"because: .*LinearPackedParamsBase",
    ),
    "04-code-threads-trap": (
        r"default options \(every core: \d+ here\): [\d.]+x faster than PyTorch on 1 thread",
        r"your session, 1 thread: [\d.]+x; the default's figure is [\d.]+ times the fair one",
    ),
}
MARKERS = (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _test_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code" and utils.is_grade(cell)]


def _validator(workspace: Path, invert: bool = False) -> Validator:
    return Validator(config=course_config(ROOT, workspace), invert=invert)


def test_the_five_exercises_and_the_start_notebook_exist():
    assert NOTEBOOKS == [
        "00_start.ipynb", "01_baseline.ipynb", "02_quantization.ipynb",
        "03_pruning.ipynb", "04_onnx.ipynb", "05_combined.ipynb",
    ]  # fmt: skip
    assert sorted(path.name for path in RELEASE.glob("*.ipynb")) == NOTEBOOKS


@pytest.mark.parametrize("folder", [SOLUTIONS, RELEASE], ids=["solutions", "release"])
def test_committed_notebooks_carry_no_outputs(folder):
    for path in folder.glob("*.ipynb"):
        for cell in _read(path).cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear the outputs"


def test_no_test_cell_ends_on_a_bare_value():
    """nbgrader scores a test cell whose last expression is a number as partial credit."""
    for name in NOTEBOOKS:
        for cell in _test_cells(_read(SOLUTIONS / name)):
            last = ast.parse(cell.source).body[-1]
            if isinstance(last, ast.Expr):
                call = last.value
                assert isinstance(call, ast.Call) and getattr(call.func, "id", "") == "print", (
                    f"{name}: a test cell ends on an expression: {ast.unparse(last)}"
                )


def test_every_exercise_has_a_solution_region_a_test_and_hidden_tests():
    for name in NOTEBOOKS[1:]:
        notebook = _read(SOLUTIONS / name)
        sources = "\n".join(cell.source for cell in notebook.cells)
        assert "### BEGIN SOLUTION" in sources, name
        assert "### BEGIN HIDDEN TESTS" in sources, name
        assert any(utils.is_solution(c) and c.cell_type == "markdown" for c in notebook.cells), f"{name}: reflection"


def test_the_release_holds_no_solution_and_no_hidden_test():
    for name in NOTEBOOKS:
        solution_text = "\n".join(cell.source for cell in _read(SOLUTIONS / name).cells)
        release = _read(RELEASE / name)
        release_text = "\n".join(cell.source for cell in release.cells if cell.cell_type == "code")
        for begin, end in MARKERS:
            assert begin not in "\n".join(cell.source for cell in release.cells), name
            for region in solution_text.split(begin)[1:]:
                for line in region.split(end)[0].splitlines():
                    if len(line.strip()) > 20:
                        assert line.strip() not in release_text, f"{name} leaks: {line.strip()}"


def test_every_reflection_has_a_rubric_and_an_exemplar_that_stay_with_the_instructor():
    reflections = 0
    for name in NOTEBOOKS:
        released = {cell.metadata.nbgrader["grade_id"]: cell for cell in _read(RELEASE / name).cells}
        for cell in _read(SOLUTIONS / name).cells:
            if cell.cell_type == "markdown" and utils.is_solution(cell) and utils.is_grade(cell):
                reflections += 1
                points = cell.metadata.nbgrader["points"]
                assert "*Rubric (" in cell.source and "*Exemplar" in cell.source, f"{name}: {cell.source[:60]}"
                assert f"*Rubric ({points:g} point" in cell.source, f"{name}: the rubric's points are the cell's"
                assert released[cell.metadata.nbgrader["grade_id"]].source == "YOUR ANSWER HERE", name
    assert reflections == 5


def test_the_release_matches_what_day26_release_builds_now(tmp_path):
    shutil.copytree(SOLUTIONS, tmp_path / "solutions" / "day26")
    built = build_release(tmp_path, workspace=tmp_path / "course")
    for name in NOTEBOOKS:
        fresh = json.loads((built / name).read_text())
        committed = json.loads((RELEASE / name).read_text())
        assert fresh == committed, f"notebooks/day26/{name} is out of date: run `day26 release`"


def _copy_notebooks(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(source / name, target / name)
    return target


def _assert_the_days_artifacts(workdir: Path, track: str) -> None:
    """What a solved workbook leaves in ``workdir``: every graded artifact, the shipped model without
    the exporter's notes, the recorded recipe, and the sweep's files beside the graded pruned.pth."""
    for artifact in ("quantized_dynamic.pth", "pruned.pth", "model.onnx", "optimized.onnx", "results.json",
                     "comparison.png"):  # fmt: skip
        assert (workdir / "artifacts" / artifact).is_file(), artifact
    # The exporter's notes (stack traces with this machine's paths) are stripped from the shipped model.
    shipped = onnx.load(str(workdir / "artifacts" / "optimized.onnx"))
    assert not [node.name for node in shipped.graph.node if node.metadata_props]
    # The chosen recipe is recorded with the combined model: the grader runs that one only.
    chosen = records_by_variant(workdir / "artifacts" / "results.json")["combined"].extra.get("recipe")
    assert chosen in ("lighter", "suggested"), chosen
    logging.getLogger("day26").warning("%s: notebook 05 chose the %r recipe", track, chosen)
    # The pruning sweep keeps its own files: the graded pruned.pth is still the 30 % model.
    assert len(list((workdir / "experiments" / "pruning_sweep").glob("*.pth"))) == 8
    graded = load_into(TRACKS[track].build_model, workdir / "artifacts" / "pruned.pth")
    assert 0.29 <= sparsity(graded).overall < 0.31


# images: test_no_cell_of_a_solved_notebook_writes_to_stderr_or_fails runs its workbook, and fails on any error.
@pytest.mark.parametrize("track", sorted(set(TRACKS) - {"images"}))
def test_every_solution_notebook_passes_its_tests(day26_home, tmp_path, monkeypatch, track):
    """nbgrader validate, through its Python API, on each notebook in order (they share artifacts/)."""
    monkeypatch.setenv("DAY26_TRACK", track)
    workdir = _copy_notebooks(SOLUTIONS, tmp_path / "learner")
    validator = _validator(tmp_path / "course")
    seconds = {}
    for name in NOTEBOOKS:
        started = time.perf_counter()
        result = validator.validate(str(workdir / name))
        seconds[name] = round(time.perf_counter() - started, 1)
        assert result == {}, f"{track} {name}: {json.dumps(result, indent=1)[:3000]}"
    logging.getLogger("day26").warning("%s notebooks: %s s in all, %s", track, round(sum(seconds.values())), seconds)
    _assert_the_days_artifacts(workdir, track)


def test_the_release_fails_its_tests_until_answered(day26_home, tmp_path, monkeypatch):
    monkeypatch.setenv("DAY26_TRACK", "images")
    workdir = _copy_notebooks(RELEASE, tmp_path / "learner")
    validator = _validator(tmp_path / "course", invert=True)
    for name in NOTEBOOKS:
        result = validator.validate(str(workdir / name))
        assert "passed" not in result and "changed" not in result, f"{name}: {json.dumps(result)[:2000]}"


def test_no_cell_of_a_solved_notebook_writes_to_stderr_or_fails(day26_home, tmp_path, monkeypatch):
    """Warnings are handled where they arise: a learner sees no red noise (images: the most libraries).
    The same run is the images track's check that every solution notebook passes its tests: a failing
    test cell leaves an error output, and any error output fails here."""
    monkeypatch.setenv("DAY26_TRACK", "images")
    workdir = _copy_notebooks(SOLUTIONS, tmp_path / "learner")
    config = course_config(ROOT, tmp_path / "course")
    seen, seconds = set(), {}
    for name in NOTEBOOKS:
        notebook = _read(workdir / name)
        started = time.perf_counter()
        with utils.chdir(str(workdir)):
            executed, _ = Execute(config=config).preprocess(notebook, {})
        seconds[name] = round(time.perf_counter() - started, 1)
        for index, cell in enumerate(executed.cells):
            for output in cell.get("outputs", []):
                noisy = output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")
                assert not noisy, f"{name} cell {index}: {output.get('text') or output.get('evalue')}"
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in TRAP_CONSEQUENCES:  # the trap's consequence is on screen, from the run itself
                shown = "".join(output.get("text", "") for output in cell.get("outputs", []))
                for consequence in TRAP_CONSEQUENCES[grade_id]:
                    assert re.search(consequence, shown), f"{name} {grade_id} does not show {consequence!r}: {shown}"
                seen.add(grade_id)
    assert seen == set(TRAP_CONSEQUENCES), f"trap cells not found: {set(TRAP_CONSEQUENCES) - seen}"
    logging.getLogger("day26").warning("images notebooks: %s s in all, %s", round(sum(seconds.values())), seconds)
    _assert_the_days_artifacts(workdir, "images")


def test_the_bundle_ships_the_reference_models_and_learners_load_those_weights(day26_home, tmp_path):
    """The reference models travel with the release: a learner's helpers load the very file the grader
    holds (nothing trained on the learner's CPU, which would train other weights)."""
    import subprocess
    import sys
    import zipfile

    from grading.bundle import build_bundle, reference_model_files
    from helpers.reference import checkpoint_path
    from helpers.tracks import get_track

    tabular = get_track("tabular")
    models = reference_model_files([tabular])
    with zipfile.ZipFile(build_bundle(ROOT, tmp_path / "bundle.zip", models)) as archive:
        archive.extractall(tmp_path / "unpacked")
    learner = tmp_path / "unpacked" / "day26"
    shipped = learner / "helpers" / "reference_models" / checkpoint_path(tabular).name
    assert shipped.read_bytes() == checkpoint_path(tabular).read_bytes()
    probe = (
        "from helpers.reference import ready_model; from helpers.tracks import get_track; "
        "ready = ready_model(get_track('tabular')); print(ready.path); print(ready.seconds_to_train)"
    )
    environment = {"PYTHONPATH": str(learner), "DAY26_HOME": str(tmp_path / "empty-home"), "PATH": os.environ["PATH"]}
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=learner, env=environment, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    path, trained = loaded.stdout.split()
    assert Path(path) == shipped and trained == "None"  # loaded from the bundle, not trained here
    assert not (tmp_path / "empty-home").exists() or not list((tmp_path / "empty-home").glob("*.pth"))


def test_the_learner_bundle_holds_the_release_and_nothing_of_the_grader(tmp_path):
    import zipfile

    from grading.bundle import build_bundle
    from grading.hidden import HIDDEN_SEED

    bundle = build_bundle(ROOT, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        texts = {name: archive.read(name).decode() for name in names if not name.endswith(".pth")}
    assert {f"day26/notebooks/day26/{name}" for name in NOTEBOOKS} <= set(names)
    assert "day26/helpers/measure.py" in names and "day26/helpers/targets.toml" in names
    assert not any("solutions/" in name for name in names)
    assert not any(name.startswith("day26/grading/") for name in names), "the grader's package stays with the grader"
    for name, text in texts.items():
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
        assert str(HIDDEN_SEED) not in text and f"{HIDDEN_SEED:_}" not in text, name
