"""Credible regions are the smallest in area for the mass they hold (issue 19.1).

Brute force: on a small hierarchy every subset of cells is tried, and no subset holding at
least a region's mass is smaller than the region.  Ranking by probability instead (what
the regions did before) fails the same check, so the test can tell the two apart."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.modeling.calibration import calibration_report, coverage, median_region_km2
from inference.modeling.cell_geometry import partition_areas_km2
from inference.modeling.credible import credible_prefix, density_order
from inference.outputs.regions import credible_region, credible_regions
from inference.records import CellProbability, Prediction

N_CELLS = 10  # 1,024 subsets


@pytest.fixture(scope="module")
def small(tiny_cells):
    """Ten finest cells of the tiny hierarchy, of areas that differ by orders of
    magnitude (as an adaptive partition's do)."""
    finest = tiny_cells.finest_tokens()
    areas = partition_areas_km2(finest)
    pick = np.argsort(areas)[np.linspace(0, len(finest) - 1, N_CELLS).astype(int)]
    assert areas[pick].max() / areas[pick].min() > 100
    return finest, [int(i) for i in pick], areas


def record(finest, pick, probs) -> Prediction:
    fine = tuple(CellProbability(0, i, finest[i], float(p)) for i, p in zip(pick, probs))
    return Prediction(path="x.jpg", lat=0.0, lon=0.0, confidence=float(max(probs)),
                      candidates=(), best_cells=fine[:1], level_top=(fine[:3],),
                      finest=fine, scene=0, scene_name="urban", scene_confidence=1.0)


def smallest_area_holding(mass, probs, areas) -> float:
    best = np.inf
    for k in range(1, len(probs) + 1):
        for subset in itertools.combinations(range(len(probs)), k):
            s = list(subset)
            if probs[s].sum() >= mass - 1e-12:
                best = min(best, areas[s].sum())
    return best


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.001, 1.0), min_size=N_CELLS, max_size=N_CELLS),
       st.sampled_from([0.3, 0.5, 0.9]))
def test_no_set_of_cells_of_the_same_mass_is_smaller(small, weights, mass):
    finest, pick, areas = small
    probs = np.asarray(weights) / np.sum(weights)
    region = credible_region(record(finest, pick, probs), mass, finest)
    assert region.covered >= mass - 1e-12
    best = smallest_area_holding(region.covered, probs, areas[pick])
    assert region.area_km2 <= best * (1 + 1e-12)


def test_ranking_by_probability_is_not_the_smallest(small):
    """A large sparse cell more probable than several small dense ones: by probability
    the 50 % region takes the large cell, by density the small ones."""
    finest, pick, areas = small
    a = areas[pick]
    probs = np.full(N_CELLS, 0.01)
    probs[int(np.argmax(a))] = 0.3
    probs /= probs.sum()
    by_probability = np.argsort(-probs, kind="stable")
    n = credible_prefix(probs[by_probability], 0.2)
    region = credible_region(record(finest, pick, probs), 0.2, finest)
    assert region.area_km2 < a[by_probability[:n]].sum() / 10


def test_a_records_order_does_not_change_its_regions(small):
    finest, pick, _ = small
    probs = np.random.default_rng(3).dirichlet(np.ones(N_CELLS))
    shuffled = np.random.default_rng(4).permutation(N_CELLS)
    a = credible_regions(record(finest, pick, probs), (0.5, 0.9), finest)
    b = credible_regions(record(finest, [pick[i] for i in shuffled], probs[shuffled]),
                         (0.5, 0.9), finest)
    assert [(r.n_cells, r.covered, r.area_km2) for r in a] == \
        [(r.n_cells, r.covered, r.area_km2) for r in b]
    assert a[1].geometry.equals(b[1].geometry)


def test_a_cell_the_model_does_not_have_is_an_error(small):
    finest, pick, _ = small
    bad = record(("zz",) + finest[1:], [0], [1.0])
    with pytest.raises(ValueError, match="not one of the model's"):
        credible_region(bad, 0.5, finest)


def test_density_ties_go_to_the_more_probable_then_the_lower_index():
    probs = np.array([[0.1, 0.2, 0.2, 0.5]])
    areas = np.array([1.0, 2.0, 2.0, 10.0])  # densities 0.1, 0.1, 0.1, 0.05
    assert density_order(probs, areas).tolist() == [[1, 2, 0, 3]]


def test_coverage_and_region_size_follow_the_density_ranking():
    """One large cell and nine small ones: the large one comes last, whatever its
    probability, and the median area says what each coverage cost."""
    areas = np.array([100.0] + [1.0] * 9)
    probs = np.array([0.55] + [0.05] * 9)  # the small ones hold 45 %: 50 % needs all
    order = density_order(probs, areas)
    assert order[0] != 0 and order[-1] == 0
    assert coverage([order], [probs[order]], [3]) == {"50": 1.0, "90": 1.0}
    assert median_region_km2([order], [probs[order]], areas) == {"50": 109.0, "90": 109.0}
    probs = np.array([0.19] + [0.09] * 9)  # 50 %: six small cells; 90 %: all
    order = density_order(probs, areas)
    assert median_region_km2([order], [probs[order]], areas) == {"50": 6.0, "90": 109.0}
    assert coverage([order], [probs[order]], [0]) == {"50": 0.0, "90": 1.0}
    first, seventh = int(order[0]), int(order[6])
    assert coverage([order], [probs[order]], [first]) == {"50": 1.0, "90": 1.0}
    assert coverage([order], [probs[order]], [seventh]) == {"50": 0.0, "90": 1.0}


def test_calibration_report_measures_regions_by_density():
    import torch

    probs = torch.tensor([[0.19] + [0.09] * 9])
    logits = [torch.log(probs)]
    parents = torch.arange(10)[:, None]
    rep = calibration_report(logits, parents, np.array([0]), 1.0,
                             np.array([100.0] + [1.0] * 9))
    assert rep["region_km2"] == {"50": pytest.approx(6.0), "90": pytest.approx(109.0)}
    assert rep["coverage"] == {"50": 0.0, "90": 1.0}
    # equal areas: by probability, the large cell first
    rep = calibration_report(logits, parents, np.array([0]), 1.0, np.ones(10))
    assert rep["region_km2"] == {"50": 5.0, "90": 9.0}  # 0.19 + 4 x 0.09; + 8 x 0.09
    assert rep["coverage"] == {"50": 1.0, "90": 1.0}
