"""The constraint parameters of geodecoder:geolocate_photos, the command line's
--countries, --area, --sun-*, --text-clue options as Processing parameters
(docs/CONSTRAINTS.md).

Layers come in as feature sources, so Processing's "selected features only" works and
the features are read on the algorithm's thread through Processing's own sources.
"""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..services.i18n import tr

COUNTRIES, EXCLUDE_COUNTRIES = "COUNTRIES", "EXCLUDE_COUNTRIES"
AREA, EXCLUDE_AREA = "AREA", "EXCLUDE_AREA"
EXTENT, EXCLUDE_EXTENT = "EXTENT", "EXCLUDE_EXTENT"  # a rectangle (drawn on the canvas)
SUN_TIME, SUN_ELEVATION, SUN_TOLERANCE = "SUN_TIME", "SUN_ELEVATION", "SUN_TOLERANCE"
SHADOW_HEIGHT, SHADOW_LENGTH = "SHADOW_HEIGHT", "SHADOW_LENGTH"
TEXT_CLUE, TEXT_CLUE_LANGUAGE = "TEXT_CLUE", "TEXT_CLUE_LANGUAGE"  # --text-clue(-language)


def add_constraint_parameters(alg) -> None:
    """Constraints as the command line has them (docs/CONSTRAINTS.md)."""
    for key, title in ((COUNTRIES, tr("Keep only these countries (ISO codes or names, "
                                      "comma separated)")),
                       (EXCLUDE_COUNTRIES, tr("Exclude these countries"))):
        alg.addParameter(QgsProcessingParameterString(key, title, optional=True))
    for key, title in ((AREA, tr("Keep only this area (polygons)")),
                       (EXCLUDE_AREA, tr("Exclude this area (polygons)"))):
        alg.addParameter(QgsProcessingParameterFeatureSource(
            key, title, [QgsProcessing.TypeVectorPolygon], optional=True))
    for key, title in ((EXTENT, tr("Keep only this rectangle")),
                       (EXCLUDE_EXTENT, tr("Exclude this rectangle"))):
        alg.addParameter(QgsProcessingParameterExtent(key, title, optional=True))
    alg.addParameter(QgsProcessingParameterString(
        SUN_TIME, tr("Sun: time of the photo, UTC or with its offset (e.g. "
                     "2024-06-01T14:10:00Z)"), optional=True))
    for key, title in ((SUN_ELEVATION, tr("Sun: elevation above the horizon (degrees)")),
                       (SHADOW_HEIGHT, tr("Sun: height of an object")),
                       (SHADOW_LENGTH, tr("Sun: length of its shadow (same unit)"))):
        alg.addParameter(QgsProcessingParameterNumber(
            key, title, QgsProcessingParameterNumber.Double, optional=True))
    alg.addParameter(QgsProcessingParameterNumber(
        SUN_TOLERANCE, tr("Sun: tolerance (degrees)"),
        QgsProcessingParameterNumber.Double, defaultValue=2.0, minValue=0.01,
        maxValue=45.0))
    alg.addParameter(QgsProcessingParameterString(
        TEXT_CLUE, tr("Text seen in the photo, as written there: keep only the countries "
                      "where its script and letters are official"), optional=True))
    alg.addParameter(QgsProcessingParameterString(
        TEXT_CLUE_LANGUAGE, tr("Language of that text when known (ISO 639 codes, comma "
                               "separated; replaces the guess from the letters)"),
        optional=True))


def _number_or_none(alg, parameters, key, context):
    value = parameters.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return alg.parameterAsDouble(parameters, key, context)


def constraints_from_parameters(alg, parameters, context):
    """The engine's Constraints from the parameters; QgsProcessingException with the
    reason for anything unusable (an unknown country, an empty layer, a time
    without a zone...)."""
    from ..inference.constraints import ConstraintError, Constraints, countries_area
    from ..inference.constraints.base import sun_from_inputs
    from ..services.clues.qgis_areas import area_from_layer, area_from_rectangle

    try:
        areas = []
        for key, include in ((COUNTRIES, True), (EXCLUDE_COUNTRIES, False)):
            names = alg.parameterAsString(parameters, key, context)
            if names and names.strip():
                areas.append(countries_area(names, include))
        for key, include in ((AREA, True), (EXCLUDE_AREA, False)):
            if parameters.get(key) in (None, ""):
                continue
            source = alg.parameterAsSource(parameters, key, context)
            if source is None:
                raise ConstraintError(tr("cannot read the layer given as {key}").format(
                    key=key))
            areas.append(area_from_layer(
                source, include, label=tr("layer: {name}").format(
                    name=_source_name(parameters, key, source)),
                transform_context=context.transformContext()))
        for key, include in ((EXTENT, True), (EXCLUDE_EXTENT, False)):
            if parameters.get(key) in (None, ""):
                continue
            areas.append(area_from_rectangle(
                alg.parameterAsExtent(parameters, key, context),
                alg.parameterAsExtentCrs(parameters, key, context), include,
                transform_context=context.transformContext()))
        time_text = alg.parameterAsString(parameters, SUN_TIME, context)
        elevation = _number_or_none(alg, parameters, SUN_ELEVATION, context)
        height = _number_or_none(alg, parameters, SHADOW_HEIGHT, context)
        length = _number_or_none(alg, parameters, SHADOW_LENGTH, context)
        shadow = None if height is None and length is None else (height, length)
        if shadow is not None and None in shadow:
            raise ConstraintError(tr("a shadow needs both the object's height and the "
                                     "shadow's length"))
        sun = None
        if time_text and time_text.strip():
            sun = sun_from_inputs(time_text, elevation, shadow, alg.parameterAsDouble(
                parameters, SUN_TOLERANCE, context))
        elif elevation is not None or shadow is not None:
            raise ConstraintError(tr("the sun's elevation or a shadow needs the photo's "
                                     "time (SUN_TIME)"))
        text_area = _text_clue_area(alg, parameters, context)
        if text_area is not None:
            areas.append(text_area)
        return Constraints(tuple(areas), sun)
    except ConstraintError as exc:
        raise QgsProcessingException(str(exc)) from exc


def _text_clue_area(alg, parameters, context):
    """TEXT_CLUE as the engine's keep-only countries (inference/textclue), None without
    it; ConstraintError when the text gives no clue or a language code is unknown."""
    from ..inference.textclue import text_clue_from_inputs

    return text_clue_from_inputs(
        alg.parameterAsString(parameters, TEXT_CLUE, context),
        alg.parameterAsString(parameters, TEXT_CLUE_LANGUAGE, context),
        text_option="TEXT_CLUE", language_option="TEXT_CLUE_LANGUAGE")


def _source_name(parameters, key: str, source) -> str:
    """A readable name for a layer parameter: the layer's name, else its file name."""
    value = parameters.get(key)
    name = getattr(value, "name", None)
    if callable(name):
        return name()
    text = str(getattr(value, "source", value) or "")
    if text and not text.startswith("<"):
        return os.path.basename(text.split("|")[0]) or text
    return source.sourceName() if hasattr(source, "sourceName") else key
