"""The count of what a learner writes (python -m grading.solution_lines) reads the solution regions."""

from __future__ import annotations

from grading.solution_lines import TECHNIQUE_HELPERS, count, solution_lines


def test_only_the_lines_between_the_markers_count_and_blank_lines_do_not():
    source = "setup = 1\n### BEGIN SOLUTION\nx = 1\n\n    y = 2\n### END SOLUTION\nprint(x)\n"
    assert solution_lines(source) == ["x = 1", "    y = 2"]
    assert solution_lines('TRACK = "images"\n\n') == ['TRACK = "images"']  # a whole cell marked as a solution


def test_every_notebook_is_counted_and_technique_helpers_are_recognised():
    counts = count()
    assert list(counts) == ["00_start", "01_baseline", "02_quantization", "03_pruning", "04_onnx", "05_combined"]
    assert all(regions >= 1 and lines >= 1 for regions, lines, _ in counts.values())
    assert TECHNIQUE_HELPERS.search("smaller = prune_channels(model, x, 0.5, keep=())")
    assert not TECHNIQUE_HELPERS.search("quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear})")


def test_the_learner_writes_the_techniques_and_calls_no_technique_helper():
    counts = count()
    assert sum(helpers for *_, helpers in counts.values()) == 0, counts
    assert sum(lines for _, lines, _ in counts.values()) >= 90, counts  # the techniques, written out
