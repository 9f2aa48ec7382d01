"""The measured phases of `make bench`, each run in a fresh process by bench.py.

* ``costs``: what a photo costs at least.  Decoding (as the model needs it, JPEG draft
  scaling included) one photo at a time, timed with the process CPU clock (libheif
  decodes in threads of its own), so it is the work itself, not the wait for a busy
  core; the backbone forward pass as the run uses it (the fast form, see
  modeling/fast_backbone.py) with one torch thread on the process CPU clock
  (core-seconds per photo; the exact form beside it), and with all threads on the wall
  clock (photos/s, the bare backbone).
* ``e2e``: the real run, ``run_photos`` into a GeoPackage with regions, place names and
  styles, as ``python -m inference predict`` writes it; photos/s of the best of a few
  repetitions after a warm-up run (kernels, gazetteer and cell arrangement built once
  per process, as they are in a long run).
* ``regions``: what the run costs per photo after the model (regions, place names, rows
  written) for an uncertain record (the default model's usual hundreds of cells) and
  for a confident one (one cell).
* ``startup``: imports, bundle load and the first record of one photo, from a bare
  interpreter.

Each prints one JSON line.  CPU figures use the process or thread CPU clock: they hold
when the machine is busy; wall-clock rates do not, which is why the load is reported.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def photos_in(folder) -> list[str]:
    return sorted(str(p) for p in Path(folder).iterdir())


def decode_cost(paths: list[str], size: int, reps: int = 2) -> dict:
    from inference.prediction.preprocess import decode_for_model

    best_cpu = best_wall = float("inf")
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        for p in paths:
            decode_for_model(p, size)
        best_cpu = min(best_cpu, (time.process_time() - c0) / len(paths))
        best_wall = min(best_wall, (time.perf_counter() - w0) / len(paths))
    return {"decode_core_s": best_cpu, "decode_wall_s": best_wall}


def backbone_cost(backbone, size: int, batch: int, device, reps: int = 3,
                  clock=time.perf_counter) -> float:
    """Seconds per photo of the bare forward pass (best of ``reps``) on ``clock``: the
    process CPU clock gives core-seconds that hold on a busy machine, the wall clock
    photos/s."""
    import torch

    x = torch.rand(batch, 3, size, size, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    best = float("inf")
    with torch.inference_mode():
        backbone.tokens(x)
        for _ in range(reps):
            sync()
            t0 = clock()
            for _ in range(2):
                backbone.tokens(x)
            sync()
            best = min(best, (clock() - t0) / (2 * batch))
    return best


def phase_costs(args) -> dict:
    """Decoding, and the backbone as the run uses it (the fast form) and as trained."""
    import torch

    from inference.modeling.bundle import load_bundle
    from inference.modeling.fast_backbone import inference_backbone
    from inference.prediction.devices import resolve_device

    bundle = load_bundle(args.bundle)
    size = bundle.config.image_size
    device = resolve_device(args.device)
    kinds = json.loads(args.kinds)
    out = {"kinds": {k: decode_cost(photos_in(d), size) for k, d in kinds.items()}}
    exact = bundle.model.backbone.to(device).eval()
    backbone = inference_backbone(exact, device)  # what Predictor runs by default
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
        out["backbone_core_s"] = backbone_cost(backbone, size, args.batch_size, device,
                                               clock=time.process_time)
        out["exact_backbone_core_s"] = backbone_cost(exact, size, args.batch_size, device,
                                                     clock=time.process_time)
        torch.set_num_threads(threads)
    out["backbone_ps"] = 1.0 / backbone_cost(backbone, size, args.batch_size, device)
    if device.type == "cuda":  # the GPU's own time per photo stands for its cost
        out["backbone_core_s"] = 1.0 / out["backbone_ps"]
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out["backbone_bf16_ps"] = 1.0 / backbone_cost(backbone, size, args.batch_size,
                                                          device)
    out.update(threads=threads, load_avg=os.getloadavg()[0], device=str(device))
    return out


def _run_once(predictor, bundle, paths, out_path) -> tuple[float, float]:
    from inference.outputs.gpkg import GeoPackageWriter
    from inference.outputs.schema import RunInfo, utc_now_iso
    from inference.outputs.styles import applicable_styles
    from inference.run import run_photos

    run = RunInfo.for_bundle(bundle, predictor.device_used, utc_now_iso())
    c0, w0 = time.process_time(), time.perf_counter()
    writer = GeoPackageWriter(out_path, bundle.cells, run,
                              styles=applicable_styles(bundle.cells.num_levels))
    result = run_photos(paths, predictor, [writer], run)
    if predictor.device.type == "cuda":
        import torch

        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    if result.predicted != len(paths):
        raise SystemExit(f"bench photos failed: {[f.reason for f in result.failures][:3]}")
    return wall, cpu


def phase_e2e(args) -> dict:
    """The real predict, GeoPackage with regions and place names included."""
    from inference.modeling.bundle import load_bundle
    from inference.prediction.predict import Predictor

    bundle = load_bundle(args.bundle)
    predictor = Predictor(bundle, device=args.device, batch_size=args.batch_size)
    paths = photos_in(args.photo_dir)
    with tempfile.TemporaryDirectory(prefix="geodecoder-bench-") as tmp:
        _run_once(predictor, bundle, paths[:args.batch_size], Path(tmp) / "warm.gpkg")
        best = (float("inf"), 0.0)
        for rep in range(args.reps):
            best = min(best, _run_once(predictor, bundle, paths, Path(tmp) / f"r{rep}.gpkg"))
    wall, cpu = best
    return {"device": predictor.device_used, "photos": len(paths), "e2e_ps": len(paths) / wall,
            "cpu_per_photo_s": cpu / len(paths), "peak_rss_mb": peak_rss_mb(),
            "load_avg": os.getloadavg()[0]}


def _post_cost(chunk, bundle, finest, reps: int = 3) -> float:
    """Seconds per photo for regions + place names + all rows written (one chunk), the
    commit's share included: the commit of the chunk minus that of an empty file (the
    surface values go in at commit)."""
    from inference.outputs.gpkg import GeoPackageWriter
    from inference.outputs.places import place_names
    from inference.outputs.schema import RunInfo, photo_regions, utc_now_iso

    run = RunInfo.for_bundle(bundle, "cpu", utc_now_iso())
    best = fixed = float("inf")
    with tempfile.TemporaryDirectory(prefix="geodecoder-bench-") as tmp:
        for rep in range(reps):
            empty = GeoPackageWriter(Path(tmp) / f"e{rep}.gpkg", bundle.cells, run)
            c0 = time.process_time()
            empty.commit()
            fixed = min(fixed, time.process_time() - c0)
            writer = GeoPackageWriter(Path(tmp) / f"p{rep}.gpkg", bundle.cells, run)
            c0 = time.process_time()
            regions = photo_regions(chunk, finest)
            places = place_names([(p.lat, p.lon) for p in chunk])
            writer.add(chunk, [], regions=regions, places=places)
            writer.commit()
            best = min(best, time.process_time() - c0)
    return (best - fixed) / len(chunk)


def phase_regions(args) -> dict:
    from inference.modeling.bundle import load_bundle
    from inference.prediction.predict import Predictor

    bundle = load_bundle(args.bundle)
    predictor = Predictor(bundle, device="cpu", batch_size=1)
    record = next(iter(predictor.run([photos_in(args.photo_dir)[0]])))
    finest = tuple(c.token for c in bundle.cells.levels[-1].cells)
    top = record.finest[0]
    confident = dataclasses.replace(record, finest=(dataclasses.replace(top, probability=0.95),))
    n = args.batch_size

    def chunk(r):
        return [dataclasses.replace(r, path=f"{r.path}#{i}") for i in range(n)]

    _post_cost(chunk(record)[:2], bundle, finest, reps=1)  # arrangement, gazetteer: once
    from inference.outputs.regions import credible_prefix

    probs = [c.probability for c in record.finest]
    return {"uncertain_s": _post_cost(chunk(record), bundle, finest),
            "confident_s": _post_cost(chunk(confident), bundle, finest),
            "plain_union_s": _post_cost(chunk(record)[:4], bundle, None, reps=1),
            "cells": [credible_prefix(probs, m) for m in (0.5, 0.9)],
            "surface_cells": len(record.finest), "load_avg": os.getloadavg()[0]}


def phase_startup(args) -> dict:
    """From a bare interpreter: imports, the default bundle, the first record."""
    t0, c0 = time.perf_counter(), time.process_time()
    from inference.modeling.bundle import load_bundle
    from inference.prediction.predict import Predictor
    t_import = time.perf_counter() - t0
    bundle = load_bundle(args.bundle)
    t_load = time.perf_counter() - t0 - t_import
    predictor = Predictor(bundle, device="cpu")
    next(iter(predictor.run([args.photo])))
    total = time.perf_counter() - t0
    return {"import_s": t_import, "load_s": t_load, "first_s": total - t_import - t_load,
            "total_s": total, "cpu_s": time.process_time() - c0,
            "load_avg": os.getloadavg()[0]}


PHASES = {"costs": phase_costs, "e2e": phase_e2e, "regions": phase_regions,
          "startup": phase_startup}


def main() -> int:
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--phase", choices=sorted(PHASES), required=True)
    for name in ("--bundle", "--photo-dir", "--device", "--kinds", "--photo"):
        p.add_argument(name)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    print(json.dumps(PHASES[args.phase](args)))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TQDM_DISABLE", "1")
    sys.exit(main())
