"""The one HTTP layer: auth, timeouts, retries, client-side rate limits, redaction, errors.

Every connector goes through here so that the rules that keep a run safe and polite hold
everywhere at once: a rate-limited API is waited on, not hammered; a request that may have taken
effect (a POST that timed out) is never sent twice unless the caller says it is safe; and no key
ever reaches a log line, an exception or a repr, because people paste those into tickets.
"""

from __future__ import annotations

import functools
import heapq
import json
import logging
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import certifi
import httpx

from scimrecon import __version__
from scimrecon.config import Secret
from scimrecon.errors import InputError, RemoteError
from scimrecon.urlsafety import url_problem

log = logging.getLogger("scimrecon.http")

USER_AGENT = f"scimrecon/{__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------------------------
# Errors


class HttpError(RemoteError):
    """A call that failed for good. The message is one line a person can act on, and never
    holds headers or secrets; `status` is None when no response came back."""

    def __init__(
        self,
        message: str,
        *,
        api: str,
        method: str,
        path: str,
        status: int | None = None,
        detail: str = "",
        body: Any = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.api = api
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        self.body = body
        self.timed_out = timed_out

    def __repr__(self) -> str:
        return f"HttpError({self.message!r})"


# ----------------------------------------------------------------------------------------------
# Auth


class _SecretAuth(httpx.Auth):
    """Base for our auth classes: they know their secrets so the client can scrub them."""

    def secret_values(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


def _as_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


class BearerAuth(_SecretAuth):
    """`Authorization: Bearer <key>` (Atlassian org API key, SCIM directory key)."""

    def __init__(self, token: Secret | str) -> None:
        self._token = _as_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def secret_values(self) -> list[str]:
        return [self._token.reveal()]


class SswsAuth(_SecretAuth):
    """`Authorization: SSWS <token>` (an Okta API token; Okta's own scheme, not Bearer)."""

    def __init__(self, token: Secret | str) -> None:
        self._token = _as_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"SSWS {self._token.reveal()}"
        yield request

    def secret_values(self) -> list[str]:
        return [self._token.reveal()]


class BasicAuth(_SecretAuth):
    """Basic email + API token (Jira Cloud)."""

    def __init__(self, username: str, token: Secret | str) -> None:
        self._username = username
        self._token = _as_secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        header = httpx.BasicAuth(self._username, self._token.reveal())._auth_header
        request.headers["Authorization"] = header
        yield request

    def secret_values(self) -> list[str]:
        raw = self._token.reveal()
        encoded = httpx.BasicAuth(self._username, raw)._auth_header.split(" ", 1)[1]
        return [raw, encoded]


class OAuth2ClientCredentials(_SecretAuth):
    """Client-credentials token from the Entra login endpoint, cached until shortly before it
    expires (renewed `renew_before` seconds early so a long run never sends a stale token), and
    fetched once more if the API answers 401 to a cached token."""

    def __init__(
        self,
        token_client: HttpClient,
        token_path: str,
        client_id: str,
        client_secret: Secret | str,
        scope: str,
        *,
        clock: Clock = time.monotonic,
        renew_before: float = 300.0,
    ) -> None:
        self._client = token_client
        self._path = token_path
        self._client_id = client_id
        self._secret = _as_secret(client_secret)
        self._scope = scope
        self._clock = clock
        self._renew_before = renew_before
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.fetches = 0
        token_client.add_secrets(self.secret_values)

    def secret_values(self) -> list[str]:
        values = [self._secret.reveal()]
        if self._token is not None:
            values.append(self._token.reveal())
        return values

    def _fetch(self) -> None:
        body = self._client.request_json(
            "POST",
            self._path,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._secret.reveal(),
                "scope": self._scope,
            },
            retry_unsafe=True,  # asking for a token has no side effect
        )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise HttpError(
                f"{self._client.api}: POST {self._path} → 200: no access_token in the response",
                api=self._client.api,
                method="POST",
                path=self._path,
                status=200,
            )
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = Secret(token)
        self._expires_at = self._clock() + lifetime
        self.fetches += 1

    def token(self, *, force: bool = False) -> Secret:
        with self._lock:
            stale = self._clock() >= self._expires_at - self._renew_before
            if force or self._token is None or stale:
                self._fetch()
            assert self._token is not None
            return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token.reveal()}"
        response = yield request
        if response.status_code == 401:
            with self._lock:
                if self._token == token:  # nobody renewed it meanwhile
                    self._token = None
            request.headers["Authorization"] = f"Bearer {self.token().reveal()}"
            yield request


