"""Exports colleagues can open: a finished run's GeoPackage as KML, KMZ or GeoJSON.

The run GeoPackage stays the one full record; an export carries what a person needs to
look at a result without QGIS: the predictions, the top-k candidates and the credible
regions (and the constraints, when the run had any), every attribute, plus a readable
``name`` and ``description`` per feature (see ``export_labels``).

* KML and KMZ are written here, as text, one feature at a time: memory stays flat however
  large the run (GDAL's LIBKML driver built the whole document in memory and wrote it
  when closed: a run of 520 photos took over 23 minutes at 1.2-1.6 GB and had not
  finished, issue 21.7), and every string is escaped as XML character data (LIBKML
  wrapped text in CDATA, which a name holding ``]]>`` ended: no file at all, issue
  21.4; see ``xml_text``).  The layout is LIBKML's, so GDAL and QGIS read the files
  back exactly as before: a ``Schema`` per layer, ``ExtendedData`` with every attribute,
  an inline ``Style``; a KMZ is ``doc.kml`` linking one file per layer under
  ``layers/``.  (One ``doc.kml`` holding everything reads as well in Google Earth, but
  GDAL 3.6, and so QGIS, then loses every attribute when it reads the KMZ back.)
* Region and constraint polygons are simplified (``SIMPLIFY_DEG``, validity kept) in
  every export: the default model's regions are multipolygons of thousands of vertices
  each, which made a 5,000-photo export gigabytes and minutes long, and which a viewer
  does not see at that scale.  The run's GeoPackage keeps them exact: it is the record.
* GeoJSON by GDAL's driver, streamed, with ``RFC7946=YES`` (WGS 84 lon/lat, no ``crs``
  member, right-hand polygons).  A GeoJSON file holds one FeatureCollection, so every
  feature says in its ``layer`` property which layer of the run it comes from
  ("predictions", "candidates", "regions", "constraints").
* KML keeps one folder per layer, named as in the GeoPackage; points and regions carry a
  style (Google Earth's default white polygon fill would hide the map).
* Date-times become ISO 8601 text (KML has no date-time type); ``photo_relpath`` is
  recomputed for the export's own folder, so the photos beside it are found.
* The run is read one feature at a time too (only the predictions' attributes are kept,
  for the texts of candidates and regions); ``progress(done, total)`` follows the
  features written.
* Atomic like the GeoPackage: written to a temporary sibling, read back and checked (an
  XML parser for KML/KMZ, GDAL for GeoJSON), then moved onto the target; a failure
  leaves no half file and the previous file byte for byte.  ``prepare_export`` stops
  short of the rename, so that ``predict --out x.kml`` publishes the export together
  with the run's other files (``ExportWriter``; ``files.Publication``).

No QGIS, shapely or torch here: the plugin calls this on QGIS's own GDAL.
"""

from __future__ import annotations

import io
import os
import re
import traceback
# parses only the KML just written here (no DTD, no entity): not untrusted XML
import xml.etree.ElementTree as ET  # nosec B405
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osgeo import gdal, ogr

from . import export_labels as labels
from .files import Staged, publish_together, remove_quietly, temp_sibling
from .srs import wgs84
from .layer_names import CANDIDATES, CONSTRAINTS, PREDICTIONS, REGIONS, RUN_INFO
from .writer import RunWriter

EXPORT_FORMATS = {".kml": "KML", ".kmz": "KMZ", ".geojson": "GeoJSON"}
FORMAT_NAMES = {".kml": "KML (Google Earth)", ".kmz": "KMZ (zipped KML, Google Earth)",
                ".geojson": "GeoJSON (RFC 7946)"}
