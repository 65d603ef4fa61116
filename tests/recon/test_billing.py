"""Maximum quantity billing: worked examples, the CLI, and the rules as properties."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from scimrecon.cli.main import cli
from scimrecon.errors import InputError
from scimrecon.recon.billing import bill, cleanup_worth, cycle_start, next_cycle_start
from scimrecon.recon.events import Event, read_events

PRICE = Decimal("8.00")
EVENTS = (
    "date,user,change\n"
    "2026-01-10,ada@acme.example,added\n"
    "2026-01-15,bob@acme.example,removed\n"
    "2026-01-20,cy@acme.example,added\n"
    "2026-01-25,dee@acme.example,added\n"
)


@pytest.mark.parametrize(
    ("day", "cycle_day", "start", "following"),
    [
        (date(2026, 1, 10), 1, date(2026, 1, 1), date(2026, 2, 1)),
        (date(2026, 1, 10), 15, date(2025, 12, 15), date(2026, 1, 15)),
        (date(2026, 1, 15), 15, date(2026, 1, 15), date(2026, 2, 15)),
        (date(2026, 3, 1), 31, date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 2, 28), 31, date(2026, 2, 28), date(2026, 3, 31)),
        (date(2024, 2, 29), 30, date(2024, 2, 29), date(2024, 3, 30)),
        (date(2026, 12, 31), 31, date(2026, 12, 31), date(2027, 1, 31)),
    ],
)
def test_cycles(day: date, cycle_day: int, start: date, following: date) -> None:
    assert cycle_start(day, cycle_day) == start
    assert next_cycle_start(start, cycle_day) == following


def test_worked_example_line_by_line() -> None:
    events = [
        Event(date(2026, 1, 10), "ada", "added"),
        Event(date(2026, 1, 15), "bob", "removed"),
        Event(date(2026, 1, 20), "cy", "added"),
        Event(date(2026, 1, 25), "dee", "added"),
    ]
    january, february = bill(
        events, price=PRICE, cycle_day=1, until=date(2026, 2, 10), start_count=120
    )
    assert [
        (line.day.day, line.kind, line.count, line.maximum, str(line.amount))
        for line in january.lines
    ] == [
        (1, "cycle", 120, 120, "960.00"),
        (10, "pro-rata", 121, 121, "5.68"),  # 8 x 22/31
        (15, "removal", 120, 121, "0.00"),
        (20, "reuse", 121, 121, "0.00"),
        (25, "pro-rata", 122, 122, "1.81"),  # 8 x 7/31
    ]
    assert january.total == Decimal("967.49")
    assert (february.start_count, february.total) == (122, Decimal("976.00"))


def test_an_addition_on_the_first_day_pays_the_whole_cycle() -> None:
    (cycle,) = bill(
        [Event(date(2026, 1, 1), "ada", "added")], price=PRICE, cycle_day=1, until=date(2026, 1, 1)
    )
    assert [str(line.amount) for line in cycle.lines] == ["0.00", "8.00"]


def test_cleanup_saves_from_the_next_cycle_and_nothing_before() -> None:
    worth = cleanup_worth(
        [],
        remove=5,
        on=date(2026, 1, 12),
        price=PRICE,
        cycle_day=1,
        until=date(2026, 3, 1),
        start_count=120,
    )
    assert worth.first_saving_cycle == date(2026, 2, 1)
    assert worth.per_cycle == Decimal("40.00")
    assert worth.savings == [
        (date(2026, 1, 1), Decimal("0.00")),
        (date(2026, 2, 1), Decimal("40.00")),
        (date(2026, 3, 1), Decimal("40.00")),
    ]
    assert worth.sentence() == (
        "removing 5 users on 2026-01-12 saves 40.00 per cycle from the cycle starting 2026-02-01, "
        "and nothing before"
    )


def test_removing_on_the_cycle_day_is_too_late_for_that_cycle() -> None:
    worth = cleanup_worth(
        [],
        remove=1,
        on=date(2026, 2, 1),
        price=PRICE,
        cycle_day=1,
        until=date(2026, 3, 1),
        start_count=3,
    )
    assert worth.first_saving_cycle == date(2026, 3, 1)


def test_events_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "date,user,change\n2026-01-10,ada,added\n2026-01-11,ada,joined\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        read_events(path)
    assert str(err.value) == f"{path}:3: column 3: 'joined' is not added or removed"
    path.write_text("2026-13-10,ada,added\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_events(path)
    assert str(err.value) == (
        f"{path}:1: column 'date': bad date '2026-13-10' "
        "(expected e.g. 02 Mar 2025 or Never accessed)"
    )


def test_an_impossible_sequence_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("2026-01-10,ada,removed\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["billing", "--events", str(path), "--price", "8", "--as-of", "2026-01-31"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}:1: ada removed on 2026-01-10 but not there "
        "(pass --start with the count before the first event)\n"
    )


def test_cli_json(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "billing",
            "--events",
            str(path),
            "--start",
            "120",
            "--price",
            "8",
            "--as-of",
            "2026-02-10",
            "--remove",
            "5",
            "--on",
            "2026-02-12",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["price_per_user_month"] == "8.00"
    assert [(c["start"], c["start_count"], c["maximum"], c["total"]) for c in doc["cycles"]] == [
        ("2026-01-01", 120, 122, "967.49"),
        ("2026-02-01", 122, 122, "976.00"),
    ]
    # a cycle ends on its last billed day, in JSON as in the table ("cycle A to B")
    assert [c["end"] for c in doc["cycles"]] == ["2026-01-31", "2026-02-28"]
    shown = CliRunner().invoke(
        cli,
        [
            "billing",
            "--events",
            str(path),
            "--start",
            "120",
            "--price",
            "8",
            "--as-of",
            "2026-02-10",
        ],
    )
    assert "cycle 2026-01-01 to 2026-01-31: 967.49" in shown.stdout
    assert doc["cycles"][0]["lines"][1] == {
        "date": "2026-01-10",
        "kind": "pro-rata",
        "user": "ada@acme.example",
        "users": 121,
        "maximum": 121,
        "seats_charged": 1,
        "days_left": 22,
        "days_in_cycle": 31,
        "amount": "5.68",
        "description": "ada@acme.example added: 121 users, above the maximum of 120: "
        "1 x 8.00 x 22/31 days",
    }
    assert doc["total"] == "1943.49"
    assert doc["cleanup"]["first_saving_cycle"] == "2026-03-01"
    assert doc["cleanup"]["summary"] == (
        "removing 5 users on 2026-02-12 saves 40.00 per cycle from the cycle starting 2026-03-01, "
        "and nothing before"
    )


def test_cli_table_and_price_from_profile(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    profile = tmp_path / "p.toml"
    profile.write_text("[billing]\nprice_per_user_month = 8.0\ncycle_day = 15\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "--profile",
            str(profile),
            "billing",
            "--events",
            str(path),
            "--start",
            "120",
            "--as-of",
            "2026-01-20",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "cycle 2025-12-15 to 2026-01-14: 961.29 (start 120 users, maximum 121)"
    assert "cycle 2026-01-15 to 2026-02-14: 968.00 (start 121 users, maximum 121)" in lines
    assert lines[-2:] == [
        "total 1929.29 over 2 cycles",
        "note: 1 event after 2026-01-20 is not billed (use --as-of)",
    ]


def test_cli_needs_a_price(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(EVENTS, encoding="utf-8")
    result = CliRunner(env={"SCIMRECON_PROFILE": ""}).invoke(
        cli, ["billing", "--events", str(path)], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == "error: --price is needed (or [billing].price_per_user_month in the profile)\n"
    )


def test_two_snapshots(tmp_path: Path, data: Path) -> None:
    before = tmp_path / "users-2026-10-31.csv"
    after = tmp_path / "users-2026-11-23.csv"
    text = (data / "directory.csv").read_text(encoding="utf-8")
    before.write_text(text, encoding="utf-8")
    # Ada leaves; Zed joins on 10 Nov (his Added to org date)
    lines = text.splitlines()
    lines[1] = lines[1].replace("Active", "Deactivated")
    lines.append("u-zed,Zed,zed@acme.example,Active,10 Nov 2026,Member,,Yes,,No,,No,,No,")
    after.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "billing",
            "--from",
            str(before),
            "--to",
            str(after),
            "--domain",
            "acme.example",
            "--price",
            "10",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    october, cycle = doc["cycles"]
    assert [(x["date"], x["kind"], x["amount"]) for x in october["lines"]] == [
        ("2026-10-01", "cycle", "80.00")
    ]
    assert [(x["date"], x["kind"], x["user"], x["amount"]) for x in cycle["lines"]] == [
        ("2026-11-01", "cycle", None, "80.00"),
        ("2026-11-10", "pro-rata", "u-zed", "7.00"),  # 10 x 21/30
        ("2026-11-23", "removal", "u-ada", "0.00"),
    ]
    assert doc["notes"] == [
        f"{before}: 8 billable on 2026-10-31 (file name); "
        f"{after}: 8 billable on 2026-11-23 (file name)"
    ]


# ---- properties ------------------------------------------------------------------------------

BASE = date(2026, 1, 1)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Event], list[str], Decimal, int]:
    start = [f"s{n}" for n in range(draw(st.integers(0, 8)))]
    present = list(start)
    events: list[Event] = []
    offset = 0
    for n in range(draw(st.integers(0, 25))):
        offset += draw(st.integers(0, 9))
        if present and draw(st.booleans()):
            who = draw(st.sampled_from(present))
            present.remove(who)
            events.append(Event(BASE + timedelta(days=offset), who, "removed"))
        else:
            who = f"u{n}"
            present.append(who)
            events.append(Event(BASE + timedelta(days=offset), who, "added"))
    price = Decimal(draw(st.integers(50, 10_000))) / 100
    return events, start, price, draw(st.integers(1, 31))


def _bill(events: list[Event], start: list[str], price: Decimal, cycle_day: int, until: date):
    return bill(
        sorted(events, key=lambda e: e.day),
        price=price,
        cycle_day=cycle_day,
        until=until,
        start_count=len(start),
        start_users=start,
        since=BASE,
    )


UNTIL = BASE + timedelta(days=300)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_charges_never_exceed_maximum_times_price(scenario) -> None:
    events, start, price, cycle_day = scenario
    for cycle in _bill(events, start, price, cycle_day, UNTIL):
        assert cycle.start_count * price <= cycle.total <= cycle.maximum * price
        assert cycle.exact <= cycle.maximum * price


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(0, 299))
def test_removals_never_lower_the_current_cycle(scenario, when: int) -> None:
    events, start, price, cycle_day = scenario
    day = BASE + timedelta(days=when)
    extra = Event(day, "(someone)", "removed", anonymous=True)
    base = _bill(events, start, price, cycle_day, UNTIL)
    try:
        cleaned = _bill([*events, extra], start, price, cycle_day, UNTIL)
    except InputError:
        return  # nobody left to remove on that day
    for b, c in zip(base, cleaned, strict=True):
        if b.end <= day:
            assert c.total == b.total  # cycles before: untouched
        elif b.start <= day:
            # the current cycle: everything charged up to the removal stays charged
            upto = sum((x.amount for x in b.lines if x.day <= day), Decimal(0))
            assert upto <= c.total <= b.total
            if not any(e.change == "added" and day <= e.day < b.end for e in events):
                assert c.total == b.total
        elif b.start == next_cycle_start(cycle_start(day, cycle_day), cycle_day):
            assert c.start_count == b.start_count - 1


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.integers(0, 299), st.integers(0, 30))
def test_reusing_a_freed_seat_costs_nothing(scenario, when: int, later: int) -> None:
    events, start, price, cycle_day = scenario
    d1 = BASE + timedelta(days=when)
    d2 = min(
        d1 + timedelta(days=later),
        next_cycle_start(cycle_start(d1, cycle_day), cycle_day) - timedelta(days=1),
    )
    pair = [Event(d1, "(leaver)", "removed", anonymous=True), Event(d2, "newcomer", "added")]
    base = _bill(events, start, price, cycle_day, UNTIL)
    try:
        swapped = _bill([*events, *pair], start, price, cycle_day, UNTIL)
    except InputError:
        return
    for b, s in zip(base, swapped, strict=True):
        assert s.total <= b.total
    newcomer = next(line for c in swapped for line in c.lines if line.user == "newcomer")
    if not any(e.change == "added" and d1 <= e.day <= d2 for e in events):
        # nobody else took the freed seat first: the newcomer reuses it for free
        assert newcomer.amount == 0 and newcomer.kind == "reuse"
