"""Which files an ONNX model needs: external data anywhere in the model is counted and vetted.

Each model here keeps one tensor's bytes in ``weights.bin`` beside it: as an initializer, a sparse
initializer, a Constant node's attribute, a tensor inside an If node's branch (a subgraph), and a
Constant node inside a local function. Size on disk must count that file, and the grader's safety
check must refuse it when it is a link or points outside the submission.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from grading.safety import UnsafeFile, checked_onnx
from helpers.measure import referenced_files, size_on_disk
from helpers.onnx_files import external_locations

DATA_FILE = "weights.bin"
OPSET = [helper.make_opsetid("", 18)]


def _weight(name: str = "w") -> TensorProto:
    return numpy_helper.from_array(np.arange(64, dtype=np.float32).reshape(8, 8), name)


def _move_out(tensor: TensorProto, folder: Path, location: str = DATA_FILE) -> None:
    """Store ``tensor``'s bytes in ``folder/location`` and point the tensor there."""
    data = tensor.raw_data
    (folder / location).write_bytes(data)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(data)))):
        tensor.external_data.add(key=key, value=value)


def _io():
    return (
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
    )


def in_initializer(folder: Path) -> onnx.ModelProto:
    weight = _weight()
    _move_out(weight, folder)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", *_io(), [weight])
    return helper.make_model(graph, opset_imports=OPSET)


def in_sparse_initializer(folder: Path) -> onnx.ModelProto:
    values = numpy_helper.from_array(np.ones(8, dtype=np.float32), "w")
    _move_out(values, folder)
    indices = numpy_helper.from_array(np.arange(0, 64, 8, dtype=np.int64), "w_indices")
    sparse = helper.make_sparse_tensor(values, indices, [8, 8])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", *_io())
    graph.sparse_initializer.append(sparse)
    return helper.make_model(graph, opset_imports=OPSET)


def in_constant_node(folder: Path) -> onnx.ModelProto:
    weight = _weight("w_value")
    _move_out(weight, folder)
    nodes = [helper.make_node("Constant", [], ["w"], value=weight), helper.make_node("MatMul", ["x", "w"], ["y"])]
    return helper.make_model(helper.make_graph(nodes, "g", *_io()), opset_imports=OPSET)


def in_subgraph(folder: Path) -> onnx.ModelProto:
    weight = _weight("w_value")
    _move_out(weight, folder)
    out = [helper.make_tensor_value_info("w", TensorProto.FLOAT, [8, 8])]
    then_branch = helper.make_graph([helper.make_node("Constant", [], ["w"], value=weight)], "then", [], out)
    plain = numpy_helper.from_array(np.eye(8, dtype=np.float32), "w_plain")
    else_branch = helper.make_graph([helper.make_node("Constant", [], ["w"], value=plain)], "else", [], out)
    condition = numpy_helper.from_array(np.array(True), "condition")
    nodes = [
        helper.make_node("If", ["condition"], ["w"], then_branch=then_branch, else_branch=else_branch),
        helper.make_node("MatMul", ["x", "w"], ["y"]),
    ]
    return helper.make_model(helper.make_graph(nodes, "g", *_io(), [condition]), opset_imports=OPSET)


def in_function(folder: Path) -> onnx.ModelProto:
    weight = _weight("w_value")
    _move_out(weight, folder)
    body = [helper.make_node("Constant", [], ["w"], value=weight), helper.make_node("MatMul", ["a", "w"], ["b"])]
    function = helper.make_function("local", "Project", ["a"], ["b"], body, OPSET)
    graph = helper.make_graph([helper.make_node("Project", ["x"], ["y"], domain="local")], "g", *_io())
    return helper.make_model(graph, opset_imports=[*OPSET, helper.make_opsetid("local", 1)], functions=[function])


PLACES = [in_initializer, in_sparse_initializer, in_constant_node, in_subgraph, in_function]


def _saved(make, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = make(folder)
    path = folder / "optimized.onnx"
    onnx.save_model(model, str(path))
    return path


@pytest.mark.parametrize("make", PLACES, ids=lambda make: make.__name__)
def test_external_data_is_found_wherever_it_is_stored(tmp_path, make):
    path = _saved(make, tmp_path / "artifacts")
    assert external_locations(onnx.load(str(path), load_external_data=False)) == [DATA_FILE]
    assert [file.name for file in referenced_files(path)] == ["optimized.onnx", DATA_FILE]
    assert size_on_disk(path) == path.stat().st_size + (path.parent / DATA_FILE).stat().st_size
    assert checked_onnx(tmp_path, "optimized.onnx") == path  # a plain file inside the submission: accepted


@pytest.mark.parametrize("make", PLACES, ids=lambda make: make.__name__)
def test_external_data_that_is_a_hard_link_elsewhere_is_refused(tmp_path, make):
    path = _saved(make, tmp_path / "learner" / "artifacts")
    elsewhere = tmp_path / "elsewhere.bin"
    os.replace(path.parent / DATA_FILE, elsewhere)
    os.link(elsewhere, path.parent / DATA_FILE)  # inside the folder by name, outside by content
    with pytest.raises(UnsafeFile, match="hard link"):
        checked_onnx(tmp_path / "learner", "optimized.onnx")


@pytest.mark.parametrize("make", PLACES, ids=lambda make: make.__name__)
def test_external_data_outside_the_submission_is_refused(tmp_path, make):
    path = _saved(make, tmp_path / "learner" / "artifacts")
    model = onnx.load(str(path), load_external_data=False)
    for tensor in _tensors_with_external_data(model):
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../../weights.bin"
    onnx.save_model(model, str(path))
    with pytest.raises(UnsafeFile, match="outside the submission"):
        checked_onnx(tmp_path / "learner", "optimized.onnx")


def _tensors_with_external_data(model: onnx.ModelProto):
    from helpers.onnx_files import model_tensors

    return [tensor for tensor in model_tensors(model) if tensor.data_location == TensorProto.EXTERNAL]


def test_onnx_runtime_reads_a_constant_nodes_external_data(tmp_path):
    """Why Constant nodes must be vetted: ONNX Runtime really reads their external bytes."""
    import onnxruntime as ort

    path = _saved(in_constant_node, tmp_path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ones((1, 8), dtype=np.float32)
    expected = x @ np.arange(64, dtype=np.float32).reshape(8, 8)
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected)
