"""The one rule that decides whether two emails or userNames name the same person.

Rule: Unicode NFC, then lower-casing (`str.lower`). Not `casefold()`: full case folding maps
`ſ` (long s) to `s` and `ß` to `ss`, so a target `ſamir.khan@...` would be the same person as
`samir.khan@...` and a run would change the wrong account. NFC only joins the two spellings of
one accented letter (`e` + combining acute = `é`); it never merges different letters.

Everything that compares identities uses `identity_key` / `same_identity` from here: the target
loader (duplicates), the SCIM connector (a directory answer that differs from the target is
never acted on), the steps, protect patterns, reconciliation and the simulator (a pure
function `sim` may import, as DESIGN.md allows).

`key_problem` is stricter than the rule: it refuses a target key that a person cannot read
reliably — characters that NFKC or full case folding turn into *other* characters (`ſ`, the
Kelvin sign, `ﬁ`, fullwidth forms, `ß`), invisible characters (zero-width, bidi controls),
letters of several scripts (Latin with Cyrillic or Greek), a Latin letter that looks like
another ASCII one (`ı`, `ɑ`), or a non-Latin name made only of letters that look Latin (Unicode
TR39's whole-script confusables), and anything that is not an email address at all. Ordinary
mixed case (`Mixed.Case@acme.example`) is fine. Script and confusable data come from
`confusable_homoglyphs` (Unicode's Scripts.txt and confusables.txt; docs/decisions.md 23),
loaded only when a key holds non-ASCII letters.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from functools import cache

#: Code points that render as nothing (Unicode's Default_Ignorable_Code_Point, less the
#: format characters that category "Cf" already covers): a target holding one looks like
#: another address on screen.
_IGNORABLE = (
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0}
    | set(range(0x180B, 0x1810))
    | set(range(0xFE00, 0xFE10))
    | set(range(0x1D173, 0x1D17B))
    | set(range(0xE0000, 0xE1000))
)
#: Categories of characters no address holds: controls, format (zero-width, bidi), spaces,
#: line/paragraph separators, private use, surrogates, unassigned.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cs", "Cn"}
#: RFC 5322 `atext` besides letters and digits (a dot-atom local part).
_ATEXT = frozenset("!#$%&'*+-/=?^_`{|}~")
_LDH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
#: Script mixes Unicode TR39 allows as "highly restrictive" (Japanese, Chinese, Korean
#: writing mixes Han with its own scripts and Latin); any other mix is refused.
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_NEUTRAL_SCRIPTS = {"COMMON", "INHERITED"}
#: Accents that languages written in Latin letters put on a letter with no precomposed form
#: (Yoruba `ẹ́`, Lithuanian dictionary accents, Navajo, Guarani...): visible, so allowed, at
#: most two on one letter. Any other mark on a Latin letter is refused (`_script_problem`).
_ACCENTS = frozenset(
    {0x300, 0x301, 0x302, 0x303, 0x304, 0x306, 0x308, 0x30A, 0x30B, 0x30C, 0x30F, 0x311,
     0x323, 0x324, 0x325, 0x327, 0x328, 0x32D, 0x330, 0x331}
)  # fmt: skip
#: `LATIN LETTER SMALL CAPITAL A` and its kind: the capital letter, written small
_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")


def identity_key(value: str | None) -> str:
    """The comparison form of an email or userName: NFC, then lower case."""
    return unicodedata.normalize("NFC", value or "").lower()


def same_identity(a: str | None, b: str | None) -> bool:
    """Whether two emails / userNames name the same person under the rule."""
    return identity_key(a) == identity_key(b)


def matches_pattern(value: str, pattern: str) -> bool:
    """A protect pattern (fnmatch glob) matched on the normalised forms of both sides."""
    return fnmatch.fnmatchcase(identity_key(value), identity_key(pattern))


def _show(char: str) -> str:
    name = unicodedata.name(char, "unnamed character")
    return f"U+{ord(char):04X} {name}"


def email_syntax_problem(value: str) -> str | None:
    """Why `value` is not an email address we act on, or None.

    A dot-atom local part (RFC 5322 `atext`, plus non-ASCII letters and marks as RFC 6531
    allows) and an ASCII host name of at least two labels. Quoted local parts, IP literals and
    non-ASCII domains (write them in their `xn--` form) are refused: no directory we act on
    uses them, and each is a way to make two addresses look alike.
    """
    if value.count("@") != 1:
        return "not an email address (expected exactly one @)"
    local, _, domain = value.partition("@")
    if not local:
        return "not an email address (nothing before the @)"
    if not domain:
        return "not an email address (no domain after the @)"
    if len(local.encode("utf-8")) > 64:
        return "the part before the @ is longer than 64 bytes"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before the @ starts or ends with a dot, or has two in a row"
    for char in local:
        if char.isascii():
            if not (char.isalnum() or char in _ATEXT or char == "."):
                return f"{char!r} is not allowed in an email address"
        elif unicodedata.category(char)[0] not in "LM":
            return f"{_show(char)} is not a letter: not allowed in an email address"
    if not domain.isascii():
        return f"domain {domain!r} is not ASCII: write it in its ASCII (xn--) form"
    if len(domain) > 253:
        return "the domain is longer than 253 characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"domain {domain!r} has no dot"
    for label in labels:
        if not label or len(label) > 63 or not set(label) <= _LDH:
            return f"domain {domain!r} is not a valid host name"
        if label.startswith("-") or label.endswith("-"):
            return f"domain {domain!r} has a label starting or ending with '-'"
    if labels[-1].isdigit():
        return f"domain {domain!r} is not a host name"
    return None


@cache
def _script_data() -> tuple[object, object]:
    from confusable_homoglyphs import categories, confusables

    return categories, confusables


def _script(char: str) -> str:
    categories, _ = _script_data()
    return str(categories.alias(char))  # type: ignore[attr-defined]


def _ascii_look_alike(char: str) -> str | None:
    """The ASCII letter or digit Unicode's confusables.txt says `char` looks like, if any.

    Accented letters (`é`, `ñ`) have none: they are told apart on sight; `ı`, `ɑ`, `ѕ` have.
    """
    _, confusables = _script_data()
    found = confusables.confusables_data.get(char) or ()  # type: ignore[attr-defined]
    twin = next(
        (d["c"] for d in found if len(d["c"]) == 1 and d["c"].isascii() and d["c"].isalnum()), None
    )
    if twin is None:  # a small capital is its capital, shrunk (`ᴀ`); the table pairs few
        capital = _SMALL_CAPITAL.fullmatch(unicodedata.name(char, ""))
        twin = capital.group(1).lower() if capital else None
    return twin


def _script_problem(local: str) -> str | None:
    """Mixed scripts and whole-script look-alikes in the local part (TR39, pragmatically)."""
    letters = [c for c in local if not c.isascii()]
    if not letters:
        return None
    scripts: dict[str, str] = {}
    for char in local:
        script = _script(char)
        if script not in _NEUTRAL_SCRIPTS:
            scripts.setdefault(script, char)
    if len(scripts) > 1 and not any(set(scripts) <= mix for mix in _ALLOWED_MIXES):
        names = " and ".join(s.title() for s in sorted(scripts))
        odd = next((c for s, c in scripts.items() if s != "LATIN"), letters[0])
        return f"mixes {names} letters ({_show(odd)}): a look-alike of another address"
    previous, marks = "", 0
    for char in local:
        if not char.isascii() and _script(char) == "LATIN":
            twin = _ascii_look_alike(char)
            if twin is not None:
                return (
                    f"holds {_show(char)}, which looks like {twin!r}: a look-alike of another "
                    "address"
                )
            if "SMALL CAPITAL" in unicodedata.name(char, ""):  # phonetic: no name is written so
                return f"holds {_show(char)}, a small capital: a look-alike of another address"
        if unicodedata.category(char) in ("Mn", "Me"):
            marks += 1
            base = previous.isascii() or _script(previous) == "LATIN"
            if base and (ord(char) not in _ACCENTS or marks > 2):
                # an overlay, a dot above (`i` + U+0307 is `i` to the eye), a combining letter
                # or a pile of marks: drawn so that two addresses can look the same
                return (
                    f"holds {_show(char)} on a Latin letter, a mark that can hide it: a "
                    "look-alike of another address"
                )
            continue  # the letter the marks sit on stays `previous`
        previous, marks = char, len(unicodedata.normalize("NFD", char)) - 1
    if set(scripts) - {"LATIN"} and all(_ascii_look_alike(c) for c in letters):
        (script,) = scripts
        return (
            f"written in {script.title()} letters that all look like Latin ones "
            f"({_show(letters[0])}): a look-alike of another address"
        )
    return None


def key_problem(value: str) -> str | None:
    """Why `value` may not be a target key (an email), or None when it may.

    The order gives the most useful reason first: an invisible or look-alike character is
    named before the syntax complaint it would also cause.
    """
    for char in value:
        if ord(char) in _IGNORABLE or unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            what = "a space" if unicodedata.category(char) == "Zs" else "invisible"
            return f"holds {_show(char)}, which is {what}"
    for char in value:
        compat = unicodedata.normalize("NFKC", char)
        if compat != char:
            return f"holds {_show(char)}, a variant of {compat!r}: retype it as {compat!r}"
        if char.casefold() != char.lower():
            return (
                f"holds {_show(char)}, which case folding turns into {char.casefold()!r}: ambiguous"
            )
        if len(char.lower()) != 1:
            return (
                f"holds {_show(char)}, which lower case turns into {len(char.lower())} "
                f"characters ({char.lower()!r}): ambiguous"
            )
    if unicodedata.normalize("NFKC", value) != value:
        return "holds decomposed accents (not Unicode NFC): retype the address"
    if value.casefold() != value.lower():
        return f"case folding turns it into {value.casefold()!r}: ambiguous"
    problem = email_syntax_problem(value)
    if problem is not None:
        return problem
    return _script_problem(value.partition("@")[0])


__all__ = [
    "email_syntax_problem",
    "identity_key",
    "key_problem",
    "matches_pattern",
    "same_identity",
]
