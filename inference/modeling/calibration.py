"""Honest probabilities: temperature scaling, calibration error and region coverage.

A model trained on a few thousand photos is over-confident: it says 60 % where it is right
30 % of the time, and its "90 % region" holds the true place far less often than 90 %.  An
investigator acts on those numbers, so the bundle carries one temperature T, fitted on the
validation split after training, that divides every level's logits before the product down
the hierarchy (Guo et al. 2017, "On Calibration of Modern Neural Networks").  One scalar
for all levels: it cannot change which cell wins, only how sure the model says it is.

What is measured, for any bundle (``evaluate``) and at training time:

- **ECE**, expected calibration error: the photos are binned by stated confidence (the
  probability of the top finest cell, 15 equal-width bins) and |accuracy - confidence| is
  averaged, weighted by bin size.  "Right" means the true place lies in that top cell.
- **Coverage** of the m = 50 % and 90 % credible regions: how often the true place lies in
  the set of finest cells, taken by decreasing probability density, that first holds m of
  the mass (credible.py), the set ``regions.credible_region`` draws.  A photo whose true
  place is in no cell of the model counts as not covered.  Coverage alone can be bought
  with area (the whole Earth covers every photo), so the regions' median area is reported
  beside it.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, Sequence

import numpy as np
import torch

from .credible import credible_prefix, density_order
from .decision import choose_cells
from .model import hierarchical_log_probs

ECE_BINS = 15
MASSES = (0.5, 0.9)
# log-spaced search grid for T; the NLL is smooth in log T, the grid is then refined
_T_GRID = np.exp(np.linspace(math.log(0.2), math.log(20.0), 93))


def finest_log_probs(level_logits: Sequence[torch.Tensor], parents: torch.Tensor,
                     temperature: float = 1.0) -> torch.Tensor:
    """(B, C_finest) log-probabilities, normalised over the finest cells, with every level's
    logits divided by ``temperature`` first (what the predictor reports)."""
    t = float(temperature)
    scaled = [lg.float() / t for lg in level_logits] if t != 1.0 else level_logits
    return torch.log_softmax(hierarchical_log_probs(scaled, parents), dim=1)


def fit_temperature(level_logits: Sequence[torch.Tensor], parents: torch.Tensor,
                    truth: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of the true finest cells.

    ``truth`` holds each photo's finest cell index, -1 where its place is in no cell (left
    out of the fit: no temperature can put mass there).  Grid search over 0.2..20 in log
    space, then a finer grid around the best: robust, no optimiser state, deterministic.
    """
    truth = np.asarray(truth)
    keep = np.flatnonzero(truth >= 0)
    if len(keep) == 0:
        return 1.0
    idx = torch.as_tensor(keep)
    logits = [lg.float().index_select(0, idx) for lg in level_logits]
    target = torch.as_tensor(truth[keep], dtype=torch.long)

    def nll(t: float) -> float:
        lp = finest_log_probs(logits, parents, t)
        return float(-lp.gather(1, target[:, None]).mean())

    best = min(_T_GRID, key=nll)
    fine = np.exp(np.linspace(math.log(best) - 0.06, math.log(best) + 0.06, 25))
    return float(round(min(fine, key=nll), 4))


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool],
                               bins: int = ECE_BINS) -> float:
    """Sum over equal-width confidence bins of (bin share) * |accuracy - mean confidence|."""
    conf = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if len(conf) == 0:
        return float("nan")
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs(ok[m].mean() - conf[m].mean())
    return float(total)


def coverage(ranked_cells: Iterable[Sequence[int]], ranked_probs: Iterable[Sequence[float]],
             truth: Sequence[int], masses: Sequence[float] = MASSES) -> Dict[str, float]:
    """Share of photos whose true finest cell is inside each credible region, keyed "50",
    "90".  ``ranked_cells``/``ranked_probs``: per photo, finest cells by decreasing
    density (``credible.density_order``; possibly truncated, as ``Prediction.finest``
    is)."""
    hits = {m: 0 for m in masses}
    n = 0
    for cells, probs, t in zip(ranked_cells, ranked_probs, truth):
        n += 1
        if t < 0:
            continue
        cells = list(cells)
        for m in masses:
            if int(t) in cells[:credible_prefix(probs, m)]:
                hits[m] += 1
    return {mass_key(m): (hits[m] / n if n else float("nan")) for m in masses}


def median_region_km2(ranked_cells: Iterable[Sequence[int]],
                      ranked_probs: Iterable[Sequence[float]], areas: np.ndarray,
                      masses: Sequence[float] = MASSES) -> Dict[str, float]:
    """Median area (km^2) of each credible region over the photos, keyed like
    ``coverage``; ``areas``: every finest cell's (``partition_areas_km2``)."""
    sizes: Dict[float, list] = {m: [] for m in masses}
    for cells, probs in zip(ranked_cells, ranked_probs):
        cells = np.asarray(list(cells), dtype=np.int64)
        for m in masses:
            sizes[m].append(float(areas[cells[:credible_prefix(probs, m)]].sum()))
    return {mass_key(m): (float(np.median(sizes[m])) if sizes[m] else float("nan"))
            for m in masses}


def mass_key(mass: float) -> str:
    return str(int(round(100 * mass)))


def calibration_report(level_logits: Sequence[torch.Tensor], parents: torch.Tensor,
                       truth: np.ndarray, temperature: float, areas: np.ndarray,
                       cap: int = 500, near: torch.Tensor = None) -> Dict:
    """ECE, region coverage and median region area of logits at ``temperature`` (truth:
    finest cell or -1; ``areas``: every finest cell's, for the density ranking).  The
    stated confidence is that of the cell the point goes to (``decision.choose_cells``
    with ``near``), as the predictor reports it."""
    lp = finest_log_probs(level_logits, parents, temperature)
    probs = lp.exp()
    chosen = choose_cells(probs, near)
    conf = probs.gather(1, chosen[:, None]).squeeze(1).numpy()
    p = probs.numpy()
    si = density_order(p, areas)[:, :cap]
    sp = np.take_along_axis(p, si, axis=1)
    truth = np.asarray(truth)
    correct = chosen.numpy() == truth
    return {"temperature": float(temperature),
            "ece": expected_calibration_error(conf, correct),
            "mean_confidence": float(conf.mean()) if len(conf) else float("nan"),
            "top_cell_accuracy": float(correct.mean()) if len(conf) else float("nan"),
            "coverage": coverage(si, sp, truth),
            "region_km2": median_region_km2(si, sp, areas)}
