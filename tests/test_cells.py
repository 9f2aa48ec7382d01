"""Cell hierarchies: the algorithm, parents from tokens, polygons, the file format."""

from __future__ import annotations

import math

import numpy as np
import pytest
import s2sphere
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point

from inference.modeling.cell_geometry import cell_polygon
from inference.modeling.cells import (CellHierarchy, CellsError, build_hierarchy, default_ladder,
                             leaf_ids, parent_ids, read_coordinates_csv, spherical_mean)
from tests.conftest import clustered_coords, shared_data

GEOD = Geod(ellps="WGS84")
lat_st = st.floats(-89.9, 89.9)
lon_st = st.floats(-179.99, 179.99)


@settings(max_examples=200, deadline=None)
@given(lat_st, lon_st, st.integers(2, 30))
def test_parent_ids_match_s2sphere(lat, lon, level):
    cid = s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(lat, lon))
    ours = parent_ids(np.array([cid.id()], dtype=np.uint64), level)[0]
    assert int(ours) == cid.parent(level).id()


def test_partition_respects_thresholds(tiny_cells):
    for level in tiny_cells.levels:
        for cell in level.cells:
            assert cell.count > tiny_cells.t_min
            assert cell.count <= level.t_max or cell.s2_level == 30
    # every level covers the same photos: nothing above t_min is lost between levels
    totals = [sum(c.count for c in lv.cells) for lv in tiny_cells.levels]
    assert totals[0] >= totals[-1] > 0.9 * tiny_cells.num_images


def test_parents_from_tokens_agree_with_s2_containment(tiny_cells):
    finest = tiny_cells.levels[-1].cells
    for i, cell in enumerate(finest):
        cid = s2sphere.CellId.from_token(cell.token)
        for h in range(tiny_cells.num_levels):
            parent = tiny_cells.cell(h, int(tiny_cells.parents[i, h]))
            assert s2sphere.CellId.from_token(parent.token).contains(cid), (cell, h, parent)
    assert list(tiny_cells.parents[:, -1]) == list(range(len(finest)))


def test_assign_matches_walking_s2_ancestors(tiny_cells):
    lats, lons = clustered_coords(n_per_city=10, seed=7)
    labels = tiny_cells.assign(lats, lons)
    for (lat, lon), row in zip(zip(lats, lons), labels):
        leaf = s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(lat, lon))
        for h, level in enumerate(tiny_cells.levels):
            tokens = {c.token: i for i, c in enumerate(level.cells)}
            expected = next((tokens[leaf.parent(lv).to_token()] for lv in range(2, 31)
                             if leaf.parent(lv).to_token() in tokens), -1)
            assert row[h] == expected


def test_polygons_contain_their_mean_coordinate_and_are_valid(tiny_cells):
    for level in tiny_cells.levels:
        for cell in level.cells:
            poly = cell_polygon(cell.token)
            assert poly.is_valid and not poly.is_empty
            assert poly.buffer(1e-9).contains(Point(cell.lon, cell.lat)), cell


@pytest.mark.parametrize("level", [2, 3, 5, 9])
@pytest.mark.parametrize("lat", [-60.0, -17.8, 0.0, 30.0, 65.0])
@pytest.mark.parametrize("side", [179.9999, -179.9999])
def test_cells_on_the_antimeridian_draw_on_their_own_side(level, lat, side):
    # S2 cell edges run along 180 degrees (face centres lie on it), so a cell touches the
    # antimeridian but never straddles it; a corner at -180 must not wrap the ring around
    cid = s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(lat, side)).parent(level)
    poly = cell_polygon(cid.to_token())
    minx, _, maxx, _ = poly.bounds
    if side > 0:
        assert minx > 0 and maxx == pytest.approx(180)
    else:
        assert maxx < 0 and minx == pytest.approx(-180)
    assert poly.buffer(1e-9).contains(Point(side, lat))
    area = sum(abs(GEOD.geometry_area_perimeter(g)[0]) for g in poly.geoms)
    exact = s2sphere.Cell(cid).exact_area() * 6371008.8 ** 2
    assert area == pytest.approx(exact, rel=0.01)


def test_polar_cell_polygon_is_valid_and_covers_the_pole_area():
    cid = s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(89.9, 45.0)).parent(2)
    poly = cell_polygon(cid.to_token())
    assert poly.is_valid
    area = sum(abs(GEOD.geometry_area_perimeter(g)[0]) for g in poly.geoms)
    assert area == pytest.approx(s2sphere.Cell(cid).exact_area() * 6371008.8 ** 2, rel=0.02)


def test_spherical_mean_is_right_across_the_antimeridian():
    lat, lon = spherical_mean(np.array([10.0, 10.0]), np.array([179.9, -179.9]))
    assert abs(abs(lon) - 180.0) < 1e-6 and lat == pytest.approx(10.0, abs=1e-3)


