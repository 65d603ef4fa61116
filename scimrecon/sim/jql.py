"""The small, honest JQL subset the simulator understands.

Supported: `reporter`, `assignee`, `project`, `key` (alias `issuekey`), `watcher`,
`worklogAuthor` and JSM's `"Request participants"` with `=` or `in (...)`, JSM's
`approvals = approver(user, ...)`, combined with AND / OR and parentheses; `ORDER BY ...` is
accepted and ignored. JSM's fields exist only on a site with Jira Service Management.
Anything else is rejected with the message Jira would give, so a connector that sends JQL the
simulator cannot evaluate fails loudly instead of silently matching nothing. Like Jira's
/search/jql, a query with no restriction at all is refused.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

FIELDS = {
    "reporter": "reporter",
    "assignee": "assignee",
    "project": "project",
    "key": "key",
    "issuekey": "key",
    # JSM's custom field, searched by its name in quotes: "Request participants" = accountId
    "request participants": "participants",
    "watcher": "watchers",
    "worklogauthor": "worklogs",
    # JSM's Approvals field, searched only through its functions: approvals = approver(id)
    "approvals": "approvals",
}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|~|!~|>=|<=|[=(),<>])
      | (?P<word>[^\s"'(),=!~<>]+)
    )""",
    re.VERBOSE,
)


class JqlError(ValueError):
    """A query Jira would reject; the message is what goes into errorMessages."""


@dataclass(frozen=True)
class Token:
    kind: str  # string | op | word
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def tokenize(jql: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(jql):
        if jql[pos:].strip() == "":
            break
        found = _TOKEN.match(jql, pos)
        if found is None or found.end() == pos:
            raise JqlError(
                f"Error in the JQL Query: the character '{jql[pos:].lstrip()[:1]}' is reserved."
            )
        kind = found.lastgroup or "word"
        text = found.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append(Token(kind, text))
        pos = found.end()
    return tokens


#: Fields that exist only on a site with Jira Service Management.
JSM_FIELDS = frozenset({"participants", "approvals"})


class _Parser:
    def __init__(self, tokens: list[Token], jsm: bool = True) -> None:
        self.tokens = tokens
        self.pos = 0
        self.jsm = jsm

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise JqlError(
                "Error in the JQL Query: Expecting either a value, list or function "
                "but got end of query."
            )
        self.pos += 1
        return token

    def at_order_by(self) -> bool:
        token = self.peek()
        nxt = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
        return bool(token and token.is_word("order") and nxt and nxt.is_word("by"))

    def parse(self) -> Predicate | None:
        if self.peek() is None or self.at_order_by():
            return None
        predicate = self.expr()
        extra = self.peek()
        if extra is not None and not self.at_order_by():
            raise JqlError(
                f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{extra.text}'."
            )
        return predicate

    def expr(self) -> Predicate:
        terms = [self.and_expr()]
        while (token := self.peek()) is not None and token.is_word("or"):
            self.take()
            terms.append(self.and_expr())
        return terms[0] if len(terms) == 1 else (lambda issue: any(t(issue) for t in terms))

    def and_expr(self) -> Predicate:
        terms = [self.atom()]
        while (token := self.peek()) is not None and token.is_word("and"):
            self.take()
            terms.append(self.atom())
        return terms[0] if len(terms) == 1 else (lambda issue: all(t(issue) for t in terms))

    def atom(self) -> Predicate:
        token = self.take()
        if token.kind == "op" and token.text == "(":
            inner = self.expr()
            close = self.take()
            if close.text != ")":
                raise JqlError(f"Error in the JQL Query: Expecting ')' but got '{close.text}'.")
            return inner
        if token.kind == "op":
            raise JqlError(
                f"Error in the JQL Query: Expecting a field name but got '{token.text}'."
            )
        field = FIELDS.get(token.text.lower())
        if field is None or (field in JSM_FIELDS and not self.jsm):
            raise JqlError(
                f"Field '{token.text}' does not exist or you do not have permission to view it."
            )
        op = self.take()
        if field == "approvals":
            return self.approver(op)
        if op.kind == "op" and op.text == "=":
            values = [self.value()]
        elif op.is_word("in"):
            values = self.value_list()
        else:
            raise JqlError(
                f"The operator '{op.text}' is not supported by the '{token.text}' field."
            )
        return _clause(field, values)

    def approver(self, op: Token) -> Predicate:
        """`approvals = approver(a, b)`: requests on which any of them is (or was) an approver;
        the field's other functions (approved(), pending(), ...) are beyond this subset."""
        if not (op.kind == "op" and op.text == "="):
            raise JqlError(f"The operator '{op.text}' is not supported by the 'approvals' field.")
        function = self.take()
        if not function.is_word("approver"):
            raise JqlError(
                f"Function '{function.text}' is not supported by the 'approvals' field here."
            )
        return _clause("approvals", self.value_list())

    def value(self) -> str:
        token = self.take()
        if token.kind == "op":
            raise JqlError(
                "Error in the JQL Query: Expecting either a value, list or function "
                f"but got '{token.text}'."
            )
        if token.kind == "word" and token.text.lower() in {"empty", "null"}:
            raise JqlError(
                "The operator '=' does not support EMPTY; use 'is EMPTY' (not supported here)."
            )
        return token.text

    def value_list(self) -> list[str]:
        if self.take().text != "(":
            raise JqlError("Error in the JQL Query: Expecting '(' after 'in' or a function.")
        values = [self.value()]
        while True:
            token = self.take()
            if token.text == ")":
                return values
            if token.text != ",":
                raise JqlError(
                    f"Error in the JQL Query: Expecting ',' or ')' but got '{token.text}'."
                )
            values.append(self.value())


def _clause(field: str, values: list[str]) -> Predicate:
    if field in ("reporter", "assignee"):
        wanted = set(values)
        return lambda issue: issue.get(field) in wanted
    if field in ("participants", "watchers"):
        wanted = set(values)
        return lambda issue: bool(wanted & set(issue.get(field) or ()))
    if field == "worklogs":
        wanted = set(values)
        return lambda issue: any(w.get("author") in wanted for w in issue.get("worklogs") or ())
    if field == "approvals":
        wanted = set(values)
        return lambda issue: any(
            wanted & set(a.get("approvers") or ()) for a in issue.get("approvals") or ()
        )
    folded = {v.upper() for v in values}
    return lambda issue: str(issue.get(field) or "").upper() in folded


@functools.lru_cache(maxsize=256)
def compile_jql(jql: str, jsm: bool = True) -> Predicate:
    """A predicate over fixture-world issues, or JqlError with Jira's message. Without `jsm`
    (a site without Jira Service Management) its fields do not exist, as in Jira."""
    predicate = _Parser(tokenize(jql), jsm).parse()
    if predicate is None:
        raise JqlError(
            "Unbounded JQL queries are not allowed here. "
            "Please add a search restriction to your query."
        )
    return predicate
