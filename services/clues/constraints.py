"""The dock's clues, made into the engine's constraints on the main thread.

The widgets hand over a plain ``ConstraintRequest``; ``build_constraints`` reads the
layers it names (only the main thread may) and returns the engine's ``Constraints``
for the task, or raises ``ConstraintError`` with the message the dock shows before
anything runs.  The engine is imported only here, inside the functions, so the dock
still builds before the engine's packages are installed.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRectangle

from .request import ConstraintRequest
from ..i18n import tr

COUNTRIES_FILE = Path(__file__).resolve().parents[2] / "resources" / "boundaries" / \
    "countries.geojson"


@lru_cache(maxsize=1)
def country_choices() -> tuple[tuple[str, str], ...]:
    """(ISO alpha-2, English name) of the shipped boundary set, sorted by name; read as
    JSON so the dock lists them without the engine's geometry packages."""
    try:
        with open(COUNTRIES_FILE, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return ()
    pairs = {(str(f["properties"].get("iso_a2", "")), str(f["properties"].get("name", "")))
             for f in doc.get("features", ())}
    return tuple(sorted((p for p in pairs if p[0] and p[1]), key=lambda p: p[1]))


def photo_time(path: str):
    """The photo's EXIF time (engine ``PhotoTime``: local clock, offset if written) or
    None when it holds none."""
    from ...inference.prediction.photo_time import read_photo_time

    return read_photo_time(path)


def utc_from_photo_time(found, offset_text: str):
    """The UTC time of an EXIF time for the offset the user confirmed or typed;
    ValueError (the engine's ConstraintError) when the offset does not read."""
    from ...inference.prediction.photo_time import parse_offset

    return found.with_offset(parse_offset(offset_text))


def build_constraints(request: ConstraintRequest, project: Optional[QgsProject] = None):
    """The engine's ``Constraints`` for `request`, or None when it holds no clue."""
    if not request:
        return None
    from ...inference.constraints import (ConstraintError, Constraints, SunConstraint,
                                         countries_area, parse_utc_time)
    from .qgis_areas import area_from_layer, area_from_rectangle
    from .text_clue import text_area

    project = project or QgsProject.instance()
    areas = []
    for area in request.areas:
        if area.countries and area.text and area.include:
            areas.append(text_area(area.text, area.text_languages, area.countries))
        elif area.countries:
            areas.append(countries_area(area.countries, include=area.include))
        elif area.layer_id:
            layer = project.mapLayer(area.layer_id)
            if layer is None:
                raise ConstraintError(tr("the area layer is no longer in the project: "
                                         "choose it again in the Clues tab"))
            areas.append(area_from_layer(layer, include=area.include,
                                         selected_only=area.selected_only,
                                         transform_context=project.transformContext()))
        elif area.rectangle is not None:
            crs = QgsCoordinateReferenceSystem.fromWkt(area.rectangle_crs)
            areas.append(area_from_rectangle(QgsRectangle(*area.rectangle), crs,
                                             include=area.include,
                                             transform_context=project.transformContext()))
    sun = None
    if request.sun is not None:
        s = request.sun
        when = parse_utc_time(s.time_utc)
        if s.elevation_deg is not None:
            sun = SunConstraint.from_elevation(when, s.elevation_deg, s.tolerance_deg)
        else:
            sun = SunConstraint.from_shadow(when, s.object_height, s.shadow_length,
                                            s.tolerance_deg)
    return Constraints(tuple(areas), sun)
