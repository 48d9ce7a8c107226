"""Where one call of a PyTorch model spends its time, by operator: PyTorch's profiler, summed.

Notebook 02 uses it to explain, from your own model, why dynamic INT8 made it faster or slower:
the FP32 and INT8 models side by side, each operator's time per call of the model and how many times
it runs per call. (:mod:`helpers.operator_time` does the same for an ONNX model in ONNX Runtime.)

Times are self times (an operator's own time, without the operators it calls), in milliseconds per
call of the model, at one thread and batch 1 unless you pass other inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from helpers.captured import native_stderr
from helpers.threads import torch_threads

# What PyTorch's profiler itself prints on stderr when it starts and stops; anything else is shown.
PROFILER_NOTES = ("profiler_start", "profiler_stop")


@dataclass(frozen=True)
class TorchOperatorTime:
    """One PyTorch operator's share of a model call."""

    operator: str  # e.g. "aten::mkldnn_rnn_layer", "quantized::linear_dynamic"
    runs_per_call: float  # how many times it runs in one call of the model
    ms_per_call: float  # its self time per call of the model, milliseconds
    share: float  # of the model's summed self time, 0 to 1


def time_by_torch_operator(
    model: nn.Module, inputs: torch.Tensor, calls: int = 10, threads: int = 1
) -> list[TorchOperatorTime]:
    """Run ``model`` ``calls`` times on ``inputs`` under PyTorch's profiler (after 3 unprofiled warm-up
    calls) and return each operator's time per call, largest first."""
    with torch.no_grad(), torch_threads(threads):
        for _ in range(3):
            model(inputs)
        with native_stderr() as printed, profile(activities=[ProfilerActivity.CPU]) as profiled:
            for _ in range(calls):
                model(inputs)
    for line in printed.stderr_lines:
        if not any(note in line for note in PROFILER_NOTES):
            print(f"PyTorch's profiler: {line}")
    events = [event for event in profiled.key_averages() if event.self_cpu_time_total > 0]
    total = sum(event.self_cpu_time_total for event in events) or 1.0
    rows = [
        TorchOperatorTime(
            event.key, event.count / calls, event.self_cpu_time_total / calls / 1000, event.self_cpu_time_total / total
        )
        for event in events
    ]
    return sorted(rows, key=lambda row: row.ms_per_call, reverse=True)


def operator_runs(rows: list[TorchOperatorTime]) -> int:
    """Operators run in one call of the model, all kinds together."""
    return round(sum(row.runs_per_call for row in rows))


def milliseconds(rows: list[TorchOperatorTime]) -> float:
    """The summed self time of one call of the model, in milliseconds."""
    return sum(row.ms_per_call for row in rows)


def top_operators(rows: list[TorchOperatorTime], count: int = 3) -> str:
    """The ``count`` costliest operators in words: share of the time, name, runs per call."""
    return ", ".join(f"{row.share:.0%} in {row.operator} ({row.runs_per_call:,.0f} run(s))" for row in rows[:count])
