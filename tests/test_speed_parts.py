"""The parts that make a run fast change nothing it writes: the overlapped stages hand out
the same records in the same order, hold a bounded number of batches and stop on cancel;
a region dissolved through the cells' arrangement is the plain polygon union."""

from __future__ import annotations

import copy
import threading
import time

import numpy as np
import pytest
import shapely

from inference.modeling.cell_geometry import partition_polygons
from inference.outputs.cell_coverage import CellCoverage
from inference.geo import as_multipolygon, geodesic_area_km2
from inference.outputs.regions import GRID_DEG
from inference.prediction.predict import Predictor
from inference.prediction.prefetch import ahead, prefetch
from tests.photo_factory import make_hostile_folder


# ------------------------------------------------------------------------ stages


def test_prefetch_keeps_order_and_never_decodes_more_than_its_depth_ahead():
    started, lock = [], threading.Lock()
    handed_out = []

    def decode(item):
        with lock:
            started.append(item)
        time.sleep(0.002)
        return item * 10

    batches = [list(range(i, i + 3)) for i in range(0, 30, 3)]
    for k, batch in enumerate(prefetch(batches, decode, workers=3, depth=2)):
        handed_out.append(batch)
        time.sleep(0.02)  # a slow consumer: decoding would run far ahead if unbounded
        with lock:
            # the batch handed out plus at most `depth` more were ever submitted
            assert len(started) <= 3 * (k + 1 + 2)
    assert handed_out == [[x * 10 for x in b] for b in batches]


def test_ahead_keeps_order_raises_the_stage_error_and_stops_on_close():
    assert list(ahead(range(20), lambda x: x * x, depth=2)) == [x * x for x in range(20)]

    def boom(x):
        if x == 3:
            raise ValueError("bad item 3")
        return x

    with pytest.raises(ValueError, match="bad item 3"):
        list(ahead(range(10), boom))

    done = []

    def slow(x):
        done.append(x)
        return x

    gen = ahead(range(1000), slow, depth=1, name="stage-under-test")
    assert next(gen) == 0
    gen.close()  # the consumer stops: the stage thread ends, having done a few items only
    assert not any(t.name == "stage-under-test" for t in threading.enumerate())
    assert len(done) <= 3


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    make_hostile_folder(root, n_good=14, seed=3)
    return root


def _plain(records):
    """Records without the attention maps (arrays), comparable with ==."""
    return [(type(r).__name__, r.path, getattr(r, "reason", None),
             getattr(r, "finest", None), getattr(r, "lat", None)) for r in records]


def test_overlapped_run_gives_the_records_of_one_photo_at_a_time(tiny_bundle, hostile):
    """Decoding ahead and the model's thread change neither records nor their order:
    the same as predicting each decoded photo alone, in find_photos order."""
    from inference.prediction.photos import find_photos
    from inference.prediction.preprocess import decode_for_model

    # the exact backbone pads every batch to the batch size, so a photo alone runs the
    # very kernels it ran in its batch (the fast one pads one photo to 1, whose kernels
    # round differently in the last digits)
    predictor = Predictor(tiny_bundle, device="cpu", batch_size=4, decode_workers=3,
                          fast_backbone=False)
    overlapped = list(predictor.run([hostile]))
    paths, missing = find_photos([hostile])
    one_by_one = []
    expected_paths = [str(p) for p, _ in missing] + [str(p) for p in paths]
    assert [r.path for r in overlapped] == expected_paths
    for path in paths:
        decoded = decode_for_model(str(path), predictor.size)
        one_by_one += predictor._predict_decoded([decoded])
    assert _plain(overlapped[len(missing):]) == _plain(one_by_one)


def test_cancel_stops_the_run_and_leaves_no_stage_running(tiny_bundle, hostile):
    predictor = Predictor(tiny_bundle, device="cpu", batch_size=2)
    seen = []
    records = predictor.run([hostile], should_stop=lambda: len(seen) >= 3)
    for r in records:
        seen.append(r)
    assert 3 <= len(seen) < 16
    assert not any(t.name in ("model",) or t.name.startswith("decode")
                   for t in threading.enumerate())


# ------------------------------------------------------------------------ regions


