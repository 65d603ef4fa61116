"""The simulator's mail server: a real SMTP server (aiosmtpd) that keeps what it receives.

Notices are the one thing the product sends to people rather than to an API, so demos, tests
and support engineers need to see exactly what a user would get: `GET /_sim/mail` lists every
message (`from`, `to`, `subject`, `body`, `at` on the simulator's clock). Recipients can be
made to fail (`PUT /_sim/mail/reject`): the server then answers RCPT TO with 550, as a real
server does for a mailbox it does not have (RFC 5321 section 4.2.2's "mailbox unavailable"),
so a refused notice is exercised over the wire.

Plain SMTP with no TLS, bound to loopback only: the profile it writes says `tls = "none"`,
which the profile loader accepts only for a loopback host.
"""

from __future__ import annotations

import copy
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Any

from scimrecon.urlsafety import is_loopback_host

#: The reply to a recipient the mailbox was told to reject (RFC 5321 4.2.2, code 550).
REJECT_REPLY = "550 5.1.1 mailbox unavailable (simulated)"


class Mailbox:
    """What the server received, and which recipients it refuses; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []
        self._reject: set[str] = set()

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._messages)

    def set_reject(self, recipients: list[str]) -> list[str]:
        with self._lock:
            self._reject = {r.strip().lower() for r in recipients}
            return sorted(self._reject)

    def rejects(self, address: str) -> bool:
        with self._lock:
            return address.strip().lower() in self._reject

    def deliver(self, sender: str, recipients: list[str], data: bytes) -> None:
        message = message_from_bytes(data, policy=policy.default)
        part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
        body = part.get_content() if part is not None else ""
        body = body.replace("\r\n", "\n")  # the wire's line ends, as the reader sees them
        at = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        entry = {
            "from": sender,
            "to": list(recipients),
            "subject": str(message.get("Subject", "")),
            "body": body,
            "at": at.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "message_id": str(message.get("Message-ID", "")),
        }
        with self._lock:
            self._messages.append(entry)


class _Handler:
    """aiosmtpd's handler hooks: refuse rejected recipients, keep every accepted message."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.mailbox.rejects(address):
            return REJECT_REPLY
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mailbox.deliver(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` now (aiosmtpd needs a number; port 0 is not accepted)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """A running aiosmtpd server for one mailbox (start/stop, or use `serve_smtp`).

    With `login` (user, password) it offers SMTP AUTH and refuses any other password (535),
    as a company relay does, so the password's path (env var -> smtplib, never a log or the
    state file) is exercised too. (AUTH is offered, not required: aiosmtpd warns against
    requiring it without TLS, and the tests check the login happened by its success.)
    """

    def __init__(
        self,
        mailbox: Mailbox,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        login: tuple[str, str] | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the simulator's SMTP server has no TLS: loopback only, not {host}")
        self.mailbox = mailbox
        self.host = host
        self.port = port
        self.login = login
        self._controller: Any = None

    def _auth_options(self) -> dict[str, Any]:
        if self.login is None:
            return {}
        from aiosmtpd.smtp import AuthResult, LoginPassword

        user, password = (part.encode() for part in self.login)

        def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                user,
                password,
            )
            return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535 itself

        # Loopback only, so AUTH without TLS is allowed here (the product allows it likewise).
        return {
            "authenticator": authenticator,
            "auth_require_tls": False,
            # PLAIN only: smtplib falls back to LOGIN after a refusal, which aiosmtpd answers
            # with a challenge smtplib never completes (the client times out).
            "auth_exclude_mechanism": ["LOGIN"],
        }

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        tries = 1 if self.port else 5  # a free port found by binding can be taken meanwhile
        for attempt in range(tries):
            port = self.port or free_port(self.host)
            controller = Controller(
                _Handler(self.mailbox), hostname=self.host, port=port, **self._auth_options()
            )
            try:
                controller.start()
            except (OSError, RuntimeError):
                if attempt + 1 == tries:
                    raise
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@contextmanager
def serve_smtp(
    mailbox: Mailbox,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    login: tuple[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """Run the SMTP server for the duration of the block."""
    server = SmtpServer(mailbox, host, port, login=login).start()
    try:
        yield server
    finally:
        server.stop()


def smtp_profile(host: str, port: int, sender: str, user: str | None = None) -> dict[str, Any]:
    """The profile's [smtp] section for this server (the password goes to the secrets)."""
    section: dict[str, Any] = {"host": host, "port": port, "sender": sender, "tls": "none"}
    if user:
        section["username"] = user
    return section


__all__ = ["REJECT_REPLY", "Mailbox", "SmtpServer", "free_port", "serve_smtp", "smtp_profile"]
