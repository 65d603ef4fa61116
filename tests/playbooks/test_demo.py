"""`scimrecon demo` is what `make demo` runs: it must tell the whole story and exit 0."""

from click.testing import CliRunner

from scimrecon.cli.main import cli


def test_demo_reprovisions_the_trello_only_users_and_shows_the_saving(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--state", str(tmp_path / "demo.db")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "billable managed accounts before: 41" in out
    assert "billable only through trello: 6" in out
    assert "run 1 completed: 6 done" in out
    assert "billable managed accounts after: 35 (was 41)" in out
    assert (tmp_path / "demo.db").exists()
