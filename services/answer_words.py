"""The answer of one photo in words, at the precision it has: what the dock's result
view and the case report say first.

Issue 20: "Predicted: 42.8376, -123.2096 — near Canyonville" at 0.2 % for a photo taken
in Tallinn claimed far more than was known.  The rules of precision are the engine's
(``inference/outputs/precision.py``); the countries and continents are what the run
recorded in the predictions layer (``region50_countries``, ``region50_continent``), so
every reader names the same region.  Sentences only here, translated; the exact
coordinates stay in the details below them.
"""

from __future__ import annotations

from typing import Optional

from ..inference.geo import haversine_km
from ..inference.outputs.precision import (area_text, point_digits, point_trusted,
                                           region_recorded, rounded_latlon, shown_countries)
from ..inference.outputs.prediction_row import CandidateRow, PredictionRow
from .i18n import tr

SEA_NOTED_BELOW = 0.9  # say how much of the region is sea when land is under this share


def _percent(p: Optional[float]) -> str:
    if p is None:
        return tr("not recorded")
    return f"{p:.1%}" if p < 0.1 else f"{p:.0%}"


def _countries(row: PredictionRow) -> str:
    first, more = shown_countries(row)
    text = ", ".join(first)
    if more:
        text = tr("{names} and {n} more").format(names=text, n=more)
    return text


def where_words(row: PredictionRow) -> str:
    """The region in a few words: "Europe", "Europe or Asia", "Estonia" (no continent
    named), "open sea"."""
    if row.region50_continent:
        return tr(" or ").join(row.region50_continent)
    if row.region50_countries:
        return _countries(row)
    return tr("the open sea")


def headline_lines(row: PredictionRow) -> list[str]:
    """The first lines of an answer (plain text).  A trustworthy point leads with its
    place; an untrustworthy one with its 50 % region (continent, countries, area), then
    the point rounded to what the region supports."""
    digits = point_digits(row)
    point = rounded_latlon(row.lat, row.lon, digits) if row.has_point else tr("not recorded")
    if point_trusted(row):
        lines = [tr("Predicted: {point} — {place}").format(
            point=point, place=row.place or tr("no place name"))]
        if row.region50_countries:
            lines.append(tr("50% region: {countries}, {area}").format(
                countries=_countries(row), area=area_text(row.region50_km2)))
        return lines
    if region_recorded(row):
        lines = [tr("Somewhere in {where} (uncertain)").format(where=where_words(row))]
        region = tr("50% region: {countries}, {area}").format(
            countries=_countries(row) or tr("no country"), area=area_text(row.region50_km2))
        if row.region50_land is not None and row.region50_land < SEA_NOTED_BELOW:
            region += tr(" ({sea:.0%} of it sea)").format(sea=1.0 - row.region50_land)
        lines.append(region)
    else:  # a run from before regions were named: their size says enough
        lines = [tr("Uncertain: half the probability is spread over {area}").format(
            area=area_text(row.region50_km2))]
    lines.append(tr("Rough point: {point} (the point alone is not reliable here)").format(
        point=point))
    return lines


def decision_line(row: PredictionRow) -> str:
    """Why the point is where it is: the bundle's decision rule and its probability."""
    radius, mass = row.decision_radius_km, row.decision_mass
    if radius is None:
        return tr("The point is the centre of the most probable neighbourhood of cells or "
                  "the most probable cell (this run did not record which).")
    if radius <= 0:
        return tr("The point is the most probable single cell ({p}).").format(
            p=_percent(mass))
    return tr("The point is the centre of the most probable {r:,.0f} km neighbourhood: "
              "{p} of the probability lies within {r:,.0f} km of it.").format(
        r=radius, p=_percent(mass))


def candidate_distance_km(row: PredictionRow, candidate: CandidateRow) -> Optional[float]:
    """Great-circle km from the photo's point to a candidate (None where one is missing)."""
    if not row.has_point or candidate.lat is None or candidate.lon is None:
        return None
    return float(haversine_km(row.lat, row.lon, candidate.lat, candidate.lon))


def candidates_note(row: PredictionRow) -> str:
    """How the candidates relate to the point: single cells ranked by their own
    probability, the point a neighbourhood's centre."""
    if row.decision_radius_km is not None and row.decision_radius_km <= 0:
        return tr("Single cells, most probable first; #1 is the point's cell.")
    return tr("Single cells, most probable first, with their distance from the point. "
              "A single cell can be more probable than the point's cell while the point's "
              "neighbourhood holds more probability in all.")
