"""How many bytes the zeros of a pruned model could save, if the file were compressed.

A pruned model saved with ``torch.save`` is as big as the dense one: a zero takes four bytes like
any other number. A general-purpose compressor (gzip) squeezes runs of zeros, so the compressed
size shows what sparsity is worth in storage. Storing the weights as INT8 first (one byte each)
and then compressing shows what pruning and quantization are worth together.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import torch
from torch import nn

GZIP_LEVEL = 6  # gzip's default level


def gzip_size(path: str | Path) -> int:
    """Bytes of the file at ``path`` after gzip compression."""
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=GZIP_LEVEL))


def _int8_copy(tensor: torch.Tensor) -> torch.Tensor:
    """A weight matrix rounded to INT8 with one symmetric scale (zeros stay exactly zero)."""
    scale = tensor.abs().max().clamp(min=1e-12) / 127.0
    return torch.round(tensor / scale).clamp(-127, 127).to(torch.int8)


def int8_gzip_size(model: nn.Module) -> int:
    """Bytes of ``model``'s state_dict after rounding every weight matrix (2 or more dimensions)
    to INT8, saving it with ``torch.save`` and compressing with gzip. Biases and norms stay FP32."""
    state = {
        key: _int8_copy(value) if value.dim() >= 2 and value.is_floating_point() else value
        for key, value in model.state_dict().items()
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return len(gzip.compress(buffer.getvalue(), compresslevel=GZIP_LEVEL))
