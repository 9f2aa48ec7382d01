"""Constraints that reweight the answer: areas, the sun, and what a run records of them."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from osgeo import ogr, osr
from shapely.geometry import Point, box

from inference.constraints import (AreaConstraint, ConstraintError, Constraints,
                                   SunConstraint, area_from_file, area_from_wkt,
                                   countries_area, parse_utc_time)
from inference.constraints.base import sun_from_inputs
from inference.constraints.sun import solar_elevation_deg, sun_band
from inference.constraints.weights import area_shares, cell_weights
from inference.modeling.cell_geometry import cell_polygon
from inference.modeling.defaults import DEFAULT_BUNDLE_DIR, SAMPLES_DIR
from inference.prediction.photo_time import read_photo_time
from tests.photo_factory import make_jpeg

ZURICH = (47.3769, 8.5417)
SYDNEY = (-33.8688, 151.2093)
NOON = "2024-06-01T12:00:00Z"


@pytest.fixture(scope="module")
def default_predictor():
    if not (DEFAULT_BUNDLE_DIR / "config.json").is_file():
        pytest.skip("no default model bundle")
    from inference.modeling.bundle import load_bundle

    return load_bundle(DEFAULT_BUNDLE_DIR)


def _run(bundle, constraints=None, photos=(str(SAMPLES_DIR),)):
    from inference.prediction.predict import Predictor

    predictor = Predictor(bundle, device="cpu", constraints=constraints)
    records = list(predictor.run(list(photos)))
    return predictor, [r for r in records if not hasattr(r, "reason")]


# ----------------------------------------------------------------------------- areas


def test_area_weight_of_a_cell_inside_outside_and_half():
    token = "478f"  # a level-6 cell over central Switzerland
    cell = cell_polygon(token)
    assert area_shares(cell.buffer(0.1), [token])[0] == pytest.approx(1.0)
    assert area_shares(box(100, -10, 110, 0), [token])[0] == 0.0
    x0, y0, x1, y1 = cell.bounds
    west = box(x0 - 1, y0 - 1, (x0 + x1) / 2, y1 + 1)
    assert area_shares(west, [token])[0] == pytest.approx(0.5, abs=0.05)
    # exclude is the complement, through the same allowed-region arithmetic
    excluded = cell_weights(Constraints((AreaConstraint(west, include=False),)), [token])
    assert excluded.weights[0] == pytest.approx(1 - area_shares(west, [token])[0], abs=1e-4)


def test_countries_by_code_name_and_alias_and_unknown_names_get_close_matches():
    ch = countries_area("ch")
    assert ch.geometry.contains(Point(ZURICH[1], ZURICH[0]))
    assert countries_area("Switzerland").geometry.equals(ch.geometry)
    both = countries_area(["CHE", "austria"])
    assert both.label == "countries: CH, AT" and both.include
    assert both.geometry.contains(Point(16.37, 48.21))  # Vienna
    assert countries_area("Czech Republic").label == "countries: CZ"
    assert countries_area("FR").geometry.contains(Point(2.35, 48.85))  # no -99 hole
    with pytest.raises(ConstraintError, match="Switzerland"):
        countries_area("Swizerland")
    with pytest.raises(ConstraintError, match="unknown country 'Atlantis'"):
        countries_area("Atlantis")
    with pytest.raises(ConstraintError, match="no country"):
        countries_area(" , ")


def test_shipped_countries_file_is_small_and_says_where_it_comes_from():
    from inference.constraints.areas import COUNTRIES_PATH

    assert COUNTRIES_PATH.stat().st_size < 1.6e6
    doc = json.loads(COUNTRIES_PATH.read_text(encoding="utf-8"))
    assert "Natural Earth" in doc["source"] and "public domain" in doc["source"]
    codes = {f["properties"]["iso_a2"] for f in doc["features"]}
    assert {"FR", "NO", "XK", "CH", "US"} <= codes
    assert not any(c.startswith("-") for c in codes)
    readme = " ".join((COUNTRIES_PATH.parent / "README.md").read_text(
        encoding="utf-8").replace("*", "").split())
    assert "public domain" in readme and "world_map.gpkg" in readme


def _write_vector(path: Path, polygons, epsg: int) -> Path:
    driver = ogr.GetDriverByName("GPKG" if path.suffix == ".gpkg" else "GeoJSON")
    ds = driver.CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    layer = ds.CreateLayer("zones", srs, ogr.wkbPolygon)
    for poly in polygons:
        feat = ogr.Feature(layer.GetLayerDefn())
        feat.SetGeometry(ogr.CreateGeometryFromWkt(poly.wkt))
        layer.CreateFeature(feat)
    ds = None
    return path


def test_area_file_in_a_projected_crs_is_reprojected(tmp_path):
    # a box around Zurich in Web Mercator metres
    from pyproj import Transformer

    t = Transformer.from_crs(4326, 3857, always_xy=True)
    (x0, y0), (x1, y1) = t.transform(8.0, 47.0), t.transform(9.0, 48.0)
    path = _write_vector(tmp_path / "zones.gpkg", [box(x0, y0, x1, y1)], 3857)
    area = area_from_file(path, include=False)
    assert not area.include and area.label == "area: zones.gpkg" and area.source == "file"
    assert area.geometry.bounds == pytest.approx((8.0, 47.0, 9.0, 48.0), abs=1e-6)


def test_empty_and_pointless_area_files_are_refused(tmp_path):
    empty = _write_vector(tmp_path / "empty.geojson", [], 4326)
    with pytest.raises(ConstraintError, match="empty"):
        area_from_file(empty)
    with pytest.raises(ConstraintError, match="not found"):
        area_from_file(tmp_path / "missing.gpkg")
    with pytest.raises(ConstraintError, match="polygon"):
        area_from_wkt("POINT (1 2)")
    with pytest.raises(ConstraintError, match="WKT"):
        area_from_wkt("POLYGON ((oops")


# ------------------------------------------------------------------------------- sun


def test_sun_band_contains_the_place_it_was_computed_for():
    when = parse_utc_time(NOON)
    elevation = float(solar_elevation_deg(when, *ZURICH))
    assert 60 < elevation < 66  # early June, just after solar noon in Zurich
    sun = SunConstraint.from_elevation(when, elevation, 2.0)
    assert sun_band(sun).contains(Point(ZURICH[1], ZURICH[0]))
    assert not sun_band(sun).contains(Point(SYDNEY[1], SYDNEY[0]))
    from inference.modeling.cells import CellHierarchy

    cells = CellHierarchy.load(DEFAULT_BUNDLE_DIR / "cells.json")
    finest = [c.token for c in cells.levels[-1].cells]
    zurich, sydney = cells.assign([ZURICH[0], SYDNEY[0]], [ZURICH[1], SYDNEY[1]])[:, -1]
    shares = area_shares(sun_band(sun), [finest[zurich], finest[sydney]])
    assert shares[0] > 0.8 and shares[1] == pytest.approx(0.0, abs=1e-9)


def test_shadow_gives_the_elevation_and_bad_sun_inputs_say_why():
    when = parse_utc_time(NOON)
    assert SunConstraint.from_shadow(when, 1.0, 1.0).elevation_deg == pytest.approx(45.0)
    sun = SunConstraint.from_shadow(NOON, 3.0, 1.5, 1.0)
    assert sun.elevation_deg == pytest.approx(math.degrees(math.atan(2.0)))
    assert sun.parameters()["shadow_length"] == 1.5
    with pytest.raises(ConstraintError, match="length must be above 0"):
        SunConstraint.from_shadow(when, 1.0, 0.0)
    with pytest.raises(ConstraintError, match="no time zone"):
        parse_utc_time("2024-06-01T14:10:00")
    with pytest.raises(ConstraintError, match="not both"):
        sun_from_inputs(NOON, elevation=30.0, shadow=(1.0, 2.0))
    with pytest.raises(ConstraintError, match="at most 90"):
        SunConstraint.from_elevation(when, 95.0)
    with pytest.raises(ConstraintError, match="time zone"):
        SunConstraint(datetime(2024, 6, 1, 12), 30.0)
    assert parse_utc_time("2024-06-01T14:10:00+0200") == datetime(2024, 6, 1, 12, 10,
                                                                   tzinfo=timezone.utc)


def test_photo_time_from_exif_with_and_without_offset(tmp_path):
    heic = read_photo_time(SAMPLES_DIR / "sigal_outdoor.heic")
    if heic is not None:  # pillow-heif may be missing
        assert heic.offset == timedelta(hours=2) and heic.offset_text() == "+02:00"
        assert heic.utc == datetime(2024, 9, 1, 11, 50, 35, tzinfo=timezone.utc)
    jpg = read_photo_time(SAMPLES_DIR / "exif_test1.jpg")
    assert jpg.local == datetime(2013, 2, 6, 16, 0, 3) and jpg.utc is None
    assert jpg.with_offset(timedelta(hours=-5)) == datetime(2013, 2, 6, 21, 0, 3,
                                                            tzinfo=timezone.utc)
    assert read_photo_time(make_jpeg(tmp_path / "no_time.jpg")) is None
    assert read_photo_time(tmp_path / "missing.jpg") is None


# ------------------------------------------------------------------------ prediction


def test_countries_keep_every_point_and_candidate_inside(default_predictor):
    ch = countries_area("CH")
    predictor, preds = _run(default_predictor, Constraints((ch,)))
    assert len(preds) >= 6
    inside = ch.geometry
    weights = predictor.cell_weights.weights
    for p in preds:
        assert inside.contains(Point(p.lon, p.lat)), (p.path, p.lat, p.lon)
        assert p.candidates and all(inside.contains(Point(c.lon, c.lat))
                                    for c in p.candidates)
        total = sum(c.probability for c in p.finest)
        assert 0.99 <= total <= 1.0 + 1e-5  # renormalised over what is left
        finest_index = {c.token: i for i, c in
                        enumerate(default_predictor.cells.levels[-1].cells)}
        assert all(weights[finest_index[c.token]] > 0 for c in p.finest)
        assert 0.0 < p.mass_removed < 1.0
        top = p.unconstrained_top  # the model's own answer (test_exclude checks which)
        assert top is not None and 0.0 < top.probability <= 1.0


def test_a_sun_clue_puts_points_and_candidates_in_its_band(default_predictor):
    """The cells are weighted by their share of the band; the points follow into it
    (a cell's mean point can lie hundreds of km outside a 2-degree band)."""
    when = parse_utc_time(NOON)
    sun = SunConstraint.from_elevation(when, float(solar_elevation_deg(when, *ZURICH)), 2.0)
    band = sun_band(sun).buffer(0.01)
    _, preds = _run(default_predictor, Constraints((), sun))
    assert preds
    for p in preds:
        assert band.contains(Point(p.lon, p.lat)), (p.path, p.lat, p.lon)
        assert all(band.contains(Point(c.lon, c.lat)) for c in p.candidates)


def _band_at(lat: float, tolerance: float) -> SunConstraint:
    """The sun's elevation at (lat, 8.5 E) at NOON: a band running east-west there."""
    when = parse_utc_time(NOON)
    return SunConstraint.from_elevation(when, float(solar_elevation_deg(when, lat, 8.5)),
                                        tolerance)


def test_area_and_sun_that_share_no_place_leave_nothing(default_predictor):
    """A band 1 degree north of Switzerland: some cells hold part of Switzerland and part
    of the band, so the product of the two shares kept weight there (issue 19.2); no
    place satisfies both, and the run is refused before anything is written."""
    ch, sun = countries_area("CH"), _band_at(49.0, 0.5)
    tokens = default_predictor.cells.finest_tokens()
    assert not sun_band(sun).intersects(ch.geometry)
    both = area_shares(ch.geometry, tokens) * area_shares(sun_band(sun), tokens)
    assert (both > 0).sum() >= 1  # what the product of shares kept
    with pytest.raises(ConstraintError, match=r"leave nothing.*\(together\)"):
        cell_weights(Constraints((ch,), sun), tokens)


def test_combined_clues_keep_every_point_and_weight_where_both_hold(default_predictor):
    ch, sun = countries_area("CH"), _band_at(47.0, 0.5)
    joint = ch.geometry.intersection(sun_band(sun))
    assert 0 < joint.area < 0.7 * ch.geometry.area  # the band crosses the country
    predictor, preds = _run(default_predictor, Constraints((ch,), sun))
    tokens = default_predictor.cells.finest_tokens()
    weights = predictor.cell_weights.weights
    near = joint.buffer(1e-9)
    for i, token in enumerate(tokens):
        assert (weights[i] > 0) == near.intersects(cell_polygon(token)), token
    assert len(preds) >= 6
    for p in preds:
        assert near.contains(Point(p.lon, p.lat)), (p.path, p.lat, p.lon)
        assert p.candidates and all(near.contains(Point(c.lon, c.lat)) for c in p.candidates)
        index = {t: i for i, t in enumerate(tokens)}
        assert all(weights[index[c.token]] > 0 for c in p.finest)


def test_exclude_rules_a_region_out(default_predictor):
    europe = area_from_wkt(box(-25, 34, 45, 72).wkt, include=False, label="Europe")
    _, free = _run(default_predictor)
    _, preds = _run(default_predictor, Constraints((europe,)))
    assert [p.path for p in preds] == [p.path for p in free]
    for before, p in zip(free, preds):
        assert not europe.geometry.contains(Point(p.lon, p.lat))
        assert not any(europe.geometry.contains(Point(c.lon, c.lat)) for c in p.candidates)
        assert before.mass_removed is None and p.mass_removed is not None
        # what the run without the clue answered (the bundle's decision rule)
        assert p.unconstrained_top.cell_token == before.best_cells[-1].token
        assert p.unconstrained_top.probability == pytest.approx(before.confidence, rel=1e-5)


def test_a_constraint_that_leaves_nothing_raises_before_writing(default_predictor, tmp_path):
    from inference.prediction.predict import Predictor

    nothing = Constraints((countries_area("CH"), countries_area("CH", include=False)))
    with pytest.raises(ConstraintError, match="leave nothing"):
        Predictor(default_predictor, device="cpu", constraints=nothing)
    ocean = Constraints((area_from_wkt(box(-150, -60, -140, -50).wkt,
                                       label="South Pacific"),))
    with pytest.raises(ConstraintError, match="South Pacific"):
        Predictor(default_predictor, device="cpu", constraints=ocean)


def test_the_geopackage_records_the_constraints_and_their_effect(default_predictor,
                                                                 tmp_path):
    from inference.outputs.gpkg import GeoPackageWriter
    from inference.outputs.schema import RunInfo
    from inference.prediction.predict import Predictor
    from inference.run import run_photos

    constraints = Constraints((countries_area("CH, AT"),),
                              SunConstraint.from_elevation(NOON, 60.0, 5.0))
    predictor = Predictor(default_predictor, device="cpu", constraints=constraints)
    run = RunInfo.for_bundle(default_predictor, "cpu", "2024-06-01T12:00:00Z",
                             constraints=constraints)
    out = tmp_path / "run.gpkg"
    run_photos([str(SAMPLES_DIR)], predictor, [GeoPackageWriter(out, default_predictor.cells,
                                                                run)], run)
    ds = ogr.Open(str(out))
    rows = [(f["kind"], f["mode"], f["label"], json.loads(f["parameters"]),
             f.GetGeometryRef().GetGeometryName())
            for f in ds.GetLayerByName("constraints")]
    assert [r[:3] for r in rows] == [("area", "include", "countries: CH, AT"),
                                     ("sun", "include", rows[1][2])]
    assert rows[0][3]["countries"] == "CH,AT" and rows[1][3]["elevation_deg"] == 60.0
    assert all(r[4] == "MULTIPOLYGON" for r in rows)
    info = {f["key"]: f["value"] for f in ds.GetLayerByName("run_info")}
    assert info["constraints"] == "2" and info["constraint_1"] == "keep only countries: CH, AT"
    for f in ds.GetLayerByName("predictions"):
        assert 0 < f["constraint_mass_removed"] < 1
        assert f["unconstrained_cell"] and f["unconstrained_probability"] > 0
        assert np.isfinite(f["unconstrained_lat"])
