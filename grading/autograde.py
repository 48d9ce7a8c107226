"""Autograding a class: intake, sandboxed execution, verification and scoring, one learner at a time.

Every submission ends as exactly one of

- ``graded``: executed and verified; its points are in the gradebook;
- ``needs review``: graded as far as possible, with the reasons an instructor must look at
  (a notebook out of time, out of memory, a crashed kernel, a speed verdict inside the guard band);
- ``refused``: intake refused it, with the reason; nothing of it ran.

Each learner's outcome is written last, in one step, to ``<workspace>/records/<learner>.json``
together with the submission's hashes, library versions, machine and the verifier's raw timing
samples. A run that is killed and started again skips the learners whose record matches their
submission and redoes the one it was in the middle of; the gradebook is updated in place, so
nothing is counted twice.

One submission goes through three stages: ``execute_stage`` (intake, sandboxed execution, the
verifier's checks but speed), ``lane_stage`` (the verifier's speed checks, one at a time per
machine) and ``finish`` (scores into the gradebook, the record). ``grading.cohort`` runs the first
two on Dask workers, in parallel, and ``finish`` in the one process that owns the gradebook.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from grading import hidden as hidden_data
from grading.course import ASSIGNMENT, autoflush_warnings_ignored, put_environment_tools_on_path
from grading.intake import intake
from grading.lane import machine_to_itself, registered
from grading.lms_download import lms_submission
from grading.records import GRADED, REFUSED, REVIEW, GradeRecord, read_records, write_record
from grading.records import read_record as read_record_file
from grading.release import build_release
from grading.sandbox import Limits, probe_isolation, run_limited, sandboxed
from grading.score import CellScore, apply_verdict, copy_scores
from grading.verify import Verdict, declared_weights_file, merge_parts, verify_command
from helpers.cache import home as reference_home
from helpers.errors import Day26Error
from helpers.hand_in import LEARNER_ID  # nbgrader student ids, file names (`day26 pack` checks the same)
from helpers.machine import machine_description
from helpers.reference import ready_model
from helpers.report import library_versions
from helpers.tracks import TRACKS

VERIFY_SECONDS = 900

MEMORY_ERRORS = ("MemoryError", "_ArrayMemoryError", "can't allocate memory", "std::bad_alloc", "out of memory")


@dataclass
class Course:
    """Where one class's grading lives. ``root`` is the workbook (solutions/, notebooks/)."""

    root: Path
    workspace: Path

    def __post_init__(self) -> None:
        self.root, self.workspace = Path(self.root).resolve(), Path(self.workspace).resolve()

    @property
    def gradebook(self) -> Path:
        return self.workspace / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    def folder(self, step: str, learner: str) -> Path:
        """nbgrader's folder of ``learner`` for ``step`` (submitted, autograded)."""
        return self.workspace / step / learner / ASSIGNMENT

    def record(self, learner: str) -> Path:
        return self.workspace / "records" / f"{learner}.json"

    def scratch(self, learner: str) -> Path:
        return self.workspace / "sandbox" / learner

    def notebooks(self) -> list[str]:
        return sorted(path.stem for path in (self.root / "solutions" / ASSIGNMENT).glob("*.ipynb"))


@dataclass
class Outcome:
    """How one submission ended. Points are those of the autograded test cells."""

    learner: str
    status: str
    reasons: list[str] = field(default_factory=list)
    points: float = 0.0
    max_points: float = 0.0
    disagreements: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False


# --- one learner ----------------------------------------------------------------------------


def submission_digest(source: Path) -> str:
    """sha256 over a submission as handed in: the zip's bytes, or every file's path and bytes."""
    digest = hashlib.sha256()
    if source.is_file():
        digest.update(source.read_bytes())
        return digest.hexdigest()
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _workbook_folder(folder: Path, notebooks: list[str]) -> Path | None:
    """The folder in a submission that holds the notebooks or artifacts/ (shallowest first)."""
    candidates = [folder, *sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))]
    for candidate in candidates:
        if (candidate / "artifacts").is_dir() or any((candidate / f"{name}.ipynb").is_file() for name in notebooks):
            return candidate
    return None