EXPORTED_LAYERS = (PREDICTIONS, CANDIDATES, REGIONS, CONSTRAINTS)
GEOJSON_LAYER = "geodecoder_run"
LAYER_PROPERTY = "layer"  # GeoJSON: the run layer a feature comes from
NAME_FIELD, DESCRIPTION_FIELD = "name", "description"
# Region and constraint polygons are simplified to this many degrees in every export
# (0.01 deg: 1.1 km north-south, less east-west; the run's GeoPackage keeps them exact):
# the 520-photo benchmark run's regions go from 2.2 million vertices to about a sixth,
# no area changes by more than 0.05 % (benchmarks/bench_exports.py, docs/EXPORTS.md).
SIMPLIFY_DEG = 0.01
_DATE_TYPES = (ogr.OFTDateTime, ogr.OFTDate, ogr.OFTTime)
_CHECK_EVERY = 50  # features between two cancel checks and progress calls
_KML_NS = "{http://www.opengis.net/kml/2.2}"
_LAYER_NOTES = {
    PREDICTIONS: "One point per photo: the model's best guess. " + labels.POINT_CAVEAT,
    CANDIDATES: "The top-k cells of each photo (rank 1 = the best guess). "
                + labels.POINT_CAVEAT,
    REGIONS: "The 50 % and 90 % credible regions of each photo. " + labels.REGION_CAVEAT,
    CONSTRAINTS: "The constraints the run applied (areas, the sun's band of places).",
}
_ICONS = "http://maps.google.com/mapfiles/kml"  # Google Earth's own icon set
# key: (icon, icon colour RGBA, icon scale, line RGBA, line width, fill RGBA)
_KML_STYLES = {
    PREDICTIONS: ("paddle/red-circle.png", None, 1.1, None, None, None),
    CANDIDATES: ("shapes/placemark_circle.png", "ffd700ff", 0.8, None, None, None),
    "region50": (None, None, None, "d7301fff", 2, "d7301f50"),
    "region90": (None, None, None, "fc8d59ff", 1.5, "fc8d5928"),
    "include": (None, None, None, "1a9850ff", 2, "1a985000"),
    "exclude": (None, None, None, "636363ff", 1.5, "63636360"),
}


class ExportError(RuntimeError):
    """The export could not be written; the target file was left as it was."""


class ExportCancelled(ExportError):
    """The caller's ``is_cancelled`` said stop; the target file was left as it was."""


@dataclass
class _LayerDef:
    """One layer of the run: its field definitions (date-times as String), its size."""

    name: str
    fields: list[tuple[str, int, int]]  # name, OGR type, subtype
    count: int


@dataclass
class _Layer:
    """One layer read whole (``read_run``, for tests and small runs)."""

    name: str
    fields: list[tuple[str, int, int]]
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


def check_export_target(path, source=None) -> str:
    """Refuse a target that cannot be written before any work: unknown format, missing
    folder, a folder in the way, the run's own GeoPackage.  Returns the format's name."""
    target = Path(os.path.abspath(os.fspath(path)))
    ext = target.suffix.lower()
    if ext not in EXPORT_FORMATS:
        known = ", ".join(sorted(EXPORT_FORMATS))
        raise ExportError(f"{path}: unknown export format {ext or '(no extension)'!r}; "
                          f"use one of {known}")
    if ext == ".geojson" and ogr.GetDriverByName("GeoJSON") is None:
        raise ExportError(f"{path}: this GDAL has no GeoJSON driver, so it cannot write "
                          f"{ext} files (check 'ogrinfo --formats')")
    if target.is_dir():
        raise ExportError(f"{target} is a folder: choose a file name")
    if not target.parent.is_dir():
        raise ExportError(f"the folder of {target} does not exist: create it first")
    if source is not None and Path(os.path.abspath(os.fspath(source))) == target:
        raise ExportError(f"{target} is the run itself: choose another file name")
    return EXPORT_FORMATS[ext]


# ------------------------------------------------------------------------- reading


def _iso(feat, i: int) -> str:
    y, mo, d, h, mi, s, tz = feat.GetFieldAsDateTime(i)
    sec = f"{int(s):02d}" if float(s).is_integer() else f"{s:06.3f}"
    zone = "" if tz in (0, 1) else "Z" if tz == 100 else \
        "{}{:02d}:{:02d}".format("+" if tz > 100 else "-", abs(tz - 100) // 4,
                                 abs(tz - 100) % 4 * 15)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec}{zone}"


def _layer_def(layer) -> _LayerDef:
    defn = layer.GetLayerDefn()
    fields = []
    for i in range(defn.GetFieldCount()):
        fd = defn.GetFieldDefn(i)
        kind = fd.GetType()
        fields.append((fd.GetName(), ogr.OFTString if kind in _DATE_TYPES else kind,
                       ogr.OFSTNone if kind in _DATE_TYPES else fd.GetSubType()))
    return _LayerDef(layer.GetName(), fields, layer.GetFeatureCount())


