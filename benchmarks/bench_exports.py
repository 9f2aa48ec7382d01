"""`make bench`, exports part: a run of 520 and of 5,000 photos as KML, KMZ and GeoJSON.

Issue 21.7: the KML export of a 520-photo run took over 23 minutes at 1.2-1.6 GB and had
not finished.  Each run is made as ``bench_qgis.py`` makes its runs (the sample photos
and a 12 MP phone photo geolocated with the default model, their records replicated to
N photos with their real credible regions: the uncertain, shipped model, 90 % regions
of ~300 cells and thousands of vertices), then each export is written by
``outputs.exports.export_run`` in a fresh process: wall time, peak memory (RSS), file
size.

    .venv/bin/python benchmarks/bench_exports.py [--photos 520 5000] [--keep DIR]

Ends with one line per run and format for scripts:
``export 5000 kml: 41.2 s, peak 80 MB, 96 MB``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FORMATS = (".kml", ".kmz", ".geojson")


def phase_export(args) -> dict:
    from inference.outputs.exports import export_run

    t0 = time.perf_counter()
    calls = []
    export_run(args.gpkg, args.out, progress=lambda done, total: calls.append(done))
    seconds = time.perf_counter() - t0
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mb": kb / 1024, "mb": Path(args.out).stat().st_size / 1e6,
            "progress_calls": len(calls)}


def _phase(script: Path, name: str, **kw) -> dict:
    cmd = [sys.executable, str(script), "--phase", name]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{script.name} {name} failed ({res.returncode}):\n"
                         f"{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, nargs="+", default=[520, 5000])
    p.add_argument("--keep", help="write the photos, runs and exports here")
    p.add_argument("--phase", choices=["export"], help=argparse.SUPPRESS)
    p.add_argument("--gpkg", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase == "export":
        print(json.dumps(phase_export(args)))
        return 0
    from benchmarks.bench_qgis import make_photos

    rows = []
    with tempfile.TemporaryDirectory(prefix="geodecoder-bench-exports-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in args.photos:
            photo_dir = folder / f"photos-{n}"
            gpkg = folder / f"run-{n}.gpkg"
            if not gpkg.is_file():
                if not photo_dir.is_dir():
                    make_photos(photo_dir, n)
                _phase(REPO / "benchmarks" / "bench_qgis.py", "generate", photos=n,
                       variant="uncertain", out=gpkg, photo_dir=photo_dir)
            print(f"{gpkg.name}: {gpkg.stat().st_size / 1e6:.0f} MB", flush=True)
            for ext in FORMATS:
                out = folder / f"run-{n}{ext}"
                r = _phase(Path(__file__).resolve(), "export", gpkg=gpkg, out=out)
                rows.append((n, ext, r))
                print(f"  {ext[1:]}: {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB, "
                      f"{r['mb']:.0f} MB, {r['progress_calls']} progress calls", flush=True)
                if not args.keep:
                    out.unlink()
    print()
    for n, ext, r in rows:
        print(f"export {n} {ext[1:]}: {r['seconds']:.1f} s, peak {r['peak_mb']:.0f} MB, "
              f"{r['mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
