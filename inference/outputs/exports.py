"""Exports colleagues can open: a finished run's GeoPackage as KML, KMZ or GeoJSON.

The run GeoPackage stays the one full record; an export carries what a person needs to
look at a result without QGIS: the predictions, the top-k candidates and the credible
regions (and the constraints, when the run had any), every attribute, plus a readable
``name`` and ``description`` per feature (see ``export_labels``).

* Written by GDAL's own drivers: LIBKML for .kml and .kmz (the older KML driver for a
  .kml where a GDAL lacks LIBKML), GeoJSON with ``RFC7946=YES`` (WGS 84 lon/lat, no
  ``crs`` member, right-hand polygons).  A KMZ is LIBKML's own: ``doc.kml`` links one
  file per layer under ``layers/``.  (One ``doc.kml`` holding everything, zipped through
  ``/vsizip/``, reads as well in Google Earth, but GDAL 3.6 then loses every attribute
  when it reads the KMZ back, and so would QGIS.)
* KML keeps one folder per layer, named as in the GeoPackage; points and regions carry a
  style (Google Earth's default white polygon fill would hide the map).
* A GeoJSON file holds one FeatureCollection, so every feature says in its ``layer``
  property which layer of the run it comes from ("predictions", "candidates",
  "regions", "constraints").
* Date-times become ISO 8601 text (KML has no date-time type); ``photo_relpath`` is
  recomputed for the export's own folder, so the photos beside it are found.
* Atomic like the GeoPackage: written to a temporary sibling, read back and checked, then
  moved onto the target with ``os.replace``; a failure leaves no half file and the
  previous file byte for byte.

No QGIS, shapely or torch here: the plugin calls this on QGIS's own GDAL.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osgeo import gdal, ogr

from . import export_labels as labels
from .files import remove_quietly, temp_sibling
from .srs import wgs84
from .layer_names import CANDIDATES, CONSTRAINTS, PREDICTIONS, REGIONS, RUN_INFO

EXPORT_FORMATS = {".kml": "LIBKML", ".kmz": "LIBKML", ".geojson": "GeoJSON"}
FALLBACK_DRIVERS = {".kml": "KML"}  # plain KML (outlines only) where LIBKML is missing
FORMAT_NAMES = {".kml": "KML (Google Earth)", ".kmz": "KMZ (zipped KML, Google Earth)",
                ".geojson": "GeoJSON (RFC 7946)"}
EXPORTED_LAYERS = (PREDICTIONS, CANDIDATES, REGIONS, CONSTRAINTS)
GEOJSON_LAYER = "geodecoder_run"
LAYER_PROPERTY = "layer"  # GeoJSON: the run layer a feature comes from
NAME_FIELD, DESCRIPTION_FIELD = "name", "description"
_DATE_TYPES = (ogr.OFTDateTime, ogr.OFTDate, ogr.OFTTime)
_CHECK_EVERY = 50  # features between two cancel checks (a region can be thousands of points)
_LAYER_NOTES = {
    PREDICTIONS: "One point per photo: the model's best guess. " + labels.POINT_CAVEAT,
    CANDIDATES: "The top-k cells of each photo (rank 1 = the best guess). "
                + labels.POINT_CAVEAT,
    REGIONS: "The 50 % and 90 % credible regions of each photo. " + labels.REGION_CAVEAT,
    CONSTRAINTS: "The constraints the run applied (areas, the sun's band of places).",
}
_ICONS = "http://maps.google.com/mapfiles/kml"  # Google Earth's own icon set
_STYLES = {
    PREDICTIONS: f'SYMBOL(id:"{_ICONS}/paddle/red-circle.png",s:1.1)',
    CANDIDATES: f'SYMBOL(id:"{_ICONS}/shapes/placemark_circle.png",c:#ffd700ff,s:0.8)',
    "region50": "PEN(c:#d7301fff,w:2px);BRUSH(fc:#d7301f50)",
    "region90": "PEN(c:#fc8d59ff,w:1.5px);BRUSH(fc:#fc8d5928)",
    "include": "PEN(c:#1a9850ff,w:2px);BRUSH(fc:#1a985000)",
    "exclude": "PEN(c:#636363ff,w:1.5px);BRUSH(fc:#63636360)",
}


class ExportError(RuntimeError):
    """The export could not be written; the target file was left as it was."""


class ExportCancelled(ExportError):
    """The caller's ``is_cancelled`` said stop; the target file was left as it was."""


@dataclass
class _Layer:
    """One layer read from the run: field definitions and features as plain values."""

    name: str
    geom_type: int
    fields: list[tuple[str, int, int]]  # name, OGR type (date-times as String), subtype
    rows: list[tuple[dict[str, Any], Any]] = field(default_factory=list)  # values, geometry


