"""The course's own Week-5 data, from local files, instead of the generated data.

By default every track's data is generated on your machine (:mod:`helpers.data`). An instructor
who has the course's real data points a track at it in ``course_data.toml``, beside the notebooks
(or at the path in the environment variable ``DAY26_DATA``)::

    [images]
    folder = "data/skin"            # one subfolder per class, in label order: 0_no_lesion/, 1_lesion/
    hidden = "/srv/day26/skin_test" # the grader's held-out split, the same form (never shipped)

    [text]
    csv = "data/reviews.csv"        # columns "text" and "label" ...
    vocabulary = "data/vocab.txt"   # ... tokenized with the course's vocabulary, one token per line
    # or: csv with columns "tokens" (200 space-separated ids) and "label"

    [tabular]
    csv = "data/stocks.csv"         # 10 feature columns, then "label"

Paths are relative to the file. Labels are 0 and 1. Each file's rows are split, in a fixed seeded
order, into a train part (80 %) and a val part (20 %); the ``hidden`` file, which only the grader
has, is the grader's test split. Images are read as RGB and resized to 224x224; texts are
lower-cased, split into words, mapped to ids (0 padding, 1 unknown word, as in ``vocab.txt``'s first
two lines) and padded or cut to 200 tokens; stock features are standardized with the train part's
mean and spread.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import torch

from helpers.data import IMAGE_SIZE, NUM_STOCK_FEATURES, SEQUENCE_LENGTH, VOCAB_SIZE, Dataset
from helpers.errors import Day26Error

COURSE_DATA_FILE = Path("course_data.toml")
TRAIN_FRACTION = 0.8
SPLIT_SEED = 2626  # the fixed order in which a file's rows are split into train and val
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
UNKNOWN_WORD = 1


@dataclass(frozen=True)
class CourseData:
    """Where one track's data lives: ``source`` (a folder of class folders or a CSV file), the
    vocabulary of a text CSV, and the grader's ``hidden`` split (None on a learner's machine)."""

    file: Path
    track: str
    source: Path
    vocabulary: Path | None = None
    hidden: Path | None = None

    def fingerprint(self) -> str:
        """A short hash of the data's files (names, sizes, modification times): a reference model
        trained on other data is never reused."""
        digest = hashlib.sha256()
        files = sorted(self.source.rglob("*")) if self.source.is_dir() else [self.source]
        for path in [*files, *([self.vocabulary] if self.vocabulary else [])]:
            if path.is_file():
                info = path.stat()
                digest.update(f"{path.relative_to(self.file.parent)}:{info.st_size}:{info.st_mtime_ns}".encode())
        return digest.hexdigest()[:12]


def course_data_file() -> Path:
    """The course data file in use: ``DAY26_DATA`` if set, else ``course_data.toml`` here."""
    return Path(os.environ.get("DAY26_DATA", COURSE_DATA_FILE))


def read_course_data(track: str, path: str | Path | None = None) -> CourseData | None:
    """The course data of ``track`` in ``path`` (default :func:`course_data_file`), or None when the
    file does not exist or has no table for the track (the generated data is used)."""
    path = Path(path) if path is not None else course_data_file()
    if not path.is_file():
        if "DAY26_DATA" in os.environ and path == Path(os.environ["DAY26_DATA"]):
            raise Day26Error(f"DAY26_DATA={path}: no such file. Point it at the course's course_data.toml.")
        return None
    try:
        content = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise Day26Error(f"{path}: not valid TOML ({error}). See the example in helpers/course_data.py.") from None
    table = content.get(track)
    if table is None:
        return None
    key = "folder" if track == "images" else "csv"
    if not isinstance(table, dict) or not isinstance(table.get(key), str):
        raise Day26Error(f'{path}: [{track}] needs {key} = "..." (see helpers/course_data.py).')
    folder = path.parent

    def located(name: str) -> Path | None:
        value = table.get(name)
        if value is None:
            return None
        file = folder / value
        if not file.exists():
            raise Day26Error(f"{path}: [{track}] {name} = '{value}' names nothing (looked for {file}).")
        return file

    return CourseData(path, track, located(key), located("vocabulary"), located("hidden"))


def read_split(data: CourseData, split: str) -> Dataset:
    """The ``split`` ("train", "val" or "hidden") of the course data, in the track's model inputs.
    Stock features of every split are standardized with the train part's mean and spread."""
    if split == "hidden":
        if data.hidden is None:
            raise Day26Error(f'{data.file}: [{data.track}] has no hidden = "...": the grader needs its held-out split.')
        dataset = _read(data, data.hidden, f"{data.track}-hidden")
    else:
        everything, cut = _course_rows(data)
        rows = everything.order[:cut] if split == "train" else everything.order[cut:]
        dataset = Dataset(everything.data.inputs[rows], everything.data.labels[rows], f"{data.track}-course-{split}")
    if data.track == "tabular":
        mean, spread = _train_statistics(data)
        dataset = Dataset((dataset.inputs - mean) / spread, dataset.labels, dataset.name)
    return dataset


@dataclass(frozen=True)
class _Rows:
    data: Dataset
    order: torch.Tensor  # the fixed seeded order in which the rows are split


