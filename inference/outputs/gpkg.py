"""Write a run to a GeoPackage with OGR, atomically.

* Every layer of ``schema.layer_defs`` is created, even when empty: a run in which every
  photo failed still gives a valid file whose ``failures`` table says why.
* All spatial layers are EPSG:4326 with x = longitude (GeoPackage stores lon/lat; the
  traditional-GIS axis mapping makes OGR agree whatever the EPSG axis order says).
* The file is written next to its destination under a temporary name and moved onto it
  with ``os.replace`` only when complete: a crash, an error or a cancel leaves the old
  file byte for byte and no temporary file behind.
* Features go in one transaction per layer (tens of thousands of cells per run; row by
  row autocommit would be ~100x slower).
* With ``styles`` (layer name or fnmatch pattern -> QML text) the QGIS ``layer_styles``
  table is created the way QGIS itself creates it (an OGR table with FID ``id``), with
  one default style per layer, so QGIS styles the layers when the file is opened.

GDAL error handling is left in whatever mode the host chose (QGIS and other plugins
share the process-wide ``UseExceptions`` switch): return codes are checked here, and
either way a failure raises ``GeoPackageError`` or OGR's own RuntimeError.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from osgeo import gdal, ogr, osr

from . import gpkg_attention, gpkg_surface, schema
from .files import Staged, remove_quietly, remove_stale_temporaries, \
    temp_sibling
from ..modeling.cells import CellHierarchy
from .places import place_names
from ..records import PhotoFailure, Prediction
from .schema import LayerDef, Row, RunInfo
from .srs import wgs84
from .writer import RunWriter

log = logging.getLogger(__name__)

GEOMETRY_COLUMN = "geom"
STYLES_TABLE = "layer_styles"
_CHECK_EVERY = 500  # features between two cancel checks
_OGR_TYPES = {"String": ogr.OFTString, "Integer": ogr.OFTInteger, "Real": ogr.OFTReal,
              "DateTime": ogr.OFTDateTime, "Integer64": ogr.OFTInteger64}
_OGR_GEOMS = {"Point": ogr.wkbPoint, "MultiPolygon": ogr.wkbMultiPolygon, None: ogr.wkbNone}


class GeoPackageError(RuntimeError):
    """OGR refused to create or fill the GeoPackage (disk full, read-only folder...)."""


class WriteCancelled(RuntimeError):
    """The caller's ``is_cancelled`` said stop; the destination file was left untouched."""


def _fail(what: str) -> GeoPackageError:
    msg = gdal.GetLastErrorMsg()
    return GeoPackageError(f"{what}: {msg}" if msg else what)


def temp_path_for(path: Path) -> Path:
    return temp_sibling(path, ".gpkg")


#: what a GeoPackageWriter leaves beside its target while it writes (files.py)
TEMP_SUFFIXES = (".gpkg", ".vals")


def _remove_quietly(path: Path) -> None:
    """The temporary GeoPackage and SQLite's side files."""
    remove_quietly(path, *(Path(f"{path}{s}") for s in ("-journal", "-wal", "-shm")))


# --------------------------------------------------------------------------- layers


def _create_layer(ds, spec: LayerDef, srs: osr.SpatialReference):
    options = ["FID=fid", f"DESCRIPTION={spec.description}"]
    if spec.geometry is not None:
        options += [f"GEOMETRY_NAME={GEOMETRY_COLUMN}", "SPATIAL_INDEX=YES"]
    layer = ds.CreateLayer(spec.name, srs if spec.geometry else None,
                           _OGR_GEOMS[spec.geometry], options=options)
    if layer is None:
        raise _fail(f"cannot create layer {spec.name}")
    for f in spec.fields:
        fd = ogr.FieldDefn(f.name, _OGR_TYPES[f.type])
        if f.width:
            fd.SetWidth(f.width)
        if layer.CreateField(fd) != 0:
            raise _fail(f"cannot create field {spec.name}.{f.name}")
    return layer


def _ogr_geometry(geom, multipolygon: bool):
    g = ogr.CreateGeometryFromWkb(geom.wkb)
    if g is None:
        raise _fail(f"cannot convert geometry {geom.geom_type}")
    return ogr.ForceToMultiPolygon(g) if multipolygon else g


