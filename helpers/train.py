"""A small, deterministic training loop, used to make the reference models and to fine-tune
a model after pruning.

Determinism: the weights come from ``seed``, the batch order from ``seed + epoch``, and
training runs on a fixed number of threads, so the same call gives the same model.
"""

from __future__ import annotations

import copy
import math
import time
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


def seconds_per_step(model: nn.Module, data: Dataset, batch_size: int, steps: int = 3, threads: int = 2) -> float:
    """How long one training step takes (forward, backward, AdamW update) on a copy of ``model`` with
    batches of ``data``, in seconds: the median of ``steps`` steps after one warm-up step. The model
    itself is not changed."""
    trial = copy.deepcopy(model).train()
    optimizer = torch.optim.AdamW(trial.parameters(), lr=1e-6)
    times = []
    with torch_threads(threads):
        for index, (inputs, labels) in enumerate(data.batches(batch_size)):
            started = time.perf_counter()
            optimizer.zero_grad()
            F.cross_entropy(trial(inputs), labels).backward()
            optimizer.step()
            if index > 0:  # the first step allocates and chooses kernels
                times.append(time.perf_counter() - started)
            if len(times) == steps:
                break
    return sorted(times)[len(times) // 2] if times else 0.0


@dataclass(frozen=True)
class FineTuningPlan:
    """How many epochs of fine-tuning fit a time budget. Times in seconds."""

    wanted_epochs: int
    epochs: int
    seconds_per_epoch: float
    budget_seconds: float

    @property
    def seconds(self) -> float:
        """The estimated time of the planned epochs."""
        return self.epochs * self.seconds_per_epoch

    def summary(self) -> str:
        """One line: the plan and, when the budget cut it, by how much."""
        line = (
            f"{self.epochs} epoch(s) of fine-tuning, about {self.seconds:.0f} s ({self.seconds_per_epoch:.1f} s each)"
        )
        if self.epochs < self.wanted_epochs:
            line += (
                f": {self.wanted_epochs} would take about {self.wanted_epochs * self.seconds_per_epoch:.0f} s, "
                f"over the {self.budget_seconds:.0f} s budget (a large model; prune more first, or accept the loss)"
            )
        return line


def plan_fine_tuning(
    model: nn.Module, data: Dataset, batch_size: int, wanted_epochs: int, budget_seconds: float
) -> FineTuningPlan:
    """The epochs of fine-tuning ``model`` on ``data`` that fit ``budget_seconds`` (at least one, at
    most ``wanted_epochs``), from the measured time of a training step."""
    steps = math.ceil(len(data) / batch_size)
    per_epoch = seconds_per_step(model, data, batch_size) * steps
    fitting = int(budget_seconds // per_epoch) if per_epoch > 0 else wanted_epochs
    return FineTuningPlan(wanted_epochs, max(1, min(wanted_epochs, fitting)), per_epoch, budget_seconds)
