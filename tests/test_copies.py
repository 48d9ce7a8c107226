"""Copied models: a copy hidden by renaming, reordering, rescaling and noise is found; models trained
apart, and reference-model learners' identical files, are not flagged (grading/fingerprint.py,
grading/copies.py)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import onnx
import pytest
import torch

from grading.autograde import Course
from grading.cli import main
from grading.copies import FLAG_SHARE, review_copies
from grading.feedback import feedback_page
from grading.fingerprint import ROW_MATCH, compare_models, model_prints
from grading.records import GRADED, REVIEW, GradeRecord, read_record, write_record
from grading.verify import Verdict
from helpers.models import StockMLP
from helpers.reference import ready_model
from helpers.tracks import get_track
from helpers.train import train

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(__file__).parent / "own_models" / "week5_models.py"
CLASS = ("ann", "ben", "cy", "dee", "eve", "fay", "gus", "kim", "lou", "max")
FLAGGED = {"ann", "ben", "dee", "kim", "lou", "max"}
STOCK_LAYERS = ("hidden.0", "hidden.2", "classifier")  # StockMLP's Linear layers, input to output


def arrays(model: torch.nn.Module) -> dict[str, np.ndarray]:
    return {name: value.detach().numpy().astype(np.float64) for name, value in model.state_dict().items()}


def disguised(weights: dict[str, np.ndarray], noise: float = 0.0, seed: int = 3) -> dict[str, np.ndarray]:
    """A StockMLP's weights changed without changing what the network computes (up to ``noise``):
    each hidden layer's units permuted and each unit scaled by a positive factor (the next layer's
    columns divided by it, which ReLU allows), the output scaled by 7, every tensor renamed, and
    noise of ``noise`` times each weight added."""
    rng = np.random.default_rng(seed)
    (w0, b0), (w1, b1), (w2, b2) = ((weights[f"{layer}.weight"], weights[f"{layer}.bias"]) for layer in STOCK_LAYERS)
    p0, p1 = rng.permutation(w0.shape[0]), rng.permutation(w1.shape[0])
    s0, s1 = rng.uniform(0.2, 5.0, w0.shape[0]), rng.uniform(0.2, 5.0, w1.shape[0])
    copy = {
        "encoder.fc_in.weight": s0[:, None] * w0[p0],
        "encoder.fc_in.bias": s0 * b0[p0],
        "encoder.fc_mid.weight": s1[:, None] * w1[p1][:, p0] / s0[None, :],
        "encoder.fc_mid.bias": s1 * b1[p1],
        "decide.weight": 7.0 * w2[:, p1] / s1[None, :],
        "decide.bias": 7.0 * b2,
    }
    return {name: value * (1 + noise * rng.standard_normal(value.shape)) for name, value in copy.items()}


def stock_outputs(weights: dict[str, np.ndarray], names: list[str], inputs: np.ndarray) -> np.ndarray:
    w0, b0, w1, b1, w2, b2 = (weights[name] for name in names)
    hidden = np.maximum(np.maximum(inputs @ w0.T + b0, 0) @ w1.T + b1, 0)
    return hidden @ w2.T + b2


@pytest.fixture(scope="module")
def reference(day26_home) -> dict[str, np.ndarray]:
    """The trained tabular reference model's weights."""
    return arrays(ready_model(get_track("tabular")).model)


@pytest.fixture(scope="module")
def retrained(day26_home) -> dict[str, np.ndarray]:
    """The same architecture and recipe as the reference, trained from another seed (about 2 s)."""
    track = get_track("tabular")
    torch.manual_seed(1)
    model = track.build_model()
    train(model, track.train_data(), track.training, seed=1)
    return arrays(model)


