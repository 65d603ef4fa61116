"""Every command `scimrecon options` prints as the next step works as printed: it repeats the
price and the selection given (so it neither stops for a missing --price nor picks other
users), the claim list's trade-off names a command that exists, and a stale part of an
earlier claim list is named."""

from __future__ import annotations

import csv
import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from scimrecon.cli.main import cli

from .conftest import FIXTURES, load_world
from .test_options import AS_OF, trello_only

EXPORT = FIXTURES / "acme-trello" / "users-export.csv"
ARGS = (str(EXPORT), "--as-of", AS_OF.isoformat(), "--price", "8", "--domain", "acme.example")


@pytest.fixture(autouse=True)
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No profile anywhere: the price comes from --price alone."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SCIMRECON_PROFILE", raising=False)


def _invoke(argv: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, argv)
    return result.exit_code, result.stdout, result.stderr


def _emails(path: Path) -> set[str]:
    with path.open(encoding="utf-8") as fh:
        return {row["email"] for row in csv.DictReader(fh)}


def test_an_options_next_command_runs_as_printed_and_lists_the_same_users(
    tmp_path: Path,
) -> None:
    code, out, err = _invoke(["options", *ARGS, "--format", "json"])
    assert code == 0, err
    option2 = json.loads(out)["options"][1]
    first = option2["next_command"].split(" && ")[0]
    argv = shlex.split(first)
    assert argv[:2] == ["scimrecon", "options"]
    code, _, err = _invoke(argv[1:])  # in tmp_path: writes option2.csv there
    assert code == 0, err
    expected = set(trello_only(load_world("acme-trello")))
    assert _emails(tmp_path / "option2.csv") == expected
    assert {u["email"] for u in option2["user_list"] if u["qualifies"]} == expected


def test_the_claim_trade_off_names_a_command_that_lists_the_affected_users(
    tmp_path: Path,
) -> None:
    code, _, err = _invoke(["options", *ARGS, "--claim-list", "claim.csv"])
    assert code == 0, err
    (command,) = re.findall(r"`(scimrecon options [^`]*)`", err)
    code, _, err = _invoke(shlex.split(command)[1:])
    assert code == 0, err
    assert _emails(tmp_path / "option1.csv") == set(trello_only(load_world("acme-trello")))


def test_a_part_left_from_an_earlier_longer_claim_list_is_named(tmp_path: Path) -> None:
    (tmp_path / "claim-2.csv").write_text("email\nada.lovelace@acme.example\n", "utf-8")
    code, _, err = _invoke(["options", *ARGS, "--claim-list", "claim.csv"])
    assert code == 0, err
    assert (
        "warning: claim-2.csv is left from an earlier, longer claim list and may name accounts "
        "this one leaves out: delete it, do not upload it"
    ) in err
    code, _, err = _invoke(["options", *ARGS, "--claim-list", "other.csv"])
    assert code == 0 and "warning" not in err
