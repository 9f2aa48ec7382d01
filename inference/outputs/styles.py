"""Layer styles stored in every GeoPackage we write, by the command line and the plugin.

The QML files in resources/styles are named after the layer they style; the finest
``cells_level_<h>`` layer gets ``cells_finest.qml`` (shaded by probability), every coarser
level ``cells.qml`` (light outlines).  Plain text files: reading them needs no QGIS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..modeling.defaults import PLUGIN_ROOT
from .layer_names import CELLS_PREFIX

STYLES_DIR = PLUGIN_ROOT / "resources" / "styles"
CELLS_STYLE = "cells"
CELLS_FINEST_STYLE = "cells_finest"


def shipped_styles() -> dict[str, str]:
    """Style name (file stem) -> QML text."""
    if not STYLES_DIR.is_dir():
        return {}
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(STYLES_DIR.glob("*.qml"))}


def style_name(layer_name: str, num_levels: Optional[int] = None) -> str:
    """The style (file stem) of a layer; a cells layer is the finest when its level is
    ``num_levels - 1`` (without `num_levels`, every cells layer gets the coarse style)."""
    if not layer_name.startswith(CELLS_PREFIX):
        return layer_name
    level = layer_name[len(CELLS_PREFIX):]
    if num_levels is not None and level.isdigit() and int(level) == num_levels - 1:
        return CELLS_FINEST_STYLE
    return CELLS_STYLE


def applicable_styles(num_levels: int) -> dict[str, str]:
    """Layer name -> QML for the layers of a run with `num_levels` hierarchy levels."""
    from .schema import layer_defs

    shipped = shipped_styles()
    out = {}
    for spec in layer_defs(num_levels):
        key = style_name(spec.name, num_levels)
        if key in shipped:
            out[spec.name] = shipped[key]
    return out


def style_path(layer_name: str, num_levels: Optional[int] = None) -> Path:
    return STYLES_DIR / f"{style_name(layer_name, num_levels)}.qml"
