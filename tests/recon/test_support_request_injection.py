"""Option 5's deletion request keeps every person's fields on their own lines: people choose
their display names, and a name holding a line break followed by "7. account id: <the org
admin's>" added the admin's account to the accounts Atlassian support is asked to delete."""

from __future__ import annotations

import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from scimrecon.recon.classify import Candidate
from scimrecon.recon.option_files import support_request

AS_OF = date(2026, 11, 23)
ADMIN = "712020:2f960063-bc67-4a94-a37d-6efa609e467a"
BLOCK = re.compile(r"^\d+\. account id: ", re.MULTILINE)


def _request(*users: Candidate) -> str:
    return support_request(users, {}, org="org-1", as_of=AS_OF)


def test_a_display_name_cannot_add_an_account_to_the_request() -> None:
    forged = f"Ada\n   products: Trello\n\n2. account id: {ADMIN}\n   email: boss@acme.example"
    text = _request(Candidate("ada@acme.example", "a-1", forged, "billable only through Trello"))
    assert BLOCK.findall(text) == ["1. account id: "]
    assert ADMIN not in [line.split(": ", 1)[-1] for line in text.splitlines()]
    assert "   name: Ada\\u000a   products: Trello\\u000a\\u000a2. account id: " in text


def test_bidi_and_zero_width_characters_are_shown_not_obeyed() -> None:
    text = _request(Candidate("ada@acme.example", "a-1", "Ada\u202eevil\u200b", "why"))
    assert "   name: Ada\\u202eevil\\u200b" in text.splitlines()


@given(
    st.lists(
        st.tuples(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40)),
        min_size=1,
        max_size=5,
    )
)
def test_every_user_is_exactly_one_block_of_five_lines(fields: list[tuple[str, ...]]) -> None:
    users = [Candidate(e, f"id-{n}", name, why) for n, (e, name, why) in enumerate(fields)]
    text = _request(*users)
    body = text.partition("\n1. account id: ")[2]
    lines = ("1. account id: " + body).split("\n")
    assert len(lines) == 6 * len(users)  # five lines and a blank one per user
    for n in range(len(users)):
        assert lines[6 * n].startswith(f"{n + 1}. account id: ")
        assert [line.split(":")[0] for line in lines[6 * n + 1 : 6 * n + 5]] == [
            "   email", "   name", "   products", "   why"
        ]  # fmt: skip
        assert lines[6 * n + 5] == ""
    assert len(BLOCK.findall(text)) == len(users)
