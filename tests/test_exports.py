"""Exports colleagues can open (issue 9): a run as KML, KMZ and GeoJSON, read back with
GDAL and compared with the run's GeoPackage, on the sample photos and the default model.
"""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from osgeo import gdal, ogr

from inference.__main__ import main
from inference.modeling.defaults import default_bundle_path
from inference.outputs.export_labels import percent
from inference.outputs.exports import (CONSTRAINTS, SIMPLIFY_DEG, LAYER_PROPERTY,
                                       ExportCancelled, ExportError, export_run)
from inference.outputs.layer_names import CANDIDATES, PREDICTIONS, REGIONS
from tests.photo_factory import make_jpeg

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "resources" / "samples"
RUN_LAYERS = (PREDICTIONS, CANDIDATES, REGIONS)
FORMATS = (".kml", ".kmz", ".geojson")
KML = "{http://www.opengis.net/kml/2.2}"
_DEFAULT_CONFIG = REPO / "resources" / "models" / "default" / "config.json"
DEFAULT_DIGEST = (json.loads(_DEFAULT_CONFIG.read_text())["digest"]
                  if _DEFAULT_CONFIG.is_file() else "")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    """The sample photos predicted once by the default model, through the command line
    with three --out values; the KMZ is exported from the GeoPackage afterwards."""
    if default_bundle_path() is None:
        pytest.skip("no default model in resources/models/default")
    folder = tmp_path_factory.mktemp("exports")
    outs = {ext: folder / f"run{ext}" for ext in (".gpkg", ".kml", ".geojson")}
    args = ["predict", str(SAMPLES), "--quiet", "--device", "cpu"]
    for path in outs.values():
        args += ["--out", str(path)]
    assert main(args) == 0
    outs[".kmz"] = export_run(outs[".gpkg"], folder / "run.kmz")
    return outs


def _when(feat, i: int) -> datetime:
    y, mo, d, h, mi, s, tz = feat.GetFieldAsDateTime(i)
    zone = timezone.utc if tz in (0, 1, 100) else timezone(timedelta(minutes=15 * (tz - 100)))
    return datetime(y, mo, d, h, mi, int(s), tzinfo=zone)


def read(path, layer: str, geojson: bool = False) -> list[dict]:
    """Features of one layer as {field: value}, plus "_geom" and "_style"; a GeoJSON's
    features are those whose ``layer`` property names `layer`."""
    ds = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY)
    assert ds is not None, path
    if geojson:
        assert ds.GetLayerCount() == 1
        lyr = ds.GetLayer(0)
        lyr.SetAttributeFilter(f"{LAYER_PROPERTY} = '{layer}'")
    else:
        lyr = ds.GetLayerByName(layer)
        assert lyr is not None, f"{path} has no layer {layer}"
    rows = []
    for feat in lyr:
        defn = feat.GetDefnRef()
        row = {}
        for i in range(defn.GetFieldCount()):
            fd = defn.GetFieldDefn(i)
            if not feat.IsFieldSetAndNotNull(i):
                row[fd.GetName()] = None
            elif fd.GetType() == ogr.OFTDateTime:
                row[fd.GetName()] = _when(feat, i)
            else:
                row[fd.GetName()] = feat.GetField(i)
        geom = feat.GetGeometryRef()
        row["_geom"] = geom.Clone() if geom is not None else None
        row["_style"] = feat.GetStyleString()
        rows.append(row)
    ds = None
    return rows


def _same(expected, got, what: str) -> None:
    if isinstance(expected, datetime):
        if isinstance(got, str):
            got = datetime.fromisoformat(got.replace("Z", "+00:00"))
        assert got == expected, what
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), what
    else:
        assert got == expected, what


def _vertices(geom) -> int:
    return geom.GetPointCount() + sum(_vertices(geom.GetGeometryRef(i))
                                      for i in range(geom.GetGeometryCount()))


