"""The instructor's ``day26`` command line: the learner's commands (:mod:`helpers.cli`) plus
``optimize`` (the reference pipeline), ``release``, ``autograde``, ``collect``, ``hub``, ``verify``, ``feedback``,
``grades``, ``roster``, ``leaderboard``, ``copies``, ``throughput``, ``lane-check``, ``demo`` and ``results``.

Where the instructor's package is installed, the ``day26`` entry point is this module's ``main``;
a learner's install (the bundle) runs :func:`helpers.cli.main` and offers learner commands only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from helpers.cli import (
    TRACK_HELP,
    add_command,
    add_teams_options,
    build_parser,
    print_teams_outcome,
    progress,
    run,
    teams_outcome,
    teams_status,
)
from helpers.errors import Day26Error
from helpers.machine import machine_kind
from helpers.tracks import TRACKS, get_track


def _add_course_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--root", default=".", help="the workbook folder (default: the current folder)")
    sub.add_argument("--workspace", help="where the gradebook and grading records live (default: ROOT/course)")


def _course(args: argparse.Namespace):
    from grading.autograde import Course

    root = Path(args.root)
    return Course(root, Path(args.workspace) if args.workspace else root / "course")


def _grade_class(course, sources: list[Path], limits, workers: int, scheduler: str | None, force: bool, quiet: bool):
    """Autograde ``sources`` on Dask (a new local cluster, or ``scheduler``), with a progress bar."""
    from grading.cohort import autograde_class, grading_client

    with grading_client(workers, scheduler) as client:
        bar = tqdm(total=len(sources), desc="autograding", unit="learner", disable=quiet, file=sys.stderr)

        def on_done(outcome) -> None:
            bar.set_postfix_str(outcome.learner)
            bar.update(1)

        outcomes = autograde_class(course, sources, limits, client, force=force, on_done=on_done)
        bar.close()
    return outcomes


# --- release -----------------------------------------------------------------------------------


# --- optimize ----------------------------------------------------------------------------------


def run_optimize(track_name: str, out_dir: Path, quiet: bool) -> dict:
    """Run the reference pipeline (grading/pipeline.py) on a track with a progress bar; return what it did as a dict."""
    from grading.pipeline import STEPS, run_pipeline

    track = get_track(track_name)
    bar = progress(len(STEPS), f"optimizing {track.name}", quiet)
    started = time.perf_counter()

    def on_step(name: str) -> None:
        bar.set_postfix_str(name)
        if name != STEPS[0]:
            bar.update(1)

    result = run_pipeline(track, out_dir, on_step=on_step)
    bar.update(1)
    bar.close()
    return {
        "track": track.name,
        "out_dir": str(out_dir),
        "seconds": time.perf_counter() - started,
        "targets_met": result.target.passed,
        "targets": result.target.status,
        "records": [asdict(record) for record in result.records],
        "summary": result.summary(),
    }


def command_optimize(args: argparse.Namespace) -> int:
    outcome = run_optimize(args.track, Path(args.out), args.json)
    if args.json:
        print(json.dumps({key: value for key, value in outcome.items() if key != "summary"}, indent=2))
    else:
        print(outcome["summary"])
        print(f"\nartifacts, results.json and comparison.png in {outcome['out_dir']} ({outcome['seconds']:.0f} s)")
    return 0


def _add_optimize(commands: argparse._SubParsersAction) -> None:
    summary = "run every optimization on a track, save artifacts, print the table"
    sub = add_command(commands, "optimize", command_optimize, summary)
    sub.add_argument("--track", required=True, help=TRACK_HELP)
    sub.add_argument("--out", default="artifacts", help="output folder (default: artifacts)")


def command_release(args: argparse.Namespace) -> int:
    from grading.bundle import build_bundle, reference_model_files
    from grading.release import build_release

    release = build_release(Path(args.root))
    if not args.json:
        print("the reference models that go with the release (trained first where missing):")
    models = reference_model_files(get_track(name) for name in sorted(TRACKS))
    grader = grading_machine(args.grading_machine)
    bundle = build_bundle(Path(args.root), Path(args.bundle), models, grader)
    notebooks = sorted(path.name for path in release.glob("*.ipynb"))
    if args.json:
        shipped = [str(path) for path in models]
        print(json.dumps({"release": str(release), "notebooks": notebooks, "bundle": str(bundle), "models": shipped},
                         indent=2))  # fmt: skip
    else:
        print(f"student release built from solutions/: {release}")
        for name in notebooks:
            print(f"  {name}")
        print(f"learner bundle (release notebooks, the helpers package, the reference models, install files): {bundle}")
        for path in models[::2]:
            print(f"  {path.name} ({path.stat().st_size / 1e6:.2f} MB)")
        source = args.grading_machine or "this machine; --grading-machine FILE names another"
        print(f"  the grading machine it names: {machine_kind(grader)} ({source})")
    return 0


def grading_machine(path: str | None) -> dict:
    """The grading machine the bundle names: the description in ``path`` (``day26 machine --json``, run on
    the grading machine), or this machine's when no path is given."""
    from helpers.grading_machine import machine_in
    from helpers.machine import machine_description

    if path is None:
        return machine_description()
    return machine_in(Path(path), "Write it on the grading machine with `day26 machine --json > FILE`.")


