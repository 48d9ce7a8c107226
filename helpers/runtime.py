"""Opening and running ONNX Runtime sessions with settings that make timings comparable.

ONNX Runtime's defaults use every core and keep idle threads spinning, which makes it look
faster than a single-threaded PyTorch model and slows down anything that runs beside it.
Here every session gets a fixed thread count and no spinning (docs/design.md, "Measured facts").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from helpers.measure import size_on_disk


def open_session(
    path: str | Path,
    threads: int = 1,
    optimization_level: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
) -> ort.InferenceSession:
    """An ORT session on the CPU with ``threads`` intra-op threads, one inter-op thread,
    no spinning, and every graph optimization on by default: quantized QDQ models need level
    ALL to run as INT8 kernels (notebook 02 shows what a lower ``optimization_level`` costs)."""
    size_on_disk(path)  # checks the file and every file it references exist, with a clear message
    options = session_options(threads, optimization_level)
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def session_options(
    threads: int = 1,
    optimization_level: ort.GraphOptimizationLevel = ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
) -> ort.SessionOptions:
    """The options :func:`open_session` uses: ``threads`` intra-op threads, one inter-op thread,
    sequential execution, no spinning, errors only in the log."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = optimization_level
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: ORT's informational lines are not for learners
    return options


def as_numpy(inputs: torch.Tensor) -> np.ndarray:
    """A contiguous NumPy copy of a tensor, in the dtype the exported model expects."""
    return np.ascontiguousarray(inputs.detach().cpu().numpy())


def run_session(session: ort.InferenceSession, inputs: torch.Tensor) -> np.ndarray:
    """Run a single-input, single-output session on a batch and return the output array."""
    input_name = session.get_inputs()[0].name
    return session.run(None, {input_name: as_numpy(inputs)})[0]
