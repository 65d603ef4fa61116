"""What a terminal gets that a pipe does not: tables fitted to its width, states in colour.

Only human output on a terminal changes. Piped output (`> file`, `| grep`) stays whole and
plain, so nothing is lost to a narrow window, and `--format json|csv` never passes through
here. `NO_COLOR` (https://no-color.org) turns colour off; `COLUMNS` overrides the width, as
for every other terminal program.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Any

import click
from wcwidth import wcswidth, wcwidth

ELLIPSIS = "…"
_GAP = 2  # tabulate's "simple" format puts two spaces between columns
_FLOOR = 6  # no column shrinks below this (or its natural width, when narrower)
_PROSE = 24  # the last column (prose) wraps no narrower than this, or a quarter of the width
# cells that are never shortened: dates, times, numbers and amounts
_FIXED = re.compile(r"-?[\d.,:]+|\d{4}-\d\d-\d\d(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?|")

# A state word, wherever a table shows one as a whole cell, and its colour (decision 78).
_STATE_STYLES: dict[str, dict[str, Any]] = {
    "done": {"fg": "green"},
    "completed": {"fg": "green"},
    "failed": {"fg": "red", "bold": True},
    "error": {"fg": "red", "bold": True},
    "refused": {"fg": "red", "bold": True},
    "aborted": {"fg": "red"},
    "incomplete": {"fg": "magenta", "bold": True},
    "waiting": {"fg": "yellow"},
    "running": {"fg": "yellow"},
    "skipped": {"fg": "cyan"},
    "skip": {"fg": "cyan"},
    "n/a": {"dim": True},
}


def isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def width(stream: Any = None) -> int | None:
    """The terminal's width in columns when `stream` (stdout) is a terminal, else None (then
    nothing is fitted)."""
    if not isatty(sys.stdout if stream is None else stream):
        return None
    return max(20, shutil.get_terminal_size().columns)


def colour_wanted(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything non-empty."""
    return not os.environ.get("NO_COLOR") and isatty(sys.stdout if stream is None else stream)


def colour_state(value: Any) -> Any:
    """A cell that is exactly a state word, in its colour (when colour is wanted)."""
    style = _STATE_STYLES.get(value) if isinstance(value, str) else None
    if style is None or not colour_wanted():
        return value
    return click.style(value, **style)