class _Source:
    """A run GeoPackage open for reading, its layers read one feature at a time
    (``ExportError`` if it is not a run)."""

    def __init__(self, gpkg_path, display_path=None):
        self.path = Path(os.path.abspath(os.fspath(gpkg_path)))
        # the name the run goes by (a run being written is read from its temporary file)
        self.display = Path(os.path.abspath(os.fspath(display_path or gpkg_path)))
        if not self.path.is_file():
            raise ExportError(f"{self.display} does not exist")
        gdal.ErrorReset()  # so that _fail quotes this error, not an older one
        self.ds = gdal.OpenEx(str(self.path), gdal.OF_VECTOR | gdal.OF_READONLY,
                              allowed_drivers=["GPKG"])
        if self.ds is None:
            raise _fail(f"{self.display} cannot be opened as a GeoPackage")
        names = {self.ds.GetLayer(i).GetName() for i in range(self.ds.GetLayerCount())}
        if not {PREDICTIONS, RUN_INFO} <= names:
            self.close()
            raise ExportError(f"{self.display} is not a GeoDecoder run (it has no "
                              f"{PREDICTIONS} and {RUN_INFO} layers)")
        try:
            self.info = {str(v["key"]): str(v["value"] or "") for v, _ in self.rows(RUN_INFO)}
            self.layers = [_layer_def(self.ds.GetLayerByName(n)) for n in EXPORTED_LAYERS
                           if n in names]
            # every run writes a constraints layer; an empty one (no constraint) would
            # only be an empty folder in Google Earth
            self.layers = [lyr for lyr in self.layers if lyr.count or lyr.name != CONSTRAINTS]
            self._photos: dict[str, Mapping[str, Any]] | None = None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.ds = None

    def total(self) -> int:
        return sum(lyr.count for lyr in self.layers)

    def run(self) -> _Run:
        return _Run(self.display, self.info, [])

    def photos(self) -> dict[str, Mapping[str, Any]]:
        """Prediction attributes by photo path, for the texts of candidates and regions
        (attributes only: a few hundred bytes a photo)."""
        if self._photos is None:
            self._photos = {str(v.get("photo_path")): v
                            for v, _ in self.rows(PREDICTIONS, geometry=False)}
        return self._photos

    def rows(self, name: str, geometry: bool = True) -> Iterator[tuple[dict[str, Any], Any]]:
        """The features of layer `name` as (values, geometry), one at a time."""
        layer = self.ds.GetLayerByName(name)
        defn = layer.GetLayerDefn()
        kinds = [(defn.GetFieldDefn(i).GetName(),
                  defn.GetFieldDefn(i).GetType() in _DATE_TYPES)
                 for i in range(defn.GetFieldCount())]
        gdal.ErrorReset()
        layer.ResetReading()
        n = 0
        for feat in layer:
            values = {}
            for i, (fname, is_date) in enumerate(kinds):
                if not feat.IsFieldSetAndNotNull(i):
                    values[fname] = None
                elif is_date:
                    values[fname] = _iso(feat, i)
                else:
                    values[fname] = feat.GetField(i)
            geom = feat.GetGeometryRef() if geometry else None
            n += 1
            yield values, (geom.Clone() if geom is not None else None)
        if gdal.GetLastErrorType() >= gdal.CE_Failure or n != layer.GetFeatureCount():
            raise _fail(f"cannot read layer {name} of {self.display}")


def read_run(gpkg_path) -> _Run:
    """The exported layers of a run GeoPackage, read whole (``ExportError`` if it is not
    one).  The exports themselves stream (``_Source``)."""
    src = _Source(gpkg_path)
    try:
        layers = [_Layer(lyr.name, lyr.fields, list(src.rows(lyr.name)))
                  for lyr in src.layers]
        return _Run(src.path, src.info, layers)
    finally:
        src.close()


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
    """The key of a feature's style in ``_STYLES``."""
    if layer == REGIONS:
        return "region50" if (values.get("mass") or 1.0) <= 0.5 else "region90"
    if layer == CONSTRAINTS:
        return "exclude" if values.get("mode") == "exclude" else "include"
    return layer if layer in _KML_STYLES else None


