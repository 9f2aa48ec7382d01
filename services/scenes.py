"""Scene names a person can read: the bundle's own names, and the Places365 S3 codes.

A bundle trained on MP-16's ``S3_Label`` column has the scene names "0", "1", "2": the
Places365 three-way split indoor / natural / urban.  Only when a bundle's names are
exactly those three codes are they shown as words; any other name (pseudo-scenes,
the 16 S16 codes, a user's own labels) is shown as the bundle has it.

The scene names of a run are written into its GeoPackage's ``run_info`` table
(``scene_names``, JSON) by the plugin; a GeoPackage without them falls back to the
bundle named in ``run_info`` when that folder is still there.
"""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence

from qgis.core import QgsExpression

from .i18n import tr

S3_CODES = ("0", "1", "2")
SCENE_NAMES_KEY = "scene_names"


def s3_words() -> dict[str, str]:
    return {"0": tr("indoor"), "1": tr("natural"), "2": tr("urban")}


def uses_s3_codes(scene_names: Optional[Sequence[str]]) -> bool:
    return scene_names is not None and sorted(str(n) for n in scene_names) == list(S3_CODES)


def scene_label(value, scene_names: Optional[Sequence[str]]) -> str:
    """What to show for a prediction's ``scene`` value."""
    text = "" if value is None else str(value)
    if uses_s3_codes(scene_names):
        return s3_words().get(text, text)
    return text


def scene_expression(scene_names: Optional[Sequence[str]]) -> str:
    """A QGIS expression giving the shown scene name from the ``scene`` field.  The
    words are translations, so they are quoted by QGIS (``quotedString``): a ``'`` or a
    ``\\`` in one (Italian "all'aperto") would break an expression quoted by hand."""
    if not uses_s3_codes(scene_names):
        return '"scene"'
    q = QgsExpression.quotedString
    cases = " ".join(f"WHEN \"scene\" = {q(code)} THEN {q(word)}"
                     for code, word in s3_words().items())
    return f'CASE {cases} ELSE "scene" END'


def _run_info(path: str) -> dict:
    from osgeo import ogr

    ds = ogr.Open(str(path))
    if ds is None:
        return {}
    try:
        layer = ds.GetLayerByName("run_info")
        if layer is None:
            return {}
        return {f.GetField("key"): f.GetField("value") for f in layer}
    finally:
        ds = None


def scene_names_of_run(gpkg_path: str) -> Optional[list[str]]:
    """The scene names of the bundle that made a run GeoPackage, or None if unknown."""
    info = _run_info(gpkg_path)
    raw = info.get(SCENE_NAMES_KEY)
    if raw:
        try:
            names = json.loads(raw)
            if isinstance(names, list):
                return [str(n) for n in names]
        except ValueError:
            pass
    bundle = info.get("bundle_path")
    if bundle:
        try:
            with open(os.path.join(bundle, "config.json"), encoding="utf-8") as fh:
                names = json.load(fh).get("scene_names")
            if isinstance(names, list):
                return [str(n) for n in names]
        except (OSError, ValueError, AttributeError):
            pass
    return None
