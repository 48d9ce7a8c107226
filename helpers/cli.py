"""The learner's ``day26`` command line: ``train``, ``inspect``, ``check``, ``validate``, ``card``, ``pack``,
``machine``.

Every subcommand has ``--help``; ``--json`` prints machine-readable output on stdout. Problems
with the input print one line on stderr and exit with status 2.

The instructor's commands (``optimize``, ``release``, ``autograde``, ``verify``, ...) are not here: they live in
the instructor's package, whose ``grading.cli`` adds them to this parser. A learner's install has
these seven commands only. Each finds the learner's files from the bundle's top or the notebook folder
(:mod:`helpers.folders`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from helpers import contract
from helpers.errors import Day26Error
from helpers.tracks import TRACKS, get_track

EXIT_BAD_INPUT = 2
TRACK_HELP = f"one of: {', '.join(sorted(TRACKS))}"
Handler = Callable[[argparse.Namespace], int]


def progress(total: int, description: str, quiet: bool) -> tqdm:
    """A progress bar on stderr (hidden with --json, so stdout stays clean JSON)."""
    return tqdm(total=total, desc=description, unit="step", disable=quiet, file=sys.stderr, leave=False)


def add_command(commands: argparse._SubParsersAction, name: str, handler: Handler, summary: str):
    """Add the subcommand ``name`` (run by ``handler``) with a ``--json`` option; return its parser."""
    sub = commands.add_parser(name, help=summary, description=summary)
    sub.set_defaults(handler=handler)
    sub.add_argument("--json", action="store_true", help="print JSON")
    return sub


# --- train -------------------------------------------------------------------------------------


def command_train(args: argparse.Namespace) -> int:
    from helpers.reference import checkpoint_path, ready_model

    track = get_track(args.track)
    bar = progress(track.training.epochs, f"training {track.name}", args.json)
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


def _add_train(commands: argparse._SubParsersAction) -> None:
    sub = add_command(commands, "train", command_train, "make the track's reference Week-5 model ready (train once)")
    sub.add_argument("--track", required=True, help=TRACK_HELP)
    sub.add_argument("--retrain", action="store_true", help="train again even if a trained model exists")


# --- inspect -----------------------------------------------------------------------------------


def command_inspect(args: argparse.Namespace) -> int:
    from helpers.artifacts import inspect_artifact
    from helpers.folders import learner_file

    report = inspect_artifact(learner_file(args.path))
    print(json.dumps(report.as_dict(), indent=2) if args.json else report)
    return 0


def _add_inspect(commands: argparse._SubParsersAction) -> None:
    summary = "size on disk, parameters, sparsity and dtypes of a .pth or .onnx file"
    sub = add_command(commands, "inspect", command_inspect, summary)
    sub.add_argument("path", help="a .pth state_dict or an .onnx model")


# --- machine -----------------------------------------------------------------------------------


def command_machine(args: argparse.Namespace) -> int:
    from helpers.grading_machine import int8_on
    from helpers.machine import machine_description, machine_kind

    machine = machine_description()
    print(json.dumps(machine, indent=2) if args.json else f"{machine_kind(machine)}, {machine['cores']} cores: "
          f"{int8_on(machine)}")  # fmt: skip
    return 0


def _add_machine(commands: argparse._SubParsersAction) -> None:
    summary = "this machine's processor and INT8 instructions (--json: the file that names a grading machine)"
    add_command(commands, "machine", command_machine, summary)


# --- check -------------------------------------------------------------------------------------


def command_check(args: argparse.Namespace) -> int:
    """Your recorded figures against the targets, judged by the grader's rule: your own model's
    targets when the day ran on it (``track.json`` names its class), the track's otherwise."""
    from helpers.folders import artifacts_folder
    from helpers.grading_machine import grading_machine_lines, read_grading_machine
    from helpers.report import records_by_variant
    from helpers.targets import MISSED, TARGETS_FILE
    from helpers.workbook import judge_lane_estimate, judge_recorded, recorded_own_model

    folder = artifacts_folder(args.artifacts)
    results = contract.RESULTS.path(folder)
    records = records_by_variant(results)
    grader = read_grading_machine(folder.parent)
    if contract.BASELINE.variant not in records:
        raise Day26Error(f"{results}: no baseline record. Run the notebooks (01 first).")
    track = get_track(records[contract.BASELINE.variant].track)
    own_model = recorded_own_model(folder)
    rows = []
    for variant in records:
        artifact = contract.artifact_of_variant(variant)
        if not artifact.target or variant == contract.BASELINE.variant:
            continue
        judgements = judge_recorded(track, artifact, results, own_model=own_model is not None)
        if own_model and artifact is contract.COMBINED:
            lane = judge_lane_estimate(track.name, results)
            judgements += [replace(lane, figure="lane")] if lane else []
        rows.append({"artifact": artifact.file, "judgements": judgements, "saved": artifact.path(folder).is_file()})
    missed = any(j.status == MISSED for row in rows for j in row["judgements"])
    targets = f"your own {own_model}'s targets" if own_model else f"the {track.name} targets"
    if args.json:
        shown = [
            {
                "artifact": row["artifact"],
                "saved": row["saved"],
                "figures": [
                    {"figure": j.figure, "measured": j.measured, "target": j.target, "status": j.status}
                    for j in row["judgements"]
                ],
            }
            for row in rows
        ]
        print(json.dumps({"track": track.name, "own_model": own_model, "results": str(results), "artifacts": shown,
                          "grading_machine": grader}, indent=2))  # fmt: skip
    else:
        print(f"{track.name} track, figures from {results} (self-measured), against {targets} in {TARGETS_FILE}")
        for row in rows:
            note = "" if row["saved"] else "  (the file is missing: save it again)"
            print(f"  {row['artifact']}{note}")
            for j in row["judgements"]:
                print(f"    {j.figure:<10} {j.measured_text():<16} {j.target_text():<16} {j.verdict_text()}")
        if own_model and any(j.figure == "lane" for row in rows for j in row["judgements"]):
            print("  (lane: the grader times optimized.onnx against your model.onnx; estimated here from your records)")
        for line in grading_machine_lines(records[contract.BASELINE.variant].machine, grader):
            print(f"  {line}")
        print("=> some targets not met" if missed else "=> no target missed (the grader measures again)")
    return 1 if missed else 0