def _relative(values: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``photo_relpath`` from the export's folder (the run's may be elsewhere)."""
    if values.get("photo_path") and "photo_relpath" in values:
        try:
            rel = os.path.relpath(str(values["photo_path"]), str(folder))
            values["photo_relpath"] = rel.replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            values["photo_relpath"] = None
    return values


def _summary(run: _Run) -> str:
    i = run.info
    return (f"GeoDecoder run '{run.path.stem}', started {i.get('started') or '?'}: "
            f"model {i.get('model_name', '?')} (version {i.get('model_version', '?')}"
            + (f", digest {i['bundle_digest']}" if i.get("bundle_digest") else "") + "), "
            f"{i.get('predicted', '?')} photo(s) geolocated, {i.get('failures', '0')} "
            f"failed. {labels.POINT_CAVEAT}")


class _Progress:
    """Cancel checks and ``progress(done, total)`` calls every few features."""

    def __init__(self, total: int, progress=None, is_cancelled=None):
        self.total, self.done = total, 0
        self.progress, self.is_cancelled = progress, is_cancelled

    def step(self) -> None:
        if self.done % _CHECK_EVERY == 0:
            if self.is_cancelled is not None and self.is_cancelled():
                raise ExportCancelled("export cancelled")
            if self.progress is not None:
                self.progress(self.done, self.total)
        self.done += 1

    def end(self) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total)


# ----------------------------------------------------------------------------- KML

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_KML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n'


def xml_text(value: Any) -> str:
    """`value` as XML character data that every XML parser reads back as it was: ``&``,
    ``<``, ``>`` as entities (never CDATA, which ``]]>`` would end), a carriage return
    as ``&#13;`` (a parser would turn a literal one into a line feed).  The characters
    XML 1.0 cannot carry at all (control characters other than tab and line breaks, lone
    surrogates) become U+FFFD; no photo name of a run has them in practice."""
    text = _NOT_XML.sub("\ufffd", str(value))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _xml_attr(value: Any) -> str:
    return xml_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _kml_color(rgba: str) -> str:
    """"d7301f50" (RGBA, as in OGR styles) -> KML's "501f30d7" (aabbggrr)."""
    r, g, b, a = rgba[0:2], rgba[2:4], rgba[4:6], rgba[6:8]
    return f"{a}{b}{g}{r}"


def _kml_style(key: str) -> str:
    icon, color, scale, line, width, fill = _KML_STYLES[key]
    if icon:
        return ("<Style><IconStyle>" + (f"<color>{_kml_color(color)}</color>" if color else "")
                + f"<scale>{scale}</scale><Icon><href>{_ICONS}/{icon}</href></Icon>"
                "</IconStyle></Style>")
    return (f"<Style><LineStyle><color>{_kml_color(line)}</color><width>{width}</width>"
            f"</LineStyle><PolyStyle><color>{_kml_color(fill)}</color></PolyStyle></Style>")


def _kml_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same double
    return xml_text(value)


def simplified(geom):
    """A polygon geometry with fewer vertices for the exports, at ``SIMPLIFY_DEG``:
    Douglas-Peucker (GEOS), kept when the result is valid (every region of the benchmark
    runs: 6x faster than the topology-preserving variant, the same vertices), else
    GEOS's topology-preserving simplification, else the geometry as it was; a
    multipolygon stays one.  Points and lines are returned as they are."""
    if geom is None or geom.IsEmpty() or ogr.GT_Flatten(geom.GetGeometryType()) not in (
            ogr.wkbPolygon, ogr.wkbMultiPolygon):
        return geom
    for simplify in (geom.Simplify, geom.SimplifyPreserveTopology):
        out = simplify(SIMPLIFY_DEG)
        if out is not None and not out.IsEmpty() and out.IsValid():
            if ogr.GT_Flatten(geom.GetGeometryType()) == ogr.wkbMultiPolygon:
                out = ogr.ForceToMultiPolygon(out)
            return out
    return geom


