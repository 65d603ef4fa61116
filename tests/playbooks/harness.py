"""Runs the real `scimrecon` CLI against a simulator over a fixture world.

The simulator is either in-process (httpx.WSGITransport, on a fake clock so retries and rate
limits cost no wall time) or served on a real localhost socket. Only the services hook is
replaced: the registry, engine, steps, connectors and HTTP layer are all the product's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from scimrecon.cli import run as run_cli
from scimrecon.cli.main import cli
from scimrecon.config import Profile, Secrets
from scimrecon.connectors.services import Services
from scimrecon.http import ApiClientFactory, HttpSettings
from scimrecon.recon.billable import world_billable
from scimrecon.retry import RetryPolicy
from scimrecon.sim.app import SimApp
from scimrecon.sim.server import serve_in_thread
from scimrecon.sim.world import load_world
from tests.simharness import smtp_served

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
WRITE_METHODS = {"PUT", "PATCH", "DELETE"}
# POST endpoints that only read (search, look-up, token): anything else that POSTs writes.
READ_POSTS = (
    "/search/jql",
    "/get-scim-links-for-email",
    "/oauth2/v2.0/token",
    "/users/search",
    "/workspaces",
)


class FakeClock:
    """Shared by the simulator and the HTTP layer so backoff and rate limits take no time."""

    def __init__(self) -> None:
        self.t = 1_795_000_000.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.t += max(0.0, seconds)


@dataclass
class SimEnv:
    app: SimApp
    services_factory: Callable[[], Services]
    state: Path
    ui: Any = None
    extra_registry: dict[str, Any] = field(default_factory=dict)
    clock: FakeClock | None = None

    def world(self) -> dict[str, Any]:
        return self.app.world_snapshot()

    def mail(self) -> list[dict[str, Any]]:
        """What the simulator's SMTP server received (`GET /_sim/mail`)."""
        with httpx.Client(transport=httpx.WSGITransport(app=self.app)) as http:
            return http.get("http://sim.localhost/_sim/mail").json()  # type: ignore[no-any-return]

    def control(self, method: str, path: str, body: Any) -> Any:
        """A `/_sim` control request (a login, a dropped product, rejected recipients)."""
        with httpx.Client(transport=httpx.WSGITransport(app=self.app)) as http:
            answer = http.request(method, f"http://sim.localhost{path}", json=body)
            answer.raise_for_status()
            return answer.json()

    def billable(self) -> int:
        return world_billable(self.world())

    def writes(self) -> list[dict[str, Any]]:
        """Every request the simulator saw that changes something."""
        return [
            r
            for r in self.app.log
            if r["method"] in WRITE_METHODS
            or (
                r["method"] == "POST"
                and not r["path"].startswith("/_sim")
                and not any(marker in r["path"] for marker in READ_POSTS)
            )
        ]

    def cli(self, *args: str, input: str | None = None) -> Result:
        """`scimrecon ARGS` in-process, with this simulator behind every connector."""
        hooks = run_cli.HOOKS
        saved = (hooks.services, hooks.interaction, hooks.registry)
        hooks.services = lambda state: self.services_factory()
        if self.ui is not None:
            hooks.interaction = lambda **kw: self.ui
        if self.extra_registry:
            from scimrecon.engine.action import ActionRegistry
            from scimrecon.steps import REGISTRY

            merged = {name: REGISTRY.get(name) for name in REGISTRY.names()}
            hooks.registry = lambda: ActionRegistry({**merged, **self.extra_registry})
        try:
            argv = list(args)
            stateful = {"run", "resume", "status", "runs", "log", "report", "abort", "undo", "plan"}
            if argv and argv[0] in stateful:
                argv[1:1] = ["--state", str(self.state)]
            return CliRunner().invoke(cli, argv, input=input, catch_exceptions=False)
        finally:
            hooks.services, hooks.interaction, hooks.registry = saved


def _services(app: SimApp, base_url: str, transport: httpx.BaseTransport | None, clock: Any):
    profile = Profile.from_dict(app.profile(base_url))
    secrets = Secrets(app.secrets(), keyring_lookup=None)
    kwargs: dict[str, Any] = {"transport": transport, "retry": RetryPolicy(attempts=8)}
    if clock is not None:
        kwargs.update(sleep=clock.sleep, clock=clock.now)
    rates = {name: profile.rate_for(name) for name in ("atlassian", "jira", "graph")}
    settings = HttpSettings(**kwargs)
    wall = {"clock": clock.now} if clock is not None else {}
    return lambda: Services(
        profile, secrets, factory=ApiClientFactory(settings=settings, rates=rates), **wall
    )


@contextmanager
def in_process(
    world: str | dict[str, Any],
    tmp: Path,
    *,
    smtp: bool = False,
    smtp_login: tuple[str, str] | None = None,
    **sim_kwargs: Any,
) -> Iterator[SimEnv]:
    """A simulator called in-process on a fake clock: fast, and deterministic under faults.

    With `smtp`, the simulator's SMTP server runs on a real loopback socket (mail is a socket
    protocol: there is no in-process transport for smtplib) and the profile's [smtp] points
    at it; the mailbox stamps messages with the fake clock. `smtp_login` makes the server
    require that user and password (the password reaches the product as its env secret).
    """
    clock = FakeClock()
    doc = load_world(world) if isinstance(world, str) else world
    app = SimApp(doc, seed=1, clock=clock.now, sleep=clock.sleep, **sim_kwargs)
    with ExitStack() as stack:
        if smtp or smtp_login:
            stack.enter_context(smtp_served(app, smtp_login))
        factory = _services(app, "http://sim.localhost", httpx.WSGITransport(app=app), clock)
        yield SimEnv(app, factory, tmp / "state.db", clock=clock)


@contextmanager
def over_socket(world: str | dict[str, Any], tmp: Path) -> Iterator[SimEnv]:
    """A simulator on a real localhost socket, with real time."""
    doc = load_world(world) if isinstance(world, str) else world
    app = SimApp(doc, seed=1)
    with serve_in_thread(app) as url:
        yield SimEnv(app, _services(app, url, None, None), tmp / "state.db")


def accounts_by_email(world: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["email"].lower(): a for a in world["accounts"]}


def targets(name: str) -> str:
    return str(FIXTURES / name / "targets.csv")