def _add_check(commands: argparse._SubParsersAction) -> None:
    summary = "your recorded figures (artifacts/results.json) against the targets, by the grader's rule"
    sub = add_command(commands, "check", command_check, summary)
    sub.add_argument("--artifacts", help="the artifacts folder (default: the one beside the notebooks)")


# --- validate ----------------------------------------------------------------------------------

VALIDATE_PASSED = "Success! Your notebook passes all the tests."


def command_validate(args: argparse.Namespace) -> int:
    """nbgrader's Validate, from any folder, with the course's limits, and an exit status that says
    whether every notebook passed (``nbgrader validate`` exits 0 even for a notebook that fails, and
    prints nothing for a path that does not exist)."""
    import subprocess

    from helpers.folders import NBGRADER_CONFIG, learner_file, nbgrader_settings_folder

    notebooks = [learner_file(name) for name in args.notebooks]
    for notebook in notebooks:
        if notebook.suffix != ".ipynb" or not notebook.is_file():
            raise Day26Error(f"{notebook}: not a notebook file. Name one of the day's .ipynb files.")
    outcomes = {}
    for notebook in notebooks:
        settings = nbgrader_settings_folder(notebook)
        if settings is None:
            raise Day26Error(
                f"{notebook}: no {NBGRADER_CONFIG} in its folder or above, so Validate would not have the grader's "
                "time limit. Validate the notebooks inside the workbook's folder."
            )
        if not args.json:
            print(f"validating {notebook} (limits from {settings / NBGRADER_CONFIG}) ...", flush=True)
        command = [sys.executable, "-m", "nbgrader", "validate", str(notebook.resolve())]
        ran = subprocess.run(command, cwd=settings, capture_output=True, text=True, check=False)
        passed = ran.returncode == 0 and VALIDATE_PASSED in ran.stdout
        outcomes[str(notebook)] = {"passed": passed, "report": ran.stdout.strip() or ran.stderr.strip()[-2000:]}
        if not args.json:
            print(outcomes[str(notebook)]["report"])
    if args.json:
        print(json.dumps(outcomes, indent=2))
    else:
        failed = [name for name, outcome in outcomes.items() if not outcome["passed"]]
        print(f"=> {len(outcomes) - len(failed)} of {len(outcomes)} notebook(s) pass all their tests"
              + (f"; not yet: {', '.join(Path(name).name for name in failed)}" if failed else ""))  # fmt: skip
    return 0 if all(outcome["passed"] for outcome in outcomes.values()) else 1


def _add_validate(commands: argparse._SubParsersAction) -> None:
    summary = "run notebooks afresh and check their tests, as JupyterLab's Validate does, from any folder"
    sub = add_command(commands, "validate", command_validate, summary)
    sub.add_argument("notebooks", nargs="+", help="notebook files, e.g. 01_baseline.ipynb (found in notebooks/day26)")


# --- pack --------------------------------------------------------------------------------------


