"""Peak memory of `predict` on a hostile folder of 100 vs 1,000 files (about one in ten odd).

Shows that a long run streams: records are written chunk by chunk, so the peak resident
memory of 1,000 photos is that of 100.  Prints a table; asserts nothing (a measurement).

    .venv/bin/python benchmarks/hostile_folder.py [--model BUNDLE] [--sizes 100 1000]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.photo_factory import make_hostile_folder  # noqa: E402


def untrained_bundle(workdir: Path) -> Path:
    """A 7-level untrained bundle (MP-16 locations when ../shared has them)."""
    coords = REPO.parent / "shared" / "data" / "mp16-coordinates-100k" / "coordinates_100k.csv"
    if not coords.is_file():
        from tests.conftest import clustered_coords
        lats, lons = clustered_coords(n_per_city=2000)
        coords = workdir / "coords.csv"
        with open(coords, "w", newline="") as fh:
            csv.writer(fh).writerows([("LAT", "LON"), *zip(lats, lons)])
    py = sys.executable
    subprocess.run([py, "-m", "inference", "cells", "build", str(coords), "--out",
                    str(workdir / "cells.json")], cwd=REPO, check=True, capture_output=True)
    subprocess.run([py, "-m", "inference", "bundle", "init", "--cells",
                    str(workdir / "cells.json"), "--out", str(workdir / "bundle")],
                   cwd=REPO, check=True, capture_output=True)
    return workdir / "bundle"


def run(model: Path, folder: Path, out: Path) -> dict:
    cmd = [sys.executable, "-c",
           "import resource, sys; from inference.__main__ import main; code = main(sys.argv[1:]);"
           " print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss);"
           " sys.exit(code)",
           "predict", str(folder), "--model", str(model), "--out", str(out / "r.gpkg"),
           "--csv", str(out / "r.csv"), "--quiet"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    rss = next(int(line.split()[1]) for line in res.stdout.splitlines()
               if line.startswith("MAXRSS_KB"))
    done = next(line for line in res.stdout.splitlines() if line.startswith("done:"))
    with open(out / "r.csv", newline="", encoding="utf-8") as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    with open(out / "r_failures.csv", newline="", encoding="utf-8") as fh:
        failed = list(csv.DictReader(fh))
    return {"rc": res.returncode, "seconds": seconds, "rss_mb": rss / 1024, "rows": rows,
            "failed": failed, "done": done}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model or untrained_bundle(tmp)
        print(f"{'files':>6} {'readable':>9} {'rows':>6} {'failed':>7} {'peak RSS MB':>12} "
              f"{'seconds':>8}")
        for n in args.sizes:
            folder = tmp / f"photos{n}"
            expected = make_hostile_folder(folder, n_good=round(n * 0.9), seed=n)
            readable = len(expected["readable"])
            files = readable + len(expected["unreadable"])
            out = tmp / f"out{n}"
            out.mkdir()
            r = run(model, folder, out)
            print(f"{files:>6} {readable:>9} {r['rows']:>6} {len(r['failed']):>7} "
                  f"{r['rss_mb']:>12.0f} {r['seconds']:>8.1f}   rc={r['rc']}")
            reasons = sorted({f['reason'].split(':')[0] for f in r["failed"]})
            print(f"       reasons: {'; '.join(reasons)}")


if __name__ == "__main__":
    main()