def _add_release(commands) -> None:
    summary = "build the student release notebooks/day26 from solutions/day26, and the learner bundle"
    sub = add_command(commands, "release", command_release, summary)
    sub.add_argument("--root", default=".", help="the workbook folder (default: the current folder)")
    sub.add_argument("--bundle", default="course/day26-learner.zip", help="where to write the learner bundle zip")
    sub.add_argument("--grading-machine", help="the grading machine's `day26 machine --json` (default: this machine)")


# --- verify ------------------------------------------------------------------------------------


def command_verify(args: argparse.Namespace) -> int:
    from grading.verify import verify_submission

    verdict = verify_submission(Path(args.submission), args.track, part=args.part)
    if args.out:
        Path(args.out).write_text(json.dumps(verdict.as_dict(), indent=1))
    print(json.dumps(verdict.as_dict(), indent=2) if args.json else verdict.table())
    return 0 if verdict.passed else 1


def _add_verify(commands) -> None:
    sub = add_command(commands, "verify", command_verify, "the grader's own check of one learner folder's artifacts")
    sub.add_argument("submission", help="the learner's folder (the one holding artifacts/)")
    sub.add_argument("--track", help=f"{TRACK_HELP} (default: the learner's artifacts/track.json)")
    sub.add_argument(
        "--part",
        choices=("all", "measure", "speed"),
        default="all",
        help="all checks (default); every check but speed; or the speed checks alone (the benchmark lane)",
    )
    sub.add_argument("--out", help="also write the verdict as JSON to this file")


# --- autograde ---------------------------------------------------------------------------------


def command_autograde(args: argparse.Namespace) -> int:
    from grading.autograde import prepare_course, submissions_in, summary_table
    from grading.sandbox import GIB, Limits, isolation_warning, probe_isolation

    course = _course(args)
    deadline = _deadline(args.deadline)
    submissions = Path(args.submissions)
    if args.roster:  # an LMS bulk download: each copy mapped to its roster id first
        from grading.lms_download import unpack_lms_download
        from grading.roster import read_roster

        unpacked = unpack_lms_download(submissions, read_roster(Path(args.roster)), course.workspace / "lms-download",
                                       deadline)  # fmt: skip
        print(unpacked.summary(), file=sys.stderr if args.json else sys.stdout)
        submissions = unpacked.folder
    sources = submissions_in(submissions)
    limits = Limits(notebook_seconds=args.notebook_seconds, memory_bytes=int(args.memory_gb * GIB))
    if not probe_isolation().available:
        print(isolation_warning(probe_isolation()), file=sys.stderr)
    prepare_course(course, deadline)
    outcomes = _grade_class(course, sources, limits, args.workers, args.scheduler, args.force, args.json)
    if args.json:
        print(json.dumps([asdict(outcome) for outcome in outcomes], indent=2))
    else:
        print(summary_table(outcomes))
        print(f"records in {course.workspace / 'records'}; gradebook {course.gradebook}")
    return 0


