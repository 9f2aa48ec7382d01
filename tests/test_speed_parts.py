"""The parts that make a run fast change nothing it writes: the overlapped stages hand out
the same records in the same order, hold a bounded number of batches and stop on cancel;
a region dissolved through the cells' arrangement is the plain polygon union."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import shapely

from inference.modeling.cell_geometry import partition_polygons
from inference.outputs.cell_coverage import CellCoverage
from inference.outputs.regions import GRID_DEG, as_multipolygon, geodesic_area_km2
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
    from inference.prediction.predict import decode_for_model

    predictor = Predictor(tiny_bundle, device="cpu", batch_size=4, decode_workers=3)
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
