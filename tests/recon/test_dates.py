from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.recon.dates import (
    DateError,
    format_export_date,
    parse_date,
    parse_last_seen,
    parse_optional_date,
)
from scimrecon.recon.model import NEVER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02 Mar 2025", date(2025, 3, 2)),
        ("2 Mar 2025", date(2025, 3, 2)),
        ("02 March 2025", date(2025, 3, 2)),
        ("02-Mar-2025", date(2025, 3, 2)),
        ("02 mar 2025", date(2025, 3, 2)),
        ("Mar 2, 2025", date(2025, 3, 2)),
        ("2025-03-02", date(2025, 3, 2)),
        ("2025-03-02T10:11:12.123Z", date(2025, 3, 2)),
        ("2025-03-02T10:11:12+01:00", date(2025, 3, 2)),
        ("  29 Feb 2024 ", date(2024, 2, 29)),
    ],
)
def test_accepted_forms(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["31/02/2025", "03/02/2025", "29 Feb 2025", "32 Jan 2025", "02 Foo 2025", "yesterday"]
)
def test_ambiguous_or_impossible_dates_are_refused_with_the_expected_forms(text: str) -> None:
    with pytest.raises(DateError) as err:
        parse_date(text)
    assert str(err.value) == f"bad date {text!r} (expected e.g. 02 Mar 2025 or Never accessed)"


def test_last_seen_cells() -> None:
    assert parse_last_seen("Never accessed") == NEVER
    assert parse_last_seen("never ACCESSED") == NEVER
    assert parse_last_seen("") is None
    assert parse_last_seen("  ") is None
    assert parse_last_seen("18 Nov 2026") == date(2026, 11, 18)


def test_added_to_org_cannot_be_never() -> None:
    assert parse_optional_date("") is None
    assert parse_optional_date("01 Jun 2020") == date(2020, 6, 1)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_export_form_round_trips(d: date) -> None:
    assert parse_date(format_export_date(d)) == d
    assert parse_last_seen(format_export_date(d)) == d
    assert parse_date(d.isoformat()) == d


@given(st.text(max_size=40))
def test_any_text_is_a_date_never_blank_or_a_date_error(text: str) -> None:
    try:
        value = parse_last_seen(text)
    except DateError as exc:
        assert "expected e.g. 02 Mar 2025" in str(exc)
    else:
        assert value is None or value == NEVER or isinstance(value, date)
