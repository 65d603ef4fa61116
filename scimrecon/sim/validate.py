"""Everything that can be wrong with a fixture world, as messages a person can act on.

A world is written by hand, exported from a customer and redacted, or saved by the simulator; in
every case the worst outcome is a world that loads but lies (a typo in `managed` silently changes
a billable count). So validation is strict and complete: the JSON Schema catches shape errors,
the referential checks catch ids that point nowhere and uniqueness the real APIs enforce, and
every problem is reported at once with the JSON path to the field (`accounts[3].email: ...`).

jsonschema alone needs about a minute for a 100,000-account world, so the big arrays are first
checked item by item by closures compiled from the same schema (`_FastSchema`), and jsonschema
only explains the items those reject; the referential checks are set operations and single
passes. Together they validate 100,000 accounts in about three seconds.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from scimrecon.recon.identity import identity_key

_EMAIL = re.compile(
    r"^[^@\s\"<>,;()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
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


def is_email(value: object) -> bool:
    """An address with one @ and a dotted domain: what Atlassian and the IdPs will accept.

    Deliberately not full RFC 5322 (quoted local parts, IP literals): no identity system here
    accepts those, so a world holding one is a mistake.
    """
    return isinstance(value, str) and _EMAIL.match(value) is not None


def is_iso8601(value: object) -> bool:
    """A calendar date (2024-01-31) or a date-time with optional seconds, fraction and zone."""
    return isinstance(value, str) and _iso8601_text(value)


@lru_cache(maxsize=65536)
def _iso8601_text(value: str) -> bool:
    # A world repeats the same few thousand dates hundreds of thousands of times.
    m = _ISO.match(value)
    if m is None:
        return False
    year, month, day, hour, minute, second, _zone = m.groups()
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    if hour is not None and (int(hour) > 23 or int(minute) > 59):
        return False
    return second is None or int(second) <= 60


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


Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description"})
_OBJECT_WORDS = frozenset({"properties", "required", "additionalProperties", "patternProperties"})
_FAST_FORMATS: dict[str, Check] = {"email": is_email, "iso8601": is_iso8601}


def _never(_v: Any) -> bool:
    """Cannot tell: the caller asks jsonschema instead."""
    return False


def _always(_v: Any) -> bool:
    return True


def _is_integer(v: Any) -> bool:
    # JSON Schema counts 2.0 as an integer; bool is never a number.
    return type(v) is int or (type(v) is float and v.is_integer())


_TYPES: dict[str, tuple[type, ...] | None] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": None,  # needs _is_integer
}


class _FastSchema:
    """A yes/no accelerator compiled from the same schema jsonschema uses.

    jsonschema needs about 0.6 ms per account, a minute for 100,000; these closures need a few
    microseconds. They answer only "certainly valid" (True) or "let jsonschema look" (False):
    a keyword they do not know compiles to "let jsonschema look", so the schema stays the single
    authority and True can never hide a problem (tests/world hold them to that, property-style).
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        if ref not in self.refs:
            name = ref.removeprefix("#/$defs/")
            target = self.root.get("$defs", {}).get(name) if ref.startswith("#/$defs/") else None
            self.refs[ref] = _never  # a recursive reference stays "ask jsonschema"
            self.refs[ref] = _never if target is None else self.compile(target)
        return self.refs[ref]

    def compile(self, schema: Any) -> Check:
        if schema is True or schema == {}:
            return _always
        if not isinstance(schema, Mapping):
            return _never
        words = set(schema) - _ANNOTATIONS
        if words == {"$ref"}:
            return self.ref(str(schema["$ref"]))
        if "$ref" in words:
            return _never
        if words & _OBJECT_WORDS:
            return self._object(schema, words)
        if "items" in words:
            return self._array(schema, words)
        return self._scalar(schema, words)

    def _object(self, schema: Mapping[str, Any], words: set[str]) -> Check:
        if words - _OBJECT_WORDS - {"type"} or schema.get("type", "object") != "object":
            return _never
        if schema.get("additionalProperties", True) not in (True, False):
            return _never
        props = {k: self.compile(sub) for k, sub in schema.get("properties", {}).items()}
        patterns = [
            (re.compile(p), self.compile(sub))
            for p, sub in schema.get("patternProperties", {}).items()
        ]
        closed = schema.get("additionalProperties", True) is False
        required = frozenset(schema.get("required", ()))
        typed = "type" in schema
        # A known field's checks are fixed at compile time (its property schema plus any pattern
        # its name matches), so the per-key work at run time is one dict lookup and one call.
        for key in list(props):
            extra = [sub for rx, sub in patterns if rx.search(key)]
            if extra:
                props[key] = _all_of([props[key], *extra])

        def unknown(key: str, value: Any) -> bool:
            matched = False
            for rx, sub in patterns:
                if rx.search(key):
                    matched = True
                    if not sub(value):
                        return False
            return matched or not closed

        known = props.keys()

        def check(v: Any) -> bool:
            if type(v) is not dict:
                return not typed
            if not required.issubset(v):
                return False
            if known >= v.keys():  # the usual case: only known fields, one set test in C
                for key, value in v.items():  # noqa: SIM110 - a loop beats all(genexpr) here
                    if not props[key](value):
                        return False
                return True
            for key, value in v.items():
                prop = props.get(key)
                if prop is None:
                    if not unknown(key, value):
                        return False
                elif not prop(value):
                    return False
            return True

        return check

    def _array(self, schema: Mapping[str, Any], words: set[str]) -> Check:
        if words - {"items", "type", "minItems"} or schema.get("type", "array") != "array":
            return _never
        item = self.compile(schema["items"])
        typed = "type" in schema
        min_items = int(schema.get("minItems", 0))

        def check(v: Any) -> bool:
            if type(v) is not list:
                return not typed
            if len(v) < min_items:
                return False
            for x in v:  # noqa: SIM110 - a loop beats all(genexpr) here
                if not item(x):
                    return False
            return True

        return check

    def _scalar(self, schema: Mapping[str, Any], words: set[str]) -> Check:
        known = {"type", "enum", "format", "minLength", "pattern", "minimum", "maximum"}
        if words - known - {"exclusiveMinimum"}:
            return _never
        names = schema.get("type")
        names = [names] if isinstance(names, str) else list(names or [])
        if any(n not in _TYPES for n in names):
            return _never
        classes = tuple(c for n in names for c in (_TYPES[n] or ()))
        integer = "integer" in names
        enum = schema.get("enum")
        if enum is not None and not all(isinstance(e, str) for e in enum):
            return _never
        choices = frozenset(enum or ())
        fmt = _FAST_FORMATS.get(schema["format"]) if "format" in schema else None
        if "format" in schema and fmt is None:
            return _never
        min_len = schema.get("minLength")
        rx = re.compile(schema["pattern"]) if "pattern" in schema else None
        low, high = schema.get("minimum"), schema.get("maximum")
        above = schema.get("exclusiveMinimum")

        simple = _simple_scalar(classes, integer, enum, fmt, min_len, rx, low, high, above)
        if simple is not None:
            return simple

        def check(v: Any) -> bool:
            t = type(v)
            if names and t not in classes and not (integer and _is_integer(v)):
                return False
            if enum is not None and (t is not str or v not in choices):
                return False
            if t is str:
                if fmt is not None and not fmt(v):
                    return False
                if min_len is not None and len(v) < min_len:
                    return False
                if rx is not None and rx.search(v) is None:
                    return False
            elif t is int or t is float:
                if low is not None and v < low:
                    return False
                if high is not None and v > high:
                    return False
                if above is not None and v <= above:
                    return False
            return True

        return check


