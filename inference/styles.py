"""Layer styles stored in every GeoPackage we write, by the command line and the plugin.

The QML files in resources/styles are named after the layer they style; ``cells.qml``
styles every ``cells_level_<h>`` layer (the level is a field, so one style reads coarse
to fine for any depth).  Plain text files: reading them needs no QGIS.
"""

from __future__ import annotations

from pathlib import Path

from .defaults import PLUGIN_ROOT
from .layer_names import CELLS_PREFIX

STYLES_DIR = PLUGIN_ROOT / "resources" / "styles"
CELLS_STYLE = "cells"


def shipped_styles() -> dict[str, str]:
    """Style name (file stem) -> QML text."""
    if not STYLES_DIR.is_dir():
        return {}
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(STYLES_DIR.glob("*.qml"))}


def applicable_styles(num_levels: int) -> dict[str, str]:
    """Layer name -> QML for the layers of a run with `num_levels` hierarchy levels."""
    from .schema import layer_defs

    shipped = shipped_styles()
    out = {}
    for spec in layer_defs(num_levels):
        key = CELLS_STYLE if spec.name.startswith(CELLS_PREFIX) else spec.name
        if key in shipped:
            out[spec.name] = shipped[key]
    return out


def style_path(layer_name: str) -> Path:
    key = CELLS_STYLE if layer_name.startswith(CELLS_PREFIX) else layer_name
    return STYLES_DIR / f"{key}.qml"
