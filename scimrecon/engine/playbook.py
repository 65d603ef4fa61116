"""Playbooks: loading TOML, validating it, and typing the parameters a person passes.

A playbook is the one thing a user may write themselves and then point at their company's
directory, so everything that can be checked before a run starts is checked here: the JSON
Schema, unique step ids, the `when` conditions (parsed, never evaluated with `eval`), the action
names against the registry, and the parameters' types. Every error names the file, the step and
the field, so a typo is a one-line fix and never a half-done run.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from scimrecon.engine.action import ActionRegistry
from scimrecon.engine.expr import Condition, ExprError
from scimrecon.engine.step_rules import step_problem
from scimrecon.errors import InputError
from scimrecon.limits import MAX_DAYS, MAX_INT_DIGITS, load_toml, read_document

#: `action` of a step that only shows `manual` instructions and waits for a typed confirmation.
MANUAL_ACTION = "manual"
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


@dataclass(frozen=True)
class Param:
    """A typed playbook parameter; `coerce` turns the text of `--param k=v` into its value."""

    name: str
    type: str
    default: Any = None
    choices: tuple[str, ...] = ()
    required: bool = False
    description: str = ""

    def coerce(self, raw: Any) -> Any:
        """The typed value, or InputError naming the parameter and the expected type."""
        text = raw.strip() if isinstance(raw, str) else raw
        try:
            if self.type == "string":
                if not isinstance(text, str):
                    raise ValueError
                return text
            if self.type == "int":
                if isinstance(text, bool | float):
                    raise ValueError
                digits = str(text).strip().lstrip("+-").replace("_", "")
                if digits.isdigit() and len(digits) > MAX_INT_DIGITS:
                    raise InputError(
                        f"parameter {self.name!r}: a number longer than the limit of "
                        f"{MAX_INT_DIGITS} digits"
                    )
                return int(text)
            if self.type == "float":
                if isinstance(text, bool):
                    raise ValueError
                number = float(text)
                if not math.isfinite(number):
                    raise ValueError
                return number
            if self.type == "bool":
                if isinstance(text, bool):
                    return text
                lowered = str(text).lower()
                if lowered in _TRUE:
                    return True
                if lowered in _FALSE:
                    return False
                raise ValueError
            if self.type == "enum":
                if text not in self.choices:
                    raise InputError(
                        f"parameter {self.name!r}: {raw!r} is not one of {', '.join(self.choices)}"
                    )
                return text
        except (ValueError, TypeError):
            expected = {"int": "an integer", "float": "a number", "bool": "true or false"}
            shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:57] + "..."
            raise InputError(
                f"parameter {self.name!r}: {shown} is not {expected.get(self.type, 'a string')}"
            ) from None
        raise InputError(f"parameter {self.name!r}: unknown type {self.type!r}")

    def describe_type(self) -> str:
        return f"enum: {'|'.join(self.choices)}" if self.type == "enum" else self.type


@dataclass(frozen=True)
class WaitSpec:
    """Poll `check` every `interval_s` until it returns outputs.

    `timeout_s` is the deadline (it may be days); a process polls at most `park_after_s`, then
    the run parks with the deadline stored, and `resume` polls again.
    """

    interval_s: float
    timeout_s: float
    park_after_s: float
    timeout_days_param: str | None = None
    #: Added to the days of `timeout_days_param`: a notice period whose check ends a day
    #: after the period (activity data lags) needs its deadline a little beyond that.
    days_plus_s: float = 0.0

    def deadline_after(self, params: Mapping[str, Any]) -> float:
        """Seconds until the deadline: a person says "wait 7 days", not "604800 s"."""
        if self.timeout_days_param:
            days = params.get(self.timeout_days_param)
            if isinstance(days, int | float) and not isinstance(days, bool) and days > 0:
                # 100 years is as good as forever, and keeps the date arithmetic in range
                return float(min(days, MAX_DAYS)) * 86400.0 + self.days_plus_s
        return self.timeout_s


@dataclass(frozen=True)
class RetrySpec:
    attempts: int = 1
    backoff_s: float = 0.0


@dataclass(frozen=True)
class Step:
    """One step of a playbook, as the runner needs it."""

    id: str
    action: str
    scope: str = "target"
    description: str = ""
    destructive: bool = False
    confirm: bool = False
    manual: str | None = None
    expect: str = "done"
    when: Condition | None = None
    wait: WaitSpec | None = None
    retry: RetrySpec = field(default_factory=RetrySpec)
    options: Mapping[str, Any] = field(default_factory=dict)
    is_finally: bool = False
    #: A target step that may start for a target while other targets are still on the steps
    #: before it (since the last run step): no idle waves (decision 72). False: a wave.
    overlap: bool = False
    #: A run step that only reads, after a flow: it may start once every target is past this
    #: earlier target step of the flow, while the rest of the flow still runs (decision 104).
    start_after: str | None = None

    def flags(self) -> list[str]:
        """The flags a person should notice, in a fixed order."""
        found = [f for f in ("destructive", "confirm") if getattr(self, f)]
        if self.manual:
            found.append("manual")
        if self.wait:
            found.append("wait")
        return found


@dataclass(frozen=True)
class Playbook:
    id: str
    title: str
    description: str
    columns: tuple[str, ...]
    key: str
    params: Mapping[str, Param]
    steps: tuple[Step, ...]
    finally_steps: tuple[Step, ...]
    source: str
    source_name: str
    content_hash: str
    report_columns: tuple[str, ...] = ()
    report_run_outputs: tuple[str, ...] = ()

    def step(self, step_id: str) -> Step:
        for step in (*self.steps, *self.finally_steps):
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def resolve_params(self, given: Mapping[str, Any] | Iterable[str]) -> dict[str, Any]:
        """Typed parameters from `--param k=v` strings (or a mapping), defaults filled in.

        Unknown names and bad values are InputErrors naming the parameter: a run must never
        start with a parameter the person thinks they set but the playbook ignores.
        """
        if isinstance(given, Mapping):
            pairs = list(given.items())
        else:
            pairs = []
            for item in given:
                name, sep, value = item.partition("=")
                if not sep or not name.strip():
                    raise InputError(f"--param {item!r}: expected NAME=VALUE")
                pairs.append((name.strip(), value))
        values: dict[str, Any] = {}
        for name, raw in pairs:
            if name not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise InputError(
                    f"unknown parameter {name!r} for playbook {self.id} (known: {known})"
                )
            values[name] = self.params[name].coerce(raw)
        for name, param in self.params.items():
            if name in values:
                continue
            if param.required and param.default is None:
                raise InputError(f"parameter {name!r} is required: pass --param {name}=VALUE")
            values[name] = param.default
        return values


@cache
def _schema() -> dict[str, Any]:
    text = (resources.files("scimrecon") / "schemas" / "playbook.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _where(path: Iterable[Any], doc: Mapping[str, Any]) -> str:
    """`steps[3] (remove-scim).scope` from a JSON path into the document."""
    out = ""
    node: Any = doc
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, Mapping) and isinstance(node.get("id"), str):
                out += f" ({node['id']})"
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return out


def _fail(name: str, where: str, message: str) -> InputError:
    return InputError(f"{name}: {where}: {message}" if where else f"{name}: {message}")


def _step(raw: Mapping[str, Any], where: str, name: str, is_finally: bool) -> Step:
    manual = raw.get("manual")
    action = raw.get("action") or (MANUAL_ACTION if manual else None)
    if action is None:
        raise _fail(name, f"{where}.action", "required (or give `manual` instructions)")
    when = None
    if "when" in raw:
        try:
            when = Condition.compile(raw["when"])
        except ExprError as exc:
            raise _fail(name, f"{where}.when", str(exc)) from None
    wait = None
    if "wait" in raw:
        spec = raw["wait"]
        timeout = float(spec["timeout_s"])
        interval = float(spec.get("interval_s", min(60.0, timeout)))
        park_after = float(spec.get("park_after_s", min(timeout, 900.0)))
        wait = WaitSpec(
            interval_s=interval,
            timeout_s=timeout,
            park_after_s=park_after,
            timeout_days_param=spec.get("timeout_days_param"),
            days_plus_s=float(spec.get("days_plus_s", 0.0)),
        )
    # A finally step is the last chance to undo a run-wide change (resume provisioning), so it
    # tries harder by default than a step whose failure only stops one target.
    overlap = bool(raw.get("overlap", False))
    if overlap and (raw.get("scope", "target") != "target" or is_finally or raw.get("confirm")):
        # A run step, a finally step and a confirmation are barriers by nature.
        raise _fail(name, f"{where}.overlap", "only a target step without `confirm` may overlap")
    start_after = raw.get("start_after")
    if start_after is not None and (
        raw.get("scope", "target") != "run" or is_finally or raw.get("confirm") or "wait" in raw
    ):
        raise _fail(
            name,
            f"{where}.start_after",
            "only a run step without `confirm` or `wait` may start early",
        )
    retry_raw = raw.get("retry", {"attempts": 4, "backoff_s": 2.0} if is_finally else {})
    retry = RetrySpec(
        attempts=int(retry_raw.get("attempts", 1)),
        backoff_s=float(retry_raw.get("backoff_s", 0.0)),
    )
    return Step(
        id=raw["id"],
        action=action,
        scope=raw.get("scope", "target"),
        description=raw.get("description", "").strip(),
        destructive=bool(raw.get("destructive", False)),
        confirm=bool(raw.get("confirm", False)),
        manual=manual,
        expect=raw.get("expect", "done"),
        when=when,
        wait=wait,
        retry=retry,
        options=dict(raw.get("with", {})),
        is_finally=is_finally,
        overlap=overlap,
        start_after=start_after,
    )


def _param(name: str, raw: Mapping[str, Any], file: str) -> Param:
    param = Param(
        name=name,
        type=raw["type"],
        choices=tuple(raw.get("choices", ())),
        required=bool(raw.get("required", False)),
        description=raw.get("description", "").strip(),
    )
    if "default" in raw:
        try:
            default = param.coerce(raw["default"])
        except InputError as exc:
            raise _fail(file, f"params.{name}.default", exc.message) from None
        param = Param(**{**param.__dict__, "default": default})
    elif not param.required:
        raise _fail(file, f"params.{name}", "needs a default (or `required = true`)")
    return param


def parse_playbook(text: str, source_name: str, registry: ActionRegistry | None = None) -> Playbook:
    """Validate and build a playbook from TOML text.

    With a registry, every action name must exist in it (checked now, not when the run reaches
    the step); without one (listing playbooks), only the file itself is checked.
    """
    name = Path(source_name).name
    try:
        doc = load_toml(text, name)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: invalid TOML: {exc}") from None
    error = best_match(jsonschema.Draft202012Validator(_schema()).iter_errors(doc))
    if error is not None:
        raise _fail(name, _where(error.absolute_path, doc), error.message)
    params = {k: _param(k, v, name) for k, v in doc.get("params", {}).items()}
    columns = tuple(doc["targets"]["columns"])
    key = doc["targets"]["key"]
    if key not in columns:
        raise _fail(name, "targets.key", f"{key!r} is not one of the columns {list(columns)}")
    steps: list[Step] = []
    seen: dict[str, str] = {}
    for section, is_finally in (("steps", False), ("finally", True)):
        for i, raw in enumerate(doc.get(section, [])):
            where = f"{section}[{i}] ({raw['id']})"
            if raw["id"] in seen:
                raise _fail(name, f"{where}.id", f"duplicate step id (first at {seen[raw['id']]})")
            seen[raw["id"]] = f"{section}[{i}]"
            step = _step(raw, where, name, is_finally)
            problem = step_problem(step, steps, registry, MANUAL_ACTION)
            if problem is not None:
                raise _fail(name, f"{where}.{problem[0]}", problem[1])
            steps.append(step)
    return Playbook(
        id=doc["id"],
        title=doc["title"],
        description=doc.get("description", "").strip(),
        columns=columns,
        key=key,
        params=params,
        steps=tuple(s for s in steps if not s.is_finally),
        finally_steps=tuple(s for s in steps if s.is_finally),
        source=text,
        source_name=name,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        report_columns=tuple(doc.get("report", {}).get("columns", ())),
        report_run_outputs=tuple(doc.get("report", {}).get("run_outputs", ())),
    )


@dataclass(frozen=True)
class PlaybookSource:
    """Where a playbook lives: shipped with the package or in the user's directory."""

    id: str
    origin: str  # "builtin" or the user's directory
    name: str
    text: str


