"""Monthly closing counts from dated exports or events."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.cli.main import cli
from scimrecon.cli.render import sparkline
from scimrecon.recon.counts import Point, closing_counts, window
from scimrecon.recon.snapshots import date_from_name


def test_window_is_the_twelve_months_ending_with_as_of() -> None:
    months = window(date(2026, 3, 5))
    assert months[0] == (2025, 4) and months[-1] == (2026, 3) and len(months) == 12


def test_the_last_snapshot_of_a_month_closes_it_and_gaps_carry_forward() -> None:
    points = [
        Point(date(2025, 12, 31), 10, 12, "a"),
        Point(date(2026, 1, 5), 14, 15, "b"),
        Point(date(2026, 1, 28), 13, 15, "c"),
        Point(date(2026, 3, 2), 20, 22, "d"),
        Point(date(2026, 3, 30), 18, 22, "late"),  # after as_of: ignored
    ]
    rows = closing_counts(points, as_of=date(2026, 3, 10), months=3)
    assert [(r.month, r.count, r.change, r.source) for r in rows] == [
        ("2026-01", 13, 3, "c"),
        ("2026-02", 13, 0, "no data this month: carried from 2026-01-28"),
        ("2026-03", 20, 7, "d"),
    ]


def test_months_before_any_data_are_empty_not_zero() -> None:
    rows = closing_counts(
        [Point(date(2026, 3, 1), 5, None, "x")], as_of=date(2026, 3, 31), months=2
    )
    assert [(r.month, r.count, r.change) for r in rows] == [
        ("2026-02", None, None),
        ("2026-03", 5, None),
    ]


@given(
    st.lists(
        st.tuples(st.dates(date(2024, 1, 1), date(2026, 12, 31)), st.integers(0, 1000)), max_size=30
    )
)
def test_closing_count_is_the_latest_point_up_to_the_month_end(raw: list[tuple[date, int]]) -> None:
    points = [Point(d, c, None, str(i)) for i, (d, c) in enumerate(raw)]
    as_of = date(2026, 6, 15)
    for row in closing_counts(points, as_of=as_of):
        year, month = map(int, row.month.split("-"))
        upto = [p for p in points if (p.day.year, p.day.month) <= (year, month) and p.day <= as_of]
        if not upto:
            assert row.count is None
        else:
            latest = max(upto, key=lambda p: (p.day, int(p.source)))
            assert row.count == latest.count


def test_sparkline() -> None:
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([None, 5, 5]) == " ▄▄"
    assert sparkline([None]) == " "


def test_dates_from_file_names() -> None:
    assert date_from_name(Path("users-2026-03-31.csv")) == date(2026, 3, 31)
    assert date_from_name(Path("export_20260331.csv")) == date(2026, 3, 31)
    assert date_from_name(Path("users-2026-02-31.csv")) is None
    assert date_from_name(Path("users.csv")) is None


def _snapshot(tmp_path: Path, data: Path, name: str, drop: int = 0) -> Path:
    lines = (data / "directory.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / name
    keep = lines[: len(lines) - drop] if drop else lines
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return path


def test_cli_counts_from_snapshots(tmp_path: Path, data: Path) -> None:
    a = _snapshot(tmp_path, data, "users-2026-09-30.csv", drop=2)  # without Hal and Ivy
    b = _snapshot(tmp_path, data, "users-2026-11-02.csv")
    c = _snapshot(tmp_path, data, "users-2026-11-20.csv", drop=1)  # Ivy gone
    result = CliRunner().invoke(
        cli,
        [
            "counts",
            str(c),
            str(a),
            str(b),
            "--as-of",
            "2026-11-23",
            "--months",
            "3",
            "--domain",
            "acme.example",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "as_of": "2026-11-23",
        "months": [
            {
                "month": "2026-09",
                "count": 6,
                "users": 7,
                "change": None,
                "date": "2026-09-30",
                "source": str(a),
            },
            {
                "month": "2026-10",
                "count": 6,
                "users": 7,
                "change": 0,
                "date": "2026-09-30",
                "source": "no data this month: carried from 2026-09-30",
            },
            {
                "month": "2026-11",
                "count": 7,
                "users": 8,
                "change": 1,
                "date": "2026-11-20",
                "source": str(c),
            },
        ],
        "notes": [],
    }


def test_cli_table_has_a_sparkline(tmp_path: Path, data: Path) -> None:
    a = _snapshot(tmp_path, data, "users-2026-09-30.csv", drop=2)
    b = _snapshot(tmp_path, data, "users-2026-11-20.csv")
    result = CliRunner().invoke(
        cli,
        [
            "counts",
            str(a),
            str(b),
            "--as-of",
            "2026-11-23",
            "--months",
            "3",
            "--domain",
            "acme.example",
        ],
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["month", "billable", "change", "users", "date", "from"]
    assert lines[2].split() == ["2026-09", "6", "7", "2026-09-30", str(a)]
    assert lines[-1] == "trend  ▁▁█  (2026-09 to 2026-11)"


def test_cli_undated_snapshot_takes_as_of_or_its_data(tmp_path: Path, data: Path) -> None:
    plain = _snapshot(tmp_path, data, "users.csv")
    args = ["counts", str(plain), "--months", "1", "--domain", "acme.example", "--format", "json"]
    doc = json.loads(CliRunner().invoke(cli, [*args, "--as-of", "2026-11-23"]).stdout)
    assert doc["months"][0]["date"] == "2026-11-23"
    assert doc["notes"] == [f"{plain} dated 2026-11-23 by the --as-of"]
    doc = json.loads(
        CliRunner().invoke(cli, [*args, "--as-of", "2026-12-01", "--months", "2"]).stdout
    )
    assert doc["notes"] == [f"{plain} dated 2026-12-01 by the --as-of"]
    other = _snapshot(tmp_path, data, "other.csv")
    result = CliRunner().invoke(
        cli, ["counts", str(plain), str(other), "--as-of", "2026-11-30", "--format", "json"]
    )
    # two undated files: --as-of cannot date both, so each is dated by its latest date (20 Nov)
    assert result.exit_code == 2
    assert result.stderr == f"error: {other} and {plain} are both dated 2026-11-20\n"


def test_cli_counts_from_events(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "2026-09-03,ada,added\n2026-09-20,bob,added\n2026-10-02,ada,removed\n2026-11-15,cy,added\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        [
            "counts",
            "--events",
            str(events),
            "--start",
            "10",
            "--as-of",
            "2026-11-23",
            "--months",
            "3",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "month,count,change,users,date,source",
        f"2026-09,12,,,2026-09-20,{events}",
        f"2026-10,11,-1,,2026-10-02,{events}",
        f"2026-11,12,1,,2026-11-15,{events}",
    ]


def test_cli_counts_needs_one_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["counts"])
    assert result.exit_code == 2
    assert result.stderr == "error: give SNAPSHOT exports or --events FILE (one of the two)\n"
