"""`make bench` row for GeoCLIP: a real-size ViT-L/14 (random weights: the same work as
the real one), the real heads and gallery, on this machine's CPU.

Measured, each in this one process (peak memory is the process's):
  - load: ``load_geoclip`` with the gallery cache present (memory-mapped safetensors,
    vision tower only), and once the first load that builds the cache;
  - floor: photos/s of the tower's forward alone on a full batch of pixels;
  - end to end: photos/s of a real run (decode of 1024 px JPEGs, tower, gallery scoring,
    cell sums, regions, place names, GeoPackage) and its ratio to the floor;
  - peak resident memory.
The store is kept in $TMPDIR/geodecoder-bench-geoclip so a second run reuses the cache.

    .venv/bin/python benchmarks/bench_geoclip.py [--photos 16] [--batch 8]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def real_size_store(root: Path) -> Path:
    """A store with a random ViT-L/14 vision tower (no config.json: the fixed config, as
    for the real checkpoint) and the geoclip package's real heads and gallery."""
    import torch
    from safetensors.torch import save_file

    from inference.modeling.clip_tower import ClipVisionTower
    from tests.geoclip_store import heads_source

    tower = root / "clip-vit-large-patch14" / "model.safetensors"
    if not tower.is_file():
        tower.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        model = ClipVisionTower()
        for p in model.parameters():  # CLIP-like scales, so activations stay finite
            torch.nn.init.normal_(p, std=0.02)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(tower.with_suffix(".part")))
        os.replace(tower.with_suffix(".part"), tower)
        del model
    heads = root / "geoclip-1.3.0" / "geoclip" / "model"
    heads.mkdir(parents=True, exist_ok=True)
    for sub in ("weights", "gps_gallery"):
        link, target = heads / sub, heads_source() / sub
        if os.path.islink(link) and os.readlink(link) != str(target):
            link.unlink()  # left by a run from another checkout (its venv may be gone)
        if not os.path.lexists(link):
            os.symlink(target, link, target_is_directory=True)
    return root


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    import torch

    from inference.geoclip.model import load_geoclip
    from inference.geoclip.predictor import GeoClipPredictor
    from inference.outputs.gpkg import GeoPackageWriter
    from inference.outputs.schema import RunInfo
    from inference.run import run_photos
    from tests.photo_factory import textured

    root = Path(tempfile.gettempdir()) / "geodecoder-bench-geoclip"
    real_size_store(root)
    first = None
    if not any((root / "cache").glob("gallery-*.safetensors")):
        t = time.perf_counter()
        load_geoclip(root)
        first = time.perf_counter() - t
    t = time.perf_counter()
    model = load_geoclip(root)
    load_s = time.perf_counter() - t
    rss_loaded = peak_rss_mb()
    pred = GeoClipPredictor(model, device="cpu", batch_size=args.batch)
    x = torch.rand(args.batch, 3, 224, 224)
    with torch.inference_mode():
        pred.tower(x[:1])  # warm-up
        t = time.perf_counter()
        pred.tower(x)
        floor = args.batch / (time.perf_counter() - t)
    photos = Path(tempfile.mkdtemp(prefix="geoclip-photos-"))
    for i in range(args.photos):
        textured((1024, 768), (20 * i % 255, 120, 200), seed=i).save(photos / f"p{i}.jpg",
                                                                    quality=90)
    run = RunInfo.for_bundle(model, "cpu", "2026-01-01T00:00:00+00:00")
    out = photos / "bench.gpkg"
    t = time.perf_counter()
    result = run_photos([str(photos)], pred, [GeoPackageWriter(out, model.cells, run)], run)
    e2e = result.predicted / (time.perf_counter() - t)
    load1 = os.getloadavg()[0]
    n_points = len(model.gallery_points.coords)
    print(f"GeoCLIP (random ViT-L/14 of the real size, real heads, {n_points:,} "
          f"gallery points, {model.cells.sizes} cells), CPU, {torch.get_num_threads()} threads, "
          f"batch {args.batch}, {args.photos} photos 1024x768 JPEG:")
    print(f"  load {load_s:.1f} s (cache present)" + (
        f"; first load building the gallery cache {first:.0f} s" if first else ""))
    print(f"  floor (tower forward alone) {floor:.3f} photos/s = {1 / floor:.2f} s/photo; "
          f"end to end {e2e:.3f} photos/s = {1 / e2e:.2f} s/photo; ratio {e2e / floor:.2f}")
    print(f"  peak memory {peak_rss_mb():,.0f} MB (after load {rss_loaded:,.0f} MB); "
          f"1-minute load {load1:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
