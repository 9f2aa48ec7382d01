"""The sparse decision rule holds the same neighbour pairs and chooses the same cells as the
dense cells x cells rule it replaced (issue 19), at a fraction of the memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.geo import haversine_km
from inference.modeling.cells import CellHierarchy, build_hierarchy, read_coordinates_csv
from inference.modeling.decision import (RADII_KM, choose_cells, neighbour_pairs,
                                         neighbourhood, stored_bytes)
from tests.conftest import shared_data

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def dense_neighbourhood(coords: np.ndarray, radius_km: float) -> torch.Tensor:
    """The rule before issue 19, verbatim: the reference the sparse one must equal."""
    c = np.asarray(coords, dtype=np.float64)
    rows = [haversine_km(c[i:i + 512, None, 0], c[i:i + 512, None, 1], c[None, :, 0],
                         c[None, :, 1]) <= radius_km for i in range(0, len(c), 512)]
    return torch.as_tensor(np.concatenate(rows).astype(np.float32))


def default_cells() -> np.ndarray:
    return CellHierarchy.load(ROOT / "resources/models/default/cells.json").finest_coords()


def photo_locations(n: int) -> np.ndarray:
    """Real photo locations of MP-16: clustered, with repeated coordinates (ties at 0 km)."""
    lats, lons = read_coordinates_csv(shared_data("mp16-coordinates-100k") / "coordinates_100k.csv")
    return np.column_stack([lats[:n], lons[:n]])


EDGES = np.array([[0.0, 179.9], [0.0, -179.9], [89.99, 0.0], [89.99, 180.0], [-89.99, 45.0],
                  [-89.99, -135.0], [10.0, 20.0], [10.0, 20.0], [-10.0, -20.0]])


@pytest.mark.parametrize("radius", [0.0, 25.0, 200.0, 750.0, 2500.0, 20100.0])
def test_sparse_pairs_are_the_dense_pairs(radius):
    """Real cells, the antimeridian, both poles, a repeated point, and a radius past half
    the Earth's circumference (every pair)."""
    for coords in (default_cells(), EDGES):
        assert torch.equal(neighbourhood(coords, radius).to_dense(),
                           dense_neighbourhood(coords, radius))
    counts, cols = neighbour_pairs(EDGES, radius)
    rows = np.repeat(np.arange(len(EDGES)), counts)
    pairs = set(zip(rows.tolist(), cols.tolist()))
    assert {(6, 7), (7, 6), (0, 0)} <= pairs  # the same place twice: neighbours at 0 km
    assert ((0, 1) in pairs) == (radius >= 22.3)  # 0.2 degrees across the antimeridian
    assert all((np.diff(cols[a:b]) > 0).all()  # each row ascending, as CSR wants
               for a, b in zip(np.cumsum(counts) - counts, np.cumsum(counts)))


def random_probs(n_cells: int, seed: int) -> torch.Tensor:
    """Rows as a model gives them: flat ones, peaked ones, a few with mass on a handful
    of cells (where neighbourhoods tie), in float32."""
    g = torch.Generator().manual_seed(seed)
    flat = torch.softmax(torch.randn(8, n_cells, generator=g), dim=1)
    peaked = torch.softmax(4.0 * torch.randn(8, n_cells, generator=g), dim=1)
    few = torch.zeros(8, n_cells)
    for row in few:
        pick = torch.randperm(n_cells, generator=g)[:3]
        row[pick] = torch.rand(3, generator=g)
        row /= row.sum()
    return torch.cat([flat, peaked, few])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("radius", RADII_KM)
def test_sparse_rule_chooses_the_dense_rules_cells(device, radius):
    coords = default_cells()
    probs = random_probs(len(coords), seed=int(radius)).to(device)
    allowed = torch.as_tensor(coords[:, 1] > 0, device=device)  # the eastern hemisphere
    sparse = neighbourhood(coords, radius).to(device)
    dense = dense_neighbourhood(coords, radius).to(device)
    assert sparse.layout == torch.sparse_csr
    for mask in (None, allowed):
        want = choose_cells(probs, dense, mask)
        assert torch.equal(choose_cells(probs, sparse, mask), want)
    # the rule changes something: the densest neighbourhood is not always the top cell,
    # and a mask moves the answer into it
    if radius >= 750:
        assert not torch.equal(choose_cells(probs, sparse), probs.argmax(dim=1))
    assert bool(allowed[choose_cells(probs, sparse, allowed)].all())


def test_sparse_rule_on_clustered_photo_locations():
    """3,000 real photo locations, many at the same place: the same cells at every radius."""
    coords = photo_locations(3000)
    probs = random_probs(len(coords), seed=7)
    allowed = torch.as_tensor(np.abs(coords[:, 0]) < 45)
    for radius in RADII_KM:
        sparse, dense = neighbourhood(coords, radius), dense_neighbourhood(coords, radius)
        assert sparse._nnz() == int(dense.sum())
        for mask in (None, allowed):
            assert torch.equal(choose_cells(probs, sparse, mask),
                               choose_cells(probs, dense, mask))


def test_paper_scale_neighbourhood_is_a_fraction_of_the_dense_matrix():
    """13,038 cells (MP-16 locations, t_max 14: the paper's scale), 750 km: the pairs
    measured with a blockwise dense count in benchmarks/bench_decision.py."""
    lats, lons = read_coordinates_csv(shared_data("mp16-coordinates-100k") / "coordinates_100k.csv")
    coords = build_hierarchy(lats, lons, t_min=2, t_max=[14]).finest_coords()
    assert len(coords) == 13038
    near = neighbourhood(coords, 750.0)
    assert near._nnz() == 13_280_518
    assert near.col_indices().dtype == torch.int32
    # 8 bytes a pair against 4 bytes a cell pair dense: 0.11 GB instead of 0.68 GB
    assert stored_bytes(near) == 8 * 13_280_518 + 4 * (13038 + 1)
    assert stored_bytes(near) < 0.2 * 4 * 13038 ** 2
