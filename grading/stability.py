"""How stable are the benchmark lane's speed verdicts? ``day26 lane-check`` measures it.

A speed verdict the grader gives must not depend on luck. This runs the whole verifier, each
time in a fresh process as autograding does, ``runs`` times on two submissions of one track:

- the reference solution (every artifact from ``day26 optimize``), whose speed checks must all pass;
- an unoptimized one: the same, with ``optimized.onnx`` replaced by the plain FP32 export
  ``model.onnx`` (no pruning, no INT8), whose speed check must fail every time;

and compares the reference model with itself ``runs`` times, measured exactly as the verifier
measures a speed check (:func:`grading.verify.lane_comparison`): the ratio must stay inside the
guard band around 1 every time. Every figure is kept in the report, with the per-block ratios
of each self-comparison.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from grading.pipeline import run_pipeline
from grading.verify import Verdict, lane_comparison, verify_command
from helpers import contract
from helpers.reference import ready_model
from helpers.targets import lane_settings
from helpers.tracks import Track


@dataclass
class LaneStability:
    """Speed figures of repeated verifications. Speed-ups are 'x faster than the reference model'."""

    track: str
    runs: int
    guard_band: float
    reference: list[tuple[float, str]] = field(default_factory=list)  # (speed-up, pass/FAIL/review)
    unoptimized: list[tuple[float, str]] = field(default_factory=list)
    self_ratios: list[float] = field(default_factory=list)  # reference model against itself
    self_block_ratios: list[list[float]] = field(default_factory=list)  # the blocks behind each self-ratio

    @property
    def stable(self) -> bool:
        return (
            all(status == "pass" for _, status in self.reference)
            and all(status == "FAIL" for _, status in self.unoptimized)
            and all(abs(ratio - 1) <= self.guard_band for ratio in self.self_ratios)
        )

    def summary(self) -> str:
        def span(values: list[float]) -> str:
            return f"{min(values):.2f}x-{max(values):.2f}x, median {statistics.median(values):.2f}x"

        passed = sum(status == "pass" for _, status in self.reference)
        failed = sum(status == "FAIL" for _, status in self.unoptimized)
        inside = sum(abs(ratio - 1) <= self.guard_band for ratio in self.self_ratios)
        n, band = self.runs, self.guard_band
        return "\n".join(
            [
                f"benchmark lane, {self.track} track, {n} verifications each, guard band {band:.0%}",
                f"  reference solution   {passed}/{n} pass   {span([s for s, _ in self.reference])}",
                f"  unoptimized model    {failed}/{n} fail   {span([s for s, _ in self.unoptimized])}",
                f"  reference vs itself  {inside}/{n} inside 1 +/- {band:g}   {span(self.self_ratios)}",
                f"  => {'stable' if self.stable else 'NOT stable'}",
            ]
        )


def _speed_of_optimized(submission: Path, verdict_file: Path) -> tuple[float, str]:
    """Verify ``submission`` in a fresh process; return the optimized model's speed-up and status."""
    command, environment = verify_command(submission, verdict_file)
    subprocess.run(command, capture_output=True, text=True, env=environment, timeout=900)
    verdict = Verdict.from_dict(json.loads(verdict_file.read_text()))
    speed = next(c for c in verdict.checks if c.artifact == contract.COMBINED.file and c.name == "speed")
    return speed.value, speed.status


def lane_stability(track: Track, runs: int, folder: Path, on_run=None) -> LaneStability:
    """Verify the reference and an unoptimized submission ``runs`` times each, in fresh processes."""
    reference = folder / "reference"
    shutil.rmtree(folder, ignore_errors=True)
    run_pipeline(track, reference / "artifacts")
    contract.TRACK_CHOICE.path(reference / "artifacts").write_text(json.dumps({"track": track.name}))
    unoptimized = folder / "unoptimized"
    shutil.copytree(reference, unoptimized)
    artifacts = unoptimized / contract.ARTIFACTS_DIR
    shutil.copyfile(contract.ONNX_FP32.path(artifacts), contract.COMBINED.path(artifacts))
    report = LaneStability(track.name, runs, lane_settings().guard_band)
    model, one_input = ready_model(track).model, track.example_batch(batch_size=1)
    for run in range(runs):
        report.reference.append(_speed_of_optimized(reference, folder / "reference-verdict.json"))
        report.unoptimized.append(_speed_of_optimized(unoptimized, folder / "unoptimized-verdict.json"))
        itself = lane_comparison(model, model, one_input, ("reference", "itself"), threads=1)
        report.self_ratios.append(itself.speedup)
        report.self_block_ratios.append(itself.block_speedups)
        if on_run:
            on_run(run)
    return report
