"""Atomic writes: a reader sees the old file or the new one, never a part, and nothing is left behind."""

from __future__ import annotations

import pytest

from helpers.files import replaced_atomically, write_text_atomically


def test_a_write_replaces_the_file_in_one_step(tmp_path):
    target = tmp_path / "deep" / "results.json"
    write_text_atomically(target, "old")
    with replaced_atomically(target) as temporary:
        temporary.write_text("new")
        assert target.read_text() == "old" and temporary.parent == target.parent
    assert target.read_text() == "new"
    assert sorted(path.name for path in target.parent.iterdir()) == ["results.json"]


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_partial(tmp_path):
    target = write_text_atomically(tmp_path / "record.json", "old")
    with pytest.raises(KeyboardInterrupt), replaced_atomically(target) as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["record.json"]


def test_two_writers_use_their_own_temporary_names(tmp_path):
    target = tmp_path / "model.pth"
    with replaced_atomically(target) as first, replaced_atomically(target) as second:
        assert first != second
        first.write_text("a")
        second.write_text("b")
    assert target.read_text() == "a"  # the last to finish wins, whole
