"""`sim serve --smtp`: a real SMTP server beside the HTTP one, in the profile it writes, and
what it received under `GET /_sim/mail` (issue 16 point 4)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from scimrecon.config import Profile
from tests.reliability.procs import sim_serve
from tests.simharness import DATA, client, make_sim


def test_sim_serve_smtp_writes_its_address_and_lists_what_it_received(tmp_path: Path) -> None:
    with sim_serve(DATA / "world.json", tmp_path, "--smtp") as sim:
        assert sim.proc.stdout is not None
        smtp_line = sim.proc.stdout.readline().strip()
        loaded = Profile.load(sim.profile)
        assert loaded.smtp is not None
        assert (loaded.smtp.host, loaded.smtp.tls) == ("127.0.0.1", "none")
        assert smtp_line.startswith(f"smtp: 127.0.0.1:{loaded.smtp.port} ")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            loaded.smtp.sender,
            "ada@example.com",
            "Hi",
        )
        message.set_content("Line one\nLine two\n")
        with smtplib.SMTP(loaded.smtp.host, loaded.smtp.effective_port, timeout=10) as smtp:
            smtp.send_message(message)
        received = httpx.get(f"{sim.url}/_sim/mail", timeout=10).json()
    assert len(received) == 1
    (mail,) = received
    assert {k: mail[k] for k in ("from", "to", "subject", "body")} == {
        "from": loaded.smtp.sender,
        "to": ["ada@example.com"],
        "subject": "Hi",
        "body": "Line one\nLine two\n",
    }
    assert mail["at"].endswith("Z")


def test_a_login_and_a_dropped_product_are_simulated_on_the_world() -> None:
    sim = make_sim("world")
    with client(sim) as http:
        account = sim.world["accounts"][0]
        email, key = account["email"], account["product_access"][0]["key"]
        answer = http.post("/_sim/login", json={"user": email, "product": key})
        assert answer.status_code == 200, answer.text
        today = sim.store.today()
        assert answer.json()["last_active"] == today
        assert account["product_access"][0]["last_active"] == today
        dropped = http.post("/_sim/drop-product", json={"user": email, "product": key})
        assert dropped.status_code == 200
        assert key not in [p["key"] for p in account["product_access"]]
        again = http.post("/_sim/drop-product", json={"user": email, "product": key})
        assert again.status_code == 409
        assert http.post("/_sim/login", json={"user": "nobody@x.example"}).status_code == 404
        assert http.post("/_sim/drop-product", json={"user": email}).status_code == 400


@pytest.mark.parametrize("body", [{}, {"recipients": "a@x.example"}, {"recipients": [1]}])
def test_reject_list_must_be_a_list_of_addresses(body: dict) -> None:
    with client(make_sim("world")) as http:
        assert http.put("/_sim/mail/reject", json=body).status_code == 400
