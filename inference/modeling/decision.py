"""Which cell the point goes to: the paper's most probable cell, or the most probable
neighbourhood.

The paper writes the argmax of the finest-cell probabilities.  With a weak model that is
a poor bet: its top cell holds a few percent of the mass, and a cluster of nearby cells
with more mass together is a better answer for "within 750 km".  The Bayes decision for
accuracy within r km is the cell c maximising sum_c' p(c') [d(c, c') <= r]: the centre
of the densest r-neighbourhood (beyond the paper, written down in the method notes).
A bundle carries its radius (``decision.radius_km``, 0 = the paper's argmax), chosen on
its validation split by the mean GeoGuessr-style score, which weighs every distance.
The reported confidence is the probability of the cell the point is in, whichever rule
chose it, so "30 %" still means "30 % that the photo was taken in this cell".

The neighbourhoods are a sparse matrix (torch CSR, int32 indices, float32 ones), not a
dense cells x cells one: at the paper's scale (12.9k cells) a dense float32 matrix is
0.67 GB, too much for a user-trained bundle on a laptop (and training held one for each
of three radii).  On 13,038 cell centres of the MP-16 locations 750 km links 7.8 % of
the pairs: 0.11 GB at 8 bytes a pair; 2500 km links a quarter, 0.34 GB
(benchmarks/bench_decision.py).  The pairs come from a KD-tree radius query on unit
vectors (the chord of the radius), then the dense rule's haversine test where a pair is
near the edge, so the matrix holds exactly the pairs the dense one held; the product sums
the same masses in another order, which the tie tolerance below absorbs.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..geo import EARTH_RADIUS_KM, haversine_km

RADII_KM = (0.0, 200.0, 750.0, 2500.0)  # the ones validation chooses from
TIE = 1e-5  # float32 sums of masses near one: closer than this is a tie
BLOCK = 256  # rows of the radius query at a time: bounded scratch memory (256 x C pairs)


def neighbour_pairs(coords: np.ndarray, radius_km: float):
    """(counts, cols): how many neighbours each cell has (C,) int64 and their indices,
    row after row, each row's ascending, int32: every pair of cell centres within
    ``radius_km`` great-circle km of each other, itself included.

    The KD-tree finds candidates within a chord a little longer than the radius (float
    rounding of the chord must not lose a pair).  A candidate well inside (a chord a
    millionth shorter) is a neighbour; the haversine distance, the test of the dense rule
    and of every accuracy table, decides the rest, so the pairs are the dense rule's.
    Scratch memory: one block of 256 rows' candidates; the result 4 bytes a pair."""
    from scipy.spatial import cKDTree  # in requirements.txt; not needed at import

    c = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    n = len(c)
    lat, lon = np.radians(c[:, 0]), np.radians(c[:, 1])
    unit = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    exact = 2.0 * np.sin(min(float(radius_km) / EARTH_RADIUS_KM, np.pi) / 2.0)
    tree = cKDTree(unit)
    counts, cols = np.zeros(n, dtype=np.int64), []
    for start in range(0, n, BLOCK):
        found = cKDTree(unit[start:start + BLOCK]).sparse_distance_matrix(
            tree, exact * (1.0 + 1e-9) + 1e-12, output_type="ndarray")
        i, j = found["i"].astype(np.int64), found["j"].astype(np.int64)
        edge = np.flatnonzero(found["v"] > exact * (1.0 - 1e-6))
        far = haversine_km(c[i[edge] + start, 0], c[i[edge] + start, 1], c[j[edge], 0],
                           c[j[edge], 1]) > radius_km
        key = np.delete(i * n + j, edge[far])
        key.sort()
        counts[start:start + BLOCK] = np.bincount(key // n, minlength=min(BLOCK, n - start))
        cols.append((key % n).astype(np.int32))
    return counts, (np.concatenate(cols) if cols else np.zeros(0, np.int32))


def neighbourhood(coords: np.ndarray, radius_km: float) -> torch.Tensor:
    """(C, C) sparse CSR, float 1 where cell centres are within ``radius_km`` of each
    other (symmetric, the diagonal included)."""
    counts, cols = neighbour_pairs(coords, radius_km)
    n = len(counts)
    crow = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=crow[1:])
    index = torch.int32 if len(cols) < 2 ** 31 else torch.int64
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.as_tensor(crow, dtype=index),
                                       torch.as_tensor(cols, dtype=index),
                                       torch.ones(len(cols), dtype=torch.float32), (n, n))


def stored_bytes(near: torch.Tensor) -> int:
    """Bytes a neighbourhood matrix holds (dense or CSR): what the bench reports."""
    if near.layout == torch.sparse_csr:
        return sum(t.numel() * t.element_size()
                   for t in (near.crow_indices(), near.col_indices(), near.values()))
    return near.numel() * near.element_size()


def neighbourhood_mass(probs: torch.Tensor, near: torch.Tensor) -> torch.Tensor:
    """(B, C): for every cell, the probability within the radius of it (``near``'s
    pairs).  ``near`` is symmetric, so probs @ near = (near @ probs^T)^T: the sparse
    matrix on the left, the form torch's CSR product takes on CPU and CUDA; a dense
    ``near`` (the rule before the sparse one, kept by the tests) works the same."""
    return (near.to(probs.device) @ probs.float().T).T


def choose_cells(probs: torch.Tensor, near: torch.Tensor = None,
                 allowed: torch.Tensor = None, scores: torch.Tensor = None) -> torch.Tensor:
    """(B,) chosen finest cell per row of ``probs`` (B, C): argmax, or with ``near`` the
    centre of the most probable neighbourhood.  ``allowed`` (C,) bool keeps the choice
    among the cells a constraint left (a neighbourhood reaches past a border, its
    centre must not).  ``scores``: ``neighbourhood_mass(probs, near)`` when the caller
    has it already (it records the chosen neighbourhood's mass)."""
    if near is None:
        return probs.argmax(dim=1)
    if scores is None:
        scores = neighbourhood_mass(probs, near)
    if allowed is not None:
        scores = scores.masked_fill(~allowed.to(probs.device), -1.0)
    # neighbourhoods that hold the same mass (all of it, when a constraint leaves a few
    # cells closer than the radius) tie: the most probable cell among them wins, not
    # the first index
    best = scores.max(dim=1, keepdim=True).values
    tied = scores >= best - TIE * best.abs().clamp(min=1.0)
    return torch.where(tied, probs.float(), torch.full_like(scores, -1.0)).argmax(dim=1)