def _read_text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None


def discover(user_dirs: Iterable[Path] = ()) -> dict[str, PlaybookSource]:
    """Playbook id -> source; a user's directory may shadow a shipped playbook of the same id.

    The id is the file's `id` when it parses, else the file name (so a broken file is still
    listed and its error reported when someone asks for it).
    """
    found: dict[str, PlaybookSource] = {}
    folder = resources.files("scimrecon") / "playbooks"
    entries: list[tuple[str, str, bytes]] = sorted(
        ("builtin", item.name, item.read_bytes())
        for item in folder.iterdir()
        if item.name.endswith(".toml")
    )
    for directory in user_dirs:
        if not directory.is_dir():
            raise InputError(f"{directory}: playbook directory not found")
        entries += sorted(
            (str(directory), p.name, read_document(p, str(p))) for p in directory.glob("*.toml")
        )
    for origin, name, data in entries:
        text = _read_text(data, name)
        try:
            pid = load_toml(text, name).get("id")
        except (tomllib.TOMLDecodeError, InputError):
            pid = None
        pid = pid if isinstance(pid, str) and pid else Path(name).stem
        found[pid] = PlaybookSource(id=pid, origin=origin, name=name, text=text)
    return found


def load_playbook(
    ref: str, registry: ActionRegistry | None, user_dirs: Iterable[Path] = ()
) -> Playbook:
    """A playbook by id (shipped or in `user_dirs`) or by path to a `.toml` file."""
    path = Path(ref)
    if ref.endswith(".toml") or path.is_file() or ("/" in ref and path.exists()):
        if not path.exists():
            raise InputError(f"{ref}: playbook file not found")
        data = read_document(path, ref)
        return parse_playbook(_read_text(data, path.name), path.name, registry)
    sources = discover(user_dirs)
    if ref not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise InputError(f"unknown playbook {ref!r} (known: {known})")
    return parse_playbook(sources[ref].text, sources[ref].name, registry)