@pytest.mark.parametrize("ext", FORMATS)
def test_each_export_holds_the_run_layers_with_their_values(run, ext):
    for layer in RUN_LAYERS:
        want = read(run[".gpkg"], layer)
        got = read(run[ext], layer, geojson=ext == ".geojson")
        assert len(got) == len(want) > 0, layer
        for i, (w, g) in enumerate(zip(want, got)):
            for name, value in w.items():
                if name.startswith("_"):
                    continue
                assert name in g, f"{ext} {layer} lacks {name}"
                _same(value, g[name], f"{ext} {layer}[{i}].{name}")
            wg, gg = w["_geom"], g["_geom"]
            if layer == REGIONS:  # simplified to SIMPLIFY_DEG, valid, parts kept
                assert gg.IsValid() and gg.GetGeometryCount() == wg.GetGeometryCount()
                assert gg.GetArea() == pytest.approx(wg.GetArea(), rel=2e-3)
                assert gg.SymDifference(wg).GetArea() < 0.01 * wg.GetArea()
                assert wg.Buffer(SIMPLIFY_DEG * 1.01).Contains(gg)
                assert _vertices(gg) < _vertices(wg) / 2
            else:
                assert (gg.GetX(), gg.GetY()) == pytest.approx((wg.GetX(), wg.GetY()),
                                                               abs=1e-7)


def test_the_command_line_wrote_every_out_and_nothing_else(run):
    folder = run[".gpkg"].parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "run.geojson", "run.gpkg", "run.kml", "run.kmz"]


def _region_where(values) -> str:
    """The continents the run recorded for the 50 % region, as a name says them."""
    assert values["region50_continent"], values["file_name"]
    return " or ".join(values["region50_continent"].split("; "))


@pytest.mark.parametrize("ext", (".kml", ".kmz"))
def test_google_earth_reads_a_name_and_a_description_per_feature(run, ext):
    predictions = read(run[".gpkg"], PREDICTIONS)
    by_photo = {p["photo_path"]: p for p in predictions}
    for want, got in zip(predictions, read(run[ext], PREDICTIONS)):
        # the default model's points are not trustworthy: the name gives the region
        # (issue 20), the nearest town only the description
        assert f"somewhere in {_region_where(want)}" in got["Name"]
        assert want["place"] and f"Nearest town to the point: {want['place']}" in \
            got["description"]
        assert "Rough point: " in got["description"]
        assert want["file_name"] in got["Name"]
        for part in (want["place"], percent(want["confidence"]), want["model_name"],
                     want["file_name"], want["sha256"], "not a GPS fix",
                     f"Model digest (SHA-256): {DEFAULT_DIGEST}"):
            assert part in got["description"], (part, got["description"])
        assert got["bundle_digest"] == want["bundle_digest"] == DEFAULT_DIGEST
        assert "red-circle" in got["_style"]
    for want, got in zip(read(run[".gpkg"], CANDIDATES), read(run[ext], CANDIDATES)):
        photo = by_photo[want["photo_path"]]
        assert got["Name"].startswith(f"#{want['rank']} {want['place']}")
        for part in (want["place"], percent(want["probability"]), photo["sha256"],
                     photo["model_name"], "not a GPS fix", DEFAULT_DIGEST):
            assert part in got["description"], (part, got["description"])
    for want, got in zip(read(run[".gpkg"], REGIONS), read(run[ext], REGIONS)):
        assert got["Name"] == f"{want['file_name']}: {100 * want['mass']:.0f} % credible region"
        assert by_photo[want["photo_path"]]["sha256"] in got["description"]
        assert got["_geom"].GetGeometryType() in (ogr.wkbMultiPolygon, ogr.wkbMultiPolygon25D)
        fill = got["_style"].split("BRUSH(fc:#")[1][:8]
        assert int(fill[6:], 16) < 0x80, f"an opaque fill hides the map: {got['_style']}"


def test_the_kml_folders_hold_placemarks_with_polygons(run):
    root = ET.parse(run[".kml"]).getroot()
    folders = {f.get("id"): f for f in root.iter(f"{KML}Folder")}
    assert set(folders) == set(RUN_LAYERS)
    for layer in RUN_LAYERS:
        assert len(folders[layer].findall(f"{KML}Placemark")) == len(read(run[".gpkg"], layer))
    regions = folders[REGIONS].findall(f"{KML}Placemark")
    assert all(p.find(f".//{KML}Polygon") is not None for p in regions)


