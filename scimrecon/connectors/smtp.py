"""Sending one plain-text mail through the profile's SMTP server (stdlib `smtplib`).

Notices tell people they are about to lose access, so a notice must either reach the server
or fail loudly for that one person: every refusal (a rejected recipient, a refused login, a
server that will not speak TLS) is a `MailError` naming the recipient and the server's own
reply, never the password. TLS is required (STARTTLS, or TLS from the first byte on port 465)
except for a server on this machine (the simulator's), the same loopback rule as for HTTP
(urlsafety.py); the profile loader enforces it and `Mailer` checks it again, so a config built
in code cannot slip past.

One connection per message: notices are few (one per target), and a fresh connection keeps a
failed send for one person from leaving the next one on a half-broken session.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from scimrecon.config import Secret, SmtpConfig
from scimrecon.errors import ScimreconError
from scimrecon.urlsafety import is_loopback_host

TIMEOUT_S = 30.0


class MailError(ScimreconError):
    """The server did not take the message, or could not be reached.

    `maybe_delivered` is set when the connection broke mid-transaction: the server may have
    taken the mail before its answer was lost, so nobody may say "not sent".
    """

    def __init__(self, message: str, *, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    #: Stable per run, step and target: a resent notice is recognisably the same message.
    message_id: str


class Mailer:
    """Sends `Mail` through one SMTP server, with TLS unless the server is on loopback."""

    def __init__(
        self, config: SmtpConfig, password: Secret | None, *, timeout: float = TIMEOUT_S
    ) -> None:
        if config.tls == "none" and not is_loopback_host(config.host):
            raise MailError(f"smtp.tls = none is refused for {config.host}: not a loopback host")
        if config.username and password is None:
            raise MailError("smtp.username is set but no SMTP password was given")
        self.config = config
        self._password = password
        self.timeout = timeout

    def __repr__(self) -> str:
        cfg = self.config
        return f"Mailer({cfg.host}:{cfg.effective_port}, tls={cfg.tls})"

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        port = cfg.effective_port
        context = ssl.create_default_context()
        if cfg.tls == "implicit":
            return smtplib.SMTP_SSL(cfg.host, port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(cfg.host, port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if cfg.tls == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailError(
                        f"{cfg.host}:{port} does not offer STARTTLS: not sending mail or a "
                        'password in clear text (set smtp.tls = "implicit" for port 465)'
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: Mail) -> None:
        """Deliver `mail` to the server, or raise MailError saying why it was not taken."""
        cfg = self.config
        message = EmailMessage()
        message["From"] = cfg.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = mail.message_id
        message.set_content(mail.body)
        where = f"{cfg.host}:{cfg.effective_port}"
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"cannot reach the SMTP server {where}: {_why(exc)}") from None
        try:
            if cfg.username and self._password is not None:
                smtp.login(cfg.username, self._password.reveal())
            smtp.send_message(message, from_addr=cfg.sender, to_addrs=[mail.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            raise MailError(f"{where} refused {mail.to}: {code} {_text(reply)}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"{where} refused the login of {cfg.username}: {exc.smtp_code} "
                f"{_text(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPServerDisconnected as exc:  # (an SMTPException, and an OSError)
            raise _broken(where, mail, exc) from None
        except smtplib.SMTPException as exc:  # a refusal with a reply code: definitely not taken
            raise MailError(f"{where} did not take the mail to {mail.to}: {_why(exc)}") from None
        except OSError as exc:  # a reset or a timeout mid-transaction
            raise _broken(where, mail, exc) from None
        finally:
            try:
                smtp.quit()  # the message is already accepted (or refused): a failed QUIT is moot
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _broken(where: str, mail: Mail, exc: BaseException) -> MailError:
    return MailError(
        f"the connection to {where} broke while sending to {mail.to} ({_why(exc)}): "
        "it may or may not have arrived",
        maybe_delivered=True,
    )


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _why(exc: BaseException) -> str:
    code = getattr(exc, "smtp_code", None)
    if code is not None:
        return f"{code} {_text(getattr(exc, 'smtp_error', b''))}"
    return str(exc) or type(exc).__name__


__all__ = ["Mail", "MailError", "Mailer"]