def command_collect(args: argparse.Namespace) -> int:
    from grading.autograde import record_assignment
    from grading.exchange_collect import collect_from_exchange
    from grading.lms_download import MANIFEST

    course = _course(args)
    record_assignment(course, _deadline(args.deadline))
    folder = collect_from_exchange(course)
    learners = json.loads((folder / MANIFEST).read_text())["learners"]
    if args.json:
        print(json.dumps({"folder": str(folder), "learners": learners}, indent=2))
    else:
        late = sorted(learner for learner, entry in learners.items() if entry["late"])
        print(f"{len(learners)} submission(s) collected into {folder}" + (f"; late: {', '.join(late)}" if late else ""))
        print(f"grade them with: day26 autograde {folder}")
    return 0


def _add_collect(commands) -> None:
    summary = "collect the learners' submissions from nbgrader's exchange (a course hub), artifacts and times kept"
    sub = add_command(commands, "collect", command_collect, summary)
    _add_course_options(sub)
    sub.add_argument("--deadline", help="the due date, e.g. 2026-12-07T18:00 (local time): the newest submission "
                     "before it is collected when there is one; later ones are late")  # fmt: skip


def command_late_policy(args: argparse.Namespace) -> int:
    from grading.late_policy import parse_late_policy, read_late_policy, write_late_policy

    course = _course(args)
    if args.policy is None:
        policy = read_late_policy(course.workspace)
        print(f"late policy: {policy} ({policy.explained()})")
        return 0
    policy = parse_late_policy(args.policy)
    path = write_late_policy(course.workspace, policy)
    print(f"late policy: {policy} ({policy.explained()}), kept in {path}")
    print("it applies to the grades, the LMS files and the feedback pages written from now on")
    return 0


def _add_late_policy(commands) -> None:
    summary = "show or set what a late hand-in loses: none (the default), zero, or a share per day or hour late"
    sub = add_command(commands, "late-policy", command_late_policy, summary)
    _add_course_options(sub)
    sub.add_argument("policy", nargs="?", help="the new policy: none, zero, 10%%/day, 2%%/hour or '10%%/day, floor "
                     "50%%' (without it: show the current one)")  # fmt: skip


def command_hub(args: argparse.Namespace) -> int:
    import subprocess

    from grading.hub import hub_settings, passwords, write_hub_config
    from grading.roster import read_roster

    course = _course(args)
    if course.workspace.resolve() != (course.root / "course").resolve():
        raise Day26Error(f"--workspace {args.workspace}: the hub's formgrader reads nbgrader_config.py, whose "
                         f"workspace is {course.root / 'course'}. Leave --workspace out.")  # fmt: skip
    learners = [entry.learner for entry in read_roster(Path(args.roster)).entries]
    settings = hub_settings(course.root, course.workspace, learners, args.instructor, args.port, args.isolated)
    config = write_hub_config(settings)
    secret = passwords(settings.hub_folder)
    print(f"course hub for {len(learners)} learner(s) and {args.instructor}: http://127.0.0.1:{args.port}/")
    if settings.isolated:
        print(f"  learners log in with their roster id and their own password, listed in "
              f"{settings.hub_folder / 'learner-passwords.csv'}: hand each learner theirs")  # fmt: skip
    else:
        print(f"  learners log in with their roster id and the password {secret['learners']}")
    print(f"  {args.instructor} logs in with the password {secret['instructor']}")
    print(f"  (kept in {settings.hub_folder / 'passwords.json'}); stop the hub with Ctrl-C")
    if settings.isolated:
        print(f"  isolated: each learner's server runs as their OS account ({', '.join(settings.learner_uids)} as "
              f"day26-<id>); the grader's files are the instructor's alone")  # fmt: skip
    sys.stdout.flush()
    if args.write_only:
        return 0
    hub = [str(Path(settings.python_bin) / "jupyterhub"), "-f", str(config)]
    umask = 0o077 if settings.isolated else -1  # the hub's database and the servers' files: their owner's alone
    process = subprocess.Popen(hub, cwd=settings.hub_folder, umask=umask)
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches JupyterHub too: it stops the learners' servers and its proxy
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.terminate()
            return process.wait()


