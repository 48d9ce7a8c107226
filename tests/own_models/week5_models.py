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


# --- more image families -----------------------------------------------------------------------


class _BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers and a shortcut (ResNet's basic block)."""

    def __init__(self, inputs: int, outputs: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """Images, at real size: ResNet-18 as torchvision builds it (11.2 M parameters), written by hand."""

    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))  # fmt: skip
        stages, inputs = [], 64
        for outputs, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages += [_BasicBlock(inputs, outputs, stride), _BasicBlock(outputs, outputs)]
            inputs = outputs
        self.layers = nn.Sequential(*stages)
        self.fc = nn.Linear(512, classes)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layers(self.stem(img)).mean(dim=(2, 3)))


class ResidualBN(nn.Module):
    """Images: a small residual CNN with BatchNorm (the reference's kind, other names and widths)."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        self.entry = nn.Sequential(nn.Conv2d(3, width, 5, 4, 2, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.blocks = nn.Sequential(_BasicBlock(width, width), _BasicBlock(width, 2 * width, 2),
                                    _BasicBlock(2 * width, 4 * width, 2))  # fmt: skip
        self.classify = nn.Linear(4 * width, 2)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return self.classify(self.blocks(self.entry(batch)).mean(dim=(2, 3)))


class GroupNormResNet(nn.Module):
    """Images: residual blocks with GroupNorm(8, ...) and SiLU."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 4, 4), nn.GroupNorm(8, width), nn.SiLU())
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.downs = nn.ModuleList()
        channels = width
        for widened in (width, 2 * width, 2 * width):
            self.downs.append(nn.Sequential(nn.Conv2d(channels, widened, 3, 2, 1), nn.GroupNorm(8, widened)))
            self.convs.append(nn.Conv2d(widened, widened, 3, 1, 1))
            self.norms.append(nn.GroupNorm(8, widened))
            channels = widened
        self.head = nn.Linear(channels, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.stem(image)
        for down, conv, norm in zip(self.downs, self.convs, self.norms, strict=True):
            x = nn.functional.silu(down(x))
            x = nn.functional.silu(x + norm(conv(x)))
        return self.head(x.mean(dim=(2, 3)))


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.reduce, self.expand = nn.Conv2d(channels, reduced, 1), nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True)))))
        return x * scale


class SEDepthwiseCNN(nn.Module):
    """Images: depthwise-separable blocks with squeeze-excitation and Hardswish (MobileNetV3 style)."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, 4, 1), nn.BatchNorm2d(width), nn.Hardswish()]
        for _ in range(3):
            layers += [
                nn.Conv2d(width, width, 3, 2, 1, groups=width), nn.BatchNorm2d(width), nn.Hardswish(),
                _SqueezeExcite(width, max(8, width // 4)),
                nn.Conv2d(width, 2 * width, 1), nn.BatchNorm2d(2 * width), nn.Hardswish(),
            ]  # fmt: skip
            width *= 2
        self.trunk = nn.Sequential(*layers)
        self.logits = nn.Linear(width, 2)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.logits(self.trunk(pixels).mean(dim=(2, 3)))


class _InvertedResidual(nn.Module):
    """MobileNetV2's block: expand 1x1, depthwise 3x3, project 1x1 (linear), a shortcut when shapes allow."""

    def __init__(self, inputs: int, outputs: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = inputs * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(inputs, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, outputs, 1, bias=False), nn.BatchNorm2d(outputs),
        ]  # fmt: skip
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """Images, at real size: MobileNetV2 at full width (2.2 M parameters with a 2-class head)."""

    SETTINGS = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )

    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
        inputs = 32
        for expansion, outputs, repeats, stride in self.SETTINGS:
            for index in range(repeats):
                layers.append(_InvertedResidual(inputs, outputs, stride if index == 0 else 1, expansion))
                inputs = outputs
        layers += [nn.Conv2d(inputs, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))


