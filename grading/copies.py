"""Copied models: every learner's hand-in compared with every other learner's in the class.

Run after the whole class is graded (``grading.cohort`` does, and ``day26 copies`` alone). It reads
what each learner handed in (``<workspace>/submitted/<learner>/day26``) and finds two kinds of match:

- **identical bytes**: the same sha256 in two learners' artifacts (``artifacts/*``), declared Week-5
  weights and model code, and executed notebooks;
- **the same weights**: an own Week-5 model whose weights (the declared weights file,
  ``artifacts/baseline.pth``, ``artifacts/model.onnx``) match another learner's own model, or the
  track's reference model, after renaming, reordering and rescaling (:mod:`grading.fingerprint`).

What honest learners share is not evidence, and is not flagged: files the release ships unchanged;
``artifacts/track.json`` (one word, the track); notebook 00, whose one learner line is the track and
whose outputs are the same for everyone on it; notebooks without outputs (the code learners were
given, or wrote alike); a model code file (it may be the course's Week-5 template); and every
artifact of two learners on the **reference** model, which its seeded recipe makes byte for byte the
same. Those are listed as "expected". The evidence: two own Week-5 models with the same weights, an
own model that is the reference model, and identical files where neither learner's recipe explains
them. Both learners of a match are flagged (their records go to ``needs review`` with a reason
naming the other and the evidence); where one side is the reference recipe, only the learner who
declared an own model is.

Nothing here runs learner code: state_dicts are read with ``weights_only=True`` after the
verifier's file checks, ONNX files as data. A file that cannot be read is skipped with a note (the
verifier reports it to the learner).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import onnx
import torch

from grading.course import ASSIGNMENT
from grading.fingerprint import TensorPrint, WeightsMatch, compare_models, model_prints
from grading.intake import file_sha256
from grading.own_baseline import float_initializers
from grading.records import REFUSED, REVIEW, GradeRecord, read_records, write_record
from grading.safety import UnsafeFile, checked_onnx, checked_submission_file
from helpers import contract
from helpers.artifacts import load_state_dict_file
from helpers.errors import Day26Error
from helpers.tracks import get_track
from helpers.week5 import DECLARATION_FILE

FLAG_SHARE = 0.5  # two models whose matched share of weights reaches this are flagged ...
FLAG_TENSORS = 0.5  # ... when more than this share of their tensors (by count) is alike (not one shared embedding)
ALIKE_FOR_EVERYONE = {contract.TRACK_CHOICE.path(contract.ARTIFACTS_DIR).as_posix(), "00_start.ipynb"}
WEIGHT_FILES = (contract.BASELINE.path(contract.ARTIFACTS_DIR), contract.ONNX_FP32.path(contract.ARTIFACTS_DIR))
IDENTICAL, SAME_WEIGHTS = "identical bytes", "same weights"


@dataclass
class HandIn:
    """One learner's hand-in as the check reads it. ``digests`` maps each compared file (relative
    to the learner's folder) to its sha256; ``weights`` each weight file to its tensors' prints."""

    learner: str
    folder: Path
    track: str
    own_model: bool
    code: str | None = None  # the declared model code file, relative
    digests: dict[str, str] = field(default_factory=dict)
    weights: dict[str, list[TensorPrint]] = field(default_factory=dict)


@dataclass
class Match:
    """Two hand-ins that share something. ``second`` is a learner, or the track's reference model.
    ``files`` pairs the first's file with the second's; ``similarity`` is 1 for identical bytes and
    the matched share of weights (0 to 1) for the same weights; ``flagged`` are the learners whose
    records go to review, ``why`` says why it is evidence."""

    first: str
    second: str
    kind: str
    files: list[tuple[str, str]]
    similarity: float
    flagged: list[str]
    why: str = ""
    how: list[str] = field(default_factory=list)  # renamed, reordered, rescaled, changed a little
    tensors: list[str] = field(default_factory=list)  # "a.weight ~ b.weight (64x10): 10/10 rows"

    def files_text(self, learner: str | None = None) -> str:
        """The matched files, each as "mine ~ theirs" from ``learner``'s side (default the first's)."""
        pairs = [(b, a) for a, b in self.files] if learner == self.second else self.files
        shown = [mine if mine == theirs else f"{mine} ~ {theirs}" for mine, theirs in pairs[:4]]
        more = f" and {len(pairs) - 4} more" if len(pairs) > 4 else ""
        return ", ".join(shown) + more

    def reason_for(self, learner: str) -> str:
        """The line on ``learner``'s record: what matched whom, and how."""
        other = self.second if learner == self.first else self.first
        files = self.files_text(learner)
        if self.kind == IDENTICAL:
            said = f"{files}: byte for byte the same as {other}'s"
        else:
            how = f" after the tensors were {', '.join(self.how)}" if self.how else ""
            share = f"{self.similarity:.0%} of the weights match{how}"
            said = f"the own Week-5 model ({files}) holds {other}'s weights: {share}"
        return f"possible copy: {said} ({self.why}); an instructor decides"

    def as_dict(self) -> dict:
        return asdict(self) | {"files": [list(pair) for pair in self.files]}