def _place(course: Course, learner: str, workbook: Path) -> None:
    """Lay the submission out for nbgrader, and seed the autograded folder with its artifacts."""
    submitted, autograded = course.folder("submitted", learner), course.folder("autograded", learner)
    for folder in (submitted, autograded):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(workbook, submitted)
    if (submitted / "artifacts").is_dir():
        # nbgrader leaves artifacts/ alone (course.NOT_COURSE_FILES); the notebooks rewrite what they make.
        shutil.copytree(submitted / "artifacts", autograded / "artifacts")
    (autograded / "artifacts").mkdir(parents=True, exist_ok=True)
    weights = declared_weights_file(submitted)
    if weights is not None:  # nbgrader copies no *.pth (course.NOT_COURSE_FILES): the declared weights go here
        target = autograded / weights.relative_to(submitted)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, target)


# Dask's worker processes start with these set (its "pre-spawn-environ": one thread, and a malloc
# that returns memory eagerly). Learner code and the verifier run with the machine's defaults
# wherever they run, or a notebook would train on one core, more slowly.
WORKER_THREAD_LIMITS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")


def _sandbox_environment(scratch: Path) -> dict[str, str]:
    dropped = ("DAY26_TRACK", *WORKER_THREAD_LIMITS)
    environment = {key: value for key, value in os.environ.items() if key not in dropped}
    for variable, sub in {
        "HOME": "home",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "IPYTHONDIR": "ipython",
        "MPLCONFIGDIR": "matplotlib",
        "XDG_CACHE_HOME": "cache",
        "TMPDIR": "tmp",
    }.items():
        (scratch / sub).mkdir(parents=True, exist_ok=True)
        environment[variable] = str(scratch / sub)
    environment["DAY26_HOME"] = str(reference_home())
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


def _notebook_problem(executed: Path, state: dict | None) -> str:
    """Why a notebook did not run through, in words an instructor can act on ('' when it did)."""
    if state is None:
        return "not run: the execution was stopped before it"
    if state.get("status") == "running":
        return "stopped: the whole execution ran out of time"
    if state.get("stopped_for_time"):
        return "out of time: the notebook was still running after its time limit and was stopped"
    text = state.get("error", "") + state.get("log", "")
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return "the kernel crashed (it died while running a cell)"
    if "UnresponsiveKernelError" in text:
        return "the kernel stopped responding and could not be interrupted"
    if state.get("status") == "failed":
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return f"nbgrader could not grade it: {lines[-1] if lines else 'no message'}"
    if not executed.is_file():
        return ""
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            message = f"{output.get('ename', '')}: {output.get('evalue', '')}"
            if output.get("ename") == "CellTimeoutError":
                return "out of time: a cell ran longer than the time limit and was interrupted"
            if any(marker in message for marker in MEMORY_ERRORS):
                return f"out of memory: {message[:120]}"
    return ""


def _stops(autograded: Path, notebooks: list[str]) -> list[str]:
    """The one-line Day26Error each notebook stopped on (a model at chance, a missing artifact), once
    per message, naming the notebooks it stopped: what the learner was told, for the instructor too."""
    stopped: dict[str, list[str]] = {}
    for name in notebooks:
        path = autograded / f"{name}.ipynb"
        if not path.is_file():
            continue
        errors = (
            output
            for cell in nbformat.read(path, as_version=4).cells
            for output in cell.get("outputs", [])
            if output.get("output_type") == "error" and output.get("ename") == "Day26Error"
        )
        first = next(errors, None)
        if first is not None:
            stopped.setdefault(str(first.get("evalue", ""))[:300], []).append(name)
    return [f"{', '.join(names)} stopped: {message}" for message, names in stopped.items()]


