"""Okta: a run killed while provisioning is paused resumes to the end, and turns back on exactly
the capabilities that were on before its pause (decision 44), over a real socket, with the CLI
in its own process and nobody at the terminal (stdin closed).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from scimrecon.sim.world import fixtures_root
from tests.playbooks.harness import _services, in_process, targets
from tests.playbooks.test_okta import assert_reprovisioned_okta, features
from tests.reliability.procs import scimrecon, sim_serve, spawn, state_rows, wait_for
from tests.reliability.worlds import without_groups

pytestmark = pytest.mark.reliability

WORLD = Path(str(fixtures_root())) / "okta" / "world.json"


def _step(state: Path, step: str) -> str | None:
    rows = state_rows(
        state, "SELECT state FROM step_states WHERE step = ? AND target = ''", (step,)
    )
    return rows[0][0] if rows else None


def test_killed_between_pause_and_resume_restores_exactly_what_was_on(tmp_path: Path) -> None:
    world = without_groups(json.loads(WORLD.read_text(encoding="utf-8")))
    world["idp"]["okta"]["features"]["profile"] = "DISABLED"  # kept off by an admin
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    state = tmp_path / "state.db"
    args = ["run", "reprovision", "--targets", targets("okta"), "--yes", "--state", str(state)]
    with sim_serve(path, tmp_path) as sim:
        before = sim.world()
        # slow email changes keep the run inside the pause window long enough to be killed there
        sim._call("PUT", "/_sim/faults", {"/atlassian/users": {"latency_ms": 300}, "seed": 1})
        proc = spawn(args, sim.env(), tmp_path)
        try:
            assert wait_for(lambda: _step(state, "pause") == "done", 60), proc.communicate()
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        paused = features(sim.world())
        assert paused["create"] == paused["profile"] == "DISABLED"  # killed inside the window
        assert _step(state, "resume") is None
        sim._call("PUT", "/_sim/faults", {"seed": 1})
        done = scimrecon(["resume", "1", "--force", "--state", str(state)], sim.env(), tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        after = sim.world()
        assert features(after) == features(before)  # create back on; profile still off
        assert_reprovisioned_okta(before, after)


class CrashAfterPause(httpx.BaseTransport):
    """The process dies right after Okta applied the pause, before the run recorded it."""

    class Died(BaseException):
        pass

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.armed = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.armed and request.method == "PUT" and "/features/" in request.url.path:
            self.armed = False
            raise self.Died("killed after the pause was applied")
        return response


def test_a_pause_whose_outputs_were_lost_still_restores_exactly(tmp_path: Path) -> None:
    with in_process("okta", tmp_path) as env:
        without_groups(env.app.world)
        features(env.app.world)["profile"] = "DISABLED"  # only create is on
        before = env.world()
        crashing = CrashAfterPause(httpx.WSGITransport(app=env.app))
        good = env.services_factory
        env.services_factory = _services(env.app, "http://sim.localhost", crashing, env.clock)
        # the runner stops at the crash, resumable, with the pause recorded as started only
        stopped = env.cli("run", "reprovision", "--targets", targets("okta"), "--yes", input="")
        assert stopped.exit_code == 4, stopped.output
        assert "killed after the pause was applied" in stopped.output
        assert _step(env.state, "pause") == "running"
        assert features(env.world())["create"] == "DISABLED"  # Okta applied it
        env.services_factory = good
        result = env.cli("resume", "1", "--force")
        assert result.exit_code == 0, result.output
        assert features(env.world()) == features(before)  # create back on, profile still off
        assert_reprovisioned_okta(before, env.world())