# ----------------------------------------------------------------------------------------------
# Retry policy and rate limit


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded by attempts AND by total time, whichever ends first."""

    attempts: int = 5
    total_seconds: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter (uniform in [0, base * 2^(n-1)])."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class HttpSettings:
    """What the clients of one process have in common: transport, timeouts, retries, and the
    functions that tell and pass time.

    One value, handed whole from the factory to each client, so that a setting added later
    reaches every client without being listed again at each hop, and a test swaps in fake time
    or an in-process transport in one place. `rng` None gives each client its own generator
    for backoff jitter.
    """

    transport: httpx.BaseTransport | None = None
    timeout: float = 30.0
    connect_timeout: float = 10.0
    retry: RetryPolicy = RetryPolicy()
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    now: Now = _utcnow
    rng: random.Random | None = None


class TokenBucket:
    """A thread-safe token bucket: `rate` tokens per second, at most `burst` saved up.

    The default burst is 1: requests go out evenly spaced, which leaves the provider's own burst
    allowance untouched as a buffer for network jitter. A client that bursts to the provider's
    limit drains that buffer and then meets 429s whenever two requests arrive a little closer
    together than they were sent (measured: bench/bench_connector_rate.py).

    A caller that finds the bucket empty reserves the next token (the count goes negative) and
    sleeps outside the lock, so concurrent callers queue fairly instead of spinning.

    `acquire(ahead=True)` is for a request in a chain that cannot go faster than one after
    another (the next page of a cursor listing): it does not queue behind the callers still
    asleep on their reserved tokens, only behind the last request really sent, and it still
    takes its token, so every later reservation moves back by one. Over any stretch longer
    than the queue (at most `--concurrency` callers asleep) the rate stays `rate`; within it
    the chain adds at most one request per caller asleep, which the provider's own burst
    absorbs (the simulator's: one second's worth).
    Without it a 450-page listing behind 16 busy workers waited for the whole queue at every
    page (decision 104).
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate = float(rate_per_s)
        self.burst = float(burst) if burst is not None else 1.0
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._asleep: list[float] = []  # when the callers still asleep will send (a heap)
        self._last_sent = float("-inf")  # the latest send time not in the future
        self._lock = threading.Lock()

    def acquire(self, *, ahead: bool = False) -> float:
        """Take one token, waiting if needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            while self._asleep and self._asleep[0] <= now:
                self._last_sent = max(self._last_sent, heapq.heappop(self._asleep))
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                wait = 0.0
            elif ahead:  # behind what was really sent, not behind those still asleep
                wait = max(0.0, self._last_sent + 1.0 / self.rate - now)
            else:
                wait = (1.0 - self._tokens) / self.rate
            self._tokens -= 1.0
            if wait > 0 and not ahead:
                heapq.heappush(self._asleep, now + wait)
            else:
                self._last_sent = max(self._last_sent, now + wait)
        if wait > 0:
            self._sleep(wait)
        return wait


class WindowLimiter:
    """At most `limit` calls in any `window_s` seconds (a sliding window).

    Some limits are stated that way (Graph provisionOnDemand: 5 per 10 s), and a token bucket
    with the same average rate would still let a sixth call into a window; this never does.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window = float(window_s)
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a slot, waiting for the oldest call to leave the window; returns the wait."""
        with self._lock:
            now = self._clock()
            while self._stamps and now - self._stamps[0] >= self.window:
                self._stamps.popleft()
            wait = 0.0
            if len(self._stamps) >= self.limit:
                wait = self._stamps[-self.limit] + self.window - now
            # reserve the slot at the time the call will really go out
            self._stamps.append(now + max(wait, 0.0))
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)


def parse_retry_after(
    headers: Mapping[str, str] | httpx.Headers, now: datetime
) -> tuple[float, str] | None:
    """Seconds the server asks us to wait, from Retry-After (seconds or HTTP date) or
    X-RateLimit-Reset / Okta's X-Rate-Limit-Reset (ISO time, or epoch seconds); None when it
    does not say."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value)), "Retry-After"
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds()), "Retry-After"
    # X-RateLimit-Reset (Atlassian and others: ISO time or epoch seconds); X-Rate-Limit-Reset
    # (Okta: "UTC epoch time (in seconds)", developer.okta.com/docs/reference/rl-best-practices)
    name = "X-RateLimit-Reset" if headers.get("x-ratelimit-reset") else "X-Rate-Limit-Reset"
    reset = headers.get("x-ratelimit-reset") or headers.get("x-rate-limit-reset")
    if reset:
        reset = reset.strip()
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = datetime.fromtimestamp(float(reset), UTC)
            except (ValueError, OverflowError, OSError):
                return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds()), name
    return None