def _all_of(checks: list[Check]) -> Check:
    return lambda v: all(c(v) for c in checks)


def _simple_scalar(
    classes: tuple[type, ...],
    integer: bool,
    enum: list[str] | None,
    fmt: Check | None,
    min_len: int | None,
    rx: re.Pattern[str] | None,
    *bounds: Any,
) -> Check | None:
    """Single-expression checks for the shapes that fill a world (ids, emails, dates, enums).

    At 100,000 accounts the general scalar check is the hot spot; these cover nearly every value.
    """
    if integer or rx is not None or any(b is not None for b in bounds):
        return None
    nullable = type(None) in classes
    rest = tuple(c for c in classes if c is not type(None))
    if enum is not None:
        if classes:
            return None
        choices = frozenset(enum)
        return lambda v: type(v) is str and v in choices
    if rest == (str,):
        if fmt is not None and min_len is None:
            if nullable:
                return lambda v: v is None or (type(v) is str and fmt(v))
            return lambda v: type(v) is str and fmt(v)
        if fmt is None and min_len is not None:
            if nullable:
                return lambda v: v is None or (type(v) is str and len(v) >= min_len)
            return lambda v: type(v) is str and len(v) >= min_len
        if fmt is None and min_len is None:
            if nullable:
                return lambda v: v is None or type(v) is str
            return lambda v: type(v) is str
        return None
    if fmt is None and min_len is None and len(rest) == 1 and not nullable:
        cls = rest[0]
        return lambda v: type(v) is cls
    return None


