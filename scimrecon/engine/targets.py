"""Target lists (CSV or JSON): decoding, validation, and messages that point at the line.

A target list is usually exported from a spreadsheet or another tool, so it arrives in odd
encodings, with blank rows, stray spaces and the same person twice in different case. Each of
those is refused with `file:line: what is wrong` before anything runs, because a duplicate or a
half-read file is exactly how one person gets processed twice or not at all.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from scimrecon.errors import InputError, RefusedError
from scimrecon.identity import identity_key, key_problem
from scimrecon.limits import check_columns, parse_json, read_document
from scimrecon.spreadsheet import restore

DEFAULT_MAX_TARGETS = 500


@dataclass(frozen=True)
class Target:
    key: str
    row: dict[str, Any]
    line: int


@dataclass(frozen=True)
class TargetList:
    name: str
    targets: tuple[Target, ...]
    digest: str

    def __len__(self) -> int:
        return len(self.targets)


def decode(data: bytes, name: str) -> str:
    """Text from bytes: UTF-8 (with or without BOM) or UTF-16 with a BOM; nothing else.

    Guessing a legacy code page would silently turn `é` into something else and the email
    would not match anyone, so anything else is refused with advice.
    """
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise InputError(f"{name}: UTF-32 is not supported; save the file as UTF-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: broken UTF-16 text at byte {exc.start}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8 (or UTF-16 with a BOM)"
        ) from None


def _is_identity(column: str, value: str) -> bool:
    """Whether a column holds emails or userNames (compared and vetted by the identity rule)."""
    return "mail" in column.lower() or "user" in column.lower() or "@" in value


def _fold(column: str, value: str) -> str:
    """Emails (and user names) compare by the identity rule: Ada@ and ada@ are one person."""
    return identity_key(value) if _is_identity(column, value) else value


def _vet(name: str, line: int, column: str, value: str) -> None:
    """Refuse an address a person cannot read reliably, or that is no address at all.

    A look-alike (`ſamir` for `samir`, a Cyrillic `ѕ`, a zero-width space) would otherwise be
    looked up and, wherever a remote compares loosely, act on somebody else.
    """
    if not _is_identity(column, value):
        return
    problem = key_problem(value)
    if problem is not None:
        raise InputError(f"{name}:{line}: {column} {value!r}: {problem}")


def _csv_rows(text: str, name: str, required: list[str]) -> Iterable[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{name}: empty file (expected a header row)") from None
    except csv.Error as exc:
        raise InputError(f"{name}:1: {exc}") from None
    columns = [restore(c).strip() for c in header]
    check_columns(len(columns), name)
    if not any(columns):
        raise InputError(f"{name}:1: empty header row")
    for i, col in enumerate(columns):
        if not col:
            raise InputError(f"{name}:1: column {i + 1} has no name")
        if col in columns[:i]:
            raise InputError(f"{name}:1: column {col!r} appears twice")
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(f"{name}:1: missing column {missing[0]!r} (found: {', '.join(columns)})")
    rows: list[tuple[int, list[str]]] = []
    last = reader.line_num
    while True:
        start = last + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"{name}:{start}: {exc}") from None
        last = reader.line_num
        rows.append((start, cells))
    while rows and not any(c.strip() for c in rows[-1][1]):  # trailing blank lines
        rows.pop()
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            raise InputError(f"{name}:{line}: empty row")
        if len(cells) > len(columns):
            raise InputError(
                f"{name}:{line}: {len(cells)} values but the header has {len(columns)} columns"
            )
        padded = [*cells, *[""] * (len(columns) - len(cells))]
        # Undo the spreadsheet neutralisation of our own writers (`'-x` was written for `-x`),
        # so a list from --targets-out matches the same people (see scimrecon.spreadsheet).
        yield (
            line,
            {col: restore(value).strip() for col, value in zip(columns, padded, strict=True)},
        )


@cache
def _schema() -> dict[str, Any]:
    text = (resources.files("scimrecon") / "schemas" / "targets.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _json_rows(text: str, name: str) -> Iterable[tuple[int, dict[str, Any]]]:
    decoder = json.JSONDecoder()

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    try:
        doc = parse_json(text, name)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    validator = jsonschema.Draft202012Validator(_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    # Find where each item starts so messages can name a line, as they do for CSV.
    starts: list[int] = []
    pos = text.index("[") + 1 if isinstance(doc, list) else 0
    if isinstance(doc, list):
        for _ in doc:
            while text[pos] in " \t\r\n,":
                pos += 1
            starts.append(line_of(pos))
            _, pos = decoder.raw_decode(text, pos)
    if error is not None:
        path = list(error.absolute_path)
        if path and isinstance(path[0], int):
            where = f"{name}:{starts[path[0]]}"
            field = f" field {path[1]!r}:" if len(path) > 1 else ""
            raise InputError(f"{where}:{field} {error.message}")
        raise InputError(f"{name}: {error.message}")
    for line, item in zip(starts, doc, strict=True):
        if not item or all(v in (None, "") for v in item.values()):
            raise InputError(f"{name}:{line}: empty row")
        yield line, {k.strip(): v.strip() if isinstance(v, str) else v for k, v in item.items()}


def parse_targets(
    data: bytes,
    name: str,
    *,
    columns: Iterable[str],
    key: str,
    max_targets: int = DEFAULT_MAX_TARGETS,
) -> TargetList:
    """Validate a target list against the playbook's required columns and key.

    The format is chosen by extension (`.json`, else CSV) or, for other names, by content.
    """
    text = decode(data, name)
    is_json = name.lower().endswith(".json") or (
        not name.lower().endswith(".csv") and text.lstrip().startswith("[")
    )
    required = list(columns)
    rows = _json_rows(text, name) if is_json else _csv_rows(text, name, required)
    targets: list[Target] = []
    first: dict[str, tuple[int, str]] = {}
    for line, row in rows:
        for col in required:
            if col not in row:
                raise InputError(f"{name}:{line}: missing {col!r}")
            value = row[col]
            if value is None or (isinstance(value, str) and not value):
                raise InputError(f"{name}:{line}: empty {col!r}")
        if not isinstance(row[key], str):
            # 42 is nobody's email: a key that is not text is a broken list, not a target.
            raise InputError(f"{name}:{line}: field {key!r}: {row[key]!r} is not a string")
        for column in {key, "email"}:
            value = row.get(column)
            # what a Mac tool saves decomposed (NFD) reads the same composed; only a text that
            # is wholly NFD: a Kelvin sign or an Angstrom sign is not, and stays refused
            if isinstance(value, str) and unicodedata.normalize("NFD", value) == value:
                row[column] = unicodedata.normalize("NFC", value)
        raw_key = row[key]
        _vet(name, line, key, raw_key)
        if key != "email" and isinstance(row.get("email"), str) and row["email"]:
            _vet(name, line, "email", row["email"])  # the steps act on this column
        folded = _fold(key, raw_key)
        if folded in first:
            raise InputError(
                f"{name}:{line}: duplicate target {raw_key!r} (first on line {first[folded][0]})"
            )
        first[folded] = (line, raw_key)
        targets.append(Target(key=raw_key, row=row, line=line))
    if not targets:
        raise InputError(f"{name}: no targets")
    if len(targets) > max_targets:
        raise RefusedError(
            f"{name}: {len(targets)} targets is more than --max-targets {max_targets}; "
            "raise --max-targets to go on"
        )
    digest = hashlib.sha256(
        json.dumps([t.row for t in targets], sort_keys=True, default=str).encode()
    ).hexdigest()
    return TargetList(name=name, targets=tuple(targets), digest=digest)


def load_targets(
    path: Path,
    *,
    columns: Iterable[str],
    key: str,
    max_targets: int = DEFAULT_MAX_TARGETS,
) -> TargetList:
    data = read_document(path, missing="targets file not found")
    return parse_targets(data, path.name, columns=columns, key=key, max_targets=max_targets)
