"""The cross-check of Atlassian's own billable answer against the Guard rule compares the same
users: read live, external users come from the v2 search, which has no `access_billable`, so
they are in the rule's count but not in Atlassian's, and must not make the counts "differ"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scimrecon.recon.analysis import Analyzer
from scimrecon.recon.classify import Policy
from scimrecon.recon.model import ProductAccess, UserRecord
from tests.recon.test_reconcile_live_entra import live

AS_OF = date(2026, 11, 23)
JIRA = ProductAccess("Jira Software", "acme", date(2026, 11, 20))


def _record(n: int, **facts: object) -> UserRecord:
    base = {"account_id": f"a{n}", "name": f"U {n}", "email": f"u{n}@acme.example"}
    return UserRecord(**{**base, "status": "active", "products": (JIRA,), **facts})  # type: ignore[arg-type]


def _warnings(fmt: str, *records: UserRecord) -> list[str]:
    analyzer = Analyzer(Policy(as_of=AS_OF))
    analyzer.add_all(records)
    return analyzer.result(fmt=fmt, tier=None).warnings


def test_users_without_an_answer_of_atlassians_are_left_out_of_the_cross_check() -> None:
    managed = _record(1, managed=True, reported_billable=True)
    external = _record(2, managed=False, external=True)  # billable by the rule, no answer
    assert _warnings("org-api", managed, external) == []


def test_a_real_difference_names_the_source_it_came_from() -> None:
    # Atlassian says billable; the rule says an unclaimed account its source calls not
    # external is not (where the source is silent, access on an org site makes one external)
    odd = _record(1, managed=False, external=False, reported_billable=True)
    fine = _record(2, managed=True, reported_billable=True)
    assert _warnings("org-api", odd, fine) == [
        "the org API's access_billable says 2, the Guard rule gives 1"
    ]
    assert _warnings("managed-accounts", odd, fine) == [
        "the export's own Billable column says 2, the Guard rule gives 1"
    ]


def test_analyze_live_on_a_world_with_an_external_user_warns_only_about_its_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with live("acme-trello", tmp_path, monkeypatch) as (_, invoke):
        result = invoke("analyze", "--live", "--as-of", AS_OF.isoformat(), "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: 1 billable external user(s) read live: ")
    assert result.stderr.count("warning:") == 1