def _same(old, new) -> bool:
    """Whether a field that holds ``old`` already holds ``new``: the very object, or an
    equal string or integer (floats only by identity: 0.0 == -0.0, nan != nan)."""
    return old is new or (type(old) is type(new) and type(new) in (str, int) and old == new)


def _write_rows(ds, layer, spec: LayerDef, rows: Iterable[Row],
                is_cancelled: Callable[[], bool] | None, shapes: dict | None = None,
                fids: list | None = None) -> int:
    """All rows of one layer in one transaction; returns the number written (and appends
    the feature ids the rows got to ``fids``).

    ``shapes`` (id of a shapely geometry -> (geometry, OGR geometry)) keeps the OGR
    geometries of cell polygons, which recur in every chunk: the cell polygons are cached
    shapely objects, so their WKB conversion is done once per run, not once per row.

    One OGR feature is reused from row to row while the rows carry the same fields (and
    both a geometry, or both none), and only the values that changed are set again: a
    photo's cells and candidates share their photo's path and name, and setting
    every field of a fresh feature was a third of the writing (measured).  What is
    written is the same as with a fresh feature per row.
    """
    defn = layer.GetLayerDefn()
    index = {f.name: defn.GetFieldIndex(f.name) for f in spec.fields}
    multi = spec.geometry == "MultiPolygon"
    if ds.StartTransaction() != 0:
        raise _fail(f"cannot start a transaction on {spec.name}")
    n = 0
    feat, last, last_geom = None, None, False
    try:
        for row in rows:
            if is_cancelled is not None and n % _CHECK_EVERY == 0 and is_cancelled():
                raise WriteCancelled("GeoPackage writing cancelled")
            values, geom = row.values, row.geometry
            known = None if shapes is None or geom is None else shapes.get(id(geom))
            if known is not None and known[0] is not geom:
                known = None  # another geometry now lives at that id
            has_geom = known is not None or (spec.geometry is not None and geom is not None
                                             and not geom.is_empty)
            if feat is not None and has_geom == last_geom and values.keys() == last.keys():
                feat.SetFID(ogr.NullFID)
                for name, value in values.items():
                    old = last[name]
                    if old is not value and not _same(old, value):
                        _set_field(feat, index.get(name, -1), value)
            else:
                feat = ogr.Feature(defn)
                for name, value in values.items():
                    _set_field(feat, index.get(name, -1), value)
            last, last_geom = values, has_geom
            if has_geom:
                if shapes is None:
                    feat.SetGeometry(_ogr_geometry(geom, multi))
                else:
                    if known is None:
                        known = shapes[id(geom)] = (geom, _ogr_geometry(geom, multi))
                    feat.SetGeometry(known[1])
            if layer.CreateFeature(feat) != 0:
                raise _fail(f"cannot write feature {n} of layer {spec.name}")
            if fids is not None:
                fids.append(feat.GetFID())
            n += 1
    except BaseException:
        ds.RollbackTransaction()
        raise
    if ds.CommitTransaction() != 0:
        raise _fail(f"cannot commit layer {spec.name}")
    return n


def _set_field(feat, i: int, value) -> None:
    """``Feature.SetField`` without its per-call type dispatch for the common types (the
    same OGR setters it would pick); ``i`` < 0: a value the schema does not carry (an
    extra level, say), left out."""
    kind = type(value)
    if i < 0:
        return
    if value is None:
        feat.SetFieldNull(i)
    elif kind is str:
        feat.SetFieldString(i, schema.safe_text(value))
    elif kind is int:
        feat.SetFieldInteger64(i, value)
    else:
        feat.SetField(i, schema.safe_text(value) if isinstance(value, str) else value)


