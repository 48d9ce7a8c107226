"""Do two models hold the same weights, even renamed, reordered or rescaled? From tensors alone.

A copier can hide a copied model without changing what it computes: rename every tensor, reorder
the hidden units (the rows of one layer and the columns of the next, consistently), multiply a
layer by a constant or each of its rows by a positive constant (a ReLU network computes the same
after dividing the next layer's columns by it), and add a little noise. This module compares two
models' weight tensors so that all of that is undone:

1. **Names are ignored.** Tensors are paired by shape only: every weight with two or more axes is
   read as a matrix (axis 0 against the rest), turned so that it has no more rows than columns
   (so a Linear's ``(out, in)`` meets an ONNX MatMul's ``(in, out)``), and compared with every
   tensor of the other model of the same shape.
2. **Scales are removed** by *balancing*: the rows and then the columns are divided by their
   length, again and again (:data:`BALANCING_ROUNDS`), until every row and every column has the same
   length. The result does not depend on positive factors on the rows or columns.
3. **Order is found, not assumed.** Each row is described by its sorted absolute values (which
   reordering the columns does not change) to pair rows; those pairs then give each column its
   partner in the other matrix (the column whose values over the paired rows point the same way);
   with the columns in that order, each row's partner is the row it is most parallel to.
4. **A row matches** when its absolute cosine with its partner is at least :data:`ROW_MATCH`. The
   figure of two models is the *matched share*: the fraction of weights (entries of the compared
   tensors) in matched rows, the larger of the two directions.

Sorting alone is never the evidence: sorted values of independently trained weights look alike
(their quantile functions converge), and so do the singular values of random matrices. Sorting
only proposes an order; the evidence is that, in that order, whole rows agree entry by entry,
which two independent models do not do. Measured (each row's absolute cosine with its partner in
brackets; ``tests/test_copies.py`` keeps the tabular figures and the fresh families, the trained
families were measured once, after 2 and 5 minutes of training on the course's generated data):

- the tabular reference renamed, its hidden units permuted, each unit rescaled by 0.2 to 5 (the
  next layer compensating) and noise of 1e-3 of each weight added: 100 % of the weights match,
  every row at 1.000000; with noise of 1e-2, 100 % (0.99995); 5 %, 100 % (0.9989); 10 %, 88 %;
  15 % and more, 0 % (the order can no longer be found);
- the same recipe trained from another seed: 0 %, rows at a median of 0.21-0.33 and at most 0.50
  (under :data:`ROW_MATCH`, 0.99);
  the test families of own models trained from two seeds (BatchNormMLP, TextCNN): 0 %, at most 0.42
  (a TextCNN's embedding 0.05); freshly initialized PlainCNN, DepthwiseCNN, StackedGRU,
  TinyTransformer from two seeds: 0 %.

What it cannot see: a model trained again from a copied one (fine-tuning moves the rows), heavy
noise (15 % of each weight, as measured above), a hidden unit's sign flipped through an odd
activation such as tanh (the next layer's column changes sign), and tensors with fewer than
:data:`MIN_SIDE` rows or columns (a two-class head, biases and norms: too few values to tell a copy
from chance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

ROW_MATCH = 0.99  # absolute cosine of a row with its partner for the row to count as the same
MIN_SIDE = 4  # a tensor read as a matrix needs at least this many rows and columns to be compared
BALANCING_ROUNDS = 30  # rows then columns divided by their length, this many times
COLUMN_BLOCK = 2048  # columns compared at a time (bounds the memory of a wide embedding's comparison)
RESCALED = 0.02  # a row or column longer or shorter than its partner by more than this fraction is rescaled
TINY = 1e-12  # a row or column shorter than this is all zeros (a pruned unit): it matches nothing


@dataclass(frozen=True)
class TensorPrint:
    """One weight tensor, ready to compare. ``matrix`` is the tensor read as a matrix with no more
    rows than columns (``turned`` says whether axis 0 became the columns); ``balanced`` is that
    matrix with equal-length rows and columns, and ``profiles`` each balanced row's sorted
    absolute values."""

    name: str
    shape: tuple[int, ...]
    turned: bool
    matrix: np.ndarray
    balanced: np.ndarray
    profiles: np.ndarray

    @property
    def size(self) -> int:
        """Entries of the tensor."""
        return int(self.matrix.size)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its length (rows of zeros stay zeros)."""
    lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, lengths, out=np.zeros_like(matrix), where=lengths > TINY)


