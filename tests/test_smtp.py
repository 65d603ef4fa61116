"""The SMTP connector and the profile's [smtp] section, against a real local SMTP server
(the simulator's, aiosmtpd): TLS is required off loopback, refusals name the server's reply
and never the password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from scimrecon.cli.main import cli
from scimrecon.config import Profile, Secret
from scimrecon.connectors.smtp import Mail, Mailer, MailError
from scimrecon.errors import InputError
from scimrecon.sim.mail import Mailbox, free_port, serve_smtp

MAIL = Mail("ada@acme.example", "Hello", "Body\n", "<m.1@acme.example>")


def _config(port: int, **extra: object) -> Profile:
    section = {"host": "127.0.0.1", "port": port, "sender": "it@acme.example", **extra}
    return Profile.from_dict({"smtp": section})


def test_starttls_is_required_when_asked_and_the_server_does_not_offer_it() -> None:
    mailbox = Mailbox()
    with serve_smtp(mailbox) as server:
        profile = _config(server.port, tls="starttls")
        assert profile.smtp is not None
        with pytest.raises(MailError, match="does not offer STARTTLS: not sending mail"):
            Mailer(profile.smtp, None).send(MAIL)
    assert mailbox.messages() == []


def test_a_refused_login_names_the_user_never_the_password() -> None:
    mailbox = Mailbox()
    with serve_smtp(mailbox, login=("notices", "right-one")) as server:
        profile = _config(server.port, tls="none", username="notices")
        assert profile.smtp is not None
        with pytest.raises(MailError) as caught:
            Mailer(profile.smtp, Secret("wrong-one")).send(MAIL)
        assert "refused the login of notices: 535" in caught.value.message
        assert "wrong-one" not in caught.value.message
        Mailer(profile.smtp, Secret("right-one")).send(MAIL)
    assert [m["to"] for m in mailbox.messages()] == [["ada@acme.example"]]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"host": "mail.acme.example", "sender": "it@acme.example", "tls": "none"},
            'smtp.tls = "none" is allowed only for a loopback host',
        ),
        ({"host": "mail.acme.example", "sender": "it@acme.example", "tls": "ssl"}, "smtp.tls must"),
        ({"host": "mail.acme.example", "sender": "not-an-address"}, "smtp.sender is not an email"),
        ({"host": "mail.acme.example", "sender": "it@acme.example", "port": 0}, "smtp.port must"),
        (
            {"host": "mail.acme.example", "sender": "it@acme.example", "password": "x"},
            "set SCIMRECON_SMTP_PASSWORD",
        ),
    ],
)
def test_bad_smtp_sections_are_refused_naming_the_key(section: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Profile.from_dict({"smtp": section}, source=Path("p.toml"))


def test_defaults_are_starttls_on_587_and_implicit_on_465() -> None:
    plain = Profile.from_dict({"smtp": {"host": "mail.acme.example", "sender": "it@acme.example"}})
    assert plain.smtp is not None and (plain.smtp.tls, plain.smtp.effective_port) == (
        "starttls",
        587,
    )
    implicit = Profile.from_dict(
        {"smtp": {"host": "mail.acme.example", "sender": "it@acme.example", "tls": "implicit"}}
    )
    assert implicit.smtp is not None and implicit.smtp.effective_port == 465


def test_config_show_lists_the_smtp_section_and_the_password_only_as_set(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[smtp]\nhost = "mail.acme.example"\nsender = "it@acme.example"\nusername = "notices"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        ["--profile", str(profile), "config", "show", "--format", "json"],
        env={"SCIMRECON_SMTP_PASSWORD": "hunter2-smtp"},
    )
    assert result.exit_code == 0, result.output
    assert "hunter2-smtp" not in result.output
    doc = json.loads(result.output)
    assert doc["sections"]["smtp"] == {
        "host": "mail.acme.example",
        "sender": "it@acme.example",
        "username": "notices",
        "tls": "starttls",
    }
    (row,) = [s for s in doc["secrets"] if s["variable"] == "SCIMRECON_SMTP_PASSWORD"]
    assert (row["state"], row["source"]) == ("set", "env")


class _HangUpAfterData:
    """A server that takes the mail, then drops the connection before its 250 reply."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        server.transport.close()
        return "250 OK"


def test_a_connection_lost_after_data_says_the_mail_may_have_arrived() -> None:
    handler = _HangUpAfterData()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        profile = _config(controller.port, tls="none")
        assert profile.smtp is not None
        with pytest.raises(MailError) as caught:
            Mailer(profile.smtp, None, timeout=5).send(MAIL)
    finally:
        controller.stop()
    assert caught.value.maybe_delivered
    assert "it may or may not have arrived" in caught.value.message
    assert len(handler.received) == 1  # it did arrive: "not sent" would have been a lie
