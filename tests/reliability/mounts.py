"""Real file-system faults for the storage suites: a read-only folder and a tiny disk.

root ignores file modes, so as root a folder is made read-only with a read-only bind mount of
itself (what a read-only volume or backup mount is), and a full disk is a small tmpfs; without
root a read-only folder is chmod a-w, and a full disk cannot be made (the test skips; the
engine suite's SQLite `max_page_count` variant still runs everywhere).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["mount", *args], capture_output=True)


@contextmanager
def read_only(folder: Path) -> Iterator[bool]:
    """`folder` read-only for the block; yields True for a real read-only mount, False for
    chmod (whose errors say "Permission denied" rather than "Read-only file system")."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p, mode in modes.items():
            p.chmod(mode & ~0o222)
        try:
            yield False
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    bind = _mount("--bind", str(folder), str(folder))
    if bind.returncode != 0:
        pytest.skip(f"cannot mount here: {bind.stderr.decode().strip()}")
    try:
        remount = _mount("-o", "remount,bind,ro", str(folder))
        assert remount.returncode == 0, remount.stderr
        yield True
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@contextmanager
def small_disk(folder: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (created) for the block: a disk that can be filled."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    made = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder))
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Write a ballast file in `folder` until the disk is full; returns it (delete to free)."""
    ballast = folder / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = b"\0" * 65536
        while True:
            try:
                os.write(fd, chunk)
            except OSError:
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)
    return ballast
