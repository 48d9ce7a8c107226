"""Push the zoo's Week-5 models (tests/own_models/zoo_members.py) through the day as learners would:
each model declared in week5_model.toml and trained briefly on its track's data, the solution
notebooks handed in unexecuted, then graded by ``day26 autograde`` alone (sandboxed execution of every
notebook, the verifier against the learner's own baseline). Prints one row per model and saves the
rows as JSON.

    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/own_models/zoo.py                  # every small model
    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/own_models/zoo.py --real-size      # ... and the full-size two
    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/own_models/zoo.py --only TinyViT,BagOfEmbeddings
    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/own_models/zoo.py --only ResNet18 --as-run   # graded as run
    .venv/bin/python tests/own_models/zoo.py --render rows.json more.json --page docs/results/zoo.md

Handed in unexecuted, a folder records no recipe choice and the grader runs every recipe of 05;
``--as-run`` grades each model a second time with the artifacts/ folder of its first grading, as a
learner hands in after running the notebooks, and reports that grading.

Columns: parameters; val accuracy after the brief training; points of the autograded cells; the
optimized model against the learner's own baseline as the verifier measured it (size against
baseline.pth, speed in the lane against model.onnx, accuracy change on the hidden split); seconds of
training, of the six notebooks under the grader, and of the whole grading. The JSON (``--out``) keeps
the verifier's checks that did not pass. Nothing in the repository is written.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import nbformat  # noqa: E402
import torch  # noqa: E402
from benchmarks.grade_reference import autograde_alone  # noqa: E402
from own_models.zoo_members import BY_NAME, ZOO, Member  # noqa: E402
from test_own_model import declare  # noqa: E402

from grading.samples import choose, notebooks_of  # noqa: E402
from helpers.machine import machine_description  # noqa: E402
from helpers.measure import accuracy, count_parameters  # noqa: E402
from helpers.tracks import get_track  # noqa: E402
from helpers.train import TrainingRecipe, train  # noqa: E402


def trained_hand_in(member: Member, folder: Path) -> dict:
    """A learner's folder: the model declared and trained briefly, the solution notebooks unexecuted."""
    track = get_track(member.track)
    declare(folder, member.class_name, track.name)
    spec = importlib.util.spec_from_file_location(f"zoo_{member.class_name}", folder / "week5" / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # A seed of its own: two models with equal embedding shapes seeded alike share the rows training
    # barely moves, and the copy check then (rightly) asks an instructor to look.
    torch.manual_seed(zlib.crc32(member.class_name.encode()))
    model = getattr(module, member.class_name)()
    started = time.perf_counter()
    recipe = TrainingRecipe(
        member.epochs, track.training.batch_size, member.learning_rate or track.training.learning_rate
    )
    train(model, track.train_data(), recipe, seed=0)
    seconds = time.perf_counter() - started
    torch.save(model.state_dict(), folder / "week5" / "weights.pth")
    chosen = {"00-solution-3": choose(track.name)}
    for name, notebook in notebooks_of(ROOT / "solutions" / "day26", chosen).items():
        nbformat.write(notebook, folder / name)
    return {
        "params": count_parameters(model),
        "val_accuracy": accuracy(model.eval(), track.val_data()),
        "train_seconds": round(seconds, 1),
    }


def _figures(record: dict) -> dict:
    """The optimized model against the own baseline, from the verifier's figures and checks."""
    verdict = record.get("verdict") or {}
    figures = verdict.get("figures", {})
    optimized, reference = figures.get("optimized.onnx", {}), figures.get("reference", {})
    size = (reference.get("size_bytes") or 0) / optimized["size_bytes"] if optimized.get("size_bytes") else None
    change = None
    if optimized.get("accuracy") is not None and reference.get("accuracy") is not None:
        change = 100 * (optimized["accuracy"] - reference["accuracy"])
    return {"smaller": size, "faster_than_model_onnx": optimized.get("speedup"), "accuracy_change_points": change}


def hand_in_as_run(work: Path, learner: str) -> tuple[Path, str]:
    """A second hand-in of ``learner``'s folder with the artifacts/ folder its grading made, as a learner's
    folder is after running the notebooks (results.json names the recipe 05 chose): its work folder and
    learner id. It is graded in a class of its own: in the first class, the copy check would (rightly)
    find it holds the same weights as the first hand-in."""
    again, alone = f"{learner}-as-run", work / "as-run" / learner
    made = work / "course" / "autograded" / learner / "day26" / "artifacts"
    shutil.copytree(work / "class" / learner, alone / "class" / again)
    shutil.copytree(made, alone / "class" / again / "artifacts")
    return alone, again


def grade(member: Member, work: Path, as_run: bool = False) -> dict:
    """Train, hand in and grade one member; its row of the table. With ``as_run`` the member is graded
    again as handed in after running (the grader then runs only the recipe 05 chose), and the row holds
    that grading."""
    machine = machine_description()
    row = {"model": member.class_name, "track": member.track, "family": member.family, "epochs": member.epochs,
           "machine": f"{machine['processor']} ({machine['cores']} cores)"}  # fmt: skip
    row |= trained_hand_in(member, work / "class" / member.class_name)
    outcome, record = autograde_alone(work, member.class_name)
    if as_run:
        row["unexecuted_grading_seconds"] = round(outcome["seconds"], 1)
        outcome, record = autograde_alone(*hand_in_as_run(work, member.class_name))
    notebooks = (record.get("execution") or {}).get("notebooks", {})
    row |= {
        "status": outcome["status"],
        "points": outcome["points"],
        "max_points": outcome["max_points"],
        "notebook_seconds": {name: info.get("seconds") for name, info in notebooks.items()},
        "grading_seconds": round(outcome["seconds"], 1),
        "not_passed": [
            f"{check['status']} {check['artifact']} {check['name']}: {check['measured']} {check['reason'][:160]}"
            for check in (record.get("verdict") or {}).get("checks", [])
            if check["status"] != "pass"
        ],
        "reasons": record.get("reasons", []),
    }
    return row | _figures(record)


def _cell(value, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def _grading_cell(row: dict) -> str:
    """The grading's seconds; for a row graded as run (``--as-run``), the unexecuted grading's beside it."""
    if row.get("unexecuted_grading_seconds") is None:
        return f"{row['grading_seconds']:.0f}"
    return f"{row['grading_seconds']:.0f} as run ({row['unexecuted_grading_seconds']:.0f} unexecuted)"


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| model (track) | params | val acc | points | smaller | faster than model.onnx | accuracy | "
        "train s | notebooks s | grading s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        notebooks = sum(seconds or 0 for seconds in row.get("notebook_seconds", {}).values())
        lines.append(
            f"| {row['model']} ({row['track']}) | {row['params']:,} | {row['val_accuracy']:.1%} | "
            f"{row['points']:g}/{row['max_points']:g} {'' if row['status'] == 'graded' else row['status']} | "
            f"{_cell(row['smaller'], '{:.2f}x')} | {_cell(row['faster_than_model_onnx'], '{:.2f}x')} | "
            f"{_cell(row['accuracy_change_points'], '{:+.2f} pts')} | {row['train_seconds']:.0f} | "
            f"{notebooks:.0f} | {_grading_cell(row)} |"
        )
    return "\n".join(lines)


def page(rows: list[dict], sources: list[str]) -> str:
    """A results page of the rows: what was run, on which machine, the table, and every check that did not
    pass, per model; written by ``--render ... --page FILE``, never by hand."""
    machines = sorted({row["machine"] for row in rows if row.get("machine")}) or ["a machine these rows do not name"]
    slowest = max(rows, key=lambda row: row["grading_seconds"])
    missed = [row for row in rows if row["not_passed"] or row["status"] != "graded"]
    lines = [
        "# The zoo of own models, graded",
        "",
        f"Written by `tests/own_models/zoo.py --render {' '.join(Path(source).name for source in sources)} --page`"
        f" from the rows of zoo runs on {', '.join(machines)}.",
        "Each model was trained briefly on its track's data, declared in `week5_model.toml`, and the solution",
        "notebooks handed in; `day26 autograde` graded it alone. Figures are the verifier's, against the",
        "model's own baseline: size against `baseline.pth`, speed in the lane against its own `model.onnx`,",
        "accuracy change on the hidden split.",
        "",
        table(rows),
        "",
        f"{len(rows)} models; {sum(row['points'] == row['max_points'] for row in rows)} earned every point. "
        f"Slowest grading: {slowest['model']}, {slowest['grading_seconds']:.0f} s.",
        "",
        "## Checks that did not pass",
        "",
    ]
    for row in missed:
        lines.append(f"- **{row['model']}** ({row['family']}), {row['status']}:")
        lines += [f"  - {line}" for line in row["not_passed"]]
        lines += [f"  - {reason}" for reason in row["reasons"][:3] if not row["not_passed"]]
    if not missed:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated class names (default: every small model)")
    parser.add_argument("--real-size", action="store_true", help="also the full-size ResNet-18 and MobileNetV2")
    parser.add_argument("--as-run", action="store_true", help="grade each again as handed in after running")
    parser.add_argument("--out", default=None, help="the JSON file of the rows (default: in the work folder)")
    parser.add_argument("--render", nargs="+", metavar="JSON", help="run nothing: the table of these saved rows")
    parser.add_argument("--page", help="with --render: also write the rows as a results page to this file")
    args = parser.parse_args()
    if args.render:
        rows = [row for source in args.render for row in json.loads(Path(source).read_text())]
        print(table(rows))
        if args.page:
            Path(args.page).write_text(page(rows, args.render))
            print(f"(page {args.page})")
        return
    if args.only:
        unknown = [name for name in args.only.split(",") if name not in BY_NAME]
        if unknown:
            sys.exit(f"not in the zoo: {', '.join(unknown)} (the zoo: {', '.join(BY_NAME)})")
        members = [BY_NAME[name] for name in args.only.split(",")]
    else:
        members = [member for member in ZOO if args.real_size or not member.real_size]
    work = Path(tempfile.mkdtemp(prefix="day26-zoo-"))
    out = Path(args.out) if args.out else work / "zoo.json"
    rows = []
    for member in members:
        print(f"{member.class_name} ({member.track}): training {member.epochs} epoch(s), then grading", flush=True)
        rows.append(grade(member, work, as_run=args.as_run))
        out.write_text(json.dumps(rows, indent=1))
        last = rows[-1]
        print(
            f"  {last['status']}, {last['points']:g}/{last['max_points']:g} in {last['grading_seconds']:.0f} s",
            flush=True,
        )
        for line in last["not_passed"]:
            print(f"    {line}", flush=True)
    print(table(rows))
    print(f"(rows in {out}; work folder {work})")


if __name__ == "__main__":
    main()
