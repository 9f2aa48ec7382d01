"""The name and description a person reads for each exported feature.

A colleague who opens a KML in Google Earth sees only a feature's name in the list and
its description in the balloon, not the attribute table: so the description repeats
what matters (where, how likely, which model, which photo, its SHA-256) and says
plainly that a point is a cell's estimate, not a GPS fix.  The same texts go into the
GeoJSON ``name``/``description`` properties (plain text there, HTML lines in KML).

Works on plain attribute mappings as read back from a run GeoPackage, so it needs no
shapely, GDAL or torch.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from .precision import (area_text, point_digits, point_trusted, region_recorded,
                        rounded_latlon, shown_countries)
from .prediction_row import read_prediction

POINT_CAVEAT = ("This point is the model's estimate for a geocell (an area of the map), "
                "not a GPS fix: the photo may have been taken anywhere in that cell, or "
                "elsewhere.")
REGION_CAVEAT = ("A credible region is where the model puts that share of its "
                 "probability; it is an estimate, not a GPS fix.")


def percent(p: Any) -> str:
    """0.0043 -> "0.43 %", 0.5 -> "50.0 %": small probabilities keep two digits."""
    if p is None:
        return "unknown"
    p = 100.0 * float(p)
    return f"{p:.1f} %" if p >= 1.0 or p == 0.0 else f"{p:.2g} %"


def _km2(a: Any) -> str:
    return "unknown" if a is None else f"{float(a):,.0f} km²"


def _coords(v: Mapping[str, Any]) -> str | None:
    if v.get("lat") is None or v.get("lon") is None:
        return None
    return f"Coordinates: {float(v['lat']):.5f}, {float(v['lon']):.5f} (lat, lon, WGS 84)"


def _model(v: Mapping[str, Any]) -> str | None:
    name = v.get("model_name")
    if not name:
        return None
    version = v.get("model_version")
    return f"Model: {name}" + (f" (version {version})" if version else "")


def _digest(v: Mapping[str, Any]) -> str | None:
    """The bundle's digest: which model answered, settings included (runs made before
    digests existed have none)."""
    digest = v.get("bundle_digest")
    return f"Model digest (SHA-256): {digest}" if digest else None


def _photo_lines(v: Mapping[str, Any], photo: Mapping[str, Any]) -> list[str]:
    lines = [f"Photo: {v.get('file_name') or photo.get('file_name') or 'unknown'}"]
    path = v.get("photo_path") or photo.get("photo_path")
    if path:
        lines.append(f"Photo file: {path}")
    sha = v.get("sha256") or photo.get("sha256")
    lines.append(f"Photo SHA-256: {sha or 'unknown'}")
    return lines


def _place(v: Mapping[str, Any]) -> str:
    return v.get("place") or "no place name"


def _where(v: Mapping[str, Any]) -> str:
    """A short "where" for a name: the place, else the coordinates."""
    if v.get("place"):
        return str(v["place"])
    if v.get("lat") is not None and v.get("lon") is not None:
        return f"{float(v['lat']):.4f}, {float(v['lon']):.4f}"
    return "no location"


def _region_words(v: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """For a point that is not trustworthy (precision.py): the short "where" of a name
    (the 50 % region's continents, else its countries) and the lines that say it, the
    point rounded to what the region supports; (None, []) for a trustworthy point."""
    row = read_prediction(v)
    if point_trusted(row):
        return None, []
    first, more = shown_countries(row)
    countries = ", ".join(first) + (f" and {more} more" if more else "")
    if region_recorded(row):
        where = " or ".join(row.region50_continent) or countries or "the open sea"
        lines = [f"Uncertain: somewhere in {where}",
                 f"50 % region: {countries or 'no country'}, {area_text(row.region50_km2)}"]
    else:
        where = "uncertain"
        lines = [f"Uncertain: the 50 % region covers {area_text(row.region50_km2)}"]
    if row.has_point:
        rough = rounded_latlon(row.lat, row.lon, point_digits(row))
        lines.append(f"Rough point: {rough} (the point alone is not reliable here)")
    return f"somewhere in {where}" if region_recorded(row) else where, lines


def prediction_text(v: Mapping[str, Any]) -> tuple[str, list[str]]:
    """A photo's predicted point: "photo.jpg: near Lyon, France" where the point is
    trustworthy, else "photo.jpg: somewhere in Europe" with the region's lines first."""
    where, region_lines = _region_words(v)
    name = f"{v.get('file_name') or 'photo'}: {where or _where(v)}"
    place = f"Nearest town to the point: {_place(v)}" if where else f"Place: {_place(v)}"
    lines = region_lines + [place,
             f"Probability: {percent(v.get('confidence'))} that the photo was taken in "
             "this cell (the model's best guess)"]
    if v.get("region50_km2") is not None or v.get("region90_km2") is not None:
        lines.append(f"Confidence: the 50 % credible region covers "
                     f"{_km2(v.get('region50_km2'))}, the 90 % region "
                     f"{_km2(v.get('region90_km2'))} (the smaller, the surer)")
    if v.get("scene"):
        lines.append(f"Scene: {v['scene']} ({percent(v.get('scene_confidence'))})")
    if v.get("constraint_mass_removed") is not None:
        lines.append(f"Constraints removed {percent(v['constraint_mass_removed'])} of the "
                     "model's probability")
    lines += [x for x in (_coords(v), _model(v), _digest(v)) if x]
    if v.get("exif_lat") is not None and v.get("exif_lon") is not None:
        error = v.get("error_km")
        lines.append(f"EXIF GPS of the photo: {float(v['exif_lat']):.5f}, "
                     f"{float(v['exif_lon']):.5f}"
                     + (f", {float(error):,.0f} km from this estimate" if error is not None
                        else ""))
    lines += _photo_lines(v, v)
    lines.append(POINT_CAVEAT)
    return name, lines


def candidate_text(v: Mapping[str, Any], photo: Mapping[str, Any]) -> tuple[str, list[str]]:
    """One of a photo's top-k cells; `photo` is the photo's prediction (SHA-256, model,
    confidence of the best guess), empty when the run has none for it."""
    rank = v.get("rank")
    name = f"#{rank} {_where(v)} ({v.get('file_name') or 'photo'})"
    lines = [f"Place: {_place(v)}",
             f"Probability: {percent(v.get('probability'))} that the photo was taken in "
             f"this cell (candidate {rank})"]
    if photo.get("confidence") is not None:
        lines.append(f"Confidence: the model's best guess for this photo has "
                     f"{percent(photo.get('confidence'))}")
    lines += [x for x in (_coords(v), _model(photo), _digest(photo)) if x]
    lines += _photo_lines(v, photo)
    lines.append(POINT_CAVEAT)
    return name, lines


def region_text(v: Mapping[str, Any], photo: Mapping[str, Any]) -> tuple[str, list[str]]:
    """A photo's 50 % or 90 % credible region."""
    mass = v.get("mass")
    share = f"{100 * float(mass):.0f} %" if mass is not None else "?"
    name = f"{v.get('file_name') or 'photo'}: {share} credible region"
    lines = [f"The model puts {share} of its probability for this photo inside this "
             "area",
             f"Area: {_km2(v.get('area_km2'))} in {v.get('n_cells') or 0} cell(s), "
             f"holding {percent(v.get('covered'))} of the probability"]
    if photo.get("place"):
        lines.append(f"Best guess: {photo['place']} ({percent(photo.get('confidence'))})")
    lines += [x for x in (_model(photo), _digest(photo)) if x]
    lines += _photo_lines(v, photo)
    lines.append(REGION_CAVEAT)
    return name, lines


def constraint_text(v: Mapping[str, Any]) -> tuple[str, list[str]]:
    """A constraint the user set on the run (an area or the sun's band of places)."""
    mode = v.get("mode") or "include"
    label = v.get("label") or v.get("kind") or "constraint"
    name = f"Constraint: {label} ({mode})"
    lines = [f"Kind: {v.get('kind') or 'unknown'}",
             "Only places inside were kept" if mode == "include"
             else "Places inside were excluded"]
    params = v.get("parameters")
    if params:
        try:
            parsed = json.loads(params)
            items = parsed.items() if isinstance(parsed, dict) else ()
            lines += [f"{k}: {val}" for k, val in items] or [str(params)]
        except ValueError:
            lines.append(str(params))
    return name, lines


def as_html(lines: list[str]) -> str:
    """KML balloons render HTML: one escaped line per row."""
    return "<br>".join(html.escape(line, quote=False) for line in lines)


def as_text(lines: list[str]) -> str:
    return "\n".join(lines)