def _write_styles(ds, layers: Mapping[str, str], styles: Mapping[str, str]) -> int:
    """QGIS's ``layer_styles`` table with one default style per matching layer
    (``layers``: name -> geometry column, "" for a table)."""
    matched = {name: qml for pattern, qml in styles.items()
               for name in layers if fnmatch.fnmatchcase(name, pattern)}
    for pattern in styles:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in layers):
            log.warning("style %r matches no layer of the GeoPackage; ignored", pattern)
    table = ds.CreateLayer(STYLES_TABLE, None, ogr.wkbNone, options=["FID=id"])
    if table is None:
        raise _fail("cannot create the layer_styles table")
    fields = [("f_table_catalog", ogr.OFTString, 256), ("f_table_schema", ogr.OFTString, 256),
              ("f_table_name", ogr.OFTString, 256), ("f_geometry_column", ogr.OFTString, 256),
              ("styleName", ogr.OFTString, 30), ("styleQML", ogr.OFTString, 0),
              ("styleSLD", ogr.OFTString, 0), ("useAsDefault", ogr.OFTInteger, 0),
              ("description", ogr.OFTString, 0), ("owner", ogr.OFTString, 30),
              ("ui", ogr.OFTString, 30), ("update_time", ogr.OFTDateTime, 0)]
    for name, kind, width in fields:
        fd = ogr.FieldDefn(name, kind)
        if width:
            fd.SetWidth(width)
        if name == "useAsDefault":
            fd.SetSubType(ogr.OFSTBoolean)
        if name == "update_time":
            fd.SetDefault("CURRENT_TIMESTAMP")
        if table.CreateField(fd) != 0:
            raise _fail(f"cannot create field layer_styles.{name}")
    defn = table.GetLayerDefn()
    if ds.StartTransaction() != 0:
        raise _fail("cannot start a transaction on layer_styles")
    for name, qml in matched.items():
        feat = ogr.Feature(defn)
        # QGIS finds a layer's style by f_table_schema='' + table name + geometry column
        values = {"f_table_catalog": "", "f_table_schema": "", "f_table_name": name,
                  "f_geometry_column": layers[name],
                  "styleName": name, "styleQML": qml, "styleSLD": "", "useAsDefault": 1,
                  "description": "GeoDecoder default style", "owner": ""}
        for key, value in values.items():
            feat.SetField(key, value)
        if table.CreateFeature(feat) != 0:
            ds.RollbackTransaction()
            raise _fail(f"cannot write the style of {name}")
    if ds.CommitTransaction() != 0:
        raise _fail("cannot commit layer_styles")
    return len(matched)


# ---------------------------------------------------------------------------- write


def _chunk_rows(spec: LayerDef, path: Path, preds: Sequence[Prediction],
                failures: Sequence[PhotoFailure], cells: CellHierarchy, run: RunInfo,
                regions: list, places: list) -> list[Row]:
    """Rows of one layer for one chunk of photos (run_info is written at commit)."""
    if spec.name == schema.PREDICTIONS:
        return schema.prediction_rows(preds, path, run, regions=regions, places=places)
    if spec.name == schema.CANDIDATES:
        return schema.candidate_rows(preds)
    if spec.name.startswith(schema.CELLS_PREFIX):
        return schema.cell_rows(preds, cells, int(spec.name[len(schema.CELLS_PREFIX):]))
    if spec.name == schema.REGIONS:
        return schema.region_rows(preds, regions=regions)
    if spec.name == schema.FAILURES:
        return schema.failure_rows(failures)
    raise ValueError(f"no rows for layer {spec.name}")


