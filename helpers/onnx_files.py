"""Which files an ONNX model needs: the model file, plus every file its tensors are stored in.

An ONNX model may keep any tensor's bytes in another file ("external data"): the exporter puts
the weights in ``model.onnx.data`` by default. Not only initializers can do this; ONNX Runtime
also reads the external data of a ``Constant`` node's tensor, of tensors in subgraphs (the
branches of ``If``, the body of ``Loop``) and in local functions. So every tensor is looked at:

- the graph's initializers and sparse initializers (their values and indices);
- every node attribute holding a tensor or tensors (``t``, ``tensors``, ``sparse_tensor``,
  ``sparse_tensors``), Constant nodes among them;
- the same, recursively, in every subgraph and in every local function.

:func:`external_locations` lists where those bytes live; size on disk (:mod:`helpers.measure`)
and the grader's safety checks both use it, so they can never disagree about what a model needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import onnx

from helpers.errors import file_error


def _sparse_parts(sparse: onnx.SparseTensorProto) -> Iterator[onnx.TensorProto]:
    yield sparse.values
    yield sparse.indices


def _node_tensors(node: onnx.NodeProto) -> Iterator[onnx.TensorProto]:
    """Tensors stored in a node's attributes, and in the subgraphs its attributes hold."""
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("sparse_tensor"):
            yield from _sparse_parts(attribute.sparse_tensor)
        for sparse in attribute.sparse_tensors:
            yield from _sparse_parts(sparse)
        if attribute.HasField("g"):
            yield from graph_tensors(attribute.g)
        for subgraph in attribute.graphs:
            yield from graph_tensors(subgraph)


def graph_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Every tensor stored in ``graph``: initializers, sparse initializers, node attributes, subgraphs."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield from _sparse_parts(sparse)
    for node in graph.node:
        yield from _node_tensors(node)


def model_tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    """Every tensor stored in ``model``: its main graph and its local functions."""
    yield from graph_tensors(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from _node_tensors(node)


def external_location(tensor: onnx.TensorProto) -> str | None:
    """The file (relative to the model's folder) a tensor's bytes are stored in; None when inside the model."""
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return None
    return next((entry.value for entry in tensor.external_data if entry.key == "location"), "")


def external_locations(model: onnx.ModelProto) -> list[str]:
    """Every external-data location the model's tensors name, each once, in the order first met."""
    locations: list[str] = []
    for tensor in model_tensors(model):
        location = external_location(tensor)
        if location is not None and location not in locations:
            locations.append(location)
    return locations


def load_graph_only(path: str | Path) -> onnx.ModelProto:
    """Load an ONNX file without reading any external data, or raise a clear error naming the file."""
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as error:  # onnx raises several types for a damaged file
        raise file_error(path, f"is not a readable ONNX model ({type(error).__name__})", "Export it again.") from None
