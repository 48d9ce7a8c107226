"""Intake copies and hashes a submission, and refuses links, escaping paths and oversize files."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile

from grading.intake import intake


def _learner_folder(root):
    folder = root / "ada"
    (folder / "artifacts").mkdir(parents=True)
    (folder / "01_baseline.ipynb").write_text("{}")
    (folder / "artifacts" / "pruned.pth").write_bytes(b"weights" * 100)
    return folder


def test_a_folder_is_copied_and_every_file_hashed(tmp_path):
    result = intake(_learner_folder(tmp_path), tmp_path / "workspace")
    assert result.accepted and result.learner == "ada"
    expected = hashlib.sha256(b"weights" * 100).hexdigest()
    assert result.files == {"01_baseline.ipynb": hashlib.sha256(b"{}").hexdigest(), "artifacts/pruned.pth": expected}
    assert (result.folder / "artifacts" / "pruned.pth").read_bytes() == b"weights" * 100


def test_a_zip_is_unpacked_like_a_folder(tmp_path):
    archive = tmp_path / "grace.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("artifacts/model.onnx", b"onnx bytes")
    result = intake(archive, tmp_path / "workspace")
    assert result.accepted and result.learner == "grace"
    assert list(result.files) == ["artifacts/model.onnx"]


def test_links_are_refused_and_nothing_is_left_behind(tmp_path):
    folder = _learner_folder(tmp_path)
    os.symlink("/etc/passwd", folder / "artifacts" / "model.onnx")
    result = intake(folder, tmp_path / "workspace")
    assert not result.accepted and "artifacts/model.onnx is a link" in result.reason
    assert list((tmp_path / "workspace").iterdir()) == []


def test_hard_links_are_refused(tmp_path):
    folder = _learner_folder(tmp_path)
    os.link(folder / "artifacts" / "pruned.pth", tmp_path / "elsewhere.pth")
    result = intake(folder, tmp_path / "workspace")
    assert not result.accepted and "hard link" in result.reason


def test_archive_paths_that_escape_are_refused(tmp_path):
    for name, bad in (("up.zip", "../../outside.txt"), ("abs.zip", "/etc/cron.d/job")):
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            z.writestr(bad, b"x")
        result = intake(tmp_path / name, tmp_path / "workspace")
        assert not result.accepted and "points outside the submission" in result.reason, name
    assert not (tmp_path / "outside.txt").exists()


def test_a_link_inside_an_archive_is_refused(tmp_path):
    member = zipfile.ZipInfo("artifacts/model.onnx")
    member.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "sly.zip", "w") as z:
        z.writestr(member, "/etc/passwd")
    result = intake(tmp_path / "sly.zip", tmp_path / "workspace")
    assert not result.accepted and "holds a link" in result.reason


def test_oversize_files_are_refused(tmp_path):
    folder = _learner_folder(tmp_path)
    result = intake(folder, tmp_path / "workspace", max_file=100)
    assert not result.accepted and "artifacts/pruned.pth" in result.reason and "cap" in result.reason
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("artifacts/huge.bin", b"\0" * 10_000)
    bomb = intake(tmp_path / "bomb.zip", tmp_path / "workspace", max_file=1_000)
    assert not bomb.accepted and "cap" in bomb.reason


def test_a_second_intake_replaces_the_first(tmp_path):
    folder = _learner_folder(tmp_path)
    intake(folder, tmp_path / "workspace")
    (folder / "artifacts" / "pruned.pth").write_bytes(b"new")
    result = intake(folder, tmp_path / "workspace")
    assert (result.folder / "artifacts" / "pruned.pth").read_bytes() == b"new"
    assert sorted(p.name for p in (tmp_path / "workspace").iterdir()) == ["ada"]
