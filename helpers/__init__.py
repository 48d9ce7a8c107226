"""helpers: the learner package behind the Day 26 notebooks. It measures and checks.

It stands alone (it imports nothing of the instructor's ``grading`` package) and ships whole in
the learner bundle. The techniques themselves (quantizing, pruning, exporting) are not here: you
write them in the notebooks with torch, torch-pruning, onnx and onnxruntime, and these modules
measure what you made. One module per job, so you can read each on its own:

- ``contract``    the artifacts contract: every file the day makes, its results record, its targets
- ``targets``     the day's targets (``targets.toml``) and the one rule that says "met"
- ``tracks``      the three tracks (images, text, tabular), with the reference model or your own
- ``week5``       your own Week-5 model: ``week5_model.toml`` and the model contract
- ``models``      the reference "Week 5" models, written by hand
- ``data``        offline, seeded datasets for each track
- ``course_data`` the course's own data from local files, when an instructor points a track at it
- ``cache``       the folder where trained models and generated data are kept
- ``reference``   training (once) and loading the reference model
- ``train``       the small deterministic training loop (reference models, fine-tuning)
- ``progress``    a line every few seconds while a long loop reads its data: done, and the estimate left
- ``threads``     PyTorch's thread count for a block of code
- ``measure``     size on disk, parameters, sparsity, accuracy
- ``same_model``  is this the model (and split) already measured? Digests of what a model computes with
- ``layers``      what a technique did to each layer: type before and after, bytes
- ``onnx_files``  which files an ONNX model needs (its external data, wherever it is stored)
- ``bench``       latency by a fixed protocol, and A-vs-B comparisons
- ``operator_time`` where an ONNX model's time goes: ONNX Runtime's profile by operator and family
- ``library_limits`` what torch-pruning and the INT8 paths leave of a model, and why
- ``effects``     did a technique do what was asked? One line when it fell short
- ``accuracy_change`` how sure an accuracy change is: paired samples and an exact interval
- ``runtime``     ONNX Runtime sessions with fixed threads
- ``int8_state``  saving and loading a PyTorch INT8 model's weights safely
- ``quantization_error``  the error INT8 puts into each layer's weights (dB)
- ``compression`` what the zeros of a pruned model save once compressed (gzip, INT8 + gzip)
- ``rnn_export``  exporting an LSTM or GRU in seconds: its time steps traced as one loop
- ``parity``      does the ONNX model compute what the PyTorch model computes?
- ``captured``    what a library prints inside a block, shown as a line instead of a red wall
- ``plots``       the pruning sweep, the sensitivity scan, saving figures
- ``artifacts``   safe loading and inspection of .pth and .onnx files
- ``variants``    measuring one variant against the baseline, the same way everywhere
- ``report``      the results record, results.json, the summary table and the comparison plot
- ``workbook``    what the notebooks share: the chosen track, the opening cell, the checklist, targets
- ``card``        the results card for the Teams check-in
- ``files``       writing files in one step (never half-written)
- ``errors``      the one error type a learner sees: a clear sentence, no traceback
- ``cli``         the learner's ``day26`` command line
"""

__version__ = "0.1.0"
