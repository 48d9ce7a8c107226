"""Offline, deterministic datasets for the three tracks. Nothing is downloaded.

Each dataset is generated from a seed with PyTorch's random number generator, so the same
seed gives the same bytes on every run and every machine. Each track has a train split
(for training and calibration) and a val split (for accuracy).

- images: procedurally drawn "skin" photographs, with (1) or without (0) a lesion.
- text: a generated review corpus; a planted set of positive and negative words, negation
  and a lot of neutral noise decide the label (1 = positive).
- tabular: generated price series turned into 10 features; the label says whether the
  price goes up (1) or down (0) the next day.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

IMAGE_SIZE = 224
DRAW_SIZE = 112  # shapes are drawn at half resolution, then scaled up: 4x less work
SEQUENCE_LENGTH = 200
VOCAB_SIZE = 5000
NUM_STOCK_FEATURES = 10

# Seeds of the public splits. The grader's hidden split uses a seed that lives under grading/.
TRAIN_SEED = 2600
VAL_SEED = 2601


@dataclass
class Dataset:
    """A labelled split held in memory.

    ``inputs`` is stored compactly (images as uint8 pixels); :meth:`batches` yields what the
    model expects (images as float32 in [0, 1]).
    """

    inputs: torch.Tensor
    labels: torch.Tensor
    name: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    def model_inputs(self, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Rows ``start:stop`` converted to the model's input type."""
        return _as_model_input(self.inputs[start:stop])

    def batches(self, batch_size: int, shuffle_seed: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(inputs, labels)`` batches; with ``shuffle_seed`` in a seeded random order."""
        if shuffle_seed is None:
            for start in range(0, len(self), batch_size):
                yield self.model_inputs(start, start + batch_size), self.labels[start : start + batch_size]
            return
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(shuffle_seed))
        for start in range(0, len(self), batch_size):
            rows = order[start : start + batch_size]
            # index_select copies the same rows as self.inputs[rows], 8x faster on uint8 images
            yield _as_model_input(torch.index_select(self.inputs, 0, rows)), self.labels[rows]

    def subset(self, count: int) -> Dataset:
        """The first ``count`` samples (the splits are already in random order)."""
        return Dataset(self.inputs[:count], self.labels[:count], self.name)


def _as_model_input(rows: torch.Tensor) -> torch.Tensor:
    """Stored rows as the model takes them: uint8 pixels become float32 in [0, 1]; others unchanged."""
    if rows.dtype == torch.uint8:
        return rows.float().div_(255.0)  # in place on the fresh float copy: one pass less
    return rows


# ----------------------------------------------------------------------------- images


def _smooth_noise(count: int, channels: int, grid: int, generator: torch.Generator) -> torch.Tensor:
    """Low-frequency noise: a coarse random grid blown up to the drawing size."""
    coarse = torch.randn(count, channels, grid, grid, generator=generator)
    return F.interpolate(coarse, size=(DRAW_SIZE, DRAW_SIZE), mode="bilinear", align_corners=False)


def _draw_skin_images(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draw one chunk of images as float32 in [0, 1]; a lesion where ``labels == 1``."""
    count = len(labels)
    coords = torch.linspace(-1.0, 1.0, DRAW_SIZE)
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")

    # Skin: a base tone per image, uneven lighting, fine texture.
    tone = torch.tensor([0.86, 0.66, 0.55]).view(1, 3, 1, 1)
    tone = tone + 0.06 * torch.randn(count, 1, 1, 1, generator=generator)
    image = tone * (1.0 + 0.08 * _smooth_noise(count, 1, 5, generator))
    image = image + 0.035 * _smooth_noise(count, 3, 56, generator)

    # Benign spots (freckles) in every image, so "has a dark spot" alone is not the answer.
    for _ in range(3):
        cy, cx = (torch.rand(2, count, 1, 1, generator=generator) * 1.6 - 0.8).unbind(0)
        radius = 0.03 + 0.06 * torch.rand(count, 1, 1, generator=generator)
        present = (torch.rand(count, 1, 1, generator=generator) < 0.7).float()
        spot = torch.sigmoid((radius - torch.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)) / 0.01) * present
        image = image * (1.0 - 0.35 * spot.unsqueeze(1))

    # Lesions: a larger, irregular, mottled dark patch with a fuzzy border; faint in some images.
    cy, cx = (torch.rand(2, count, 1, 1, generator=generator) * 1.0 - 0.5).unbind(0)
    base_radius = 0.12 + 0.2 * torch.rand(count, 1, 1, generator=generator)
    angle = torch.atan2(ys - cy, xs - cx)
    wobble = torch.zeros(count, DRAW_SIZE, DRAW_SIZE)
    for harmonic in (2, 3, 5):
        amplitude = 0.12 * torch.rand(count, 1, 1, generator=generator)
        phase = 2 * math.pi * torch.rand(count, 1, 1, generator=generator)
        wobble = wobble + amplitude * torch.cos(harmonic * angle + phase)
    distance = torch.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)
    mask = torch.sigmoid((base_radius * (1.0 + wobble) - distance) / 0.02).unsqueeze(1)
    mottling = 0.5 + 0.5 * torch.sigmoid(3.0 * _smooth_noise(count, 1, 14, generator))
    contrast = 0.35 + 0.5 * torch.rand(count, 1, 1, 1, generator=generator)
    lesion_colour = torch.tensor([0.42, 0.27, 0.2]).view(1, 3, 1, 1)
    strength = mask * mottling * contrast * labels.view(count, 1, 1, 1).float()
    image = image * (1.0 - strength) + lesion_colour * strength

    image = F.interpolate(image, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    image = image + 0.03 * torch.randn(count, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    return image.clamp(0.0, 1.0)


def make_skin_images(count: int, seed: int, chunk: int = 200) -> Dataset:
    """``count`` images of shape 3x224x224 stored as uint8, half with a lesion (label 1)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (count,), generator=generator)
    pixels = torch.empty(count, 3, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    for start in range(0, count, chunk):
        part = _draw_skin_images(labels[start : start + chunk], generator)
        pixels[start : start + chunk] = (part * 255.0).round().to(torch.uint8)
    return Dataset(pixels, labels, f"skin-images(seed={seed})")


# ----------------------------------------------------------------------------- text

PAD, NOT = 0, 1  # token 1 means "not": it flips the sentiment word that follows it
POSITIVE_WORDS = range(2, 42)
NEGATIVE_WORDS = range(42, 82)
FIRST_NEUTRAL_WORD = 82


def make_reviews(count: int, seed: int) -> Dataset:
    """``count`` token sequences of length 200; label 1 means a positive review.

    Neutral words follow a Zipf-like law. A review carries a few sentiment words for its
    label, fewer against it, and some of them negated ("not" + word flips its meaning),
    so the model has to read word order, not only count words.
    """
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (count,), generator=generator)
    ranks = torch.arange(1, VOCAB_SIZE - FIRST_NEUTRAL_WORD + 1, dtype=torch.float64)
    zipf = 1.0 / ranks
    tokens = FIRST_NEUTRAL_WORD + torch.multinomial(
        zipf.expand(count, -1), SEQUENCE_LENGTH, replacement=True, generator=generator
    )
    for row in range(count):
        agreeing = 3 + int(torch.randint(0, 5, (1,), generator=generator))
        opposing = int(torch.randint(0, 3, (1,), generator=generator))
        positive = labels[row].item() == 1
        # Each planted word: (meaning positive?, negated?)
        planted = [(positive, False)] * agreeing + [(not positive, False)] * opposing
        for index in range(len(planted)):
            if torch.rand(1, generator=generator).item() < 0.3:  # say it the other way round: "not bad"
                meaning, _ = planted[index]
                planted[index] = (not meaning, True)
        slots = torch.randperm(SEQUENCE_LENGTH // 2, generator=generator)[: len(planted)] * 2
        for (meaning_positive, negated), slot in zip(planted, slots.tolist(), strict=True):
            words = POSITIVE_WORDS if meaning_positive else NEGATIVE_WORDS
            word = words[int(torch.randint(0, len(words), (1,), generator=generator))]
            tokens[row, slot + 1] = word
            tokens[row, slot] = NOT if negated else tokens[row, slot]
    # A negated word was drawn with the opposite meaning, so "not" + word agrees with the label.
    return Dataset(tokens, labels, f"reviews(seed={seed})")


# ----------------------------------------------------------------------------- tabular


def _moving_average(values: torch.Tensor, window: int) -> torch.Tensor:
    """Trailing mean over ``window`` days along the last axis (the first days use fewer)."""
    cumulative = torch.cumsum(values, dim=-1)
    shifted = F.pad(cumulative, (window, 0))[..., : values.shape[-1]]
    counts = torch.clamp(torch.arange(1, values.shape[-1] + 1, dtype=values.dtype), max=window)
    return (cumulative - shifted) / counts


def _raw_stock_features(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unscaled feature rows and next-day labels from generated price series."""
    # Prices follow a random walk whose drift mean-reverts towards a moving average and whose
    # momentum matters only in calm markets: the direction is partly predictable from the
    # features, and a non-linear model does better than a straight line.
    generator = torch.Generator().manual_seed(seed)
    days = 260
    stocks = math.ceil(count / (days - 30))
    volatility = 0.01 + 0.01 * torch.rand(stocks, 1, generator=generator)
    shocks = torch.randn(stocks, days, generator=generator)
    volume_noise = torch.randn(stocks, days, generator=generator)
    log_price = torch.zeros(stocks, days)
    returns = torch.zeros(stocks, days)
    regime_vol = torch.ones(stocks, days)
    for day in range(1, days):
        calm = regime_vol[:, day - 1] < 1.0
        start = max(0, day - 10)
        gap = log_price[:, day - 1] - log_price[:, start:day].mean(dim=1)
        momentum = returns[:, max(0, day - 5) : day].sum(dim=1)
        drift = -1.0 * gap + torch.where(calm, 0.5 * momentum, -0.2 * momentum)
        regime_vol[:, day] = 0.9 * regime_vol[:, day - 1] + 0.1 * (0.5 + torch.rand(stocks, generator=generator))
        returns[:, day] = drift + 0.6 * volatility[:, 0] * regime_vol[:, day] * shocks[:, day]
        log_price[:, day] = log_price[:, day - 1] + returns[:, day]

    price = torch.exp(log_price)
    ma5, ma20 = _moving_average(price, 5), _moving_average(price, 20)
    vol5 = torch.sqrt(_moving_average(returns**2, 5))
    vol20 = torch.sqrt(_moving_average(returns**2, 20))
    return_5d = log_price - F.pad(log_price, (5, 0))[..., :days]
    return_20d = log_price - F.pad(log_price, (20, 0))[..., :days]
    volume_z = 0.7 * (returns.abs() / volatility - 0.8) + 0.5 * volume_noise
    day_range = returns.abs() + volatility * regime_vol * torch.rand(stocks, days, generator=generator)
    features = torch.stack(
        [
            returns,  # return over 1 day
            return_5d,  # over 5 days
            return_20d,  # over 20 days
            price / ma5 - 1,  # price against its 5-day moving average
            price / ma20 - 1,  # against its 20-day moving average
            ma5 / ma20 - 1,  # the two averages against each other
            vol5,  # volatility over 5 days
            vol20,  # over 20 days
            volume_z,  # trading volume, standardized
            day_range,  # the day's high-low range
        ],
        dim=-1,
    )
    # Rows from day 25 (the 20-day features are complete) up to the day before the last.
    rows = features[:, 25 : days - 1].reshape(-1, NUM_STOCK_FEATURES)
    labels = (returns[:, 26:days] > 0).long().reshape(-1)
    order = torch.randperm(len(rows), generator=generator)[:count]
    return rows[order], labels[order]


def make_stock_features(count: int, seed: int) -> Dataset:
    """``count`` rows of 10 standardized features; label 1 = the price rises the next day.

    Every split is standardized with the mean and spread of the train split, as a real
    pipeline would, so the same model sees the same scale everywhere.
    """
    rows, labels = _raw_stock_features(count, seed)
    reference, _ = _raw_stock_features(4000, TRAIN_SEED)
    rows = (rows - reference.mean(dim=0)) / reference.std(dim=0)
    return Dataset(rows.float(), labels, f"stock-features(seed={seed})")
