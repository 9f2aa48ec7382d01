"""A text clue as the engine's "keep only these countries" constraint.

The constraint is the country clue itself (``constraints.countries_area``), so weights,
regions, exports and the case report treat it exactly as countries typed by hand; only
its label and details carry where the countries came from: the text, the languages and
the one-line reasoning (``TextClue.describe``), written to run_info and the constraints
layer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Optional

from ..constraints.areas import countries_area
from ..constraints.base import AreaConstraint, ConstraintError
from .analysis import TextClue, quoted


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

