"""Which cells a credible region holds: the cells ranked by probability density.

A credible region of mass m is a set of finest cells whose probabilities add up to at
least m.  Of all such sets, the one a reader can use is the *smallest in area*: "90 % of
the probability lies in these 3 million km2" says more than "in these 200 million km2".
The cells of an adaptive partition differ in area by three orders of magnitude (a sparse
ocean cell against a city's), so taking them by probability soaks up huge sparse cells:
with the default model the 90 % regions were 182-282 million km2 ranked by probability
and 74-118 ranked by density on the seven samples (issue 19).

So the cells are taken by decreasing density, probability over geodesic area: the
highest-posterior-density region of the distribution that spreads each cell's probability
evenly over the cell (the same assumption the clues make, constraints/weights.py).  Its
prefix of covered mass M is the smallest-area set of cells holding at least M: any set of
mass >= M has an area >= the fractional optimum, and taking cells by density until M is
reached *is* that optimum (the greedy solution of the fractional knapsack), tested by
brute force on small hierarchies.  For a target m below the covered M a set of area
between the two may exist (the discrete problem is a knapsack); the region reports the
mass M it really holds, so its claim stays exact.

Ties in density go to the more probable cell, then to the lower class index, so the
ranking is deterministic.  The one definition of a region's cells: the predictor keeps
the ranked cells (``Prediction.finest``), the regions layer draws their prefixes and
``calibration.coverage`` checks the true place against the same prefixes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def density_order(probs: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Indices of the cells by decreasing probability density (``probs / areas``; ties:
    higher probability, then lower index), along the last axis."""
    probs = np.asarray(probs, dtype=np.float64)
    density = probs / np.asarray(areas, dtype=np.float64)
    index = np.broadcast_to(np.arange(probs.shape[-1]), probs.shape)
    return np.lexsort((index, -probs, -density), axis=-1)


def allowed_areas(areas: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """The areas a cell's density is measured on under clues: each cell's area times the
    share of it where the clues hold.  A cell with share 0 (probability 0 under the
    clues) keeps its whole area, so no density divides by zero."""
    areas = np.asarray(areas, dtype=np.float64)
    shares = np.asarray(shares, dtype=np.float64)
    return np.where(shares > 0, areas * shares, areas)


def credible_prefix(ranked_probs: Sequence[float], mass: float) -> int:
    """Number of leading cells (in ``density_order``) whose sum first reaches ``mass``;
    all of them when it is never reached (a capped list)."""
    return prefix_reaching(running_sums(ranked_probs), mass)


def running_sums(probs: Iterable[float]) -> np.ndarray:
    """Sums of the first 1, 2, ... probabilities, added one by one in order (NumPy's
    cumulative sum is sequential: the very sums of a Python loop)."""
    return np.cumsum(np.fromiter((float(p) for p in probs), float))


def prefix_reaching(sums: np.ndarray, mass: float) -> int:
    reached = np.flatnonzero(sums >= mass)
    return int(reached[0]) + 1 if len(reached) else len(sums)
