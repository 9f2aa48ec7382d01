"""Which languages are written in a script, and in which countries they are used, from
CLDR (the Unicode Common Locale Data Repository) as ``babel`` ships it.

A language counts in a country (``counts_in``) when CLDR says it is **official** or
**de facto official** there, whatever the share of speakers; or **official in a
region** and spoken by at least ``REGIONAL_MIN_PERCENT`` of the population (German in
Belgium, Catalan in Spain, not Ukrainian in Serbia's Vojvodina at 0 %).  A language
with no official status never counts: CLDR's share counts second-language speakers too
(German 71 % in the Netherlands, Russian 80 % in Lithuania), and knowing a language is
not writing the shop signs in it.
"""

from __future__ import annotations

from functools import cache, lru_cache

REGIONAL_MIN_PERCENT = 10.0
NATIONAL = ("official", "de_facto_official")
REGIONAL = "official_regional"

# The script a letter belongs to (scripts.py) -> the CLDR script codes of languages
# written with it.  Han letters alone may be Chinese or Japanese; with kana they are
# Japanese, with Hangul Korean (analysis.py makes those writings).
CLDR_SCRIPTS = {
    "Latin": ("Latn",), "Cyrillic": ("Cyrl",), "Greek": ("Grek",), "Arabic": ("Arab",),
    "Hebrew": ("Hebr",), "Devanagari": ("Deva",), "Bengali": ("Beng",),
    "Gurmukhi": ("Guru",), "Gujarati": ("Gujr",), "Oriya": ("Orya",), "Tamil": ("Taml",),
    "Telugu": ("Telu",), "Kannada": ("Knda",), "Malayalam": ("Mlym",),
    "Sinhala": ("Sinh",), "Thai": ("Thai",), "Lao": ("Laoo",), "Tibetan": ("Tibt",),
    "Myanmar": ("Mymr",), "Georgian": ("Geor",), "Armenian": ("Armn",),
    "Ethiopic": ("Ethi",), "Khmer": ("Khmr",), "Mongolian": ("Mong",), "Thaana": ("Thaa",),
    "Tifinagh": ("Tfng",), "Syriac": ("Syrc",), "NKo": ("Nkoo",), "Cherokee": ("Cher",),
    "Canadian Syllabics": ("Cans",), "Han": ("Hans", "Hant", "Jpan"),
    "Japanese": ("Jpan",), "Korean": ("Kore",),
}


def _global(key: str):
    from babel.core import get_global

    return get_global(key)


def base_of(language: str) -> str:
    """``sr_Latn`` -> ``sr``: CLDR names a second writing of a language with its script."""
    return language.split("_", 1)[0]


@cache
def script_of_language(language: str) -> str:
    """The CLDR script a language (``pl``, ``sr_Latn``) is written in: its own script
    subtag, else the likely one (``pl`` -> ``pl_Latn_PL``)."""
    parts = language.split("_")
    if len(parts) > 1 and len(parts[1]) == 4:
        return parts[1]
    likely = _global("likely_subtags").get(parts[0], "")
    pieces = likely.split("_")
    return pieces[1] if len(pieces) > 1 and len(pieces[1]) == 4 else ""


def counts_in(info: dict) -> bool:
    """Whether a language with this CLDR territory record counts in the country."""
    status = info.get("official_status")
    share = info.get("population_percent") or 0.0
    return status in NATIONAL or (status == REGIONAL and share >= REGIONAL_MIN_PERCENT)


@lru_cache(maxsize=1)
def territories_by_language() -> dict[str, tuple[str, ...]]:
    """CLDR language key (``pl``, ``sr_Latn``) -> the territories where it counts."""
    out: dict[str, list[str]] = {}
    for territory, languages in _global("territory_languages").items():
        for language, info in languages.items():
            if counts_in(info):
                out.setdefault(language, []).append(territory)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def languages_in_scripts(cldr_scripts) -> tuple[str, ...]:
    """The languages that count somewhere and are written in one of ``cldr_scripts``."""
    wanted = set(cldr_scripts)
    return tuple(sorted(k for k in territories_by_language()
                        if script_of_language(k) in wanted))


def languages_named(code: str) -> tuple[str, ...]:
    """The CLDR keys of an ISO 639 code a person typed (``sr`` -> ``sr``, ``sr_Latn``;
    ``sr-Latn`` -> ``sr_Latn``); empty when CLDR knows it official nowhere."""
    wanted = code.strip().replace("-", "_")
    keys = territories_by_language()
    if "_" in wanted:
        return tuple(k for k in keys if k.casefold() == wanted.casefold())
    return tuple(sorted(k for k in keys if base_of(k).casefold() == wanted.casefold()))


@cache
def language_name(language: str) -> str:
    """English name of a CLDR language key: ``sr_Latn`` -> "Serbian (Latin)"."""
    from babel import Locale

    names = Locale("en").languages
    base = names.get(base_of(language), base_of(language))
    if "_" in language:
        script = Locale("en").scripts.get(language.split("_", 1)[1], language.split("_")[1])
        return f"{base} ({script})"
    return names.get(language, base)


def official_language_choices() -> tuple[tuple[str, str], ...]:
    """(code, English name) of every language that counts somewhere, by name: what a
    picker lists (second writings such as ``sr_Latn`` are in their base code)."""
    bases = {base_of(k) for k in territories_by_language()}
    return tuple(sorted(((b, language_name(b)) for b in bases), key=lambda p: p[1]))