def _add_hub(commands) -> None:
    summary = "start a course hub on this machine: JupyterHub with nbgrader's exchange, for a trial run of the class"
    sub = add_command(commands, "hub", command_hub, summary)
    _add_course_options(sub)
    sub.add_argument("--roster", required=True, help="the class roster (CSV): one hub account per learner")
    sub.add_argument("--instructor", required=True, help="the instructor's user name (a hub admin)")
    sub.add_argument("--port", type=int, default=8000,
                     help="the hub's port on 127.0.0.1 (default: 8000); it takes the next two as well")  # fmt: skip
    sub.add_argument("--write-only", action="store_true", help="write the configuration, do not start the hub")
    sub.add_argument("--isolated", action="store_true", help="as root: an OS account per learner, the grader's "
                     "files hidden from learners (for a class; see docs/instructor/hub.md)")  # fmt: skip


def _deadline(text: str | None) -> datetime.datetime | None:
    """The --deadline option as a time (local, without a zone, as LMS downloads give file times)."""
    if text is None:
        return None
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise Day26Error(f"--deadline {text}: not a date and time. Write it as 2026-12-07T18:00.") from None


def _add_autograde(commands) -> None:
    summary = "grade a class: intake, sandboxed execution, verifier, gradebook"
    sub = add_command(commands, "autograde", command_autograde, summary)
    sub.add_argument("submissions", help="a folder holding one folder or .zip file per learner, or with --roster, "
                     "an LMS bulk download (Canvas or Moodle; the zip or its folder)")  # fmt: skip
    _add_course_options(sub)
    sub.add_argument("--roster", help="the class roster (CSV): read SUBMISSIONS as an LMS bulk download, mapped to it")
    sub.add_argument("--deadline", help="the due date, e.g. 2026-12-07T18:00 (local time): later copies are late")
    sub.add_argument("--notebook-seconds", type=int, default=600, help="time limit of each notebook (default: 600)")
    sub.add_argument("--memory-gb", type=float, default=8.0, help="memory limit of the execution (default: 8)")
    sub.add_argument("--force", action="store_true", help="grade again even submissions graded before")
    sub.add_argument(
        "--workers", type=int, default=2, help="submissions graded at once on a local Dask cluster (default: 2)"
    )
    sub.add_argument("--scheduler", help="grade on this existing Dask cluster instead (address, e.g. tcp://host:8786)")


# --- feedback, grades, leaderboard ---------------------------------------------------------------


def command_feedback(args: argparse.Namespace) -> int:
    from grading.feedback import write_feedback

    course = _course(args)
    out = Path(args.out) if args.out else course.workspace / "feedback-html"
    pages = write_feedback(course, out)
    if not pages:
        raise Day26Error(f"{course.workspace / 'records'}: no grading records yet. Run day26 autograde first.")
    if args.json:
        print(json.dumps([str(page) for page in pages], indent=2))
    else:
        print(f"{len(pages)} feedback pages in {out}")
    return 0


def _add_feedback(commands) -> None:
    summary = "write an HTML feedback page per learner from the grading records"
    sub = add_command(commands, "feedback", command_feedback, summary)
    _add_course_options(sub)
    sub.add_argument("--out", help="folder for the pages (default: WORKSPACE/feedback-html)")


