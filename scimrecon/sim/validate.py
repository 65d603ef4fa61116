"""Everything that can be wrong with a fixture world, as messages a person can act on.

A world is written by hand, exported from a customer and redacted, or saved by the simulator; in
every case the worst outcome is a world that loads but lies (a typo in `managed` silently changes
a billable count). So validation is strict and complete: the JSON Schema catches shape errors,
the referential checks catch ids that point nowhere and uniqueness the real APIs enforce, and
every problem is reported at once with the JSON path to the field (`accounts[3].email: ...`).

jsonschema alone needs about a minute for a 100,000-account world, so the big arrays are first
checked item by item by closures compiled from the same schema (schema_fast.py), and jsonschema
only explains the items those reject; the referential checks (world_references.py) are set
operations and single passes. Together they validate 100,000 accounts in about three seconds.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from scimrecon.sim.schema_fast import Check, FastSchema
from scimrecon.sim.value_formats import is_email, is_iso8601
from scimrecon.sim.world_references import reference_problems

_REQUIRED = re.compile(r"^('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") is a required property$")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_FORMAT_WORDS = {"email": "an email", "iso8601": "an ISO 8601 date"}
_JSON_TYPES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    # Non-strings pass here: the schema's "type" reports them, with a better message.
    checker.checks("email")(lambda v: not isinstance(v, str) or is_email(v))
    checker.checks("iso8601")(lambda v: not isinstance(v, str) or is_iso8601(v))
    return checker


@cache
def world_schema() -> dict[str, Any]:
    """The shipped schema (package data), parsed once."""
    text = resources.files("scimrecon").joinpath("schemas/world.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    schema = world_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


@cache
def _faults_validator() -> Draft202012Validator:
    schema = world_schema()
    sub = {"$defs": schema["$defs"], **schema["$defs"]["faults"]}
    return Draft202012Validator(sub, format_checker=_format_checker())


@cache
def _fast(ref: str) -> Check:
    """The accelerator for a `#/$defs/...` reference, or for the whole world when ref is ''."""
    fast = FastSchema(world_schema())
    return fast.ref(ref) if ref else fast.compile(world_schema())


@cache
def _item_validator(definition: str) -> Draft202012Validator:
    schema = world_schema()
    sub = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(sub, format_checker=_format_checker())


def render_path(parts: Iterable[str | int]) -> str:
    """`accounts[3].email`, `faults["/atlassian"].latency_ms`; the top level is `(top level)`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _allowed_fields(schema: Mapping[str, Any]) -> list[str]:
    return sorted(schema.get("properties", {}))


def _schema_messages(error: ValidationError, path: list[str | int] | None = None) -> Iterator[str]:
    """Turn one jsonschema error into one or more `<path>: <what is wrong>` lines."""
    path = list(error.absolute_path) if path is None else path
    kind = error.validator
    value = error.instance
    if kind == "required":
        # jsonschema reports one error per missing property, naming it only in the message.
        missing = _REQUIRED.match(error.message)
        prop = ast.literal_eval(missing.group(1)) if missing else None
        if isinstance(prop, str):
            yield f"{render_path([*path, prop])}: required field is missing"
        else:
            yield f"{render_path(path)}: {error.message}"
        return
    if kind == "additionalProperties":
        schema = error.schema
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        allowed = _allowed_fields(schema)
        for key in value:
            if key in schema.get("properties", {}) or any(p.search(key) for p in patterns):
                continue
            hint = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f"did you mean {hint[0]!r}?" if hint else "allowed: " + ", ".join(allowed)
            yield f"{render_path([*path, key])}: unknown field ({suggestion})"
        return
    where = render_path(path)
    if kind == "type":
        wanted = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        expected = " or ".join(_JSON_TYPES.get(n, n) for n in names)
        yield f"{where}: expected {expected}, got {_json_type(value)} {_short(value)}".rstrip()
    elif kind == "enum":
        choices = ", ".join(repr(c) for c in error.validator_value)
        yield f"{where}: {_short(value)} is not one of {choices}"
    elif kind == "format":
        yield f"{where}: {_short(value)} is not {_FORMAT_WORDS.get(error.validator_value, 'valid')}"
    elif kind == "minLength" and error.validator_value == 1:
        yield f"{where}: must not be empty"
    elif kind == "pattern":
        yield f"{where}: {_short(value)} does not match {error.validator_value}"
    else:
        yield f"{where}: {error.message}"


# The big arrays: checked item by item with the fast accelerator, so jsonschema only ever sees
# the items that are (probably) wrong, and the rest of the world with those arrays emptied.
_ARRAYS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("accounts",), "account"),
    (("scim_users",), "scim_user"),
    (("groups",), "group"),
    (("jira", "issues"), "issue"),
    (("idp", "users"), "idp_user"),
)


def schema_problems(doc: Any) -> list[str]:
    """Shape problems (JSON Schema), in document order."""
    skeleton = doc
    suspects: list[tuple[list[str | int], str, Any]] = []
    if isinstance(doc, dict):
        skeleton = dict(doc)
        for path, definition in _ARRAYS:
            parent: dict[str, Any] | None = skeleton
            for key in path[:-1]:
                assert parent is not None
                if not isinstance(parent.get(key), dict):
                    parent = None
                    break
                parent[key] = dict(parent[key])
                parent = parent[key]
            if parent is None or not isinstance(parent.get(path[-1]), list):
                continue
            items = parent[path[-1]]
            parent[path[-1]] = []
            fast = _fast(f"#/$defs/{definition}")
            suspects.extend(
                ([*path, i], definition, item) for i, item in enumerate(items) if not fast(item)
            )
    errors: list[tuple[list[str | int], ValidationError]] = [
        (list(e.absolute_path), e) for e in _validator().iter_errors(skeleton)
    ]
    for prefix, definition, item in suspects:
        errors.extend(
            ([*prefix, *e.absolute_path], e) for e in _item_validator(definition).iter_errors(item)
        )
    errors.sort(key=lambda pe: _path_key(pe[0]))
    return [msg for path, error in errors for msg in _schema_messages(error, path)]


def _path_key(path: Sequence[str | int]) -> tuple[tuple[int, str | int], ...]:
    # ints and strs never compare; tag them so sorting a mixed path never raises.
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in path)


def faults_problems(faults: Any) -> list[str]:
    """Validate a `faults` object alone (e.g. the body of `PUT /_sim/faults`)."""
    errors = sorted(
        _faults_validator().iter_errors(faults), key=lambda e: _path_key(e.absolute_path)
    )
    return [
        msg for error in errors for msg in _schema_messages(error, ["faults", *error.absolute_path])
    ]


def validate_world(doc: Any) -> list[str]:
    """Every problem with a world, shape first then references; empty when the world is valid."""
    return schema_problems(doc) + reference_problems(doc)


__all__ = [
    "faults_problems",
    "render_path",
    "schema_problems",
    "validate_world",
    "world_schema",
]
