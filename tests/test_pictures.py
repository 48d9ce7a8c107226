"""The pictures people read: labels of points on the same spot do not print over each other, and a
model that missed a target does not look like a winner on the leaderboard's picture."""

from __future__ import annotations

from matplotlib.figure import Figure

from grading.leaderboard import Entry, Reference, tradeoff_figure
from helpers.report import tradeoff_scatter


def _texts(axis) -> list[str]:
    return [text.get_text() for text in axis.texts]


def test_labels_of_points_on_the_same_spot_become_one_label_above_them():
    figure = Figure()
    # a baseline, its dynamic INT8 copy and its pruned copy: the same size, nearly the same latency
    axis = tradeoff_scatter(figure, [49.2, 47.2, 50.1, 4.0], [44.8, 44.8, 44.8, 1.8], [89.2, 89.2, 89.4, 97.2],
                            ["baseline", "quantized_dynamic", "pruned", "combined"])  # fmt: skip
    assert _texts(axis) == ["baseline\nquantized_dynamic\npruned", "combined"]
    grouped = axis.texts[0]
    assert grouped.xy == (49.2, 44.8) and grouped.get_ha() == "right"  # at the right edge: written to the left
    assert axis.get_ylim()[1] > 44.8 * 1.2  # room above the highest point for its label
    assert axis.get_legend() is None  # no target verdicts given: no legend
    scale = axis.collections[0].norm
    assert (scale.vmin, scale.vmax) == (87.2, 97.2)  # ten points wide: 89.2 and 89.4 are one shade, not a rainbow


def test_a_model_that_missed_a_target_is_ringed_and_says_so_on_the_leaderboard():
    entries = [
        Entry("images", 1, "ada", 12.0, 20.0, 0.34, 0.25, 96.0, -0.4, True, ""),
        Entry("images", 2, "bob", 14.0, 22.0, 0.29, 0.22, 91.0, -6.0, False, "accuracy"),
        Entry("images", 3, "dee", 3.0, 1.0, 1.36, 4.95, 97.5, 0.2, False, "size, speed"),
    ]
    axis = tradeoff_figure(entries, Reference("images", 4.07, 4.95, 98.2), show_names=True).axes[0]
    labels = [text for text in _texts(axis) if text != "reference"]
    assert labels == ["ada\nbob (missed)", "dee (missed)"]
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == ["met every target", "missed a target"]
    rings = axis.collections[1]  # the red rings over the points of bob and dee
    assert [tuple(point) for point in rings.get_offsets()] == [(0.29, 0.22), (1.36, 4.95)]
    hidden = tradeoff_figure(entries, Reference("images", 4.07, 4.95, 98.2), show_names=False).axes[0]
    assert [text for text in _texts(hidden) if text != "reference"] == []  # names hidden: rings and legend stay
    assert hidden.get_legend() is not None