def _execute(course: Course, learner: str, limits: Limits) -> tuple[dict, list[str]]:
    """Run the learner's notebooks in the sandbox; return the execution report and the problems.

    The scores land in the learner's scratch gradebook (``finish`` copies them into the real one).
    Problems are what an instructor must look at (time, memory, a crashed kernel). A notebook
    missing from the submission is not one: its cells simply earn nothing.
    """
    scratch = course.scratch(learner)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    shutil.copyfile(course.workspace / "sandbox-template.db", scratch / "gradebook.db")
    submitted = course.folder("submitted", learner)
    notebooks = [name for name in course.notebooks() if (submitted / f"{name}.ipynb").is_file()]
    missing = [name for name in course.notebooks() if name not in notebooks]
    report: dict = {"notebooks": {}, "missing": missing}
    problems: list[str] = []
    report_file = scratch / "report.json"
    if not notebooks:
        return report, problems
    command = [sys.executable, "-m", "grading.execute", "--root", str(course.root), "--workspace"]
    command += [str(course.workspace), "--gradebook", str(scratch / "gradebook.db"), "--learner", learner]
    command += ["--seconds", str(limits.notebook_seconds), "--report", str(report_file)]
    for name in notebooks:
        command += ["--notebook", name]
    read_only = [course.root, course.workspace, reference_home(), Path.home()]
    writable = [course.workspace / "autograded" / learner, scratch]
    hidden = [Path(hidden_data.__file__)]  # learner code must not draw the hidden split from its seed
    finished = run_limited(
        sandboxed(command, read_only, writable, hidden),
        limits,
        wall_seconds=limits.notebook_seconds * len(notebooks) + 120,
        log_file=scratch / "execute.log",
        env=_sandbox_environment(scratch),
        register=lambda pid: registered(course.workspace, f"{learner}-execute", pid),
    )
    with contextlib.suppress(OSError, ValueError):  # no report: the child never started a notebook
        report |= json.loads(report_file.read_text())
    report["returncode"], report["seconds"] = finished.returncode, round(finished.seconds, 2)
    if finished.killed_after_seconds is not None:
        problems.append(f"execution stopped after {finished.killed_after_seconds:.0f} s (the time limit)")
    elif finished.returncode != 0 and not report["notebooks"]:
        problems.append(f"execution failed to start: {finished.output.splitlines()[-1:] or 'no output'}")
    autograded = course.folder("autograded", learner)
    for name in notebooks:
        problem = _notebook_problem(autograded / f"{name}.ipynb", report["notebooks"].get(name))
        if problem:
            problems.append(f"{name}: {problem}")
    return report, problems


def _verify(course: Course, learner: str, limits: Limits, part: str) -> tuple[Verdict | None, str]:
    """Run one part of the verifier ("measure" or "speed") in a fresh process on the executed
    folder; return its verdict, or None and why not."""
    log = course.scratch(learner) / f"verify-{part}.log"
    output = course.scratch(learner) / f"verdict-{part}.json"
    output.unlink(missing_ok=True)
    command, environment = verify_command(course.folder("autograded", learner), output, part)
    environment = {key: value for key, value in environment.items() if key not in WORKER_THREAD_LIMITS}

    def register(pid: int) -> contextlib.AbstractContextManager:  # the lane's own run is never paused
        return registered(course.workspace, f"{learner}-verify", pid) if part != "speed" else contextlib.nullcontext()

    finished = run_limited(command, limits, VERIFY_SECONDS, log, environment, register)
    if finished.killed_after_seconds is not None:
        return None, f"the verifier ({part}) did not finish within {VERIFY_SECONDS} s"
    try:
        return Verdict.from_dict(json.loads(output.read_text())), ""
    except (OSError, ValueError, KeyError, TypeError):
        last = (finished.output.strip().splitlines() or ["no output"])[-1]
        return None, f"the verifier ({part}) failed: {last}"


def read_record(course: Course, learner: str) -> GradeRecord | None:
    """The learner's grade record, or None when there is none yet."""
    return read_record_file(course.record(learner))


def class_records(course: Course) -> list[GradeRecord]:
    """Every learner's grade record, in name order."""
    return read_records(course.workspace / "records")


def _outcome(record: GradeRecord, skipped: bool = False) -> Outcome:
    return Outcome(
        learner=record.learner,
        status=record.status,
        reasons=record.reasons,
        points=record.points,
        max_points=record.max_points,
        disagreements=record.disagreements,
        seconds=record.seconds,
        skipped=skipped,
    )


@dataclass
class InFlight:
    """A submission between the stages of its grading (it travels between Dask workers as JSON):
    the record so far, the problems an instructor must see, and the verifier's two parts."""

    record: GradeRecord
    problems: list[str] = field(default_factory=list)
    measured: Verdict | None = None
    timed: Verdict | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "record": self.record.as_dict(),
                "problems": self.problems,
                "measured": self.measured.as_dict() if self.measured else None,
                "timed": self.timed.as_dict() if self.timed else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> InFlight:
        content = json.loads(text)
        measured, timed = (Verdict.from_dict(content[k]) if content.get(k) else None for k in ("measured", "timed"))
        return cls(GradeRecord.from_dict(content["record"]), content["problems"], measured, timed)


def learner_id(source: Path) -> str:
    return source.stem if source.suffix == ".zip" else source.name


# --- the three stages of one submission -------------------------------------------------------
# execute_stage and lane_stage run on Dask workers and return the record as JSON text, nothing
# else; finish runs in the one process that writes the gradebook and the records.


