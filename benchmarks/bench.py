"""`make bench`: throughput, memory and load time of the engine, and the cost of training.

Measures, on CPU (and CUDA when there is one):
  - photos/s end to end (decode + backbone + decoder + records) on phone-size photos:
    12 MP JPEGs with EXIF and, when pillow-heif can encode, some HEIC;
  - photos/s of the bare backbone forward pass on a batch of the same size (the ceiling);
  - peak resident memory of each phase (ru_maxrss of a fresh process per phase) and, on
    CUDA, peak allocated GPU memory;
  - bundle load time (imports measured apart);
  - `train --photos` on a few hundred generated geotagged photos: features, training and
    total seconds.

The bundle is the default one when it ships, otherwise an untrained bundle of the same
shape (7 levels from the MP-16 locations in ../shared when present, else a generated
hierarchy; the paper-like decoder: width 256, 4 + 2 layers).  Each phase runs in its own
process so that its peak memory is its own.  Prints a table; asserts nothing.

    .venv/bin/python benchmarks/bench.py [--photos 24] [--heic 4] [--train-photos 300]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def phase_predict(args) -> dict:
    """End to end vs the bare backbone, same batch size, one device."""
    t0 = time.perf_counter()
    import torch

    from inference.modeling.bundle import load_bundle
    from inference.prediction.predict import Predictor
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    bundle = load_bundle(args.bundle)
    t_load = time.perf_counter() - t0
    paths = sorted(str(p) for p in Path(args.photo_dir).iterdir())
    pred = Predictor(bundle, device=args.device, batch_size=args.batch_size)
    dev = pred.device
    list(pred.run(paths[: args.batch_size]))  # warm-up (allocator, kernels)
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t_e2e = float("inf")
    for _ in range(args.reps):  # best of: other processes on a small machine add noise
        t0 = time.perf_counter()
        records = list(pred.run(paths))
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t_e2e = min(t_e2e, time.perf_counter() - t0)
    failures = sum(1 for r in records if not hasattr(r, "lat"))
    x = torch.rand(args.batch_size, 3, bundle.config.image_size, bundle.config.image_size,
                   device=dev)
    backbone = bundle.model.backbone
    with torch.inference_mode():
        backbone.tokens(x)
        reps = max(1, len(paths) // args.batch_size)
        t_bb = float("inf")
        for _ in range(3 * args.reps):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(reps):
                backbone.tokens(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t_bb = min(t_bb, time.perf_counter() - t0)
    out = {"device": pred.device_used, "photos": len(paths), "failures": failures,
           "e2e_s": t_e2e, "e2e_ps": len(paths) / t_e2e,
           "backbone_ps": reps * args.batch_size / t_bb, "import_s": t_import,
           "load_s": t_load, "peak_rss_mb": peak_rss_mb(), "load_avg": os.getloadavg()[0]}
    if dev.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


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
    cmd = [sys.executable, __file__, "--phase", name]
    for k, v in kw.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if res.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=24, help="12 MP photos for predict")
    p.add_argument("--heic", type=int, default=4, help="how many of them as HEIC")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--reps", type=int, default=2, help="timed repetitions (best is shown)")
    p.add_argument("--train-photos", type=int, default=300)
    p.add_argument("--train-size", type=int, nargs=2, default=(1600, 1200),
                   help="pixel size of the generated training photos")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--no-train", action="store_true")
    # internal: one phase in this process
    p.add_argument("--phase", choices=["predict", "train"], help=argparse.SUPPRESS)
    for hidden in ("--bundle", "--photo-dir", "--device", "--out", "--cache"):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase:
        fn = phase_predict if args.phase == "predict" else phase_train
        print(json.dumps(fn(args)))
        return 0

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory(prefix="geodecoder-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        bundle, what = bench_bundle(work)
        photos = phone_photos(work / "phone", args.photos, args.heic)
        print(f"bundle: {what}\nphotos: {len(photos)} x 4000x3000 "
              f"({sum(p.suffix == '.heic' for p in photos)} HEIC), generated in "
              f"{time.perf_counter() - t0:.0f} s; torch {torch.__version__}, "
              f"{torch.get_num_threads()} CPU threads", flush=True)
        rows = []
        for dev in devices:
            r = run_phase("predict", bundle=bundle, photo_dir=work / "phone", device=dev,
                          batch_size=args.batch_size, reps=args.reps)
            rows.append(r)
        train = None
        if not args.no_train:
            training_photos(work / "train", args.train_photos, tuple(args.train_size))
            train = run_phase("train", photo_dir=work / "train", out=work / "trained",
                              cache=work / "cache", device="auto", epochs=args.epochs)
    print()
    print(f"{'device':<24}{'e2e photos/s':>14}{'backbone photos/s':>19}{'load s':>8}"
          f"{'import s':>10}{'peak RSS MB':>13}{'peak GPU MB':>13}{'load avg':>10}")
    for r in rows:
        gpu = f"{r['peak_gpu_mb']:.0f}" if "peak_gpu_mb" in r else "-"
        print(f"{r['device'][:23]:<24}{r['e2e_ps']:>14.2f}{r['backbone_ps']:>19.2f}"
              f"{r['load_s']:>8.2f}{r['import_s']:>10.2f}{r['peak_rss_mb']:>13.0f}{gpu:>13}"
              f"{r['load_avg']:>10.1f}")
    print(f"(batch {args.batch_size}, best of {args.reps}; 'load avg' is the machine's "
          "1-minute load when the phase ended: above the core count, other work competed)")
    if train:
        print(f"\ntrain --photos: {train['photos']} photos ({args.train_size[0]}x"
              f"{args.train_size[1]}), {train['epochs']} epochs on {train['device']}: "
              f"features {train['features_s']:.0f} s, training {train['training_s']:.0f} s "
              f"({train['train_ps']:.0f} photos/s), total {train['total_s']:.0f} s, peak RSS "
              f"{train['peak_rss_mb']:.0f} MB; validation acc@2500km "
              f"{100 * train['val_acc_2500']:.0f}% vs prior {100 * train['prior_acc_2500']:.0f}%")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    sys.exit(main())