@dataclass
class CopyReport:
    """The class's matches (each one evidence against the learners it flags), one line per file
    several learners share as expected, and one note per file that could not be read."""

    learners: int
    matches: list[Match] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def reasons(self) -> dict[str, list[str]]:
        """learner -> the lines their record gets (flagged learners only)."""
        lines: dict[str, list[str]] = {}
        for match in self.matches:
            for learner in match.flagged:
                lines.setdefault(learner, []).append(match.reason_for(learner))
        return lines

    def table(self) -> str:
        rows = [f"copy check of {self.learners} hand-ins"]
        for match in self.matches:
            how = f" [{', '.join(match.how)}]" if match.how else ""
            rows.append(
                f"  review    {match.first} ~ {match.second}: {match.kind}, {match.similarity:.0%}{how}: "
                f"{match.files_text()} ({match.why}); flags {', '.join(match.flagged)}"
            )
            rows += [f"              {tensor}" for tensor in match.tensors[:6]]
        rows += [f"  expected  {line}" for line in self.expected]
        rows += [f"  note      {note}" for note in self.notes]
        flagged = sorted(self.reasons())
        rows.append(f"  => {len(flagged)} learners to review" + (f": {', '.join(flagged)}" if flagged else ""))
        return "\n".join(rows)

    def as_dict(self) -> dict:
        return {
            "learners": self.learners,
            "matches": [match.as_dict() for match in self.matches],
            "expected": self.expected,
            "notes": self.notes,
            "flagged": self.reasons(),
        }


# --- reading the hand-ins ------------------------------------------------------------------


def _has_outputs(path: Path) -> bool:
    """Was the notebook run before it was handed in (any code cell with an output)?"""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # not a readable notebook: its bytes still count
        return True
    return any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def _compared_files(folder: Path, code: Path | None, weights: Path | None) -> list[Path]:
    """The files whose bytes are compared: artifacts/*, the declared weights and code, and the
    notebooks that were run (those hold the learner's own outputs). Links and the like are not
    followed: intake refused them already."""
    artifacts = sorted(path for path in (folder / contract.ARTIFACTS_DIR).rglob("*") if path.is_file())
    notebooks = sorted(path for path in folder.glob("*.ipynb") if _has_outputs(path))
    declared = [path for path in (weights, code) if path is not None]
    files = [path for path in [*artifacts, *declared, *notebooks] if not path.is_symlink()]
    return list(dict.fromkeys(files))


def _state_arrays(state: dict) -> dict[str, np.ndarray]:
    """The floating-point tensors of a state_dict as arrays (INT8 and packed values are left out)."""
    return {
        name: value.detach().to(torch.float64).numpy()
        for name, value in state.items()
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not value.is_quantized
    }


def _onnx_arrays(path: Path) -> dict[str, np.ndarray]:
    """The floating-point initializers of an ONNX model, read as data."""
    return {name: values.astype(np.float64) for name, values in float_initializers(onnx.load(str(path))).items()}


def _read_weights(folder: Path, relative: str) -> dict[str, np.ndarray]:
    """One weight file's tensors, after the verifier's file checks; raises Day26Error or UnsafeFile."""
    if relative.endswith(".onnx"):
        artifacts = contract.ARTIFACTS_DIR.as_posix() + "/"
        if not relative.startswith(artifacts):
            raise UnsafeFile(f"{relative} is not in artifacts/")
        path = checked_onnx(folder, relative.removeprefix(artifacts))
        try:
            return _onnx_arrays(path)
        except Exception:  # a damaged graph fails in many ways inside onnx
            raise UnsafeFile(f"{relative} is not a readable ONNX model") from None
    return _state_arrays(load_state_dict_file(checked_submission_file(folder, relative)))


