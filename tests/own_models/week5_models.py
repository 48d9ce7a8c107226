"""Week-5 models of common kinds that the workbook was not written around, with their own layer
names and their own names for forward's argument. The tests declare them in week5_model.toml the
way a learner would and push them through the workbook."""

from __future__ import annotations

import torch
from torch import nn


class PlainCNN(nn.Module):
    """Images: three conv-BN-ReLU-pool blocks and a linear head (no residual connections)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 5, stride=4, padding=2), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.BatchNorm2d(4 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )  # fmt: skip
        self.head = nn.Linear(4 * width, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(image), 1))


class DepthwiseCNN(nn.Module):
    """Images: depthwise-separable convolutions (MobileNet style)."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 4, stride=4), nn.BatchNorm2d(width), nn.ReLU6()]
        for _ in range(3):
            layers += [
                nn.Conv2d(width, width, 3, stride=2, padding=1, groups=width), nn.BatchNorm2d(width), nn.ReLU6(),
                nn.Conv2d(width, 2 * width, 1), nn.BatchNorm2d(2 * width), nn.ReLU6(),
            ]  # fmt: skip
            width *= 2
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, 2)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(pixels).mean(dim=(2, 3)))


class StackedGRU(nn.Module):
    """Text: an embedding and a two-layer bidirectional GRU, max-pooled over time."""

    def __init__(self, vocab: int = 5000, dim: int = 32, hidden: int = 48) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.GRU(dim, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(self.embed(tokens))
        return self.fc(outputs.amax(dim=1))


class TinyTransformer(nn.Module):
    """Text: a Transformer encoder over token embeddings plus learned positions."""

    def __init__(self, vocab: int = 5000, dim: int = 32, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, dim)
        self.positions = nn.Parameter(torch.zeros(1, 200, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.to_logits = nn.Linear(dim, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.to_logits(self.encoder(self.tokens(ids) + self.positions).mean(dim=1))


class TextCNN(nn.Module):
    """Text: 1-D convolutions over token embeddings, max-pooled over time."""

    def __init__(self, vocab: int = 5000, dim: int = 32, channels: int = 64) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.conv = nn.Sequential(nn.Conv1d(dim, channels, 5, padding=2), nn.ReLU(), nn.Conv1d(channels, channels, 3))
        self.decide = nn.Linear(channels, 2)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.decide(self.conv(self.embedding(batch).transpose(1, 2)).amax(dim=2))


class BatchNormMLP(nn.Module):
    """Stocks: Linear-BatchNorm-ReLU-Dropout blocks."""

    def __init__(self, features: int = 10, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(hidden, hidden // 2), nn.BatchNorm1d(hidden // 2), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(hidden // 2, 2),
        )  # fmt: skip

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class OneLogit(nn.Module):
    """Broken on purpose: a single score per sample (trained with BCEWithLogitsLoss)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class SmallVocabulary(nn.Module):
    """Broken on purpose: an embedding with fewer rows than the course's vocabulary."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(1000, 8)
        self.linear = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.embedding(x).mean(dim=1))
