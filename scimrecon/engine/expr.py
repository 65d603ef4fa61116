"""The `when` condition language: a tiny, safe expression parser and evaluator.

Playbooks come from users' own directories, so a condition must never reach `eval`: it is
tokenised and parsed here into a small tree, checked at load time (a typo fails the playbook,
not the run) and evaluated against plain dicts. Evaluation is total: a missing name is `None`,
a comparison between mismatched types is false, so a condition can never crash a run half-way.

Grammar (lowest precedence first)::

    expr       := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand]
    operand    := literal | name ("." name)* | "(" expr ")" | "[" [expr ("," expr)*] "]"
    literal    := "string" | 'string' | number | true | false | null

Names start at `params`, `target` or `run` (the run's outputs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scimrecon.limits import MAX_EXPR_CHARS, MAX_EXPR_DEPTH, MAX_INT_DIGITS

ROOTS = ("params", "target", "run")

#: The one name of a step whose `when` is false, in plan, status and log (decision 75). The
#: state file keeps such a step as "skipped" with a reason starting "not applicable:" (older
#: runs wrote "condition false:"), so the target goes on like after any skip.
NOT_APPLICABLE = "n/a"
_NOT_APPLICABLE_REASONS = ("not applicable:", "condition false:")


def is_not_applicable(state: str, reason: str | None) -> bool:
    """Whether a recorded step state is a false `when` rather than a step's own skip."""
    return state == "skipped" and (reason or "").startswith(_NOT_APPLICABLE_REASONS)


_FALSE_WORDS = frozenset({"", "false", "no", "n", "0", "off"})


class ExprError(ValueError):
    """A condition that cannot be parsed; the message says where."""


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Name:
    path: tuple[str, ...]


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


