"""Do two versions of the code write the same run?  Every speed-up must leave a run's
outputs as they were, and this is how that is checked.

    # with the old code: make the inputs once, then write their outputs
    .venv/bin/python benchmarks/same_outputs.py inputs /tmp/golden
    .venv/bin/python benchmarks/same_outputs.py run /tmp/golden before
    # with the new code
    .venv/bin/python benchmarks/same_outputs.py run /tmp/golden after
    .venv/bin/python benchmarks/same_outputs.py compare /tmp/golden before after

The inputs are the sample photos, a hostile folder (odd files among ordinary JPEGs) and a
few 12 MP phone photos (JPEG and HEIC, the bench's kind).  ``run`` writes each input set
with the real ``python -m inference predict`` (GeoPackage and CSV).  ``compare`` reads
every layer of both GeoPackages and both CSVs: attributes must be equal except the
timing fields (run time, seconds, photos per second), points equal, and polygons equal up
to floating noise (same area, a symmetric difference below 1e-9 of the area), since a
different order of a polygon union may start a ring at another vertex.
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SETS = ("samples", "hostile", "phone")
TIMING_FIELDS = {"run_time", "seconds", "photos_per_s", "started", "update_time"}
# geodesic areas of regions: the same polygon from another union order may start its
# rings elsewhere, which moves the last digits of the area sum
AREA_FIELDS = {"area_km2", "region50_km2", "region90_km2"}
# (1e-10: since session 14 an area is the sum of its cells' areas, which differs from
# measuring the dissolved outline by up to ~1.3e-11 relative)
AREA_REL_TOL = 1e-10
# tables that only hold what a layer reads (the surface view's values and cell outlines):
# the layer itself is compared
STORAGE_TABLES = {"surface_values", "surface_cells"}
TIMING_KEYS = {"started", "seconds", "photos_per_s"}  # run_info rows keyed by these
REL_TOL = 1e-9


def make_inputs(root: Path) -> None:
    from tests.photo_factory import make_hostile_folder
    from benchmarks.bench import phone_photos

    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "resources" / "samples", root / "samples", dirs_exist_ok=True)
    make_hostile_folder(root / "hostile", n_good=90, seed=7)
    phone_photos(root / "phone", 8, 2)
    print(f"inputs written under {root}")


def run_outputs(root: Path, label: str, extra: list[str] = ()) -> None:
    out = root / label
    out.mkdir(parents=True, exist_ok=True)
    for name in SETS:
        cmd = [sys.executable, "-m", "inference", "predict", str(root / name), "--out",
               str(out / f"{name}.gpkg"), "--csv", str(out / f"{name}.csv"), "--quiet",
               *extra]
        res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if res.returncode not in (0, 1):  # 1: some photos failed, the run itself went through
            raise SystemExit(f"{name}: predict failed ({res.returncode}):\n{res.stderr[-3000:]}")
        print(f"{name}: {res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ''}")


def gpkg_layers(path: Path) -> dict:
    """{layer: [(attributes, geometry WKB or None), ...]} in feature order."""
    from osgeo import ogr
    from shapely import wkb

    ds = ogr.Open(str(path))
    layers = {}
    for i in range(ds.GetLayerCount()):
        lyr = ds.GetLayerByIndex(i)
        rows = []
        for feat in lyr:
            attrs = feat.items()
            if lyr.GetName() == "run_info" and attrs.get("key") in TIMING_KEYS:
                attrs["value"] = "<timing>"
            for f in TIMING_FIELDS & attrs.keys():
                attrs[f] = "<timing>"
            g = feat.GetGeometryRef()
            rows.append((attrs, None if g is None else wkb.loads(bytes(g.ExportToWkb()))))
        layers[lyr.GetName()] = rows
    return layers


def same_geometry(a, b) -> str | None:
    """None when equal up to floating noise, else why not."""
    if a is None or b is None:
        return None if a is b else "one geometry is missing"
    if a.geom_type != b.geom_type:
        return f"{a.geom_type} vs {b.geom_type}"
    if a.geom_type == "Point":
        return None if a.equals_exact(b, 0.0) else f"{a.wkt} vs {b.wkt}"
    if a.equals_exact(b, 0.0):
        return None
    scale = max(a.area, b.area, 1e-300)
    if not math.isclose(a.area, b.area, rel_tol=REL_TOL, abs_tol=0.0):
        return f"areas {a.area!r} vs {b.area!r}"
    sym = a.symmetric_difference(b).area
    return None if sym <= REL_TOL * scale else f"symmetric difference {sym / scale:.2e} of the area"


# --tolerance: a change of the network's arithmetic (the fast backbone) moves every
# probability in its last digits; numbers then compare within this relative tolerance
TOLERANCE = 0.0


def _number(v) -> float | None:
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def differing(a: dict, b: dict) -> dict:
    """Fields whose values differ; areas only beyond their floating noise, any number
    only beyond TOLERANCE when it is set."""
    out = {}
    for f in a.keys() | b.keys():
        va, vb = a.get(f), b.get(f)
        if va == vb:
            continue
        if f in AREA_FIELDS and va not in (None, "") and vb not in (None, ""):
            if math.isclose(float(va), float(vb), rel_tol=AREA_REL_TOL, abs_tol=0.0):
                continue
        na, nb = _number(va), _number(vb)
        if TOLERANCE and na is not None and nb is not None and math.isclose(
                na, nb, rel_tol=TOLERANCE, abs_tol=1e-12):
            continue
        out[f] = (va, vb)
    return out


def _text_key(row) -> tuple:
    """A row's non-numeric attributes (photo, cell token, ...), to pair rows whose order
    a last-digit change of two near-equal probabilities swapped."""
    return tuple(sorted((k, str(v)) for k, v in row[0].items()
                        if v is not None and _number(v) is None))


def compare_gpkg(a: Path, b: Path) -> list[str]:
    la, lb = gpkg_layers(a), gpkg_layers(b)
    la = {k: v for k, v in la.items() if k not in STORAGE_TABLES}
    lb = {k: v for k, v in lb.items() if k not in STORAGE_TABLES}
    problems = []
    if sorted(la) != sorted(lb):
        return [f"layers differ: {sorted(la)} vs {sorted(lb)}"]
    for name in la:
        ra, rb = la[name], lb[name]
        if TOLERANCE:  # near-tied cells may trade places: match rows by their text
            ra, rb = sorted(ra, key=_text_key), sorted(rb, key=_text_key)
        if len(ra) != len(rb):
            problems.append(f"{name}: {len(ra)} vs {len(rb)} features")
            continue
        for k, ((attrs_a, ga), (attrs_b, gb)) in enumerate(zip(ra, rb)):
            diff = differing(attrs_a, attrs_b)
            if diff:
                problems.append(f"{name} #{k}: {diff}")
            why = same_geometry(ga, gb)
            if why:
                problems.append(f"{name} #{k} geometry: {why}")
    return problems


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for f in TIMING_FIELDS & row.keys():
            row[f] = "<timing>"
    return rows


def compare(root: Path, before: str, after: str) -> int:
    bad = 0
    for name in SETS:
        problems = compare_gpkg(root / before / f"{name}.gpkg", root / after / f"{name}.gpkg")
        for suffix in (".csv", "_failures.csv"):
            ca = csv_rows(root / before / f"{name}{suffix}")
            cb = csv_rows(root / after / f"{name}{suffix}")
            if len(ca) != len(cb):
                problems.append(f"{name}{suffix}: {len(ca)} vs {len(cb)} rows")
            for k, (ra, rb) in enumerate(zip(ca, cb)):
                diff = differing(ra, rb)
                if diff:
                    problems.append(f"{name}{suffix} row {k}: {diff}")
        n = sum(len(v) for v in gpkg_layers(root / before / f"{name}.gpkg").values())
        print(f"{name}: {n} features compared, "
              f"{'identical' if not problems else f'{len(problems)} differences'}")
        for p in problems[:20]:
            print("   ", p[:400])
        bad += len(problems)
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("inputs").add_argument("root", type=Path)
    r = sub.add_parser("run")
    r.add_argument("root", type=Path)
    r.add_argument("label")
    r.add_argument("--exact-backbone", action="store_true",
                   help="predict with --exact-backbone (the network as trained)")
    c = sub.add_parser("compare")
    c.add_argument("root", type=Path)
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--tolerance", type=float, default=0.0,
                   help="numbers equal within this relative tolerance (for a change of "
                   "the network's arithmetic, e.g. 1e-4); default exact")
    args = ap.parse_args()
    if args.cmd == "inputs":
        make_inputs(args.root)
    elif args.cmd == "run":
        run_outputs(args.root, args.label,
                    ["--exact-backbone"] if args.exact_backbone else [])
    else:
        global TOLERANCE
        TOLERANCE = args.tolerance
        return compare(args.root, args.before, args.after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
