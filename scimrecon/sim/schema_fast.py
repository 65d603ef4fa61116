"""A yes/no accelerator compiled from the world's JSON Schema (validate.py's fast path).

jsonschema needs about a minute for a 100,000-account world; these closures answer "certainly
valid" in microseconds per item, and validate.py asks jsonschema only about the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from scimrecon.sim.value_formats import is_email, is_iso8601

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


class FastSchema:
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