def columns_of(text: str) -> int:
    """The terminal columns `text` takes (wcwidth): a wide character (Chinese, Japanese,
    Korean) two, a combining mark (the tone marks of a Yoruba name) none. Text holding a
    control character has no defined width: its length stands in."""
    taken = wcswidth(text)
    return taken if taken >= 0 else len(text)


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` columns, the cut shown by an ellipsis (a character never split,
    its combining marks kept with it)."""
    if columns_of(text) <= limit:
        return text
    kept, used = [], 0
    for char in text:
        used += max(wcwidth(char), 0)
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS


def _head(word: str, room: int) -> str:
    """The longest start of `word` that takes at most `room` columns (its combining marks kept
    with their letter); at least one character, so a cut always moves on."""
    used, end = 0, 0
    for end, char in enumerate(word, 1):
        used += max(wcwidth(char), 0)
        if used > room:
            end -= 1
            break
    end = max(end, 1)
    while end < len(word) and wcwidth(word[end]) == 0:  # a mark goes with its letter
        end += 1
    return word[:end]


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """`text` on lines of at most `width` columns (textwrap's rule, in columns: broken at
    whitespace, a word wider than a line cut); the first line keeps `text`'s own indent, the
    others start with `indent`."""
    lines: list[str] = []
    line = text[: len(text) - len(text.lstrip())]  # the first line's own indent
    for word in text.split():
        joined = f"{line} {word}" if line.strip() else line + word
        if columns_of(joined) <= width:
            line = joined
            continue
        if line.strip():
            lines.append(line)
            line = indent
        while word and columns_of(line + word) > width:  # alone on its line and still too wide
            head = _head(word, width - columns_of(line))
            lines.append(line + head)
            word, line = word[len(head) :], indent
        line += word
    if line.strip():
        lines.append(line)
    return lines


def _cap(natural: list[int], floors: list[int], room: int) -> int:
    """The largest width C such that every column capped at C (never below its floor) fits in
    `room`: the widest columns give way first, narrow ones keep their natural width."""
    low, high = 1, max(natural, default=1)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(max(min(n, mid), f) for n, f in zip(natural, floors, strict=True)) <= room:
            low = mid
        else:
            high = mid - 1
    return low


_BREAKS = re.compile(r"(?<=[-_ ])")  # a header wraps after a space, a hyphen or an underscore


def _words(header: str) -> int:
    """The narrowest column a header allows once wrapped at its break points."""
    return max((len(w.strip()) for w in _BREAKS.split(header)), default=0)


def _wrap_header(header: str, width: int) -> str:
    """`header` on lines of at most `width`: packed at break points, a longer piece cut."""
    lines: list[str] = []
    for piece in _BREAKS.split(header):
        while len(piece.strip()) > width:  # no break point left: cut the word
            lines.append(piece[:width])
            piece = piece[width:]
        if lines and len(lines[-1] + piece.rstrip()) <= width:
            lines[-1] += piece
        else:
            lines.append(piece)
    return "\n".join(line.strip() for line in lines if line.strip())


def _widths(cells: list[int], words: list[int], fixed: list[bool], room: int) -> list[int]:
    """Column widths that fit `room`, giving up as little as possible, in order: headers wrap
    at spaces and hyphens (`words`); the last column (prose) wraps down to a readable width;
    headers break inside a word, down to their data's width; only then do the other columns
    give way, widest first, never a `fixed` one (a date or a number cut short means nothing).
    """
    natural = [max(c, w) for c, w in zip(cells, words, strict=True)]
    if sum(natural) <= room:
        return natural
    *others, whole = natural
    prose = min(whole, max(_PROSE, room // 4))
    if sum(others) + prose > room:
        keep = [max(c, min(w, _FLOOR)) for c, w in zip(cells, words, strict=True)][:-1]
        if sum(keep) + prose <= room:
            cap = _cap(others, keep, room - prose)
            others = [max(min(n, cap), f) for n, f in zip(others, keep, strict=True)]
        else:
            floors = [k if fixed[i] else min(k, _FLOOR) for i, k in enumerate(keep)]
            if sum(floors) + prose > room:  # many columns (a step each): down to their data
                floors = [
                    k if fixed[i] else min(k, _FLOOR, max(cells[i], 3)) for i, k in enumerate(keep)
                ]
            cap = _cap(keep, floors, room - prose)
            others = [max(min(n, cap), f) for n, f in zip(keep, floors, strict=True)]
    return [*others, min(whole, max(prose, room - sum(others)))]


def fit(
    rows: list[list[Any]], headers: list[str], columns: int
) -> tuple[list[list[Any]], list[str], list[int]]:
    """Rows and headers for a table no wider than `columns` (laid out without tabulate's
    header padding, see render.table), giving up as little as it can (see `_widths`).

    A column empty in every row is left out; the last column (a summary, a reason, a plan
    line: prose) wraps onto more lines; any other cell too long for its column is shortened
    with an ellipsis. Returns the rows, the headers and the indexes of the columns kept.
    """
    count = len(headers)
    cells = [0] * count
    fixed = [bool(rows)] * count
    for row in rows:
        for i, value in enumerate(row[:count]):
            text = str(value)
            cells[i] = max(cells[i], columns_of(text))
            fixed[i] = fixed[i] and (not isinstance(value, str) or bool(_FIXED.fullmatch(text)))
    whole = sum(max(c, columns_of(h)) for c, h in zip(cells, headers, strict=True))
    if whole + _GAP * (count - 1) <= columns:
        return rows, headers, list(range(count))
    keep = [i for i in range(count) if cells[i] or not rows]
    rows = [[row[i] for i in keep] for row in rows]
    headers = [headers[i] for i in keep]
    cells = [cells[i] for i in keep]
    fixed = [fixed[i] for i in keep]
    room = columns - _GAP * (len(keep) - 1)
    widths = _widths(cells, [_words(h) for h in headers], fixed, room)
    last = len(keep) - 1
    fitted = [
        [
            shorten(v, widths[i]) if isinstance(v, str) and i != last else v
            for i, v in enumerate(row)
        ]
        for row in rows
    ]
    if keep and widths[last] < cells[last]:
        for row in fitted:
            if isinstance(row[last], str):
                row[last] = "\n".join(wrap(row[last], widths[last]) or [""])
    heads = [
        _wrap_header(h, max(w, 1)) if len(h) > w else h
        for h, w in zip(headers, widths, strict=True)
    ]
    return fitted, heads, keep


def fit_text(text: str, stream: Any = None) -> str:
    """Every line of `text` longer than the terminal wrapped (continuation lines indented two
    more than the line's own indent); tables already fit, so only prose moves. Unchanged when
    `stream` (stdout) is not a terminal."""
    columns = width(stream)
    if columns is None:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if columns_of(line) <= columns:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out += wrap(line, columns, indent + "  ") or [line]
    return "\n".join(out)
