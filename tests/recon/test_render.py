"""The shared rendering helpers the analysis commands (and others) use."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from scimrecon.cli.render import org_domains, table


def test_numbers_are_right_aligned_by_type_not_by_looks() -> None:
    text = table([("0012", 5, Decimal("1.50")), ("7", 12, Decimal("10.00"))], ("id", "n", "amount"))
    assert text.splitlines() == [
        "id      n    amount",
        "----  ---  --------",
        "0012    5      1.50",
        "7      12     10.00",
    ]


def test_cells_stay_on_one_line_and_escapes_are_shown() -> None:
    assert table([("a\r\nb", "\x1b[2J")], ("x", "y")).splitlines()[-1] == "a b  \\x1b[2J"


def test_domains_from_the_option_else_from_the_profile() -> None:
    profile: Any = SimpleNamespace(atlassian=SimpleNamespace(domains=["acme.example"]))
    assert org_domains(("other.example",), profile) == ("other.example",)
    assert org_domains((), profile) == ("acme.example",)
    assert org_domains((), SimpleNamespace(atlassian=SimpleNamespace(org_id="x"))) == ()
    assert org_domains((), None) == ()