GRADES_FORMAT_OPTIONS = {  # which --format each option of day26 grades goes with
    "--roster": ("canvas", "moodle"),
    "--canvas-assignment": ("canvas",),
    "--moodle-user": ("moodle",),
}


def _check_grades_options(args: argparse.Namespace) -> None:
    """Each LMS option goes with its formats only; canvas and moodle need the roster."""
    given = {"--roster": args.roster, "--canvas-assignment": args.canvas_assignment, "--moodle-user": args.moodle_user}
    for option, value in given.items():
        formats = GRADES_FORMAT_OPTIONS[option]
        if value is not None and args.format not in formats:
            raise Day26Error(f"{option} goes with --format {' or '.join(formats)}, not --format {args.format}.")
    if args.format != "csv" and args.roster is None:
        raise Day26Error(f"--format {args.format} needs --roster ROSTER.csv (which LMS user each learner is).")


def command_grades(args: argparse.Namespace) -> int:
    _check_grades_options(args)
    if args.format != "csv":
        return _write_lms_grades(args)
    from grading.grades import grade_rows, write_grades

    course = _course(args)
    out = Path(args.out) if args.out else course.workspace / "grades.csv"
    rows = grade_rows(course)
    if not rows:
        raise Day26Error(f"{course.workspace / 'records'}: no grading records yet. Run day26 autograde first.")
    write_grades(course, out)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['learner']:<20} {row['status']:<13} {row['total']:g}/{row['max_total']:g}")
        print(f"grades CSV: {out}")
    return 0


def _write_lms_grades(args: argparse.Namespace) -> int:
    """``day26 grades --format canvas|moodle``: the LMS import file, one row per roster learner."""
    from grading.lms import LMS_TITLE, lms_grades, write_canvas, write_moodle
    from grading.roster import read_roster

    course = _course(args)
    roster = read_roster(Path(args.roster))
    grades = lms_grades(course, roster)
    out = Path(args.out) if args.out else course.workspace / f"grades-{args.format}.csv"
    if args.format == "canvas":
        write_canvas(grades, out, args.canvas_assignment)
    else:
        write_moodle(grades, out, args.moodle_user or "email")
    if args.json:
        learners = [{"learner": g.entry.learner, "points": g.points, "note": g.note} for g in grades.grades]
        print(
            json.dumps({"format": args.format, "file": str(out), "max_points": grades.max_points, "grades": learners})
        )
        return 0
    for grade in grades.grades:
        points = "empty" if grade.points is None else f"{grade.points:g}/{grades.max_points:g}"
        print(f"{grade.entry.learner:<20} {points:>11}")
    for note in grades.notes():
        print(note)
    if args.format == "moodle":
        print(f"in Moodle, map the column '{LMS_TITLE}' to a grade item whose maximum grade is {grades.max_points:g}")
    print(f"{args.format} grades: {out}")
    return 0


def _add_grades(commands) -> None:
    summary = "write the grades CSV (verified points, reflections, status, reasons), or a Canvas or Moodle import file"
    sub = add_command(commands, "grades", command_grades, summary)
    _add_course_options(sub)
    sub.add_argument(
        "--format",
        choices=("csv", "canvas", "moodle"),
        default="csv",
        help="csv: every column (default); canvas: Canvas Gradebook import; moodle: Moodle CSV grade import",
    )
    sub.add_argument("--roster", help="the roster CSV mapping learner ids to LMS users (needed by canvas and moodle)")
    sub.add_argument(
        "--canvas-assignment", help="the Canvas assignment's number; without it Canvas matches the title 'Day 26'"
    )
    sub.add_argument(
        "--moodle-user",
        choices=("email", "idnumber"),
        help="the column Moodle maps users from: email (default) or idnumber (the roster's moodle_idnumber)",
    )
    sub.add_argument("--out", help="the file (default: WORKSPACE/grades.csv, grades-canvas.csv, grades-moodle.csv)")