def read_hand_in(record: GradeRecord, folder: Path, notes: list[str]) -> HandIn:
    """What the check needs of one learner's submitted folder; unreadable files go to ``notes``."""
    from grading.verify import declared_code_file, declared_weights_file, uses_own_model

    own = uses_own_model(folder)
    track = record.verdict.track if record.verdict is not None else "unknown"
    code, weights = (declared_code_file(folder), declared_weights_file(folder)) if own else (None, None)
    hand_in = HandIn(record.learner, folder, track, own, code.relative_to(folder).as_posix() if code else None)
    for path in _compared_files(folder, code, weights):
        relative = path.relative_to(folder).as_posix()
        if relative not in ALIKE_FOR_EVERYONE and path.name != DECLARATION_FILE.name:
            hand_in.digests[relative] = file_sha256(path)
    if not own:
        return hand_in
    sources = [weights.relative_to(folder).as_posix()] if weights else []
    sources += [path.as_posix() for path in WEIGHT_FILES if (folder / path).is_file()]
    seen: set[str] = set()
    for relative in sources:
        digest = hand_in.digests.get(relative) or file_sha256(folder / relative)
        if digest in seen:  # baseline.pth saved from the declared weights: read once
            continue
        seen.add(digest)
        try:
            prints = model_prints(_read_weights(folder, relative))
        except (Day26Error, UnsafeFile) as error:
            why = str(error).replace(f"{folder}/", "")  # the file as the learner knows it
            notes.append(f"{record.learner}: {relative} skipped in the copy check: {why}")
            continue
        if prints:
            hand_in.weights[relative] = prints
    return hand_in


def release_digests(root: Path) -> set[str]:
    """The sha256 of every file the release ships (``notebooks/day26``): handed in unchanged, those
    say nothing about who made what."""
    release = root / "notebooks" / ASSIGNMENT
    return {file_sha256(path) for path in release.rglob("*") if path.is_file()} if release.is_dir() else set()


# --- the matches -----------------------------------------------------------------------------


def _judge_identical(first: HandIn, first_file: str, second: HandIn, second_file: str) -> tuple[list[str], str]:
    """Who a byte-identical pair of files flags, and why (nobody: expected)."""
    if first_file == first.code or second_file == second.code:
        return [], "model code may be the course's Week-5 template"
    artifacts = contract.ARTIFACTS_DIR.as_posix() + "/"
    first_recipe = not first.own_model and first_file.startswith(artifacts)
    second_recipe = not second.own_model and second_file.startswith(artifacts)
    if first_recipe and second_recipe:
        return [], "both on the reference model, whose seeded recipe makes these files the same for everyone"
    if first_recipe or second_recipe:
        own, recipe = (second, first) if first_recipe else (first, second)
        return [own.learner], f"what the reference recipe makes for {recipe.learner}, handed in with an own model"
    return [first.learner, second.learner], "no recipe makes the same file for two learners"


def identical_files(hand_ins: list[HandIn], shipped: set[str]) -> tuple[list[Match], list[str]]:
    """Every pair of learners with byte-identical files that is evidence (one match per pair and
    verdict), and one line per file that is the same for several learners as expected."""
    holders: dict[str, list[tuple[HandIn, str]]] = {}
    for hand_in in hand_ins:
        for relative, digest in hand_in.digests.items():
            if digest not in shipped:
                holders.setdefault(digest, []).append((hand_in, relative))
    grouped: dict[tuple[str, str, tuple[str, ...], str], list[tuple[str, str]]] = {}
    expected: dict[tuple[str, str], set[str]] = {}
    for holding in holders.values():
        for (first, first_file), (second, second_file) in itertools.combinations(holding, 2):
            if first.learner == second.learner:
                continue
            flagged, why = _judge_identical(first, first_file, second, second_file)
            if flagged:
                key = (first.learner, second.learner, tuple(flagged), why)
                grouped.setdefault(key, []).append((first_file, second_file))
            else:
                expected.setdefault((first_file, why), set()).update((first.learner, second.learner))
    matches = [
        Match(first, second, IDENTICAL, sorted(files), 1.0, list(flagged), why)
        for (first, second, flagged, why), files in sorted(grouped.items())
    ]
    lines = []
    for (file, why), learners in sorted(expected.items()):
        names = sorted(learners)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        lines.append(f"{file} is the same for {len(names)} learners ({shown}): {why}")
    return matches, lines


def _tensor_lines(found: WeightsMatch) -> list[str]:
    return [
        f"{t.first} ~ {t.second} {'x'.join(map(str, t.shape))}: {t.matched}/{t.rows} rows, median |cos| {t.cosine:.3f}"
        for t in found.matched_tensors()
    ]


def _best_weights(first: HandIn, second: dict[str, list[TensorPrint]], second_digests: dict[str, str]):
    """The closest pair of weight files of ``first`` and the other side: (match, first file, second
    file), or None. A pair of byte-identical files is left out: an identical-bytes match says it."""
    best = None
    for (file_a, prints_a), (file_b, prints_b) in itertools.product(first.weights.items(), second.items()):
        if file_a in first.digests and first.digests[file_a] == second_digests.get(file_b):
            continue
        found = compare_models(prints_a, prints_b)
        if best is None or found.similarity > best[0].similarity:
            best = (found, file_a, file_b)
    return best


