from pathlib import Path

from click.testing import CliRunner

from scimrecon import __version__
from scimrecon.cli.main import cli


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"scimrecon, version {__version__}"


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


def test_errors_are_one_line_without_traceback_and_exit_with_their_code(tmp_path) -> None:
    missing = tmp_path / "nope.csv"
    result = CliRunner().invoke(cli, ["analyze", str(missing)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_debug_shows_our_logs_but_not_third_party_chatter(tmp_path) -> None:
    import logging

    result = CliRunner().invoke(cli, ["--debug", "playbooks"])
    assert result.exit_code == 0
    assert logging.getLogger("scimrecon").level == logging.DEBUG
    assert logging.getLogger("httpcore").getEffectiveLevel() > logging.DEBUG


def test_shell_completion_as_documented_completes_subcommands() -> None:
    """docs/cli.md's completion lines work: bash completion of `scimrecon sim wo`."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "_SCIMRECON_COMPLETE": "bash_complete",
        "COMP_WORDS": "scimrecon sim wo",
        "COMP_CWORD": "2",
    }
    out = subprocess.run(
        [sys.executable, "-c", "from scimrecon.cli.main import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "plain,world-from-export" in out.stdout.splitlines()
    for shell in ("bash", "zsh", "fish"):
        source = subprocess.run(
            [sys.executable, "-c", "from scimrecon.cli.main import main; main()"],
            env={**os.environ, "_SCIMRECON_COMPLETE": f"{shell}_source"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "_scimrecon_completion" in source.stdout, shell


def test_usage_errors_are_one_line_with_the_help_to_read() -> None:
    for args, line in (
        (["run", "reprovision"], "error: Missing option '--targets'. (see 'scimrecon run --help')"),
        (["frobnicate"], "error: No such command 'frobnicate'. (see 'scimrecon --help')"),
        (["--frob"], "error: No such option '--frob'. (see 'scimrecon --help')"),
        (["sim", "frob"], "error: No such command 'frob'. (see 'scimrecon sim --help')"),
    ):
        result = CliRunner().invoke(cli, args, prog_name="scimrecon")
        assert (result.exit_code, result.stderr, result.stdout) == (2, line + "\n", ""), args


def test_without_a_command_the_help_is_shown_not_squeezed_into_one_line() -> None:
    result = CliRunner().invoke(cli, [], prog_name="scimrecon")
    assert result.exit_code == 0  # asking for nothing is asking for help (issue 15)
    assert result.output.startswith("Usage: scimrecon [OPTIONS] COMMAND [ARGS]...\n")
    assert "Commands:" in result.output


def test_state_and_profile_are_accepted_before_and_after_the_command(tmp_path: Path) -> None:
    """Issue 15: `scimrecon --state their.db status` (the support guide's form) and
    `scimrecon status --state their.db` read the same file; `--profile` works after too."""
    from scimrecon.engine.state import StateStore

    db = tmp_path / "their.db"
    StateStore.open(db).close()
    before = CliRunner().invoke(cli, ["--state", str(db), "runs", "--format", "json"])
    after = CliRunner().invoke(cli, ["runs", "--state", str(db), "--format", "json"])
    assert (before.exit_code, before.output) == (0, "[]\n")
    assert (after.exit_code, after.output) == (0, "[]\n")
    missing = tmp_path / "nowhere.db"
    result = CliRunner().invoke(
        cli, ["--state", str(missing), "runs"], env={"SCIMRECON_STATE": str(db)}
    )
    assert str(missing) in result.output  # the flag wins over the variable
    profile = tmp_path / "p.toml"
    profile.write_text('[atlassian]\nbase_url = "http://127.0.0.1:9/atlassian"\norg_id = "o"\n')
    shown = CliRunner().invoke(cli, ["config", "show", "--profile", str(profile)])
    assert shown.exit_code == 0, shown.output
    assert "127.0.0.1:9" in shown.output


def test_python_dash_m_honours_the_root_profile(tmp_path: Path) -> None:
    """`python -m scimrecon.cli.main --profile X config show` reads X (it used to be ignored:
    the module ran as __main__ with a second CliState class)."""
    import os
    import subprocess
    import sys

    profile = tmp_path / "p.toml"
    profile.write_text('[atlassian]\nbase_url = "http://127.0.0.1:9/atlassian"\norg_id = "o"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMRECON_")}
    done = subprocess.run(
        [sys.executable, "-m", "scimrecon.cli.main", "--profile", str(profile), "config", "show"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "127.0.0.1:9" in done.stdout


def test_help_one_liners_are_whole_at_80_columns() -> None:
    """Click cuts a command's one-liner to fit one line, ending in "..."; ours wrap instead."""
    from click.testing import CliRunner

    from scimrecon.cli.main import cli

    for args in (["--help"], ["sim", "--help"], ["idp", "--help"]):
        result = CliRunner().invoke(cli, args, terminal_width=80, prog_name="scimrecon")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        cut = [line for line in lines[1:] if line.rstrip().endswith("...")]  # not "Usage: ..."
        assert not cut, args
        assert max(len(line) for line in lines) <= 80, args
    root = CliRunner().invoke(cli, ["--help"], terminal_width=80).output
    assert "inactive candidates." in root  # analyze's whole first sentence, wrapped
