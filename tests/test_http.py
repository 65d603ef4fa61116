"""The HTTP layer against small WSGI apps (real httpx requests through WSGITransport) and one
real localhost socket. Time is injected, so retries and rate limits are measured, not slept."""

from __future__ import annotations

import base64
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.config import Secret
from scimrecon.error_detail import detail_from_body
from scimrecon.http import USER_AGENT, ApiClientFactory, HttpClient, HttpError, HttpSettings
from scimrecon.http_auth import BasicAuth, BearerAuth, OAuth2ClientCredentials
from scimrecon.ratelimit import TokenBucket, WindowLimiter
from scimrecon.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 11, 23, 5, 0, 0, tzinfo=UTC)


class FakeTime:
    """A clock that only moves when someone sleeps: retries cost no wall time."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self.t - 1000.0)


Reply = tuple[int, dict[str, str], bytes]


class Scripted:
    """A WSGI app answering from a script of replies, recording every request it saw."""

    def __init__(self, replies: Iterable[Reply | Callable[[dict[str, Any]], Reply]]) -> None:
        self.replies = list(replies)
        self.seen: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        req = {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": environ.get("QUERY_STRING", ""),
            "auth": environ.get("HTTP_AUTHORIZATION"),
            "ua": environ.get("HTTP_USER_AGENT"),
            "body": body,
        }
        self.seen.append(req)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        status, headers, payload = reply(req) if callable(reply) else reply
        start_response(f"{status} X", list(headers.items()))
        return [payload]


def js(status: int, body: Any, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def make(
    app: Any,
    ft: FakeTime,
    *,
    auth: httpx.Auth | None = None,
    limiter: TokenBucket | None = None,
    **kw: Any,
) -> HttpClient:
    settings = HttpSettings(
        transport=httpx.WSGITransport(app=app),
        sleep=ft.sleep,
        clock=ft.clock,
        now=ft.now,
        rng=random.Random(7),
        **kw,
    )
    return HttpClient(
        "Test API", "https://api.example/base", auth, settings=settings, limiter=limiter
    )


# ---------------------------------------------------------------------------------------------
# auth and headers


def test_bearer_auth_and_user_agent_are_sent() -> None:
    app = Scripted([js(200, {"ok": True})])
    client = make(app, FakeTime(), auth=BearerAuth(Secret("tok-123")))
    assert client.get("/things", params={"a": "1"}) == {"ok": True}
    assert app.seen[0]["auth"] == "Bearer tok-123"
    assert app.seen[0]["ua"] == USER_AGENT
    assert app.seen[0]["path"] == "/base/things"
    assert app.seen[0]["query"] == "a=1"


def test_basic_auth_is_email_and_token() -> None:
    app = Scripted([(204, {}, b"")])
    client = make(app, FakeTime(), auth=BasicAuth("ops@acme.example", "jira-tok"))
    assert client.put("/issue/HELP-1", json={}) is None
    expected = base64.b64encode(b"ops@acme.example:jira-tok").decode()
    assert app.seen[0]["auth"] == f"Basic {expected}"


# ---------------------------------------------------------------------------------------------
# retries


def test_get_is_retried_on_503_then_succeeds_with_backoff_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ft = FakeTime()
    app = Scripted([js(503, {"message": "busy"}), js(503, {}), js(200, [1])])
    client = make(app, ft)
    with caplog.at_level(logging.DEBUG, logger="scimrecon.http"):
        assert client.get("/x") == [1]
    assert len(app.seen) == 3
    assert len(ft.sleeps) == 2
    # full jitter: each delay within [0, base * 2^(n-1)]
    assert 0 <= ft.sleeps[0] <= 0.5 and 0 <= ft.sleeps[1] <= 1.0
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert retries[0].startswith("Test API: GET /x: retry 1/4 in ")
    assert retries[0].endswith("(503, backoff)")


def test_post_is_not_retried_on_503() -> None:
    ft = FakeTime()
    app = Scripted([js(503, {"message": "busy"})])
    client = make(app, ft)
    with pytest.raises(HttpError) as err:
        client.post("/lifecycle/disable", json={})
    assert str(err.value) == "Test API: POST /lifecycle/disable → 503: busy"
    assert err.value.status == 503
    assert len(app.seen) == 1 and ft.sleeps == []


def test_post_is_retried_when_caller_says_it_is_safe() -> None:
    ft = FakeTime()
    app = Scripted([js(502, {}), js(200, {"issues": []})])
    client = make(app, ft)
    assert client.post("/search", json={}, retry_unsafe=True) == {"issues": []}
    assert len(app.seen) == 2


def test_post_is_retried_on_429_because_the_server_did_not_act() -> None:
    ft = FakeTime()
    app = Scripted([js(429, {"message": "slow"}, **{"Retry-After": "2"}), (204, {}, b"")])
    client = make(app, ft)
    assert client.post("/lifecycle/disable", json={}) is None
    assert ft.sleeps == [2.0]


def test_retry_after_seconds_is_honoured_exactly() -> None:
    ft = FakeTime()
    app = Scripted([js(429, {}, **{"Retry-After": "7"}), js(200, {})])
    make(app, ft).get("/x")
    assert ft.sleeps == [7.0]


def test_retry_after_http_date_is_honoured() -> None:
    ft = FakeTime()
    when = format_datetime(NOW + timedelta(seconds=12), usegmt=True)
    app = Scripted([js(429, {}, **{"Retry-After": when}), js(200, {})])
    make(app, ft).get("/x")
    assert ft.sleeps == [12.0]


def test_x_ratelimit_reset_iso_time_is_honoured() -> None:
    ft = FakeTime()
    reset = (NOW + timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
    app = Scripted([js(429, {}, **{"X-RateLimit-Reset": reset}), js(200, {})])
    make(app, ft).get("/x")
    assert ft.sleeps == [3.0]


def test_429_without_hints_backs_off_exponentially_and_gives_up_after_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ft = FakeTime()
    app = Scripted([js(429, {"message": "Rate limit exceeded"})])
    client = make(app, ft, retry=RetryPolicy(attempts=4, base_delay=1.0, max_delay=100.0))
    with caplog.at_level(logging.DEBUG, logger="scimrecon.http"), pytest.raises(HttpError) as err:
        client.get("/users")
    assert str(err.value) == "Test API: GET /users → 429: Rate limit exceeded"
    assert len(app.seen) == 4
    assert len(ft.sleeps) == 3
    for n, delay in enumerate(ft.sleeps, start=1):
        # doubled each time, jittered in its upper half: never a retry at once (Jira answers
        # a retry inside the wait with "the same or longer" wait)
        assert 2 ** (n - 1) / 2 <= delay <= 2 ** (n - 1)
    assert any("giving up after 4 attempt(s)" in r.getMessage() for r in caplog.records)


def test_total_time_bounds_retries_even_with_attempts_left() -> None:
    ft = FakeTime()
    app = Scripted([js(429, {"message": "later"}, **{"Retry-After": "500"})])
    client = make(app, ft, retry=RetryPolicy(attempts=10, total_seconds=60))
    with pytest.raises(HttpError, match="429: later"):
        client.get("/x")
    assert ft.sleeps == [] and len(app.seen) == 1


def test_4xx_is_never_retried_and_detail_comes_from_the_body() -> None:
    ft = FakeTime()
    app = Scripted([js(400, {"errors": [{"title": "Bad email", "detail": "not verified"}]})])
    with pytest.raises(HttpError) as err:
        make(app, ft).put("/users/abc/manage/email", json={"email": "x"})
    assert str(err.value) == "Test API: PUT /users/abc/manage/email → 400: not verified"
    assert len(app.seen) == 1


def test_non_json_error_body_is_reported_clearly() -> None:
    ft = FakeTime()
    app = Scripted([(500, {"Content-Type": "text/html"}, b"<html><b>oops</b></html>")])
    with pytest.raises(HttpError) as err:
        make(app, ft).get("/x")
    assert (
        str(err.value)
        == "Test API: GET /x → 500: non-JSON body (text/html): <html><b>oops</b></html>"
    )


def test_non_json_success_body_is_reported_clearly() -> None:
    ft = FakeTime()
    app = Scripted([(200, {"Content-Type": "text/html"}, b"<html>login page</html>")])
    with pytest.raises(HttpError) as err:
        make(app, ft).get("/x")
    assert str(err.value) == "Test API: GET /x → 200: the response is not JSON (text/html)"


class Failing(httpx.BaseTransport):
    """A transport that fails like the network does, then (optionally) answers."""

    def __init__(self, exc: type[httpx.TransportError], then: Any = None, times: int = 1000):
        self.exc, self.then, self.times, self.calls = exc, then, times, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.times or self.then is None:
            raise self.exc("boom", request=request)
        return httpx.Response(200, json=self.then)


def _with_transport(transport: httpx.BaseTransport, ft: FakeTime, **kw: Any) -> HttpClient:
    settings = HttpSettings(
        transport=transport, sleep=ft.sleep, clock=ft.clock, rng=random.Random(1), **kw
    )
    return HttpClient("Jira", "https://acme.atlassian.net", None, settings=settings)


def test_read_timeout_on_get_is_retried_then_reported_with_the_limit() -> None:
    ft = FakeTime()
    transport = Failing(httpx.ReadTimeout)
    with pytest.raises(HttpError) as err:
        _with_transport(transport, ft, retry=RetryPolicy(attempts=3)).get("/rest/api/3/myself")
    assert str(err.value) == "Jira: GET /rest/api/3/myself timed out after 30 s"
    assert err.value.timed_out and err.value.status is None
    assert transport.calls == 3


def test_read_timeout_on_post_is_not_retried() -> None:
    ft = FakeTime()
    transport = Failing(httpx.ReadTimeout, then={"ok": 1}, times=1)
    with pytest.raises(HttpError, match="timed out after 30 s"):
        _with_transport(transport, ft).post("/rest/api/3/bulk/issues/fields", json={})
    assert transport.calls == 1


def test_connect_error_is_retried_even_for_post_because_nothing_was_sent() -> None:
    ft = FakeTime()
    transport = Failing(httpx.ConnectError, then={"taskId": "1"}, times=2)
    assert _with_transport(transport, ft).post("/x", json={}) == {"taskId": "1"}
    assert transport.calls == 3


def test_connect_error_gives_up_with_one_line() -> None:
    ft = FakeTime()
    transport = Failing(httpx.ConnectError)
    with pytest.raises(HttpError) as err:
        _with_transport(transport, ft, retry=RetryPolicy(attempts=2)).get("/x")
    assert str(err.value) == "Jira: GET /x could not connect: boom"


# ---------------------------------------------------------------------------------------------
# rate limit


def test_token_bucket_paces_requests_to_the_rate() -> None:
    ft = FakeTime()
    bucket = TokenBucket(2.0, burst=1, clock=ft.clock, sleep=ft.sleep)
    for _ in range(11):
        bucket.acquire()
    assert sum(ft.sleeps) == pytest.approx(5.0)


@given(
    rate=st.floats(min_value=0.1, max_value=500),
    burst=st.integers(min_value=1, max_value=20),
    n=st.integers(min_value=1, max_value=200),
)
def test_token_bucket_never_exceeds_rate_plus_burst(rate: float, burst: int, n: int) -> None:
    ft = FakeTime()
    bucket = TokenBucket(rate, burst=burst, clock=ft.clock, sleep=ft.sleep)
    for _ in range(n):
        bucket.acquire()
    elapsed = ft.t - 1000.0
    # n requests in `elapsed` seconds: never more than burst + rate * elapsed
    assert n <= burst + rate * elapsed + 1e-6
    # and no needless waiting
    assert elapsed <= max(0.0, (n - burst) / rate) + 1e-6


def test_factory_shares_one_limiter_per_api() -> None:
    ft = FakeTime()
    factory = ApiClientFactory(
        settings=HttpSettings(
            transport=httpx.WSGITransport(app=Scripted([js(200, {})])),
            sleep=ft.sleep,
            clock=ft.clock,
        ),
        rates={"atlassian": 1.0},
    )
    a = factory.make("Atlassian org API", "https://api.example", None, rate_key="atlassian")
    b = factory.make("SCIM directory", "https://api.example/scim", None, rate_key="atlassian")
    assert a.limiter is b.limiter
    for _ in range(3):
        a.get("/x")
        b.get("/y")
    assert sum(ft.sleeps) == pytest.approx(5.0)


def test_limiter_paces_real_requests_through_the_client() -> None:
    ft = FakeTime()
    client = make(Scripted([js(200, {})]), ft, limiter=None)
    client.limiter = TokenBucket(4.0, burst=1, clock=ft.clock, sleep=ft.sleep)
    for _ in range(9):
        client.get("/x")
    assert sum(ft.sleeps) == pytest.approx(2.0)


# ---------------------------------------------------------------------------------------------
# Retry-After parsing and error details


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_integer_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after({"retry-after": str(seconds)}, NOW) == (float(seconds), "Retry-After")


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_http_date_round_trip(seconds: int) -> None:
    when = format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after({"retry-after": when}, NOW) == (float(seconds), "Retry-After")


@given(st.text(max_size=40))
def test_retry_after_garbage_never_raises(value: str) -> None:
    result = parse_retry_after({"retry-after": value, "x-ratelimit-reset": value}, NOW)
    assert result is None or result[0] >= 0


def test_retry_after_in_the_past_means_now() -> None:
    past = (NOW - timedelta(seconds=30)).isoformat()
    assert parse_retry_after({"x-ratelimit-reset": past}, NOW) == (0.0, "X-RateLimit-Reset")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            {"schemas": ["x"], "detail": "dup", "scimType": "uniqueness", "status": "409"},
            "dup (scimType uniqueness)",
        ),
        (
            {"error": {"code": "Authorization_RequestDenied", "message": "no"}},
            "Authorization_RequestDenied: no",
        ),
        ({"errorMessages": ["Issue does not exist"], "errors": {}}, "Issue does not exist"),
        ({"errorMessages": [], "errors": {"reporter": "cannot set"}}, "reporter: cannot set"),
        (
            {"error": "invalid_client", "error_description": "AADSTS7000215 bad secret"},
            "AADSTS7000215 bad secret",
        ),
        ({"code": 401, "message": "Unauthorized"}, "Unauthorized"),
        ("plain words", "plain words"),
        (None, ""),
    ],
)
def test_detail_from_body_shapes(body: Any, detail: str) -> None:
    assert detail_from_body(body) == detail


# ---------------------------------------------------------------------------------------------
# OAuth2 client credentials


def _login_and_api(ft: FakeTime, lifetime: int = 3600) -> tuple[Scripted, list[str]]:
    issued: list[str] = []

    def token(req: dict[str, Any]) -> Reply:
        issued.append(f"tok-{len(issued) + 1}")
        return js(200, {"access_token": issued[-1], "expires_in": lifetime, "token_type": "Bearer"})

    def app_reply(req: dict[str, Any]) -> Reply:
        if req["path"].endswith("/token"):
            return token(req)
        if req["auth"] != f"Bearer {issued[-1]}":
            return js(401, {"error": {"code": "InvalidAuthenticationToken", "message": "expired"}})
        return js(200, {"value": []})

    return Scripted([app_reply]), issued


def test_oauth2_token_is_fetched_once_cached_and_renewed_before_expiry() -> None:
    ft = FakeTime()
    app, issued = _login_and_api(ft, lifetime=3600)
    wsgi = HttpSettings(transport=httpx.WSGITransport(app=app))
    login = HttpClient("Entra login", "https://login.example", None, settings=wsgi)
    auth = OAuth2ClientCredentials(
        login,
        "/tenant-1/oauth2/v2.0/token",
        "client-1",
        Secret("s3cret"),
        "https://graph.microsoft.com/.default",
        clock=ft.clock,
    )
    graph = HttpClient("Microsoft Graph", "https://graph.example", auth, settings=wsgi)
    graph.get("/a")
    graph.get("/b")
    assert issued == ["tok-1"]
    form = app.seen[0]["body"].decode()
    assert "grant_type=client_credentials" in form and "client_id=client-1" in form
    ft.t += 3600 - 299  # inside the renewal window
    graph.get("/c")
    assert issued == ["tok-1", "tok-2"]


def test_oauth2_refetches_once_on_401() -> None:
    ft = FakeTime()
    app, issued = _login_and_api(ft)
    wsgi = HttpSettings(transport=httpx.WSGITransport(app=app))
    login = HttpClient("Entra login", "https://login.example", None, settings=wsgi)
    auth = OAuth2ClientCredentials(
        login, "/t/oauth2/v2.0/token", "c", "s3cret", "x", clock=ft.clock
    )
    graph = HttpClient("Microsoft Graph", "https://graph.example", auth, settings=wsgi)
    graph.get("/a")
    issued.append("tok-rotated-server-side")  # the server revoked tok-1
    assert graph.get("/b") == {"value": []}
    assert issued[-1] == "tok-3" and auth.fetches == 2


def test_oauth2_bad_secret_is_one_line_without_the_secret() -> None:
    app = Scripted(
        [
            js(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret",
                },
            )
        ]
    )
    wsgi = HttpSettings(transport=httpx.WSGITransport(app=app))
    login = HttpClient("Entra login", "https://login.example", None, settings=wsgi)
    auth = OAuth2ClientCredentials(login, "/t/oauth2/v2.0/token", "c", "hunter2-secret", "x")
    graph = HttpClient("Microsoft Graph", "https://graph.example", auth, settings=wsgi)
    with pytest.raises(HttpError) as err:
        graph.get("/servicePrincipals/sp/synchronization/jobs")
    assert str(err.value) == (
        "Entra login: POST /t/oauth2/v2.0/token → 401: AADSTS7000215: Invalid client secret"
    )


# ---------------------------------------------------------------------------------------------
# redaction: plant secrets, trigger every error path, scan everything


PLANTED = {
    "bearer": "BEARER-PLANTED-9f8e7d",
    "jira": "JIRA-PLANTED-1a2b3c",
    "client_secret": "CLIENT-SECRET-PLANTED-77aa",
    "access_token": "ACCESS-TOKEN-PLANTED-55bb",
}


def _echo(req: dict[str, Any]) -> Reply:
    """A hostile server: echoes the credentials it received into error bodies."""
    path = req["path"]
    if path.endswith("/fail/token"):
        return js(401, {"error": "invalid_client", "error_description": req["body"].decode()})
    if path.endswith("/token"):
        return js(200, {"access_token": PLANTED["access_token"], "expires_in": 3600})
    echoed = f"{req['auth']} {req['body'].decode(errors='replace')}"
    for code in (400, 401, 403, 404, 409, 429, 500, 502, 503):
        if path.endswith(f"/{code}"):
            return js(code, {"message": f"you sent {echoed}"})
    if path.endswith("/html"):
        return 500, {"Content-Type": "text/html"}, f"<p>{echoed}</p>".encode()
    if path.endswith("/notjson"):
        return 200, {"Content-Type": "text/plain"}, echoed.encode()
    return js(200, {})


def test_no_secret_reaches_logs_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    ft = FakeTime()
    transport = httpx.WSGITransport(app=Scripted([_echo]))
    common: dict[str, Any] = {
        "settings": HttpSettings(
            transport=transport, sleep=ft.sleep, clock=ft.clock, retry=RetryPolicy(attempts=2)
        )
    }
    login = HttpClient("Entra login", "https://login.example", None, **common)
    oauth = OAuth2ClientCredentials(
        login, "/t/oauth2/v2.0/token", "cid", Secret(PLANTED["client_secret"]), "scope"
    )
    clients = [
        HttpClient("Org", "https://api.example", BearerAuth(Secret(PLANTED["bearer"])), **common),
        HttpClient("Jira", "https://jira.example", BasicAuth("a@b.c", PLANTED["jira"]), **common),
        HttpClient("Graph", "https://graph.example", oauth, **common),
    ]
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    for client in clients:
        texts += [repr(client), str(client), repr(client._client.auth)]
        for path in ["400", "401", "403", "404", "409", "429", "500", "502", "503", "html"]:
            for method in ("GET", "POST"):
                with pytest.raises(HttpError) as err:
                    client.request_json(method, f"/x/{path}", json={"k": "v"})
                value = err.value
                texts += [str(value), repr(value), value.detail, repr(value.args), repr(value.body)]
        with pytest.raises(HttpError) as err:
            client.get("/x/notjson")
        texts += [str(err.value), repr(err.value)]
    for exc_type in (httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError):
        broken = HttpClient(
            "Org",
            "https://api.example",
            BearerAuth(PLANTED["bearer"]),
            settings=HttpSettings(
                transport=Failing(exc_type),
                sleep=ft.sleep,
                clock=ft.clock,
                retry=RetryPolicy(attempts=2),
            ),
        )
        with pytest.raises(HttpError) as err:
            broken.get("/x")
        texts += [str(err.value), repr(err.value)]
    failing = OAuth2ClientCredentials(
        login, "/t/fail/token", "cid", Secret(PLANTED["client_secret"]), "scope"
    )
    graph = HttpClient("Graph", "https://graph.example", failing, **common)
    with pytest.raises(HttpError) as err:
        graph.get("/x")
    texts += [str(err.value), repr(err.value), repr(err.value.body), repr(failing)]
    assert "client_secret=***" in str(err.value)  # the echoed form, scrubbed
    texts += [repr(Secret(PLANTED["bearer"])), str(Secret(PLANTED["bearer"])), f"{Secret('abc')}"]
    texts += [r.getMessage() for r in caplog.records]
    texts.append(caplog.text)
    blob = "\n".join(texts)
    assert (
        "you sent Bearer ***" in blob and "you sent Basic ***" in blob
    )  # the hostile echo really happened and was scrubbed
    encoded = base64.b64encode(f"a@b.c:{PLANTED['jira']}".encode()).decode()
    for needle in [*PLANTED.values(), encoded]:
        assert needle not in blob, needle


# ---------------------------------------------------------------------------------------------
# over a real localhost socket


class _SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(0.6)
        body = json.dumps({"path": self.path, "auth": self.headers.get("Authorization")})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_real_socket_request_and_read_timeout(
    local_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore wire-level debug logs included
    token = PLANTED["bearer"]
    client = HttpClient(
        "Local",
        local_server,
        BearerAuth(token),
        settings=HttpSettings(timeout=0.2, retry=RetryPolicy(attempts=1)),
    )
    assert client.get("/fast") == {"path": "/fast", "auth": f"Bearer {token}"}
    with pytest.raises(HttpError) as err:
        client.get("/slow")
    assert str(err.value) == "Local: GET /slow timed out after 0.2 s"
    client.close()
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert token not in caplog.text


def test_real_socket_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ft = FakeTime()
    client = HttpClient(
        "Local",
        f"http://127.0.0.1:{port}",
        None,
        settings=HttpSettings(sleep=ft.sleep, retry=RetryPolicy(attempts=2)),
    )
    with pytest.raises(HttpError) as err:
        client.get("/x")
    assert str(err.value).startswith("Local: GET /x could not connect: ")
    assert len(ft.sleeps) == 1


@given(
    limit=st.integers(min_value=1, max_value=6),
    window=st.floats(min_value=0.5, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=40),
)
def test_window_limiter_never_lets_more_than_limit_into_any_window(
    limit: int, window: float, gaps: list[float]
) -> None:
    ft = FakeTime()
    limiter = WindowLimiter(limit, window, clock=ft.clock, sleep=ft.sleep)
    sent: list[float] = []
    for gap in gaps:
        ft.t += gap
        limiter.acquire()
        sent.append(ft.t)
    for i in range(len(sent)):
        inside = [t for t in sent if sent[i] <= t < sent[i] + window - 1e-9]
        assert len(inside) <= limit


def test_window_limiter_five_per_ten_seconds() -> None:
    ft = FakeTime()
    limiter = WindowLimiter(5, 10.0, clock=ft.clock, sleep=ft.sleep)
    for _ in range(11):
        limiter.acquire()
    # calls 6-10 wait for call 1 to leave the window, call 11 for call 6
    assert sum(ft.sleeps) == pytest.approx(20.0)


def test_a_page_of_a_listing_goes_ahead_of_the_queue_but_not_faster_than_the_rate() -> None:
    """Decision 104: the next page of a cursor listing waits only for its own chain, not for
    the tokens busy workers reserved; its token is still taken, so they move back."""
    now = [1000.0]
    # Concurrent callers: each sleeps in its own thread, so the shared clock does not move.
    bucket = TokenBucket(10.0, burst=1, clock=lambda: now[0], sleep=lambda s: None)
    assert bucket.acquire() == 0.0  # the bucket is empty now
    queued = [bucket.acquire() for _ in range(5)]  # five workers reserve the next 0.5 s
    assert queued == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    # the page waits behind the request really sent (0.1 s), not behind the five asleep (0.6 s)
    assert bucket.acquire(ahead=True) == pytest.approx(0.1)
    now[0] += 0.15  # its answer comes back; the next page is asked for
    assert bucket.acquire(ahead=True) == pytest.approx(0.05)  # 0.1 s after its own last page
    # the next ordinary caller comes after every token taken: 1 + 5 asleep + 2 pages, at 10/s
    assert bucket.acquire() == pytest.approx(0.8 - 0.15)


@given(
    rate=st.floats(min_value=0.5, max_value=200),
    chain=st.lists(st.booleans(), min_size=1, max_size=200),
)
def test_a_chain_alone_never_exceeds_the_rate(rate: float, chain: list[bool]) -> None:
    ft = FakeTime()
    bucket = TokenBucket(rate, burst=1, clock=ft.clock, sleep=ft.sleep)
    for ahead in chain:
        bucket.acquire(ahead=ahead)
    elapsed = ft.t - 1000.0
    assert len(chain) <= 1 + rate * elapsed + 1e-6


def test_a_hint_keeps_the_errors_kind_a_refused_key_stays_refused() -> None:
    """Connectors add what to do to an error's message (`with_hint`); a 401 must stay a
    CredentialsRefused so the run still stops on it, not become a plain failure per target."""
    from scimrecon.errors import CredentialsRefused
    from scimrecon.http import HttpAuthError

    error = HttpAuthError(
        "Okta: POST /apps/x/users → 401: invalid token",
        api="Okta",
        method="POST",
        path="/apps/x/users",
        status=401,
        detail="invalid",
    )
    hinted = error.with_hint("; assign them again")
    assert isinstance(hinted, CredentialsRefused) and type(hinted) is HttpAuthError
    assert hinted.message == "Okta: POST /apps/x/users → 401: invalid token; assign them again"
    assert (hinted.status, hinted.path, hinted.detail) == (401, "/apps/x/users", "invalid")
