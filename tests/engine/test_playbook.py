"""Playbook loading: every mistake is one line naming file, step and field; params are typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.engine.playbook import Param, load_playbook, parse_playbook
from scimrecon.errors import InputError

from .conftest import DATA
from .steplib import REGISTRY

MARK = '[[steps]]\nid = "a"\naction = "test.mark"\n'
HEAD = 'id = "reprovision"\ntitle = "t"\n[targets]\ncolumns = ["email"]\nkey = "email"\n'


def steps(*scopes: str) -> str:
    out = ""
    for i, scope in enumerate(scopes):
        sid = "remove-scim" if i == 3 else f"s{i}"
        out += f'[[steps]]\nid = "{sid}"\naction = "test.mark"\nscope = "{scope}"\n'
    return out


def error_of(text: str, registry=REGISTRY) -> str:
    with pytest.raises(InputError) as err:
        parse_playbook(text, "playbooks/reprovision.toml", registry)
    assert err.value.exit_code == 2
    return err.value.message


def test_a_bad_field_names_file_step_and_field() -> None:
    text = HEAD + steps("target", "run", "target", "targets")
    assert error_of(text) == (
        "reprovision.toml: steps[3] (remove-scim).scope: 'targets' is not one of ['run', 'target']"
    )


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (
            '[[steps]]\nid = "a"\naction = "scim.lokup"\n',
            "reprovision.toml: steps[0] (a).action: unknown action 'scim.lokup' "
            "(test.ask, test.leaky, test.mark, test.noop, test.pause, test.resume, test.slow, "
            "test.wait)",
        ),
        (
            MARK + '[[finally]]\nid = "a"\naction = "test.mark"\n',
            "reprovision.toml: finally[0] (a).id: duplicate step id (first at steps[0])",
        ),
        (
            '[[steps]]\nid = "a"\naction = "test.mark"\nwhen = "params.x = 1"\n',
            "reprovision.toml: steps[0] (a).when: unexpected '=' at column 10",
        ),
        (
            '[[steps]]\nid = "a"\n',
            "reprovision.toml: steps[0] (a).action: required (or give `manual` instructions)",
        ),
        (
            '[[steps]]\nid = "a"\naction = "test.mark"\ncolour = "red"\n',
            "reprovision.toml: steps[0] (a): Additional properties are not allowed "
            "('colour' was unexpected)",
        ),
        (
            '[params.n]\ntype = "int"\ndefault = "three"\n' + MARK,
            "reprovision.toml: params.n.default: parameter 'n': 'three' is not an integer",
        ),
        (
            '[params.n]\ntype = "enum"\ndefault = "a"\n' + MARK,
            "reprovision.toml: params.n: 'choices' is a required property",
        ),
        (
            MARK + "wait = { interval_s = 0 , timeout_s = 5 }\n",
            "reprovision.toml: steps[0] (a).wait.interval_s: 0 is less than or equal to the "
            "minimum of 0",
        ),
    ],
)
def test_mistakes_are_one_clear_line(tail: str, message: str) -> None:
    assert error_of(HEAD + tail) == message


def test_toml_syntax_errors_name_the_file() -> None:
    assert error_of("id = \n").startswith("reprovision.toml: invalid TOML: ")


def test_target_key_must_be_a_column() -> None:
    text = HEAD.replace('key = "email"', 'key = "mail"') + steps("target")
    assert (
        error_of(text)
        == "reprovision.toml: targets.key: 'mail' is not one of the columns ['email']"
    )


def test_without_a_registry_unknown_actions_pass_for_listing() -> None:
    pb = parse_playbook(HEAD + '[[steps]]\nid = "a"\naction = "not.yet"\n', "x.toml", None)
    assert [s.action for s in pb.steps] == ["not.yet"]


def test_a_manual_step_needs_no_action() -> None:
    pb = load_playbook(str(DATA / "manual.toml"), REGISTRY)
    step = pb.step("by-hand")
    assert (step.action, step.scope, step.expect) == ("manual", "run", "pressed")
    assert step.flags() == ["manual"]


def test_params_are_typed_and_defaulted() -> None:
    pb = load_playbook(str(DATA / "basic.toml"), REGISTRY)
    got = pb.resolve_params(["mode=hard", "limit= 7", "ratio=0.25", "loud=yes"])
    assert got == {"mode": "hard", "limit": 7, "ratio": 0.25, "loud": True, "label": "x"}


@pytest.mark.parametrize(
    ("given_", "message"),
    [
        (["limit=abc"], "parameter 'limit': 'abc' is not an integer"),
        (["ratio=1,5"], "parameter 'ratio': '1,5' is not a number"),
        (["loud=perhaps"], "parameter 'loud': 'perhaps' is not true or false"),
        (["mode=medium"], "parameter 'mode': 'medium' is not one of soft, hard"),
        (
            ["colour=red"],
            "unknown parameter 'colour' for playbook basic "
            "(known: label, limit, loud, mode, ratio)",
        ),
        (["limit"], "--param 'limit': expected NAME=VALUE"),
    ],
)
def test_bad_params_are_named(given_: list[str], message: str) -> None:
    pb = load_playbook(str(DATA / "basic.toml"), REGISTRY)
    with pytest.raises(InputError) as err:
        pb.resolve_params(given_)
    assert err.value.message == message


@given(st.integers())
def test_int_params_round_trip_up_to_18_digits(n: int) -> None:
    if len(str(abs(n))) <= 18:
        assert Param("n", "int").coerce(f" {n} ") == n
    else:  # issue 11 point 7: no 100,000-digit numbers
        with pytest.raises(InputError, match="a number longer than the limit of 18 digits"):
            Param("n", "int").coerce(f" {n} ")


@given(st.booleans(), st.sampled_from([str, str.upper, str.lower]))
def test_bool_params_accept_their_spellings(value: bool, case) -> None:
    assert Param("b", "bool").coerce(case(str(value))) is value


def test_shipped_playbooks_load_against_the_real_step_library() -> None:
    from scimrecon.cli.run import default_registry

    registry = default_registry()
    for pid in ("reprovision", "inactive-licences", "deactivate-leavers"):
        pb = load_playbook(pid, registry)
        assert pb.id == pid and pb.steps


def test_unknown_playbook_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(HEAD.replace("reprovision", "mine") + steps("target"))
    with pytest.raises(InputError) as err:
        load_playbook("nope", REGISTRY, [tmp_path])
    assert err.value.message == (
        "unknown playbook 'nope' (known: deactivate-leavers, deactivate-unwanted, "
        "inactive-licences, mine, non-billable-policy, notify-trello-owners, reprovision)"
    )
    assert load_playbook("mine", REGISTRY, [tmp_path]).id == "mine"


def test_playbooks_command_lists_shipped_and_user_playbooks(harness, tmp_path: Path) -> None:
    folder = tmp_path / "pb"
    folder.mkdir()
    (folder / "basic.toml").write_bytes((DATA / "basic.toml").read_bytes())
    (folder / "broken.toml").write_text("id = \n")
    result = harness.invoke("playbooks", "--format", "json", "--playbooks", str(folder))
    assert result.exit_code == 0
    docs = {d["id"]: d for d in json.loads(result.stdout)}
    assert docs["basic"] == {
        "id": "basic",
        "source": str(folder),
        "file": "basic.toml",
        "title": "Test playbook: marks, a pause/resume pair, a condition",
        "steps": 5,
        "error": None,
    }
    assert docs["broken"]["error"].startswith("broken.toml: invalid TOML")
    assert {"reprovision", "inactive-licences", "deactivate-leavers"} <= set(docs)


def test_playbooks_show_reads_like_a_checklist(harness) -> None:
    result = harness.invoke("playbooks", "show", str(DATA / "manual.toml"))
    assert result.exit_code == 0
    text = result.stdout
    assert "  2. by-hand [run]  MANUAL\n" in text
    assert "        | Open the console and press the button for run {run_id}.\n" in text
    assert "  3. ask [target] (test.ask)  CONFIRM\n" in text


def test_playbooks_show_params_and_finally(harness) -> None:
    result = harness.invoke("playbooks", "show", str(DATA / "basic.toml"))
    assert result.exit_code == 0
    text = result.stdout
    assert "  mode (enum: soft|hard, default 'soft')\n      Which kind.\n" in text
    assert "  3. two [target] (test.mark)  DESTRUCTIVE\n      Second mark, not for VIPs.\n" in text
    assert "      only when: not target.vip\n" in text
    assert text.rstrip().endswith(
        "Finally (after the run completes, fails or is aborted; not when parked):\n"
        " F1. resume-finally [run] (test.resume)\n"
        "      retries: 4 attempts"  # finally steps try harder by default
    )


def test_playbooks_show_unknown_is_exit_2(harness) -> None:
    result = harness.invoke("playbooks", "show", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown playbook 'nope' (known: ")
