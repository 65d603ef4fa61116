"""The product and the simulator as separate processes, as a person would run them.

Killing the CLI with SIGKILL must not touch the simulator, so each lives in its own process:
`scimrecon sim serve` started once per scenario, and the CLI started per command with the
secrets `sim serve` wrote to PROFILE.env. Everything here talks to the simulator over HTTP, the
way any other client would. `sim_serve_forked` is the same server forked from a preloaded
interpreter (forked.py), for suites that start many.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.playbooks.harness import READ_POSTS  # POSTs that only read: one list
from tests.reliability.forked import Forked, spawn_forked

ROOT = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-m", "scimrecon.cli.main")
WRITE_METHODS = {"PUT", "PATCH", "DELETE", "POST"}
#: What issue 7 calls destructive: delete, unlink, email change, disable, ticket edit.
DESTRUCTIVE = (
    ("DELETE", "/scim/directory/"),
    ("DELETE", "/onlyDeleteUserInDB"),
    ("PUT", "/manage/email"),
    ("POST", "/lifecycle/disable"),
    ("PUT", "/rest/api/3/issue/"),
    ("POST", "/rest/api/3/bulk/issues/fields"),
    ("POST", "/participant"),
    ("DELETE", "/participant"),
)


def is_write(entry: dict[str, Any]) -> bool:
    path = str(entry["path"])
    if path.startswith("/_sim") or entry["method"] not in WRITE_METHODS:
        return False
    return not (entry["method"] == "POST" and any(m in path for m in READ_POSTS))


def is_destructive(entry: dict[str, Any]) -> bool:
    path = str(entry["path"]).split("?", 1)[0]
    return any(entry["method"] == m and marker in path for m, marker in DESTRUCTIVE)


def repeated_with_effect(log: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Destructive requests that succeeded more than once for the same resource.

    The path names the resource (account id, SCIM id, issue key), so "the same target".
    """
    counts: dict[str, int] = {}
    for entry in log:
        if is_destructive(entry) and 200 <= int(entry["status"]) < 300:
            key = f"{entry['method']} {str(entry['path']).split('?', 1)[0]}"
            counts[key] = counts.get(key, 0) + 1
    return {k: n for k, n in counts.items() if n > 1}


def read_env(path: Path) -> dict[str, str]:
    """The `export VAR=value` lines `sim serve` writes, as a dict."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            env[name] = value
    return env


def base_env() -> dict[str, str]:
    """The parent's environment minus anything scimrecon would pick up by itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMRECON_")}
    env["PYTHONPATH"] = str(ROOT)
    env["NO_COLOR"] = "1"
    return env


@dataclass
class Sim:
    """A running `scimrecon sim serve` process."""

    proc: subprocess.Popen[str] | Forked
    url: str
    profile: Path
    secrets: dict[str, str]

    def env(self, **extra: str) -> dict[str, str]:
        return {**base_env(), **self.secrets, "SCIMRECON_PROFILE": str(self.profile), **extra}

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def log(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_sim/log"))

    def world(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sim/world"))

    def tick(self) -> Any:
        return self._call("POST", "/_sim/tick", {})

    def stop(self) -> str:
        """SIGTERM (a clean stop that saves --save); returns what it printed on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err or ""


@contextmanager
def sim_serve(world: Path, folder: Path, *extra: str) -> Iterator[Sim]:
    """`scimrecon sim serve --world WORLD --port 0` in its own process, stopped at the end."""
    profile = folder / "sim-profile.toml"
    proc = subprocess.Popen(
        [*CLI, "sim", "serve", "--world", str(world), "--port", "0", "--profile-out", str(profile),
         *extra],
        cwd=folder,
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        if not first.startswith("listening on "):
            proc.kill()
            raise AssertionError(f"sim serve did not start: {first!r} {proc.stderr.read()}")
        proc.stdout.readline()  # "profile: ... secrets: ..." comes once both files are written
        secrets = read_env(Path(f"{profile}.env"))
        yield Sim(proc, first.removeprefix("listening on "), profile, secrets)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@contextmanager
def sim_serve_forked(world: Path, folder: Path, *extra: str) -> Iterator[Sim]:
    """`sim serve` as in `sim_serve`, forked from the preloaded server (see forked.py)."""
    profile = folder / "sim-profile.toml"
    args = ["sim", "serve", "--world", str(world), "--port", "0", "--profile-out", str(profile)]
    proc = spawn_forked([*args, *extra], base_env(), folder, "sim")
    try:
        # The second line ("profile: ... secrets: ...") comes once both files are written.
        wait_for(lambda: proc.poll() is not None or proc.output()[0].count("\n") >= 2, 60)
        first = proc.output()[0].partition("\n")[0].strip()
        if proc.poll() is not None or not first.startswith("listening on "):
            proc.kill()
            raise AssertionError(f"sim serve did not start: {first!r} {proc.communicate()[1]}")
        secrets = read_env(Path(f"{profile}.env"))
        yield Sim(proc, first.removeprefix("listening on "), profile, secrets)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def scimrecon(
    args: Sequence[str], env: dict[str, str], cwd: Path, *, timeout: float = 120, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI to the end."""
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        input=stdin,
    )  # fmt: skip


def spawn(args: Sequence[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start the real CLI without waiting (to kill it, or to race it)."""
    return subprocess.Popen(
        [*CLI, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(predicate: Any, timeout: float, interval: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def state_rows(state: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read the state file directly (read-only), the way a person with `sqlite3` would."""
    if not state.exists():
        return []
    conn = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return list(conn.execute(sql, params).fetchall())
    except sqlite3.OperationalError:  # no schema yet: killed before the first commit
        return []
    finally:
        conn.close()