def command_roster(args: argparse.Namespace) -> int:
    from grading.roster import read_roster, write_names_to_gradebook

    course = _course(args)
    roster = read_roster(Path(args.roster))
    if not course.gradebook.is_file():
        raise Day26Error(f"{course.gradebook}: no gradebook yet. Run day26 autograde first (or give --workspace).")
    count = write_names_to_gradebook(roster, course.db_url)
    if args.json:
        print(json.dumps({"gradebook": str(course.gradebook), "learners": count}))
    else:
        print(f"names and emails of {count} learners from {roster.path} in the gradebook {course.gradebook}")
    return 0


def _add_roster(commands) -> None:
    summary = "give the formgrader the learners' names: write the roster's names and emails into the gradebook"
    sub = add_command(commands, "roster", command_roster, summary)
    sub.add_argument("roster", help="the roster CSV (columns: see docs/instructor/lms.md)")
    _add_course_options(sub)


def command_leaderboard(args: argparse.Namespace) -> int:
    from grading.leaderboard import write_leaderboard, write_leaderboard_card

    course = _course(args)
    out = Path(args.out) if args.out else course.workspace / "leaderboard"
    written = write_leaderboard(course, out, args.names or "id")
    teams = None
    if args.teams or args.post:
        card_path, card = write_leaderboard_card(course, out, args.names or "pseudonym")
        teams = teams_outcome(card_path, card, args.post)
    if args.json:
        files = [str(path) for path in written]
        print(json.dumps({"files": files, "teams": teams} if teams else files, indent=2))
    else:
        print(written[0].read_text())
        print(f"leaderboard: {', '.join(str(path) for path in written)}")
        if teams:
            print_teams_outcome(teams)
    return teams_status(teams)


def _add_leaderboard(commands) -> None:
    summary = "rank the graded class per track, from the verifier's figures"
    sub = add_command(commands, "leaderboard", command_leaderboard, summary)
    _add_course_options(sub)
    sub.add_argument(
        "--names",
        choices=("id", "pseudonym", "hidden"),
        help="how learners appear (default: id in the files, pseudonym on the Teams card)",
    )
    sub.add_argument("--out", help="folder for the leaderboard files (default: WORKSPACE/leaderboard)")
    add_teams_options(sub, "card.json")


def command_copies(args: argparse.Namespace) -> int:
    from grading.copies import review_copies

    course = _course(args)
    if not (course.workspace / "records").is_dir():
        raise Day26Error(f"{course.workspace / 'records'}: no grading records yet. Run day26 autograde first.")
    report = review_copies(course)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.table())
    return 0


def _add_copies(commands) -> None:
    summary = "compare every learner's hand-in with every other's: identical files, the same weights; flag for review"
    sub = add_command(commands, "copies", command_copies, summary)
    _add_course_options(sub)


# --- throughput, lane-check --------------------------------------------------------------------


def command_throughput(args: argparse.Namespace) -> int:
    from grading.throughput import measure_throughput

    report = measure_throughput(Path(args.root).resolve(), Path(args.out), args.learners, args.workers, args.track)
    if args.json:
        print(json.dumps(asdict(report) | {"speedup": report.speedup}, indent=2))
    else:
        print(report.summary())
    return 0 if report.same_grades else 1


def _add_throughput(commands) -> None:
    summary = "grade a generated class one by one and in parallel: same grades? how much faster? projected cohort time"
    sub = add_command(commands, "throughput", command_throughput, summary)
    sub.add_argument("--root", default=".", help="the workbook folder (default: the current folder)")
    sub.add_argument("--learners", type=int, default=30, help="size of the generated class (default: 30)")
    sub.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default: 2)")
    sub.add_argument("--track", default="tabular", help="the class's track (default: tabular)")
    sub.add_argument("--out", default="course/throughput", help="working folder (default: course/throughput)")


