"""Progress of long work, as a line every few seconds with what is done and an estimate of what is left.

A fine-tuning run of a large model takes minutes, and a cell that prints nothing for minutes looks
like a cell that hangs. :func:`with_progress` wraps a dataset so that whatever loop reads it batch by
batch (your own training loop, unchanged) reports how far it got: every :data:`EVERY_SECONDS`
seconds one line with the batches done, the seconds so far and the seconds left at the pace so far.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from helpers.data import Dataset

EVERY_SECONDS = 15.0  # a progress line at most this often


@dataclass
class ProgressDataset(Dataset):
    """A dataset that reports, while its batches are read, how far the reading got. ``passes`` is how
    many times the whole dataset will be read (the epochs), ``label`` names the work in each line."""

    passes: int = 1
    label: str = "training"
    every_seconds: float = EVERY_SECONDS
    _done: int = field(default=0, init=False, repr=False)
    _started: float | None = field(default=None, init=False, repr=False)
    _last_line: float = field(default=0.0, init=False, repr=False)

    def batches(self, batch_size: int, shuffle_seed: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        total = self.passes * -(-len(self) // batch_size)
        if self._started is None:
            self._started = self._last_line = time.perf_counter()
        for batch in super().batches(batch_size, shuffle_seed):
            yield batch
            self._done += 1
            now = time.perf_counter()
            if now - self._last_line >= self.every_seconds and self._done < total:
                self._last_line = now
                print(self.line(total, now - self._started), flush=True)

    def line(self, total_batches: int, seconds: float) -> str:
        """One progress line: batches done of ``total_batches`` after ``seconds``, and the estimate left."""
        left = seconds / self._done * (total_batches - self._done) if self._done else float("nan")
        done = f"{self._done}/{total_batches} batches ({self._done / total_batches:.0%})"
        return f"  {self.label}: {done} in {seconds:.0f} s, about {left:.0f} s left"


def with_progress(data: Dataset, passes: int, label: str = "training") -> ProgressDataset:
    """``data`` (the same samples, not copied) reporting its progress over ``passes`` passes."""
    return ProgressDataset(data.inputs, data.labels, data.name, passes=passes, label=label)
