"""Grading a whole cohort in parallel on Dask distributed.

Dask schedules and collects; it never runs learner code itself. Each submission is still graded
in its own sandboxed processes (``grading.autograde``), and each task returns the submission's
record as JSON text: nothing pickled by a learner process is ever loaded.

Two Dask worker resources keep the machine honest:

- ``notebooks``: a worker with ``notebooks=1`` runs one submission's execution at a time
  (intake, the sandboxed notebooks, the verifier's checks but speed);
- ``lane``: exactly one worker per machine has ``lane=1``. The verifier's speed checks need it,
  so no two speed checks ever run side by side on one machine.

The gradebook and the records are written by this process only, as results come back. A worker
that dies in the middle of a submission makes Dask run that submission again on another worker
(up to ``distributed.scheduler.allowed-failures`` times, 3 by default); if it keeps dying, the
submission is recorded as "needs review", never dropped.

Grading one by one is ``workers=1``: the same code, one submission at a time.

Once every submission is graded, the class's hand-ins are compared with each other
(``grading.copies``): a learner whose files or own model's weights match another's goes to review.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dask
from distributed import Client, KilledWorker, Nanny, Scheduler, SpecCluster, as_completed

from grading.autograde import (
    REFUSED,
    Course,
    Outcome,
    already_graded,
    execute_stage,
    finish,
    lane_stage,
    learner_id,
    read_record,
    submission_digest,
    unfinished,
)
from grading.copies import review_copies
from grading.sandbox import Limits
from helpers.errors import Day26Error

EXECUTION, LANE = "notebooks", "lane"

# Dask's own monitoring (a stack-sampling profiler every 10 ms, system and event-loop monitors
# several times a second) costs an idle local cluster about 10 % of one core, measured; the
# notebooks and the benchmark lane share the machine with it. These settings bring it under 1 %.
QUIET_DASK = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.event-loop-monitor-interval": "1s",
    "distributed.admin.tick.interval": "1s",
}


def local_cluster(workers: int) -> SpecCluster:
    """A cluster on this machine: ``workers`` execution workers and one lane worker.

    Each worker is its own process with one task slot. Dask's memory manager is off
    (``memory_limit=0``): each learner's execution has its own memory limit in the sandbox.
    """
    if workers < 1:
        raise Day26Error(f"--workers {workers}: give 1 or more (1 grades one submission at a time).")
    # Dask logs a worker's lost heartbeat while the cluster shuts down as an ERROR with a traceback;
    # grading reports its own failures in the records, so the cluster's processes log only CRITICAL.
    quiet = {"nthreads": 1, "memory_limit": 0, "silence_logs": logging.CRITICAL}
    specs = {
        f"execution-{number}": {"cls": Nanny, "options": quiet | {"resources": {EXECUTION: 1}}}
        for number in range(workers)
    }
    specs["lane"] = {"cls": Nanny, "options": quiet | {"resources": {LANE: 1}}}
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": None}}
    return SpecCluster(workers=specs, scheduler=scheduler, silence_logs=logging.CRITICAL)


def _check_resources(client: Client, address: str) -> None:
    """An existing cluster must offer both resources, or its tasks would wait for ever."""
    offered = [worker.get("resources", {}) for worker in client.scheduler_info()["workers"].values()]
    for resource, how in ((EXECUTION, "notebooks=1"), (LANE, "lane=1")):
        if not any(resource in resources for resources in offered):
            raise Day26Error(
                f"the Dask cluster at {address} has no worker with the '{resource}' resource. Start workers with "
                f"`dask worker {address} --nthreads 1 --resources {how}` ("
                + ("one per core" if resource == EXECUTION else "exactly one per machine")
                + ")."
            )


@contextlib.contextmanager
def grading_client(workers: int = 2, scheduler: str | None = None) -> Iterator[Client]:
    """A Dask client: on an existing cluster (``scheduler`` address) or on a new local one."""
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as error:
            raise Day26Error(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
        with client:
            _check_resources(client, scheduler)
            yield client
        return
    with dask.config.set(QUIET_DASK), local_cluster(workers) as cluster, Client(cluster) as client:
        yield client


def autograde_class(
    course: Course,
    sources: list[Path],
    limits: Limits,
    client: Client,
    force: bool = False,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Grade every submission in ``sources`` on ``client``'s cluster; return the outcomes in the
    order of ``sources``. Submissions graded before and unchanged are skipped unless ``force``."""
    outcomes: dict[str, Outcome] = {}
    pending = {}
    for source in sources:
        digest = submission_digest(source)
        earlier = None if force else already_graded(course, source, digest)
        if earlier is not None:
            outcomes[source.name] = earlier
            if on_done:
                on_done(earlier)
            continue
        executed = client.submit(
            execute_stage, course, source, digest, limits, resources={EXECUTION: 1}, pure=False, retries=1
        )
        timed = client.submit(lane_stage, course, executed, limits, resources={LANE: 1}, pure=False, retries=1)
        pending[timed] = (source, digest)
    for future in as_completed(list(pending)):
        source, digest = pending[future]
        try:
            outcome = finish(course, future.result())
        except KilledWorker:
            outcome = unfinished(course, source, digest, "the grading worker died every time it ran this submission")
        except Exception as error:  # a grader fault: keep the submission, name the fault
            print(f"{learner_id(source)}: grading failed: {type(error).__name__}: {error}", file=sys.stderr)
            outcome = unfinished(course, source, digest, f"grading failed ({type(error).__name__}: {error})")
        outcomes[source.name] = outcome
        if on_done:
            on_done(outcome)
    return _after_copy_check(course, [outcomes[source.name] for source in sources])


def _after_copy_check(course: Course, outcomes: list[Outcome]) -> list[Outcome]:
    """Compare the whole class's hand-ins with each other (``grading.copies``) once every record is
    written, and give each outcome its record's status and reasons after the check."""
    report = review_copies(course)
    for note in report.notes:
        print(note, file=sys.stderr)
    for outcome in outcomes:
        record = read_record(course, outcome.learner)
        if record is not None and outcome.status != REFUSED:
            outcome.status, outcome.reasons = record.status, record.reasons
    return outcomes


def timed_class(course: Course, sources: list[Path], limits: Limits, workers: int, force: bool = True):
    """Grade ``sources`` on a new local cluster of ``workers``; return (outcomes, wall seconds)."""
    started = time.monotonic()
    with grading_client(workers) as client:
        outcomes = autograde_class(course, sources, limits, client, force=force)
    return outcomes, time.monotonic() - started