def is_copied(found: WeightsMatch) -> bool:
    """Whether a weights match is evidence: most weights alike, and most tensors too. Two own models
    that differ but were seeded alike share the rows training barely moves (an embedding's rows of rare
    tokens, often most of a text model's weights) and nothing else; that is not a copy."""
    return found.similarity >= FLAG_SHARE and found.tensors_alike > FLAG_TENSORS


def _shared_start(first: str, second: str, found: WeightsMatch) -> str:
    alike = sum(tensor.share >= 0.5 for tensor in found.tensors)
    return (
        f"{first} and {second}: {found.similarity:.0%} of the weights match, in {alike} of {found.compared} "
        "tensors only: two models that started from the same random numbers (the same seed), not a copy"
    )


def same_weights(
    hand_ins: list[HandIn], reference: Callable[[str], dict[str, list[TensorPrint]]], expected: list[str] | None = None
) -> list[Match]:
    """Own Week-5 models holding another learner's own model's weights, or the reference model's. A
    match in a few tensors only (a shared start, :func:`is_copied`) goes to ``expected`` instead."""
    own = [hand_in for hand_in in hand_ins if hand_in.own_model and hand_in.weights]
    matches = []
    for first, second in itertools.combinations(own, 2):
        best = _best_weights(first, second.weights, second.digests)
        if best and best[0].similarity >= FLAG_SHARE and not is_copied(best[0]) and expected is not None:
            expected.append(_shared_start(first.learner, second.learner, best[0]))
        if best and is_copied(best[0]):
            found, file_a, file_b = best
            why = "two own Week-5 models trained apart do not share weights"
            matches.append(
                Match(first.learner, second.learner, SAME_WEIGHTS, [(file_a, file_b)], found.similarity,
                      [first.learner, second.learner], why, found.how(), _tensor_lines(found))
            )  # fmt: skip
    for hand_in in own:
        best = _best_weights(hand_in, reference(hand_in.track), {})
        if best and is_copied(best[0]):
            found, file_a, file_b = best
            why = "an own Week-5 model that is the reference model"
            matches.append(
                Match(hand_in.learner, f"the {hand_in.track} reference model", SAME_WEIGHTS, [(file_a, file_b)],
                      found.similarity, [hand_in.learner], why, found.how(), _tensor_lines(found))
            )  # fmt: skip
    return matches


def reference_prints(track_name: str) -> dict[str, list[TensorPrint]]:
    """The track's trained reference model as one weight "file" to compare with (none for an unknown track)."""
    from helpers.reference import ready_model

    try:
        track = get_track(track_name)
    except Day26Error:
        return {}
    return {"reference state_dict": model_prints(_state_arrays(ready_model(track).model.state_dict()))}


def find_copies(root: Path, submitted: Callable[[str], Path], records: list[GradeRecord]) -> CopyReport:
    """Compare every graded hand-in with every other; ``submitted(learner)`` is the learner's folder."""
    notes: list[str] = []
    hand_ins = []
    for record in records:
        folder = submitted(record.learner)
        if record.status == REFUSED or not folder.is_dir():
            continue
        hand_ins.append(read_hand_in(record, folder, notes))
    cache: dict[str, dict[str, list[TensorPrint]]] = {}

    def reference(track: str) -> dict[str, list[TensorPrint]]:
        if track not in cache:
            cache[track] = reference_prints(track)
        return cache[track]

    matches, expected = identical_files(hand_ins, release_digests(root))
    matches += same_weights(hand_ins, reference, expected)
    matches.sort(key=lambda match: (match.first, match.second, match.kind))
    return CopyReport(len(hand_ins), matches, expected, notes)


# --- into the records ------------------------------------------------------------------------


def flag_for_review(record: GradeRecord, reasons: list[str]) -> bool:
    """Put the copy check's ``reasons`` on ``record`` (status needs review when there are any),
    replacing an earlier check's; return whether the record changed."""
    if reasons == record.copy_reasons:
        return False
    if record.copy_reasons:  # the earlier check's flags come off first
        record.reasons = [reason for reason in record.reasons if reason not in record.copy_reasons]
        record.status = record.status_before_copies or record.status
    record.copy_reasons, record.status_before_copies = list(reasons), ""
    if reasons:
        record.status_before_copies, record.status = record.status, REVIEW
        record.reasons = [*reasons, *record.reasons]
    return True


def review_copies(course) -> CopyReport:
    """The copy check of a graded class (a :class:`grading.autograde.Course`): find the matches and
    write each flagged learner's record (and unflag one whose match is gone)."""
    folder = course.workspace / "records"
    records = read_records(folder) if folder.is_dir() else []
    report = find_copies(course.root, lambda learner: course.folder("submitted", learner), records)
    reasons = report.reasons()
    for record in records:
        if record.status != REFUSED and flag_for_review(record, reasons.get(record.learner, [])):
            write_record(course.record(record.learner), record)
    return report
