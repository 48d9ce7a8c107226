"""helpers: the small library behind the Day 26 notebooks.

One module per job, so you can read each on its own:

- ``tracks``     the three tracks (images, text, tabular) and how to bring your own model
- ``models``     the reference "Week 5" models, written by hand
- ``data``       offline, seeded datasets for each track
- ``reference``  training (once) and loading the reference model
- ``measure``    size on disk, parameters, sparsity, accuracy
- ``bench``      latency by a fixed protocol, and A-vs-B comparisons
- ``quantize``   dynamic and static INT8, in PyTorch and ONNX Runtime
- ``prune``      unstructured and structured pruning
- ``export``     ONNX export and a parity check
- ``runtime``    ONNX Runtime sessions with fixed threads
- ``report``     results.json, the summary table and the comparison plot
- ``artifacts``  safe loading and inspection of .pth and .onnx files
- ``train``      the small deterministic training loop (reference models, fine-tuning)
- ``variants``   measuring one variant against the baseline, the same way everywhere
- ``workbook``   what the notebooks share: the chosen track, the checklist, figures vs targets
- ``pipeline``   every technique in a row (``day26 optimize``)
- ``errors``     the one error type a learner sees: a clear sentence, no traceback
- ``cli``        the ``day26`` command line
"""

__version__ = "0.1.0"
