"""Files the tool writes replace their destination whole and never write through a link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scimrecon.atomicfile import write_atomic
from scimrecon.errors import InputError


def test_a_link_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", "utf-8")
    out = tmp_path / "plan.json"
    out.symlink_to(victim)
    write_atomic(out, "{}\n")
    assert victim.read_text("utf-8") == "keep me\n"
    assert not out.is_symlink() and out.read_text("utf-8") == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "victim.txt"]


def test_private_files_are_owner_only_and_shared_ones_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "secret.env", "export KEY=x\n", private=True)
        write_atomic(tmp_path / "report.csv", "a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "secret.env").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "report.csv").stat().st_mode) == 0o644


def test_an_unwritable_place_is_one_line_and_leaves_no_temp_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^.*nowhere/x.csv: cannot write \("):
        write_atomic(tmp_path / "nowhere" / "x.csv", "a\n")
    assert list(tmp_path.iterdir()) == []