@pytest.fixture(scope="module")
def coverage(tiny_cells):
    return CellCoverage([c.token for c in tiny_cells.levels[-1].cells])


def _reference(coverage, tokens):
    every = partition_polygons(coverage.tokens)
    polys = [every[coverage.index[t]] for t in tokens]
    return as_multipolygon(shapely.set_precision(shapely.union_all(polys), GRID_DEG))


def test_arrangement_union_is_the_plain_union(coverage):
    tokens = list(coverage.tokens)
    rng = np.random.default_rng(0)
    sizes = [1, 2, 3, len(tokens) // 3, len(tokens) // 2, len(tokens) - 1, len(tokens)]
    for n in sizes:
        for _ in range(3):
            subset = [tokens[i] for i in rng.choice(len(tokens), n, replace=False)]
            ref, new = _reference(coverage, subset), coverage.union(subset)
            assert new.is_valid
            assert new.area == pytest.approx(ref.area, rel=1e-12)
            assert ref.symmetric_difference(new).area <= 1e-9 * ref.area
            # the same vertices: geodesic areas treat every edge as a geodesic
            assert shapely.get_num_coordinates(new) == shapely.get_num_coordinates(ref)
            assert geodesic_area_km2(new) == pytest.approx(geodesic_area_km2(ref), rel=1e-12)


def test_arrangement_union_of_the_default_model_cells():
    """The shipped model's cells mix S2 levels 2 to 11: holes touching shells."""
    from inference.modeling.defaults import default_bundle_path

    path = default_bundle_path()
    if path is None:
        pytest.skip("no default model bundle in this checkout")
    from inference.modeling.cells import CellHierarchy

    cells = CellHierarchy.load(path / "cells.json")
    tokens = [c.token for c in cells.levels[-1].cells]
    coverage = CellCoverage(tokens)
    rng = np.random.default_rng(1)
    for n in (5, 40, 120, 290):
        subset = [tokens[i] for i in rng.choice(len(tokens), n, replace=False)]
        ref, new = _reference(coverage, subset), coverage.union(subset)
        assert new.is_valid
        assert ref.symmetric_difference(new).area <= 1e-9 * ref.area
        # snap rounding may leave a stray node or two on a straight edge of the plain
        # union (seen: 2 of 8045); the geodesic area, which every edge's ends decide, is
        # the same to the last digits
        n_ref, n_new = shapely.get_num_coordinates(ref), shapely.get_num_coordinates(new)
        assert abs(n_ref - n_new) <= max(2, n_ref // 1000)
        assert geodesic_area_km2(new) == pytest.approx(geodesic_area_km2(ref), rel=1e-12)


def _half_edge_by_half_edge(coverage):
    """The same arrangement chaining its outlines one half-edge at a time."""
    plain = copy.copy(coverage)
    plain._runs_between_nodes(every_half_edge=True)
    assert len(plain.run_ptr) - 1 == len(coverage.he_u)
    return plain


def _default_coverage():
    from inference.modeling.defaults import default_bundle_path

    path = default_bundle_path()
    if path is None:
        pytest.skip("no default model bundle in this checkout")
    from inference.modeling.cells import CellHierarchy

    return CellCoverage([c.token for c in CellHierarchy.load(path / "cells.json")
                         .levels[-1].cells])


@pytest.mark.parametrize("which", ["tiny", "default"])
def test_runs_hold_every_half_edge_once_between_nodes(which, coverage):
    cov = coverage if which == "tiny" else _default_coverage()
    assert sorted(cov.run_he.tolist()) == list(range(len(cov.he_u)))
    # the point of runs: the default model's densified cells, ~15 half-edges a run
    assert len(cov.run_ptr) - 1 < len(cov.he_u) / (10 if which == "default" else 2)
    starts, ends = cov.run_ptr[:-1], cov.run_ptr[1:]
    inner = np.ones(len(cov.run_he), bool)
    inner[starts] = False
    step = np.flatnonzero(inner)  # positions whose half-edge follows the one before
    assert (cov.he_next[cov.run_he[step - 1]] == cov.run_he[step]).all()
    run_of = np.repeat(np.arange(len(starts)), np.diff(cov.run_ptr))
    assert (cov.he_face[cov.run_he] == cov.run_face[run_of]).all()
    twin = cov.he_twin[cov.run_he]
    right = np.where(twin >= 0, cov.he_face[np.maximum(twin, 0)], -1)
    assert (right == cov.run_right[run_of]).all()
    assert (cov.he_u[cov.run_he[starts]] == cov.run_u).all()
    assert (cov.he_v[cov.run_he[ends - 1]] == cov.run_v).all()
    # numbered by their smallest half-edge, which sits where run_smallest_at says
    smallest = np.minimum.reduceat(cov.run_he, starts)
    assert (np.diff(smallest) > 0).all()
    assert (cov.run_he[starts + cov.run_smallest_at] == smallest).all()


@pytest.mark.parametrize("which", ["tiny", "default"])
def test_chaining_runs_gives_the_very_rings_of_chaining_half_edges(which, coverage):
    """Same polygons, rings, vertex order and starting vertex (the same WKB), on random
    sets and on sets of neighbouring cells (regions: holes touching their shells)."""
    cov = coverage if which == "tiny" else _default_coverage()
    plain = _half_edge_by_half_edge(cov)
    tokens = list(cov.tokens)
    where = np.array([[shapely.centroid(p).x, shapely.centroid(p).y]
                      for p in partition_polygons(cov.tokens)])
    rng = np.random.default_rng(2)
    sets = []
    for _ in range(40):
        n = int(rng.integers(1, len(tokens) + 1))
        sets.append([tokens[i] for i in rng.choice(len(tokens), n, replace=False)])
        near = np.hypot(*(where - where[rng.integers(len(tokens))]).T)
        sets.append([tokens[i] for i in np.argsort(near)[:n]])
    touching = 0
    for subset in sets:
        new, ref = cov.union(subset), plain.union(subset)
        assert shapely.to_wkb(new) == shapely.to_wkb(ref)
        touching += any(len(p.interiors) for p in new.geoms)
    assert touching  # holes were among them


# ------------------------------------------------------------------ fast backbone


def _randomised_backbone():
    """An EfficientNet-Lite0 with random weights and BatchNorm statistics far from
    (0, 1): folding must carry them, not just the defaults."""
    import torch

    from inference.modeling.backbones import build_backbone

    torch.manual_seed(0)
    backbone = build_backbone("efficientnet_lite0", pretrained=False)
    with torch.no_grad():
        for m in backbone.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return backbone.eval()


def test_fast_backbone_gives_the_tokens_of_the_plain_one_and_leaves_it_untouched():
    import torch

    from inference.modeling.fast_backbone import inference_backbone

    plain = _randomised_backbone()
    before = {k: v.clone() for k, v in plain.state_dict().items()}
    n_norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    fast = inference_backbone(plain, torch.device("cpu"))
    assert fast is not plain and fast.channels_last and not plain.channels_last
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert n_norms == 49  # stem, head and every block's convolutions
    images = torch.rand(3, 3, 224, 224)
    with torch.inference_mode():
        (want, grid_a), (got, grid_b) = plain.tokens(images), fast.tokens(images)
    assert grid_a == grid_b == (7, 7) and got.shape == want.shape
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())
    # the original keeps its weights, its BatchNorms, and no tensor with the copy
    after = plain.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)
    mine = {t.data_ptr() for t in list(plain.parameters()) + list(plain.buffers())}
    assert not mine & {t.data_ptr() for t in list(fast.parameters()) + list(fast.buffers())}


