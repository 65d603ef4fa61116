"""Property tests: tier maths, and export round-trips through quotes, commas and newlines."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon.cli.render import json_chunks
from scimrecon.recon.classify import Candidate
from scimrecon.recon.export import read_records
from scimrecon.recon.model import UserRecord
from scimrecon.recon.repeats import LIMIT, KeyHashes
from scimrecon.recon.tier import OK, OVER, WARNING, tier_usage
from scimrecon.recon.world import export_from_world, records_from_accounts


@given(st.integers(0, 10**7), st.integers(1, 10**7))
def test_tier_status_follows_the_exact_percentages(used: int, limit: int) -> None:
    t = tier_usage(used, limit)
    if used * 100 < 80 * limit:
        assert t.status == OK
    elif used < limit:
        assert t.status == WARNING
    else:
        assert t.status == OVER
    assert t.percent == round(100 * used / limit, 1)


@given(st.integers(0, 10**7), st.integers(1, 10**7))
def test_removing_the_suggested_number_is_exactly_enough(used: int, limit: int) -> None:
    remove = tier_usage(used, limit).remove_to_get_under_80
    assert remove is not None and 0 <= remove <= used
    assert tier_usage(used - remove, limit).status == OK
    if remove:
        assert tier_usage(used - remove + 1, limit).status != OK


_TRICKY = st.sampled_from([",", '"', "\n", "\r\n", "\r", " ", "é", "ß", "名", "'", ";", "\t"])
_TEXT = (
    st.lists(
        st.one_of(_TRICKY, st.characters(categories=["L", "N", "P", "S"])), min_size=1, max_size=12
    )
    .map(lambda parts: "".join(parts).strip())
    .filter(bool)
)
_DATES = st.one_of(st.none(), st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)))


@st.composite
def _worlds(draw: st.DrawFn) -> dict:
    accounts = []
    for n in range(draw(st.integers(0, 6))):
        products = []
        for key, site in draw(
            st.lists(
                st.sampled_from(
                    [("jira-software", "acme"), ("confluence", "acme"), ("trello", "trello")]
                ),
                unique=True,
            )
        ):
            seen = draw(_DATES)
            products.append(
                {"key": key, "site": site, "last_active": seen.isoformat() if seen else None}
            )
        added = draw(_DATES)
        accounts.append(
            {
                "account_id": f"id-{n}",
                "email": f"{draw(_TEXT)}{n}@acme.example",
                "name": draw(_TEXT),
                "status": draw(st.sampled_from(["active", "inactive", "closed"])),
                "managed": draw(st.booleans()),
                "account_type": "atlassian",
                "added_to_org": added.isoformat() if added else None,
                "org_role": draw(st.sampled_from(["member", "admin"])),
                "product_access": products,
            }
        )
    return {
        "sites": [{"name": "acme", "products": ["jira-software", "confluence"]}],
        "accounts": accounts,
    }


@settings(max_examples=60, deadline=None)
@given(_worlds())
def test_export_round_trips_through_quotes_commas_and_newlines(world: dict) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.csv"
        path.write_bytes(export_from_world(world).encode("utf-8"))
        got = read_records(path)
    want = list(records_from_accounts(world["accounts"]))

    def facts(r: UserRecord) -> tuple:
        return (
            r.account_id,
            r.email.strip(),
            r.name,
            r.status,
            r.managed,
            frozenset(r.products),
            r.added_to_org,
            r.is_admin,
        )

    assert [facts(r) for r in got] == [facts(r) for r in want]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_JSON)
def test_streamed_json_parses_to_the_same_value(value: object) -> None:
    assert json.loads("".join(json_chunks(value))) == value


def test_streamed_json_writes_iterators_as_arrays() -> None:
    doc = {"a": iter([{"x": 1}, {"y": "é"}]), "b": iter([])}
    assert (
        "".join(json_chunks(doc))
        == '{\n  "a": [\n    {"x": 1},\n    {"y": "é"}\n  ],\n  "b": []\n}'
    )


@given(st.lists(st.text(), min_size=4, max_size=4))
def test_a_candidate_streams_as_the_encoder_writes_its_dict(texts: list[str]) -> None:
    candidate = Candidate(*texts)
    streamed = "".join(json_chunks(iter([candidate])))
    assert streamed == "".join(json_chunks([candidate.as_dict()]))
    assert json.loads(streamed) == [candidate.as_dict()]


class _Key(str):
    """A key whose hash is chosen (hash(str) is salted per process): collisions on demand."""

    __slots__ = ("h",)

    def __new__(cls, h: int) -> _Key:
        key = super().__new__(cls, str(h))
        key.h = h  # type: ignore[attr-defined]
        return key

    def __hash__(self) -> int:
        return self.h  # type: ignore[attr-defined,no-any-return]


@given(st.lists(st.lists(st.integers(-5, 5) | st.integers(-(2**63), 2**63 - 1), max_size=40),
                max_size=200))  # fmt: skip
def test_key_hashes_name_exactly_the_repeated_hashes(blocks: list[list[int]]) -> None:
    """Added a block at a time, through 0, the extremes and many repeats, `repeated` names
    hashes added more than once, with how many times, and no other (counted here with a
    Counter), all of them or as many as the limit, both ways."""
    counts = Counter(hash(_Key(h)) for block in blocks for h in block)  # hash() makes -1 -2
    repeats = {h: n for h, n in counts.items() if n > 1}
    for small in (len(counts) + 1, 0):  # a Counter, and numpy's sort
        for limit in (LIMIT, 2):
            hashes = KeyHashes()
            for block in blocks:
                hashes.add(_Key(h) for h in block)
            named = hashes.repeated(small, limit)
            assert len(named) == min(limit, len(repeats))
            assert named.items() <= repeats.items()
