"""Notebook 05 under the grader runs the recipe the learner chose when they ran it themselves
(helpers.workbook.recipes_to_grade), read from the results.json their run left in artifacts/."""

from __future__ import annotations

from helpers import contract
from helpers.report import VariantResult, record_result
from helpers.workbook import recipes_to_grade

RECIPES = {"gentle": (0.3, 2), "bold": (0.7, 6)}


def _record(path, variant: str, extra: dict) -> None:
    latency = {"median": 1.0, "p90": 1.0, "iqr": 0.1, "calls": 20, "threads": 1, "batch_size": 1, "runtime": "x"}
    record_result(path, VariantResult(variant, "", "x", 1, latency, 1.0, 0.9, 1, 0.0, "images", extra))


def test_the_grader_runs_the_recipe_the_learner_chose(tmp_path):
    results = tmp_path / "results.json"
    assert recipes_to_grade(RECIPES, results) == RECIPES  # no results.json handed in: every recipe
    _record(results, contract.BASELINE.variant, {})
    assert recipes_to_grade(RECIPES, results) == RECIPES  # no combined model recorded yet
    _record(results, contract.COMBINED.variant, {"recipe": "bold"})
    assert recipes_to_grade(RECIPES, results) == {"bold": (0.7, 6)}
    assert recipes_to_grade({"gentle": (0.3, 2), "renamed": (0.7, 6)}, results) == {
        "gentle": (0.3, 2),
        "renamed": (0.7, 6),
    }
    _record(results, contract.COMBINED.variant, {"recipe": ["bold"]})  # not a name: every recipe
    assert recipes_to_grade(RECIPES, results) == RECIPES


# ---------------------------------------------------------------- the hand-in's fine-tuned files


def _exported(model, path) -> None:
    import torch

    from helpers.captured import library_output

    with library_output(), torch.no_grad():  # the exporter's progress lines and warnings
        torch.onnx.export(model, (torch.rand(2, 10),), str(path), external_data=False, dynamo=True, verbose=False)


def _hand_in(tmp_path, pruned, recipe: str = "bold"):
    """An artifacts/ folder as a learner's run leaves it: both files of the chosen recipe, and its record."""
    from helpers.handed_in_run import FP32_FILE
    from helpers.measure import size_on_disk

    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    _exported(pruned, artifacts / FP32_FILE)
    optimized = contract.COMBINED.path(artifacts)
    optimized.write_bytes((artifacts / FP32_FILE).read_bytes())  # the INT8 step is not what is checked here
    results = contract.RESULTS.path(artifacts)
    _record(results, contract.BASELINE.variant, {})
    latency = {"median": 1.0, "p90": 1.0, "iqr": 0.1, "calls": 20, "threads": 1, "batch_size": 1, "runtime": "x"}
    record_result(
        results,
        VariantResult(contract.COMBINED.variant, "", optimized.name, size_on_disk(optimized), latency, 1.0, 0.9, 1, 0.0,
                      "stocks", {"recipe": recipe}),
    )  # fmt: skip
    return artifacts


def _mlp(hidden: int):
    from torch import nn

    return nn.Sequential(nn.Linear(10, hidden), nn.ReLU(), nn.Linear(hidden, 3)).eval()


def test_the_grader_takes_the_fine_tuned_files_that_fit_the_pruning(tmp_path):
    from helpers.handed_in_run import fine_tuned_in_hand_in

    pruned = _mlp(40)
    artifacts = _hand_in(tmp_path, pruned)
    work = tmp_path / "experiments"
    taken = fine_tuned_in_hand_in("bold", _mlp(40), work, artifacts, autograded=True)
    assert taken.used, taken.reason
    assert taken.int8_path == work / "bold.onnx" and taken.int8_path.read_bytes() == (
        contract.COMBINED.path(artifacts).read_bytes()
    )
    assert "not fine-tuned again" in str(taken)
    mine = fine_tuned_in_hand_in("bold", _mlp(40), work, artifacts, autograded=False)
    assert not mine.used and "running the notebook yourself" in mine.reason


def test_the_grader_fine_tunes_again_when_the_files_do_not_fit(tmp_path):
    from helpers.handed_in_run import FP32_FILE, fine_tuned_in_hand_in

    artifacts = _hand_in(tmp_path, _mlp(40))
    work = tmp_path / "experiments"
    other_recipe = fine_tuned_in_hand_in("gentle", _mlp(40), work, artifacts, autograded=True)
    assert not other_recipe.used and "the recorded choice is 'bold'" in other_recipe.reason
    other_pruning = fine_tuned_in_hand_in("bold", _mlp(64), work, artifacts, autograded=True)
    assert not other_pruning.used and "your pruning makes" in other_pruning.reason
    assert not work.exists()  # nothing copied for a recipe that is fine-tuned again
    _exported(_mlp(41), contract.COMBINED.path(artifacts))  # made again after the run was measured
    changed = fine_tuned_in_hand_in("bold", _mlp(40), work, artifacts, autograded=True)
    assert not changed.used and "your run measured" in changed.reason
    contract.COMBINED.path(artifacts).write_bytes(b"not a model")
    damaged = fine_tuned_in_hand_in("bold", _mlp(40), work, artifacts, autograded=True)
    assert not damaged.used and "is not a readable ONNX model" in damaged.reason
    (artifacts / FP32_FILE).unlink()
    missing = fine_tuned_in_hand_in("bold", _mlp(40), work, artifacts, autograded=True)
    assert not missing.used and FP32_FILE in missing.reason