def execute_stage(course: Course, source: Path, digest: str, limits: Limits) -> str:
    """Intake, sandboxed execution and the verifier's checks but speed. Any worker may run it."""
    started = time.monotonic()
    learner = learner_id(source)
    put_environment_tools_on_path()
    record = GradeRecord(
        learner=learner,
        source=str(source),
        submission_sha256=digest,
        started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        versions=library_versions(),
        machine=machine_description(),
        limits=asdict(limits),
        isolation=probe_isolation().warning or "network off, grader files read-only",
    )
    if not LEARNER_ID.fullmatch(learner):
        reason = f"the learner id '{learner}' (the folder or zip name) may hold only letters, digits, '.', '_', '-'"
        record.status, record.reasons = REFUSED, [f"refused at intake: {reason}: rename it"]
        return InFlight(record).to_json()
    from_lms = lms_submission(source)
    if from_lms is not None:  # a copy from an LMS bulk download: when it was uploaded, and whether it is late
        record.submitted, record.late, record.lms_files = from_lms["uploaded"], from_lms["late"], from_lms["members"]
    taken = intake(source, course.workspace / "intake")
    record.files = taken.files
    workbook = _workbook_folder(taken.folder, course.notebooks()) if taken.accepted else None
    if not taken.accepted or workbook is None:
        reason = taken.reason if not taken.accepted else "no notebooks and no artifacts/ folder in it"
        record.status, record.reasons = REFUSED, [f"refused at intake: {reason}"]
        record.stage_seconds["intake"] = round(time.monotonic() - started, 2)
        return InFlight(record).to_json()
    _place(course, learner, workbook)
    record.stage_seconds["intake"] = round(time.monotonic() - started, 2)
    record.execution, problems = _execute(course, learner, limits)
    record.stage_seconds["execution"] = round(time.monotonic() - started - record.stage_seconds["intake"], 2)
    measuring = time.monotonic()
    measured, problem = _verify(course, learner, limits, "measure")
    record.stage_seconds["verify_measure"] = round(time.monotonic() - measuring, 2)
    return InFlight(record, problems + ([problem] if problem else []), measured).to_json()


def lane_stage(course: Course, in_flight_json: str, limits: Limits) -> str:
    """The verifier's speed checks. Only the worker that holds the machine's benchmark lane runs it."""
    flight = InFlight.from_json(in_flight_json)
    if flight.record.status == REFUSED or flight.measured is None:
        return in_flight_json
    timing, opened = time.monotonic(), time.time()
    with machine_to_itself(course.workspace) as paused:
        flight.timed, problem = _verify(course, flight.record.learner, limits, "speed")
    flight.record.lane_paused_processes = paused
    flight.problems += [problem] if problem else []
    flight.record.stage_seconds["verify_speed"] = round(time.monotonic() - timing, 2)
    flight.record.lane_window = [opened, time.time()]  # when this submission held the lane (epoch seconds)
    return flight.to_json()


def _utc(moment: datetime.datetime) -> datetime.datetime:
    """``moment`` as nbgrader's gradebook keeps times: UTC without a zone (a time without one is local)."""
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def finish(course: Course, in_flight_json: str) -> Outcome:
    """Score one submission into the gradebook and write its record (last, in one step)."""
    flight = InFlight.from_json(in_flight_json)
    record, problems = flight.record, list(flight.problems)
    if record.status == REFUSED:
        record.seconds = round(sum(record.stage_seconds.values()), 2)
        write_record(course.record(record.learner), record)
        return _outcome(record)
    scoring = time.monotonic()
    learner = record.learner
    submitted = _utc(datetime.datetime.fromisoformat(record.submitted)) if record.submitted else None
    copy_scores(f"sqlite:///{course.scratch(learner) / 'gradebook.db'}", course.db_url, learner, submitted)
    empty = Verdict(str(course.folder("autograded", learner)), "unknown")
    verdict = merge_parts(flight.measured, flight.timed or empty) if flight.measured else empty
    executed = {name for name, state in record.execution["notebooks"].items() if state.get("status") == "done"}
    scores: list[CellScore] = apply_verdict(course.db_url, learner, verdict, executed)
    problems += [f"{score.grade_id}: {score.reason}" for score in scores if score.verifier_points is None]
    record.verdict, record.cells = verdict, scores
    record.status = REVIEW if problems else GRADED
    missing = record.execution.get("missing", [])
    notes = [f"notebooks not submitted: {', '.join(missing)}"] if missing else []
    if all(score.verifier_points == 0 for score in scores):
        notes.append(f"no test cell earned points; first: {scores[0].reason}")
    notes += _stops(course.folder("autograded", learner), list(record.execution["notebooks"]))
    if record.late:
        notes.append(f"late: uploaded {record.submitted} ({', '.join(record.lms_files)}); graded all the same")
    record.reasons = problems + notes
    record.stage_seconds["scoring"] = round(time.monotonic() - scoring, 2)
    record.seconds = round(sum(record.stage_seconds.values()), 2)
    write_record(course.record(learner), record)
    return _outcome(record)


