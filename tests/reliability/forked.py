"""CLI processes forked from a server that has already imported scimrecon.

`python -m scimrecon.cli.main run ...` spends about 1.2 s of CPU importing scim2-models and
scim2-client before it sends its first request, and `sim serve` about 0.9 s. The crash suite
starts over a hundred such processes on two cores, so imports were more than half its CPU.
Here a multiprocessing *forkserver* imports scimrecon once; each command is then a fork of it:
a separate process with its own pid, environment, working directory and files, running the
real `scimrecon.cli.main.main()` with `sys.argv` set, which a SIGKILL ends as abruptly as any
other process. Nothing of the product is replaced; only the imports are shared.

What a fork cannot prove (the console script's start-up itself) the other suites still do:
test_secrets and test_concurrency, and the crash suite's reference run, start real
`python -m scimrecon.cli.main` processes.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Sequence
from multiprocessing.context import ForkServerContext
from pathlib import Path

#: Imported once by the fork server: everything `run`, `resume` and `sim serve` load.
PRELOAD = [
    "scimrecon.cli.main",
    "scimrecon.cli.run",
    "scimrecon.cli.sim",
    "scimrecon.connectors.services",
    "scimrecon.sim.app",
    "scimrecon.sim.server",
    "scimrecon.sim.profile_toml",
    "tests.reliability.forked",
    # A forked child re-runs the parent's main script (multiprocessing's spawn semantics); for
    # the `pytest` console script that is one import of pytest, cheap once it is preloaded.
    "pytest",
]

_context: ForkServerContext | None = None
_start_lock = threading.Lock()


def _ctx() -> ForkServerContext:
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        assert isinstance(ctx, ForkServerContext)
        ctx.set_forkserver_preload(PRELOAD)
        _context = ctx
    return _context


def shutdown() -> None:
    """Stop the fork server (it holds scimrecon's imports in memory) and reap it.

    Reaping also adds its CPU time, and its children's, to this process's children's, so
    `time pytest ...` counts the forked processes too. Another call to `spawn_forked` starts
    a new server.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver
    if getattr(server, "_forkserver_pid", None) is not None:
        server._stop()  # closes its "alive" pipe and waits for it to exit


def _redirect(fd: int, path: str) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(target, fd)
    os.close(target)


def _child(argv: list[str], env: dict[str, str], cwd: str, out: str, err: str) -> None:
    """In the forked process: become `scimrecon ARGV` run in CWD with ENV, output to files."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    _redirect(1, out)
    _redirect(2, err)
    # Fresh text streams on the redirected descriptors, as a new interpreter would have.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", line_buffering=True
    )
    # The handlers a new interpreter starts with (the fork server may have changed them).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    sys.argv = ["scimrecon", *argv]
    from scimrecon.cli.main import main

    try:
        main()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


class Forked:
    """A running forked CLI process; the subset of `subprocess.Popen` the suites use."""

    def __init__(self, args: Sequence[str], env: dict[str, str], cwd: Path, name: str) -> None:
        self._out = cwd / f".{name}.stdout"
        self._err = cwd / f".{name}.stderr"
        self._proc = _ctx().Process(
            target=_child,
            args=([*args], dict(env), str(cwd), str(self._out), str(self._err)),
            daemon=False,
        )
        with _start_lock:
            self._proc.start()
        assert self._proc.pid is not None
        self.pid: int = self._proc.pid
        self.args = [*args]

    @property
    def returncode(self) -> int | None:
        return self._proc.exitcode

    def poll(self) -> int | None:
        return self._proc.exitcode

    def send_signal(self, sig: int) -> None:
        if self._proc.exitcode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int | None:
        self._proc.join(timeout)
        return self._proc.exitcode

    def output(self) -> tuple[str, str]:
        """Everything the process wrote to stdout and stderr so far."""
        read = lambda p: p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""  # noqa: E731
        return read(self._out), read(self._err)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the end (SIGKILL after `timeout`), then its stdout and stderr."""
        if self.wait(timeout) is None:
            self.kill()
            self.wait()
        return self.output()


def spawn_forked(args: Sequence[str], env: dict[str, str], cwd: Path, name: str) -> Forked:
    """Start `scimrecon ARGS` as a fork of the preloaded server; `name` names its output files."""
    return Forked(args, env, cwd, name)


def run_forked(
    args: Sequence[str], env: dict[str, str], cwd: Path, name: str, *, timeout: float = 120
) -> tuple[int, str, str]:
    """Run `scimrecon ARGS` to the end: (exit code, stdout, stderr)."""
    proc = spawn_forked(args, env, cwd, name)
    stdout, stderr = proc.communicate(timeout)
    code = proc.returncode
    assert code is not None
    return code, stdout, stderr
