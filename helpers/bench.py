"""Latency, measured by one fixed protocol (docs/design.md), for PyTorch modules and ORT sessions.

The protocol:

1. fix the thread counts (default 1 for PyTorch and for ONNX Runtime) and state them;
2. warm up for a fixed time, at least 10 calls (the first calls are much slower: memory
   allocation, kernel selection); the warm calls also tell how long one call takes;
3. time many single calls with ``time.perf_counter`` and report the **median** and the
   90th percentile (p90) in milliseconds; the mean is pulled up by rare slow calls;
4. to compare A with B, alternate blocks of A calls and B calls and take the median of the
   per-block ratios, so a slow moment of the machine hits both.

A :class:`Measurement` keeps the raw samples and the settings it ran under.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onnxruntime as ort
import torch
from torch import nn

from helpers.errors import Day26Error
from helpers.runtime import as_numpy
from helpers.threads import torch_threads

Runner = Callable[[], object]


@dataclass
class Measurement:
    """The latency of one model on one input: raw samples (ms) and how they were taken."""

    label: str
    samples_ms: list[float]
    threads: int
    batch_size: int
    runtime: str  # "pytorch" or "onnxruntime"

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90_ms(self) -> float:
        return statistics.quantiles(self.samples_ms, n=10)[-1] if len(self.samples_ms) > 1 else self.samples_ms[0]

    @property
    def iqr_ms(self) -> float:
        quartiles = statistics.quantiles(self.samples_ms, n=4)
        return quartiles[2] - quartiles[0]

    def as_dict(self) -> dict:
        return {
            "median": round(self.median_ms, 4),
            "p90": round(self.p90_ms, 4),
            "iqr": round(self.iqr_ms, 4),
            "calls": len(self.samples_ms),
            "threads": self.threads,
            "batch_size": self.batch_size,
            "runtime": self.runtime,
        }

    def __str__(self) -> str:
        return (
            f"{self.label}: median {self.median_ms:.3f} ms, p90 {self.p90_ms:.3f} ms, IQR {self.iqr_ms:.3f} ms "
            f"({len(self.samples_ms)} calls, batch {self.batch_size}, {self.runtime}, {self.threads} thread(s))"
        )


def torch_runner(model: nn.Module, inputs: torch.Tensor) -> Runner:
    """A zero-argument function that runs ``model`` once on ``inputs`` without autograd."""
    model.eval()

    def run() -> object:
        with torch.inference_mode():
            return model(inputs)

    return run


def onnx_runner(session: ort.InferenceSession, inputs: torch.Tensor) -> Runner:
    """A zero-argument function that runs an ORT session once on ``inputs``."""
    feed = {session.get_inputs()[0].name: as_numpy(inputs)}

    def run() -> object:
        return session.run(None, feed)

    return run


def _runtime_of(model: nn.Module | ort.InferenceSession) -> str:
    return "onnxruntime" if isinstance(model, ort.InferenceSession) else "pytorch"


def _threads_of(model: nn.Module | ort.InferenceSession, torch_threads_used: int) -> int:
    """The thread count a model really ran with: the session's own setting for ORT."""
    if isinstance(model, ort.InferenceSession):
        return model.get_session_options().intra_op_num_threads
    return torch_threads_used


def runner_for(model: nn.Module | ort.InferenceSession, inputs: torch.Tensor) -> Runner:
    """The right runner for a PyTorch module or an ORT session."""
    if isinstance(model, ort.InferenceSession):
        return onnx_runner(model, inputs)
    return torch_runner(model, inputs)


def _time_calls(run: Runner, calls: int) -> list[float]:
    """Milliseconds taken by each of ``calls`` consecutive calls."""
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


