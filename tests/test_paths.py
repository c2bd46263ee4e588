"""staged_folder: a folder appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmscope._paths import staged_folder


def test_staged_folder_replaces_on_success_and_keeps_the_old_one_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with staged_folder(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError), staged_folder(target) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("interrupted")
    assert (target / "a.txt").read_text() == "first"
    with staged_folder(target) as tmp:
        (tmp / "b.txt").write_text("second")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old folders left