def command_pack(args: argparse.Namespace) -> int:
    """The hand-in zip: the notebooks, artifacts/ and a declared model's files, checked as the grader's
    intake checks them; exit 1 when something the grader reads is missing."""
    from helpers.folders import notebook_folder
    from helpers.hand_in import pack

    folder = notebook_folder()
    packed = pack(folder, args.name, Path(args.out) if args.out else None)
    if args.json:
        print(json.dumps({"zip": str(packed.zip_path), "files": packed.files, "bytes": packed.size_bytes,
                          "missing": packed.missing}, indent=2))  # fmt: skip
    else:
        print(f"packed from {folder}")
        print(packed.summary())
    return 1 if packed.missing else 0


def _add_pack(commands: argparse._SubParsersAction) -> None:
    summary = (
        "pack your hand-in (notebooks, artifacts, your declared model) into YOUR_ID.zip, checked as the grader will"
    )
    sub = add_command(commands, "pack", command_pack, summary)
    sub.add_argument("--name", required=True, help="your learner id, as your instructor gave it: the zip's name")
    sub.add_argument("--out", help="the folder to write the zip in (default: the current folder)")


# --- card --------------------------------------------------------------------------------------


def add_teams_options(sub: argparse.ArgumentParser, card_file: str) -> None:
    """Add ``--teams`` (write ``card_file``, the card as a Teams message) and ``--post URL``."""
    sub.add_argument(
        "--teams",
        action="store_true",
        help=f"also write {card_file}: the card as a Teams message (Adaptive Card 1.5, checked, under 28 KB)",
    )
    sub.add_argument(
        "--post",
        metavar="URL",
        help=f"post {card_file} to this Teams Workflows webhook (implies --teams)",
    )


def teams_outcome(path: Path, card, url: str | None) -> dict:
    """What --teams and --post did: the card file, its size and picture, and (with ``url``) the
    webhook's answer. ``card`` is a :class:`helpers.adaptive_cards.FittedCard`."""
    outcome = {"json": str(path), "bytes": card.size_bytes, "picture_dpi": card.picture_dpi, "summary": card.summary()}
    if url:
        from helpers.teams_webhook import post_card_file

        posted = post_card_file(path, url)
        outcome |= {"posted": posted.posted, "answer": posted.line}
    return outcome


def print_teams_outcome(outcome: dict) -> None:
    """Print what --teams and --post did, one line each (a post that did not go through on stderr)."""
    print(f"Teams card: {outcome['json']} ({outcome['summary']})")
    if "answer" in outcome:
        print(outcome["answer"], file=sys.stdout if outcome["posted"] else sys.stderr)


def teams_status(outcome: dict | None) -> int:
    """The exit status: 1 when a post did not go through, else 0."""
    return 1 if outcome and outcome.get("posted") is False else 0


def command_card(args: argparse.Namespace) -> int:
    from helpers.card import make_card
    from helpers.folders import results_file

    results = results_file(args.results)
    out = Path(args.out) if args.out else results.parent
    picture, table = make_card(results, out)
    teams = None
    if args.teams or args.post:
        from helpers.teams_card import write_teams_card

        teams = teams_outcome(*write_teams_card(results, out), args.post)
    if args.json:
        print(json.dumps({"png": str(picture), "markdown": str(table)} | ({"teams": teams} if teams else {}), indent=2))
    else:
        print(table.read_text())
        print(f"results card: {picture} (picture) and {table} (Markdown), ready to paste into Teams")
        if teams:
            print_teams_outcome(teams)
    return teams_status(teams)


def _add_card(commands: argparse._SubParsersAction) -> None:
    summary = "a results card (PNG and Markdown) of your results.json, for the Teams check-in"
    sub = add_command(commands, "card", command_card, summary)
    sub.add_argument("--results", help="results.json (default: the one beside the notebooks)")
    sub.add_argument("--out", help="folder for card.png, card.md, card.json (default: the folder of results.json)")
    add_teams_options(sub, "card.json")


LEARNER_COMMANDS = (_add_train, _add_inspect, _add_check, _add_validate, _add_card, _add_pack, _add_machine)


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The learner's parser and its subcommands (the instructor's package adds its own to them)."""
    parser = argparse.ArgumentParser(
        prog="day26", description="Day 26 workbook: make a model faster and smaller, and measure it honestly."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in LEARNER_COMMANDS:
        add(commands)
    return parser, commands


def run(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse ``argv`` and run the chosen command; a Day26Error becomes one line on stderr."""
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except Day26Error as error:
        print(f"day26 {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"day26 {args.command}: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    parser, _ = build_parser()
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