def _warm_up(run: Runner, seconds: float, least_calls: int = 10) -> float:
    """Call ``run`` for about ``seconds`` (and at least ``least_calls`` times) so that later calls
    are warm; return the typical time of one warm call in seconds (the median of the later half)."""
    samples_ms: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples_ms) < least_calls or time.perf_counter() < deadline:
        samples_ms += _time_calls(run, 1)
    return statistics.median(samples_ms[len(samples_ms) // 2 :]) / 1000.0


def _calls_for(call_seconds: float, seconds: float, least: int, most: int) -> int:
    """How many calls of ``call_seconds`` each fit in about ``seconds``, within limits."""
    return max(least, min(most, int(seconds / max(call_seconds, 1e-6))))


def measure_latency(
    model: nn.Module | ort.InferenceSession,
    inputs: torch.Tensor,
    label: str = "model",
    threads: int = 1,
    warmup_seconds: float = 0.2,
    seconds: float = 1.0,
) -> Measurement:
    """Latency of one model by the protocol: fixed threads, ``warmup_seconds`` of warm-up, then
    about ``seconds`` of timed calls (at least 20, at most 5000). ORT sessions get their threads
    when they are opened (:func:`helpers.runtime.open_session`), PyTorch here."""
    run = runner_for(model, inputs)
    with torch_threads(threads):
        call_seconds = _warm_up(run, warmup_seconds)
        samples = _time_calls(run, _calls_for(call_seconds, seconds, 20, 5000))
    return Measurement(label, samples, _threads_of(model, threads), len(inputs), _runtime_of(model))


@dataclass
class Comparison:
    """Baseline against candidate, measured in alternating blocks.

    ``speedup`` is the median over blocks of (baseline median / candidate median):
    above 1 means the candidate is faster.
    """

    baseline: Measurement
    candidate: Measurement
    block_speedups: list[float] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return statistics.median(self.block_speedups)

    def __str__(self) -> str:
        low, high = min(self.block_speedups), max(self.block_speedups)
        return (
            f"{self.candidate.label} vs {self.baseline.label}: {self.speedup:.2f}x "
            f"(median of {len(self.block_speedups)} blocks, range {low:.2f}x to {high:.2f}x)\n"
            f"  {self.baseline}\n  {self.candidate}"
        )


def compare_latency(
    baseline: nn.Module | ort.InferenceSession,
    candidate: nn.Module | ort.InferenceSession,
    inputs: torch.Tensor,
    labels: tuple[str, str] = ("baseline", "candidate"),
    threads: int = 1,
    blocks: int = 10,
    seconds: float = 2.0,
    warmup_seconds: float = 0.2,
) -> Comparison:
    """Compare two models on the same inputs by the interleaved-blocks protocol.

    Each of ``blocks`` rounds times a block of baseline calls and a block of candidate
    calls (in alternating order), so both see the same state of the machine. Takes about
    ``seconds`` in all, after ``warmup_seconds`` of warm-up for each model. Every block of
    one model lasts about ``seconds / (2 * blocks)``: the number of calls in it comes from
    the warm calls' typical time.
    """
    run_a, run_b = runner_for(baseline, inputs), runner_for(candidate, inputs)
    samples_a: list[float] = []
    samples_b: list[float] = []
    ratios: list[float] = []
    with torch_threads(threads):
        call_seconds_a, call_seconds_b = _warm_up(run_a, warmup_seconds), _warm_up(run_b, warmup_seconds)
        calls_a = _calls_for(call_seconds_a, seconds / (2 * blocks), 5, 500)
        calls_b = _calls_for(call_seconds_b, seconds / (2 * blocks), 5, 500)
        for block in range(blocks):
            if block % 2 == 0:
                block_a, block_b = _time_calls(run_a, calls_a), _time_calls(run_b, calls_b)
            else:
                block_b, block_a = _time_calls(run_b, calls_b), _time_calls(run_a, calls_a)
            ratios.append(statistics.median(block_a) / statistics.median(block_b))
            samples_a += block_a
            samples_b += block_b
    return Comparison(
        Measurement(labels[0], samples_a, _threads_of(baseline, threads), len(inputs), _runtime_of(baseline)),
        Measurement(labels[1], samples_b, _threads_of(candidate, threads), len(inputs), _runtime_of(candidate)),
        ratios,
    )


_FIRST_CALLS_SCRIPT = """
import json, sys, time
import torch
from helpers.reference import ready_model
from helpers.workbook import track_with_its_model

track = track_with_its_model(sys.argv[1])
model = ready_model(track).model
torch.set_num_threads(int(sys.argv[3]))
one_input = track.val_data().model_inputs(0, 1)
samples = []
with torch.inference_mode():
    for _ in range(int(sys.argv[2])):
        started = time.perf_counter()
        model(one_input)
        samples.append((time.perf_counter() - started) * 1000.0)
print(json.dumps(samples))
"""


def first_calls_in_a_fresh_process(track_name: str, calls: int = 5, threads: int = 1) -> list[float]:
    """Milliseconds of each of the first ``calls`` calls of the track's reference model in a new
    Python process, where nothing is warm yet (batch 1, ``threads`` threads).

    The first call pays for memory allocation and the choice of kernels; a timer that includes it,
    or too few calls after it, reports a model slower than it is. The fresh process runs the model
    the notebooks use: the one declared in ``week5_model.toml`` in the current folder, if any.
    """
    package_root = str(Path(__file__).resolve().parent.parent)
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-c", _FIRST_CALLS_SCRIPT, track_name, str(calls), str(threads)]
    finished = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    if finished.returncode != 0:
        last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        raise Day26Error(f"timing the first calls in a fresh process failed: {last}")
    return json.loads(finished.stdout.strip().splitlines()[-1])