def test_save_load_round_trip(tiny_cells, tmp_path):
    path = tmp_path / "cells.json"
    tiny_cells.save(path)
    back = CellHierarchy.load(path)
    assert back.sizes == tiny_cells.sizes
    assert np.array_equal(back.parents, tiny_cells.parents)
    assert back.levels[1].cells[3].token == tiny_cells.levels[1].cells[3].token
    assert path.read_text().count("\n") > sum(tiny_cells.sizes), "one cell per line"


def test_bad_cells_files_say_what_is_wrong(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(CellsError, match="cannot read"):
        CellHierarchy.load(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"format": "something-else"}')
    with pytest.raises(CellsError, match="not a GeoDecoder cells file"):
        CellHierarchy.load(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"format": "geodecoder-cells", "version": 99}')
    with pytest.raises(CellsError, match="update the plugin"):
        CellHierarchy.load(tmp_path / "c.json")


def test_single_cell_levels_are_dropped_and_said():
    lats, lons = clustered_coords(n_per_city=30)
    h = build_hierarchy(lats, lons, t_min=1, t_max=[100000, 40, 10])
    assert all(len(lv.cells) > 1 for lv in h.levels)
    assert any("not a level" in n or "same cells" in n for n in h.notes)


def test_thresholds_must_exceed_t_min():
    lats, lons = clustered_coords(n_per_city=10)
    with pytest.raises(CellsError, match="exceed t_min"):
        build_hierarchy(lats, lons, t_min=50, t_max=[40])


@pytest.mark.parametrize("n", [200, 500, 3000, 100_000])
def test_default_ladder_is_decreasing_and_above_t_min(n):
    t_min, ladder = default_ladder(n)
    assert t_min >= 1 and ladder == sorted(ladder, reverse=True) and len(set(ladder)) == len(ladder)
    assert all(t > t_min for t in ladder) and len(ladder) <= 7


def test_leaf_ids_are_inside_their_polygons():
    lats, lons = clustered_coords(n_per_city=3, seed=3)
    for lat, lon, leaf in zip(lats, lons, leaf_ids(lats, lons)):
        parent = s2sphere.CellId(int(leaf)).parent(8)
        assert cell_polygon(parent.to_token()).buffer(1e-9).contains(Point(lon, lat))


def test_mp16_locations_give_the_measured_seven_level_ladder():
    csv_path = shared_data("mp16-coordinates-100k") / "coordinates_100k.csv"
    lats, lons = read_coordinates_csv(csv_path)
    h = build_hierarchy(lats, lons, t_min=5, t_max=[5000, 2000, 1000, 500, 250, 120, 60])
    # the counts measured for the method notes on the same 100k locations
    assert h.sizes == [102, 188, 355, 678, 1267, 2420, 3955]
    assert h.parents.shape == (3955, 7) and (h.parents >= 0).all()
    coverage = (h.assign(lats[:2000], lons[:2000]) >= 0).mean(axis=0)
    assert coverage[0] > 0.99 and coverage[-1] > 0.9
    assert math.isclose(sum(c.count for c in h.levels[0].cells), h.num_images, rel_tol=0.02)


def _reference_partition(lats, lons, t_min, t_max):
    """GeoEstimation's create_cells, written plainly with s2sphere and dicts: a second
    implementation to hold the vectorised one to."""
    leaves = [s2sphere.CellId.from_lat_lng(s2sphere.LatLng.from_degrees(a, o))
              for a, o in zip(lats, lons)]
    level = 2
    cells = {}
    for i, leaf in enumerate(leaves):
        cells.setdefault(leaf.parent(level).to_token(), []).append(i)
    cells = {t: v for t, v in cells.items() if len(v) > t_min}
    while any(len(v) > t_max for v in cells.values()) and level < 30:
        level += 1
        nxt = {}
        for token, members in cells.items():
            if len(members) > t_max:
                for i in members:
                    nxt.setdefault(leaves[i].parent(level).to_token(), []).append(i)
            else:
                nxt[token] = members
        cells = nxt
    return {t: len(v) for t, v in cells.items() if len(v) > t_min}


@pytest.mark.parametrize("t_min,t_max", [(2, 40), (1, 15), (5, 120)])
def test_partition_matches_a_plain_reference_implementation(t_min, t_max):
    lats, lons = clustered_coords(n_per_city=120, seed=11, spread_deg=2.0)
    expected = _reference_partition(lats, lons, t_min, t_max)
    h = build_hierarchy(lats, lons, t_min=t_min, t_max=[t_max])
    assert {c.token: c.count for c in h.levels[0].cells} == expected


def test_partition_matches_the_reference_on_real_photo_locations():
    csv_path = shared_data("mp16-coordinates-100k") / "coordinates_100k.csv"
    lats, lons = read_coordinates_csv(csv_path)
    lats, lons = lats[:5000], lons[:5000]
    for t_max in (500, 100):
        h = build_hierarchy(lats, lons, t_min=2, t_max=[t_max])
        assert {c.token: c.count for c in h.levels[0].cells} == \
            _reference_partition(lats, lons, 2, t_max)
