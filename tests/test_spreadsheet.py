"""CSV injection (issue 11 point 6): every CSV the tool writes is safe to open in a
spreadsheet, and a target list written that way loads back to the very same people."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from scimrecon import spreadsheet
from scimrecon.cli.main import cli
from scimrecon.cli.render import to_csv
from scimrecon.engine.targets import load_targets
from scimrecon.recon.classify import Candidate
from scimrecon.recon.targets import write_targets

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\0")
# text biased towards what matters: quotes and formula characters at the start
TEXT = st.text(alphabet=st.sampled_from("'=+-@\t\r\0 ab1,\"\n"), max_size=8) | st.text(max_size=12)


@given(TEXT)
def test_restore_undoes_neutralise_for_every_string(value: str) -> None:
    assert spreadsheet.restore(spreadsheet.neutralise(value)) == value


@given(TEXT)
def test_a_written_cell_never_starts_a_formula(value: str) -> None:
    assert not str(spreadsheet.neutralise(value)).startswith(DANGEROUS)


def test_the_owasp_characters_get_a_quote_and_numbers_stay_numbers() -> None:
    n = spreadsheet.neutralise
    assert [n(c + "x") for c in DANGEROUS] == ["'" + c + "x" for c in DANGEROUS]
    assert (n("ada@acme.example"), n("'quoted"), n("''-x")) == (
        "ada@acme.example",
        "'quoted",
        "'''-x",
    )
    assert (n(-3), n(-2.5), n(None)) == (-3, -2.5, None)
    text = to_csv([{"name": '=HYPERLINK("http://evil.example")', "amount": -8}], ["name", "amount"])
    assert text == 'name,amount\n"\'=HYPERLINK(""http://evil.example"")",-8\n'


# Local parts the identity rule accepts (scimrecon.identity): no leading, trailing or double dot.
LOCAL = st.text(alphabet=st.sampled_from("abcxyz019._"), min_size=1, max_size=8).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
)
EMAILS = st.builds(
    lambda lead, local: f"{lead}{local}@acme.example", st.sampled_from(["", "-", "+"]), LOCAL
)


@given(
    st.lists(
        st.tuples(EMAILS, TEXT, TEXT), min_size=1, max_size=6, unique_by=lambda t: t[0].lower()
    )
)
def test_a_target_list_round_trips_to_the_same_people(
    tmp_path_factory: object, rows: list[tuple[str, str, str]]
) -> None:
    path = Path(tmp_path_factory.mktemp("t")) / "targets.csv"  # type: ignore[attr-defined]
    write_targets(path, [Candidate(e, "u-" + e, name, reason) for e, name, reason in rows])
    for row in csv.reader(io.StringIO(path.read_text("utf-8"), newline="")):
        assert not any(cell.startswith(DANGEROUS) for cell in row)
    loaded = load_targets(path, columns=["email"], key="email")
    assert [t.key for t in loaded.targets] == [e for e, _, _ in rows]
    # the loader strips cells, as it always did; otherwise every cell comes back as written
    assert [t.row["name"] for t in loaded.targets] == [n.strip() for _, n, _ in rows]
    assert [t.row["reason"] for t in loaded.targets] == [r.strip() for _, _, r in rows]


HOSTILE_EXPORT = (
    "User id,User name,email,User status,Added to org,Org role,"
    "Trello - trello,Last seen in Trello - trello\r\n"
    'u-1,"=HYPERLINK(""http://evil.example"",""click"")",-bob@acme.example,Active,'
    "12 Apr 2023,Member,Yes,14 Oct 2026\r\n"
    "u-2,@SUM(1+1),+eve@acme.example,Active,12 Apr 2023,Member,Yes,14 Oct 2026\r\n"
)


def test_analyze_csv_and_targets_out_are_neutralised_and_load_back(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(HOSTILE_EXPORT, encoding="utf-8")
    base = ["analyze", str(export), "--as-of", "2026-11-23", "--domain", "acme.example"]
    runner = CliRunner()
    shown = runner.invoke(cli, [*base, "--format", "csv"])
    assert shown.exit_code == 0, shown.stderr
    rows = list(csv.reader(io.StringIO(shown.stdout)))
    assert rows[1:] == [
        ["trello-only", "'-bob@acme.example", "u-1", "'=HYPERLINK(\"http://evil.example\",\"click\")",
         rows[1][4]],
        ["trello-only", "'+eve@acme.example", "u-2", "'@SUM(1+1)", rows[2][4]],
    ]  # fmt: skip

    out = tmp_path / "targets.csv"
    wrote = runner.invoke(cli, [*base, "--targets-out", str(out), "--class", "trello-only"])
    assert wrote.exit_code == 0, wrote.stderr
    text = out.read_text("utf-8")
    assert "'-bob@acme.example" in text and "'=HYPERLINK" in text
    as_json = json.loads(runner.invoke(cli, [*base, "--format", "json"]).stdout)
    expected = [c["email"] for c in as_json["classes"]["trello-only"]]
    loaded = load_targets(out, columns=["email"], key="email")
    assert [t.key for t in loaded.targets] == expected == ["-bob@acme.example", "+eve@acme.example"]
    assert loaded.targets[0].row["name"] == '=HYPERLINK("http://evil.example","click")'
