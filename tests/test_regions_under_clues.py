"""Credible regions under clues are the allowed part of their cells: the real tiny
predictor with a keep-only clue that cuts through finest cells, written to a real
GeoPackage and read back; without clues the regions are those of the whole cells."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import shapely
from osgeo import ogr
from shapely.geometry import box, shape

from inference.constraints import Constraints
from inference.constraints.areas import COUNTRIES_PATH, area_from_wkt, countries_area
from inference.constraints.weights import joint_region
from inference.geo import geodesic_area_km2
from inference.modeling.bundle import load_bundle
from inference.modeling.cell_geometry import partition_areas_km2, partition_polygons
from inference.modeling.credible import density_order, prefix_reaching, running_sums
from inference.outputs.gpkg import write_geopackage
from inference.outputs.regions import GRID_DEG, credible_regions
from inference.outputs.schema import REGION_MASSES, RunInfo
from inference.prediction.predict import Predictor
from inference.records import Prediction
from tests.conftest import CITIES, TINY_MODEL
from tests.photo_factory import make_jpeg

RUN = RunInfo(model_name="t", model_version="0", weights_sha256="ab" * 32, bundle_path="/m",
              device="cpu", started="2025-05-01T12:00:00Z", seconds=1.0)
COLOURS = [(200, 40, 40), (40, 200, 40), (10, 10, 240), (250, 250, 250)]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    for i, colour in enumerate(COLOURS):
        make_jpeg(root / f"p{i}.jpg", color=colour, size=(200 + 40 * i, 180))
    return root


def _predict(bundle_dir, photos, constraints=None) -> list[Prediction]:
    bundle = load_bundle(bundle_dir)
    return [r for r in Predictor(bundle, device="cpu", batch_size=4,
                                 constraints=constraints).run([photos])
            if isinstance(r, Prediction)]


def _regions_layer(path) -> list[tuple[dict, object]]:
    ds = ogr.Open(str(path))
    out = []
    for f in ds.GetLayerByName("regions"):
        values = {f.GetFieldDefnRef(i).GetName(): f.GetField(i)
                  for i in range(f.GetFieldCount()) if f.IsFieldSetAndNotNull(i)}
        g = f.GetGeometryRef()
        out.append((values, None if g is None else shapely.from_wkb(bytes(g.ExportToWkb()))))
    return out


CLUES = {
    # west of Paris's cluster: halves finest cells around Paris (the tiny bundle)
    "rectangle": lambda: area_from_wkt(box(-12.0, 35.0, 2.35, 60.0).wkt, label="west"),
    # Switzerland and not France (the shipped, simplified borders overlap by a few km: a
    # keep-only CH alone leaves ~1 % of a small cell's part in France too): their border
    # crosses the cells around Basel
    "Switzerland": lambda: (countries_area("CH"), countries_area("FR", include=False)),
}


@pytest.fixture(scope="module")
def basel_bundle_dir(tmp_path_factory):
    """The tiny bundle's cities with Paris moved to Basel, where three countries meet."""
    from inference.modeling.bundle import init_bundle
    from inference.modeling.cells import build_hierarchy

    rng = np.random.default_rng(0)
    centres = [(47.56, 7.59) if name == "paris" else c for name, c in CITIES.items()]
    lats = np.concatenate([lat + rng.normal(0, 0.3, 80) for lat, _lon in centres])
    lons = np.concatenate([lon + rng.normal(0, 0.3, 80) for _lat, lon in centres])
    cells = build_hierarchy(lats, (lons + 180) % 360 - 180, t_min=2, t_max=[200, 60, 20])
    return init_bundle(cells, tmp_path_factory.mktemp("bundle") / "basel", name="basel",
                       **TINY_MODEL)


