"""The one HTTP layer: auth, timeouts, retries, client-side rate limits, redaction, errors.

Every connector goes through here so that the rules that keep a run safe and polite hold
everywhere at once: a rate-limited API is waited on, not hammered; a request that may have taken
effect (a POST that timed out) is never sent twice unless the caller says it is safe; and no key
ever reaches a log line, an exception or a repr, because people paste those into tickets.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import certifi
import httpx

from scimrecon import __version__
from scimrecon.error_detail import detail_from_body, one_line
from scimrecon.errors import CredentialsRefused, InputError, RemoteError
from scimrecon.ratelimit import Clock, Sleep, TokenBucket, WindowLimiter
from scimrecon.retry import RetryPolicy, parse_retry_after
from scimrecon.urlsafety import url_problem

log = logging.getLogger("scimrecon.http")

USER_AGENT = f"scimrecon/{__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

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

    def with_hint(self, hint: str) -> HttpError:
        """The same error with `hint` after its message (what the caller knows to do about
        it). Of the same class: a refused key stays `CredentialsRefused`, so the run still
        stops on it."""
        return type(self)(
            f"{self.message}{hint}",
            api=self.api,
            method=self.method,
            path=self.path,
            status=self.status,
            detail=self.detail,
            body=self.body,
            timed_out=self.timed_out,
        )


class HttpAuthError(HttpError, CredentialsRefused):
    """A 401: the API refused the credentials (see CredentialsRefused)."""


# ----------------------------------------------------------------------------------------------
# Auth (the schemes themselves: http_auth.py)


class SecretAuth(httpx.Auth):
    """Base for our auth classes: they know their secrets so the client can scrub them."""

    def secret_values(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


# ----------------------------------------------------------------------------------------------
# Settings


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
    retry: RetryPolicy = RetryPolicy()  # noqa: RUF009 - a frozen dataclass, safe to share
    sleep: Sleep = time.sleep
    clock: Clock = time.monotonic
    now: Now = _utcnow
    rng: random.Random | None = None


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
        if isinstance(auth, SecretAuth):
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
        kind = HttpAuthError if status == 401 else HttpError
        return kind(
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
            snippet = one_line(response.text, 80) if response.text.strip() else ""
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
        window: WindowLimiter | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request with rate limiting and retries; raise HttpError for a final failure.

        Retried: 429 (the server did not act on it) and connection failures before anything was
        sent, for every method; 502/503/504, timeouts and broken connections only for idempotent
        methods, or when the caller passes `retry_unsafe=True` because the call has no effect.
        `window`: a limit of this call's own (provisionOnDemand), taken before every attempt and
        shut after a 429 for its Retry-After, else a whole window (decision 121).
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
            if window is not None:
                window.acquire()
            reason: str
            delay: float | None
            throttled = False  # a 429: it waits longer than a failure (RetryPolicy.throttled)
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
                failure = self._error(method, shown, f"{what}: {one_line(str(exc), 120)}")
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
                throttled = status == 429
                reason = f"{status}"
                delay = None
                if hinted is not None and hinted[0] > 0:
                    # A hint already in the past (our clock ahead of the server's) says
                    # nothing: fall back to backoff rather than retry in the same instant.
                    delay, header = hinted
                    reason = f"{status}, {header} {delay:g} s"
                if window is not None and status == 429:
                    window.hold(delay if delay is not None else window.window)
            if delay is None:
                delay = (retry.throttled if throttled else retry.backoff)(attempt, self._rng)
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
    "USER_AGENT",
    "ApiClientFactory",
    "HttpClient",
    "HttpError",
    "HttpSettings",
    "SecretAuth",
]
