"""A small, deterministic training loop, used to make the reference models and to fine-tune
a model after pruning.

Determinism: the weights come from ``seed``, the batch order from ``seed + epoch``, and
training runs on a fixed number of threads, so the same call gives the same model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from helpers.data import Dataset
from helpers.threads import torch_threads


@dataclass(frozen=True)
class TrainingRecipe:
    """How to train a track's model: passes over the data, batch size, peak learning rate."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 1e-4


def train(
    model: nn.Module,
    data: Dataset,
    recipe: TrainingRecipe,
    seed: int = 0,
    threads: int = 2,
    on_epoch: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Train ``model`` in place with AdamW and a one-cycle learning-rate schedule.

    ``on_epoch(epoch, last_loss)`` is called after every pass (for progress bars).
    Pruning masks, if any, stay in force: pruned weights remain zero.
    """
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=recipe.weight_decay)
    steps_per_epoch = -(-len(data) // recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.learning_rate, total_steps=recipe.epochs * steps_per_epoch
    )
    with torch_threads(threads):
        model.train()
        for epoch in range(recipe.epochs):
            loss = torch.tensor(0.0)  # the last batch's loss, reported after each pass
            for inputs, labels in data.batches(recipe.batch_size, shuffle_seed=seed + epoch):
                loss = F.cross_entropy(model(inputs), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
            if on_epoch is not None:
                on_epoch(epoch, loss.detach().item())
    return model.eval()