@pytest.mark.parametrize("clue", sorted(CLUES))
def test_regions_under_a_clue_are_the_allowed_part_of_their_cells(
        tiny_bundle_dir, basel_bundle_dir, photos, tmp_path, clue):
    """Every 50 % and 90 % region lies inside where the clue holds, its area is the
    geodesic area of that clipped polygon (the GeoPackage's too), and the 50 % region
    kept to Switzerland names Switzerland and none of the neighbours its border cells
    reach."""
    bundle_dir = tiny_bundle_dir if clue == "rectangle" else basel_bundle_dir
    clues = CLUES[clue]()
    constraints = Constraints(clues if isinstance(clues, tuple) else (clues,))
    allowed = joint_region(constraints)
    preds = _predict(bundle_dir, photos, constraints)
    assert len(preds) == len(COLOURS)
    cells = load_bundle(bundle_dir).cells
    finest = cells.finest_tokens()
    cut = 0
    for p in preds:
        assert p.allowed is not None
        shares = [c.allowed_share for c in p.finest]
        assert all(0.0 < s <= 1.0 for s in shares)
        for region in credible_regions(p, REGION_MASSES, finest):
            assert not region.is_empty
            assert allowed.buffer(1e-6).covers(region.geometry)
            assert region.area_km2 == pytest.approx(geodesic_area_km2(region.geometry),
                                                    rel=0.01)
            cut += sum(s < 1.0 for s in shares[:region.n_cells])
        if clue == "Switzerland":
            named = {name for name, _share in p.region50_places.countries}
            assert named == {"Switzerland"}, named
    assert cut, "no region holds a cell the clue cuts: the test shows nothing"
    out = write_geopackage(tmp_path / "run.gpkg", preds, [], cells, RUN)
    rows = _regions_layer(out)
    assert len(rows) == len(preds) * len(REGION_MASSES)
    for values, geom in rows:
        assert allowed.buffer(1e-6).covers(geom)
        assert values["area_km2"] == pytest.approx(geodesic_area_km2(geom), rel=0.01)
    if clue == "Switzerland":  # the same regions of whole cells would name France
        whole = [credible_regions(dataclasses.replace(p, allowed=None), (0.5,), finest)[0]
                 for p in preds]
        assert any("France" in _countries_over(r.geometry) for r in whole)


def _countries_over(geom, min_share: float = 0.01) -> set[str]:
    doc = json.loads(COUNTRIES_PATH.read_text(encoding="utf-8"))
    total = geodesic_area_km2(geom)
    return {f["properties"]["name"] for f in doc["features"]
            if shape(f["geometry"]).intersects(geom) and geodesic_area_km2(
                shape(f["geometry"]).intersection(geom)) >= min_share * total}


def test_a_cut_cell_ranks_and_counts_by_its_allowed_area(tiny_bundle_dir, photos):
    """The record's finest cells are in decreasing density on their allowed areas."""
    constraints = Constraints((CLUES["rectangle"](),))
    preds = _predict(tiny_bundle_dir, photos, constraints)
    areas = partition_areas_km2(load_bundle(tiny_bundle_dir).cells.finest_tokens())
    for p in preds:
        density = [c.probability / (areas[c.index] * c.allowed_share) for c in p.finest]
        assert all(a >= b * (1 - 1e-9) for a, b in zip(density, density[1:]))


def test_without_clues_the_regions_are_the_whole_cells_as_before(
        tiny_bundle_dir, tiny_bundle, photos):
    """No clue: every share is 1, no allowed geometry, and each region is exactly the
    whole-cell region (same cells, the same summed area to the bit, the same polygon)."""
    preds = _predict(tiny_bundle_dir, photos)
    finest = tiny_bundle.cells.finest_tokens()
    where = {t: i for i, t in enumerate(finest)}
    areas = partition_areas_km2(finest)
    every = partition_polygons(finest)
    for p in preds:
        assert p.allowed is None
        assert all(c.allowed_share == 1.0 for c in p.finest)
        at = np.array([where[c.token] for c in p.finest])
        probs = np.array([c.probability for c in p.finest])
        order = density_order(probs, areas[at])
        at = at[order]
        sums = running_sums(probs[order])
        for region in credible_regions(p, REGION_MASSES, finest):
            n = prefix_reaching(sums, region.mass)
            assert region.n_cells == n
            assert region.area_km2 == float(np.cumsum(areas[at])[n - 1])
            whole = shapely.set_precision(
                shapely.union_all([every[i] for i in at[:n].tolist()]), GRID_DEG)
            assert region.geometry.symmetric_difference(whole).area < 1e-9
