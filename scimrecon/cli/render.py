"""Rendering shared by the analysis commands: tables (tabulate), JSON and CSV, sparklines.

One place decides how a table, a JSON document or a CSV looks, so every command that takes
`--format table|json|csv` behaves the same and the JSON stays a stable contract.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click
import tabulate as tabulate_module
from tabulate import tabulate

from scimrecon import spreadsheet
from scimrecon.cli import terminal
from scimrecon.errors import InputError

if TYPE_CHECKING:
    from scimrecon.config import Profile

FORMATS = ("table", "json", "csv")

_BARS = "▁▂▃▄▅▆▇█"


def to_json(data: Any) -> str:
    """Indented, key order kept, non-ASCII kept (names are people's names)."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _cell(value: Any) -> Any:
    """A cell fit for one terminal line: line breaks become spaces and other control
    characters (an ANSI escape in a display name) are shown escaped, never interpreted; a
    list is its items, comma-separated (a profile's domains, not a Python tuple)."""
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    if not isinstance(value, str):
        return value
    flat = " ".join(value.splitlines()) if ("\n" in value or "\r" in value) else value
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], flat)


# one encoder for every array item: json.dumps with options builds a new one per call
_ITEM_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str, separators=(", ", ": "))


def json_chunks(data: Any, indent: int = 0) -> Iterator[str]:
    """JSON text in pieces, for documents too big to build as one string.

    Objects are indented like `to_json`; the items of an array are written one per line in
    compact form (by the C encoder, or by the item's own `json_text()` when it has one: a
    Candidate), and an iterator is written as an array without ever being held whole. The
    result parses to the same value as `to_json(data)`.
    """
    pad = "  " * indent
    if isinstance(data, Mapping):
        if not data:
            yield "{}"
            return
        yield "{"
        first = True
        for key, value in data.items():
            yield ("\n" if first else ",\n") + pad + "  " + json.dumps(str(key)) + ": "
            first = False
            yield from json_chunks(value, indent + 1)
        yield "\n" + pad + "}"
    elif isinstance(data, list | tuple) or (
        isinstance(data, Iterable) and not isinstance(data, str | bytes)
    ):
        first = True
        for item in data:
            as_text = getattr(item, "json_text", None)  # an item that encodes itself
            text = as_text() if as_text is not None else _ITEM_ENCODER.encode(item)
            yield ("[\n" if first else ",\n") + pad + "  " + text
            first = False
        yield "[]" if first else "\n" + pad + "]"
    else:
        yield json.dumps(data, ensure_ascii=False, default=str)


def echo_json(data: Any) -> None:
    """Write `data` as JSON to stdout in batches (see json_chunks), then a newline."""
    batch: list[str] = []
    for chunk in json_chunks(data):
        batch.append(chunk)
        if len(batch) >= 2000:
            click.echo("".join(batch), nl=False)
            batch.clear()
    batch.append("\n")
    click.echo("".join(batch), nl=False)


def table(
    rows: Iterable[Sequence[Any]], headers: Sequence[str], *, right: Iterable[int] = ()
) -> str:
    """A plain table; empty tables still show their headers so a blank result is visible.

    Numbers are right-aligned by their Python type (or because the caller says so with
    `right`), never by guessing from text, so an account id that looks like a number stays as
    written. On a terminal the table fits its width (see `terminal.fit`) and states are in
    colour; piped, it is printed whole and plain (full values: `--format json|csv`).
    """
    data = [[_cell(v) for v in r] for r in rows]
    forced = set(right)
    numeric = [
        i in forced or (bool(data) and all(isinstance(r[i], int | float | Decimal) for r in data))
        for i in range(len(headers))
    ]
    align = ["right" if n else "left" for n in numeric]
    width = terminal.width()
    if width is None:
        return tabulate(
            data, headers=list(headers), tablefmt="simple", disable_numparse=True, colalign=align
        )
    data, heads, kept = terminal.fit(data, list(headers), width)
    data = [[terminal.colour_state(v) for v in r] for r in data]
    # On a terminal a column is as wide as its widest line, header included: tabulate's two
    # extra columns of header padding would undo the fitting.
    padding, tabulate_module.MIN_PADDING = tabulate_module.MIN_PADDING, 0
    try:
        return tabulate(
            data,
            headers=heads,
            tablefmt="simple",
            disable_numparse=True,
            colalign=[align[i] for i in kept],
        )
    finally:
        tabulate_module.MIN_PADDING = padding


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column block for summaries (label, value)."""
    return tabulate([(k, _cell(v)) for k, v in pairs], tablefmt="plain", disable_numparse=True)


def to_csv(rows: Iterable[Mapping[str, Any] | Sequence[Any]], headers: Sequence[str]) -> str:
    """CSV for `--format csv`: formula-like text cells neutralised (see scimrecon.spreadsheet)."""
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(headers)
    for row in rows:
        if isinstance(row, Mapping):
            writer.writerow(["" if row.get(h) is None else row.get(h) for h in headers])
        else:
            writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, lowest to highest; a gap for a missing value."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    chars = []
    for v in values:
        if v is None:
            chars.append(" ")
        elif span == 0:
            chars.append(_BARS[3])
        else:
            chars.append(_BARS[round((v - low) / span * (len(_BARS) - 1))])
    return "".join(chars)


def echo_output(
    fmt: str,
    *,
    as_json: Callable[[], Any],
    as_csv: Callable[[], str],
    as_table: Callable[[], str],
    stream: bool = False,
) -> None:
    """Print a command's result in the `--format` asked for.

    Each rendering is a callable, so only the one asked for is built (a table over a large
    export is not free). `stream` writes the JSON in pieces (see json_chunks), for documents
    too big to hold as one string; CSV already ends with its own newline.
    """
    if fmt == "json":
        if stream:
            echo_json(as_json())
        else:
            click.echo(to_json(as_json()))
    elif fmt == "csv":
        click.echo(as_csv(), nl=False)
    else:
        click.echo(terminal.fit_text(as_table()))


# -- profile defaults for the analysis options ------------------------------------------------


def load_profile(obj: object) -> Profile | None:
    """The profile if one applies (--profile, $SCIMRECON_PROFILE, ./scimrecon.toml, ...).

    Analysis works from files alone, so having no profile is fine; a profile that is named but
    broken is still an error.
    """
    from scimrecon.config import Profile, resolve_profile_path

    explicit = getattr(obj, "profile", None)
    try:
        path = resolve_profile_path(explicit)
    except InputError:
        return None
    return Profile.load(path)


def org_domains(given: Iterable[str], profile: Profile | None) -> tuple[str, ...]:
    """The org's domains: --domain if given, else the profile's [atlassian] domains when the
    profile format has them (a user counts as managed when the email is on one of them)."""
    chosen = tuple(d for d in given if d.strip())
    if chosen or profile is None or profile.atlassian is None:
        return chosen
    return tuple(getattr(profile.atlassian, "domains", None) or ())


def org_sites(given: Iterable[str], profile: Profile | None) -> frozenset[str] | None:
    """The sites the org manages: --site if given, else the profile's [atlassian] sites; None
    when neither says (then access on other sites cannot be told apart, and is not flagged)."""
    chosen = [s.strip().lower() for s in given if s.strip()]
    if not chosen and profile is not None and profile.atlassian is not None:
        chosen = list(getattr(profile.atlassian, "sites", None) or ())
    return frozenset(chosen) if chosen else None
