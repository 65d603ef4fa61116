"""The compiled fast path never hides a problem jsonschema would report.

Validation of large worlds skips jsonschema for items the compiled checks call valid; these
properties hold that shortcut to the schema: on arbitrarily damaged worlds the messages are
exactly those of plain jsonschema, and the format checks are what they claim to be.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scimrecon.sim.validate import (
    _fast,
    _path_key,
    _schema_messages,
    _validator,
    schema_problems,
)
from scimrecon.sim.value_formats import is_email, is_iso8601
from tests.world.conftest import fixture_world

BASE = fixture_world("acme-trello")
BASE["faults"] = {
    "seed": 1,
    "/atlassian": {"latency_ms": 5, "retry_after": True, "error_statuses": [502, 503]},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "a@b.example", "2024-01-31", "2024-02-30", "HELP-1", "active"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _slow_messages(doc: Any) -> list[str]:
    """What plain jsonschema says about the whole document, rendered the same way."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: _path_key(e.absolute_path))
    return [m for e in errors for m in _schema_messages(e)]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):
            out += _paths(value, (*prefix, i))
    return out


# Damage the small part of the world these tests look at, so each example stays fast.
SMALL = copy.deepcopy(BASE)
SMALL["accounts"] = SMALL["accounts"][:3]
SMALL["scim_users"] = SMALL["scim_users"][:2]
SMALL["groups"] = SMALL["groups"][:1]
SMALL["jira"]["issues"] = SMALL["jira"]["issues"][:2]
SMALL["idp"]["users"] = SMALL["idp"]["users"][:2]
PATHS = [p for p in _paths(SMALL) if p]


@st.composite
def damaged_worlds(draw: st.DrawFn) -> dict[str, Any]:
    world = copy.deepcopy(SMALL)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent: Any = world
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(json_values)
            elif action == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(max_size=6))] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier damage removed this path
    return world


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_worlds())
def test_fast_path_reports_exactly_what_jsonschema_reports(world: dict[str, Any]) -> None:
    assert sorted(schema_problems(world)) == sorted(_slow_messages(world))


@settings(max_examples=150, deadline=None)
@given(damaged_worlds())
def test_fast_check_true_means_jsonschema_finds_nothing(world: dict[str, Any]) -> None:
    if _fast("")(world):
        assert not _slow_messages(world)


def test_fast_check_accepts_every_shipped_item() -> None:
    """Otherwise the fast path would silently fall back to the slow one for valid worlds."""
    assert _fast("")(BASE)
    for name in ("accounts", "scim_users", "groups"):
        definition = {"accounts": "account", "scim_users": "scim_user", "groups": "group"}[name]
        assert all(_fast(f"#/$defs/{definition}")(item) for item in BASE[name])


@given(st.emails())
def test_every_ordinary_email_address_is_accepted(address: str) -> None:
    assert is_email(address)


@given(st.text(max_size=30))
def test_text_without_exactly_one_at_sign_is_not_an_email(text: str) -> None:
    if text.count("@") != 1:
        assert not is_email(text)


@given(st.dates())
def test_every_calendar_date_is_iso8601(day: date) -> None:
    assert is_iso8601(day.isoformat())


@given(st.datetimes(timezones=st.none() | st.just(UTC)))
def test_every_datetime_is_iso8601(moment: datetime) -> None:
    assert is_iso8601(moment.isoformat())
    assert is_iso8601(moment.isoformat(timespec="minutes"))


@given(st.text(max_size=25))
def test_accepted_dates_are_real_calendar_dates(text: str) -> None:
    if is_iso8601(text):
        assert date.fromisoformat(text[:10])