class GeoPackageWriter(RunWriter):
    """Streams a run into a temporary GeoPackage chunk by chunk, then swaps it in.

    Memory stays flat however many photos a run has: each chunk's rows are written and
    dropped.  Until ``commit`` the destination is untouched; ``abort`` (or an exception
    inside a ``with`` block) removes the temporary file.
    """

    def __init__(self, path, cells: CellHierarchy, run: RunInfo,
                 styles: Mapping[str, str] | None = None,
                 is_cancelled: Callable[[], bool] | None = None):
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.cells, self.run, self.styles = cells, run, styles
        self.is_cancelled = is_cancelled
        if os.path.isdir(self.path):
            raise GeoPackageError(f"{self.path} is a folder: choose a file name")
        remove_stale_temporaries(self.path, TEMP_SUFFIXES)  # of runs that were killed
        self.tmp = temp_path_for(self.path)
        self.n_preds = self.n_fails = 0
        self._layers: dict = {}
        self._attention = None  # the attention_maps table (gpkg_attention.py)
        self._shapes: dict = {}  # cell polygons as OGR geometries, see _write_rows
        self._specs = schema.layer_defs(cells.num_levels)
        self._surface_cells: dict[str, int] = {}  # cells whose outline the file holds: fid
        self._values: gpkg_surface.ValueSpool | None = None
        driver = ogr.GetDriverByName("GPKG")
        if driver is None:
            raise GeoPackageError("this GDAL has no GPKG driver")
        self._ds = None
        try:  # a signal (SIGTERM raises in the CLI) right after the file exists included
            self._ds = driver.CreateDataSource(str(self.tmp))
            if self._ds is None:
                raise _fail(f"cannot create {self.tmp}")
            srs = wgs84(_fail)
            for spec in gpkg_surface.storage_defs(self._specs):
                self._layers[spec.name] = _create_layer(self._ds, spec, srs)
            self._attention = gpkg_attention.create_table(self._ds)
            if self._attention is None:
                raise _fail("cannot create the attention_maps table")
            self._values = gpkg_surface.ValueSpool(self.tmp.with_suffix(".vals"))
        except BaseException:
            self.abort()
            raise

    def add(self, predictions: Sequence[Prediction],
            failures: Sequence[PhotoFailure] = (), *, regions, places=None) -> None:
        """`regions` and `places` (per prediction) may be passed in when another writer of
        the same chunk already computed them: region unions are the costly part."""
        preds, fails = list(predictions), list(failures)
        if places is None:
            places = place_names([(p.lat, p.lon) for p in preds]) if preds else []
        photo_fids: list[int] = []  # the predictions rows' (layer_defs writes them first)
        for spec in self._specs:
            if spec.name in (schema.RUN_INFO, schema.CONSTRAINTS):
                continue  # the run's, not the chunk's: written at commit
            if self.is_cancelled is not None and self.is_cancelled():
                raise WriteCancelled("GeoPackage writing cancelled")
            if spec.name == schema.SURFACE:
                self._add_surface(preds, photo_fids)
                continue
            rows = _chunk_rows(spec, self.path, preds, fails, self.cells, self.run, regions,
                               places)
            cached = spec.name.startswith(schema.CELLS_PREFIX)
            _write_rows(self._ds, self._layers[spec.name], spec, rows, self.is_cancelled,
                        self._shapes if cached else None,
                        photo_fids if spec.name == schema.PREDICTIONS else None)
        try:  # "Why here?" maps, where the run asked for them
            gpkg_attention.write_maps(self._ds, self._attention, preds, photo_fids)
        except RuntimeError as exc:
            raise _fail(str(exc)) from None
        self.n_preds += len(preds)
        self.n_fails += len(fails)

    def _add_surface(self, preds: Sequence[Prediction], photo_fids: Sequence[int]) -> None:
        """Outlines of the cells new to the file, then each photo's values spooled
        (gpkg_surface.py: they go in at commit)."""
        if len(photo_fids) != len(preds):
            raise GeoPackageError("the surface needs each photo's predictions row first")
        cells = gpkg_surface.new_cell_rows((c.token for p in preds for c in p.finest),
                                           self._surface_cells)
        fids: list[int] = []
        _write_rows(self._ds, self._layers[gpkg_surface.CELLS_DEF.name],
                    gpkg_surface.CELLS_DEF, cells, self.is_cancelled, fids=fids)
        self._surface_cells.update(zip((r.values["cell_token"] for r in cells), fids))
        known = self._surface_cells
        for p, fid in zip(preds, photo_fids):
            self._values.add(fid, [known[c.token] for c in p.finest],
                             [c.probability for c in p.finest])

    def _make_surface_view(self) -> None:
        for sql in gpkg_surface.VIEW_STATEMENTS:
            _execute(self._ds, sql, "make the surface view")

    def prepare(self, run: RunInfo | None = None) -> Staged:
        """All of ``commit`` but the move onto the destination (``RunWriter.prepare``):
        the finished, checked temporary file stays until it is renamed."""
        run = run or self.run
        try:
            spec = next(s for s in self._specs if s.name == schema.RUN_INFO)
            rows = schema.run_info_rows([], [], run,
                                        bundle_levels=self.cells.num_levels,
                                        counts=(self.n_preds, self.n_fails))
            _write_rows(self._ds, self._layers[spec.name], spec, rows, None)
            spec = next(s for s in self._specs if s.name == schema.CONSTRAINTS)
            _write_rows(self._ds, self._layers[spec.name], spec,
                        schema.constraint_rows(run.constraints), None)
            self._make_surface_view()
            if self.styles:
                _write_styles(self._ds, {s.name: GEOMETRY_COLUMN if s.geometry else ""
                                         for s in self._specs}, self.styles)
            _index_photo_paths(self._ds, gpkg_surface.storage_defs(self._specs))
            self._ds.FlushCache()
            self._close()
            try:
                gpkg_surface.load_values(self.tmp, self._values)
            except sqlite3.Error as exc:  # a full disk, say: reported as GDAL's would be
                raise GeoPackageError(f"cannot store the probability surface in "
                                      f"{self.tmp}: {exc}") from None
            _check_written(self.tmp, self.cells.num_levels, self.n_preds, self.n_fails,
                           self._values.rows)
            self._values.remove()
        except BaseException:
            self.abort()
            raise
        return Staged(((self.tmp, self.path),), self.path)

    def _close(self) -> None:
        self._attention = None
        self._layers.clear()
        self._shapes.clear()
        self._ds = None  # closes the file: SQLite finishes writing here

    def abort(self) -> None:
        self._close()
        if self._values is not None:
            self._values.remove()
        _remove_quietly(self.tmp)


