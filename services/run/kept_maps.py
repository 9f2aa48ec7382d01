""""Why here?" maps of a run read back from its GeoPackage, or why there are none.

A run's maps live in memory while QGIS runs it and in the run's file for good
(``inference/outputs/gpkg_attention.py``), so a run reopened later (Open run..., a saved
project) shows them as the fresh run did.  Where a photo has none, the dock says the
true reason instead of always asking to tick a box that was ticked.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

from ...inference.outputs.gpkg_attention import has_table, maps_asked_for, read_maps
from ..i18n import tr


def maps_or_reason(gpkg: str, photo_path: str) -> Union[np.ndarray, str]:
    """The photo's maps from the run file `gpkg`, else a sentence saying why none."""
    maps = read_maps(gpkg, photo_path)
    if maps is not None:
        return maps
    return missing_reason(gpkg)


def missing_reason(gpkg: str) -> str:
    asked: Optional[bool] = maps_asked_for(gpkg)
    if asked is False:
        return tr("This run was made without \"Keep 'Why here?' maps\" (Model tab): run "
                  "the photo again with it checked to see where the model looked.")
    if not has_table(gpkg):
        return tr("This run was saved by an earlier version of GeoDecoder, which kept the "
                  "maps only until QGIS closed: run the photo again to see them.")
    if asked is None:
        return tr("This run file keeps no maps for this photo (it was made without "
                  "asking for them).")
    return tr("The run kept no maps for this photo (ten-crop runs, for one, make none).")
