"""Which languages are written in a script, and in which countries they are used, from
CLDR (the Unicode Common Locale Data Repository) as ``babel`` ships it.

A language counts in a country (``counts_in``) when CLDR gives it **any official
status** there: official, de facto official, or official in a region (Catalan, Galician
and Basque in Spain, Hungarian in Serbia's Vojvodina), whatever the share of speakers.
The clue keeps only its countries, so leaving out the true one is worse than keeping a
neighbour: no share threshold (CLDR's shares count second-language speakers, so they
measure knowing a language, not writing signs in it).  A language with no official
status never counts (German 71 % in the Netherlands, Russian 80 % in Lithuania).

``OFFICIAL_ELSEWHERE`` adds the few regional or co-official uses CLDR lacks, each with
the law that makes it official (German in South Tyrol, Serbian in Montenegro...).
"""

from __future__ import annotations

from functools import cache, lru_cache

OFFICIAL = ("official", "de_facto_official", "official_regional")

# (CLDR language key, territory): official uses CLDR's territory data lacks, each with
# its legal source.  Only added, never removed.
OFFICIAL_ELSEWHERE: tuple[tuple[str, str, str], ...] = (
    ("de", "IT", "Statute of Autonomy of Trentino-South Tyrol (DPR 670/1972), art. 99: "
                 "German equal to Italian in the region"),
    ("sl", "IT", "Law 38/2001 on the Slovene minority of Friuli Venezia Giulia: public "
                 "use and bilingual signs"),
    ("sr", "ME", "Constitution of Montenegro (2007), art. 13: Serbian, Bosnian, Albanian "
                 "and Croatian in official use; Cyrillic and Latin equal"),
    ("bs", "ME", "Constitution of Montenegro (2007), art. 13"),
    ("sq", "ME", "Constitution of Montenegro (2007), art. 13"),
    ("hr", "ME", "Constitution of Montenegro (2007), art. 13"),
    ("it", "SI", "Constitution of Slovenia, art. 11: Italian official where the Italian "
                 "community lives"),
    ("hu", "SI", "Constitution of Slovenia, art. 11: Hungarian official where the "
                 "Hungarian community lives"),
    ("hu", "RO", "Law 215/2001 on local public administration: a minority language in "
                 "official use where it is over 20 % of a locality"),
    ("hu", "SK", "Act 184/1999 on the use of languages of national minorities"),
)

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
    """Whether a language with this CLDR territory record counts in the country: any
    official status, whatever the share of speakers."""
    return info.get("official_status") in OFFICIAL


@lru_cache(maxsize=1)
def territories_by_language() -> dict[str, tuple[str, ...]]:
    """CLDR language key (``pl``, ``sr_Latn``) -> the territories where it counts."""
    out: dict[str, list[str]] = {}
    for territory, languages in _global("territory_languages").items():
        for language, info in languages.items():
            if counts_in(info):
                out.setdefault(language, []).append(territory)
    for language, territory, _source in OFFICIAL_ELSEWHERE:
        if territory not in out.setdefault(language, []):
            out[language].append(territory)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def languages_in_scripts(cldr_scripts) -> tuple[str, ...]:
    """The languages that count somewhere and are written in one of ``cldr_scripts``."""
    wanted = set(cldr_scripts)
    return tuple(sorted(k for k in territories_by_language()
                        if script_of_language(k) in wanted))


def _tag_parts(code: str) -> tuple[str, str]:
    """A language tag as (language, script): ``pt-BR`` -> (pt, ""), ``sr_Latn_RS`` ->
    (sr, Latn).  Region subtags are dropped: the region is what the clue finds out."""
    parts = [p for p in code.strip().replace("-", "_").split("_") if p]
    if not parts:
        return "", ""
    script = next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), "")
    return parts[0].lower(), script


def _alias(language: str) -> str:
    """CLDR's current code for a deprecated or alias one (``tl`` -> ``fil``), else the
    code itself."""
    from babel import Locale
    from babel.core import UnknownLocaleError

    try:
        return Locale.parse(language).language
    except (ValueError, UnknownLocaleError):
        return language


def languages_named(code: str) -> tuple[str, ...]:
    """The CLDR keys of a language tag a person typed (``sr`` -> ``sr``, ``sr_Latn``;
    ``sr-Latn`` -> ``sr_Latn``; ``pt-BR`` -> ``pt``; ``tl`` -> ``fil``); empty when CLDR
    knows it official nowhere."""
    language, script = _tag_parts(code)
    keys = territories_by_language()
    if language and not any(base_of(k) == language for k in keys):
        language = _alias(language)
    if script:
        wanted = f"{language}_{script}"
        found = tuple(k for k in keys if k == wanted)
        if found or script != script_of_language(language):
            return found
        return tuple(k for k in keys if k == language)  # sr-Cyrl: sr's own script
    return tuple(sorted(k for k in keys if base_of(k) == language))


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


@lru_cache(maxsize=1)
def official_language_choices() -> tuple[tuple[str, str], ...]:
    """(code, English name) of every language that counts somewhere, by name: what a
    picker lists (second writings such as ``sr_Latn`` are in their base code).  Codes
    CLDR has no English name for (``wni``, ``zdj``) are left out of the list; typed,
    they still work."""
    from babel import Locale

    names = Locale("en").languages
    bases = {base_of(k) for k in territories_by_language()} & set(names)
    return tuple(sorted(((b, language_name(b)) for b in bases), key=lambda p: p[1]))