class InvertedResidualCNN(nn.Module):
    """Images: a few MobileNetV2 blocks at small width."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 3, 4, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
            _InvertedResidual(16, 24, 2, 4), _InvertedResidual(24, 24, 1, 4),
            _InvertedResidual(24, 40, 2, 4), _InvertedResidual(40, 40, 1, 4), _InvertedResidual(40, 80, 2, 4),
        )  # fmt: skip
        self.head = nn.Linear(80, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(image).mean(dim=(2, 3)))


class _DenseLayer(nn.Module):
    def __init__(self, inputs: int, growth: int) -> None:
        super().__init__()
        self.norm, self.conv = nn.BatchNorm2d(inputs), nn.Conv2d(inputs, growth, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(torch.relu(self.norm(x)))], dim=1)


class DenseCNN(nn.Module):
    """Images: DenseNet-style blocks whose layers concatenate their inputs, with transitions between."""

    def __init__(self, growth: int = 12) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, 24, 4, 4, bias=False)]
        channels = 24
        for block in range(3):
            for _ in range(3):
                layers.append(_DenseLayer(channels, growth))
                channels += growth
            if block < 2:
                layers += [nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels // 2, 1, bias=False),
                           nn.AvgPool2d(2)]  # fmt: skip
                channels //= 2
        layers += [nn.BatchNorm2d(channels), nn.ReLU()]
        self.dense = nn.Sequential(*layers)
        self.out = nn.Linear(channels, 2)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.out(self.dense(pixels).mean(dim=(2, 3)))


# torchvision's Normalize, folded into a model's forward: the skin images' pixels sit around 0.6.
PIXEL_MEAN, PIXEL_STD = 0.6, 0.2


class _ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.up, self.down = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.depthwise(x).permute(0, 2, 3, 1))
        return x + self.down(nn.functional.gelu(self.up(y))).permute(0, 3, 1, 2)


class ConvNeXtStyle(nn.Module):
    """Images: ConvNeXt-style blocks (7x7 depthwise, LayerNorm, GELU, inverted bottleneck)."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.patchify = nn.Conv2d(3, dim, 8, 8)
        self.stage1 = _ConvNeXtBlock(dim)
        self.downsample = nn.Conv2d(dim, 2 * dim, 2, 2)
        self.stage2 = _ConvNeXtBlock(2 * dim)
        self.norm = nn.LayerNorm(2 * dim)
        self.head = nn.Linear(2 * dim, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        # Normalize folded into the model. Without it, 20 epochs left it at 49.8 %: a lesion scales the
        # patch features of raw [0, 1] pixels down, and the LayerNorms divide that scale away.
        x = self.stage2(self.downsample(self.stage1(self.patchify((image - PIXEL_MEAN) / PIXEL_STD))))
        return self.head(self.norm(x.mean(dim=(2, 3))))


class TinyViT(nn.Module):
    """Images: a small vision Transformer (16x16 patches, a CLS token, learned positions)."""

    def __init__(self, dim: int = 64, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.patches = nn.Conv2d(3, dim, 16, 16)  # 224 / 16 = 14: 196 patches
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 197, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, 2)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # Normalize folded into the model, as for ConvNeXtStyle: without it, 25 epochs reached 54 %.
        x = self.patches((images - PIXEL_MEAN) / PIXEL_STD).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.head(self.encoder(x)[:, 0])


# --- more text families ------------------------------------------------------------------------


class LastStepLSTM(nn.Module):
    """Text: an LSTM read at its last step (the first thing many learners write)."""

    def __init__(self, vocab: int = 5000, dim: int = 48, hidden: int = 64) -> None:
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (state, _) = self.lstm(self.emb(x))
        return self.out(state[-1])


class BiLSTMMean(nn.Module):
    """Text: a bidirectional LSTM, mean-pooled over time."""

    def __init__(self, vocab: int = 5000, dim: int = 32, hidden: int = 48) -> None:
        super().__init__()
        self.words = nn.Embedding(vocab, dim, padding_idx=0)
        self.encoder = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.classifier = nn.Linear(2 * hidden, 2)

    def forward(self, review: torch.Tensor) -> torch.Tensor:
        states, _ = self.encoder(self.words(review))
        return self.classifier(states.mean(dim=1))


class AttentionGRU(nn.Module):
    """Text: a GRU with additive attention pooling over its states."""

    def __init__(self, vocab: int = 5000, dim: int = 32, hidden: int = 64) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.score = nn.Linear(hidden, 1)
        self.decide = nn.Linear(hidden, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(self.embedding(tokens))
        weights = torch.softmax(self.score(states), dim=1)
        return self.decide((weights * states).sum(dim=1))


class BagOfEmbeddings(nn.Module):
    """Text: nn.EmbeddingBag (mean of the token embeddings) and a linear head."""

    def __init__(self, vocab: int = 5000, dim: int = 64) -> None:
        super().__init__()
        self.bag = nn.EmbeddingBag(vocab, dim, mode="mean")
        self.linear = nn.Linear(dim, 2)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.linear(self.bag(token_ids))


class MaskedMeanMLP(nn.Module):
    """Text: fastText style, the mean of the embeddings of the non-padding tokens, then a small MLP
    (the embedding holds nearly all of the bytes)."""

    def __init__(self, vocab: int = 5000, dim: int = 96, hidden: int = 32) -> None:
        super().__init__()
        self.lookup = nn.Embedding(vocab, dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).unsqueeze(-1).float()
        return self.mlp((self.lookup(ids) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0))


class CLSTransformer(nn.Module):
    """Text: a Transformer encoder with a CLS token read for the decision."""

    def __init__(self, vocab: int = 5000, dim: int = 48, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Embedding(201, dim)
        block = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.1, batch_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Linear(dim, 2)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.cls_token.expand(text.shape[0], -1, -1), self.embed(text)], dim=1)
        x = x + self.position(torch.arange(x.shape[1], device=text.device))
        return self.head(self.blocks(x)[:, 0])


# --- more tabular families ---------------------------------------------------------------------


class LayerNormMLP(nn.Module):
    """Stocks: Linear-LayerNorm-GELU blocks."""

    def __init__(self, features: int = 10, hidden: int = 64) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(features, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.GELU(),
            nn.Linear(hidden, 2),
        )  # fmt: skip

    def forward(self, row: torch.Tensor) -> torch.Tensor:
        return self.layers(row)


class ResidualMLP(nn.Module):
    """Stocks: an input projection and two residual Linear blocks."""

    def __init__(self, features: int = 10, hidden: int = 64) -> None:
        super().__init__()
        self.inp = nn.Linear(features, hidden)
        self.block1 = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.ReLU())
        self.block2 = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.ReLU())
        self.outp = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        h = h + self.block1(h)
        return self.outp(h + self.block2(h))


class TabularTransformer(nn.Module):
    """Stocks: each feature a token (FT-Transformer style), a small encoder, a CLS token."""

    def __init__(self, features: int = 10, dim: int = 16, heads: int = 2) -> None:
        super().__init__()
        self.feature_weight = nn.Parameter(torch.randn(features, dim) * 0.1)
        self.feature_bias = nn.Parameter(torch.zeros(features, dim))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(dim, 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        tokens = features.unsqueeze(-1) * self.feature_weight + self.feature_bias
        tokens = torch.cat([self.cls.expand(features.shape[0], -1, -1), tokens], dim=1)
        return self.head(self.encoder(tokens)[:, 0])


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
