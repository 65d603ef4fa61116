"""Dates as Atlassian's exports write them, parsed strictly.

Exports say `02 Mar 2025` or `Never accessed`; the org admin API says ISO 8601. A guessed
date (is 03/02 March or February?) would quietly move a user in or out of the inactive list,
so anything else is refused with the forms we expect.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from scimrecon.recon.model import NEVER, LastSeen

EXPECTED: Final = "expected e.g. 02 Mar 2025 or Never accessed"

_MONTHS: Final[dict[str, int]] = {}
for _i, _name in enumerate(
    (
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ),
    start=1,
):
    _MONTHS[_name] = _i
    _MONTHS[_name[:3]] = _i
_MONTHS["sept"] = 9
_ABBR: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[ \-]([A-Za-z]{3,9})\.?[ \-,]+(\d{4})")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
_NEVER_WORDS: Final = frozenset({"never accessed", "never", "never logged in", "never active"})


class DateError(ValueError):
    """The text is not a date in a form we accept; the message says what was expected."""


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateError(f"bad date {text!r} ({EXPECTED})") from None


def parse_date(text: str) -> date:
    """Parse one date: `02 Mar 2025`, `Mar 2, 2025` or ISO `2025-03-02[T...]`."""
    s = text.strip()
    m = _DAY_MONTH_YEAR.fullmatch(s)
    if m:
        month = _MONTHS.get(m.group(2).lower())
        if month is not None:
            return _make(int(m.group(3)), month, int(m.group(1)), text)
    m = _MONTH_DAY_YEAR.fullmatch(s)
    if m:
        month = _MONTHS.get(m.group(1).lower())
        if month is not None:
            return _make(int(m.group(3)), month, int(m.group(2)), text)
    m = _ISO.fullmatch(s)
    if m:
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    raise DateError(f"bad date {text!r} ({EXPECTED})")


def parse_last_seen(text: str) -> LastSeen:
    """A last-seen cell: a date, NEVER for `Never accessed`, None when blank (not said)."""
    s = text.strip()
    if not s or s == "-":
        return None
    if " ".join(s.lower().split()) in _NEVER_WORDS:
        return NEVER
    return parse_date(s)


def parse_optional_date(text: str) -> date | None:
    """A cell that holds a date or nothing (e.g. `Added to org`)."""
    s = text.strip()
    if not s or s == "-":
        return None
    return parse_date(s)


def format_export_date(d: date) -> str:
    """The export's own form, `02 Mar 2025` (what export_from_world writes)."""
    return f"{d.day:02d} {_ABBR[d.month - 1]} {d.year:04d}"


def format_last_seen(value: LastSeen) -> str:
    if value is None:
        return ""
    if value == NEVER:
        return "Never accessed"
    assert isinstance(value, date)
    return format_export_date(value)


class CachedParser:
    """parse_last_seen with a bounded memo: a million-row export repeats a few thousand dates."""

    def __init__(self, limit: int = 50_000) -> None:
        self.cache: dict[str, LastSeen] = {}
        self._limit = limit

    def last_seen(self, text: str) -> LastSeen:
        cache = self.cache
        try:
            return cache[text]
        except KeyError:
            value = parse_last_seen(text)
            if len(cache) >= self._limit:
                cache.clear()
            cache[text] = value
            return value

    def optional_date(self, text: str) -> date | None:
        value = self.last_seen(text)
        if value == NEVER:
            raise DateError(f"bad date {text!r} (expected e.g. 02 Mar 2025)")
        return value  # type: ignore[return-value]
