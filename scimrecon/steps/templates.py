"""Parameter templates that fill named placeholders and nothing else.

`str.format` on a person's text is a small language: `{local.__class__}` reads an attribute,
`{run!r}` and `{local:>40}` reformat, and the result of `email_template` set a real account's
email to `<class 'str'>@acme.example`. Here `{name}` is replaced by a documented value, `{{`
and `}}` stand for braces, and any other brace is a usage error naming the parameter, found
when the plan is made (exit 2), before anything is changed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from scimrecon.errors import InputError

_TOKEN = re.compile(r"\{\{|\}\}|\{[^{}]*\}|[{}]")


def template_problem(template: str, allowed: Collection[str]) -> str | None:
    """Why `template` is not a plain placeholder template over `allowed`, or None."""
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            return (
                f"a lone {token!r} at character {match.start() + 1}; write {token * 2} for a brace"
            )
        if token[1:-1] not in allowed:
            names = ", ".join("{" + name + "}" for name in allowed)
            verb = "is" if len(allowed) == 1 else "are"
            return f"{token} is not a placeholder (only {names} {verb} filled in)"
    return None


def check_template(param: str, template: str, allowed: Collection[str]) -> None:
    """InputError (exit 2) naming the parameter when the template is not plain."""
    problem = template_problem(template, allowed)
    if problem is not None:
        raise InputError(f"parameter {param!r}: {template!r}: {problem}")


def fill(param: str, template: str, values: Mapping[str, str]) -> str:
    """The template with each `{name}` replaced by `values[name]`; values are never parsed."""
    check_template(param, template, values.keys())

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        return token[0] if token in ("{{", "}}") else values[token[1:-1]]

    return _TOKEN.sub(one, template)


__all__ = ["check_template", "fill", "template_problem"]