def test_a_kmz_is_a_zip_holding_doc_kml_and_its_layers(run):
    with zipfile.ZipFile(run[".kmz"]) as z:
        assert z.namelist()[0] == "doc.kml"
        assert z.testzip() is None
        doc = ET.fromstring(z.read("doc.kml"))
        links = [h.text for h in doc.iter(f"{KML}href")]
        assert links == [f"layers/{layer}.kml" for layer in RUN_LAYERS]
        for layer, link in zip(RUN_LAYERS, links):
            root = ET.fromstring(z.read(link))
            assert root.tag == f"{KML}kml"
            assert len(list(root.iter(f"{KML}Placemark"))) == len(read(run[".gpkg"], layer))
    assert "7 photo(s) geolocated" in doc.find(f".//{KML}description").text
    assert f"digest {DEFAULT_DIGEST}" in doc.find(f".//{KML}description").text


def _positions(coords):
    if coords and isinstance(coords[0], (int, float)):
        yield coords
    else:
        for c in coords:
            yield from _positions(c)


def _signed_area(ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:])) / 2


def test_the_geojson_follows_rfc_7946(run):
    with open(run[".geojson"], encoding="utf-8") as fh:
        doc = json.load(fh)
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc
    counts = {}
    for feat in doc["features"]:
        assert feat["type"] == "Feature"
        layer = feat["properties"][LAYER_PROPERTY]
        counts[layer] = counts.get(layer, 0) + 1
        geom = feat["geometry"]
        for lon, lat, *_ in _positions(geom["coordinates"]):
            assert -180 <= lon <= 180 and -90 <= lat <= 90
        polygons = {"Polygon": [geom["coordinates"]],
                    "MultiPolygon": geom["coordinates"]}.get(geom["type"], [])
        for rings in polygons:  # right-hand rule: exterior counterclockwise, holes not
            assert _signed_area(rings[0]) > 0
            assert all(_signed_area(hole) < 0 for hole in rings[1:])
        assert geom["type"] == ("Point" if layer != REGIONS else geom["type"])
    assert counts == {layer: len(read(run[".gpkg"], layer)) for layer in RUN_LAYERS}
    assert "'layer' property" in doc["description"]


# ------------------------------------------------------------------------ failures


def _not_a_run(folder: Path) -> Path:
    path = folder / "other.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    ds.CreateLayer("roads", None, ogr.wkbLineString)
    ds = None
    return path


def _truncated(folder: Path, run) -> Path:
    path = folder / "truncated.gpkg"
    data = run[".gpkg"].read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


@pytest.mark.parametrize("case", ["not a run", "no such run", "truncated run",
                                  "folder in the way", "missing folder", "unknown format",
                                  "name too long for its temporary sibling"])
@pytest.mark.parametrize("ext", FORMATS)
def test_a_failed_export_leaves_the_old_file_and_no_temporary(run, tmp_path, case, ext):
    src_dir, out_dir = tmp_path / "src", tmp_path / "out"
    src_dir.mkdir()
    out_dir.mkdir()
    source, target = run[".gpkg"], out_dir / f"old{ext}"
    if case == "not a run":
        source = _not_a_run(src_dir)
    elif case == "no such run":
        source = src_dir / "gone.gpkg"
    elif case == "truncated run":
        source = _truncated(src_dir, run)
    elif case == "folder in the way":
        target = out_dir / f"folder{ext}"
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    elif case == "missing folder":
        target = out_dir / "no-such-folder" / f"x{ext}"
    elif case == "unknown format":
        target = out_dir / "old.shp"
    else:
        target = out_dir / ("n" * (250 - len(ext)) + ext)  # the file system allows 255
    if target.parent.is_dir() and not target.exists():
        target.write_bytes(b"the colleague's previous export\n")
    before = {p.relative_to(out_dir): p.read_bytes() for p in out_dir.rglob("*")
              if p.is_file()}
    with pytest.raises(ExportError) as err:
        export_run(source, target)
    assert str(err.value).strip() and "\n" not in str(err.value)
    after = {p.relative_to(out_dir): p.read_bytes() for p in out_dir.rglob("*")
             if p.is_file()}
    assert after == before
    assert not [p for p in (*src_dir.iterdir(), *out_dir.rglob("*")) if ".tmp" in p.name]


def test_a_cancelled_export_leaves_the_old_file(run, tmp_path):
    target = tmp_path / "x.kml"
    target.write_text("old")
    asked = []
    with pytest.raises(ExportCancelled):
        export_run(run[".gpkg"], target, is_cancelled=lambda: asked.append(1) or True)
    assert asked and target.read_text() == "old"
    assert os.listdir(tmp_path) == ["x.kml"]


