"""The probability surface stored as numbers plus each cell's outline once, read as a view.

Per photo the surface is every finest cell up to 99 % of the mass: with the default
model's uncertain answers that is ~350 cells per photo, and storing each as its own
polygon row made the surface most of a run's file (2.8 GB of 6.2 GB for 10,000 photos)
and most of its writing (~8 ms a photo for the rows and ~4 ms for their R-tree,
measured; docs/SPEED.md).  The cell outlines are the same photo after photo, so the file
keeps them once:

* ``surface_cells``: one polygon per finest cell that some photo's surface uses (written
  as cells first appear), with its R-tree;
* ``surface_values``: per photo and cell the probability, as three numbers (the photo's
  ``predictions`` fid, the cell's ``surface_cells`` fid, the probability), indexed by
  photo;
* ``surface``: a SQL view joining them with ``predictions`` (the photo's path and name)
  and ``surface_cells``, registered as a GeoPackage feature layer, so OGR and QGIS read
  the very layer they read before: the same fields, feature ids, geometries and row
  count.  It has no spatial index of its own (a view cannot); QGIS reads it one photo at
  a time through the photo indexes in large runs, and it is off by default in the dock.

The values are not written through OGR, which costs ~9 us a row (~3 ms an uncertain
photo, a quarter of what the run does after the model): a run spools them to a file
beside the GeoPackage (``ValueSpool``, 24 bytes a row) and ``load_values`` inserts them
with SQLite itself, bound as numbers (exact doubles; SQLite's parsing of decimal text is
not, for a few in 10^5), once GDAL has closed the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..modeling.cell_geometry import cell_polygon
from .files import remove_quietly
from .layer_names import SURFACE, SURFACE_CELLS, SURFACE_VALUES
from .schema import FieldDef, LayerDef, Row

CELLS_DEF = LayerDef(SURFACE_CELLS, "MultiPolygon", (FieldDef("cell_token", "String", 16),),
                     "Outline of each finest cell the probability surface uses (once)")
VALUES_DEF = LayerDef(SURFACE_VALUES, None, (FieldDef("photo_fid", "Integer64"),
                                             FieldDef("cell_fid", "Integer64"),
                                             FieldDef("probability", "Real")),
                      "Probability of each finest cell per photo (fids of predictions and "
                      "surface_cells; the surface layer joins them)")
_ROW = np.dtype([("photo_fid", "<i8"), ("cell_fid", "<i8"), ("probability", "<f8")])
_LOAD_ROWS = 100_000  # rows read back from the spool at a time: memory stays flat


def storage_defs(specs: Sequence[LayerDef]) -> tuple[LayerDef, ...]:
    """The tables a GeoPackage really holds: the surface's two in place of its layer."""
    out: list[LayerDef] = []
    for spec in specs:
        out += [VALUES_DEF, CELLS_DEF] if spec.name == SURFACE else [spec]
    return tuple(out)


def new_cell_rows(tokens: Iterable[str], written: dict[str, int]) -> list[Row]:
    """Outlines of the cells (tokens) that the file does not hold yet, each once:
    ``written`` maps the cells already written to their fid."""
    rows, seen = [], set()
    for token in tokens:
        if token not in written and token not in seen:
            seen.add(token)
            rows.append(Row({"cell_token": token}, cell_polygon(token)))
    return rows


class ValueSpool:
    """The surface values of a run so far, in a file beside the GeoPackage being written:
    memory stays flat however many photos there are."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.rows = 0
        self._file = open(self.path, "wb")  # noqa: SIM115 - open for the run's length

    def add(self, photo_fid: int, cell_fids: Sequence[int], probabilities: Sequence[float]
            ) -> None:
        rows = np.empty(len(cell_fids), _ROW)
        rows["photo_fid"] = photo_fid
        rows["cell_fid"] = cell_fids
        p = np.asarray(probabilities, dtype=np.float64)
        # NaN for what is not finite, which SQLite stores as NULL: as schema._num makes
        # it None for the rows OGR writes
        rows["probability"] = np.where(np.isfinite(p), p, np.nan)
        self._file.write(rows.tobytes())
        self.rows += len(rows)

    def chunks(self) -> Iterator[np.ndarray]:
        self._file.flush()
        with open(self.path, "rb") as f:
            while True:
                rows = np.fromfile(f, _ROW, _LOAD_ROWS)
                if len(rows) == 0:
                    return
                yield rows

    def remove(self) -> None:
        if not self._file.closed:
            self._file.close()
        remove_quietly(self.path)


# Constant SQL: names from layer_names; the insert binds numbers only.
_INSERT = ("INSERT INTO surface_values (photo_fid, cell_fid, probability) "
           "VALUES (?, ?, ?)")
_AFTER_LOAD = (
    "CREATE INDEX surface_values_photo ON surface_values (photo_fid)",
    "UPDATE gpkg_ogr_contents SET feature_count = "
    "(SELECT COUNT(*) FROM surface_values) WHERE lower(table_name) = 'surface_values'",
    "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
    "WHERE lower(table_name) = 'surface_values'",
)


_TRIGGERS = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"


def load_values(gpkg: Path, spool: ValueSpool) -> None:
    """Insert the spooled values into the closed GeoPackage in one transaction, index
    them by photo and set the table's feature count.  GDAL keeps that count in
    gpkg_ogr_contents through triggers on the table, which would run for every row (a
    third of the time per row, measured): they are set aside during the load and put
    back as they were, and the count is set once.  Not cancellable, like the rest of a
    commit (10,000 uncertain photos: a few seconds)."""
    db = sqlite3.connect(str(gpkg), isolation_level=None)  # transactions as written here
    try:
        db.execute("BEGIN")
        try:
            triggers = db.execute(_TRIGGERS, (SURFACE_VALUES,)).fetchall()
            for name, _ in triggers:
                db.execute("DROP TRIGGER " + _quoted(name))
            for rows in spool.chunks():
                db.executemany(_INSERT, zip(rows["photo_fid"].tolist(),
                                            rows["cell_fid"].tolist(),
                                            rows["probability"].tolist()))
            for sql in _AFTER_LOAD:
                db.execute(sql)
            for _, sql in triggers:
                db.execute(sql)
        except BaseException:
            if db.in_transaction:  # SQLite rolls back by itself on a full disk
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Constant SQL (names from layer_names, the geometry column "geom", EPSG:4326); the view's
# columns are SURFACE_FIELDS in order (tested through the layer OGR reads back).
VIEW_STATEMENTS = (
    "CREATE UNIQUE INDEX surface_cells_token ON surface_cells (cell_token)",
    "CREATE VIEW surface AS SELECT v.fid AS fid, c.geom AS geom, "
    "p.photo_path AS photo_path, p.file_name AS file_name, c.cell_token AS cell_token, "
    "v.probability AS probability "
    "FROM surface_values v JOIN predictions p ON p.fid = v.photo_fid "
    "JOIN surface_cells c ON c.fid = v.cell_fid",
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
