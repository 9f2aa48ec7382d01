"""Text seen in a photo -> its scripts -> the languages written so -> their countries.

A text may hold several writings (a bilingual sign: "Аптека Pharmacy"); each narrows
the countries on its own, and the text's countries are those every informative writing
allows (the place writes both).  A writing used in more than ``MAX_COUNTRIES``
countries (Latin without distinctive letters: about 200) says too little and is left
out; when no writing is left there is no clue, and the result says why.  Languages the
person names (ISO 639) replace the inference.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional

from . import languages as cldr
from .letters import distinctive_letters, languages_of_letters
from .scripts import OTHER, ScriptShare, script_of, script_shares

# More countries than this (of the ~240 in the boundary set) is no clue: Arabic script
# without distinctive letters (30 countries) still helps, Latin (about 200) does not.
MAX_COUNTRIES = 40
_KANA = {"Hiragana", "Katakana"}


class TextClueError(ValueError):
    """A text clue that cannot be read as given (an unknown language code)."""


@dataclass(frozen=True)
class LanguageReason:
    """A candidate language (CLDR key: ``pl``, ``sr_Latn``) and why it is one: "script",
    "letters ł, ą" or "your choice"."""

    language: str
    name: str
    reason: str


@dataclass(frozen=True)
class CountryReason:
    """A country (ISO alpha-2, as the country clue names it) and the candidate languages
    official there."""

    country: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class TextClue:
    """What a text says about where it was written.  ``countries`` is empty when it says
    nothing useful, and ``refusal`` then says why; ``left_out`` names the territories
    CLDR lists that the shipped boundaries lack (islands, overseas departments)."""

    text: str
    scripts: tuple[ScriptShare, ...]
    languages: tuple[LanguageReason, ...]
    countries: tuple[CountryReason, ...]
    reasoning: str
    refusal: str = ""
    left_out: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return bool(self.countries) and not self.refusal

    @property
    def country_codes(self) -> tuple[str, ...]:
        return tuple(c.country for c in self.countries)

    def describe(self) -> str:
        """One line: ``Text "Apteka Świeża": Latin script, letters ś, ż -> Polish ->
        keep PL``, or the refusal."""
        head = f"Text {quoted(self.text)}: "
        if not self.usable:
            return head + self.refusal
        return head + f"{self.reasoning} -> keep {', '.join(self.country_codes)}"


@dataclass(frozen=True)
class _Writing:
    """What one writing of the text allows (internal)."""

    label: str
    languages: tuple[LanguageReason, ...]
    territories: frozenset[str]
    reasoning: str


def quoted(text: str, limit: int = 60) -> str:
    short = " ".join(text.split())
    return '"' + (short if len(short) <= limit else short[:limit - 1] + "…") + '"'


@lru_cache(maxsize=1)
def _boundary_codes() -> frozenset[str]:
    from ..constraints.areas import country_names

    return frozenset(code for code, _name in country_names())


def _names(languages: Iterable[LanguageReason], most: int = 4) -> str:
    names = sorted({x.name for x in languages})
    more = f" +{len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _writings(shares: tuple[ScriptShare, ...]) -> list[tuple[str, set[str]]]:
    """(writing, its letter scripts): kana make Han Japanese, Hangul makes it Korean."""
    present = {s.script for s in shares} - {OTHER}
    groups = []
    if present & _KANA:
        groups.append(("Japanese", present & (_KANA | {"Han"})))
    elif "Hangul" in present:
        groups.append(("Korean", present & {"Hangul", "Han"}))
    taken = set().union(*(g for _n, g in groups)) if groups else set()
    groups += [(s.script, {s.script}) for s in shares if s.script in present - taken]
    return groups


def _writing(text: str, name: str, scripts: set[str]) -> _Writing:
    candidates = cldr.languages_in_scripts(cldr.CLDR_SCRIPTS[name])
    label = f"{name} script" if scripts == {name} else \
        f"{name} writing ({', '.join(sorted(scripts))})"
    letters = [x for x in distinctive_letters(text) if script_of(x) in scripts]
    reason, notes = "script", label
    if letters:
        bases = languages_of_letters(letters, among={cldr.base_of(k) for k in candidates})
        narrowed = [k for k in candidates if cldr.base_of(k) in bases]
        shown = ", ".join(letters)
        if narrowed:
            candidates, reason = tuple(narrowed), f"letters {shown}"
            notes += f", letters {shown}"
        else:
            notes += f" (letters {shown} belong to no language official anywhere; ignored)"
    languages = tuple(LanguageReason(k, cldr.language_name(k), reason) for k in candidates)
    territories = frozenset(t for k in candidates
                            for t in cldr.territories_by_language().get(k, ()))
    return _Writing(notes, languages, territories, f"{notes} -> {_names(languages)}")


def _chosen(codes: Iterable[str]) -> _Writing:
    keys: list[str] = []
    for code in codes:
        found = cldr.languages_named(code)
        if not found:
            raise TextClueError(f"unknown language {code!r}: give an ISO 639 code of a "
                                "language official somewhere, such as pl, de, uk or ar")
        keys += [k for k in found if k not in keys]
    languages = tuple(LanguageReason(k, cldr.language_name(k), "your choice") for k in keys)
    territories = frozenset(t for k in keys for t in cldr.territories_by_language()[k])
    return _Writing("your choice", languages, territories,
                    f"languages you chose: {_names(languages, most=6)}")


def analyse_text(text: str, languages: Optional[Iterable[str]] = None) -> TextClue:
    """The clue in ``text`` (as it appears in the photo, in its own script).
    ``languages``: ISO 639 codes the person knows the text is in; they replace what the
    letters suggest.  Raises ``TextClueError`` for an unknown language code only."""
    text = unicodedata.normalize("NFC", text or "")  # "s" + combining acute -> "ś"
    shares = script_shares(text)
    chosen = [c for c in (languages or ()) if c and c.strip()]
    if chosen:
        writings = [_chosen(chosen)]
    elif not shares:
        return TextClue(text, shares, (), (), "", "no letters (digits and punctuation say "
                        "nothing of the language); no clue")
    else:
        known = [(n, s) for n, s in _writings(shares) if n in cldr.CLDR_SCRIPTS]
        if not known:
            return TextClue(text, shares, (), (), "", "letters of a script this clue does "
                            "not know; no clue")
        writings = [_writing(text, name, scripts) for name, scripts in known]
    return _combine(text, shares, writings, limit=None if chosen else MAX_COUNTRIES)


def _combine(text, shares, writings: list[_Writing], limit: Optional[int]) -> TextClue:
    codes = _boundary_codes()
    useful, notes = [], []
    for w in writings:
        n = len(w.territories & codes)
        if limit is not None and n > limit:
            plain = "" if "letters" in w.reasoning else " without distinctive letters"
            notes.append(f"{w.label}{plain}: used in {n} countries")
        else:
            useful.append(w)
    if not useful:
        return TextClue(text, shares, (), (), "; ".join(notes),
                        "; ".join(notes) + "; no clue")
    territories = frozenset.intersection(*(w.territories for w in useful))
    languages = tuple(x for w in useful for x in w.languages)
    reasoning = " + ".join(w.reasoning for w in useful) + \
        "".join(f" ({note}: not used)" for note in notes)
    if not territories & codes:
        why = "these writings are official together in no country" if len(useful) > 1 \
            else "none of these languages is official in a country of the boundary set"
        return TextClue(text, shares, languages, (), reasoning, f"{reasoning}: {why}; no clue")
    by_territory = {t: tuple(x.language for x in languages
                             if t in cldr.territories_by_language().get(x.language, ()))
                    for t in sorted(territories & codes)}
    countries = tuple(CountryReason(t, ls) for t, ls in by_territory.items())
    return TextClue(text, shares, languages, countries, reasoning,
                    left_out=tuple(sorted(territories - codes)))