# ----------------------------------------------------------------------------------------------
# Error details


_DETAIL_LIMIT = 300


def _one_line(text: str, limit: int = _DETAIL_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key in ("detail", "message", "title", "errorMessage"):
            if isinstance(value.get(key), str):
                yield value[key]
                return
        for key, item in value.items():
            if isinstance(item, str):
                yield f"{key}: {item}"


def detail_from_body(body: Any) -> str:
    """The human part of an error body, for the common shapes of the APIs we call: SCIM
    (detail, scimType), Atlassian (message / errors[].title+detail; user management
    {key, context, errorKey, errorDetail}), Jira (errorMessages,
    errors{field: msg}), Graph ({error: {code, message}}), OAuth (error_description)."""
    if not isinstance(body, dict):
        return _one_line(str(body)) if body not in (None, "") else ""
    if "errorKey" in body or ("key" in body and "context" in body):
        return _one_line(_user_management_detail(body))
    parts: list[str] = []
    if isinstance(body.get("errorSummary"), str):  # Okta: errorCode, errorSummary, errorCauses
        code = body.get("errorCode")
        parts.append(f"{code}: {body['errorSummary']}" if code else body["errorSummary"])
        causes = body.get("errorCauses")
        for cause in causes if isinstance(causes, list) else []:
            if isinstance(cause, dict) and isinstance(cause.get("errorSummary"), str):
                parts.append(cause["errorSummary"])
    if isinstance(body.get("error"), dict):
        err = body["error"]
        text = err.get("message") or ""
        code = err.get("code")
        parts.append(f"{code}: {text}" if code and text else str(code or text))
    for key in ("error_description", "detail", "message", "errorMessage"):
        if isinstance(body.get(key), str) and body[key]:
            parts.append(body[key])
            break
    for key in ("errorMessages", "errors"):
        if body.get(key):
            parts.extend(_strings(body[key]))
    if not parts and isinstance(body.get("error"), str):
        parts.append(body["error"])
    scim_type = body.get("scimType")
    text = "; ".join(p for p in parts if p)
    if scim_type:
        text = f"{text} (scimType {scim_type})" if text else f"scimType {scim_type}"
    return _one_line(text)


def _user_management_detail(body: dict[str, Any]) -> str:
    """The user management API's `{key, context, errorKey, errorDetail}`: the key, the detail,
    and why a refusal was made (`context.reason.key`, e.g. `managedAccount`)."""
    key = str(body.get("errorKey") or body.get("key") or "")
    detail = body.get("errorDetail")
    context = body.get("context")
    if not detail and isinstance(context, str):
        detail = context
    reason = context.get("reason") if isinstance(context, dict) else None
    why = reason.get("key") if isinstance(reason, dict) else None
    text = f"{key}: {detail}" if key and detail else str(key or detail or "")
    return f"{text} (reason: {why})" if why else text


def _safe_url(url: str) -> str:
    """A base URL for display: never with a user or password in it."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# ----------------------------------------------------------------------------------------------
# Client


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store per process: every client loading the CA bundle again cost about
    50 ms each, five times per command (SCIM, admin, Jira, Graph, login)."""
    return ssl.create_default_context(cafile=certifi.where())


class HttpClient:
    """One API's client: base URL, auth, timeouts, retries, rate limit, one-line errors.

    `api` is the name people see in messages ("Atlassian org API", "SCIM directory", ...).
    """

    def __init__(
        self,
        api: str,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        settings: HttpSettings = HttpSettings(),
        limiter: TokenBucket | None = None,
    ) -> None:
        problem = url_problem(base_url)
        if problem:  # defence in depth: the profile loader refuses these already
            raise InputError(f"{api}: base URL {problem}")
        self.api = api
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.limiter = limiter
        self._rng = settings.rng or random.Random()
        self._secret_sources: list[Callable[[], list[str]]] = []
        if isinstance(auth, _SecretAuth):
            self._secret_sources.append(auth.secret_values)
        self._base_path = urlsplit(self.base_url).path
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            auth=auth,
            transport=settings.transport,
            timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
            verify=_tls_context(),
        )

    # -- plumbing ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"HttpClient(api={self.api!r}, base_url={_safe_url(self.base_url)!r})"

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    @property
    def httpx_client(self) -> httpx.Client:
        """The underlying client, for libraries that drive httpx themselves (scim2-client).
        Requests sent through it directly skip retries and the rate limit: use `send`."""
        return self._client

    def add_secrets(self, source: Callable[[], list[str]]) -> None:
        """Register more values to scrub from anything this client logs or raises."""
        self._secret_sources.append(source)

    def scrub(self, text: str) -> str:
        """Replace every known secret in `text` by ***."""
        for source in self._secret_sources:
            for value in source():
                if value and len(value) >= 4:
                    text = text.replace(value, "***")
        return text

    def _display_path(self, url: httpx.URL | str) -> str:
        path = httpx.URL(str(url)).path if not isinstance(url, httpx.URL) else url.path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path) :] or "/"
        return path if path.startswith("/") else "/" + path

    def _error(
        self,
        method: str,
        path: str,
        what: str,
        *,
        status: int | None = None,
        detail: str = "",
        body: Any = None,
        timed_out: bool = False,
    ) -> HttpError:
        message = self.scrub(f"{self.api}: {method} {path} {what}")
        if body is not None:  # kept for callers that need a field, scrubbed like the message
            try:
                body = json.loads(self.scrub(json.dumps(body)))
            except (TypeError, ValueError):
                body = None
        return HttpError(
            message,
            api=self.api,
            method=method,
            path=path,
            status=status,
            detail=self.scrub(detail),
            body=body,
            timed_out=timed_out,
        )

    def _response_error(self, method: str, path: str, response: httpx.Response) -> HttpError:
        body: Any = None
        try:
            body = response.json() if response.content else None
            detail = detail_from_body(body)
        except (ValueError, UnicodeDecodeError):
            ctype = response.headers.get("content-type", "no content type").split(";")[0]
            snippet = _one_line(response.text, 80) if response.text.strip() else ""
            detail = f"non-JSON body ({ctype})" + (f": {snippet}" if snippet else "")
        if not detail:
            detail = response.reason_phrase or "no detail"
        return self._error(
            method,
            path,
            f"→ {response.status_code}: {detail}",
            status=response.status_code,
            detail=detail,
            body=body,
        )

    # -- the one request loop ------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        *,
        retry_unsafe: bool = False,
        raise_for_status: bool = True,
        ahead: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request with rate limiting and retries; raise HttpError for a final failure.

        Retried: 429 (the server did not act on it) and connection failures before anything was
        sent, for every method; 502/503/504, timeouts and broken connections only for idempotent
        methods, or when the caller passes `retry_unsafe=True` because the call has no effect.
        """
        method = method.upper()
        if path.startswith(("http://", "https://")):
            # A URL taken from a response (a next-page link): it gets our credentials too.
            problem = url_problem(path)
            if problem:
                raise InputError(f"{self.api}: refused to send {method} to a URL that {problem}")
        else:
            path = path.lstrip("/")
        shown = self._display_path(self._client.build_request(method, path).url)
        may_repeat = retry_unsafe or method in IDEMPOTENT_METHODS
        settings, retry = self.settings, self.settings.retry
        started = settings.clock()
        attempt = 0
        while True:
            attempt += 1
            if self.limiter is not None:
                # `ahead`: the next page of a listing read one page after another (TokenBucket)
                self.limiter.acquire(ahead=True) if ahead else self.limiter.acquire()
            reason: str
            delay: float | None
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                never_sent = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                limit = settings.connect_timeout if never_sent else settings.timeout
                failure = self._error(method, shown, f"timed out after {limit:g} s", timed_out=True)
                if not (may_repeat or never_sent):
                    raise failure from None
                reason, delay = "timeout", None
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError)
                what = "could not connect" if never_sent else "connection failed"
                failure = self._error(method, shown, f"{what}: {_one_line(str(exc), 120)}")
                if not (may_repeat or never_sent):
                    raise failure from None
                reason, delay = type(exc).__name__, None
            else:
                status = response.status_code
                log.debug(self.scrub(f"{self.api}: {method} {shown} → {status}"))
                if status < 400:
                    return response
                retryable = status in retry.statuses and (status == 429 or may_repeat)
                if not retryable:
                    if raise_for_status:
                        raise self._response_error(method, shown, response)
                    return response
                failure = self._response_error(method, shown, response)
                hinted = parse_retry_after(response.headers, settings.now())
                reason = f"{status}"
                delay = None
                if hinted is not None and hinted[0] > 0:
                    # A hint already in the past (our clock ahead of the server's) says
                    # nothing: fall back to backoff rather than retry in the same instant.
                    delay, header = hinted
                    reason = f"{status}, {header} {delay:g} s"
            if delay is None:
                delay = retry.backoff(attempt, self._rng)
                reason += ", backoff"
            elapsed = settings.clock() - started
            if attempt >= retry.attempts or elapsed + delay > retry.total_seconds:
                log.debug(
                    self.scrub(
                        f"{self.api}: {method} {shown}: giving up after {attempt} attempt(s) "
                        f"and {elapsed:.1f} s ({reason})"
                    )
                )
                if raise_for_status or failure.status is None:
                    raise failure from None
                return response
            log.debug(
                self.scrub(
                    f"{self.api}: {method} {shown}: retry {attempt}/{retry.attempts - 1} "
                    f"in {delay:.2f} s ({reason})"
                )
            )
            settings.sleep(delay)

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and decode the JSON body (None for an empty body such as 204)."""
        response = self.send(method, path, **kwargs)
        return self.decode(method, response)

    def decode(self, method: str, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            ctype = response.headers.get("content-type", "no content type").split(";")[0]
            raise self._error(
                method,
                self._display_path(response.request.url),
                f"→ {response.status_code}: the response is not JSON ({ctype})",
                status=response.status_code,
            ) from None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("GET", path, **kwargs)

    def unexpected(self, method: str, path: str, what: str) -> HttpError:
        """A 200 whose body is not the documented shape: one line naming the call and what is
        missing (every connector's answer to a response it cannot trust)."""
        return HttpError(
            f"{self.api}: {method} {path} → 200: unexpected response ({what})",
            api=self.api,
            method=method,
            path=path,
            status=200,
        )

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("DELETE", path, **kwargs)


# ----------------------------------------------------------------------------------------------
# Factory


class ApiClientFactory:
    """Builds every API's client with shared settings, and one rate limiter per API name so
    that all clients of the same provider draw from the same budget."""

    def __init__(
        self,
        *,
        settings: HttpSettings = HttpSettings(),
        rates: Mapping[str, float | None] | None = None,
    ) -> None:
        self.settings = settings
        self.rates = dict(rates or {})
        self._limiters: dict[str, TokenBucket] = {}
        self._windows: dict[str, WindowLimiter] = {}
        self._lock = threading.Lock()

    def limiter(self, key: str, rate_per_s: float | None, burst: float | None = None) -> Any:
        """The shared limiter for `key`, created at first use; None when unlimited."""
        if not rate_per_s:
            return None
        with self._lock:
            if key not in self._limiters:
                self._limiters[key] = TokenBucket(
                    rate_per_s, burst, clock=self.settings.clock, sleep=self.settings.sleep
                )
            return self._limiters[key]

    def window_limiter(self, key: str, limit: int, window_s: float) -> WindowLimiter:
        """A shared sliding-window limiter for `key` (one per process-wide budget)."""
        with self._lock:
            if key not in self._windows:
                self._windows[key] = WindowLimiter(
                    limit, window_s, clock=self.settings.clock, sleep=self.settings.sleep
                )
            return self._windows[key]

    def make(
        self,
        api: str,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        rate_key: str | None = None,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> HttpClient:
        """A client for one API; `retry` and `timeout` override the shared settings for it."""
        rate = rate_per_s if rate_per_s is not None else self.rates.get(rate_key or api)
        settings = self.settings
        if retry is not None or timeout is not None:
            settings = replace(
                settings,
                retry=retry or settings.retry,
                timeout=settings.timeout if timeout is None else timeout,
            )
        return HttpClient(
            api, base_url, auth, settings=settings, limiter=self.limiter(rate_key or api, rate)
        )


__all__ = [
    "NO_RETRY",
    "USER_AGENT",
    "ApiClientFactory",
    "BasicAuth",
    "BearerAuth",
    "HttpClient",
    "HttpError",
    "HttpSettings",
    "OAuth2ClientCredentials",
    "RetryPolicy",
    "SswsAuth",
    "TokenBucket",
    "WindowLimiter",
    "detail_from_body",
    "parse_retry_after",
]
