"""Training the GeoDecoder: data in, a model bundle with its model card out.

Two entry points share one pipeline: ``train_from_photos`` (a folder of geotagged photos,
the investigator's case and the QGIS Processing algorithm) and ``train_from_csv`` (an
MP-16 style IMG_ID,LAT,LON[,AUTHOR][,scene] file).  Both are plain functions with a
``progress(fraction, message)`` and a ``should_stop()`` hook, so the plugin can drive
them from a QgsTask without argparse.

Pipeline: split train/validation (photographer-disjoint when AUTHOR exists, train_data.py)
-> backbone features once, cached on disk (features.py) -> cells from the *training*
coordinates -> scenes (a column, or k-means pseudo-scenes, scenes.py) -> AdamW with
warm-up + cosine on sum_h w_h CE_h + scene CE (train_steps.py) -> model selection on the
validation split only -> bundle + MODEL.md.  The default frozen-backbone mode trains
decoder and heads on cached tokens (the CPU path); ``finetune_backbone`` trains everything
from images with bf16 autocast, and under ``torchrun`` (WORLD_SIZE > 1) with
DistributedDataParallel, where rank 0 alone writes.  A backbone whose weights do not come
from a pip package (a ViT from a local file) travels inside the bundle.

Every epoch ends with a checkpoint written as one folder and swapped in whole
(train_checkpoint.py); the shuffling order and augmentations are seeded per epoch and the
RNG states are saved, so a resumed run continues exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from ..modeling.cells import CellHierarchy, CellsError, build_hierarchy
from ..modeling.gallery import Gallery
from ..modeling.model import GeoDecoder, ModelConfig
from .train_checkpoint import (Dist, best_weights, buffer_sync, fingerprint, hardware_facts,
                               load_checkpoint, load_weights, report, setup_dist)
from .train_config import (PRESETS, ProgressFn, StopFn, TrainConfig, TrainError, TrainResult,
                           auto_epochs, lr_factor, resolve_preset)
from .train_data import Sample, read_samples_csv, scan_photos, split_samples
from .train_loop import EpochLoop
from .train_steps import (Step, fit_scenes, geo_loss, make_optimizer, val_outputs,
                          validation_table)

__all__ = ["PRESETS", "Sample", "TrainConfig", "TrainError", "TrainResult", "auto_epochs",
           "geo_loss", "lr_factor", "read_samples_csv", "run_training", "scan_photos",
           "split_samples", "train_from_csv", "train_from_photos"]


def train_from_photos(photos_dir, out_dir, *, progress: ProgressFn = None,
                      should_stop: StopFn = None, **options) -> TrainResult:
    """Train a regional model from a folder of photos whose EXIF holds GPS.

    ``options`` are TrainConfig fields (epochs, cache_dir, device, ...).  Photos without
    GPS or unreadable are listed in ``TrainResult.skipped``.  Returns with
    ``cancelled=True`` (and no bundle) when ``should_stop()`` turns true; the last
    epoch's checkpoint stays, and ``resume=True`` continues from it.
    """
    cfg = TrainConfig(out_dir=str(out_dir), **options)
    samples, skipped = scan_photos(photos_dir, progress)
    source = {"kind": "photos", "path": str(photos_dir),
              "description": cfg.data_description or
              f"geotagged photos of the folder '{Path(photos_dir).name}'",
              "licence": cfg.licence or "the user's own photos (licence as their owner "
                                        "decides; the photos are not in the bundle)"}
    return run_training(samples, skipped, source, cfg, progress, should_stop)


def train_from_csv(csv_path, images_root, out_dir, *, scene_column: Optional[str] = None,
                   progress: ProgressFn = None, should_stop: StopFn = None,
                   **options) -> TrainResult:
    """Train from an MP-16 style labels file (see ``read_samples_csv``)."""
    cfg = TrainConfig(out_dir=str(out_dir), **options)
    samples, skipped = read_samples_csv(csv_path, images_root, scene_column)
    source = {"kind": "csv", "path": str(csv_path), "images_root": str(images_root),
              "scene_column": scene_column or "",
              "description": cfg.data_description or f"labels file {Path(csv_path).name}",
              "licence": cfg.licence or "not stated (pass --licence)"}
    return run_training(samples, skipped, source, cfg, progress, should_stop)


def run_training(samples: List[Sample], skipped: List[Tuple[str, str]], source: Dict,
                 cfg: TrainConfig, progress: ProgressFn = None,
                 should_stop: StopFn = None) -> TrainResult:
    """The pipeline of the module docstring, for samples already read.

    ``cfg.threads`` caps torch's CPU threads for the run (restored afterwards): on a
    machine that is busy with other work (QGIS, a second job), one thread avoids
    OpenMP threads waiting for each other, which slowed small decoders 40x here.
    """
    before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    try:
        return _run(samples, skipped, source, cfg, progress, should_stop)
    finally:
        torch.set_num_threads(before)


@dataclass
class _Features:
    backbone: nn.Module
    cache: object  # features.FeatureCache
    ext: object  # features.Extraction
    seconds: float


def _features(paths: List[str], cfg: TrainConfig, dist: Dist, progress: ProgressFn,
              should_stop: StopFn) -> _Features:
    """Backbone features of every photo, cached: rank 0 computes, the others read."""
    from ..modeling.backbones import BACKBONES, build_backbone
    from .features import FeatureCache, backbone_id, default_cache_dir, extract_features

    if cfg.finetune_backbone and not getattr(BACKBONES.get(cfg.backbone), "finetunable", True):
        raise TrainError(f"--finetune-backbone: the {cfg.backbone} backbone stays frozen (a "
                         "bundle names its weights by SHA-256 and never carries them); "
                         "train without --finetune-backbone")
    try:
        backbone = build_backbone(cfg.backbone, pretrained=True, **cfg.backbone_options)
    except TypeError as exc:  # an option the backbone does not know
        raise TrainError(f"--backbone-option for {cfg.backbone!r}: {exc}") from exc
    # named as the bundle will name it: a weights path gives way to what the path holds
    cache = FeatureCache(cfg.cache_dir or default_cache_dir(),
                         backbone_id(cfg.backbone, backbone,
                                     backbone.bundle_options(cfg.backbone_options)),
                         cfg.image_size)
    t0 = time.perf_counter()

    def feat_progress(done, total):
        report(progress, dist, 0.02 + 0.3 * done / max(1, total),
               f"backbone features {done}/{total}")

    ext = None
    for turn in ("main", "others"):
        if (turn == "main") == dist.main:
            cache.refresh()
            ext = extract_features(paths, backbone, cache, dist.device, workers=cfg.workers,
                                   progress=feat_progress, should_stop=should_stop)
        dist.barrier()
    return _Features(backbone, cache, ext, time.perf_counter() - t0)


def _run(samples, skipped, source, cfg: TrainConfig, progress, should_stop) -> TrainResult:
    from .features import FeatureSet

    t_start = time.perf_counter()
    dist = setup_dist(cfg.device)
    device = dist.device
    torch.manual_seed(cfg.seed)
    arch = resolve_preset(cfg, device)  # fails before the long part when options clash
    preset = arch.pop("_preset")
    out_dir = Path(cfg.out_dir)
    ckpt = Path(cfg.checkpoint_dir) if cfg.checkpoint_dir else out_dir.with_name(
        out_dir.name + ".checkpoint")
    skipped = list(skipped)
    n_found = len(samples) + len(skipped)
    if not samples:
        raise TrainError(f"no usable training photos ({len(skipped)} skipped): the photos "
                         "need a GPS position in their EXIF, or LAT/LON in the CSV")
    train, val, split_how = split_samples(samples, cfg.val_fraction, cfg.seed,
                                          cfg.val_max_group)
    feats = _features([s.path for s in train + val], cfg, dist, progress, should_stop)
    ext, cache, backbone = feats.ext, feats.cache, feats.backbone
    failed = dict(ext.failures)
    skipped += [(p, f"unreadable: {r}") for p, r in ext.failures]
    if ext.cancelled:
        return _result(None, True, {"epoch": 0}, train, val, skipped, {}, ext, None, t_start,
                       ckpt, {})
    train = [s for s in train if s.path not in failed]
    val = [s for s in val if s.path not in failed]

    cells, labels, train, n_no_cell, gallery = _cells(train, cfg)
    train_set = FeatureSet(cache, [ext.locs[s.path] for s in train])
    val_set = FeatureSet(cache, [ext.locs[s.path] for s in val]) if val else None
    scene_names, scene_y, centroids, scene_facts = fit_scenes(source, train, train_set.pooled,
                                                              cfg)
    config, model, opt, step_mod, precision = _network(cfg, cells, len(scene_names), arch,
                                                       backbone, dist)

    def autocast():
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    epochs, total_steps, warmup, weights = _schedule(cfg, len(train), dist.world, cells)
    parents = torch.as_tensor(cells.parents, device=device)
    finest = cells.finest_coords()

    # -- resume, then train
    fp = fingerprint(train, val, cells, config, cfg)
    state = {"fingerprint": fp, "epoch": 0, "step": 0, "best": None, "best_epoch": None,
             "history": []}
    if cfg.resume:
        state = load_checkpoint(ckpt, model, opt, fp, progress if dist.main else None,
                                cfg.finetune_backbone)
    loop = EpochLoop(cfg, dist, model, step_mod, opt, train_set, labels, scene_y, weights,
                     [s.path for s in train], val, val_set, parents, finest, autocast, epochs,
                     total_steps, warmup, ckpt, progress, should_stop,
                     coords=torch.as_tensor([[s.lat, s.lon] for s in train]),
                     centres=[torch.as_tensor([[c.lat, c.lon] for c in lv.cells])
                              for lv in cells.levels])
    t_train = time.perf_counter()
    if loop.run(state):
        return _result(None, True, state, train, val, skipped, {}, ext, None, t_start, ckpt, {})
    train_seconds = time.perf_counter() - t_train
    if not dist.main:
        dist.barrier()
        return _result(None, False, state, train, val, skipped, {}, ext, cache, t_start, ckpt, {})

    # -- the selected model, the baselines on the same validation photos, the bundle

    from .model_card import build_facts, render_card, write_bundle
    load_weights(model, best_weights(ckpt), cfg.finetune_backbone)
    train_pooled = cache.gather([ext.locs[s.path] for s in gallery], pooled=True)
    retrieval_gallery = None
    if cfg.gallery and not cfg.finetune_backbone:  # features of the frozen backbone only
        retrieval_gallery = Gallery.build(train_pooled, [[s.lat, s.lon] for s in gallery],
                                          cells, cfg.retrieval_k)
    validation, temperature, keep_retrieval, radius = {}, 1.0, False, 0.0
    if val:
        scene_logits, level_logits = val_outputs(step_mod, val, val_set, cfg, device, autocast)
        checked = validation_table(val, scene_logits, level_logits, cells, scene_names,
                                   val_set.pooled, gallery, train_pooled, cfg.knn_k,
                                   retrieval_gallery, cfg.calibrate)
        validation, temperature = checked.table, checked.temperature
        keep_retrieval, radius = checked.retrieval, checked.radius_km
    in_bundle = cfg.finetune_backbone or not backbone.weights_from_package
    facts = build_facts(
        cfg=asdict(cfg), source=source, split=split_how, n_found=n_found,
        skipped=skipped, n_train=len(train), n_val=len(val), n_no_cell=n_no_cell, cells=cells,
        scenes=scene_facts, config=config, preset=preset, model=model,
        recipe=dict(epochs=epochs, batch_size=cfg.batch_size, steps=total_steps,
                    warmup_steps=warmup, precision=precision, level_weights=weights),
        state=state, validation=validation, hardware=hardware_facts(device, dist.world),
        seconds={"features": round(feats.seconds, 1),
                 "training": round(sum(h["seconds"] for h in state["history"]), 1),
                 "this_session": round(train_seconds, 1),
                 "total": round(time.perf_counter() - t_start, 1)},
        cache={"hits": ext.hits, "computed": ext.misses}, backbone_in_bundle=in_bundle)
    report(progress, dist, 0.97, "writing the bundle")
    name = cfg.name or out_dir.name
    calibration = {"temperature": temperature,
                   "fitted_on": f"validation split ({len(val)} photos)" if val and cfg.calibrate
                   else "not fitted (no validation split or --no-calibrate)"}
    if validation:
        calibration.update(ece_before=validation["calibration"]["before"]["ece"],
                           ece_after=validation["calibration"]["after"]["ece"],
                           coverage_after=validation["calibration"]["after"]["coverage"])
    retrieval = {"enabled": keep_retrieval, "k": cfg.retrieval_k,
                 "why": ("validation: better at 1 and 25 km than the cell centre"
                         if keep_retrieval else "validation did not show it helps at 1 and 25 "
                         "km (or no validation split): off, switch on with --retrieval on")}
    bundle_dir = write_bundle(model, config, cells, scene_names, facts, out_dir,
                              render_card(facts, name), centroids, in_bundle, name,
                              calibration=calibration, retrieval=retrieval,
                              gallery=retrieval_gallery,
                              decision={"radius_km": radius,
                                        "rule": "argmax of the finest cells (the paper)"
                                        if not radius else f"centre of the most probable "
                                        f"{radius:g} km neighbourhood (best validation score)"})
    report(progress, dist, 1.0, f"done: {bundle_dir}")
    dist.barrier()
    return _result(bundle_dir, False, state, train, val, skipped, validation, ext, cache,
                   t_start, ckpt, facts)


def _cells(train: List[Sample], cfg: TrainConfig):
    """Cells from the training coordinates only; (cells, (N, H) labels of the photos
    kept, the photos kept (in some cell), how many fell in none, every training photo)."""
    if cfg.cells_file:  # a partition built elsewhere (e.g. from 100k MP-16 locations)
        try:
            cells = CellHierarchy.load(cfg.cells_file)
        except (CellsError, OSError) as exc:
            raise TrainError(f"--cells {cfg.cells_file}: {exc}") from exc
    else:
        try:
            cells = build_hierarchy([s.lat for s in train], [s.lon for s in train],
                                    cfg.t_min, cfg.t_max)
        except CellsError as exc:
            raise TrainError(f"cannot build cells from {len(train)} training photos: "
                             f"{exc}") from exc
    labels = cells.assign([s.lat for s in train], [s.lon for s in train])
    keep = (labels >= 0).any(axis=1)
    kept = [s for s, k in zip(train, keep) if k]
    if not kept:
        raise TrainError("no training photo falls in a cell: lower --t-min")
    # the kNN baseline searches every training photo, in a cell or not
    return cells, torch.as_tensor(labels[keep]), kept, int((~keep).sum()), list(train)


def _network(cfg: TrainConfig, cells, n_scenes: int, arch: Dict, backbone, dist: Dist):
    """(config, model, optimiser, what the loop calls (DDP-wrapped under torchrun),
    precision)."""
    device = dist.device
    config = ModelConfig(level_sizes=cells.sizes, backbone=cfg.backbone,
                         backbone_options=backbone.bundle_options(cfg.backbone_options),
                         image_size=cfg.image_size, scenes=n_scenes, **arch)
    model = GeoDecoder(config, backbone=backbone).to(device)
    backbone.requires_grad_(cfg.finetune_backbone)
    opt = make_optimizer(model, cfg)
    step_mod = Step(model, cfg.finetune_backbone)
    if dist.world > 1:
        step_mod = nn.parallel.DistributedDataParallel(
            step_mod, device_ids=[device.index] if device.type == "cuda" else None,
            **buffer_sync(cfg.finetune_backbone))
    precision = cfg.precision
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return config, model, opt, step_mod, precision


def _schedule(cfg: TrainConfig, n_train: int, world: int, cells):
    """(epochs, optimiser steps, warm-up steps, loss weight per level)."""
    steps_per_epoch = math.ceil(math.ceil(n_train / world) / cfg.batch_size)
    epochs = cfg.epochs or auto_epochs(steps_per_epoch)
    total_steps = epochs * steps_per_epoch
    warmup = min(int(round(cfg.warmup_epochs * steps_per_epoch)), max(1, total_steps // 5))
    weights = list(cfg.level_weights or [1.0] * cells.num_levels)
    if len(weights) != cells.num_levels:
        raise TrainError(f"--level-weights has {len(weights)} values for "
                         f"{cells.num_levels} cell levels {cells.sizes}")
    return epochs, total_steps, warmup, weights


def _result(bundle_dir, cancelled, state, train, val, skipped, validation, ext, cache,
            t_start, ckpt, facts) -> TrainResult:
    """What the caller gets.  Stopped by ``should_stop`` (``cancelled``) there is no
    bundle; the checkpoint of the last finished epoch stays, and ``state`` is its state."""
    return TrainResult(
        bundle_dir=bundle_dir, cancelled=cancelled, epochs_done=int(state.get("epoch", 0)),
        best_epoch=state.get("best_epoch"), n_train=len(train), n_val=len(val),
        skipped=list(skipped), validation=validation, cache_hits=ext.hits,
        cache_misses=ext.misses, backbone_batches=cache.backbone_batches if cache else 0,
        seconds=time.perf_counter() - t_start, checkpoint_dir=ckpt, facts=facts,
        train_paths=[s.path for s in train], val_paths=[s.path for s in val])