@cache
def _fast(ref: str) -> Check:
    """The accelerator for a `#/$defs/...` reference, or for the whole world when ref is ''."""
    fast = _FastSchema(world_schema())
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


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, item) for the dict items of an array; anything else is a schema error."""
    if type(value) is list:
        for i, item in enumerate(value):
            if type(item) is dict:
                yield i, item


def _field(items: Any, name: str) -> list[Any]:
    """items[i][name] for every item of an array (None where absent or not a dict)."""
    if type(items) is not list:
        return []
    return [item.get(name) if type(item) is dict else None for item in items]


def _strings(values: list[Any], *, fold_case: bool = False) -> list[str | None]:
    if fold_case:
        return [identity_key(v) if type(v) is str else None for v in values]
    return [v if type(v) is str else None for v in values]


def _unique(keys: list[Any], values: list[Any], what: str, where: str, problems: list[str]) -> None:
    """Report every later duplicate of a key against its first occurrence (None keys skipped).

    One set comparison settles the usual case (no duplicates) in C; only a world that has
    duplicates pays for the loop that names them. `where` is a path template such as
    "accounts[{}].email", formatted only for the messages.
    """
    present = [k for k in keys if k is not None]
    if len(set(present)) == len(present):
        return
    first: dict[Any, int] = {}
    for i, key in enumerate(keys):
        if key is None:
            continue
        j = first.setdefault(key, i)
        if j != i:
            problems.append(
                f"{where.format(i)}: duplicate {what} {values[i]!r} (first at {where.format(j)})"
            )


def reference_problems(doc: Any) -> list[str]:
    """Ids that point nowhere and uniqueness the real APIs enforce; one pass per collection.

    Written defensively (non-dict items and wrong types are skipped) so it can run even on a
    world with shape errors, and the user sees every problem in one go.
    """
    if type(doc) is not dict:
        return []
    problems: list[str] = []
    directories = _check_directories(doc, problems)
    accounts = _check_accounts(doc, problems)
    scim_directory = _check_scim_users(doc, directories, accounts, problems)
    _check_groups(doc, directories, scim_directory, problems)
    _check_jira(doc, accounts, problems)
    _check_idp(doc, directories, problems)
    _check_idp_groups(doc, problems)
    return problems


def _check_directories(doc: dict[str, Any], problems: list[str]) -> set[str]:
    ids = _strings(_field(doc.get("directories"), "id"))
    _unique(ids, ids, "directory id", "directories[{}].id", problems)
    return {i for i in ids if i is not None}


def _sites(doc: dict[str, Any], problems: list[str]) -> dict[str, set[str]] | None:
    """site name -> its products, or None when the world does not list sites (no check)."""
    if type(doc.get("sites")) is not list:
        return None
    names = _strings(_field(doc["sites"], "name"))
    _unique(names, names, "site name", "sites[{}].name", problems)
    sites: dict[str, set[str]] = {}
    for _, s in _dicts(doc["sites"]):
        name, products = s.get("name"), s.get("products")
        if type(name) is str and type(products) is list:
            sites[name] = {p for p in products if type(p) is str}
    return sites


def _check_accounts(doc: dict[str, Any], problems: list[str]) -> set[str]:
    raw = doc.get("accounts")
    ids = _strings(_field(raw, "account_id"))
    _unique(ids, ids, "account id", "accounts[{}].account_id", problems)
    emails = _field(raw, "email")
    _unique(
        _strings(emails, fold_case=True),
        emails,
        "email (emails are case-insensitive)",
        "accounts[{}].email",
        problems,
    )
    sites = _sites(doc, problems)
    pairs = {(site, key) for site, keys in (sites or {}).items() for key in keys}
    org = doc.get("org")
    listed = org.get("domains") if type(org) is dict else None
    domains = {d.lower() for d in listed if type(d) is str} if type(listed) is list else set()
    on_domain: dict[str, bool] = {}
    user_dirs = org.get("user_directories") if type(org) is dict else None
    known_dirs = {d.get("id") for _, d in _dicts(user_dirs)} if type(user_dirs) is list else None
    for i, a in _dicts(raw):
        chosen = a.get("user_directory")
        if type(chosen) is str and chosen not in (known_dirs or set()):
            problems.append(
                f"accounts[{i}].user_directory: {chosen!r} is not one of org.user_directories"
            )
        email = a.get("email")
        if domains and a.get("managed") is True and type(email) is str and "@" in email:
            domain = email.rpartition("@")[2].lower()
            if domain not in on_domain:
                on_domain[domain] = any(domain == d or domain.endswith("." + d) for d in domains)
            if not on_domain[domain]:
                problems.append(
                    f"accounts[{i}].managed: true, but {email!r} is not on the org's domains "
                    f"({', '.join(sorted(domains))})"
                )
        if a.get("external") is True and a.get("managed") is True:
            problems.append(
                f"accounts[{i}].external: true, but the account is managed: an external user "
                f"is an account the org does not manage"
            )
        if sites is None:
            continue
        for field in ("product_access", "suspended_access", "suspended_products"):
            entries = a.get(field)
            if type(entries) is not list:
                continue
            for j, p in enumerate(entries):
                if type(p) is dict and (p.get("site"), p.get("key")) not in pairs:
                    _check_site(p, f"accounts[{i}].{field}[{j}]", sites, problems)
    return {i for i in ids if i is not None}


def _check_site(
    entry: Mapping[str, Any], where: str, sites: Mapping[str, set[str]], problems: list[str]
) -> None:
    site, key = entry.get("site"), entry.get("key")
    if type(site) is not str:
        return
    # A site the world does not list is a site the org does not manage: valid, and billable
    # all the same (recon/billable.py, ACCESS-2576); only a listed site's products are known.
    if site in sites and type(key) is str and key not in sites[site]:
        problems.append(f"{where}.key: site {site!r} has no product {key!r}")


def _check_scim_users(
    doc: dict[str, Any], directories: set[str], accounts: set[str], problems: list[str]
) -> dict[str, Any]:
    """Returns SCIM user id -> its directory, for the group checks."""
    raw = doc.get("scim_users")
    ids = _strings(_field(raw, "id"))
    _unique(ids, ids, "SCIM user id", "scim_users[{}].id", problems)
    dirs = _field(raw, "directory")
    names = _field(raw, "userName")
    folded = _strings(names, fold_case=True)
    _unique(
        [(d, n) if n is not None else None for d, n in zip(dirs, folded, strict=True)],
        names,
        "userName in this directory",
        "scim_users[{}].userName",
        problems,
    )
    links = _field(raw, "account_id")
    for i, account_id in enumerate(links):
        if type(account_id) is str and account_id not in accounts:
            problems.append(f"scim_users[{i}].account_id: no account has id {account_id!r}")
    for i, directory in enumerate(dirs):
        if type(directory) is str and directory not in directories:
            problems.append(f"scim_users[{i}].directory: no directory has id {directory!r}")
    linked = [
        (d, a) if type(d) is str and type(a) is str and a in accounts else None
        for d, a in zip(dirs, links, strict=True)
    ]
    present = [k for k in linked if k is not None]
    if len(set(present)) != len(present):
        first: dict[Any, int] = {}
        for i, key in enumerate(linked):
            if key is not None and (j := first.setdefault(key, i)) != i:
                problems.append(
                    f"scim_users[{i}].account_id: account {key[1]!r} is already linked "
                    f"by scim_users[{j}] in the same directory"
                )
    scim_directory: dict[str, Any] = {}
    for scim_id, directory in zip(ids, dirs, strict=True):
        if scim_id is not None:
            scim_directory.setdefault(scim_id, directory)
    return scim_directory


def _check_groups(
    doc: dict[str, Any],
    directories: set[str],
    scim_directory: Mapping[str, Any],
    problems: list[str],
) -> None:
    ids = _strings(_field(doc.get("groups"), "id"))
    _unique(ids, ids, "group id", "groups[{}].id", problems)
    sites = _sites(doc, [])  # duplicate site names are reported once, by the accounts check
    for i, g in _dicts(doc.get("groups")):
        directory = g.get("directory")
        if type(directory) is str and directory not in directories:
            problems.append(f"groups[{i}].directory: no directory has id {directory!r}")
        members = g.get("members")
        for j, m in enumerate(members if type(members) is list else []):
            if type(m) is not str:
                continue
            if m not in scim_directory:
                problems.append(f"groups[{i}].members[{j}]: no SCIM user has id {m!r}")
            elif scim_directory[m] != directory:
                problems.append(
                    f"groups[{i}].members[{j}]: SCIM user {m!r} is in another directory"
                )
        products = g.get("products")
        if sites is not None and type(products) is list:
            for j, p in _dicts(products):
                _check_site(p, f"groups[{i}].products[{j}]", sites, problems)


def _check_jira(doc: dict[str, Any], accounts: set[str], problems: list[str]) -> None:
    jira = doc.get("jira")
    if type(jira) is not dict:
        return
    keys = _strings(_field(jira.get("issues"), "key"))
    _unique(keys, keys, "issue key", "jira.issues[{}].key", problems)
    for i, issue in _dicts(jira.get("issues")):
        key, project = issue.get("key"), issue.get("project")
        if (
            type(key) is str
            and type(project) is str
            and "-" in key
            and key.rsplit("-", 1)[0] != project
        ):
            problems.append(f"jira.issues[{i}].project: {project!r} does not match key {key!r}")
        for field in ("reporter", "assignee"):
            value = issue.get(field)
            if type(value) is str and value not in accounts:
                problems.append(f"jira.issues[{i}].{field}: no account has id {value!r}")
        for name in ("participants", "watchers"):
            ids = issue.get(name)
            for j, p in enumerate(ids if type(ids) is list else []):
                if type(p) is str and p not in accounts:
                    problems.append(f"jira.issues[{i}].{name}[{j}]: no account has id {p!r}")
        _check_history(i, issue, accounts, problems)


def _check_history(i: int, issue: dict[str, Any], accounts: set[str], problems: list[str]) -> None:
    """Comments, worklogs and approvals name accounts that exist; their ids are unique."""
    for name in ("comments", "worklogs"):
        entries = list(_dicts(issue.get(name)))
        ids = _strings(_field(issue.get(name), "id"))
        _unique(ids, ids, f"{name[:-1]} id", f"jira.issues[{i}].{name}[{{}}].id", problems)
        for j, entry in entries:
            author = entry.get("author")
            if type(author) is str and author not in accounts:
                problems.append(
                    f"jira.issues[{i}].{name}[{j}].author: no account has id {author!r}"
                )
    for j, approval in _dicts(issue.get("approvals")):
        approvers = approval.get("approvers")
        for k, a in enumerate(approvers if type(approvers) is list else []):
            if type(a) is str and a not in accounts:
                problems.append(
                    f"jira.issues[{i}].approvals[{j}].approvers[{k}]: no account has id {a!r}"
                )


def _check_idp(doc: dict[str, Any], directories: set[str], problems: list[str]) -> None:
    idp = doc.get("idp")
    if type(idp) is not dict:
        return
    directory = idp.get("directory")
    if type(directory) is str and directory not in directories:
        problems.append(f"idp.directory: no directory has id {directory!r}")
    if idp.get("kind") == "entra":
        for field in ("tenant", "client_id", "client_secret", "service_principal", "job"):
            if field not in idp:
                problems.append(f"idp.{field}: required when idp.kind is 'entra'")
    if idp.get("kind") == "okta" and "okta" not in idp:
        problems.append("idp.okta: required when idp.kind is 'okta'")
    object_ids = _strings(_field(idp.get("users"), "object_id"))
    _unique(object_ids, object_ids, "IdP object_id", "idp.users[{}].object_id", problems)
    names = _field(idp.get("users"), "userName")
    _unique(
        _strings(names, fold_case=True), names, "IdP userName", "idp.users[{}].userName", problems
    )


def _check_idp_groups(doc: dict[str, Any], problems: list[str]) -> None:
    """An IdP user's `groups` name SCIM groups of the directory the IdP pushes into: the IdP
    pushes its groups under their own names, so a name with no such group points nowhere."""
    idp = doc.get("idp")
    if type(idp) is not dict:
        return
    directory = idp.get("directory")
    if type(directory) is not str:
        first = next((d.get("id") for _, d in _dicts(doc.get("directories"))), None)
        directory = first if type(first) is str else None
    names = {
        str(g.get("displayName")).lower()
        for _, g in _dicts(doc.get("groups"))
        if g.get("directory") == directory and type(g.get("displayName")) is str
    }
    for i, user in _dicts(idp.get("users")):
        groups = user.get("groups")
        for j, name in enumerate(groups if type(groups) is list else []):
            if type(name) is str and name.lower() not in names:
                problems.append(
                    f"idp.users[{i}].groups[{j}]: no group named {name!r} in directory "
                    f"{directory!r}, the one the IdP pushes into"
                )


def validate_world(doc: Any) -> list[str]:
    """Every problem with a world, shape first then references; empty when the world is valid."""
    return schema_problems(doc) + reference_problems(doc)


__all__ = [
    "faults_problems",
    "is_email",
    "is_iso8601",
    "reference_problems",
    "render_path",
    "schema_problems",
    "validate_world",
    "world_schema",
]
