"""Region areas and outlines that hold for any region: larger than a hemisphere, made of
cells of many S2 levels, or the whole Earth.

pyproj measures a ring as the smaller of the two areas it bounds, so the areas of huge
regions used to come back as the rest of the world; and cells of different levels,
densified independently, left thousands of sliver holes between them."""

from __future__ import annotations

import numpy as np
import pytest
import s2sphere
import shapely
from shapely.geometry import Polygon, box

from inference.modeling.cell_geometry import cell_polygon, partition_polygons
from inference.modeling.cells import token_to_id
from inference.outputs.cell_coverage import CellCoverage
from inference.geo import as_multipolygon, geodesic_area_km2
from inference.outputs.regions import GRID_DEG, credible_region
from inference.records import CellProbability, Prediction

EARTH_KM2 = 510_065_622  # WGS 84 ellipsoid
R_KM = 6371.0088  # mean radius, for S2's areas on the unit sphere


def level1_tokens(faces=range(6)) -> tuple[str, ...]:
    return tuple(c.to_token() for f in faces
                 for c in s2sphere.CellId.from_face_pos_level(f, 0, 0).children())


def s2_area_km2(token: str) -> float:
    return s2sphere.Cell(s2sphere.CellId(token_to_id(token))).exact_area() * R_KM ** 2


def union(polys):
    return as_multipolygon(shapely.set_precision(shapely.union_all(list(polys)), GRID_DEG))