def command_lane_check(args: argparse.Namespace) -> int:
    from grading.stability import lane_stability

    track = get_track(args.track)
    bar = progress(args.runs, f"verifying {track.name} x{args.runs}", args.json)
    report = lane_stability(track, args.runs, Path(args.out), on_run=lambda run: bar.update(1))
    bar.close()
    if args.json:
        print(json.dumps(report.__dict__ | {"stable": report.stable}, indent=2))
    else:
        print(report.summary())
    return 0 if report.stable else 1


def _add_lane_check(commands) -> None:
    summary = "are speed verdicts stable? verify the reference and an unoptimized model N times"
    sub = add_command(commands, "lane-check", command_lane_check, summary)
    sub.add_argument("--track", default="images", help=f"{TRACK_HELP} (default: images)")
    sub.add_argument("--runs", type=int, default=20, help="verifications of each submission (default: 20)")
    sub.add_argument("--out", default="course/lane-check", help="working folder (default: course/lane-check)")


# --- demo --------------------------------------------------------------------------------------


def command_demo(args: argparse.Namespace) -> int:
    from helpers.reference import checkpoint_path

    names = sorted(TRACKS) if args.track == "all" else [get_track(args.track).name]
    outcomes = []
    for name in names:
        if not args.json:
            print(f"\n=== {name} track: {TRACKS[name].description} ===")
        if not checkpoint_path(TRACKS[name]).is_file() and not args.json:
            print("(training the reference model first: at most about two minutes)")
        outcome = run_optimize(name, Path(args.out) / name, args.json)
        outcomes.append(outcome)
        if not args.json:
            print(outcome["summary"])
            print(f"artifacts in {outcome['out_dir']} ({outcome['seconds']:.0f} s)")
    graded = [] if args.skip_grading else _demo_grading(Path(args.out), args.json)
    if args.json:
        tracks = [{key: value for key, value in outcome.items() if key != "summary"} for outcome in outcomes]
        print(json.dumps({"tracks": tracks, "class": graded}))
    targets_met = all(outcome["targets_met"] for outcome in outcomes)
    class_right = all(_as_expected(row) for row in graded)
    return 0 if targets_met and class_right else 1


def _as_expected(row: dict) -> bool:
    """Did a sample learner earn what it should (see grading.samples.SAMPLE_CLASS_POINTS)?"""
    from grading.samples import SAMPLE_CLASS_POINTS

    expected = SAMPLE_CLASS_POINTS[row["learner"]]
    if expected is None:
        return row["status"] == "refused"
    return row["autograded_points"] == expected


def _demo_grading(out: Path, quiet: bool) -> list[dict]:
    """The instructor's side of the demo: build a sample class on the tabular track, autograde it
    (intake, sandboxed execution, verifier, gradebook), and write the grades and feedback."""
    from grading.autograde import Course, prepare_course, submissions_in, summary_table
    from grading.feedback import write_feedback
    from grading.grades import grade_rows, write_grades
    from grading.leaderboard import write_leaderboard
    from grading.samples import sample_class
    from grading.sandbox import Limits, isolation_warning, probe_isolation

    root = Path(".").resolve()
    if not (root / "solutions").is_dir():
        raise Day26Error(f"{root}: no solutions/ here. Run the demo in the workbook's folder, or pass --skip-grading.")
    if not quiet:
        print("\n=== autograding a sample class (tabular track): the reference, the blank release, a cheat,")
        print("    a partial hand-in, a learner who skipped structured pruning, an escaping zip ===")
        if not probe_isolation().available:
            print(isolation_warning(probe_isolation()), file=sys.stderr)
    course = Course(root, out / "course")
    prepare_course(course)
    sources = submissions_in(sample_class(root, out / "submissions", "tabular"))
    outcomes = _grade_class(course, sources, Limits(), workers=2, scheduler=None, force=True, quiet=quiet)
    rows = grade_rows(course)
    grades = write_grades(course, course.workspace / "grades.csv")
    pages = write_feedback(course, course.workspace / "feedback-html")
    board = write_leaderboard(course, course.workspace / "leaderboard", naming="id")
    if not quiet:
        print(summary_table(outcomes))
        print(f"grades: {grades}; feedback pages: {pages[0].parent}")
        print()
        print(board[0].read_text())
        print(f"leaderboard: {', '.join(str(path) for path in board)}")
    return rows


