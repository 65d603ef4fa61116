"""SimApp: one WSGI app standing in for every remote API the product talks to.

It serves the fixture world under the prefixes of DESIGN.md ("The simulator"), runs the IdP's
provisioning cycles, injects faults and logs every request (never a credential or a body). It
is thread-safe with one lock around the world, so `sim serve` can run it threaded and tests can
call it in-process through `httpx.WSGITransport` with the same behaviour.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from werkzeug.wrappers import Request, Response

from scimrecon.sim import (
    activity,
    admin_api,
    control_api,
    entra_api,
    jira_api,
    okta_api,
    orgs_search_api,
    orgs_v2_api,
    scim_api,
)
from scimrecon.sim.context import Ctx, Runtime
from scimrecon.sim.families import Family, authenticate, classify, error_body
from scimrecon.sim.faults import Decision, Faults, FaultSpecError
from scimrecon.sim.mail import Mailbox, smtp_profile
from scimrecon.sim.provisioning import (
    in_scope,
    job_active,
    push_idp_user,
    push_memberships,
    run_cycle,
)
from scimrecon.sim.store import Store
from scimrecon.sim.web import ApiError, Reply, Router, json_body

_SECRET_QUERY = ("token", "key", "secret", "password", "code", "signature", "auth")


def _build_router() -> Router:
    router = Router()
    scim_api.register(router)
    admin_api.register(router)
    control_api.register(router)
    orgs_v2_api.register(router)
    orgs_search_api.register(router)
    jira_api.register(router)
    entra_api.register(router)
    okta_api.register(router)
    return router


_ROUTER = _build_router()


def redact_query(query: str) -> str:
    """Keep the query for the log, minus any parameter that could carry a secret."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    clean = [(k, "REDACTED" if any(s in k.lower() for s in _SECRET_QUERY) else v) for k, v in pairs]
    return urlencode(clean)


