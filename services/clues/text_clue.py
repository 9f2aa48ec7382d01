"""Text seen in a photo, for the dock: the engine's text clue as plain words and codes.

The dock never imports the engine: it asks here for a ``TextSuggestion`` (frozen, plain
strings) and shows it; once the person uses it, the Keep only box holds the countries
and the request carries the text, so ``constraints.build_constraints`` records where
they came from.  The engine (and babel) are imported inside the functions, so the dock
still builds before the engine's packages are installed, and after
``ensure_own_libraries``: the engine's package imports shapely, which inside QGIS must be
loaded with its own GEOS (services/native_libs.py) before anything imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..i18n import tr
from ..native_libs import ensure_own_libraries


@dataclass(frozen=True)
class TextSuggestion:
    """What the text says: ``line`` (the clue's one line), ``details`` (the languages and
    countries, for a label) and ``countries`` (ISO alpha-2; empty: no clue)."""

    text: str
    languages: tuple[str, ...]
    line: str
    details: str
    countries: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return bool(self.countries)


def language_choices() -> tuple[tuple[str, str], ...]:
    """(ISO 639 code, English name) of the languages official somewhere; empty when the
    engine's packages are not installed yet (not remembered: once the Install tab has
    installed babel, the next call lists them)."""
    ensure_own_libraries()  # the engine's package imports shapely: deep-bound first
    try:
        from ...inference.textclue.languages import official_language_choices
        return official_language_choices()  # the engine caches it once babel reads
    except ImportError:
        return ()


def suggest_countries(text: str, languages: Iterable[str] = ()) -> TextSuggestion:
    """The countries ``text`` points to (``languages``: ISO 639 codes the person chose).
    ValueError with a message to show for an unknown code or missing packages."""
    ensure_own_libraries()
    try:
        from ...inference.textclue import analyse_text
    except ImportError as exc:
        raise ValueError(tr("Text clues need the engine's packages (babel): install them "
                            "in the Install tab. ({e})").format(e=exc)) from None
    chosen = tuple(c for c in languages if c)
    clue = analyse_text(text, chosen)
    if not clue.usable:
        return TextSuggestion(clue.text, chosen, clue.describe(), "")
    names = {x.language: x.name for x in clue.languages}
    lines = [tr("Languages: {names}").format(names=", ".join(
        f"{x.name} ({x.reason})" for x in clue.languages))]
    lines += [tr("Countries: {codes}").format(codes=", ".join(
        f"{c.country} ({', '.join(names[k] for k in c.languages)})" for c in clue.countries))]
    if clue.left_out:
        lines.append(tr("Not in the boundary set: {codes}").format(
            codes=", ".join(clue.left_out)))
    return TextSuggestion(clue.text, chosen, clue.describe(), "\n".join(lines),
                          clue.country_codes)


def text_area(text: str, languages: Iterable[str], countries: Iterable[str]):
    """The engine's keep-only area of the countries in the Keep only box, recorded as
    suggested by ``text`` (and as edited, when they differ from the suggestion)."""
    from ...inference.textclue import text_clue_from_inputs

    return text_clue_from_inputs(text, tuple(languages), countries=list(countries))