class _KmlLayerWriter:
    """One layer's Placemarks written as they come (nothing kept in memory)."""

    def __init__(self, out, src: _LayerDef, folder: Path, photos, kmz: bool):
        self.out, self.src, self.folder, self.photos = out, src, folder, photos
        self.kmz = kmz
        self.n = 0

    def schema(self) -> str:
        rows = "".join(f'<SimpleField name="{_xml_attr(name)}" type="{_kml_type(kind)}"/>'
                       for name, kind, _ in self.src.fields)
        return f'<Schema id="{_xml_attr(self.src.name)}.schema">{rows}</Schema>\n'

    def start(self) -> None:
        tag = "Document" if self.kmz else "Folder"
        self.out.write(f'<{tag} id="{_xml_attr(self.src.name)}"><name>'
                       f'{xml_text(self.src.name)}</name><description>'
                       f'{xml_text(_LAYER_NOTES.get(self.src.name, ""))}</description>\n')
        if self.kmz:
            self.out.write(self.schema())

    def put(self, values: dict[str, Any], geom) -> None:
        self.n += 1
        layer = self.src.name
        name, lines = _texts(layer, values, self.photos)
        values = _relative(dict(values), self.folder)
        data = "".join(f'<SimpleData name="{_xml_attr(k)}">{_kml_value(v)}</SimpleData>'
                       for k, v in values.items() if v is not None)
        style = _style(layer, values)
        geom = simplified(geom)
        self.out.write(
            f'<Placemark id="{_xml_attr(layer)}.{self.n}"><name>{xml_text(name)}</name>'
            f"<description>{xml_text(labels.as_html(lines))}</description>"
            + (_kml_style(style) if style else "")
            + f'<ExtendedData><SchemaData schemaUrl="#{_xml_attr(layer)}.schema">{data}'
            "</SchemaData></ExtendedData>"
            + (geom.ExportToKML() if geom is not None else "") + "</Placemark>\n")

    def end(self) -> None:
        self.out.write("</Document>\n" if self.kmz else "</Folder>\n")


def _kml_type(kind: int) -> str:
    return {ogr.OFTInteger: "int", ogr.OFTInteger64: "int",
            ogr.OFTReal: "float"}.get(kind, "string")


def _document_head(run: _Run, doc_id: str = "root_doc") -> str:
    return (f'{_KML_HEAD}<Document id="{doc_id}"><name>{xml_text(run.path.stem)}</name>'
            f"<description>{xml_text(_summary(run))}</description>\n")


def _write_kml(tmp: Path, src: _Source, folder: Path, ticker: _Progress) -> None:
    run, photos = src.run(), src.photos()
    with open(tmp, "w", encoding="utf-8", newline="\n") as out:
        out.write(_document_head(run))
        writers = [_KmlLayerWriter(out, lyr, folder, photos, False) for lyr in src.layers]
        for w in writers:
            out.write(w.schema())
        for w in writers:
            w.start()
            for values, geom in src.rows(w.src.name):
                ticker.step()
                w.put(values, geom)
            w.end()
        out.write("</Document>\n</kml>\n")


def _write_kmz(tmp: Path, src: _Source, folder: Path, ticker: _Progress) -> None:
    """LIBKML's layout: ``doc.kml`` links ``layers/<layer>.kml``, one per layer."""
    run, photos = src.run(), src.photos()
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        links = "".join(f"<NetworkLink><Link><href>layers/{xml_text(lyr.name)}.kml</href>"
                        "</Link></NetworkLink>\n" for lyr in src.layers)
        z.writestr("doc.kml", _document_head(run) + links + "</Document>\n</kml>\n")
        for lyr in src.layers:
            with z.open(f"layers/{lyr.name}.kml", "w", force_zip64=True) as raw, \
                    io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as out:
                out.write(_KML_HEAD)
                w = _KmlLayerWriter(out, lyr, folder, photos, True)
                w.start()
                for values, geom in src.rows(lyr.name):
                    ticker.step()
                    w.put(values, geom)
                w.end()
                out.write("</kml>\n")


def _kml_counts(stream) -> dict[str, int]:
    """Placemarks per layer, read with an XML parser as it streams by (malformed XML
    raises ``ET.ParseError``)."""
    counts: dict[str, int] = {}
    for _, elem in ET.iterparse(stream, events=("end",)):  # nosec B314
        if elem.tag == f"{_KML_NS}Placemark":
            layer = (elem.get("id") or "").rsplit(".", 1)[0]
            counts[layer] = counts.get(layer, 0) + 1
            elem.clear()
    return counts