@functools.lru_cache(maxsize=4)  # a course's files are read once per process
def _course_rows(data: CourseData) -> tuple[_Rows, int]:
    """Every row of the course's file(s) in their fixed split order, and where train ends."""
    everything = _read(data, data.source, f"{data.track}-course")
    order = torch.randperm(len(everything), generator=torch.Generator().manual_seed(SPLIT_SEED))
    return _Rows(everything, order), int(TRAIN_FRACTION * len(everything))


def _train_statistics(data: CourseData) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and spread (clamped away from 0) of each feature over the train part."""
    rows, cut = _course_rows(data)
    train = rows.data.inputs[rows.order[:cut]]
    return train.mean(dim=0), train.std(dim=0).clamp_min(1e-6)


def _read(data: CourseData, source: Path, name: str) -> Dataset:
    if data.track == "images":
        return _read_image_folder(source, name)
    if data.track == "text":
        return _read_text_csv(source, data.vocabulary, name)
    return _read_feature_csv(source, name)


def _read_image_folder(folder: Path, name: str) -> Dataset:
    """One subfolder per class, sorted by name: the first is label 0, the second label 1."""
    from PIL import Image  # Pillow comes with matplotlib

    classes = sorted(path for path in folder.iterdir() if path.is_dir())
    if len(classes) != 2:
        found = ", ".join(path.name for path in classes) or "none"
        raise Day26Error(f"{folder}: needs exactly 2 class folders (label 0, then label 1), found: {found}.")
    pictures, labels = [], []
    for label, class_folder in enumerate(classes):
        for path in sorted(class_folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(path) as image:
                    resized = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            except (OSError, ValueError):
                raise Day26Error(f"{path}: not an image Pillow can read. Remove it or convert it to PNG.") from None
            pictures.append(
                torch.frombuffer(bytearray(resized.tobytes()), dtype=torch.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE, 3)
            )
            labels.append(label)
    if not pictures:
        raise Day26Error(f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} images in its class folders.")
    return Dataset(torch.stack(pictures).permute(0, 3, 1, 2).contiguous(), torch.tensor(labels), name)


def _csv_rows(path: Path, needed: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        missing = [column for column in needed if column not in (reader.fieldnames or [])]
        if missing:
            raise Day26Error(
                f"{path}: no column(s) {', '.join(missing)}; it has: {', '.join(reader.fieldnames or [])}."
            )
        return list(reader)


def _label(path: Path, line: int, value: str) -> int:
    if value.strip() not in ("0", "1"):
        raise Day26Error(f"{path}, line {line}: label '{value}' is not 0 or 1.")
    return int(value)


def _read_text_csv(path: Path, vocabulary: Path | None, name: str) -> Dataset:
    """A CSV of ``text`` and ``label`` (tokenized with ``vocabulary``) or of ``tokens`` and ``label``."""
    with path.open(newline="", encoding="utf-8") as file:
        header = next(csv.reader(file), [])
    by_ids = "tokens" in header
    rows = _csv_rows(path, ("tokens", "label") if by_ids else ("text", "label"))
    ids: dict[str, int] = {}
    if not by_ids:
        if vocabulary is None:
            raise Day26Error(f'{path}: a CSV of texts needs vocabulary = "..." in the course data file.')
        words = vocabulary.read_text(encoding="utf-8").split("\n")[:VOCAB_SIZE]
        ids = {word.strip(): index for index, word in enumerate(words) if word.strip()}
    sequences, labels = torch.zeros(len(rows), SEQUENCE_LENGTH, dtype=torch.int64), []
    for index, row in enumerate(rows):
        line = index + 2  # the header is line 1
        if by_ids:
            try:
                tokens = [int(token) for token in row["tokens"].split()]
            except ValueError:
                raise Day26Error(f"{path}, line {line}: tokens must be integers separated by spaces.") from None
            if any(not 0 <= token < VOCAB_SIZE for token in tokens):
                raise Day26Error(f"{path}, line {line}: a token id outside 0..{VOCAB_SIZE - 1}.")
        else:
            tokens = [ids.get(word, UNKNOWN_WORD) for word in re.findall(r"[a-z0-9']+", row["text"].lower())]
        tokens = tokens[:SEQUENCE_LENGTH]
        sequences[index, : len(tokens)] = torch.tensor(tokens, dtype=torch.int64)
        labels.append(_label(path, line, row["label"]))
    return Dataset(sequences, torch.tensor(labels), name)


def _read_feature_csv(path: Path, name: str) -> Dataset:
    """A CSV of the 10 feature columns (any names) and ``label``; not yet standardized."""
    rows = _csv_rows(path, ("label",))
    features = [column for column in rows[0] if column != "label"] if rows else []
    if len(features) != NUM_STOCK_FEATURES:
        raise Day26Error(f"{path}: {len(features)} feature columns besides label; the track has {NUM_STOCK_FEATURES}.")
    values, labels = [], []
    for index, row in enumerate(rows):
        try:
            values.append([float(row[column]) for column in features])
        except ValueError:
            raise Day26Error(f"{path}, line {index + 2}: a feature that is not a number.") from None
        labels.append(_label(path, index + 2, row["label"]))
    return Dataset(torch.tensor(values, dtype=torch.float32), torch.tensor(labels), name)