class SimApp:
    """The simulator. `world` is mutated in place (take `world_snapshot()` for a copy)."""

    def __init__(
        self,
        world: dict[str, Any],
        *,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        faults_spec = dict(world.get("faults") or {})
        self.seed = seed if seed is not None else int(faults_spec.get("seed", 0) or 0)
        self.clock = clock
        self.sleep = sleep
        self.store = Store(world, seed=self.seed, clock=clock)
        self.runtime = Runtime()
        self.log: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._fault_lock = threading.Lock()
        self._request_ids = itertools.count(1)
        self.faults = Faults(faults_spec, seed=self.seed, clock=clock)
        self._last_cycle = clock()
        #: What the SMTP server (`sim serve --smtp`) received; `smtp_address` is where it
        #: listens, once started, so the profile can point notices at it.
        self.mailbox = Mailbox(clock)
        self.smtp_address: tuple[str, int] | None = None
        self.smtp_login: tuple[str, str] | None = None

    @property
    def world(self) -> dict[str, Any]:
        return self.store.world

    # -- public helpers -------------------------------------------------------------------------

    def world_snapshot(self) -> dict[str, Any]:
        """A deep copy of the world in the fixture format (loadable again)."""
        with self._lock:
            return copy.deepcopy(self.store.world)

    def tick(self, *, full: bool = False) -> list[dict[str, Any]]:
        """Run one provisioning cycle now, if the IdP job is Active; what was pushed.

        Incremental unless `full` (or a restart asked for one): only IdP users changed since
        the last cycle are processed. A paused job keeps its changes for the next cycle.
        """
        with self._lock:
            self._last_cycle = self.clock()
            return self._cycle(full=full)

    def _cycle(self, *, full: bool = False) -> list[dict[str, Any]]:
        if not job_active(self.store):
            return []
        runtime = self.runtime
        changed = None if (full or runtime.idp_full_cycle) else set(runtime.idp_changed)
        runtime.idp_changed.clear()
        runtime.idp_full_cycle = False
        return run_cycle(self.store, changed)

    def touch(self, user: str) -> dict[str, Any]:
        """Mark an IdP user changed (an attribute edited in the IdP): the next cycle takes it."""
        with self._lock:
            idp_user = self.store.idp_user(user)
            if idp_user is None:
                raise ApiError(404, f"no IdP user {user!r} in this world")
            self.runtime.idp_change(str(idp_user.get("object_id")))
            return {"userName": idp_user.get("userName"), "changed": True}

    def push(self, user: str) -> dict[str, Any]:
        """What an IdP admin's manual push does (Okta's "Push now", any IdP's re-push): the IdP
        user is POSTed to the SCIM directory, linking to whichever account holds the email.

        Allowed whatever the job's state (a person in the console can push while automatic
        provisioning is off) but only for a user the IdP would provision (assigned, enabled,
        in scope): an admin cannot push someone outside the app.
        """
        with self._lock:
            idp_user = self.store.idp_user(user)
            if idp_user is None:
                raise ApiError(404, f"no IdP user {user!r} in this world")
            if not in_scope(idp_user):
                raise ApiError(409, f"{user} is not assigned to the app (or not in scope)")
            outcome = push_idp_user(self.store, idp_user)
            if outcome is not None and "error" in outcome:
                raise ApiError(409, f"the push failed: {outcome['error']}")
            # The admin pushes the user's groups too (Okta: Push Groups → Push now), so the
            # memberships come back with the entry (docs/simulator.md).
            groups = [
                {"group": g["group"], "added": bool(g["added"])}
                for g in push_memberships(self.store, idp_user)
            ]
            if outcome is None:
                return {
                    "userName": idp_user.get("userName"),
                    "pushed": False,
                    "reason": "already has a SCIM entry",
                    "groups": groups,
                }
            return {**outcome, "pushed": True, "groups": groups}

    def set_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault spec (raises FaultSpecError on a bad document)."""
        with self._fault_lock:
            current = self.faults.update(spec)
        with self._lock:
            self.store.world["faults"] = copy.deepcopy(current)
        return current

    def profile(self, base_url: str) -> dict[str, Any]:
        """The profile TOML shape (endpoints and ids only) pointing every connector here.

        Sections the world has nothing for are left out, and so are empty values, so the result
        always passes the profile loader's checks.
        """
        base = base_url.rstrip("/")
        world = self.store.world
        org = world.get("org") or {}
        directory = self.store.idp_directory_id()
        profile: dict[str, Any] = {
            "atlassian": {
                "base_url": f"{base}/atlassian",
                "org_id": org.get("id", ""),
                # The org's only user directory; several are listed by GET /v2/orgs/{id}/
                # directories, and "-" (the default) works while there is one.
                "directory_id": orgs_v2_api.user_directories(self.store)[0]["id"],
                "domains": list(org.get("domains") or []),
            }
        }
        sites = [str(s.get("name")) for s in world.get("sites") or [] if s.get("name")]
        if sites:  # the sites the org manages: access on others is flagged, not removable
            profile["atlassian"]["sites"] = sites
        if directory:
            profile["scim"] = {
                "base_url": f"{base}/atlassian/scim/directory/{directory}",
                "directory_id": directory,
            }
        jira = world.get("jira") or {}
        if jira.get("site") and jira.get("email"):
            profile["jira"] = {"base_url": f"{base}/jira/{jira['site']}", "email": jira["email"]}
        idp = world.get("idp") or {}
        if idp:
            job = idp.get("job") or {}
            section = {
                "kind": idp.get("kind", "manual"),
                "graph_url": f"{base}/graph",
                "login_url": f"{base}/login",
                "tenant": idp.get("tenant"),
                "client_id": idp.get("client_id"),
                "service_principal": idp.get("service_principal"),
                "job_id": job.get("id"),
                "rule_id": job.get("rule_id"),
            }
            if idp.get("kind") == "okta":
                org = idp.get("okta") or {}
                section = {"kind": "okta", "okta_url": f"{base}/okta", "app_id": org.get("app_id")}
            profile["idp"] = {k: v for k, v in section.items() if v}
        if self.smtp_address is not None:
            domains = org.get("domains") or ["sim.localhost"]
            host, port = self.smtp_address
            user = self.smtp_login[0] if self.smtp_login else None
            profile["smtp"] = smtp_profile(host, port, f"it-admin@{domains[0]}", user)
        billing = world.get("billing") or {}
        keys = ("tier", "price_per_user_month", "cycle_day")
        if any(k in billing for k in keys):
            profile["billing"] = {k: billing[k] for k in keys if k in billing}
        return profile

    def secrets(self) -> dict[str, str]:
        """Env var name -> the world's key, for the documented secret variables."""
        world = self.store.world
        out: dict[str, str] = {}
        directory = self.store.directory(self.store.idp_directory_id() or "")
        if directory and directory.get("api_key"):
            out["SCIMRECON_SCIM_TOKEN"] = str(directory["api_key"])
        if (world.get("org") or {}).get("api_key"):
            out["SCIMRECON_ORG_API_KEY"] = str(world["org"]["api_key"])
        if (world.get("jira") or {}).get("api_token"):
            out["SCIMRECON_JIRA_TOKEN"] = str(world["jira"]["api_token"])
        if (world.get("idp") or {}).get("client_secret"):
            out["SCIMRECON_ENTRA_CLIENT_SECRET"] = str(world["idp"]["client_secret"])
        if ((world.get("idp") or {}).get("okta") or {}).get("api_token"):
            out["SCIMRECON_OKTA_TOKEN"] = str(world["idp"]["okta"]["api_token"])
        if self.smtp_login is not None:
            out["SCIMRECON_SMTP_PASSWORD"] = self.smtp_login[1]
        return out

    # -- WSGI -----------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        family = classify(request.path)
        started = self.clock()
        decision = Decision()
        if family.name not in ("control", "unknown"):
            with self._fault_lock:
                decision = self.faults.decide(request.path)
        if decision.delay_s:
            self.sleep(decision.delay_s)
        if decision.apply:
            response = self._dispatch(family, request)
            if decision.status is not None:  # a timeout that applied: the client has gone
                response = self._error(family, ApiError(decision.status, "request timed out"))
        else:
            response = self._fault_response(family, decision)
        headers = decision.headers
        if family.name == "okta":
            headers = okta_api.rate_headers(headers, self.clock())
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        self._record(started, request, response.status_code, family)
        return response

    def _fault_response(self, family: Family, decision: Decision) -> Response:
        status = decision.status or 500
        messages = {
            "down": "the service is unavailable (simulated outage)",
            "rate": "rate limit exceeded",
            "error": "simulated server error",
            "timeout": "request timed out",
        }
        return self._error(
            family, ApiError(status, messages.get(decision.reason, "simulated failure"))
        )

    def _dispatch(self, family: Family, request: Request) -> Response:
        with self._lock:
            try:
                self._maybe_cycle()
                if family.name == "control":
                    reply = self._control(request)
                elif family.name == "unknown":
                    raise ApiError(404, f"no API is mounted at {request.path}")
                else:
                    authenticate(family, request, self.store, self.runtime, self.clock())
                    handler, params = _ROUTER.match(request.method, request.path)
                    ctx = Ctx(request, self.store, self.runtime, family.prefix)
                    reply = handler(ctx, **params)
                return self._reply(family, reply)
            except ApiError as exc:
                return self._error(family, exc)
            except Exception as exc:  # never an HTML traceback: the API's own 500 shape
                return self._error(family, ApiError(500, f"internal error: {type(exc).__name__}"))

    def _maybe_cycle(self) -> None:
        """Run a provisioning cycle if one is due; a paused job pushes the schedule along."""
        now = self.clock()
        if not job_active(self.store):
            self._last_cycle = now
            return
        interval = float(self.store.idp.get("cycle_seconds") or 0)
        if interval > 0 and now - self._last_cycle >= interval:
            self._last_cycle = now
            self._cycle()

    def _control(self, request: Request) -> Reply:
        path, method = request.path.rstrip("/"), request.method
        if path == "/_sim/world" and method == "GET":
            return Reply(200, copy.deepcopy(self.store.world))
        if path == "/_sim/log" and method == "GET":
            return Reply(200, list(self.log))
        if path == "/_sim/tick" and method == "POST":
            full = request.args.get("full", "") in ("1", "true", "yes")
            return Reply(200, {"pushed": self.tick(full=full)})
        if path in ("/_sim/push", "/_sim/touch") and method == "POST":
            body = json_body(request)
            user = body.get("user") if isinstance(body, dict) else None
            if not isinstance(user, str) or not user:
                raise ApiError(400, 'body must be {"user": "<userName or object id>"}')
            return Reply(200, self.push(user) if path == "/_sim/push" else self.touch(user))
        if path == "/_sim/faults" and method == "PUT":
            try:
                return Reply(200, self.set_faults(json_body(request)))
            except FaultSpecError as exc:
                raise ApiError(400, str(exc)) from exc
        if path == "/_sim/faults" and method == "GET":
            return Reply(200, copy.deepcopy(self.faults.spec))
        if path == "/_sim/mail" and method == "GET":
            return Reply(200, self.mailbox.messages())
        if path == "/_sim/mail/reject" and method == "PUT":
            body = json_body(request)
            recipients = body.get("recipients") if isinstance(body, dict) else None
            if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
                raise ApiError(400, 'body must be {"recipients": ["<email>", ...]}')
            return Reply(200, {"reject": self.mailbox.set_reject(recipients)})
        if path in ("/_sim/login", "/_sim/drop-product") and method == "POST":
            dropping = path == "/_sim/drop-product"
            user, product = activity.user_and_product(json_body(request), product_required=dropping)
            if dropping:
                return Reply(200, activity.drop_product(self.store, user, str(product)))
            return Reply(200, activity.login(self.store, user, product))
        raise ApiError(404, f"no control endpoint {method} {path}")

    def _reply(self, family: Family, reply: Reply) -> Response:
        content_type = reply.content_type or family.content_type
        if reply.body is None or reply.status == 204:
            response = Response(status=reply.status)
        else:
            response = Response(
                json.dumps(reply.body), status=reply.status, content_type=content_type
            )
        for name, value in reply.headers.items():
            response.headers[name] = value
        return response

    def _error(self, family: Family, exc: ApiError) -> Response:
        request_id = f"sim-{next(self._request_ids):08d}"
        body = error_body(family, exc, now=self.store.now(), request_id=request_id)
        response = Response(json.dumps(body), status=exc.status, content_type=family.content_type)
        for name, value in exc.headers.items():
            response.headers[name] = value
        return response

    def _record(self, started: float, request: Request, status: int, family: Family) -> None:
        query = redact_query(request.query_string.decode("latin-1"))
        entry = {
            "t": started,
            "method": request.method,
            "path": request.path + (f"?{query}" if query else ""),
            "status": status,
            "prefix": family.prefix,
        }
        with self._fault_lock:
            self.log.append(entry)