def _check_kml(tmp: Path, kmz: bool, expected: dict[str, int]) -> None:
    """Read the finished file back with an XML parser: one that is not well-formed, or
    that lost features, must not replace a good one."""
    try:
        if kmz:
            got: dict[str, int] = {}
            with zipfile.ZipFile(tmp) as z:
                for name in z.namelist():
                    with z.open(name) as fh:
                        got.update(_kml_counts(fh))
        else:
            got = _kml_counts(str(tmp))
    except (ET.ParseError, zipfile.BadZipFile) as exc:
        raise ExportError(f"the file just written is not well-formed KML ({tmp}): "
                          f"{exc}") from None
    got = {k: v for k, v in got.items() if v}
    want = {k: v for k, v in expected.items() if v}
    if got != want:
        raise ExportError(f"the export holds {got} features, expected {want}")


# ------------------------------------------------------------------------- GeoJSON


def _add_fields(layer, fields) -> dict[str, int]:
    for name, kind, subtype in fields:
        fd = ogr.FieldDefn(name, kind)
        fd.SetSubType(subtype)
        if layer.CreateField(fd) != 0:
            raise _fail(f"cannot create field {name}")
    defn = layer.GetLayerDefn()
    return {defn.GetFieldDefn(i).GetName(): i for i in range(defn.GetFieldCount())}


def _put(layer, index: dict[str, int], values: Mapping[str, Any], geom) -> None:
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
    if layer.CreateFeature(feat) != 0:
        raise _fail(f"cannot write a feature of {layer.GetName()}")


def _write_geojson(tmp: Path, src: _Source, folder: Path, ticker: _Progress) -> None:
    run = src.run()
    gdal.ErrorReset()
    ds = ogr.GetDriverByName("GeoJSON").CreateDataSource(str(tmp))
    if ds is None:
        raise _fail(f"cannot create {tmp}")
    try:
        fields: dict[str, tuple[str, int, int]] = {}
        for name in (LAYER_PROPERTY, NAME_FIELD, DESCRIPTION_FIELD):
            fields[name] = (name, ogr.OFTString, ogr.OFSTNone)
        for lyr in src.layers:
            for f in lyr.fields:  # a name two layers type differently becomes text
                seen = fields.setdefault(f[0], f)
                if seen[1:] != f[1:]:
                    fields[f[0]] = (f[0], ogr.OFTString, ogr.OFSTNone)
        description = (_summary(run) + f" Each feature's '{LAYER_PROPERTY}' property names "
                       "the layer of the run it comes from: "
                       + ", ".join(lyr.name for lyr in src.layers) + ".")
        layer = ds.CreateLayer(GEOJSON_LAYER, wgs84(_fail), ogr.wkbUnknown,
                               options=["RFC7946=YES", "WRITE_NAME=NO",
                                        f"DESCRIPTION={description}"])
        if layer is None:
            raise _fail("cannot create the GeoJSON layer")
        index = _add_fields(layer, fields.values())
        text_fields = {n for n, kind, _ in fields.values() if kind == ogr.OFTString}
        photos = src.photos()
        for lyr in src.layers:
            for values, geom in src.rows(lyr.name):
                ticker.step()
                name, lines = _texts(lyr.name, values, photos)
                row = {k: (str(v) if k in text_fields and v is not None else v)
                       for k, v in _relative(dict(values), folder).items()}
                row.update({LAYER_PROPERTY: lyr.name, NAME_FIELD: name,
                            DESCRIPTION_FIELD: labels.as_text(lines)})
                _put(layer, index, row, simplified(geom))
        gdal.ErrorReset()
    finally:
        ds = None  # closing finishes the file
    if gdal.GetLastErrorType() >= gdal.CE_Failure:
        raise _fail(f"cannot finish {tmp}")


