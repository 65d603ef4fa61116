"""The two value formats a world's fields use: email addresses and ISO 8601 dates.

Their own module because the simulator's SCIM and provisioning code checks the same formats as
the world validator, and the schema accelerator (schema_fast.py) needs them without the rest.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

_EMAIL = re.compile(
    r"^[^@\s\"<>,;()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def is_email(value: object) -> bool:
    """An address with one @ and a dotted domain: what Atlassian and the IdPs will accept.

    Deliberately not full RFC 5322 (quoted local parts, IP literals): no identity system here
    accepts those, so a world holding one is a mistake.
    """
    return isinstance(value, str) and _EMAIL.match(value) is not None


def is_iso8601(value: object) -> bool:
    """A calendar date (2024-01-31) or a date-time with optional seconds, fraction and zone."""
    return isinstance(value, str) and _iso8601_text(value)


@lru_cache(maxsize=65536)
def _iso8601_text(value: str) -> bool:
    # A world repeats the same few thousand dates hundreds of thousands of times.
    m = _ISO.match(value)
    if m is None:
        return False
    year, month, day, hour, minute, second, _zone = m.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    if hour is not None and (int(hour) > 23 or int(minute) > 59):
        return False
    return second is None or int(second) <= 60
