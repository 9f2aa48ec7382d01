"""The probability surface stored as values plus each cell's outline once, read as a view.

Per photo the surface is every finest cell up to 99 % of the mass: with the default
model's uncertain answers that is ~350 cells per photo, and storing each as its own
polygon row made the surface most of a run's file (2.8 GB of 6.2 GB for 10,000 photos)
and most of its writing (~8 ms a photo for the rows and ~4 ms for their R-tree,
measured; docs/SPEED.md).  The cell outlines are the same photo after photo, so the file
keeps them once:

* ``surface_cells``: one polygon per finest cell that some photo's surface uses (written
  as cells first appear), with its R-tree;
* ``surface_values``: per photo and cell the probability, no geometry, indexed by photo;
* ``surface``: a SQL view joining the two, registered as a GeoPackage feature layer, so
  OGR and QGIS read the very layer they read before: the same fields, feature ids,
  geometries and row count.  It has no spatial index of its own (a view cannot); QGIS
  reads it one photo at a time through the photo index in large runs, and it is off by
  default in the dock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..modeling.cell_geometry import cell_polygon
from .layer_names import SURFACE, SURFACE_CELLS, SURFACE_VALUES
from .schema import SURFACE_FIELDS, FieldDef, LayerDef, Row

CELLS_DEF = LayerDef(SURFACE_CELLS, "MultiPolygon", (FieldDef("cell_token", "String", 16),),
                     "Outline of each finest cell the probability surface uses (once)")
VALUES_DEF = LayerDef(SURFACE_VALUES, None, SURFACE_FIELDS,
                      "Probability of each finest cell per photo (the surface layer joins "
                      "them to surface_cells)")


def storage_defs(specs: Sequence[LayerDef]) -> tuple[LayerDef, ...]:
    """The tables a GeoPackage really holds: the surface's two in place of its layer."""
    out: list[LayerDef] = []
    for spec in specs:
        out += [VALUES_DEF, CELLS_DEF] if spec.name == SURFACE else [spec]
    return tuple(out)


def new_cell_rows(value_rows: Iterable[Row], written: set[str]) -> list[Row]:
    """Outlines of the cells these rows use that the file does not hold yet (and
    ``written`` updated): each cell once per file."""
    rows = []
    for row in value_rows:
        token = row.values["cell_token"]
        if token not in written:
            written.add(token)
            rows.append(Row({"cell_token": token}, cell_polygon(token)))
    return rows


# Constant SQL (names from layer_names, the geometry column "geom", EPSG:4326); the view's
# columns are SURFACE_FIELDS in order (tested through the layer OGR reads back).
VIEW_STATEMENTS = (
    "CREATE UNIQUE INDEX surface_cells_token ON surface_cells (cell_token)",
    "CREATE VIEW surface AS SELECT v.fid AS fid, c.geom AS geom, "
    "v.photo_path AS photo_path, v.file_name AS file_name, v.cell_token AS cell_token, "
    "v.probability AS probability "
    "FROM surface_values v JOIN surface_cells c ON c.cell_token = v.cell_token",
    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
    "VALUES ('surface', 'features', 'surface', 'Finest cells with their probability (the "
    "probability surface; a view of surface_values and surface_cells)', 4326)",
    # the cells' extent (GDAL's SQL functions read it from each blob's envelope; the
    # table holds each cell once), so readers need not scan the view for it
    "UPDATE gpkg_contents SET min_x = (SELECT MIN(ST_MinX(geom)) FROM surface_cells), "
    "min_y = (SELECT MIN(ST_MinY(geom)) FROM surface_cells), "
    "max_x = (SELECT MAX(ST_MaxX(geom)) FROM surface_cells), "
    "max_y = (SELECT MAX(ST_MaxY(geom)) FROM surface_cells) "
    "WHERE table_name = 'surface'",
    "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, "
    "srs_id, z, m) VALUES ('surface', 'geom', 'MULTIPOLYGON', 4326, 0, 0)",
)
