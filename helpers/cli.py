"""The ``day26`` command line.

Learner side: ``train``, ``optimize``, ``inspect``. Instructor side: ``release``, ``autograde``, ``verify``,
``feedback``, ``grades``, ``lane-check``, ``demo``.
Every subcommand has ``--help``; ``--json`` prints machine-readable output on stdout.
Problems with the input print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from helpers.errors import Day26Error
from helpers.tracks import TRACKS, get_track

EXIT_BAD_INPUT = 2


def _progress(total: int, description: str, quiet: bool) -> tqdm:
    """A progress bar on stderr (hidden with --json, so stdout stays clean JSON)."""
    return tqdm(total=total, desc=description, unit="step", disable=quiet, file=sys.stderr, leave=False)


def command_train(args: argparse.Namespace) -> int:
    from helpers.reference import checkpoint_path, ready_model

    track = get_track(args.track)
    bar = _progress(track.training.epochs, f"training {track.name}", args.json)
    exists = checkpoint_path(track).is_file() and not args.retrain
    ready = ready_model(track, retrain=args.retrain, on_epoch=lambda epoch, loss: bar.update(1))
    bar.close()
    info = {
        "track": track.name,
        "path": str(ready.path),
        "val_accuracy": ready.val_accuracy,
        "seconds_to_train": ready.seconds_to_train,
        "was_cached": exists,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        how = "already trained" if exists else f"trained in {ready.seconds_to_train:.0f} s"
        print(f"{track.name}: {track.description}")
        print(f"  model     {ready.path} ({how})")
        print(f"  accuracy  {ready.val_accuracy:.2%} on {track.val_size} validation samples")
    return 0


def _run_optimize(track_name: str, out_dir: Path, quiet: bool) -> dict:
    from helpers.pipeline import STEPS, run_pipeline

    track = get_track(track_name)
    bar = _progress(len(STEPS), f"optimizing {track.name}", quiet)
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
        "records": result.records,
        "summary": result.summary(),
    }


def command_optimize(args: argparse.Namespace) -> int:
    outcome = _run_optimize(args.track, Path(args.out), args.json)
    if args.json:
        print(json.dumps({key: value for key, value in outcome.items() if key != "summary"}, indent=2))
    else:
        print(outcome["summary"])
        print(f"\nartifacts, results.json and comparison.png in {outcome['out_dir']} ({outcome['seconds']:.0f} s)")
    return 0


def command_inspect(args: argparse.Namespace) -> int:
    from helpers.artifacts import inspect_artifact

    report = inspect_artifact(args.path)
    print(json.dumps(report.as_dict(), indent=2) if args.json else report)
    return 0


def command_demo(args: argparse.Namespace) -> int:
    from helpers.reference import checkpoint_path

    names = sorted(TRACKS) if args.track == "all" else [get_track(args.track).name]
    outcomes = []
    for name in names:
        if not args.json:
            print(f"\n=== {name} track: {TRACKS[name].description} ===")
        if not checkpoint_path(TRACKS[name]).is_file() and not args.json:
            print("(training the reference model first: at most about two minutes)")
        outcome = _run_optimize(name, Path(args.out) / name, args.json)
        outcomes.append(outcome)
        if not args.json:
            print(outcome["summary"])
            print(f"artifacts in {outcome['out_dir']} ({outcome['seconds']:.0f} s)")
    graded = [] if args.skip_grading else _demo_grading(Path(args.out), args.json)
    if args.json:
        print(
            json.dumps({"tracks": [{k: v for k, v in o.items() if k != "summary"} for o in outcomes], "class": graded})
        )
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


def command_verify(args: argparse.Namespace) -> int:
    from grading.verify import verify_submission

    verdict = verify_submission(Path(args.submission), args.track, part=args.part)
    if args.out:
        Path(args.out).write_text(json.dumps(verdict.as_dict(), indent=1))
    print(json.dumps(verdict.as_dict(), indent=2) if args.json else verdict.table())
    return 0 if verdict.passed else 1


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


def command_autograde(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from grading.autograde import prepare_course, submissions_in, summary_table
    from grading.sandbox import GIB, Limits, isolation_warning, probe_isolation

    course = _course(args)
    sources = submissions_in(Path(args.submissions))
    limits = Limits(notebook_seconds=args.notebook_seconds, memory_bytes=int(args.memory_gb * GIB))
    if not probe_isolation().available:
        print(isolation_warning(probe_isolation()), file=sys.stderr)
    prepare_course(course)
    outcomes = _grade_class(course, sources, limits, args.workers, args.scheduler, args.force, args.json)
    if args.json:
        print(json.dumps([asdict(outcome) for outcome in outcomes], indent=2))
    else:
        print(summary_table(outcomes))
        print(f"records in {course.workspace / 'records'}; gradebook {course.gradebook}")
    return 0


def command_release(args: argparse.Namespace) -> int:
    from grading.bundle import build_bundle
    from grading.release import build_release

    release = build_release(Path(args.root))
    bundle = build_bundle(Path(args.root), Path(args.bundle))
    notebooks = sorted(path.name for path in release.glob("*.ipynb"))
    if args.json:
        print(json.dumps({"release": str(release), "notebooks": notebooks, "bundle": str(bundle)}, indent=2))
    else:
        print(f"student release built from solutions/: {release}")
        for name in notebooks:
            print(f"  {name}")
        print(f"learner bundle (release notebooks, helpers, install files): {bundle}")
    return 0


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


def command_grades(args: argparse.Namespace) -> int:
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


def command_card(args: argparse.Namespace) -> int:
    from helpers.card import make_card

    picture, table = make_card(Path(args.results), Path(args.out))
    if args.json:
        print(json.dumps({"png": str(picture), "markdown": str(table)}, indent=2))
    else:
        print(table.read_text())
        print(f"results card: {picture} (picture) and {table} (Markdown), ready to paste into Teams")
    return 0


def command_leaderboard(args: argparse.Namespace) -> int:
    from grading.leaderboard import write_leaderboard

    course = _course(args)
    out = Path(args.out) if args.out else course.workspace / "leaderboard"
    written = write_leaderboard(course, out, args.names)
    if args.json:
        print(json.dumps([str(path) for path in written], indent=2))
    else:
        print(written[0].read_text())
        print(f"leaderboard: {', '.join(str(path) for path in written)}")
    return 0


def command_throughput(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from grading.throughput import measure_throughput

    report = measure_throughput(Path(args.root).resolve(), Path(args.out), args.learners, args.workers, args.track)
    if args.json:
        print(json.dumps(asdict(report) | {"speedup": report.speedup}, indent=2))
    else:
        print(report.summary())
    return 0 if report.same_grades else 1


def command_lane_check(args: argparse.Namespace) -> int:
    from grading.stability import lane_stability

    track = get_track(args.track)
    bar = _progress(args.runs, f"verifying {track.name} x{args.runs}", args.json)
    report = lane_stability(track, args.runs, Path(args.out), on_run=lambda run: bar.update(1))
    bar.close()
    if args.json:
        print(json.dumps(report.__dict__ | {"stable": report.stable}, indent=2))
    else:
        print(report.summary())
    return 0 if report.stable else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="day26", description="Day 26 workbook: make a model faster and smaller, and measure it honestly."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    track_help = f"one of: {', '.join(sorted(TRACKS))}"

    def add(name: str, handler: Callable[[argparse.Namespace], int], summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(handler=handler)
        return sub

    train = add("train", command_train, "make the track's reference Week-5 model ready (train once, then cached)")
    train.add_argument("--track", required=True, help=track_help)
    train.add_argument("--retrain", action="store_true", help="train again even if a trained model exists")
    train.add_argument("--json", action="store_true", help="print JSON")

    optimize = add("optimize", command_optimize, "run every optimization on a track, save artifacts, print the table")
    optimize.add_argument("--track", required=True, help=track_help)
    optimize.add_argument("--out", default="artifacts", help="output folder (default: artifacts)")
    optimize.add_argument("--json", action="store_true", help="print JSON")

    inspect = add("inspect", command_inspect, "size on disk, parameters, sparsity and dtypes of a .pth or .onnx file")
    inspect.add_argument("path", help="a .pth state_dict or an .onnx model")
    inspect.add_argument("--json", action="store_true", help="print JSON")

    release = add("release", command_release, "build the student release notebooks/day26 from solutions/day26")
    release.add_argument("--root", default=".", help="the workbook folder (default: the current folder)")
    release.add_argument("--bundle", default="course/day26-learner.zip", help="where to write the learner bundle zip")
    release.add_argument("--json", action="store_true", help="print JSON")

    verify = add("verify", command_verify, "the grader's own check of one learner folder's artifacts")
    verify.add_argument("submission", help="the learner's folder (the one holding artifacts/)")
    verify.add_argument("--track", help=f"{track_help} (default: the learner's artifacts/track.json)")
    verify.add_argument("--json", action="store_true", help="print JSON, with the raw timing samples")
    verify.add_argument(
        "--part",
        choices=("all", "measure", "speed"),
        default="all",
        help="all checks (default); every check but speed; or the speed checks alone (the benchmark lane)",
    )

    verify.add_argument("--out", help="also write the verdict as JSON to this file")

    def add_course_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--root", default=".", help="the workbook folder (default: the current folder)")
        sub.add_argument("--workspace", help="where the gradebook and grading records live (default: ROOT/course)")

    autograde = add("autograde", command_autograde, "grade a class: intake, sandboxed execution, verifier, gradebook")
    autograde.add_argument("submissions", help="a folder holding one folder or .zip file per learner")
    add_course_options(autograde)
    autograde.add_argument(
        "--notebook-seconds", type=int, default=600, help="time limit of each notebook (default: 600)"
    )
    autograde.add_argument("--memory-gb", type=float, default=8.0, help="memory limit of the execution (default: 8)")
    autograde.add_argument("--force", action="store_true", help="grade again even submissions graded before")
    autograde.add_argument(
        "--workers", type=int, default=2, help="submissions graded at once on a local Dask cluster (default: 2)"
    )
    autograde.add_argument(
        "--scheduler", help="grade on this existing Dask cluster instead (address, e.g. tcp://host:8786)"
    )
    autograde.add_argument("--json", action="store_true", help="print JSON")

    feedback = add("feedback", command_feedback, "write an HTML feedback page per learner from the grading records")
    add_course_options(feedback)
    feedback.add_argument("--out", help="folder for the pages (default: WORKSPACE/feedback-html)")
    feedback.add_argument("--json", action="store_true", help="print JSON")

    grades = add("grades", command_grades, "write the grades CSV (verified points, reflections, status, reasons)")
    add_course_options(grades)
    grades.add_argument("--out", help="the CSV file (default: WORKSPACE/grades.csv)")
    grades.add_argument("--json", action="store_true", help="print JSON")

    card = add("card", command_card, "a results card (PNG and Markdown) of your results.json, for the Teams check-in")
    card.add_argument("--results", default="artifacts/results.json", help="default: artifacts/results.json")
    card.add_argument("--out", default="artifacts", help="folder for card.png and card.md (default: artifacts)")
    card.add_argument("--json", action="store_true", help="print JSON")

    board = add("leaderboard", command_leaderboard, "rank the graded class per track, from the verifier's figures")
    add_course_options(board)
    board.add_argument(
        "--names", choices=("id", "pseudonym", "hidden"), default="id", help="how learners appear (default: id)"
    )
    board.add_argument("--out", help="folder for the leaderboard files (default: WORKSPACE/leaderboard)")
    board.add_argument("--json", action="store_true", help="print JSON")

    throughput = add(
        "throughput",
        command_throughput,
        "grade a generated class one by one and in parallel: same grades? how much faster? projected cohort time",
    )
    throughput.add_argument("--root", default=".", help="the workbook folder (default: the current folder)")
    throughput.add_argument("--learners", type=int, default=30, help="size of the generated class (default: 30)")
    throughput.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default: 2)")
    throughput.add_argument("--track", default="tabular", help="the class's track (default: tabular)")
    throughput.add_argument("--out", default="course/throughput", help="working folder (default: course/throughput)")
    throughput.add_argument("--json", action="store_true", help="print JSON")

    lane = add(
        "lane-check",
        command_lane_check,
        "are speed verdicts stable? verify the reference and an unoptimized model N times",
    )
    lane.add_argument("--track", default="images", help=f"{track_help} (default: images)")
    lane.add_argument("--runs", type=int, default=20, help="verifications of each submission (default: 20)")
    lane.add_argument("--out", default="course/lane-check", help="working folder (default: course/lane-check)")
    lane.add_argument("--json", action="store_true", help="print JSON with every figure")

    demo = add("demo", command_demo, "the main job: optimize a track (or all), then autograde a sample class")
    demo.add_argument("--track", default="images", help=f"{track_help}, or all (default: images)")
    demo.add_argument("--out", default="day26-demo", help="output folder (default: day26-demo)")
    demo.add_argument("--skip-grading", action="store_true", help="only the optimization, no sample class")
    demo.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except Day26Error as error:
        print(f"day26 {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"day26 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
