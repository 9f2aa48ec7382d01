"""Memory and time of the decision rule's neighbourhoods at the paper's scale (issue 19).

Cells: the finest partition of the 100k MP-16 locations at t_min 2, t_max 14 (13,038
cells, about the paper's 12.9k).  Per radius: the neighbour pairs the sparse matrix
stores, checked against a blockwise dense count (the dense rule's own haversine test,
never holding the whole matrix), the bytes stored against the dense float32 matrix, the
build time and the peak RSS the build added, and choose_cells for 32 photos.  Timings
are wall seconds on a shared machine: read them as orders of magnitude.

    .venv/bin/python benchmarks/bench_decision.py [--t-max 14] [--radii 200 750 2500]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inference.geo import haversine_km  # noqa: E402
from inference.modeling.cells import build_hierarchy, read_coordinates_csv  # noqa: E402
from inference.modeling.decision import choose_cells, neighbourhood, stored_bytes  # noqa: E402

COORDS = REPO.parent / "shared" / "data" / "mp16-coordinates-100k" / "coordinates_100k.csv"


def dense_count(c: np.ndarray, radius_km: float) -> int:
    """Pairs within the radius by the dense rule's test, 256 rows at a time."""
    return sum(int((haversine_km(c[i:i + 256, None, 0], c[i:i + 256, None, 1], c[None, :, 0],
                                 c[None, :, 1]) <= radius_km).sum())
               for i in range(0, len(c), 256))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t-max", type=int, default=14)
    ap.add_argument("--radii", type=float, nargs="+", default=[200.0, 750.0, 2500.0])
    args = ap.parse_args()
    lats, lons = read_coordinates_csv(COORDS)
    coords = build_hierarchy(lats, lons, t_min=2, t_max=[args.t_max]).finest_coords()
    n = len(coords)
    dense_gb = 4 * n * n / 1e9
    probs = torch.softmax(2.0 * torch.randn(32, n, generator=torch.Generator().manual_seed(0)),
                          dim=1)
    print(f"{n} cells; a dense float32 matrix is {dense_gb:.2f} GB")
    for r in args.radii:
        before = rss_mb()
        t = time.perf_counter()
        near = neighbourhood(coords, r)
        build_s = time.perf_counter() - t
        grew = rss_mb() - before
        t = time.perf_counter()
        choose_cells(probs, near)
        choose_s = time.perf_counter() - t
        pairs = near._nnz()
        check = dense_count(coords, r)
        print(f"{r:6g} km: {pairs:,} pairs ({pairs / n / n:.1%}), dense count {check:,} "
              f"{'equal' if check == pairs else 'DIFFERENT'}; {stored_bytes(near) / 1e9:.3f} GB "
              f"stored ({stored_bytes(near) / 1e9 / dense_gb:.0%} of dense); build "
              f"{build_s:.2f} s, peak RSS +{grew:.0f} MB; choose_cells 32 photos {choose_s:.3f} s")
        del near


if __name__ == "__main__":
    main()