def test_fast_and_exact_predictions_agree_to_their_last_digits(tiny_bundle, hostile):
    exact = list(Predictor(tiny_bundle, device="cpu", fast_backbone=False).run([hostile]))
    fast = list(Predictor(tiny_bundle, device="cpu").run([hostile]))
    assert [type(r) for r in fast] == [type(r) for r in exact]
    preds = [(a, b) for a, b in zip(exact, fast) if hasattr(a, "finest")]
    assert len(preds) >= 10
    for a, b in preds:
        assert (a.path, a.scene) == (b.path, b.scene)
        assert b.confidence == pytest.approx(a.confidence, rel=1e-4)
        pa = {c.token: c.probability for c in a.finest}
        pb = {c.token: c.probability for c in b.finest}
        common = pa.keys() & pb.keys()
        assert len(common) >= 0.95 * len(pa)
        assert all(pb[t] == pytest.approx(pa[t], rel=1e-3, abs=1e-7) for t in common)


# ------------------------------------------------------------------ GeoPackage rows


def test_rows_written_through_one_reused_feature_are_the_rows_given(tmp_path):
    """The writer reuses one OGR feature while rows carry the same fields: no value, no
    geometry and no null may leak from one row into the next."""
    from osgeo import ogr
    from shapely.geometry import MultiPolygon, Polygon

    from inference.outputs.gpkg import _create_layer, _fail, _write_rows
    from inference.outputs.srs import wgs84
    from inference.outputs.schema import FieldDef, LayerDef, Row

    square = MultiPolygon([Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])])
    other = MultiPolygon([Polygon([(5, 5), (7, 5), (7, 6)])])
    spec = LayerDef("t", "MultiPolygon", (FieldDef("name", "String"),
                                          FieldDef("n", "Integer"), FieldDef("p", "Real")))
    rows = [Row({"name": "a", "n": 1, "p": 0.5}, square),
            Row({"name": "a", "n": 1, "p": 0.5}, square),  # all the same again
            Row({"name": "a", "n": None, "p": -0.0}, other),  # a null; 0.0 == -0.0
            Row({"name": "b", "n": 2, "p": 0.0}, None),  # no geometry after one
            Row({"name": "b", "n": 2, "p": 0.0}, square),
            Row({"name": "c", "p": 1.5}, square),  # fewer fields: n stays unset
            Row({"name": "c", "n": 3, "p": 1.5, "extra": "x"}, MultiPolygon()),  # empty
            Row({"name": "c", "n": 3, "p": 1.5, "extra": "x"}, square)]
    path = tmp_path / "rows.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = _create_layer(ds, spec, wgs84(_fail))
    assert _write_rows(ds, layer, spec, rows, None) == len(rows)
    ds = None
    back = []
    ds = ogr.Open(str(path))
    for feat in ds.GetLayerByName("t"):
        g = feat.GetGeometryRef()
        back.append((feat.GetField("name"), feat.GetField("n"), feat.GetField("p"),
                     None if g is None else g.ExportToWkt()))
    ds = None

    def wkt(geom):
        if geom is None or geom.is_empty:
            return None
        return ogr.ForceToMultiPolygon(ogr.CreateGeometryFromWkb(geom.wkb)).ExportToWkt()

    want = [(r.values["name"], r.values.get("n"), r.values["p"], wkt(r.geometry))
            for r in rows]
    assert back == want


