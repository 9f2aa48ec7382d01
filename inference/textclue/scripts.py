"""Which scripts a text is written in, from Unicode character names.

Exact, not guessed: every letter's Unicode name starts with its script ("LATIN SMALL
LETTER L WITH STROKE", "CYRILLIC CAPITAL LETTER A", "CJK UNIFIED IDEOGRAPH-85AC").
Digits, punctuation, spaces and symbols are not letters and are left out of the shares.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

OTHER = "Other"
# Unicode name prefix -> script name; longer prefixes first where one starts another
_PREFIXES = (
    ("HALFWIDTH KATAKANA", "Katakana"), ("FULLWIDTH LATIN", "Latin"),
    ("KATAKANA-HIRAGANA", "Katakana"), ("CJK", "Han"), ("LATIN", "Latin"),
    ("CYRILLIC", "Cyrillic"), ("GREEK", "Greek"), ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"), ("DEVANAGARI", "Devanagari"), ("BENGALI", "Bengali"),
    ("GURMUKHI", "Gurmukhi"), ("GUJARATI", "Gujarati"), ("ORIYA", "Oriya"),
    ("TAMIL", "Tamil"), ("TELUGU", "Telugu"), ("KANNADA", "Kannada"),
    ("MALAYALAM", "Malayalam"), ("SINHALA", "Sinhala"), ("THAI", "Thai"), ("LAO", "Lao"),
    ("TIBETAN", "Tibetan"), ("MYANMAR", "Myanmar"), ("GEORGIAN", "Georgian"),
    ("ARMENIAN", "Armenian"), ("ETHIOPIC", "Ethiopic"), ("KHMER", "Khmer"),
    ("MONGOLIAN", "Mongolian"), ("THAANA", "Thaana"), ("TIFINAGH", "Tifinagh"),
    ("SYRIAC", "Syriac"), ("NKO", "NKo"), ("CHEROKEE", "Cherokee"),
    ("CANADIAN SYLLABICS", "Canadian Syllabics"), ("HANGUL", "Hangul"),
    ("HIRAGANA", "Hiragana"), ("KATAKANA", "Katakana"),
)


@dataclass(frozen=True)
class ScriptShare:
    """``letters`` of the text's letters are in ``script``: ``share`` of them (0..1)."""

    script: str
    letters: int
    share: float


def script_of(char: str) -> str | None:
    """The script of one letter, ``OTHER`` for a letter of a script not listed, None for
    anything that is not a letter (or a vowel sign, which belongs to its letter)."""
    category = unicodedata.category(char)
    if not (category.startswith("L") or category in ("Mn", "Mc")):
        return None
    name = unicodedata.name(char, "")
    for prefix, script in _PREFIXES:
        if name.startswith(prefix):
            return script
    return None if category.startswith("M") else OTHER  # a bare accent: no script


def script_shares(text: str) -> tuple[ScriptShare, ...]:
    """The share of the letters in each script, largest first (ties by name)."""
    counts = Counter(s for s in map(script_of, unicodedata.normalize("NFC", text or ""))
                     if s is not None)
    total = sum(counts.values())
    return tuple(ScriptShare(script, n, n / total)
                 for script, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