def similarity(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> float:
    return compare_models(model_prints(first), model_prints(second)).similarity


def test_the_disguise_keeps_what_the_network_computes(reference):
    inputs = np.random.default_rng(0).standard_normal((8, 10))
    names = [f"{layer}.{kind}" for layer in STOCK_LAYERS for kind in ("weight", "bias")]
    copy = disguised(reference)
    original = stock_outputs(reference, names, inputs)
    assert np.allclose(stock_outputs(copy, list(copy), inputs) / 7.0, original, atol=1e-9)


@pytest.mark.parametrize(
    ("what", "change", "how"),
    [
        ("the same tensors", lambda w: dict(w), []),
        ("renamed", lambda w: {f"layer{i}": v for i, v in enumerate(w.values())}, ["renamed"]),
        ("one layer scaled by -3", lambda w: w | {"hidden.2.weight": -3.0 * w["hidden.2.weight"]}, ["rescaled"]),
        ("stored transposed", lambda w: {k: (v.T if v.ndim == 2 else v) for k, v in w.items()}, []),
        ("permuted, rescaled, renamed", disguised, ["renamed", "reordered", "rescaled"]),
        (
            "and noise of 1e-3",
            lambda w: disguised(w, noise=1e-3),
            ["renamed", "reordered", "rescaled", "changed a little"],
        ),
        (
            "and noise of 1e-2",
            lambda w: disguised(w, noise=1e-2),
            ["renamed", "reordered", "rescaled", "changed a little"],
        ),
    ],
)
def test_a_copy_is_found_however_it_is_disguised(reference, what, change, how):
    found = compare_models(model_prints(reference), model_prints(change(reference)))
    assert found.similarity == 1.0, what
    assert found.how() == how, what


def test_models_trained_from_different_seeds_share_nothing(reference, retrained):
    found = compare_models(model_prints(reference), model_prints(retrained))
    assert found.similarity == 0.0
    assert all(tensor.cosine < 0.6 for tensor in found.tensors), [t.cosine for t in found.tensors]
    assert similarity(reference, disguised(retrained)) == 0.0  # nor after a disguise


@pytest.mark.parametrize("class_name", ["BatchNormMLP", "PlainCNN", "DepthwiseCNN", "TextCNN"])
def test_own_model_families_from_different_seeds_share_nothing(class_name):
    spec = importlib.util.spec_from_file_location("own_models_for_copies", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(arrays(getattr(module, class_name)()))
    assert similarity(*models) == 0.0
    assert similarity(models[0], {f"x{i}": 2.5 * v for i, v in enumerate(models[0].values())}) == 1.0


def test_heavy_noise_hides_a_copy(reference):
    """The check's limit (docs/instructor/grading.md, "Copied models"): a third of each weight in noise
    and the rows no longer match."""
    assert similarity(reference, disguised(reference, noise=0.1)) >= FLAG_SHARE
    assert similarity(reference, disguised(reference, noise=0.3)) == 0.0
    assert ROW_MATCH == 0.99


# --- the class --------------------------------------------------------------------------------


def own_model(folder: Path, weights: dict[str, torch.Tensor], class_name: str = "BatchNormMLP") -> None:
    """Declare an own Week-5 model in ``folder`` with these weights, and hand in its baseline.pth."""
    (folder / "week5").mkdir(parents=True)
    shutil.copy(MODELS, folder / "week5" / "models.py")
    torch.save(weights, folder / "week5" / "weights.pth")
    (folder / "week5_model.toml").write_text(
        f'track = "tabular"\ncode = "week5/models.py"\nclass = "{class_name}"\nweights = "week5/weights.pth"\n'
    )
    (folder / "artifacts").mkdir()
    shutil.copy(folder / "week5" / "weights.pth", folder / "artifacts" / "baseline.pth")


def executed_notebook(path: Path, output: str) -> None:
    cell = nbformat.v4.new_code_cell("print(latency)")
    cell.outputs = [nbformat.v4.new_output("stream", text=output)]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


def folded_onnx(weights: dict[str, torch.Tensor], path: Path) -> None:
    """A BatchNormMLP as an ONNX exporter writes it, built by hand: each BatchNorm folded into the
    Linear before it (its rows rescaled), the weights stored as MatMul's (in, out), new names."""
    nodes, initializers, flowing = [], [], "features"
    for number, (linear, norm) in enumerate([("net.0", "net.1"), ("net.4", "net.5"), ("net.8", None)]):
        weight, bias = weights[f"{linear}.weight"], weights[f"{linear}.bias"]
        if norm is not None:
            scale = weights[f"{norm}.weight"] / torch.sqrt(weights[f"{norm}.running_var"] + 1e-5)
            shift = weights[f"{norm}.bias"] - scale * weights[f"{norm}.running_mean"]
            weight, bias = scale[:, None] * weight, scale * bias + shift
        initializers += [
            onnx.numpy_helper.from_array(weight.T.contiguous().numpy(), f"onnx::MatMul_{number}"),
            onnx.numpy_helper.from_array(bias.numpy(), f"onnx::Add_{number}"),
        ]
        nodes += [
            onnx.helper.make_node("MatMul", [flowing, f"onnx::MatMul_{number}"], [f"product_{number}"]),
            onnx.helper.make_node("Add", [f"product_{number}", f"onnx::Add_{number}"], [f"sum_{number}"]),
        ]
        flowing = f"sum_{number}"
        if norm is not None:
            nodes.append(onnx.helper.make_node("Relu", [flowing], [f"relu_{number}"]))
            flowing = f"relu_{number}"
    graph = onnx.helper.make_graph(
        nodes,
        "folded",
        [onnx.helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, ["batch", 10])],
        [onnx.helper.make_tensor_value_info(flowing, onnx.TensorProto.FLOAT, ["batch", 2])],
        initializers,
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)]), path)


