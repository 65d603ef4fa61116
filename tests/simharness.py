"""Plain helpers (not fixtures) for any test that needs the simulator.

Import them where needed: `from tests.simharness import load_fixture_world, make_sim, served`.
They are plain functions so that every test package can use them without sharing a conftest.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from scimrecon.sim.app import SimApp
from scimrecon.sim.server import serve_in_thread

DATA = Path(__file__).parent / "sim" / "data"
FIXTURES = Path(__file__).resolve().parent.parent / "scimrecon" / "fixtures"


class FakeClock:
    """A clock tests move by hand, so provisioning cycles and rate limits are deterministic."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """Use as SimApp(sleep=...): records the delay and moves time instead of waiting."""
        self.slept.append(seconds)
        self.now += seconds


def load_fixture_world(name: str) -> dict[str, Any]:
    """A shipped fixture world (validated by the world loader), or tests/sim/data/<name>.json."""
    local = DATA / f"{name}.json"
    if local.is_file():
        return json.loads(local.read_text(encoding="utf-8"))
    try:
        from scimrecon.sim.world import load_world
    except ImportError:  # the loader is not there yet: plain JSON
        return json.loads((FIXTURES / name / "world.json").read_text(encoding="utf-8"))
    return load_world(name)


def make_sim(
    world: dict[str, Any] | str,
    *,
    seed: int | None = 1,
    clock: Any = None,
    sleep: Any = None,
) -> SimApp:
    """A SimApp over a deep copy of `world` (a dict or a fixture name)."""
    doc = load_fixture_world(world) if isinstance(world, str) else copy.deepcopy(world)
    kwargs: dict[str, Any] = {"seed": seed}
    if clock is not None:
        kwargs["clock"] = clock
    if sleep is not None:
        kwargs["sleep"] = sleep
    return SimApp(doc, **kwargs)


def client(sim: SimApp, **kwargs: Any) -> httpx.Client:
    """An in-process httpx client (no socket) with base URL http://sim."""
    return httpx.Client(transport=httpx.WSGITransport(app=sim), base_url="http://sim", **kwargs)


@contextmanager
def served(app: SimApp) -> Iterator[str]:
    """Serve on a real localhost socket (threaded, port 0); yields the base URL."""
    with serve_in_thread(app) as base_url:
        yield base_url


@contextmanager
def smtp_served(app: SimApp, login: tuple[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """Run the simulator's SMTP server (aiosmtpd, loopback) into `app.mailbox`; the app's
    profile then carries an [smtp] section pointing at it. Yields (host, port)."""
    from scimrecon.sim.mail import serve_smtp

    with serve_smtp(app.mailbox, login=login) as server:
        app.smtp_address, app.smtp_login = (server.host, server.port), login
        try:
            yield server.host, server.port
        finally:
            app.smtp_address = app.smtp_login = None
