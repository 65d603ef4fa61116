"""Credentials refused in the middle of a run (a key revoked or expired while it ran) stop the
run at once, exit 4, instead of failing or skipping every remaining target one by one."""

from __future__ import annotations

import json

from .conftest import Harness

ADA, BOB, CY = "ada@acme.example", "bob@acme.example", "cy@acme.example"


def test_a_refused_key_stops_the_run(harness: Harness) -> None:
    t = harness.targets(f"email,unauthorized_at\n{ADA},two\n{BOB},\n{CY},\n")
    result = harness.run("basic.toml", t, "--yes", "--concurrency", "1")
    assert result.exit_code == 4, result.output
    assert "Test API: PUT /mark → 401 (the credentials were refused)" in result.output
    # nothing after the refusal: no target got its `three`, and nobody is "done"
    assert [e for e in harness.world.effects() if e[1] == "three"] == []
    status = harness.invoke("status", "1", "--state", str(harness.state), "--format", "json")
    doc = json.loads(status.stdout)
    assert all(t["state"] != "done" for t in doc["targets"]), doc["targets"]
    assert doc["state"] != "completed", doc["state"]