def _index_photo_paths(ds, specs: Sequence[LayerDef]) -> None:
    """An index on ``photo_path`` of every layer that has one.  QGIS reads a large run
    one photo at a time (the dock's result, the layers that draw the shown photo only,
    the case report); without the index each such read scans the layer, and the regions
    of 10,000 uncertain photos are gigabytes of polygons that SQLite walks through to
    reach the column.  Measured in docs/SPEED.md ("QGIS")."""
    for spec in specs:
        if not any(f.name == "photo_path" for f in spec.fields):
            continue
        _execute(ds, f'CREATE INDEX IF NOT EXISTS "{spec.name}_photo_path" '
                     f'ON "{spec.name}" (photo_path)', f"index {spec.name}.photo_path")


def _execute(ds, sql: str, what: str) -> None:
    """One SQL statement that returns nothing; a GDAL error raises (``_fail`` quotes it),
    as ExecuteSQL itself only logs it."""
    gdal.ErrorReset()
    ds.ExecuteSQL(sql)
    if gdal.GetLastErrorType() >= gdal.CE_Failure:
        raise _fail(f"cannot {what}")


def write_geopackage(path, predictions: Sequence[Prediction],
                     failures: Sequence[PhotoFailure], cells: CellHierarchy, run: RunInfo,
                     styles: dict[str, str] | None = None, *,
                     is_cancelled: Callable[[], bool] | None = None) -> Path:
    """Write every output layer to `path` (replaced atomically); returns the absolute path.

    On any error (or when ``is_cancelled()`` turns true, checked between layers and every
    few hundred features) the temporary file is removed, `path` is left as it was and
    the exception propagates (``WriteCancelled`` for a cancel).
    """
    with GeoPackageWriter(path, cells, run, styles, is_cancelled) as writer:
        preds = list(predictions)
        writer.add(preds, failures,
                   regions=schema.photo_regions(preds, cells.finest_tokens()))
        return writer.commit()


def _check_written(tmp: Path, num_levels: int, n_preds: int, n_fails: int,
                   n_values: int) -> None:
    """Re-open the finished temporary file: a file that OGR cannot read back must not
    replace a good one."""
    ds = ogr.Open(str(tmp))
    if ds is None:
        raise _fail(f"the GeoPackage just written cannot be opened ({tmp})")
    names = {ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())}
    missing = [s.name for s in schema.layer_defs(num_levels) if s.name not in names]
    if missing:
        raise GeoPackageError(f"layers missing from the written GeoPackage: {missing}")
    counts = (ds.GetLayerByName(schema.PREDICTIONS).GetFeatureCount(),
              ds.GetLayerByName(schema.FAILURES).GetFeatureCount(),
              ds.GetLayerByName(gpkg_surface.VALUES_DEF.name).GetFeatureCount())
    if counts != (n_preds, n_fails, n_values):
        raise GeoPackageError(f"GeoPackage holds {counts} predictions/failures/surface "
                              f"values, expected {(n_preds, n_fails, n_values)}")
