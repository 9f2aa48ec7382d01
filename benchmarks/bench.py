"""`make bench`: how close a run comes to what its parts allow, and the cost of training.

One table, from fresh processes (benchmarks/bench_phases.py says what each measures):
  - per photo kind (12 MP JPEG, 1024 px JPEG, 12 MP HEIC when pillow-heif can write it):
    decode core-seconds per photo, backbone core-seconds per photo, the floor rate they
    allow (cores / their sum: decoding and the network sharing every core, nothing else),
    the end-to-end rate of the real predict (GeoPackage with regions and place names) and
    its ratio to the floor;
  - the bare backbone's photos/s (all threads) and the channels-last variant's cost;
  - what a photo costs after the model: uncertain (hundreds of cells) vs confident;
  - start-up: imports, bundle load and the first prediction;
  - `train --photos` on a few hundred generated geotagged photos (--no-train skips it).
Then one line per photo kind for scripts: ``floor ratio 12mp-jpeg: 0.93``.  On CUDA (when
a GPU is there) the same rows with the GPU's time per photo as the backbone cost.
Timings are noisy on a shared machine: the 1-minute load is printed with every row.

    .venv/bin/python benchmarks/bench.py [--photos 128] [--heic 16] [--no-train]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED_COORDS = REPO.parent / "shared" / "data" / "mp16-coordinates-100k" / "coordinates_100k.csv"
MP16_LADDER = [5000, 2000, 1000, 500, 250, 120, 60]  # t_min 5: 102 ... 3,955 cells


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


# ---------------------------------------------------------------------- fixtures


def bench_bundle(work: Path) -> tuple[Path, str]:
    from inference.modeling.defaults import default_bundle_path

    default = default_bundle_path()
    if default is not None:
        return default, "default bundle"
    from inference.modeling.bundle import init_bundle
    from inference.modeling.cells import build_hierarchy, read_coordinates_csv

    if SHARED_COORDS.is_file():
        lats, lons = read_coordinates_csv(SHARED_COORDS)
        cells = build_hierarchy(lats, lons, t_min=5, t_max=MP16_LADDER)
        what = f"untrained, {cells.num_levels} levels {cells.sizes} from MP-16 locations"
    else:
        from tests.conftest import clustered_coords

        lats, lons = clustered_coords(n_per_city=3000)
        cells = build_hierarchy(lats, lons)
        what = f"untrained, {cells.num_levels} levels {cells.sizes} (generated locations)"
    return init_bundle(cells, work / "bundle", name="bench-untrained"), what


def phone_photos(folder: Path, n: int, n_heic: int, size=(4000, 3000)) -> list[Path]:
    """12 MP photos with EXIF GPS; a few as HEIC when pillow-heif can write them."""
    import numpy as np
    from PIL import Image

    from tests.conftest import CITIES
    from tests.photo_factory import exif_bytes

    folder.mkdir(parents=True, exist_ok=True)
    heif = False
    if n_heic:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            heif = True
        except ImportError:
            print("pillow-heif not importable: JPEG only", file=sys.stderr)
    rng = np.random.default_rng(0)
    w, h = size
    # a 1000x750 textured tile upscaled: real 12 MP files without 12 MP of noise to draw
    paths, cities = [], list(CITIES.values())
    for i in range(n):
        tile = rng.integers(0, 255, (h // 4, w // 4, 3), dtype=np.uint8)
        img = Image.fromarray(tile).resize(size, Image.Resampling.BILINEAR)
        lat, lon = cities[i % len(cities)]
        exif = exif_bytes(gps=(lat, lon), orientation=6 if i % 5 == 0 else 1)
        if heif and i < n_heic:
            path = folder / f"phone_{i:03d}.heic"
            img.save(path, "HEIF", quality=80, exif=exif)
        else:
            path = folder / f"phone_{i:03d}.jpg"
            img.save(path, "JPEG", quality=88, exif=exif)
        paths.append(path)
    return paths


def training_photos(folder: Path, n: int, size: tuple[int, int]) -> None:
    from tests.test_train import make_city_photos

    make_city_photos(folder, max(1, n // 6), seed=0, size=size)


# ------------------------------------------------------------------------ phases


def phase_train(args) -> dict:
    t0 = time.perf_counter()
    from inference.training.train import train_from_photos

    result = train_from_photos(args.photo_dir, args.out, cache_dir=args.cache,
                               epochs=args.epochs, device=args.device, quiet=True)
    total = time.perf_counter() - t0
    t = result.facts["time_s"]
    return {"device": result.facts["hardware"]["device"], "photos": result.n_train + result.n_val,
            "epochs": result.facts["recipe"]["epochs"], "features_s": t["features"],
            "training_s": t["training"], "total_s": total,
            "train_ps": result.n_train * result.facts["recipe"]["epochs"] / max(t["training"],
                                                                               1e-9),
            "val_acc_2500": result.validation["model"]["accuracy"]["2500"],
            "prior_acc_2500": result.validation["prior"]["accuracy"]["2500"],
            "peak_rss_mb": peak_rss_mb()}


def run_phase(name: str, **kw) -> dict:
    script = Path(__file__).with_name("bench_phases.py") if name != "train" else Path(__file__)
    cmd = [sys.executable, str(script), "--phase", name]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if res.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- main


def heic_writable() -> bool:
    try:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        return True
    except ImportError:
        return False


def make_kinds(work: Path, args) -> dict[str, Path]:
    kinds = {"12mp-jpeg": (args.photos, 0, (4000, 3000)),
             "1024px-jpeg": (args.photos, 0, (1024, 768))}
    if args.heic and heic_writable():
        kinds["12mp-heic"] = (args.heic, args.heic, (4000, 3000))
    elif args.heic:
        print("pillow-heif cannot write HEIC here: no HEIC row", file=sys.stderr)
    out = {}
    for kind, (n, n_heic, size) in kinds.items():
        # a few distinct photos copied under other names: encoding 12 MP (HEIC above all)
        # is slow, and a copy costs the same to decode and to predict
        distinct = phone_photos(work / kind, min(n, 2 if n_heic else 8),
                                min(n_heic, 2), size)
        for i in range(len(distinct), n):
            src = distinct[i % len(distinct)]
            shutil.copyfile(src, src.with_name(f"copy_{i:03d}{src.suffix}"))
        out[kind] = work / kind
    return out


def device_rows(bundle: Path, kinds: dict, device: str, args) -> tuple[list[dict], dict]:
    costs = run_phase("costs", bundle=bundle, kinds=json.dumps({k: str(v) for k, v in
                                                                  kinds.items()}),
                      device=device, batch_size=args.batch_size)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = []
    for kind, folder in kinds.items():
        e2e = run_phase("e2e", bundle=bundle, photo_dir=folder, device=device,
                        batch_size=args.batch_size, reps=args.reps)
        decode = costs["kinds"][kind]["decode_core_s"]
        backbone = costs["backbone_core_s"]
        if device == "cpu":
            floor = cores / (decode + backbone)
        else:  # decoding on the CPU cores, the network on the GPU: the slower one sets it
            floor = min(cores / decode, 1.0 / backbone)
        rows.append({"kind": kind, "device": e2e["device"], "decode": decode,
                     "backbone": backbone, "floor_ps": floor, "e2e_ps": e2e["e2e_ps"],
                     "ratio": e2e["e2e_ps"] / floor, "cpu": e2e["cpu_per_photo_s"],
                     "rss": e2e["peak_rss_mb"], "load": e2e["load_avg"]})
    return rows, costs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 128: a run's fixed costs (the first batch decoding before the model starts, the
    # last chunk's regions and rows after it stops, the commit) weigh ~4x less than in
    # a 32-photo run; investigators' folders hold hundreds to thousands of photos
    p.add_argument("--photos", type=int, default=128, help="photos per JPEG kind")
    p.add_argument("--heic", type=int, default=16, help="12 MP HEIC photos (0: none)")
    p.add_argument("--batch-size", type=int, default=16, help="as python -m inference predict")
    p.add_argument("--reps", type=int, default=2, help="timed repetitions (best is shown)")
    p.add_argument("--train-photos", type=int, default=300)
    p.add_argument("--train-size", type=int, nargs=2, default=(1600, 1200),
                   help="pixel size of the generated training photos")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--no-train", action="store_true")
    # internal: the training phase in this process
    p.add_argument("--phase", choices=["train"], help=argparse.SUPPRESS)
    for hidden in ("--photo-dir", "--device", "--out", "--cache"):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase:
        print(json.dumps(phase_train(args)))
        return 0

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory(prefix="geodecoder-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        bundle, what = bench_bundle(work)
        kinds = make_kinds(work, args)
        counts = ", ".join(f"{len(list(d.iterdir()))} {k}" for k, d in kinds.items())
        print(f"bundle: {what}\nphotos: {counts}, generated in "
              f"{time.perf_counter() - t0:.0f} s; torch {torch.__version__}, "
              f"{torch.get_num_threads()} CPU threads, {os.cpu_count()} cores", flush=True)
        rows, costs_of = [], {}
        for dev in devices:
            dev_rows, costs_of[dev] = device_rows(bundle, kinds, dev, args)
            rows += dev_rows
        regions = run_phase("regions", bundle=bundle, photo_dir=kinds["12mp-jpeg"],
                            batch_size=args.batch_size)
        startup = min((run_phase("startup", bundle=bundle,
                                 photo=REPO / "resources" / "samples" / "sigal_1.jpg")
                       for _ in range(2)), key=lambda r: r["total_s"])
        train = None
        if not args.no_train:
            training_photos(work / "train", args.train_photos, tuple(args.train_size))
            train = run_phase("train", photo_dir=work / "train", out=work / "trained",
                              cache=work / "cache", device="auto", epochs=args.epochs)
    report(rows, costs_of, regions, startup, train, args)
    return 0


def report(rows, costs_of, regions, startup, train, args) -> None:
    print()
    print(f"{'photos':<13}{'device':<10}{'decode':>8}{'backbone':>10}{'floor':>8}{'e2e':>8}"
          f"{'ratio':>7}{'CPU/photo':>11}{'work':>6}{'peak RSS':>10}{'load':>6}")
    print(f"{'':<13}{'':<10}{'core-s':>8}{'core-s':>10}{'ph/s':>8}{'ph/s':>8}{'':>7}"
          f"{'core-s':>11}{'':>6}{'MB':>10}{'':>6}")
    for r in rows:
        # work: the ratio a perfect overlap would reach, (decode + backbone) / CPU per photo
        # of the real run: what the run does beyond its parts, whatever the load
        work = (r["decode"] + r["backbone"]) / r["cpu"] if r["device"] == "cpu" else 0.0
        print(f"{r['kind']:<13}{r['device'][:9]:<10}{r['decode']:>8.3f}{r['backbone']:>10.3f}"
              f"{r['floor_ps']:>8.1f}{r['e2e_ps']:>8.1f}{r['ratio']:>7.2f}{r['cpu']:>11.3f}"
              f"{work:>6.2f}{r['rss']:>10.0f}{r['load']:>6.1f}")
    for dev, c in costs_of.items():
        line = f"bare backbone on {dev}: {c['backbone_ps']:.1f} photos/s ({c['threads']} threads)"
        if "exact_backbone_core_s" in c:
            line += (f"; fast form {c['backbone_core_s']:.3f} core-s/photo, exact form "
                     f"(--exact-backbone) {c['exact_backbone_core_s']:.3f}")
        if "backbone_bf16_ps" in c:
            line += f"; bf16 autocast {c['backbone_bf16_ps']:.1f} photos/s"
        print(line + f"; load {c['load_avg']:.1f}")
    cpu = next(r for r in rows if r["kind"] == "12mp-jpeg" and r["device"] == "cpu")
    base = cpu["decode"] + cpu["backbone"]
    u, c = regions["uncertain_s"], regions["confident_s"]
    print(f"after the model, per photo (regions, place names, rows written): uncertain "
          f"({regions['cells'][0]} + {regions['cells'][1]} region cells, "
          f"{regions['surface_cells']} surface cells) {1e3 * u:.1f} ms, confident (1 cell) "
          f"{1e3 * c:.1f} ms, plain polygon union {1e3 * regions['plain_union_s']:.0f} ms; "
          f"a 12 MP photo costs {(base + u) / (base + c):.2f}x a confident one "
          f"(load {regions['load_avg']:.1f})")
    print(f"start-up: imports {startup['import_s']:.2f} s + bundle {startup['load_s']:.2f} s + "
          f"first prediction {startup['first_s']:.2f} s = {startup['total_s']:.2f} s, "
          f"{startup['cpu_s']:.2f} CPU s (load {startup['load_avg']:.1f})")
    print(f"(core-s: CPU seconds per photo, decoding in one thread, backbone (the fast form "
          f"the run uses) with one torch thread; floor = cores / (decode + backbone); "
          f"ratio = e2e / floor; work = (decode + backbone) / CPU per photo, the ratio a "
          f"perfect overlap would reach; e2e is the best "
          f"of {args.reps} runs of the real predict, batch {args.batch_size}; 'load' is the "
          "1-minute load when the phase ended: above the core count, other work competed)")
    if train:
        print(f"\ntrain --photos: {train['photos']} photos ({args.train_size[0]}x"
              f"{args.train_size[1]}), {train['epochs']} epochs on {train['device']}: "
              f"features {train['features_s']:.0f} s, training {train['training_s']:.0f} s "
              f"({train['train_ps']:.0f} photos/s), total {train['total_s']:.0f} s, peak RSS "
              f"{train['peak_rss_mb']:.0f} MB; validation acc@2500km "
              f"{100 * train['val_acc_2500']:.0f}% vs prior {100 * train['prior_acc_2500']:.0f}%")
    print()
    for r in rows:
        suffix = "" if r["device"] == "cpu" else "-cuda"
        print(f"floor ratio {r['kind']}{suffix}: {r['ratio']:.2f}")


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    sys.exit(main())
