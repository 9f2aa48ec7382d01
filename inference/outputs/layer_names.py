"""Names of the output layers, importable without shapely, pyproj or torch.

The QGIS side needs them at start-up (to group and style layers) and must not pull in
the engine's native libraries to get a handful of strings.
"""

PREDICTIONS = "predictions"
CANDIDATES = "candidates"
CELLS_PREFIX = "cells_level_"
SURFACE = "surface"  # a view of the two tables below (outputs/gpkg_surface.py)
SURFACE_VALUES = "surface_values"
SURFACE_CELLS = "surface_cells"
REGIONS = "regions"
FAILURES = "failures"
RUN_INFO = "run_info"
CONSTRAINTS = "constraints"


def cells_layer(level: int) -> str:
    return f"{CELLS_PREFIX}{level}"
ATTENTION_MAPS = "attention_maps"  # "Why here?" maps per photo (outputs/gpkg_attention.py)
