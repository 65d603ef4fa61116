"""Who must never appear on a candidate list, whatever the numbers say.

A list the playbooks accept as it is must not carry the org admin or the CEO's assistant who
logs in twice a year; `--protect` takes patterns or files of them, and every protected user
is shown with the rule that protected them so the admin can see nobody slipped through.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scimrecon.errors import InputError
from scimrecon.identity import matches_pattern
from scimrecon.limits import read_document


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    origin: str  # "--protect" or the file (and line) the pattern came from


class Protector:
    """Matches users by email (glob, under the identity rule) or account id (exact or glob)."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = tuple(rules)

    @classmethod
    def from_options(cls, values: Iterable[str]) -> Protector:
        """Each value is a file of patterns (one a line, # comments) or a pattern itself."""
        rules: list[Rule] = []
        for value in values:
            path = Path(value)
            if path.is_file():
                try:
                    text = read_document(path, f"--protect {value}").decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    raise InputError(f"--protect {value}: cannot read ({exc})") from None
                for n, line in enumerate(text.splitlines(), start=1):
                    pattern = line.split("#", 1)[0].strip()
                    if pattern:
                        rules.append(Rule(pattern, f"{value}:{n}"))
            elif value.strip():
                rules.append(Rule(value.strip(), "--protect"))
            else:
                raise InputError("--protect: empty pattern")
        return cls(rules)

    def match(self, email: str, account_id: str) -> Rule | None:
        for rule in self.rules:
            if matches_pattern(email, rule.pattern) or fnmatch.fnmatchcase(
                account_id.lower() or "\0", rule.pattern.lower()
            ):
                return rule
        return None
