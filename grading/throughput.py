"""How fast does a cohort get graded? ``day26 throughput`` measures it and projects it.

It generates a class of ``learners`` submissions on one track (the sample class's six kinds in
turn: the reference solution, the blank release, an assert-disabling cheat, a partial hand-in, a
learner who skipped structured pruning, an escaping zip), grades it twice from scratch, one by
one (one worker) and in parallel (``workers`` workers), checks that both give the same grades,
and fits a small cost model on the measured records:

- execution time per submission (intake, sandboxed notebooks, the verifier's checks but speed),
  which parallel workers share out;
- lane time per submission (the verifier's speed checks), which runs one at a time per machine.

For ``cohort`` learners on ``m`` machines like this one, each with ``workers`` workers and one
lane, the projection is ``max(cohort * parallel_seconds_per_learner / m, cohort * lane / m)``
plus the cluster's start-up: parallel_seconds_per_learner is measured here, not assumed.
"""

from __future__ import annotations

import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from grading.autograde import REFUSED, Course, Outcome, prepare_course, read_record, submissions_in
from grading.cohort import timed_class
from grading.samples import sample_class
from grading.sandbox import Limits


@dataclass
class Throughput:
    """The two runs of one generated class. Times in seconds (wall clock)."""

    learners: int
    workers: int
    one_by_one_seconds: float
    parallel_seconds: float
    same_grades: bool
    differences: list[str] = field(default_factory=list)
    execution_seconds: list[float] = field(default_factory=list)  # per graded submission, one by one
    lane_seconds: list[float] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return self.one_by_one_seconds / self.parallel_seconds

    def projected_seconds(self, cohort: int, machines: int) -> float:
        """Wall time for ``cohort`` learners on ``machines`` machines like this one."""
        per_learner = self.parallel_seconds / self.learners  # measured, start-up included
        lane = statistics.mean(self.lane_seconds) if self.lane_seconds else 0.0
        return max(cohort * per_learner / machines, cohort * lane / machines)

    def summary(self, cohort: int = 300) -> str:
        def minutes(seconds: float) -> str:
            return f"{seconds / 60:.1f} min"

        execution = statistics.mean(self.execution_seconds) if self.execution_seconds else 0.0
        lane = statistics.mean(self.lane_seconds) if self.lane_seconds else 0.0
        lines = [
            f"a generated class of {self.learners} submissions",
            f"  one by one (1 worker):   {minutes(self.one_by_one_seconds)}",
            f"  in parallel ({self.workers} workers): {minutes(self.parallel_seconds)}  => {self.speedup:.2f}x faster",
            f"  same grades: {'yes' if self.same_grades else 'NO: ' + '; '.join(self.differences)}",
            f"cost model (means over the graded submissions, one by one): execution {execution:.1f} s, "
            f"lane {lane:.1f} s per submission",
            f"projected for {cohort} learners, {self.workers} workers and one lane per machine like this one:",
        ]
        for machines in (1, 2, 5, 10):
            lines.append(f"  {machines:>2} machine(s): {minutes(self.projected_seconds(cohort, machines))}")
        return "\n".join(lines)


def generated_class(root: Path, out: Path, learners: int, track: str) -> Path:
    """``learners`` submissions: the sample class's kinds in turn, each copy under its own id."""
    kinds = sample_class(root, out / "kinds", track)
    originals = sorted(kinds.iterdir())
    folder = out / "class"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for number in range(learners):
        original = originals[number % len(originals)]
        name = f"{original.stem}-{number:03d}{original.suffix}"
        if original.is_dir():
            shutil.copytree(original, folder / name)
        else:
            shutil.copyfile(original, folder / name)
    return folder


def _grades(course: Course, outcomes: list[Outcome]) -> dict[str, tuple]:
    """What grading decided per learner: the status and every cell's verified points."""
    grades = {}
    for outcome in outcomes:
        record = read_record(course, outcome.learner)
        cells = tuple((cell.grade_id, cell.verifier_points) for cell in record.cells) if record else ()
        grades[outcome.learner] = (outcome.status, cells)
    return grades


def measure_throughput(root: Path, out: Path, learners: int, workers: int, track: str = "tabular") -> Throughput:
    """Grade a generated class one by one and with ``workers`` workers, each in a fresh workspace."""
    sources = submissions_in(generated_class(root, out, learners, track))
    runs = {}
    for label, count in (("one-by-one", 1), ("parallel", workers)):
        course = Course(root, out / label)
        shutil.rmtree(course.workspace, ignore_errors=True)
        prepare_course(course)  # not timed: done once per course, whatever its size
        outcomes, seconds = timed_class(course, sources, Limits(), count)
        runs[label] = (course, outcomes, seconds)
    serial_course, serial_outcomes, serial_seconds = runs["one-by-one"]
    parallel_course, parallel_outcomes, parallel_seconds = runs["parallel"]
    serial, parallel = _grades(serial_course, serial_outcomes), _grades(parallel_course, parallel_outcomes)
    differences = [learner for learner in serial if serial[learner] != parallel.get(learner)]
    report = Throughput(learners, workers, serial_seconds, parallel_seconds, not differences, differences)
    for outcome in serial_outcomes:
        record = read_record(serial_course, outcome.learner)
        stages = record.stage_seconds if record else {}
        if outcome.status != REFUSED and stages:
            report.lane_seconds.append(stages.get("verify_speed", 0.0))
            report.execution_seconds.append(sum(stages.values()) - stages.get("verify_speed", 0.0))
    return report