@dataclass
class _Run:
    path: Path
    info: dict[str, str]
    layers: list[_Layer]

    def photos(self) -> dict[str, Mapping[str, Any]]:
        """Prediction attributes by photo path, for the texts of candidates and regions."""
        layer = next((lyr for lyr in self.layers if lyr.name == PREDICTIONS), None)
        rows = layer.rows if layer is not None else []
        return {str(v.get("photo_path")): v for v, _ in rows}


def _fail(what: str) -> ExportError:
    msg = gdal.GetLastErrorMsg()
    return ExportError(f"{what}: {msg}" if msg else what)


def export_driver(path) -> str:
    """The GDAL driver that writes `path`, chosen by its extension; ``ExportError`` names
    the formats known when the extension is not one of them or this GDAL lacks it."""
    ext = Path(path).suffix.lower()
    if ext not in EXPORT_FORMATS:
        known = ", ".join(sorted(EXPORT_FORMATS))
        raise ExportError(f"{path}: unknown export format {ext or '(no extension)'!r}; "
                          f"use one of {known}")
    for name in (EXPORT_FORMATS[ext], FALLBACK_DRIVERS.get(ext)):
        if name and ogr.GetDriverByName(name) is not None:
            return name
    raise ExportError(f"{path}: this GDAL has no {EXPORT_FORMATS[ext]} driver, so it "
                      f"cannot write {ext} files (check 'ogrinfo --formats')")


def check_export_target(path, source=None) -> str:
    """Refuse a target that cannot be written before any work: unknown format, missing
    folder, a folder in the way, the run's own GeoPackage.  Returns the driver name."""
    driver = export_driver(path)
    target = Path(os.path.abspath(os.fspath(path)))
    if target.is_dir():
        raise ExportError(f"{target} is a folder: choose a file name")
    if not target.parent.is_dir():
        raise ExportError(f"the folder of {target} does not exist: create it first")
    if source is not None and Path(os.path.abspath(os.fspath(source))) == target:
        raise ExportError(f"{target} is the run itself: choose another file name")
    return driver


# ------------------------------------------------------------------------- reading


def _iso(feat, i: int) -> str:
    y, mo, d, h, mi, s, tz = feat.GetFieldAsDateTime(i)
    sec = f"{int(s):02d}" if float(s).is_integer() else f"{s:06.3f}"
    zone = "" if tz in (0, 1) else "Z" if tz == 100 else \
        "{}{:02d}:{:02d}".format("+" if tz > 100 else "-", abs(tz - 100) // 4,
                                 abs(tz - 100) % 4 * 15)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec}{zone}"


def _read_layer(layer, path: Path) -> _Layer:
    defn = layer.GetLayerDefn()
    fields = []
    for i in range(defn.GetFieldCount()):
        fd = defn.GetFieldDefn(i)
        kind = fd.GetType()
        fields.append((fd.GetName(), ogr.OFTString if kind in _DATE_TYPES else kind,
                       ogr.OFSTNone if kind in _DATE_TYPES else fd.GetSubType()))
    out = _Layer(layer.GetName(), layer.GetGeomType(), fields)
    gdal.ErrorReset()
    layer.ResetReading()
    for feat in layer:
        values = {}
        for i, (name, _, _) in enumerate(fields):
            if not feat.IsFieldSetAndNotNull(i):
                values[name] = None
            elif defn.GetFieldDefn(i).GetType() in _DATE_TYPES:
                values[name] = _iso(feat, i)
            else:
                values[name] = feat.GetField(i)
        geom = feat.GetGeometryRef()
        out.rows.append((values, geom.Clone() if geom is not None else None))
    if gdal.GetLastErrorType() >= gdal.CE_Failure or len(out.rows) != layer.GetFeatureCount():
        raise _fail(f"cannot read layer {out.name} of {path}")
    return out


def read_run(gpkg_path) -> _Run:
    """The exported layers of a run GeoPackage (``ExportError`` if it is not one)."""
    path = Path(os.path.abspath(os.fspath(gpkg_path)))
    if not path.is_file():
        raise ExportError(f"{path} does not exist")
    gdal.ErrorReset()  # so that _fail quotes this error, not an older one
    ds = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY, allowed_drivers=["GPKG"])
    if ds is None:
        raise _fail(f"{path} cannot be opened as a GeoPackage")
    try:
        names = {ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())}
        if not {PREDICTIONS, RUN_INFO} <= names:
            raise ExportError(f"{path} is not a GeoDecoder run (it has no {PREDICTIONS} "
                              f"and {RUN_INFO} layers)")
        info = {str(v["key"]): str(v["value"] or "")
                for v, _ in _read_layer(ds.GetLayerByName(RUN_INFO), path).rows}
        layers = [_read_layer(ds.GetLayerByName(n), path) for n in EXPORTED_LAYERS
                  if n in names]
        # every run writes a constraints layer; an empty one (no constraint) would only
        # be an empty folder in Google Earth
        layers = [lyr for lyr in layers if lyr.rows or lyr.name != CONSTRAINTS]
    finally:
        ds = None
    return _Run(path, info, layers)