def _check_geojson(tmp: Path, expected: int) -> None:
    """Read the finished file back with GDAL: one it cannot read, or that lost
    features, must not replace a good one."""
    gdal.ErrorReset()
    ds = gdal.OpenEx(str(tmp), gdal.OF_VECTOR | gdal.OF_READONLY,
                     allowed_drivers=["GeoJSON"])
    if ds is None:
        raise _fail(f"the file just written cannot be read back ({tmp})")
    try:
        got = ds.GetLayer(0).GetFeatureCount() if ds.GetLayerCount() else -1
    finally:
        ds = None
    if got != expected:
        raise ExportError(f"the export holds {got} features, expected {expected}")


# -------------------------------------------------------------------------- export


_WRITERS = {"KML": (_write_kml, False), "KMZ": (_write_kmz, True),
            "GeoJSON": (_write_geojson, None)}


def prepare_export(gpkg_path, out_path, *, progress: Callable[[int, int], None] | None = None,
                   is_cancelled: Callable[[], bool] | None = None,
                   run_name=None) -> Staged:
    """Everything ``export_run`` does short of the rename: the export finished and
    checked under a temporary sibling of `out_path`, returned as a ``files.Staged``
    (its one rename, and the target).  `run_name`: the run's own path when `gpkg_path`
    is a run still under its temporary name (``ExportWriter``).  Raises as
    ``export_run``; on any error no temporary file is left."""
    out = Path(os.path.abspath(os.fspath(out_path)))
    kind = check_export_target(out, gpkg_path)
    src = _Source(gpkg_path, run_name)
    tmp = temp_sibling(out, out.suffix)
    try:
        ticker = _Progress(src.total(), progress, is_cancelled)
        write, kmz = _WRITERS[kind]
        write(tmp, src, out.parent, ticker)
        ticker.end()
        expected = {lyr.name: lyr.count for lyr in src.layers}
        if kmz is None:
            _check_geojson(tmp, sum(expected.values()))
        else:
            _check_kml(tmp, kmz, expected)
    except BaseException as exc:
        # the traceback's frames hold the datasets open (Windows cannot remove an open
        # file): clear them
        traceback.clear_frames(exc.__traceback__)
        src.close()
        remove_quietly(tmp)
        if isinstance(exc, ExportError) or not isinstance(exc, (RuntimeError, OSError)):
            raise
        # GDAL's own error (exceptions on) or the file system's
        raise ExportError(f"cannot write {out}: {exc}") from exc
    src.close()
    return Staged(((tmp, out),), out)


def export_run(gpkg_path, out_path,
               is_cancelled: Callable[[], bool] | None = None,
               progress: Callable[[int, int], None] | None = None) -> Path:
    """Write the run GeoPackage `gpkg_path` to `out_path` as KML, KMZ or GeoJSON (by
    extension); returns the absolute path.  Raises ``ExportError`` (the target left as it
    was, no temporary file left) when the run cannot be read or the file written, and
    ``ExportCancelled`` when ``is_cancelled()`` turns true (checked every few features).
    ``progress(done, total)``: features written so far, of all."""
    staged = prepare_export(gpkg_path, out_path, progress=progress,
                            is_cancelled=is_cancelled)
    try:
        publish_together(staged.renames)
    except OSError as exc:
        remove_quietly(*(t for t, _ in staged.renames))
        raise ExportError(f"cannot write {staged.result}: {exc}") from exc
    return staged.result


class ExportWriter(RunWriter):
    """An export as one more output of a run (``run.run_photos``): it takes no chunk;
    its ``prepare`` writes the export from the run's GeoPackage once that is finished
    under its temporary name (`source()`: that writer's temporary file, `run_path` its
    final name), and the export is renamed together with the run's other files, so a
    run stopped or failed at any point leaves the previous export as it was."""

    def __init__(self, path, source: Callable[[], Path], run_path,
                 progress: Callable[[int, int], None] | None = None):
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.source, self.run_path, self.progress = source, run_path, progress
        self._staged: Staged | None = None

    def add(self, predictions, failures=(), *, regions, places=None) -> None:
        pass  # made from the finished GeoPackage

    def prepare(self, run=None) -> Staged:
        self._staged = prepare_export(self.source(), self.path, progress=self.progress,
                                      run_name=self.run_path)
        return self._staged

    def abort(self) -> None:
        if self._staged is not None:
            remove_quietly(*(t for t, _ in self._staged.renames))