def unfinished(course: Course, source: Path, digest: str, why: str) -> Outcome:
    """A submission whose grading itself failed (a worker that kept dying, a grader error):
    recorded as needing review, never dropped."""
    record = GradeRecord(
        learner=learner_id(source),
        status=REVIEW,
        source=str(source),
        submission_sha256=digest,
        reasons=[f"not graded: {why}; run day26 autograde again"],
        unfinished=True,  # the next run grades it again
    )
    write_record(course.record(record.learner), record)
    return _outcome(record)


def already_graded(course: Course, source: Path, digest: str) -> Outcome | None:
    """The earlier outcome when this exact submission was graded before, else None."""
    earlier = read_record(course, learner_id(source))
    if earlier and earlier.submission_sha256 == digest and not earlier.unfinished:
        return _outcome(earlier, skipped=True)
    return None


# --- the class ------------------------------------------------------------------------------


def submissions_in(folder: Path) -> list[Path]:
    """Every learner folder or zip file in ``folder``, in name order."""
    if not folder.is_dir():
        raise Day26Error(f"{folder}: not a folder. Give the folder that holds one folder or .zip per learner.")
    found = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".zip"))
    others = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p not in found)
    if not found:
        raise Day26Error(f"{folder}: no learner folders or .zip files in it.")
    if others:
        print(
            f"skipping {len(others)} entries that are neither folders nor .zip files: {', '.join(others)}",
            file=sys.stderr,
        )
    return found


def record_assignment(course: Course, deadline: datetime.datetime | None = None) -> None:
    """Make sure the gradebook knows the assignment (its cells come from building the release), and
    give it ``deadline`` (local time when it has no zone) as its due date, when given: nbgrader's
    collect and the formgrader then tell late submissions from those on time."""
    course.workspace.mkdir(parents=True, exist_ok=True)
    put_environment_tools_on_path()
    with Gradebook(course.db_url) as book:
        try:
            book.find_assignment(ASSIGNMENT)
            known = True
        except MissingEntry:
            known = False
    if not known:
        build_release(course.root, course.workspace)  # records the assignment's cells in the gradebook
    if deadline is not None:
        with Gradebook(course.db_url) as book, autoflush_warnings_ignored():
            book.update_or_create_assignment(ASSIGNMENT, duedate=_utc(deadline))


def prepare_course(course: Course, deadline: datetime.datetime | None = None) -> None:
    """Get everything grading reads ready before any learner code runs: the reference models
    (the sandbox sees them read-only), the assignment in the gradebook (with ``deadline`` as its due
    date, when given), and the sandbox's empty copy of the gradebook."""
    for track in TRACKS.values():
        ready_model(track)
        track.train_data()  # generated and cached now: the sandbox cannot write the cache
        track.val_data()
    record_assignment(course, deadline)
    template = course.workspace / "sandbox-template.db"
    shutil.copyfile(course.gradebook, template)
    with Gradebook(f"sqlite:///{template}") as book:  # learner code must never see other learners' grades
        for student in list(book.students):
            book.remove_student(student.id)


def summary_table(outcomes: list[Outcome]) -> str:
    """One line per learner: status, verified points, disagreements, reasons."""
    lines = [f"{'learner':<20} {'status':<13} {'points':>11} {'time':>7}  notes", "-" * 90]
    for outcome in outcomes:
        notes = list(outcome.reasons)
        if outcome.disagreements:
            notes.insert(0, f"notebook tests disagree with the verifier on {', '.join(outcome.disagreements)}")
        if outcome.skipped:
            notes.insert(0, "unchanged since the last run")
        points = f"{outcome.points:g}/{outcome.max_points:g}" if outcome.status != REFUSED else "-"
        lines.append(
            f"{outcome.learner:<20} {outcome.status:<13} {points:>11} {outcome.seconds:>6.0f}s  {' | '.join(notes)}"
        )
    counts = {status: sum(o.status == status for o in outcomes) for status in (GRADED, REVIEW, REFUSED)}
    lines.append("-" * 90)
    lines.append(", ".join(f"{count} {status}" for status, count in counts.items()))
    return "\n".join(lines)