Node = Lit | Name | ListExpr | Not | BoolOp | Compare

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
  | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE,
)
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
_KEYWORDS = {"and", "or", "not", "in"}
_LITERALS = {"true": True, "false": False, "null": None, "True": True, "False": False}
_LITERALS["None"] = None


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _unquote(text: str, pos: int) -> str:
    out: list[str] = []
    i = 1
    while i < len(text) - 1:
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1]
            if nxt not in _ESCAPES:
                raise ExprError(f"unknown escape '\\{nxt}' at column {pos + i + 1}")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _tokenise(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise ExprError(f"unexpected {source[pos]!r} at column {pos + 1}")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenise(source)
        self.i = 0
        self.depth = 0

    def enter(self, tok: _Tok) -> None:
        """One more level of brackets or `not`: bounded, so neither this recursive parser nor
        `evaluate` can run out of stack on a hostile condition."""
        self.depth += 1
        if self.depth > MAX_EXPR_DEPTH:
            raise ExprError(
                f"nested deeper than the limit of {MAX_EXPR_DEPTH} levels at column {tok.pos + 1}"
            )

    def peek(self, offset: int = 0) -> _Tok:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind == "str":
            raise ExprError(f"expected {text!r} at column {tok.pos + 1}, found {_show(tok)}")

    def is_word(self, word: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok.kind == "word" and tok.text == word

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise ExprError(f"unexpected {_show(tok)} at column {tok.pos + 1}")
        return node

    def expr(self) -> Node:
        node = self.conj()
        while self.is_word("or"):
            self.take()
            node = BoolOp("or", node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.neg()
        while self.is_word("and"):
            self.take()
            node = BoolOp("and", node, self.neg())
        return node

    def neg(self) -> Node:
        if self.is_word("not"):
            self.enter(self.take())
            node = Not(self.neg())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        tok = self.peek()
        if tok.kind == "op" and tok.text in {"==", "!=", "<", "<=", ">", ">="}:
            self.take()
            return Compare(tok.text, left, self.operand())
        if self.is_word("in"):
            self.take()
            return Compare("in", left, self.operand())
        if self.is_word("not") and self.is_word("in", 1):
            self.take()
            self.take()
            return Compare("not in", left, self.operand())
        return left

    def operand(self) -> Node:
        tok = self.take()
        if tok.kind == "str":
            return Lit(_unquote(tok.text, tok.pos))
        if tok.kind == "num":
            return Lit(_number(tok))
        if tok.kind == "op" and tok.text == "(":
            self.enter(tok)
            node = self.expr()
            self.expect(")")
            self.depth -= 1
            return node
        if tok.kind == "op" and tok.text == "[":
            self.enter(tok)
            items: list[Node] = []
            if not (self.peek().kind == "op" and self.peek().text == "]"):
                items.append(self.expr())
                while self.peek().kind == "op" and self.peek().text == ",":
                    self.take()
                    items.append(self.expr())
            self.expect("]")
            self.depth -= 1
            return ListExpr(tuple(items))
        if tok.kind == "word":
            if tok.text in _LITERALS:
                return Lit(_LITERALS[tok.text])
            if tok.text in _KEYWORDS:
                raise ExprError(f"unexpected {_show(tok)} at column {tok.pos + 1}")
            if tok.text not in ROOTS:
                raise ExprError(
                    f"unknown name {tok.text!r} at column {tok.pos + 1}"
                    " (names start with params., target. or run.)"
                )
            path = [tok.text]
            while self.peek().kind == "op" and self.peek().text == ".":
                self.take()
                part = self.take()
                if part.kind != "word":
                    raise ExprError(f"expected a name after '.' at column {part.pos + 1}")
                path.append(part.text)
            if len(path) == 1:
                raise ExprError(f"{tok.text!r} needs a field, e.g. {tok.text}.name")
            return Name(tuple(path))
        raise ExprError(f"unexpected {_show(tok)} at column {tok.pos + 1}")


def _number(tok: _Tok) -> int | float:
    """A number literal, of at most MAX_INT_DIGITS digits before and after the point: Python
    would turn 100,000 digits into an int slowly, or refuse with a ValueError of its own."""
    whole, _, fraction = tok.text.lstrip("-").partition(".")
    if len(whole) > MAX_INT_DIGITS or len(fraction) > MAX_INT_DIGITS:
        raise ExprError(
            f"number longer than the limit of {MAX_INT_DIGITS} digits at column {tok.pos + 1}"
        )
    return float(tok.text) if "." in tok.text else int(tok.text)


def _show(tok: _Tok) -> str:
    return "end of condition" if tok.kind == "end" else repr(tok.text)


def parse(source: str) -> Node:
    """Parse a condition; raise ExprError naming the column of the first problem."""
    if not source.strip():
        raise ExprError("empty condition")
    if len(source) > MAX_EXPR_CHARS:
        raise ExprError(f"longer than the limit of {MAX_EXPR_CHARS:,} characters")
    return _Parser(source).parse()


def truthy(value: Any) -> bool:
    """Truth as a CSV-fed condition needs it: the string "false" (or "no", "0") is false."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    return bool(value)


def _resolve(path: tuple[str, ...], scope: Mapping[str, Any]) -> Any:
    value: Any = scope.get(path[0])
    for part in path[1:]:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("in", "not in"):
        if isinstance(right, list | tuple | str | Mapping):
            try:
                found = left in right
            except TypeError:
                found = False
        else:
            found = False
        return found if op == "in" else not found
    numbers = (int, float)
    comparable = (
        isinstance(left, numbers)
        and isinstance(right, numbers)
        and not isinstance(left, bool)
        and not isinstance(right, bool)
    ) or (isinstance(left, str) and isinstance(right, str))
    if not comparable:
        return False
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def evaluate(node: Node, scope: Mapping[str, Any]) -> Any:
    """The value of a parsed condition; `scope` maps params/target/run to dicts."""
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Name):
        return _resolve(node.path, scope)
    if isinstance(node, ListExpr):
        return [evaluate(item, scope) for item in node.items]
    if isinstance(node, Not):
        return not truthy(evaluate(node.operand, scope))
    if isinstance(node, BoolOp):
        left = truthy(evaluate(node.left, scope))
        if node.op == "and":
            return left and truthy(evaluate(node.right, scope))
        return left or truthy(evaluate(node.right, scope))
    return _compare(node.op, evaluate(node.left, scope), evaluate(node.right, scope))


@dataclass(frozen=True)
class Condition:
    """A parsed `when`, kept with its source so messages can quote it."""

    source: str
    tree: Node

    @classmethod
    def compile(cls, source: str) -> Condition:
        return cls(source, parse(source))

    def holds(
        self,
        params: Mapping[str, Any],
        target: Mapping[str, Any],
        run: Mapping[str, Any],
    ) -> bool:
        return truthy(evaluate(self.tree, {"params": params, "target": target, "run": run}))

    def why_false(
        self,
        params: Mapping[str, Any],
        target: Mapping[str, Any],
        run: Mapping[str, Any],
    ) -> str:
        """Why the condition does not hold, in words a person reads without the playbook:
        `wait_login_days is 0`, not `params.wait_login_days > 0`."""
        return _why(self.tree, {"params": params, "target": target, "run": run}, False)


def _label(node: Name) -> str:
    """A name as a person says it: parameters by their own name, the rest with their root."""
    root, *rest = node.path
    return ".".join(rest) if root == "params" else f"{root} {'.'.join(rest)}"


def _value(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _is(node: Node, scope: Mapping[str, Any]) -> str:
    """`<name> is <value>` for a name; the literal itself otherwise."""
    value = _value(evaluate(node, scope))
    return f"{_label(node)} is {value}" if isinstance(node, Name) else value


def _why(node: Node, scope: Mapping[str, Any], actual: bool) -> str:
    """Words for why `node` evaluates to `actual`: the names that decide it and their values."""
    if isinstance(node, Not):
        return _why(node.operand, scope, not actual)
    if isinstance(node, BoolOp):
        sides = [(n, truthy(evaluate(n, scope))) for n in (node.left, node.right)]
        # `a and b` is false as soon as one side is, `a or b` true as soon as one side is:
        # name that side; otherwise both sides decide it, name both.
        if (node.op == "and") != actual:
            return next(_why(n, scope, actual) for n, v in sides if v == actual)
        parts = dict.fromkeys(_why(n, scope, actual) for n, _ in sides)
        return " and ".join(parts)
    if isinstance(node, Compare):
        names = [n for n in (node.left, node.right) if isinstance(n, Name)] or [node.left]
        return ", ".join(dict.fromkeys(_is(n, scope) for n in names))
    if isinstance(node, Name):
        return _is(node, scope)
    return f"the condition is always {'true' if actual else 'false'}"
