"""The limits module (issue 11 point 7): properties of the guarded readers, and that the parsers
people feed by hand fail only with their own clear errors, whatever the input."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon import limits
from scimrecon.engine.expr import Condition, ExprError
from scimrecon.errors import InputError

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:\n'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(JSON)
def test_nesting_of_counts_brackets_outside_strings(doc: Any) -> None:
    text = json.dumps(doc)
    assert limits.nesting_of(text.encode()) == _depth(doc)
    assert limits.parse_json(text, "f") == doc


@given(st.integers(min_value=1, max_value=200))
def test_parse_json_refuses_only_past_the_limit(depth: int) -> None:
    text = "[" * depth + "]" * depth
    if depth <= limits.MAX_NESTING:
        assert limits.nesting_of(text.encode()) == depth
        limits.parse_json(text, "f")
    else:
        with pytest.raises(InputError, match=r"^f: JSON nested deeper than the limit of 64"):
            limits.parse_json(text, "f")


def test_parse_json_refuses_numbers_json_does_not_have() -> None:
    for text, message in [
        ("[1e400]", "f: the number 1e400 is too large"),
        ("[NaN]", "f: NaN is not a number JSON allows"),
        ("[" + "9" * 5000 + "]", "f: a number longer than the limit of 4300 digits"),
    ]:
        with pytest.raises(InputError) as err:
            limits.parse_json(text, "f")
        assert str(err.value) == message


@given(
    st.lists(st.text(alphabet='ab,"\r', max_size=12), max_size=8),
    st.integers(min_value=1, max_value=10),
)
def test_guarded_lines_give_the_text_back_or_refuse_a_long_line(
    lines: list[str], limit: int
) -> None:
    text = "\n".join(lines)
    guarded = limits.GuardedLines(io.StringIO(text, newline=""), "f", max_line=limit)
    physical = io.StringIO(text, newline="").readlines()
    if all(len(line.rstrip("\r\n")) <= limit for line in physical):
        assert "".join(guarded) == text
    else:
        with pytest.raises(InputError, match=r"^f:\d+: line longer than the limit of"):
            "".join(guarded)


@settings(max_examples=300)
@given(st.text(alphabet="()[]not and or == 1 9 . ' \" target.x params.y", max_size=300))
def test_a_condition_parses_or_says_why_never_anything_else(source: str) -> None:
    try:
        condition = Condition.compile(source)
    except ExprError:
        return
    condition.holds({}, {"x": "1"}, {})


def test_condition_limits() -> None:
    with pytest.raises(ExprError, match="longer than the limit of 2,000 characters"):
        Condition.compile("true or " * 300 + "true")
    with pytest.raises(ExprError, match="nested deeper than the limit of 32 levels"):
        Condition.compile("[" * 33 + "]" * 33)
    with pytest.raises(ExprError, match="number longer than the limit of 18 digits"):
        Condition.compile("target.n == " + "1" * 19)
    assert Condition.compile("[" * 32 + "]" * 32).holds({}, {}, {})
    assert Condition.compile("target.n < " + "9" * 18).holds({}, {"n": 1}, {})


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda p: p.mkdir(), "is a directory, not a regular file"),
        (lambda p: os.mkfifo(p), "is a FIFO (named pipe), not a regular file"),
    ],
)
def test_read_document_refuses_what_is_not_a_regular_file(
    tmp_path: Path, make: Any, what: str
) -> None:
    path = tmp_path / "x"
    make(path)
    with pytest.raises(InputError) as err:
        limits.read_document(path)
    assert str(err.value) == f"{path}: {what}"


def test_read_document_refuses_by_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big"
    with path.open("wb") as fh:
        fh.truncate(limits.MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(InputError, match="larger than the limit of 16 MiB"):
        limits.read_document(path)
    path.write_bytes(b"ok")
    assert limits.read_document(path) == b"ok"


def test_a_wait_in_days_is_bounded_to_100_years() -> None:
    from scimrecon.engine.playbook import WaitSpec

    spec = WaitSpec(interval_s=60, timeout_s=60, park_after_s=60, timeout_days_param="days")
    assert spec.deadline_after({"days": 10**17}) == limits.MAX_DAYS * 86400.0
    assert spec.deadline_after({"days": 2}) == 2 * 86400.0