def test_a_successful_export_replaces_the_old_file(run, tmp_path):
    target = tmp_path / "x.geojson"
    target.write_text("old")
    assert export_run(run[".gpkg"], target) == target
    assert json.loads(target.read_text(encoding="utf-8"))["type"] == "FeatureCollection"
    assert os.listdir(tmp_path) == ["x.geojson"]


# -------------------------------------------------------------------- command line


@pytest.mark.parametrize("outs, message", [
    (["x.gpkg", "x.shp"], "unknown output format '.shp'"),
    (["x.kml", "x"], "unknown output format '(no extension)'"),
    (["a.gpkg", "b.gpkg"], "at most one --out may be a GeoPackage"),
    (["x.kml", "x.kml"], "given twice"),
    (["x.kml", "missing/x.geojson"], "does not exist"),
])
def test_bad_outs_exit_2_with_one_line_before_any_work(tmp_path, capsys, outs, message):
    args = ["predict", str(SAMPLES), "--quiet"]
    for out in outs:
        args += ["--out", str(tmp_path / out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_exports_without_a_geopackage_leave_no_scratch_run(tiny_bundle_dir, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    out.mkdir()
    photos.mkdir()
    make_jpeg(photos / "a.jpg", size=(320, 240), gps=(48.8566, 2.3522))
    make_jpeg(photos / "b.jpg", size=(336, 240))
    assert main(["predict", str(photos), "--model", str(tiny_bundle_dir), "--quiet",
                 "--device", "cpu", "--top-k", "3", "--out", str(out / "x.kmz"),
                 "--out", str(out / "x.geojson")]) == 0
    assert sorted(os.listdir(out)) == ["x.geojson", "x.kmz"]
    names = [r["Name"] for r in read(out / "x.kmz", PREDICTIONS)]
    assert sorted(n.split(":")[0] for n in names) == ["a.jpg", "b.jpg"]
    assert len(read(out / "x.geojson", CANDIDATES, geojson=True)) == 6
    relpaths = {r["photo_relpath"] for r in read(out / "x.geojson", PREDICTIONS, True)}
    assert relpaths == {"../photos/a.jpg", "../photos/b.jpg"}  # from the export's folder


def test_an_export_that_fails_leaves_every_previous_output_of_the_run(
        tiny_bundle_dir, tmp_path, capsys):
    """Issue 21.7: the exports are published with the GeoPackage and the CSV, all or
    none: a KML whose temporary name the file system refuses (the export is written
    after the photos) leaves the earlier GeoPackage, CSV and KML byte for byte."""
    photos, out = tmp_path / "photos", tmp_path / "out"
    out.mkdir()
    photos.mkdir()
    make_jpeg(photos / "a.jpg", size=(320, 240), gps=(48.8566, 2.3522))
    kml = out / ("n" * 246 + ".kml")  # fits; its temporary sibling does not
    before = {out / "x.gpkg": b"the previous run\n", out / "x.csv": b"previous,csv\n",
              out / "x_failures.csv": b"previous,failures\n", kml: b"<kml>previous</kml>\n"}
    for path, data in before.items():
        path.write_bytes(data)
    code = main(["predict", str(photos), "--model", str(tiny_bundle_dir), "--quiet",
                 "--device", "cpu", "--out", str(out / "x.gpkg"), "--out", str(kml),
                 "--csv", str(out / "x.csv")])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "nothing was replaced" in errors[0], err
    assert {p: p.read_bytes() for p in out.iterdir()} == before


def test_the_command_line_shows_the_progress_of_its_exports(tiny_bundle_dir, tmp_path,
                                                            capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    make_jpeg(photos / "a.jpg", size=(320, 240))
    assert main(["predict", str(photos), "--model", str(tiny_bundle_dir), "--device", "cpu",
                 "--out", str(tmp_path / "x.kml")]) == 0
    err = capsys.readouterr().err
    assert "export x.kml" in err and "feature" in err, err


# ------------------------------------------------------------------------- variants


def _copy(run, tmp_path) -> Path:
    path = tmp_path / "copy.gpkg"
    shutil.copyfile(run[".gpkg"], path)
    return path


def test_a_run_with_constraints_exports_them_too(run, tmp_path):
    path = _copy(run, tmp_path)
    ds = ogr.Open(str(path), update=1)
    layer = ds.GetLayerByName(CONSTRAINTS)  # every run writes it, empty without constraints
    assert layer is not None and layer.GetFeatureCount() == 0
    feat = ogr.Feature(layer.GetLayerDefn())
    for name, value in (("kind", "area"), ("mode", "exclude"), ("label", "countries: CH"),
                        ("parameters", json.dumps({"countries": ["CH"]}))):
        feat.SetField(name, value)
    feat.SetGeometry(ogr.CreateGeometryFromWkt(
        "MULTIPOLYGON (((6 46,10 46,10 48,6 48,6 46)))"))
    layer.CreateFeature(feat)
    ds = None
    for ext in FORMATS:
        out = export_run(path, tmp_path / f"c{ext}")
        (got,) = read(out, CONSTRAINTS, geojson=ext == ".geojson")
        assert got["label"] == "countries: CH" and got["mode"] == "exclude"
        assert got.get("Name", got.get("name")) == "Constraint: countries: CH (exclude)"
        assert "countries: ['CH']" in got["description"]


def test_a_run_without_predictions_exports_empty_layers(run, tmp_path):
    path = _copy(run, tmp_path)
    ds = ogr.Open(str(path), update=1)
    for name in RUN_LAYERS:
        layer = ds.GetLayerByName(name)
        for fid in [f.GetFID() for f in layer]:
            layer.DeleteFeature(fid)
    ds = None
    for ext in FORMATS:
        out = export_run(path, tmp_path / f"empty{ext}")
        for layer in RUN_LAYERS:
            assert read(out, layer, geojson=ext == ".geojson") == []
    with open(tmp_path / "empty.geojson", encoding="utf-8") as fh:
        assert json.load(fh)["features"] == []


def test_without_libkml_the_kml_is_written_and_gdal_reads_it(run, tmp_path):
    """The KML is written here, not by LIBKML: a GDAL without LIBKML still writes it,
    and its older KML driver reads it back with names and descriptions."""
    libkml = gdal.GetDriverByName("LIBKML")
    if libkml is not None:
        libkml.Deregister()
    try:
        out = export_run(run[".gpkg"], tmp_path / "plain.kml")
        ds = gdal.OpenEx(str(out), gdal.OF_VECTOR, allowed_drivers=["KML"])
        assert ds is not None
        got = [(f.GetField("Name"), f.GetField("Description")) for f in ds.GetLayerByName(
            PREDICTIONS)]
        ds = None
    finally:
        if libkml is not None:  # back before the KML driver, which reads no attribute
            kml = gdal.GetDriverByName("KML")
            kml.Deregister()
            libkml.Register()
            kml.Register()
    want = read(run[".gpkg"], PREDICTIONS)
    assert [name for name, _ in got] == [f"{w['file_name']}: somewhere in {_region_where(w)}"
                                         for w in want]
    assert all(w["sha256"] in text for w, (_, text) in zip(want, got))



# ------------------------------------------------------------------ hostile strings

HOSTILE = {  # issue 21.4: every one must come back from each export as it went in
    "cdata end": "photo ]]> end",
    "quote and less-than": 'say "hi" <b>bold</b>',
    "ampersand": "A&B &amp; co",
    "apostrophe": "l'été d'Ørsted",
    "non-ASCII": "Zürich 東京 Ωmega 😀",
    "newlines": "line one\nline two\r\nline three",
    "markup": "<![CDATA[x]]> <script>alert(1)</script>",
}


def _hostile_copy(run, folder: Path, text: str) -> Path:
    """The run with every string attribute of its exported layers and of run_info's
    model name set to `text` (a value per field, so that fields stay apart), in a file
    whose own name holds `text` (no slash: a file name)."""
    path = folder / f"run {text.replace('/', '_')}.gpkg"
    shutil.copyfile(run[".gpkg"], path)
    ds = ogr.Open(str(path), update=1)
    renamed: dict = {}  # a photo's path, the same in every layer
    for name in RUN_LAYERS:
        layer = ds.GetLayerByName(name)
        defn = layer.GetLayerDefn()
        strings = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())
                   if defn.GetFieldDefn(i).GetType() == ogr.OFTString
                   and defn.GetFieldDefn(i).GetWidth() == 0]  # cell tokens have a width
        feats = list(layer)
        for feat in feats:
            old = feat.GetField("photo_path")
            for field in strings:
                feat.SetField(field, f"{field}={text}")
            feat.SetField("photo_path", renamed.setdefault(
                old, f"/photos/{text}/{len(renamed)}.jpg"))
            assert layer.SetFeature(feat) == 0
    quoted = text.replace("'", "''")
    ds.ExecuteSQL(f"UPDATE run_info SET value = 'model {quoted}' WHERE key = 'model_name'")
    ds = None
    return path


def _kml_documents(path: Path) -> list:
    if path.suffix == ".kmz":
        with zipfile.ZipFile(path) as z:
            return [ET.fromstring(z.read(n)) for n in z.namelist() if n.endswith(".kml")]
    return [ET.parse(path).getroot()]


def _kml_placemarks(path: Path) -> dict:
    """{layer: [{"name":..., "description":..., field: text}]} as an XML parser reads them."""
    out: dict = {}
    for root in _kml_documents(path):
        for pm in root.iter(f"{KML}Placemark"):
            layer = pm.get("id").rsplit(".", 1)[0]
            row = {"name": pm.findtext(f"{KML}name"),
                   "description": pm.findtext(f"{KML}description")}
            for data in pm.iter(f"{KML}SimpleData"):
                row[data.get("name")] = data.text
            out.setdefault(layer, []).append(row)
    return out


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("ext", FORMATS)
def test_every_string_round_trips_through_each_export(run, tmp_path, case, ext):
    from inference.outputs import export_labels as labels
    from inference.outputs.exports import read_run

    text = HOSTILE[case]
    source = _hostile_copy(run, tmp_path, text)
    out = export_run(source, tmp_path / f"x{ext}")
    src = read_run(source)
    photos = src.photos()
    makers = {PREDICTIONS: lambda v: labels.prediction_text(v),
              CANDIDATES: lambda v: labels.candidate_text(v, photos[v["photo_path"]]),
              REGIONS: lambda v: labels.region_text(v, photos[v["photo_path"]])}
    if ext == ".geojson":
        with open(out, encoding="utf-8") as fh:
            doc = json.load(fh)
        got: dict = {}
        for feat in doc["features"]:
            got.setdefault(feat["properties"]["layer"], []).append(feat["properties"])
        assert f"model {text}" in doc["description"]
    else:
        got = _kml_placemarks(out)
        root = _kml_documents(out)[0]
        assert root.find(f"{KML}Document/{KML}name").text == source.stem
        assert f"model {text}" in root.find(f"{KML}Document/{KML}description").text
    for lyr in src.layers:
        if lyr.name == CONSTRAINTS:
            continue
        assert len(got[lyr.name]) == len(lyr.rows) > 0
        for (values, _), row in zip(lyr.rows, got[lyr.name]):
            name, lines = makers[lyr.name](values)
            assert row["name"] == name
            want_text = labels.as_text(lines) if ext == ".geojson" else labels.as_html(lines)
            assert row["description"] == want_text
            for field, value in values.items():
                if isinstance(value, str) and field != "photo_relpath":
                    assert row[field] == value, (field, row[field], value)
    if ext != ".geojson":  # and GDAL (so QGIS) reads the same strings back
        back = read(out, PREDICTIONS)
        assert [r["file_name"] for r in back] == [
            v["file_name"] for v, _ in next(x for x in src.layers if x.name == PREDICTIONS).rows]
        assert all(r["Name"].startswith(f"file_name={text}") for r in back)


def test_characters_xml_cannot_carry_become_a_replacement_character(run, tmp_path):
    """A control character (legal in a Linux file name) has no form in XML 1.0: it is
    written as U+FFFD, and the file stays well-formed (docs/EXPORTS.md)."""
    source = _hostile_copy(run, tmp_path, "bell\x07 and tab\t")
    for ext in (".kml", ".kmz"):
        got = _kml_placemarks(export_run(source, tmp_path / f"x{ext}"))
        assert {r["file_name"] for r in got[PREDICTIONS]} == {"file_name=bell\ufffd and tab\t"}
