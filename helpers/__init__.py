"""helpers: the learner package behind the Day 26 notebooks. It measures and checks.

It stands alone (it imports nothing of the instructor's ``grading`` package) and ships whole in
the learner bundle. One module per job, so you can read each on its own:

- ``contract``    the artifacts contract: every file the day makes, its results record, its targets
- ``targets``     the day's targets (``targets.toml``) and the one rule that says "met"
- ``tracks``      the three tracks (images, text, tabular) and how to bring your own model
- ``models``      the reference "Week 5" models, written by hand
- ``data``        offline, seeded datasets for each track
- ``cache``       the folder where trained models and generated data are kept
- ``reference``   training (once) and loading the reference model
- ``train``       the small deterministic training loop (reference models, fine-tuning)
- ``threads``     PyTorch's thread count for a block of code
- ``measure``     size on disk, parameters, sparsity, accuracy
- ``layers``      what a technique did to each layer: type before and after, bytes
- ``onnx_files``  which files an ONNX model needs (its external data, wherever it is stored)
- ``bench``       latency by a fixed protocol, and A-vs-B comparisons
- ``runtime``     ONNX Runtime sessions with fixed threads
- ``quantize``    dynamic and static INT8, in PyTorch and ONNX Runtime
- ``prune``       unstructured and structured pruning
- ``export``      ONNX export and a parity check
- ``artifacts``   safe loading and inspection of .pth and .onnx files
- ``variants``    measuring one variant against the baseline, the same way everywhere
- ``report``      the results record, results.json, the summary table and the comparison plot
- ``workbook``    what the notebooks share: the chosen track, the opening cell, the checklist, targets
- ``card``        the results card for the Teams check-in
- ``pipeline``    every technique in a row (``day26 optimize``)
- ``files``       writing files in one step (never half-written)
- ``errors``      the one error type a learner sees: a clear sentence, no traceback
- ``cli``         the learner's ``day26`` command line
"""

__version__ = "0.1.0"
