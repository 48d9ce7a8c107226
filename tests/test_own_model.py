"""A learner's own Week-5 model, declared in week5_model.toml: every family of the model contract
loads and is checked; every way to break the declaration or the contract gets one clear line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from own_models.zoo_members import ZOO

from helpers.errors import Day26Error
from helpers.tracks import get_track, with_own_model
from helpers.week5 import read_declaration

MODELS = Path(__file__).parent / "own_models" / "week5_models.py"
FAMILIES = {member.class_name: member.track for member in ZOO}  # class -> the track whose data it reads


def declare(folder: Path, class_name: str, track: str, weights_of: str | None = None, extra: str = "") -> Path:
    """Write the learner's folder: the model code, its weights (of ``weights_of``, default the class
    itself) and week5_model.toml. Returns the declaration file."""
    import importlib.util

    code = folder / "week5" / "models.py"
    code.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS, code)
    spec = importlib.util.spec_from_file_location("own_models_for_weights", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    torch.save(getattr(module, weights_of or class_name)().state_dict(), folder / "week5" / "weights.pth")
    declaration = folder / "week5_model.toml"
    declaration.write_text(
        f'track = "{track}"\ncode = "week5/models.py"\nclass = "{class_name}"\nweights = "week5/weights.pth"\n{extra}'
    )
    return declaration


@pytest.mark.parametrize("class_name", sorted(FAMILIES))
def test_every_family_of_the_contract_is_a_week5_model(tmp_path, class_name):
    track_name = FAMILIES[class_name]
    track = with_own_model(get_track(track_name), read_declaration(declare(tmp_path, class_name, track_name)))
    model = track.build_model()
    assert type(model).__name__ == class_name
    assert track.model_name == class_name and track.own_model is not None
    assert model(track.val_data().model_inputs(0, 3)).shape == (3, 2)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_no_declaration_means_the_reference_model(tmp_path):
    assert read_declaration(tmp_path / "week5_model.toml") is None


@pytest.mark.parametrize(
    ("class_name", "track", "weights_of", "extra", "expected"),
    [
        ("OneLogit", "tabular", None, "", "one score per sample"),
        ("SmallVocabulary", "text", None, "", "1000 rows"),
        ("PlainCNN", "images", "DepthwiseCNN", "", "does not fit the PlainCNN architecture"),
        ("PlainCNN", "text", None, "", "fails on a batch of shape (2, 200)"),
        ("BatchNormMLP", "tabular", None, "[arguments]\nfeatures = 12\n", "does not fit"),
        ("BatchNormMLP", "tabular", None, "[arguments]\nwidth = 12\n", "failed: TypeError"),
        ("NoSuchNet", "tabular", "BatchNormMLP", "", "has no class 'NoSuchNet'"),
        ("BatchNormMLP", "images", None, "", "fails on a batch"),
    ],
)
def test_a_model_that_breaks_the_contract_gets_one_line(tmp_path, class_name, track, weights_of, extra, expected):
    declaration = read_declaration(declare(tmp_path, class_name, track, weights_of, extra))
    with pytest.raises(Day26Error) as error:
        with_own_model(get_track(track), declaration)
    message = one_line(error)
    assert expected in message
    assert "week5_model.toml" in message or "weights.pth" in message  # names the file to fix


HEAD = 'track = "tabular"\ncode = "week5/models.py"\nclass = "BatchNormMLP"\n'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("track = images\n", "not valid TOML"),
        (HEAD, "weights missing"),
        (HEAD + 'weights = "nope.pth"\n', "names no file"),
        (HEAD + 'weights = "week5/weights.pth"\nlr = 1\n', "unknown key"),
        (HEAD + 'weights = "week5/weights.pth"\narguments = 3\n', "must be a table"),
    ],
)
def test_a_broken_declaration_gets_one_line(tmp_path, content, expected):
    declare(tmp_path, "BatchNormMLP", "tabular")
    (tmp_path / "week5_model.toml").write_text(content)
    with pytest.raises(Day26Error) as error:
        read_declaration(tmp_path / "week5_model.toml")
    assert expected in one_line(error) and "week5_model.toml" in str(error.value)


def test_a_declared_track_must_be_the_chosen_one(tmp_path):
    declaration = read_declaration(declare(tmp_path, "BatchNormMLP", "tabular"))
    with pytest.raises(Day26Error, match="the chosen track is text"):
        with_own_model(get_track("text"), declaration)


def test_a_pickled_whole_model_is_refused_without_running_it(tmp_path):
    declaration_file = declare(tmp_path, "BatchNormMLP", "tabular")
    from helpers.models import StockMLP

    torch.save(StockMLP(), tmp_path / "week5" / "weights.pth")  # the whole model, pickled
    with pytest.raises(Day26Error) as error:
        with_own_model(get_track("tabular"), read_declaration(declaration_file))
    assert "never loaded" in one_line(error)


def test_the_results_card_names_the_model_that_00_start_recorded(tmp_path):
    from helpers.card import model_of

    results = tmp_path / "artifacts" / "results.json"
    results.parent.mkdir()
    assert model_of(results) == ""  # nothing recorded: the card names the track only
    (tmp_path / "artifacts" / "track.json").write_text('{"track": "text", "model": "StackedGRU"}')
    assert model_of(results) == "StackedGRU"


def test_sparsity_counts_every_layer_and_direction_of_a_gru(tmp_path):
    import importlib.util

    from torch.nn.utils import prune

    from helpers.measure import sparsity

    spec = importlib.util.spec_from_file_location("own_models_for_sparsity", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.StackedGRU()
    weights = [name for name in model.rnn._flat_weights_names if name.startswith("weight")]
    for name in weights:
        prune.l1_unstructured(model.rnn, name, amount=0.5)
    report = sparsity(model)
    assert len([name for name in report.per_layer if name.startswith("rnn.")]) == len(weights) == 8
    assert 0.45 < report.overall < 0.5  # the GRU's zeros count, not the classifier's alone


def test_an_own_mlp_with_its_own_names_goes_through_every_solution_notebook(day26_home, tmp_path, monkeypatch):
    """A Week-5 model the workbook never saw (BatchNorm and Dropout, forward(features)), declared in
    week5_model.toml: every solution notebook passes its tests in fresh kernels, against its own
    baseline. (The other families: tests/own_models/run_family.py; docs/instructor/own-models.md.)"""
    from nbgrader.validator import Validator
    from own_models.run_family import trained_learner_folder

    from grading.course import course_config
    from helpers.report import read_results

    folder = trained_learner_folder("BatchNormMLP", 5, tmp_path / "learner")
    monkeypatch.setenv("DAY26_TRACK", "tabular")
    validator = Validator(config=course_config(Path(__file__).resolve().parent.parent, tmp_path / "course"))
    for notebook in sorted(folder.glob("0*.ipynb")):
        assert validator.validate(str(notebook)) == {}, notebook.name
    records = read_results(folder / "artifacts" / "results.json")
    assert records[0].variant == "baseline" and records[0].params == 10_178  # the learner's model, not StockMLP
    assert (folder / "artifacts" / "track.json").read_text() == '{"track": "tabular", "model": "BatchNormMLP"}'


def test_an_own_cnn_that_zeros_hurt_is_fine_tuned_with_the_masks_on_in_03(day26_home, tmp_path, monkeypatch):
    """A plain CNN trained briefly loses more than the budget when 30 % of its weights are zeroed (9
    points on an AMD EPYC, 4.8 on an Intel Xeon): notebook 03 fine-tunes it one pass with the masks on,
    its tests pass, and the verifier's data check takes the result for the baseline pruned. Run as the
    autograder runs it (smaller sweep and scan, no demonstrations), to keep the suite short."""
    from nbgrader import utils
    from nbgrader.preprocessors import Execute
    from own_models.run_family import trained_learner_folder

    from grading.course import course_config
    from grading.own_baseline import compare_pruned_with_baseline

    folder = trained_learner_folder("PlainCNN", 8, tmp_path / "learner")
    monkeypatch.setenv("DAY26_TRACK", "images")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    config = course_config(Path(__file__).resolve().parent.parent, tmp_path / "course")
    shown = {}
    for name in ("00_start.ipynb", "01_baseline.ipynb", "03_pruning.ipynb"):
        with utils.chdir(str(folder)):
            executed, _ = Execute(config=config).preprocess(nbformat.read(folder / name, as_version=4), {})
        for cell in executed.cells:
            errors = [output for output in cell.get("outputs", []) if output.output_type == "error"]
            assert not errors, f"{name}: {errors[0].get('evalue')}"
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            shown[grade_id] = "".join(output.get("text", "") for output in cell.get("outputs", []))
    recovery = shown["03-solution-recover"]
    assert "after one pass with the masks on" in recovery, f"the zeros did not cost more than the budget: {recovery}"
    artifacts = folder / "artifacts"
    baseline = torch.load(artifacts / "baseline.pth", weights_only=True)
    finding = compare_pruned_with_baseline(baseline, torch.load(artifacts / "pruned.pth", weights_only=True))
    assert finding.fine_tuned and not finding.problems and 0.29 < finding.sparsity < 0.31, finding


@pytest.mark.slow
def test_an_own_model_is_autograded_against_its_own_baseline_and_named_on_the_leaderboard(day26_home, tmp_path):
    """A learner with their own Week-5 model hands in the solution notebooks: day26 autograde runs them
    in the sandbox and the verifier grades every artifact against that learner's own baseline, without
    their code; the leaderboard ranks it in the own-models table, with its class name."""
    import nbformat
    from own_models.run_family import trained_learner_folder

    from grading.samples import choose, notebooks_of

    root = Path(__file__).resolve().parent.parent
    folder = trained_learner_folder("BatchNormMLP", 5, tmp_path / "class" / "own-mlp")
    for name, notebook in notebooks_of(root / "solutions" / "day26", {"00-solution-3": choose("tabular")}).items():
        nbformat.write(notebook, folder / name)
    workspace = tmp_path / "course"
    command = [sys.executable, "-m", "grading.cli", "autograde", str(tmp_path / "class"), "--root", str(root)]
    command += ["--workspace", str(workspace), "--workers", "1", "--json"]
    graded = subprocess.run(command, capture_output=True, text=True, check=False)
    assert graded.returncode == 0, graded.stderr[-2000:]
    record = json.loads((workspace / "records" / "own-mlp.json").read_text())
    checks = {(c["artifact"], c["name"]): c for c in record["verdict"]["checks"]}
    assert checks["model.onnx", "own baseline"]["status"] == "pass", checks["model.onnx", "own baseline"]
    assert checks["baseline.pth", "declared weights"]["status"] == "pass"
    assert checks["quantized_static.onnx", "model"]["measured"] == "not used"
    failed = [c for c in record["verdict"]["checks"] if c["status"] != "pass"]
    assert not failed, failed
    outcome = json.loads(graded.stdout)[0]
    lost = [cell for cell in record["cells"] if cell["verifier_points"] != cell["max_points"]]
    assert outcome["points"] == outcome["max_points"], lost
    board = subprocess.run(
        [sys.executable, "-m", "grading.cli", "leaderboard", "--root", str(root), "--workspace", str(workspace)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert board.returncode == 0, board.stderr[-2000:]
    markdown = next(workspace.rglob("leaderboard.md")).read_text()
    assert "## tabular track, own Week-5 models" in markdown and "| own-mlp | BatchNormMLP |" in markdown, markdown


def test_what_the_verifier_cannot_measure_of_an_own_model_is_the_lower_of_its_and_the_notebooks_word():
    """An own model's pruned.pth accuracy needs the learner's class: the cell earns the lower of the
    verifier's points (sparsity, checked as data) and the notebook's (its accuracy test); without a
    notebook result an instructor decides. The verdict keeps what it left to the notebook."""
    from grading.score import _with_the_notebooks_word
    from grading.verify import Verdict

    only = "pruned.pth's accuracy (it needs your model's code to measure)"
    assert _with_the_notebooks_word(4.0, "verified: sparsity 30.0%", 0.0, only) == (
        0.0,
        f"verified: sparsity 30.0%; {only}: the notebook's test failed",
    )
    assert _with_the_notebooks_word(4.0, "verified", 4.0, only)[0] == 4.0
    assert _with_the_notebooks_word(4.0, "verified", None, only)[0] is None
    assert _with_the_notebooks_word(0.0, "sparsity too low", 4.0, only)[0] == 0.0  # the verifier's fail stands
    assert _with_the_notebooks_word(4.0, "verified", 0.0, None)[0] == 4.0  # everything measured: the verifier decides
    verdict = Verdict("x", "tabular", notebook_decides={"pruned.pth": only})
    assert Verdict.from_dict(verdict.as_dict()).notebook_decides == {"pruned.pth": only}
