"""The `when` language: what conditions mean, what is refused, and that nothing reaches eval."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scimrecon.engine.expr import (
    BoolOp,
    Compare,
    Condition,
    ExprError,
    Lit,
    Name,
    Not,
    evaluate,
    parse,
    truthy,
)


def holds(source: str, params=None, target=None, run=None) -> bool:
    return Condition.compile(source).holds(params or {}, target or {}, run or {})


@pytest.mark.parametrize(
    ("source", "params", "target", "expected"),
    [
        ('params.scim_removal == "delete"', {"scim_removal": "delete"}, {}, True),
        ('params.scim_removal == "delete"', {"scim_removal": "unlink"}, {}, False),
        ("not target.is_admin", {}, {"is_admin": "false"}, True),
        ("not target.is_admin", {}, {"is_admin": "TRUE"}, False),
        ("not target.is_admin", {}, {}, True),
        ("params.wait_login_days > 0", {"wait_login_days": 2}, {}, True),
        ("params.wait_login_days > 0", {"wait_login_days": 0}, {}, False),
        ('params.n > "3"', {"n": 5}, {}, False),  # mismatched types are false, never an error
        ("target.role in ['admin', 'owner']", {}, {"role": "owner"}, True),
        ("target.role not in ['admin', 'owner']", {}, {"role": "owner"}, False),
        ("params.a or params.b and params.c", {"a": True, "b": False, "c": False}, {}, True),
        ("(params.a or params.b) and params.c", {"a": True, "b": False, "c": False}, {}, False),
        ("target.missing.deeper == null", {}, {}, True),
        ('target.name == "O\\"Neil"', {}, {"name": 'O"Neil'}, True),
        ("params.ratio >= 0.5", {"ratio": 0.5}, {}, True),
        ("params.flag == true", {"flag": True}, {}, True),
    ],
)
def test_conditions_mean_what_they_say(source, params, target, expected) -> None:
    assert holds(source, params, target) is expected


def test_run_outputs_are_reachable() -> None:
    assert holds("run.paused_at != null", run={"paused_at": "2026-11-23T05:00:00Z"})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("foo == 1", "unknown name 'foo' at column 1 (names start with params., target. or run.)"),
        ("params.x ==", "unexpected end of condition at column 12"),
        ("__import__('os').system('x')", "unknown name '__import__' at column 1"),
        ("params.x == 'a\\q'", "unknown escape '\\q' at column 15"),
        ("params", "'params' needs a field, e.g. params.name"),
        ("params.x == 1 1", "unexpected '1' at column 15"),
        ("params.x; 1", "unexpected ';' at column 9"),
        ("   ", "empty condition"),
        ("(params.x", "expected ')' at column 10, found end of condition"),
    ],
)
def test_bad_conditions_name_the_column(source: str, message: str) -> None:
    with pytest.raises(ExprError) as err:
        parse(source)
    assert str(err.value).startswith(message)


def test_truthy_reads_csv_words() -> None:
    assert [truthy(v) for v in ["false", "No", "0", "", " off ", None, 0]] == [False] * 7
    assert [truthy(v) for v in ["true", "yes", "x", 1, [0]]] == [True] * 5


# -- properties ------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)
_fields = st.sampled_from(["a", "b", "is_admin", "mode"])


def _names():
    return st.builds(
        lambda r, f: Name((r, f)), st.sampled_from(["params", "target", "run"]), _fields
    )


def _leaves():
    return st.one_of(st.builds(Lit, _scalars), _names())


_trees = st.recursive(
    _leaves(),
    lambda kids: st.one_of(
        st.builds(Not, kids),
        st.builds(BoolOp, st.sampled_from(["and", "or"]), kids, kids),
        st.builds(
            Compare,
            st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]),
            _leaves(),
            _leaves(),
        ),
    ),
    max_leaves=8,
)


def _render(node) -> str:
    if isinstance(node, Lit):
        if node.value is None:
            return "null"
        if isinstance(node.value, bool):
            return "true" if node.value else "false"
        if isinstance(node.value, str):
            return json.dumps(node.value, ensure_ascii=False)
        return str(node.value)
    if isinstance(node, Name):
        return ".".join(node.path)
    if isinstance(node, Not):
        return f"not ({_render(node.operand)})"
    if isinstance(node, BoolOp):
        return f"({_render(node.left)}) {node.op} ({_render(node.right)})"
    return f"{_render(node.left)} {node.op} {_render(node.right)}"


_scopes = st.fixed_dictionaries(
    {
        "params": st.dictionaries(_fields, _scalars),
        "target": st.dictionaries(_fields, _scalars),
        "run": st.dictionaries(_fields, _scalars),
    }
)


@given(_trees, _scopes)
def test_rendered_conditions_parse_back_to_the_same_meaning(tree, scope) -> None:
    source = _render(tree)
    try:
        parsed = parse(source)
    except ExprError as exc:  # only JSON escapes we do not speak (\\u....) may be refused
        assert "escape" in str(exc)
        return
    assert truthy(evaluate(parsed, scope)) == truthy(evaluate(tree, scope))


@given(st.text(max_size=40))
def test_any_text_either_parses_or_raises_expr_error(source: str) -> None:
    try:
        tree = parse(source)
    except ExprError:
        return
    evaluate(tree, {"params": {}, "target": {}, "run": {}})  # total: never raises


@pytest.mark.parametrize(
    ("source", "params", "target", "said"),
    [
        ("params.wait_login_days > 0", {"wait_login_days": 0}, {}, "wait_login_days is 0"),
        ("params.mode == 'x'", {}, {}, "mode is not set"),
        ("target.vip and params.strict", {"strict": False}, {"vip": "yes"}, "strict is false"),
        ("not params.dry", {"dry": True}, {}, "dry is true"),
        ("params.a == 1 or target.b", {"a": 2}, {"b": ""}, "a is 2 and target b is ''"),
        ("run.count >= params.n", {"n": 3}, {}, "run count is 2, n is 3"),
        ("false", {}, {}, "the condition is always false"),
    ],
)
def test_a_false_condition_says_why_in_words(
    source: str, params: dict[str, Any], target: dict[str, Any], said: str
) -> None:
    cond = Condition.compile(source)
    assert not cond.holds(params, target, {"count": 2})
    assert cond.why_false(params, target, {"count": 2}) == said


@given(_trees, _scopes)
def test_every_false_condition_has_words_naming_a_name_it_reads(tree, scope) -> None:
    """Whatever the condition, the explanation is produced (never a crash in a run), and when
    it mentions a value it is one of the names the condition reads."""
    cond = Condition("generated", tree)
    if cond.holds(scope["params"], scope["target"], scope["run"]):
        return
    said = cond.why_false(scope["params"], scope["target"], scope["run"])
    assert said
    if " is " in said and not said.startswith("the condition"):
        assert any(f in said for f in ("a", "b", "is_admin", "mode"))