def balanced(matrix: np.ndarray, rounds: int = BALANCING_ROUNDS) -> np.ndarray:
    """``matrix`` with every nonzero row and column scaled to the same length, whatever positive
    factors its rows and columns were multiplied by (Sinkhorn's balancing, on the squares)."""
    result = matrix.astype(np.float64)
    for _ in range(rounds):
        result = _unit_rows(result)
        result = _unit_rows(result.T).T
    return result


def fingerprint(name: str, values: np.ndarray) -> TensorPrint | None:
    """The print of one weight tensor, or None when it is too small to compare (fewer than two
    axes, or fewer than :data:`MIN_SIDE` rows or columns once read as a matrix)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 2:
        return None
    matrix = values.reshape(values.shape[0], -1)
    turned = matrix.shape[0] > matrix.shape[1]
    if turned:
        matrix = matrix.T
    if min(matrix.shape) < MIN_SIDE or not np.isfinite(matrix).all():
        return None
    balanced_matrix = balanced(matrix)
    profiles = np.sort(np.abs(balanced_matrix), axis=1)
    return TensorPrint(name, tuple(values.shape), turned, matrix, balanced_matrix, profiles)


def model_prints(weights: Mapping[str, np.ndarray]) -> list[TensorPrint]:
    """The prints of every comparable tensor of one model (name -> values), in name order."""
    prints = (fingerprint(name, weights[name]) for name in sorted(weights))
    return [print_ for print_ in prints if print_ is not None]


@dataclass
class TensorMatch:
    """How one tensor of the first model meets its best partner in the second. ``rows`` counts the
    nonzero rows of the first tensor as compared (after turning), ``matched`` those whose
    absolute cosine reached :data:`ROW_MATCH`; ``how`` says what had been done to the copy."""

    first: str
    second: str
    shape: tuple[int, ...]
    rows: int
    matched: int
    weights_matched: int  # entries of the first tensor in matched rows
    how: list[str] = field(default_factory=list)
    cosine: float = 0.0  # the median over the rows of each row's absolute cosine with its partner

    @property
    def share(self) -> float:
        """Fraction of the first tensor's nonzero rows that matched (0 to 1)."""
        return self.matched / self.rows if self.rows else 0.0


