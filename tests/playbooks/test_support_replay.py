"""A support engineer replays a customer's run: the customer captures their org with --redact
and hands over a redacted copy of their state file; on the twin, `status` reads as the
customer's does (under the same pseudonyms) and `resume` goes on as it would there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scimrecon.sim.world import load_world
from tests.playbooks.harness import in_process, targets


def _status(env: Any, state: Path) -> dict[str, Any]:
    result = env.cli("status", "--state", str(state), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _shape(status: dict[str, Any], key_of: dict[str, str]) -> list[tuple[Any, ...]]:
    return [
        (key_of.get(t["key"], t["key"]), t["state"], json.dumps(t["steps"], sort_keys=True))
        for t in status["targets"]
    ]


def test_a_redacted_twin_and_state_reproduce_the_customers_status_and_resume(
    tmp_path: Path,
) -> None:
    people = targets("acme-trello")
    twin, copy, mapped = tmp_path / "twin.json", tmp_path / "support.db", tmp_path / "t.csv"
    with in_process("acme-trello", tmp_path) as customer:
        parked = customer.cli(
            "run", "reprovision", "--targets", people, "--yes", "--param", "wait_login_days=1"
        )
        assert parked.exit_code == 3, parked.output  # waiting for the new accounts' logins
        captured = customer.cli(
            "sim", "capture", "--out", str(twin), "--redact", "--targets", people,
            "--targets-out", str(mapped), "--state", str(customer.state),
            "--state-out", str(copy),
        )  # fmt: skip
        assert captured.exit_code == 0, captured.output
        theirs = _status(customer, customer.state)
        resumed_there = customer.cli("resume", "1", "--yes", "--max-wait", "0")
    emails = Path(people).read_text("utf-8").split()[1:]
    key_of = dict(zip(emails, mapped.read_text("utf-8").split()[1:], strict=True))
    data = copy.read_bytes().lower()
    source = load_world("acme-trello")
    for original in [*emails, *(a["email"] for a in source["accounts"])]:
        assert original.lower().encode() not in data, original
    for account in source["accounts"]:
        assert account["name"].lower().encode() not in data, account["name"]
    with in_process(load_world(twin), tmp_path / "support") as support:
        ours = _status(support, copy)
        assert _shape(ours, {}) == _shape(theirs, key_of)
        assert ours["state"] == theirs["state"] == "parked"
        resumed_here = support.cli("resume", "1", "--state", str(copy), "--yes", "--max-wait", "0")
    assert resumed_here.exit_code == resumed_there.exit_code == 3