def prediction_over(tokens, weights=None) -> Prediction:
    """A record whose finest cells are ``tokens`` (equal weights unless given)."""
    w = np.ones(len(tokens)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    order = np.argsort(-w, kind="stable")
    fine = tuple(CellProbability(0, int(i), tokens[i], float(w[i])) for i in order)
    return Prediction(path="x.jpg", lat=0.0, lon=0.0, confidence=float(w.max()),
                      candidates=(), best_cells=fine[:1], level_top=(fine[:3],),
                      finest=fine, scene=0, scene_name="urban", scene_confidence=1.0)


@pytest.fixture(scope="module")
def default_finest():
    from inference.modeling.cells import CellHierarchy
    from inference.modeling.defaults import default_bundle_path

    path = default_bundle_path()
    if path is None:
        pytest.skip("no default model bundle in this checkout")
    cells = CellHierarchy.load(path / "cells.json")
    return tuple(c.token for c in cells.levels[-1].cells)


# ------------------------------------------------------------------- areas


@pytest.mark.parametrize("geom, share", [
    (box(-180, -90, 180, 90), 1.0),
    (box(-180, 0, 180, 90), 0.5),  # exactly half: pyproj cannot tell which half
    (box(-90, -90, 90, 90), 0.5),
    (box(-180, -90, 180, 90).difference(box(0, 0, 90, 90)), 7 / 8),
    (box(0, 0, 90, 90), 1 / 8),
])
def test_areas_of_boxes_up_to_the_whole_earth(geom, share):
    assert geodesic_area_km2(geom) == pytest.approx(share * EARTH_KM2, rel=1e-6)


def test_the_whole_earth_from_its_cells_is_one_polygon_of_the_earths_area():
    tokens = level1_tokens()
    region = union(partition_polygons(tokens))
    assert len(region.geoms) == 1 and not region.geoms[0].interiors
    assert geodesic_area_km2(region) == pytest.approx(EARTH_KM2, rel=0.005)
    whole = credible_region(prediction_over(tokens), 1.0, tokens)
    assert whole.n_cells == 24 and whole.area_km2 == pytest.approx(EARTH_KM2, rel=0.005)


def test_half_the_earth_and_the_rest_add_up():
    tokens = level1_tokens()
    # three faces hold half of the sphere and, by these weights, 75 % of the probability
    weights = [3.0] * 12 + [1.0] * 12
    half = credible_region(prediction_over(tokens, weights), 0.75, tokens)
    rest = geodesic_area_km2(union(partition_polygons(level1_tokens(range(3, 6)))))
    assert half.n_cells == 12
    assert half.area_km2 == pytest.approx(EARTH_KM2 / 2, rel=0.005)
    assert half.area_km2 + rest == pytest.approx(EARTH_KM2, rel=1e-6)


def test_a_region_larger_than_a_hemisphere_is_not_the_rest_of_the_world(default_finest):
    """Most of the default model's cells: the area is the sum of its cells' areas."""
    tokens = default_finest[:300]
    region = credible_region(prediction_over(tokens), 1.0, default_finest)
    assert region.area_km2 > EARTH_KM2 / 2
    cells = sum(geodesic_area_km2(p) for p in partition_polygons(default_finest)[:300])
    assert region.area_km2 == pytest.approx(cells, rel=1e-6)
    assert geodesic_area_km2(region.geometry) == pytest.approx(cells, rel=1e-9)


def test_all_finest_cells_of_the_default_model(default_finest):
    """They do not cover the Earth (cells with too few training photos were dropped): the
    union measures what S2 says their cells cover."""
    region = credible_region(prediction_over(default_finest), 1.0, default_finest)
    s2 = sum(s2_area_km2(t) for t in default_finest)
    assert region.area_km2 == pytest.approx(s2, rel=0.005)
    cells = sum(geodesic_area_km2(p) for p in partition_polygons(default_finest))
    assert region.area_km2 == pytest.approx(cells, rel=1e-6)
    assert geodesic_area_km2(region.geometry) == pytest.approx(cells, rel=1e-9)


@pytest.mark.parametrize("n", [2, 9, 40, 180, 330])
def test_a_regions_area_is_the_area_of_its_drawn_outline(default_finest, n):
    """The area column is the sum of the cells' areas (measured once per bundle); it
    must be what the drawn polygon measures, for scattered and for compact sets."""
    rng = np.random.default_rng(n)
    for tokens in (tuple(default_finest[i] for i in rng.choice(len(default_finest), n,
                                                               replace=False)),
                   default_finest[:n]):
        region = credible_region(prediction_over(tokens), 1.0, default_finest)
        assert region.n_cells == n
        assert region.area_km2 == pytest.approx(geodesic_area_km2(region.geometry), rel=1e-9)


def test_a_single_cells_area_is_its_s2_area(default_finest):
    rng = np.random.default_rng(0)
    polys = partition_polygons(default_finest)
    for i in rng.choice(len(default_finest), 25, replace=False).tolist():
        token = default_finest[i]
        assert geodesic_area_km2(polys[i]) == pytest.approx(s2_area_km2(token), rel=0.01)
        region = credible_region(prediction_over((token,)), 0.5, default_finest)
        assert region.area_km2 == pytest.approx(geodesic_area_km2(polys[i]), rel=1e-7)


# ------------------------------------------------------------------ slivers


def test_cells_of_different_levels_tile_without_slivers(default_finest):
    """Neighbours share their points: the cells neither overlap nor leave gaps, so the
    only holes of their union are cells that the hierarchy dropped (the smallest S2
    cell of the model, level 11, is about 20 km2)."""
    polys = partition_polygons(default_finest)
    whole = union(polys)
    assert sum(p.area for p in polys) == pytest.approx(whole.area, rel=1e-9)
    holes = [geodesic_area_km2(Polygon(h)) for g in whole.geoms for h in g.interiors]
    assert holes and min(holes) > 10.0
    # the plain cell polygons leave over a thousand slivers between levels
    plain = union(cell_polygon(t) for t in default_finest)
    assert sum(len(g.interiors) for g in plain.geoms) > 10 * len(holes)


def test_partition_cells_are_the_cells(default_finest):
    """Each partition polygon is its cell as cell_polygon draws it, up to the chords."""
    polys = partition_polygons(default_finest)
    for token, poly in zip(default_finest, polys):
        plain = cell_polygon(token)
        assert poly.is_valid
        assert poly.symmetric_difference(plain).area <= 2e-3 * plain.area


def test_arrangement_union_has_no_slivers_either(default_finest):
    rng = np.random.default_rng(3)
    tokens = [default_finest[i] for i in rng.choice(len(default_finest), 250, replace=False)]
    region = CellCoverage(default_finest).union(tokens)
    holes = [geodesic_area_km2(Polygon(h)) for g in region.geoms for h in g.interiors]
    assert all(a > 10.0 for a in holes)


def test_polar_level1_cell_spans_a_quarter_of_the_longitudes():
    """A corner at the pole once took the longitude of atan2(-0, -0) and wrapped the
    ring around the whole cap."""
    g = cell_polygon("a4")
    minx, _, maxx, _ = g.bounds
    assert maxx - minx == pytest.approx(90.0)
    assert geodesic_area_km2(g) == pytest.approx(EARTH_KM2 / 24, rel=0.01)
