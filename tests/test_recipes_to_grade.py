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


# ---------------------------------------------------------------- notebook 03's fine-tuned pruned.pth


def _baseline(kind: str):
    import torch
    from torch import nn

    torch.manual_seed(3)
    if kind == "gru":
        return nn.GRU(6, 8, num_layers=2, bidirectional=True).eval()
    return nn.Sequential(nn.Conv1d(4, 16, 3), nn.BatchNorm1d(16), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 8, 3)).eval()


def _pruned(model, amount: float = 0.3):
    """Notebook 03's pruning: global L1 over every weight matrix, the masks left on."""
    import copy

    from torch import nn
    from torch.nn.utils import prune

    pruned = copy.deepcopy(model)
    pairs = [(m, "weight") for m in pruned.modules() if isinstance(m, nn.Conv1d | nn.Linear)]
    pairs += [(m, n) for m in pruned.modules() if isinstance(m, nn.GRU) for n in m._flat_weights_names if "weight" in n]
    prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=amount)
    return pruned, pairs


def _run_of_03(tmp_path, kind: str, fine_tuned: bool = True):
    """artifacts/ as a learner's run of notebook 03 leaves it: pruned.pth fine-tuned with the masks on."""
    import torch
    from torch.nn.utils import prune

    pruned, pairs = _pruned(_baseline(kind))
    optimizer = torch.optim.SGD(pruned.parameters(), lr=0.5)
    pruned.train()
    for _ in range(3):  # every weight that is not masked moves
        optimizer.zero_grad()
        inputs = torch.randn(5, 4, 10) if kind == "cnn" else torch.randn(7, 5, 6)
        output = pruned(inputs)
        (output if kind == "cnn" else output[0]).square().mean().backward()
        optimizer.step()
    for module, name in pairs:
        prune.remove(module, name)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    torch.save(pruned.state_dict(), contract.PRUNED.path(artifacts))
    results = contract.RESULTS.path(artifacts)
    _record(results, contract.BASELINE.variant, {})
    _record(results, contract.PRUNED.variant, {"fine_tuned": fine_tuned})
    return artifacts, pruned.state_dict()


def test_the_grader_takes_notebook_03s_fine_tuned_weights_that_fit_the_pruning(tmp_path):
    import torch

    from helpers.handed_in_run import fine_tuned_pruning_in_hand_in

    for kind in ("cnn", "gru"):
        artifacts, fine_tuned = _run_of_03(tmp_path / kind, kind)
        again, _ = _pruned(_baseline(kind))  # the grader's run of the same code, masks on
        taken = fine_tuned_pruning_in_hand_in(again, artifacts, autograded=True)
        assert taken.used, taken.reason
        assert "not fine-tuned again" in str(taken)
        for key, value in fine_tuned.items():  # each layer now uses the handed-in weights
            module_name, _, name = key.rpartition(".")
            assert torch.equal(getattr(again.get_submodule(module_name), name), value), key
        mine = fine_tuned_pruning_in_hand_in(_pruned(_baseline(kind))[0], artifacts, autograded=False)
        assert not mine.used and "running the notebook yourself" in mine.reason


def test_the_grader_fine_tunes_03_again_when_pruned_pth_does_not_fit(tmp_path):
    import torch

    from helpers.handed_in_run import fine_tuned_pruning_in_hand_in

    artifacts, _ = _run_of_03(tmp_path, "cnn")
    harder = fine_tuned_pruning_in_hand_in(_pruned(_baseline("cnn"), 0.6)[0], artifacts, autograded=True)
    assert not harder.used and "where your pruning zeroes them now" in harder.reason
    other = fine_tuned_pruning_in_hand_in(_pruned(_baseline("gru"))[0], artifacts, autograded=True)
    assert not other.used and "does not fit your model" in other.reason
    untouched, _ = _pruned(_baseline("cnn"))
    before = {key: value.clone() for key, value in untouched.state_dict().items()}
    contract.PRUNED.path(artifacts).write_bytes(b"not a model")
    damaged = fine_tuned_pruning_in_hand_in(untouched, artifacts, autograded=True)
    assert not damaged.used and "pruned.pth" in damaged.reason and "damaged" in damaged.reason
    assert all(torch.equal(before[key], value) for key, value in untouched.state_dict().items())
    artifacts, _ = _run_of_03(tmp_path / "within-budget", "cnn", fine_tuned=False)
    not_tuned = fine_tuned_pruning_in_hand_in(_pruned(_baseline("cnn"))[0], artifacts, autograded=True)
    assert not not_tuned.used and "records no fine-tuned pruned model" in not_tuned.reason
