"""Connectors against the simulator, in-process (httpx.WSGITransport), with injected time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.http import ApiClientFactory, RetryPolicy

SIM_URL = "http://sim.test"


class FakeTime:
    """Retries and rate limits wait on this clock, so tests take no wall time."""

    def __init__(self) -> None:
        self.t = 10_000.0
        self.sleeps: list[float] = []

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


def make_sim(name: str = "acme-trello", *, retry: RetryPolicy | None = None) -> Sim:
    from scimrecon.sim.app import SimApp
    from scimrecon.sim.world import load_world

    world = load_world(name)
    app = SimApp(world, seed=1)
    ft = FakeTime()
    profile = Profile.from_dict(app.profile(SIM_URL))
    secrets = Secrets(app.secrets(), keyring_lookup=None)
    factory = ApiClientFactory(
        transport=httpx.WSGITransport(app=app),
        sleep=ft.sleep,
        clock=ft.clock,
        retry=retry or RetryPolicy(attempts=3),
    )
    services = Services(profile, secrets, factory=factory)
    return Sim(app, app.world, services, ft)


@pytest.fixture
def sim() -> Iterator[Sim]:
    s = make_sim()
    yield s
    s.services.close()


@pytest.fixture
def okta_sim() -> Iterator[Sim]:
    s = make_sim("okta-manual")
    yield s
    s.services.close()
