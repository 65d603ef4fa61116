"""Finding and reading a world, and `sim check` / `sim generate` as a user sees them."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from scimrecon.errors import InputError
from scimrecon.sim.generate import generate_world
from scimrecon.sim.world import dump_world, load_world, world_to_json
from tests.world.conftest import fixture_world, run_sim


def test_a_world_is_found_by_file_directory_or_fixture_name(tmp_path: Path) -> None:
    world = fixture_world("drift")
    dump_world(world, tmp_path / "world.json")
    assert load_world(tmp_path / "world.json") == world
    assert load_world(str(tmp_path)) == world
    assert load_world("drift") == world


def test_dump_world_is_canonical_and_private(tmp_path: Path) -> None:
    world = fixture_world("acme-trello")
    path = tmp_path / "saved.json"
    dump_world(world, path)
    shipped = Path(__file__).resolve().parents[2] / "scimrecon/fixtures/acme-trello/world.json"
    assert path.read_bytes() == shipped.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["saved.json"]  # no temp file left behind


def test_dump_world_into_a_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "w.json"
    with pytest.raises(InputError) as caught:
        dump_world({}, target)
    assert caught.value.message == f"{target}: cannot write: No such file or directory"


@pytest.mark.parametrize(
    "content,expected",
    [
        (b'{"org": ', "not valid JSON: Expecting value at line 1 column 9"),
        (b"", "not valid JSON: Expecting value at line 1 column 1"),
        (b'{"a": "caf\xe9"}', "not UTF-8 text (bad byte 0xe9 at offset 10)"),
        ('{"a": 1}'.encode("utf-16"), "not UTF-8 text (bad byte 0xff at offset 0)"),
    ],
    ids=["truncated", "empty", "latin-1", "utf-16"],
)
def test_unreadable_world_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "w.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load_world(path)
    assert caught.value.message == f"{path}: {expected}"


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_bytes(b"\xef\xbb\xbf" + world_to_json(fixture_world("drift")).encode())
    assert load_world(path)["org"]["name"] == "Acme Corporation"


def test_missing_world_file_directory_and_unknown_fixture(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_world(tmp_path / "absent.json")
    assert caught.value.message == f"{tmp_path / 'absent.json'}: no such file"
    with pytest.raises(InputError) as caught:
        load_world(tmp_path)  # a directory without world.json
    assert caught.value.message == f"{tmp_path / 'world.json'}: no such file"
    with pytest.raises(InputError) as caught:
        load_world("acme-trelo")
    assert caught.value.message == (
        "acme-trelo: no such world file, directory or shipped fixture "
        "(acme-trello, drift, guard-billing, inactive-licences, manual, okta)"
    )


def test_check_prints_the_summary_table() -> None:
    result = run_sim("check", "acme-trello")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["world", "acme-trello"]
    rows = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in lines[2:]}
    assert rows["billable (Guard Standard rule, recon/billable.py)"] == "42"
    assert rows["accounts"] == "44"
    assert rows["IdP users assigned to the app"] == "42"
    assert rows["IdP"] == "entra"


def test_check_json_has_stable_keys() -> None:
    result = run_sim("check", "manual", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "accounts": 44,
        "managed": 43,
        "active": 43,
        "billable": 42,
        "scim_users": 42,
        "linked_scim_users": 42,
        "idp_users": 42,
        "issues": 24,
        "directories": 1,
        "idp_kind": "manual",
        "tier": 50,
    }


def test_check_of_an_invalid_world_lists_problems_and_exits_2(tmp_path: Path) -> None:
    world: dict[str, Any] = fixture_world("acme-trello")
    world["accounts"][3]["email"] = "x"
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    result = run_sim("check", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {path}: 1 problem in the world",
        f"{path}: accounts[3].email: 'x' is not an email",
    ]


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"[1,", "not valid JSON: Expecting value at line 1 column 4"),
        (b"\xff\xfe{", "not UTF-8 text (bad byte 0xff at offset 0)"),
    ],
)
def test_check_of_unreadable_file_is_one_line_exit_2(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = run_sim("check", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: {expected}\n"


def test_check_of_a_missing_file_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_sim("check", str(tmp_path / "missing.json"))
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'missing.json'}: no such file\n"


def test_generate_to_stdout_is_the_compact_world() -> None:
    result = run_sim("generate", "--accounts", "25", "--seed", "4")
    assert result.exit_code == 0
    assert result.stdout == world_to_json(generate_world(25, 4), compact=True)
    assert result.stderr == ""


def test_generate_to_a_file_then_check_it(tmp_path: Path) -> None:
    out = tmp_path / "big.json"
    result = run_sim("generate", "--accounts", "300", "--seed", "9", "--out", str(out), "--pretty")
    assert result.exit_code == 0
    assert result.stdout == ""
    world = generate_world(300, 9)
    assert out.read_text(encoding="utf-8") == world_to_json(world)
    billable = json.loads(run_sim("check", str(out), "--format", "json").stdout)["billable"]
    assert result.stderr == (
        f"wrote {out}: 300 accounts, {billable} billable, {len(world['scim_users'])} SCIM users, "
        f"{len(world['jira']['issues'])} issues (seed 9)\n"
    )


def test_generate_refuses_a_negative_count_and_an_unwritable_path(tmp_path: Path) -> None:
    result = run_sim("generate", "--accounts", "-1")
    assert result.exit_code == 2
    assert "-1 is not in the range 0<=x<=150000" in result.stderr
    target = tmp_path / "no-such-dir" / "w.json"
    result = run_sim("generate", "--accounts", "1", "--out", str(target))
    assert result.exit_code == 2
    assert result.stderr == f"error: {target}: cannot write: No such file or directory\n"
    assert not target.parent.exists()


def test_world_path_is_not_confused_with_a_fixture_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file in the working directory named like a fixture wins: users mean their file."""
    monkeypatch.chdir(tmp_path)
    dump_world(fixture_world("drift"), tmp_path / "acme-trello")
    assert load_world("acme-trello")["accounts"][0]["email"] == "ada.lovelace@acme.example"
    assert os.path.exists("acme-trello")
