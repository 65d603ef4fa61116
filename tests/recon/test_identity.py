"""The identity rule (NFC, then lower case) and the target-key vetting, with property tests."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scimrecon.identity import (
    email_syntax_problem,
    identity_key,
    key_problem,
    matches_pattern,
    same_identity,
)
from scimrecon.recon.protect import Protector, Rule

# -- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Samir.Khan@ACME.example", "samir.khan@acme.example", True),
        ("zoe\u0301@acme.example", "zo\u00e9@acme.example", True),  # NFC joins one letter
        ("\u017famir.khan@acme.example", "samir.khan@acme.example", False),  # long s
        ("stra\u00dfe@acme.example", "strasse@acme.example", False),  # no full folding
        ("\u212aate@acme.example", "kate@acme.example", True),  # NFC maps Kelvin sign to K
        ("\ufb01ona@acme.example", "fiona@acme.example", False),  # ligature: NFKC only
        ("\uff41da@acme.example", "ada@acme.example", False),  # fullwidth: NFKC only
        ("\u0455vc-x@acme.example", "svc-x@acme.example", False),  # Cyrillic dze
        ("ada\u200b@acme.example", "ada@acme.example", False),  # zero-width space
    ],
)
def test_the_rule_on_known_pairs(a: str, b: str, same: bool) -> None:
    assert same_identity(a, b) is same
    assert (identity_key(a) == identity_key(b)) is same


def test_the_rule_is_nfc_then_lower_not_casefold() -> None:
    assert identity_key("\u017f") == "\u017f" != "\u017f".casefold()
    assert identity_key("Stra\u00dfe") == "stra\u00dfe"
    assert identity_key(None) == identity_key("") == ""


_alphabet = st.sampled_from(
    [
        *"abcsASKk.-_+@0",
        *["\u017f", "\u212a", "\ufb01", "\uff41", "\u0455", "\u0430", "\u00df", "\u00e9"],
        *["e\u0301", "\u200b", "\u202e", "\u03c3", "\u03c2", "\u0130"],
    ]
)
_texts = st.lists(_alphabet, max_size=12).map("".join)


@given(_texts)
def test_the_key_is_idempotent_and_nfc(text: str) -> None:
    key = identity_key(text)
    assert identity_key(key) == key
    assert unicodedata.is_normalized("NFC", key)


@given(_texts, _texts)
def test_same_identity_is_equality_of_keys(a: str, b: str) -> None:
    assert same_identity(a, b) == (identity_key(a) == identity_key(b)) == same_identity(b, a)


@given(_texts)
def test_case_never_matters(text: str) -> None:
    assert same_identity(text, text.upper().lower()) or text.upper().lower() != text.lower()
    assert same_identity(text, text.lower())


_locals = st.lists(
    st.sampled_from(
        [*"abcsSKk0_+", "\u00e9", "\u00c9", "\u0130", "\u0430", "\u03c3", "\u017f", "\u212a"]
    ),
    min_size=1,
    max_size=8,
).map("".join)


@settings(suppress_health_check=[HealthCheck.filter_too_much])
@given(_locals, _locals)
def test_accepted_keys_that_differ_differ_under_any_looser_folding(a: str, b: str) -> None:
    """Two keys the loader accepts are the same person under the rule exactly when they are
    under NFKC + full case folding: a server that folds more loosely cannot confuse them."""
    a, b = a + "@acme.example", b + "@acme.example"
    assume(key_problem(a) is None and key_problem(b) is None)

    def loose(s: str) -> str:
        return unicodedata.normalize("NFKC", s).casefold()

    assert same_identity(a, b) == (loose(a) == loose(b))


# -- target keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "samir.khan@acme.example",
        "Mixed.Case@Acme.Example",
        "o'brien+old-1@acme.example",
        "zo\u00eb@acme.example",
        "jos\u00e9.n\u00fa\u00f1ez@acme.example",
        "bj\u00f8rn@acme.example",
        "\u041c\u0430\u0440\u0438\u044f@acme.example",  # a real Cyrillic name: not all look-alikes
        "tanaka.\u65e5\u672c@acme.example",  # Latin + Han: TR39 highly restrictive
        "\u0928\u093f\u0915\u093f\u0932@acme.example",  # Devanagari with its vowel signs
        "f\u1eb9\u0301mi@acme.example",  # Yoruba: e with dot below, then an acute (no letter)
        "ad\u00e9\u1ecd\u0300la@acme.example",  # Yoruba, in NFC: \u00e9 is one letter
    ],
)
def test_ordinary_addresses_are_accepted(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("\u017famir.khan@acme.example", "U+017F LATIN SMALL LETTER LONG S, a variant of 's'"),
        ("\u212aate@acme.example", "U+212A KELVIN SIGN, a variant of 'K'"),
        ("\ufb01ona@acme.example", "U+FB01 LATIN SMALL LIGATURE FI, a variant of 'fi'"),
        ("\uff41da@acme.example", "U+FF41 FULLWIDTH LATIN SMALL LETTER A"),
        ("stra\u00dfe@acme.example", "which case folding turns into 'ss'"),
        ("ada\u200b@acme.example", "U+200B ZERO WIDTH SPACE, which is invisible"),
        ("ad\u202ea@acme.example", "U+202E RIGHT-TO-LEFT OVERRIDE, which is invisible"),
        ("ada\ufe0f@acme.example", "U+FE0F VARIATION SELECTOR-16, which is invisible"),
        ("zoe\u0301@acme.example", "decomposed accents"),
        ("\u0455vc-backup@acme.example", "mixes Cyrillic and Latin letters (U+0455"),
        ("p\u03b1ypal@acme.example", "mixes Greek and Latin letters"),
        (
            "sam\u0131r.khan@acme.example",
            "U+0131 LATIN SMALL LETTER DOTLESS I, which looks like 'i'",
        ),
        ("\u0251da@acme.example", "U+0251 LATIN SMALL LETTER ALPHA, which looks like 'a'"),
        # the review of session 6: every small capital, and a mark NFC cannot join
        ("x\u0276y@acme.example", "U+0276 LATIN LETTER SMALL CAPITAL OE, a small capital"),
        ("x\ua7aey@acme.example", "U+A7AE LATIN CAPITAL LETTER SMALL CAPITAL I"),
        ("i\u0307van@acme.example", "U+0307 COMBINING DOT ABOVE on a Latin letter, a mark"),
        ("a\u0338da@acme.example", "U+0338 COMBINING LONG SOLIDUS OVERLAY on a Latin letter"),
        ("\u00e1\u0301\u0301da@acme.example", "U+0301 COMBINING ACUTE ACCENT on a Latin"),
        # trial 6, finding 7: a small capital, and a letter lower case turns into two
        ("\u1d00da@acme.example", "U+1D00 LATIN LETTER SMALL CAPITAL A, which looks like 'a'"),
        (
            "\u0130van@acme.example",
            "U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE, which lower case turns into 2 "
            "characters ('i\u0307'): ambiguous",
        ),
        ("\u0440\u0430\u0443\u0440\u0430@acme.example", "Cyrillic letters that all look like"),
        ("not-an-email", "not an email address (expected exactly one @)"),
        ("@acme.example", "nothing before the @"),
        ("ada@", "no domain after the @"),
        ("ada@acme", "has no dot"),
        ("ada@acm\u00e9.example", "is not ASCII: write it in its ASCII (xn--) form"),
        (".ada@acme.example", "starts or ends with a dot"),
        ("<class 'str'>@acme.example", "U+0020 SPACE, which is a space"),
        ("<ada>@acme.example", "'<' is not allowed"),
    ],
)
def test_unreadable_or_invalid_keys_are_refused_with_the_reason(key: str, says: str) -> None:
    problem = key_problem(key)
    assert problem is not None and says in problem, problem


def test_email_syntax_is_a_separate_check_the_simulator_uses() -> None:
    assert (
        email_syntax_problem("<class'str'>@acme.example")
        == "'<' is not allowed in an email address"
    )
    assert email_syntax_problem("a+old-1@acme.example") is None
    assert email_syntax_problem("a@-acme.example") is not None
    assert email_syntax_problem("a@acme.123") is not None


@given(st.text(max_size=40))
def test_key_vetting_never_crashes_and_accepts_only_stable_keys(text: str) -> None:
    if key_problem(text) is None:
        assert unicodedata.normalize("NFKC", text) == text
        assert text.casefold() == text.lower()
        assert len(text.lower()) == len(text)
        assert email_syntax_problem(text) is None


# -- protect patterns ---------------------------------------------------------------------------


def test_protect_patterns_match_on_the_normalised_form() -> None:
    assert matches_pattern("SVC-Backup@Acme.Example", "svc-*")
    assert matches_pattern("svc-backup@acme.example", "SVC-*")
    assert not matches_pattern("\u0455vc-backup@acme.example", "svc-*")
    protector = Protector([Rule("svc-*", "--protect")])
    assert protector.match("Svc-Backup@acme.example", "abc") is not None
    assert protector.match("zoe\u0301@acme.example", "x") is None
    assert Protector([Rule("zo\u00e9@*", "f:1")]).match("zoe\u0301@acme.example", "x") is not None


@settings(max_examples=200)
@given(_texts)
def test_a_pattern_without_wildcards_matches_exactly_the_same_identities(text: str) -> None:
    assume(not any(c in text for c in "*?["))
    other = "samir.khan@acme.example"
    assert matches_pattern(text, other) == same_identity(text, other)
