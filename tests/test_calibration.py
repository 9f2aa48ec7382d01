"""Honest numbers: temperature scaling, ECE, region coverage, retrieval, density prior."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.modeling.calibration import (calibration_report, coverage,
                                            expected_calibration_error, finest_log_probs,
                                            fit_temperature)
from inference.modeling.gallery import Gallery
from inference.modeling.credible import credible_prefix
from inference.training.evaluate import density_prior_errors, density_prior_point


def test_credible_prefix_is_the_smallest_set_reaching_the_mass():
    assert credible_prefix([0.5, 0.3, 0.2], 0.5) == 1
    assert credible_prefix([0.5, 0.3, 0.2], 0.51) == 2
    assert credible_prefix([0.5, 0.3, 0.2], 0.9) == 3
    assert credible_prefix([0.4, 0.3], 0.9) == 2  # a capped list: all of it


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_not():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0, 1, 20000)
    honest = rng.uniform(0, 1, 20000) < conf
    assert expected_calibration_error(conf, honest) < 0.02
    assert expected_calibration_error(np.full(1000, 0.9), np.zeros(1000, bool)) == \
        pytest.approx(0.9)


def _sampled_logits(n, levels, parents, scale, rng):
    """Logits whose truth is *drawn from* softmax(logits / scale): a model over-confident
    by exactly ``scale``.  Levels are independent draws, so the truth is drawn per level
    from the finest cell distribution instead (one level keeps it exact)."""
    logits = torch.as_tensor(rng.normal(0, 3.0, (n, levels[0])), dtype=torch.float32)
    probs = torch.softmax(logits / scale, dim=1).numpy()
    truth = np.array([rng.choice(levels[0], p=p / p.sum()) for p in probs])
    return [logits], truth


def test_temperature_recovers_a_known_overconfidence_and_fixes_ece_and_coverage():
    rng = np.random.default_rng(1)
    parents = torch.arange(30)[:, None]  # one level of 30 cells
    logits, truth = _sampled_logits(4000, [30], parents, 2.5, rng)
    t = fit_temperature(logits, parents, truth)
    assert t == pytest.approx(2.5, rel=0.1)
    areas = np.ones(30)  # equal areas: the density ranking is the probability ranking
    before = calibration_report(logits, parents, truth, 1.0, areas)
    after = calibration_report(logits, parents, truth, t, areas)
    assert before["ece"] > 0.1 and after["ece"] < 0.03
    assert before["coverage"]["90"] < 0.8
    assert after["coverage"]["50"] == pytest.approx(0.5, abs=0.04)
    assert after["coverage"]["90"] == pytest.approx(0.9, abs=0.03)


def test_temperature_never_changes_the_winning_cell(tiny_cells):
    torch.manual_seed(0)
    logits = [torch.randn(5, n) * 3 for n in tiny_cells.sizes]
    parents = torch.as_tensor(tiny_cells.parents)
    a = finest_log_probs(logits, parents, 1.0)
    b = finest_log_probs(logits, parents, 3.0)
    assert torch.equal(a.argmax(1), b.argmax(1))
    assert torch.allclose(b.exp().sum(1), torch.ones(5), atol=1e-5)
    assert (b.exp().max(1).values < a.exp().max(1).values).all()  # flatter, never sharper


def test_coverage_counts_a_place_outside_every_cell_as_not_covered():
    cells = [[3, 1, 2], [0, 1, 2]]
    probs = [[0.6, 0.35, 0.05], [0.4, 0.4, 0.2]]
    assert coverage(cells, probs, [3, -1]) == {"50": 0.5, "90": 0.5}
    assert coverage(cells, probs, [2, 2]) == {"50": 0.0, "90": 0.5}


def test_density_prior_answers_the_densest_training_place():
    # 5 photos around Paris, 3 around New York, 1 in Sydney
    coords = np.array([[48.85, 2.35], [48.9, 2.3], [48.8, 2.4], [49.0, 2.1], [50.8, 4.35],
                       [40.7, -74.0], [40.8, -73.9], [42.36, -71.06], [-33.9, 151.2]])
    lat, lon = density_prior_point(coords)
    assert (lat, lon) in [tuple(c) for c in coords[:5]]
    err = density_prior_errors(coords, [("a", 48.85, 2.35), ("b", -33.9, 151.2)])
    assert err[0] < 300 and err[1] > 15000


def test_gallery_moves_the_point_inside_the_cell_only(tiny_cells, tmp_path):
    coords = tiny_cells.finest_coords()
    # two gallery photos in finest cell 0, one in cell 1; features tell them apart
    c0, c1 = coords[0], coords[1]
    photos = np.array([c0 + [0.01, 0.01], c0 + [-0.01, -0.01], c1 + [0.01, 0.0]])
    feats = np.eye(3, 8, dtype=np.float32)
    g = Gallery.build(feats, photos, tiny_cells, k=1)
    cell_of = tiny_cells.assign(photos[:, 0], photos[:, 1])[:, -1]
    assert list(g.members(int(cell_of[0]))) == [0, 1]
    query = torch.as_tensor(np.eye(3, 8, dtype=np.float32)[1])  # looks like photo 1
    assert np.allclose(g.refine(int(cell_of[0]), query), photos[1])
    # photo 1 is the most similar overall, but in cell 1 only photo 2 may answer
    assert np.allclose(g.refine(int(cell_of[2]), query), photos[2])
    empty = next(i for i in range(len(coords)) if i not in set(cell_of.tolist()))
    assert g.refine(empty, query) is None
    again = Gallery.load(g.save(tmp_path))
    assert np.allclose(again.refine(int(cell_of[0]), query), photos[1]) and again.k == 1


def test_densest_neighbourhood_beats_a_lonely_top_cell():
    from inference.modeling.decision import choose_cells, neighbourhood

    # cells: three close together in Europe, one far away with the single highest mass
    coords = np.array([[48.8, 2.3], [50.8, 4.4], [52.5, 13.4], [-33.9, 151.2]])
    probs = torch.tensor([[0.25, 0.2, 0.2, 0.35]])
    assert int(choose_cells(probs)) == 3  # the paper's argmax
    near = neighbourhood(coords, 750)
    dense = near.to_dense()  # sparse CSR: no element indexing
    assert dense[0, 1] == 1 and dense[0, 3] == 0 and dense.diagonal().all()
    assert int(choose_cells(probs, near)) in (0, 1)  # the middle of the 65 % cluster


def test_tied_neighbourhoods_go_to_the_most_probable_cell():
    """A constraint that leaves a few cells closer together than the radius gives every
    one of them the whole mass: the point must go to the most probable, not the first."""
    from inference.modeling.decision import choose_cells, neighbourhood

    coords = np.array([[46.0, 8.9], [46.9, 7.4], [47.4, 8.5], [-33.9, 151.2]])  # 3 Swiss
    probs = torch.tensor([[0.1, 0.2, 0.7, 0.0], [0.5, 0.3, 0.2, 0.0]])
    near = neighbourhood(coords, 750)
    allowed = torch.tensor([True, True, True, False])
    assert choose_cells(probs, near, allowed).tolist() == [2, 0]
    assert choose_cells(probs, near).tolist() == [2, 0]


def test_geographic_soft_targets_favour_near_cells():
    from inference.training.train_steps import geo_loss, geo_soft_targets

    centres = torch.tensor([[48.8, 2.3], [50.8, 4.4], [-33.9, 151.2]])
    soft = geo_soft_targets(torch.tensor([[48.85, 2.35]]), centres, 250.0)
    assert torch.allclose(soft.sum(1), torch.ones(1))
    assert soft[0, 0] > soft[0, 1] > soft[0, 2] and soft[0, 2] < 1e-6
    logits_near = [torch.tensor([[0.0, 5.0, -5.0]])]  # bets on Brussels
    logits_far = [torch.tensor([[0.0, -5.0, 5.0]])]  # bets on Sydney
    y = torch.tensor([[0]])
    near = geo_loss(logits_near, y, [1.0], 0.0, [soft])
    far = geo_loss(logits_far, y, [1.0], 0.0, [soft])
    assert near < far  # a near miss costs less than a wrong continent
    plain_near = geo_loss(logits_near, y, [1.0], 0.0)
    plain_far = geo_loss(logits_far, y, [1.0], 0.0)
    assert torch.isclose(plain_near, plain_far)  # one-hot CE cannot tell them apart
