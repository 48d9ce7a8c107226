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
