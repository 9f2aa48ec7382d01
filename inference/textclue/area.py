"""A text clue as the engine's "keep only these countries" constraint.

The constraint is the country clue itself (``constraints.countries_area``), so weights,
regions, exports and the case report treat it exactly as countries typed by hand; only
its label and details carry where the countries came from: the text, the languages and
the one-line reasoning (``TextClue.describe``), written to run_info and the constraints
layer.

``text_clue_from_inputs`` is the one reading of the options the command line
(``--text-clue``), Processing (``TEXT_CLUE``) and the dock share.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Optional, Union

from ..constraints.areas import countries_area
from ..constraints.base import AreaConstraint, ConstraintError
from .analysis import TextClue, TextClueError, analyse_text, quoted


def text_clue_area(clue: TextClue, countries: Optional[Iterable[str]] = None) -> AreaConstraint:
    """Keep only the clue's countries, or ``countries`` when the person edited the
    suggestion (the label then says so).  ``ConstraintError`` when the clue has none."""
    if not clue.usable and countries is None:
        raise ConstraintError(clue.describe())
    suggested = clue.country_codes
    area = countries_area(list(countries) if countries is not None else list(suggested))
    codes = tuple(area.details[0][1].split(","))
    edited = set(codes) != set(suggested)
    source = f"text {quoted(clue.text)}: {clue.reasoning or clue.refusal}"
    label = f"{area.label} (from {source}{'; edited by hand' if edited else ''})"
    details = area.details + (
        ("text", clue.text), ("text_languages", ",".join(x.language for x in clue.languages)),
        ("text_clue", clue.describe()))
    if edited:
        details += (("suggested_countries", ",".join(suggested)),)
    return replace(area, label=label, source="text", details=details)



def language_codes(languages: Union[str, Iterable[str], None]) -> list[str]:
    """Language codes as typed: one comma-separated string, or several (a repeated
    option), blanks dropped: ``"pl, uk"`` -> ``["pl", "uk"]``."""
    values = [languages] if isinstance(languages, str) else list(languages or ())
    return [c.strip() for v in values for c in str(v).split(",") if c.strip()]


def text_clue_from_inputs(text: Optional[str],
                          languages: Union[str, Iterable[str], None] = None,
                          countries: Optional[Iterable[str]] = None,
                          text_option: str = "the text",
                          language_option: str = "the text's language"
                          ) -> Optional[AreaConstraint]:
    """The keep-only area of a text clue given as options, None without a text.
    ``ConstraintError`` with one line a person can act on: a language without a text
    ("``language_option`` needs ``text_option``"), an unknown language code, or a text
    that gives no clue (``TextClue.describe``).  ``countries``: the person's edited
    list (the dock), kept even when the text alone gives no clue."""
    codes = language_codes(languages)
    if not (text and text.strip()):
        if codes:
            raise ConstraintError(f"{language_option} needs {text_option} (the text it "
                                  "is in)")
        return None
    try:
        clue = analyse_text(text, codes)
    except TextClueError as exc:
        raise ConstraintError(str(exc)) from exc
    return text_clue_area(clue, countries=countries)