# ------------------------------------------------------------------------ start-up


def test_a_prediction_imports_neither_shapely_nor_gdal_before_it_writes():
    """Start-up: a prediction needs torch, PIL and the bundle; the region, area and
    GeoPackage libraries come when the first chunk is written."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from inference.modeling.bundle import load_bundle\n"
            "from inference.prediction.predict import Predictor\n"
            "import inference.constraints\n"
            "print(sorted(m for m in ('shapely', 'pyproj', 'osgeo') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ preprocessing


def test_photos_become_the_same_floats_as_torchs_conversion():
    """Decode threads convert pixels with NumPy (no OpenMP threads of their own); the
    numbers must be exactly torch's ``.float().div_(255)`` of before, crops included."""
    import torch
    from PIL import Image

    from inference.prediction.preprocess import center_crop_tensor, ten_crop_tensor

    rng = np.random.default_rng(3)
    for h, w in ((224, 301), (290, 224), (224, 224)):
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        torch_way = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float().div_(255.0)
        top, left = (h - 224) // 2, (w - 224) // 2
        assert torch.equal(center_crop_tensor(image, 224),
                           torch_way[:, top:top + 224, left:left + 224])
        crops = ten_crop_tensor(image, 224)
        assert crops.shape == (10, 3, 224, 224)
        assert torch.equal(crops[4], torch_way[:, top:top + 224, left:left + 224])
        assert torch.equal(crops[9], crops[4].flip(-1))