def _add_demo(commands) -> None:
    summary = "the main job: optimize a track (or all), then autograde a sample class"
    sub = add_command(commands, "demo", command_demo, summary)
    sub.add_argument("--track", default="images", help=f"{TRACK_HELP}, or all (default: images)")
    sub.add_argument("--out", default="day26-demo", help="output folder (default: day26-demo)")
    sub.add_argument("--skip-grading", action="store_true", help="only the optimization, no sample class")


# --- results -----------------------------------------------------------------------------------


def command_results(args: argparse.Namespace) -> int:
    from grading.results import RESULTS_FOLDER, all_tracks, measure, read_runs, render_folder, save_run

    root = Path(args.root).resolve()
    folder = Path(args.out) if args.out else root / RESULTS_FOLDER
    if args.render_only:
        pages = render_folder(folder)
        print(json.dumps([str(page) for page in pages]) if args.json else f"rendered {len(pages)} pages in {folder}")
        return 0
    if not (root / "solutions" / "day26").is_dir():
        raise Day26Error(f"{root}: no solutions/day26 here. Run `day26 results` in the workbook folder, or --root.")
    tracks = all_tracks() if args.track == "all" else [get_track(args.track).name]
    steps = 2 * len(tracks) + (0 if args.skip_grading else 1)
    bar = progress(steps, "measuring", args.json)
    started = time.perf_counter()
    done: list[str] = []

    def on_step(step: str) -> None:
        if done:
            bar.update(1)
        done.append(step)
        bar.set_postfix_str(step)

    run = measure(root, tracks, grading=not args.skip_grading, on_step=on_step)
    bar.update(1)
    bar.close()
    run["wall_seconds"] = round(time.perf_counter() - started, 1)
    path = save_run(run, folder)
    if args.json:
        print(json.dumps({"run": str(path), "pages": [str(folder / f"{name}.md") for name, _ in read_runs(folder)]}))
    else:
        print((folder / "index.md").read_text())
        print(f"saved {path} and its page {path.with_suffix('.md')} ({run['wall_seconds']:.0f} s)")
    failed = [name for name, track in run["tracks"].items() if track["workbook"]["failed_cells"]]
    if failed:
        print(f"the workbook of {', '.join(failed)} had failed cells: see {path.with_suffix('.md')}", file=sys.stderr)
    return 1 if failed else 0


def _add_results(commands) -> None:
    summary = "measure what the docs quote (pipeline, workbook, sample class) into docs/results/"
    sub = add_command(commands, "results", command_results, summary)
    sub.add_argument("--track", default="all", help=f"{TRACK_HELP}, or all (default: all)")
    sub.add_argument("--root", default=".", help="the workbook folder (default: the current folder)")
    sub.add_argument("--out", help="the results folder (default: ROOT/docs/results)")
    sub.add_argument("--skip-grading", action="store_true", help="no sample class, only the tracks")
    sub.add_argument("--render-only", action="store_true", help="measure nothing: render the pages from the JSON files")


INSTRUCTOR_COMMANDS = (
    _add_optimize,
    _add_release,
    _add_verify,
    _add_autograde,
    _add_collect,
    _add_late_policy,
    _add_hub,
    _add_feedback,
    _add_grades,
    _add_roster,
    _add_leaderboard,
    _add_copies,
    _add_throughput,
    _add_lane_check,
    _add_demo,
    _add_results,
)


def build_instructor_parser() -> argparse.ArgumentParser:
    """The learner's commands, then the instructor's."""
    parser, commands = build_parser()
    for add in INSTRUCTOR_COMMANDS:
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(build_instructor_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
