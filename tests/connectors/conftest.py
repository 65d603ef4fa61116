"""Connectors against the simulator, in-process (httpx.WSGITransport), with injected time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.http import ApiClientFactory, HttpSettings
from scimrecon.retry import RetryPolicy

SIM_URL = "http://sim.localhost"


class FakeTime:
    """Retries and rate limits wait on this clock, so tests take no wall time."""

    def __init__(self) -> None:
        self.t = 1_795_000_000.0  # late 2026, in epoch seconds: the simulator shares this clock
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class Sim:
    app: Any
    world: dict[str, Any]
    services: Services
    time: FakeTime

    def requests(self, prefix: str = "") -> list[tuple[str, str, int]]:
        return [
            (r["method"], r["path"], r["status"])
            for r in self.app.log
            if r["path"].startswith(prefix)
        ]

    def faults(self, spec: dict[str, Any]) -> None:
        self.app.set_faults(spec)


def make_sim(
    name: str = "acme-trello",
    *,
    retry: RetryPolicy | None = None,
    world: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    profile: dict[str, Any] | None = None,
    wrap: Callable[[Any], Any] | None = None,
) -> Sim:
    """A simulator over a fixture world and Services pointed at it, all on one fake clock.
    `wrap`: a WSGI middleware between them (a server that answers otherwise than the docs)."""
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.world import load_world

    world = world if world is not None else load_world(name)
    ft = FakeTime()
    app = SimApp(world, seed=1, clock=ft.clock, sleep=ft.sleep)
    services = _services(app, ft, retry=retry, secrets=secrets, profile=profile, wrap=wrap)
    return Sim(app, app.world, services, ft)


def _services(
    app: Any,
    ft: FakeTime,
    *,
    retry: RetryPolicy | None = None,
    secrets: dict[str, str] | None = None,
    profile: dict[str, Any] | None = None,
    wrap: Callable[[Any], Any] | None = None,
) -> Services:
    """Services over the simulator `app` on the fake time `ft`, as one process has them."""
    settled = Profile.from_dict(profile if profile is not None else app.profile(SIM_URL))
    secrets_env = secrets if secrets is not None else app.secrets()
    factory = ApiClientFactory(
        settings=HttpSettings(
            transport=httpx.WSGITransport(app=wrap(app) if wrap else app),
            sleep=ft.sleep,
            clock=ft.clock,
            now=ft.now,
            retry=retry or RetryPolicy(attempts=3),
        ),
        rates={name: settled.rate_for(name) for name in ("atlassian", "jira", "graph")},
    )
    return Services(settled, Secrets(secrets_env, keyring_lookup=None), factory=factory)


def another_process(sim: Sim) -> Services:
    """Services of a second process on the same simulator and clock: its own limiters, which
    know nothing of what the first one sent."""
    return _services(sim.app, sim.time)


@pytest.fixture
def sim() -> Iterator[Sim]:
    s = make_sim()
    yield s
    s.services.close()


@pytest.fixture
def okta_sim() -> Iterator[Sim]:
    s = make_sim("okta")
    yield s
    s.services.close()


@pytest.fixture
def manual_sim() -> Iterator[Sim]:
    s = make_sim("manual")
    yield s
    s.services.close()
