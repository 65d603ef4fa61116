"""Run `scimrecon` as a person would see it: its output on a pseudo-terminal of a given size.

Used by the width, colour and progress tests: `isatty()` is true only on a real (pseudo-)
terminal, so CliRunner cannot show what a terminal gets. stdout and stderr can each be a
terminal or a pipe, to check that progress appears on a terminal and nowhere else.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass
class Seen:
    code: int
    stdout: str  # as the terminal (or pipe) received it, \r\n made \n
    stderr: str

    @staticmethod
    def plain(text: str) -> str:
        return ANSI.sub("", text)

    @staticmethod
    def widest(text: str) -> int:
        """The widest line as displayed (escape codes take no room; a \r restarts a line)."""
        return max((len(Seen.plain(line).split("\r")[-1]) for line in text.split("\n")), default=0)


def _terminal(columns: int, rows: int = 40) -> tuple[int, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return master, slave


def _drain(fds: dict[int, bytearray], proc: subprocess.Popen[bytes], timeout: float) -> None:
    open_fds = set(fds)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], timeout)
        if not ready:
            proc.kill()
            raise TimeoutError(f"no output for {timeout} s")
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                chunk = b""
            if chunk:
                fds[fd] += chunk
            else:
                open_fds.discard(fd)


def run(
    *args: str,
    columns: int = 100,
    stdout_tty: bool = True,
    stderr_tty: bool = False,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Seen:
    """`scimrecon ARGS` with stdout and/or stderr on a terminal `columns` wide."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    for name in ("COLUMNS", "LINES", "NO_COLOR"):
        if env is None or name not in env:
            full_env.pop(name, None)
    full_env["TERM"] = "xterm-256color"
    closers: list[int] = []
    outs: dict[str, int] = {}
    kwargs: dict[str, int] = {}
    for name, tty in (("stdout", stdout_tty), ("stderr", stderr_tty)):
        if tty:
            master, slave = _terminal(columns)
        else:
            master, slave = os.pipe()
        kwargs[name] = slave
        closers.append(slave)
        outs[name] = master
    proc = subprocess.Popen(
        [sys.executable, "-m", "scimrecon.cli.main", *args],
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=full_env,
        **kwargs,  # type: ignore[arg-type]
    )
    for fd in closers:
        os.close(fd)
    got = {fd: bytearray() for fd in outs.values()}
    try:
        _drain(got, proc, timeout)
    finally:
        for fd in outs.values():
            os.close(fd)
    code = proc.wait(timeout)

    def text(name: str) -> str:
        return got[outs[name]].decode("utf-8", "replace").replace("\r\n", "\n")

    return Seen(code, text("stdout"), text("stderr"))
