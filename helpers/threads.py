"""PyTorch's thread count, set for a block of code and then put back.

Timings and training both fix the number of threads: a timing means nothing without it, and a
training run is only repeatable with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the enclosed code with ``threads`` PyTorch threads, then restore the old setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