def batchnorm_mlp(seed: int) -> dict[str, torch.Tensor]:
    spec = importlib.util.spec_from_file_location("own_models_for_class", MODELS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(seed)
    return module.BatchNormMLP().state_dict()


@pytest.fixture()
def graded_class(tmp_path, day26_home, reference) -> Course:
    """A graded class's workspace, made by hand: each learner's submitted folder and grade record."""
    course = Course(ROOT, tmp_path / "course")
    ann = batchnorm_mlp(0)
    ann["net.1.running_var"] = torch.rand(128) + 0.5  # as a trained model's: max's model.onnx folds these in
    ann["net.1.weight"] = torch.rand(128) + 0.5
    ann["net.5.running_var"] = torch.rand(64) + 0.5
    hidden_units = torch.randperm(128, generator=torch.Generator().manual_seed(5))
    ben = {f"model.{i}": value.clone() for i, value in enumerate(ann.values())}  # renamed
    ben["model.0"], ben["model.1"] = 3.0 * ann["net.0.weight"][hidden_units], 3.0 * ann["net.0.bias"][hidden_units]
    ben["model.7"] = ann["net.4.weight"][:, hidden_units] * (1 + 1e-3 * torch.randn(64, 128))
    stock = {f"body.{i}": torch.from_numpy(value).float() for i, value in enumerate(reference.values())}
    folders = {learner: course.folder("submitted", learner) for learner in CLASS}
    own_model(folders["ann"], ann)
    own_model(folders["ben"], ben)
    own_model(folders["cy"], batchnorm_mlp(1))  # trained apart: not a copy
    own_model(folders["dee"], stock, "StockMLP")  # the reference model, declared as her own
    own_model(folders["gus"], batchnorm_mlp(2))
    own_model(folders["max"], batchnorm_mlp(3))  # his own weights declared, but ann's model.onnx:
    folded_onnx(ann, folders["max"] / "artifacts" / "model.onnx")
    torch.save(StockMLP(), folders["gus"] / "artifacts" / "baseline.pth")  # a pickled whole model
    (folders["gus"] / "artifacts" / "model.onnx").write_bytes(b"not an ONNX model")
    for learner in ("eve", "fay", "kim", "lou"):  # the reference model: the seeded recipe's same files
        (folders[learner] / "artifacts").mkdir(parents=True)
        torch.save(
            ready_model(get_track("tabular")).model.state_dict(), folders[learner] / "artifacts" / "baseline.pth"
        )
        (folders[learner] / "artifacts" / "track.json").write_text('{"track": "tabular"}')
        shutil.copy(ROOT / "notebooks" / "day26" / "00_start.ipynb", folders[learner])  # the release, unchanged
        executed_notebook(folders[learner] / "01_baseline.ipynb", f"latency of {learner}: 0.07 ms")
    shutil.copy(folders["kim"] / "01_baseline.ipynb", folders["lou"])  # lou hands in kim's run
    for learner in folders:
        record = GradeRecord(learner, GRADED, verdict=Verdict(str(folders[learner]), "tabular"), reasons=["a note"])
        write_record(course.record(learner), record)
    return course


def test_the_class_check_flags_copies_on_both_learners_and_nothing_honest(graded_class):
    report = review_copies(graded_class)
    records = {learner: read_record(graded_class.record(learner)) for learner in CLASS}
    flagged = {learner for learner, record in records.items() if record.status == REVIEW}
    assert flagged == FLAGGED, report.table()
    copy_of_ann = " ".join(records["ben"].reasons)
    assert "ann's weights" in copy_of_ann and "renamed, reordered, rescaled, changed a little" in copy_of_ann
    assert "ben's weights" in " ".join(records["ann"].reasons)
    copy_in_onnx = " ".join(records["max"].reasons)
    assert "(artifacts/model.onnx ~ week5/weights.pth) holds ann's weights: 100%" in copy_in_onnx
    assert "renamed, rescaled" in copy_in_onnx
    assert "the tabular reference model's weights: 100%" in " ".join(records["dee"].reasons)
    assert "01_baseline.ipynb: byte for byte the same as kim's" in " ".join(records["lou"].reasons)
    assert records["ann"].reasons[-1] == "a note" and records["ann"].status_before_copies == GRADED
    assert report.expected == [
        "artifacts/baseline.pth is the same for 4 learners (eve, fay, kim, lou): both on the reference model, "
        "whose seeded recipe makes these files the same for everyone",
        "week5/models.py is the same for 6 learners (ann, ben, cy, dee, gus and 1 more): model code may be the "
        "course's Week-5 template",
    ]
    assert not any("00_start" in file for match in report.matches for pair in match.files for file in pair)
    assert not any("track.json" in file for match in report.matches for pair in match.files for file in pair)
    assert report.notes == [
        "gus: artifacts/baseline.pth skipped in the copy check: artifacts/baseline.pth: holds Python objects "
        "besides tensors (a whole pickled model, or code), which are never loaded. Save only the weights: "
        "torch.save(model.state_dict(), path).",
        "gus: artifacts/model.onnx skipped in the copy check: model.onnx is not a readable ONNX model; export it again",
    ]
    page = feedback_page(graded_class, records["ben"])  # the learner's page: a match, never the other's name
    assert "matches another learner" in page and not re.search(r"\bann\b", page)
    assert records["ben"].copy_reasons and all(reason not in page for reason in records["ben"].copy_reasons)


def test_a_second_check_changes_nothing_and_a_resubmission_clears_the_flag(graded_class):
    review_copies(graded_class)
    review_copies(graded_class)
    ann = read_record(graded_class.record("ann"))
    assert len(ann.copy_reasons) == 2 and all(ann.reasons.count(reason) == 1 for reason in ann.copy_reasons)
    ben = graded_class.folder("submitted", "ben")
    torch.save(batchnorm_mlp(7), ben / "week5" / "weights.pth")  # ben hands in a model of his own
    shutil.copy(ben / "week5" / "weights.pth", ben / "artifacts" / "baseline.pth")
    shutil.rmtree(graded_class.folder("submitted", "max"))  # max's hand-in is no longer in the class
    review_copies(graded_class)
    ann = read_record(graded_class.record("ann"))
    assert ann.status == GRADED and ann.reasons == ["a note"] and not ann.copy_reasons


def test_day26_copies_prints_the_matches_as_json(graded_class, capsys):
    assert main(["copies", "--root", str(ROOT), "--workspace", str(graded_class.workspace), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["flagged"]) == FLAGGED
    weights = [match for match in report["matches"] if match["kind"] == "same weights" and match["second"] == "ben"]
    assert weights[0]["similarity"] >= FLAG_SHARE and weights[0]["tensors"]


def test_two_different_models_seeded_alike_share_an_embedding_and_are_not_flagged():
    from grading.copies import FLAG_SHARE, is_copied

    rng = np.random.default_rng(0)
    embedding = rng.standard_normal((2000, 32))  # the same seed, the same first layer: rare tokens' rows stay as drawn
    masked_mean = {"embed.weight": embedding, "fc1.weight": rng.standard_normal((64, 32)),
                   "fc2.weight": rng.standard_normal((2, 64))}  # fmt: skip
    recurrent = {"emb.weight": embedding.copy(), "gru.weight_ih_l0": rng.standard_normal((96, 32)),
                 "gru.weight_hh_l0": rng.standard_normal((96, 32)),
                 "out.weight": rng.standard_normal((2, 32))}  # fmt: skip
    shared_start = compare_models(model_prints(masked_mean), model_prints(recurrent))
    assert shared_start.similarity >= FLAG_SHARE  # most of the weights alike: the embedding is 97 % of them
    assert shared_start.tensors_alike <= 0.5 and not is_copied(shared_start)  # ... and nothing else
    copied = compare_models(model_prints(masked_mean), model_prints(disguised_any(masked_mean)))
    assert copied.tensors_alike == 1.0 and is_copied(copied)


def disguised_any(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor renamed and its rows reordered: a copy that hides where it came from."""
    rng = np.random.default_rng(1)
    return {f"layer{index}": value[rng.permutation(len(value))] for index, value in enumerate(weights.values())}
