"""Run by a grading kernel as it starts (``IPKernelApp.exec_files``), before any cell of the notebook.

It imports the libraries the day's notebooks use, so that the seconds this takes are spent while the
previous notebook is still running (``grading.execute`` starts each notebook's kernel one notebook
ahead). On 2 cores of an AVX2 CPU: 6 s, and the first ``torch.onnx.export`` of a notebook then takes
5 s instead of 15 s. A module that cannot be imported is left to the notebook, which reports it.

The notebook's own ``import`` lines still run and still bind their names: this file binds no name in
the notebook's namespace, so a notebook that forgets an import fails here as it does for the learner.
"""

import contextlib
import importlib

for _module in (
    "numpy",
    "torch",
    "torch.export",
    "torch._dynamo",  # what torch.export and torch.onnx.export load on their first call
    "torch.onnx",
    "onnx",
    "onnxscript",
    "onnxscript.function_libs.torch_lib.ops",  # the operator library the ONNX exporter translates with
    "onnxruntime",
    "onnxruntime.quantization",
    "torch_pruning",
    "matplotlib.figure",
):
    with contextlib.suppress(ImportError):
        importlib.import_module(_module)
del _module, contextlib, importlib
