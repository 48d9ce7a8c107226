"""The reference "Week 5" model of each track, written by hand in plain PyTorch.

Every model takes one batch tensor ``x`` and returns class scores (logits) of shape
``(batch, 2)``. The argument is called ``x`` on purpose: ONNX export names its dynamic
batch dimension after it (see notebook 04).
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with BatchNorm and a shortcut connection (a ResNet "basic block").

    When the block changes the number of channels or the resolution, the shortcut is a
    1x1 convolution so the two branches can be added.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class LesionNet(nn.Module):
    """Images track: a small residual CNN that tells lesion from no-lesion in 3x224x224 images.

    Input: float32 ``(batch, 3, 224, 224)`` with pixel values in [0, 1].
    A 4x4 stride-4 "patchify" stem brings the image down to 56x56; four residual stages each halve the
    resolution (down to 4x4) and widen the channels, and a linear layer classifies the
    pooled features. About 1.2 M parameters, about 60 M multiply-adds per image.
    """

    def __init__(self, widths: tuple[int, int, int, int] = (32, 64, 128, 256), num_classes: int = 2):
        super().__init__()
        stem_width = widths[0]
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_width, kernel_size=4, stride=4, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        in_channels = stem_width
        for width in widths:
            blocks.append(ResidualBlock(in_channels, width, stride=2))
            in_channels = width
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.pool(self.stages(self.stem(x)))
        return self.classifier(torch.flatten(features, 1))


class SentimentLSTM(nn.Module):
    """Text track: embedding + LSTM classifier over sequences of token ids.

    Input: int64 ``(batch, 200)`` token ids in ``[0, vocab_size)``.
    The LSTM reads the sequence; the maximum of its outputs over time feeds a linear layer.
    Most of the weights sit in the embedding table, which matters for quantization.
    """

    def __init__(
        self, vocab_size: int = 5000, embed_dim: int = 64, hidden_size: int = 128, num_classes: int = 2
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
        self.classifier = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(self.embedding(x))
        return self.classifier(outputs.amax(dim=1))


class StockMLP(nn.Module):
    """Tabular track: a small fully connected network over 10 standardized stock features.

    Input: float32 ``(batch, 10)``. Output: scores for "down" (0) and "up" (1) tomorrow.
    """

    def __init__(self, num_features: int = 10, hidden: int = 64, num_classes: int = 2) -> None:
        super().__init__()
        self.hidden = nn.Sequential(
            nn.Linear(num_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.hidden(x))
