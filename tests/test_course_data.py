"""The course's own data from local files: a folder of images per class, a CSV of texts (with the
course's vocabulary) or of token ids, a CSV of the 10 features; the hidden split held by the grader."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from PIL import Image

from grading.hidden import hidden_split
from helpers.course_data import read_course_data
from helpers.errors import Day26Error
from helpers.reference import checkpoint_path
from helpers.tracks import TRACKS, get_track


def _images(folder: Path, per_class: int) -> None:
    generator = torch.Generator().manual_seed(1)
    for label, name in enumerate(("0_healthy", "1_lesion")):
        (folder / name).mkdir(parents=True)
        for index in range(per_class):
            size = (40 + index, 30 + 2 * index)  # any size: resized to 224x224
            pixels = torch.randint(0, 256, (size[1], size[0], 3), generator=generator, dtype=torch.uint8)
            pixels[..., 0] = 255 * label  # the red channel tells the class
            Image.fromarray(pixels.numpy()).save(folder / name / f"{index}.png")


def _csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    _images(tmp_path / "skin", 10)
    _images(tmp_path / "skin_hidden", 3)
    (tmp_path / "vocab.txt").write_text("<pad>\n<unk>\ngood\nbad\nfilm\n")
    _csv(tmp_path / "reviews.csv", ["text", "label"], [["A good film!", 1], ["bad, BAD film", 0]] * 10)
    _csv(tmp_path / "ids.csv", ["tokens", "label"], [["2 4 2", 1], ["3 4", 0]] * 10)
    features = [[float(i + j) for j in range(10)] + [i % 2] for i in range(50)]
    _csv(tmp_path / "stocks.csv", [f"f{j}" for j in range(10)] + ["label"], features)
    (tmp_path / "course_data.toml").write_text(
        '[images]\nfolder = "skin"\nhidden = "skin_hidden"\n'
        '[text]\ncsv = "reviews.csv"\nvocabulary = "vocab.txt"\n'
        '[tabular]\ncsv = "stocks.csv"\n'
    )
    monkeypatch.setenv("DAY26_DATA", str(tmp_path / "course_data.toml"))
    return tmp_path


def test_a_folder_of_images_per_class_becomes_the_images_track(course):
    track = get_track("images")
    train, val = track.train_data(), track.val_data()
    assert (len(train), len(val)) == (16, 4)
    assert train.model_inputs(0, 2).shape == (2, 3, 224, 224) and train.inputs.dtype == torch.uint8
    red = train.model_inputs()[:, 0].mean(dim=(1, 2))
    assert torch.equal(red > 0.5, train.labels == 1)  # each picture kept its class folder's label
    assert len(hidden_split(track)) == 6  # the grader's held-out folder, not part of train or val
    assert checkpoint_path(track) != checkpoint_path(TRACKS["images"])  # the reference is trained on this data


def test_texts_are_tokenized_with_the_course_vocabulary_and_ids_are_read_as_they_are(course):
    track = get_track("text")
    sequences = torch.cat([track.train_data().inputs, track.val_data().inputs])
    assert sequences.shape == (20, 200) and sequences.dtype == torch.int64
    assert {tuple(row[:3].tolist()) for row in sequences} == {(1, 2, 4), (3, 3, 4)}  # "a" is unknown (1)
    (course / "course_data.toml").write_text('[text]\ncsv = "ids.csv"\n')
    ids = get_track("text").train_data().inputs
    assert {tuple(row[:3].tolist()) for row in ids} == {(2, 4, 2), (3, 4, 0)}


def test_stock_features_are_standardized_with_the_train_part(course):
    train = get_track("tabular").train_data()
    assert train.inputs.shape == (40, 10)
    assert torch.allclose(train.inputs.mean(dim=0), torch.zeros(10), atol=1e-5)


def test_without_a_hidden_entry_the_grader_says_what_is_missing(course):
    with pytest.raises(Day26Error, match=r"\[text\] has no hidden"):
        hidden_split(get_track("text"))


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda c: (c / "skin" / "0_healthy").rename(c / "skin0"), "needs exactly 2 class folders"),
        (lambda c: _csv(c / "reviews.csv", ["review", "label"], [["good", 1]]), "no column(s) text"),
        (lambda c: _csv(c / "reviews.csv", ["text", "label"], [["good", 2]]), "line 2: label '2' is not 0 or 1"),
        (lambda c: _csv(c / "stocks.csv", ["a", "label"], [[1.0, 0]]), "1 feature columns"),
        (lambda c: (c / "skin" / "1_lesion" / "3.png").write_bytes(b"not a png"), "3.png: not an image"),
        (lambda c: (c / "course_data.toml").write_text('[text]\ncsv = "none.csv"\n'), "names nothing"),
    ],
)
def test_bad_course_data_gets_one_line_naming_the_file(course, write, expected):
    write(course)
    track = (
        "images" if "png" in expected or "class folders" in expected else "tabular" if "feature" in expected else "text"
    )
    with pytest.raises(Day26Error) as error:
        get_track(track).train_data()
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_token_ids_outside_the_vocabulary_are_refused(course):
    _csv(course / "ids.csv", ["tokens", "label"], [["2 5000", 1]])
    (course / "course_data.toml").write_text('[text]\ncsv = "ids.csv"\n')
    with pytest.raises(Day26Error, match=r"line 2: a token id outside 0\.\.4999"):
        get_track("text")


def test_without_course_data_the_generated_data_is_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAY26_DATA", raising=False)
    assert read_course_data("images") is None and get_track("images") is TRACKS["images"]


def test_the_hidden_stock_features_are_standardized_like_the_train_part(course):
    (course / "course_data.toml").write_text('[tabular]\ncsv = "stocks.csv"\nhidden = "stocks.csv"\n')
    track = get_track("tabular")
    train, hidden = track.train_data(), hidden_split(track)
    assert len(hidden) == 50 and hidden.inputs.abs().max() < 5  # the same scale the model was trained on
    assert torch.allclose(hidden.inputs.mean(dim=0), torch.zeros(10), atol=0.5)
    assert train.inputs.shape == (40, 10)