def _nearest_profiles(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """For each row of ``first``, the row of ``second`` with the closest profile (Euclidean)."""
    distances = (first**2).sum(1)[:, None] + (second**2).sum(1)[None, :] - 2.0 * first @ second.T
    return distances.argmin(axis=1)


def _column_partners(first: np.ndarray, second_paired: np.ndarray) -> np.ndarray:
    """For each column of ``first``, the column of ``second_paired`` (the second matrix's rows in
    the pairing's order) pointing the most the same way, by absolute cosine."""
    columns_first, columns_second = _unit_rows(first.T), _unit_rows(second_paired.T)
    partners = np.empty(columns_first.shape[0], dtype=np.int64)
    for start in range(0, columns_first.shape[0], COLUMN_BLOCK):
        block = np.abs(columns_first[start : start + COLUMN_BLOCK] @ columns_second.T)
        partners[start : start + COLUMN_BLOCK] = block.argmax(axis=1)
    return partners


def _describe(
    first: TensorPrint, second: TensorPrint, rows: np.ndarray, columns: np.ndarray, matched: np.ndarray
) -> list[str]:
    """What was done to the copy, read from the matched rows once aligned: renamed (another tensor
    name), reordered (rows or columns in another order), rescaled (a row's or a column's length
    off its partner's by more than :data:`RESCALED`), changed a little (an absolute cosine below
    1 - 1e-8 once scales are removed: noise, or a few values changed)."""
    how = ["renamed"] if first.name != second.name else []
    chosen = np.flatnonzero(matched)
    if chosen.size == 0:
        return how
    if not np.array_equal(rows[chosen], chosen) or not np.array_equal(columns, np.arange(columns.size)):
        how.append("reordered")
    a, b = first.matrix[chosen], second.matrix[rows[chosen]][:, columns]
    row_ratios = np.linalg.norm(a, axis=1) / np.maximum(np.linalg.norm(b, axis=1), TINY)
    column_ratios = np.linalg.norm(a, axis=0) / np.maximum(np.linalg.norm(b, axis=0), TINY)
    if max(np.abs(row_ratios - 1).max(), np.abs(column_ratios - 1).max()) > RESCALED:
        how.append("rescaled")
    partners = _unit_rows(second.balanced[rows[chosen]][:, columns])
    aligned = np.abs((_unit_rows(first.balanced[chosen]) * partners).sum(1))
    if aligned.min() < 1 - 1e-8:
        how.append("changed a little")
    return how


def compare_tensors(first: TensorPrint, second: TensorPrint) -> TensorMatch:
    """Match ``first``'s rows against ``second`` (same matrix shape), undoing order and scale."""
    if first.matrix.shape != second.matrix.shape:
        raise ValueError(f"{first.name} {first.matrix.shape} and {second.name} {second.matrix.shape} differ in shape")
    pairing = _nearest_profiles(first.profiles, second.profiles)
    columns = _column_partners(first.balanced, second.balanced[pairing])
    reordered_second = second.balanced[:, columns]
    cosines = np.abs(_unit_rows(first.balanced) @ _unit_rows(reordered_second).T)
    rows, best = cosines.argmax(axis=1), cosines.max(axis=1)
    nonzero = np.linalg.norm(first.balanced, axis=1) > TINY
    matched = (best >= ROW_MATCH) & nonzero
    return TensorMatch(
        first.name,
        second.name,
        first.shape,
        rows=int(nonzero.sum()),
        matched=int(matched.sum()),
        weights_matched=int(matched.sum()) * first.matrix.shape[1],
        how=_describe(first, second, rows, columns, matched),
        cosine=float(np.median(best[nonzero])) if nonzero.any() else 0.0,
    )


def _pairs_of_same_shape(first: TensorPrint, second: TensorPrint) -> list[TensorPrint]:
    """``second`` as it can meet ``first``: itself when the matrix shapes agree, and also turned
    when they are square (a square weight may be stored transposed)."""
    if first.matrix.shape != second.matrix.shape:
        return []
    if first.matrix.shape[0] != first.matrix.shape[1]:
        return [second]
    flipped = second.matrix.T
    turned = TensorPrint(
        second.name, second.shape, not second.turned, flipped, balanced(flipped), np.sort(np.abs(balanced(flipped)), 1)
    )
    return [second, turned]


@dataclass
class WeightsMatch:
    """Two models' weights compared: ``similarity`` is the matched share (0 to 1), the larger of
    the two directions; ``tensors`` the best partner of each tensor in that direction, whose
    ``first`` names belong to the second model when ``reversed``."""

    similarity: float
    tensors: list[TensorMatch]
    reversed: bool = False
    compared: int = 0  # the first model's tensors, those with no partner of their shape included

    @property
    def tensors_alike(self) -> float:
        """The fraction of the compared tensors (by count, whatever their size) of which at least half
        the rows matched (0 to 1). A copy shares every tensor; two models that only started from the
        same random numbers share the tensors training barely moved, such as an embedding's rows."""
        count = max(self.compared, len(self.tensors))
        return sum(tensor.share >= 0.5 for tensor in self.tensors) / count if count else 0.0

    def matched_tensors(self) -> list[TensorMatch]:
        """The tensors with at least one matched row, largest share first."""
        return sorted((t for t in self.tensors if t.matched), key=lambda t: (-t.weights_matched, t.first))

    def how(self) -> list[str]:
        """Everything done to the copy, over the matched tensors, in a fixed order."""
        order = ["renamed", "reordered", "rescaled", "changed a little"]
        seen = {word for tensor in self.matched_tensors() for word in tensor.how}
        return [word for word in order if word in seen]


def _one_direction(first: list[TensorPrint], second: list[TensorPrint]) -> WeightsMatch:
    best: list[TensorMatch] = []
    for tensor in first:
        candidates = [compare_tensors(tensor, other) for b in second for other in _pairs_of_same_shape(tensor, b)]
        if candidates:
            best.append(max(candidates, key=lambda match: match.weights_matched))
    total = sum(tensor.size for tensor in first)
    share = sum(match.weights_matched for match in best) / total if total else 0.0
    return WeightsMatch(share, best, compared=len(first))


def compare_models(first: list[TensorPrint], second: list[TensorPrint]) -> WeightsMatch:
    """The matched share of two models' weights (0: nothing alike, 1: every compared weight of one
    of them is in the other), in the direction that gives the larger share."""
    forward, backward = _one_direction(first, second), _one_direction(second, first)
    if forward.similarity >= backward.similarity:
        return forward
    backward.reversed = True
    return backward