# ------------------------------------------------------------------------- writing


def _texts(layer: str, values: Mapping[str, Any], photos) -> tuple[str, list[str]]:
    photo = photos.get(str(values.get("photo_path")), {})
    if layer == PREDICTIONS:
        return labels.prediction_text(values)
    if layer == CANDIDATES:
        return labels.candidate_text(values, photo)
    if layer == REGIONS:
        return labels.region_text(values, photo)
    return labels.constraint_text(values)


def _style(layer: str, values: Mapping[str, Any]) -> str | None:
    if layer == REGIONS:
        return _STYLES["region50" if (values.get("mass") or 1.0) <= 0.5 else "region90"]
    if layer == CONSTRAINTS:
        return _STYLES["exclude" if values.get("mode") == "exclude" else "include"]
    return _STYLES.get(layer)


def _relative(values: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``photo_relpath`` from the export's folder (the run's may be elsewhere)."""
    if values.get("photo_path") and "photo_relpath" in values:
        try:
            rel = os.path.relpath(str(values["photo_path"]), str(folder))
            values["photo_relpath"] = rel.replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            values["photo_relpath"] = None
    return values


def _add_fields(layer, fields) -> dict[str, int]:
    for name, kind, subtype in fields:
        fd = ogr.FieldDefn(name, kind)
        fd.SetSubType(subtype)
        if layer.CreateField(fd) != 0:
            raise _fail(f"cannot create field {name}")
    defn = layer.GetLayerDefn()
    return {defn.GetFieldDefn(i).GetName(): i for i in range(defn.GetFieldCount())}


def _put(layer, index: dict[str, int], values: Mapping[str, Any], geom,
         style: str | None) -> None:
    feat = ogr.Feature(layer.GetLayerDefn())
    for name, value in values.items():
        i = index.get(name, -1)
        if i < 0:
            continue
        if value is None:
            feat.SetFieldNull(i)
        else:
            feat.SetField(i, value)
    if geom is not None:
        feat.SetGeometry(geom)
    if style:
        feat.SetStyleString(style)
    if layer.CreateFeature(feat) != 0:
        raise _fail(f"cannot write a feature of {layer.GetName()}")


def _summary(run: _Run) -> str:
    i = run.info
    return (f"GeoDecoder run '{run.path.stem}', started {i.get('started') or '?'}: "
            f"model {i.get('model_name', '?')} (version {i.get('model_version', '?')}"
            + (f", digest {i['bundle_digest']}" if i.get("bundle_digest") else "") + "), "
            f"{i.get('predicted', '?')} photo(s) geolocated, {i.get('failures', '0')} "
            f"failed. {labels.POINT_CAVEAT}")


def _check(is_cancelled, n: int) -> None:
    if is_cancelled is not None and n % _CHECK_EVERY == 0 and is_cancelled():
        raise ExportCancelled("export cancelled")


def _write_kml(ds, run: _Run, folder: Path, driver: str, is_cancelled=None) -> None:
    srs, photos = wgs84(_fail), run.photos()
    for src in run.layers:
        options = ([f"DESCRIPTION={_LAYER_NOTES.get(src.name, '')}", "FOLDER=YES"]
                   if driver == "LIBKML" else [])
        layer = ds.CreateLayer(src.name, srs, src.geom_type, options=options)
        if layer is None:
            raise _fail(f"cannot create layer {src.name}")
        index = _add_fields(layer, [(NAME_FIELD, ogr.OFTString, ogr.OFSTNone),
                                    (DESCRIPTION_FIELD, ogr.OFTString, ogr.OFSTNone),
                                    *src.fields])
        for n, (values, geom) in enumerate(src.rows):
            _check(is_cancelled, n)
            name, lines = _texts(src.name, values, photos)
            row = {**_relative(dict(values), folder), NAME_FIELD: name,
                   DESCRIPTION_FIELD: labels.as_html(lines)}
            _put(layer, index, row, geom, _style(src.name, values))


def _write_geojson(ds, run: _Run, folder: Path, is_cancelled=None) -> None:
    fields: dict[str, tuple[str, int, int]] = {}
    for name in (LAYER_PROPERTY, NAME_FIELD, DESCRIPTION_FIELD):
        fields[name] = (name, ogr.OFTString, ogr.OFSTNone)
    for src in run.layers:
        for f in src.fields:  # a name two layers type differently becomes text
            seen = fields.setdefault(f[0], f)
            if seen[1:] != f[1:]:
                fields[f[0]] = (f[0], ogr.OFTString, ogr.OFSTNone)
    description = (_summary(run) + f" Each feature's '{LAYER_PROPERTY}' property names the "
                   "layer of the run it comes from: "
                   + ", ".join(src.name for src in run.layers) + ".")
    layer = ds.CreateLayer(GEOJSON_LAYER, wgs84(_fail), ogr.wkbUnknown,
                           options=["RFC7946=YES", "WRITE_NAME=NO",
                                    f"DESCRIPTION={description}"])
    if layer is None:
        raise _fail("cannot create the GeoJSON layer")
    index = _add_fields(layer, fields.values())
    text_fields = {n for n, kind, _ in fields.values() if kind == ogr.OFTString}
    photos = run.photos()
    for src in run.layers:
        for n, (values, geom) in enumerate(src.rows):
            _check(is_cancelled, n)
            name, lines = _texts(src.name, values, photos)
            row = {k: (str(v) if k in text_fields and v is not None else v)
                   for k, v in _relative(dict(values), folder).items()}
            row.update({LAYER_PROPERTY: src.name, NAME_FIELD: name,
                        DESCRIPTION_FIELD: labels.as_text(lines)})
            _put(layer, index, row, geom, None)


def _check_written(tmp: Path, driver: str, run: _Run) -> None:
    """Read the finished file back: one that GDAL cannot read, or that lost features,
    must not replace a good one."""
    gdal.ErrorReset()
    ds = gdal.OpenEx(str(tmp), gdal.OF_VECTOR | gdal.OF_READONLY,
                     allowed_drivers=[driver])
    if ds is None:
        raise _fail(f"the file just written cannot be read back ({tmp})")
    try:
        if driver == "GeoJSON":
            expected = {GEOJSON_LAYER: sum(len(src.rows) for src in run.layers)}
            got = {GEOJSON_LAYER: ds.GetLayer(0).GetFeatureCount() if ds.GetLayerCount()
                   else -1}
        else:
            expected = {src.name: len(src.rows) for src in run.layers}
            got = {}
            for name in expected:
                layer = ds.GetLayerByName(name)
                got[name] = layer.GetFeatureCount() if layer is not None else -1
    finally:
        ds = None
    if got != expected:
        raise ExportError(f"the export holds {got} features, expected {expected}")


def export_run(gpkg_path, out_path,
               is_cancelled: Callable[[], bool] | None = None) -> Path:
    """Write the run GeoPackage `gpkg_path` to `out_path` as KML, KMZ or GeoJSON (by
    extension); returns the absolute path.  Raises ``ExportError`` (the target left as it
    was, no temporary file left) when the run cannot be read or the file written, and
    ``ExportCancelled`` when ``is_cancelled()`` turns true (checked every few features)."""
    out = Path(os.path.abspath(os.fspath(out_path)))
    driver_name = check_export_target(out, gpkg_path)
    run = read_run(gpkg_path)
    tmp = temp_sibling(out, out.suffix)
    ds = None
    try:
        gdal.ErrorReset()
        ds = ogr.GetDriverByName(driver_name).CreateDataSource(
            str(tmp), options=[f"NAME={run.path.stem}", f"DESCRIPTION={_summary(run)}"]
            if driver_name == "LIBKML" else [])
        if ds is None:
            raise _fail(f"cannot create {tmp}")
        if driver_name == "GeoJSON":
            _write_geojson(ds, run, out.parent, is_cancelled)
        else:
            _write_kml(ds, run, out.parent, driver_name, is_cancelled)
        gdal.ErrorReset()
        ds = None  # closing writes the file (LIBKML writes everything here)
        if gdal.GetLastErrorType() >= gdal.CE_Failure:
            raise _fail(f"cannot finish {tmp}")
        _check_written(tmp, driver_name, run)
        os.replace(tmp, out)
    except BaseException as exc:
        # the traceback's frames hold the dataset open (LIBKML would write the file when
        # they go, after the removal; Windows cannot remove an open file): clear them
        traceback.clear_frames(exc.__traceback__)
        ds = None
        remove_quietly(tmp)
        if isinstance(exc, ExportError) or not isinstance(exc, (RuntimeError, OSError)):
            raise
        # GDAL's own error (exceptions on) or the rename
        raise ExportError(f"cannot write {out}: {exc}") from exc
    return out
