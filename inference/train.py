"""Training the GeoDecoder: data in, a model bundle with its model card out.

Two entry points share one pipeline: ``train_from_photos`` (a folder of geotagged photos,
the investigator's case and the QGIS Processing algorithm) and ``train_from_csv`` (an
MP-16 style IMG_ID,LAT,LON[,AUTHOR][,scene] file).  Both are plain functions with a
``progress(fraction, message)`` and a ``should_stop()`` hook, so the plugin can drive
them from a QgsTask without argparse.

Pipeline: split train/validation (photographer-disjoint when AUTHOR exists) -> backbone
features once, cached on disk (features.py) -> cells from the *training* coordinates ->
scenes (a column, or k-means pseudo-scenes, scenes.py) -> AdamW with warm-up + cosine on
sum_h w_h CE_h + scene CE -> model selection on the validation split only -> bundle +
MODEL.md.  The default frozen-backbone mode trains decoder and heads on cached tokens (the
CPU path); ``finetune_backbone`` trains everything from images with bf16 autocast, and
under ``torchrun`` (WORLD_SIZE > 1) with DistributedDataParallel, where rank 0 alone writes.

Every epoch ends with a checkpoint (safetensors weights + JSON state + the optimizer
state, read back with ``weights_only=True``); the shuffling order and augmentations are
seeded per epoch and the RNG states are saved, so a resumed run continues exactly.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .cells import CellHierarchy, CellsError, build_hierarchy
from .evaluate import metrics
from .geo import haversine_km
from .model import GeoDecoder, ModelConfig, hierarchical_log_probs

ProgressFn = Optional[Callable[[float, str], None]]
StopFn = Optional[Callable[[], bool]]
# Decoder sizes: the paper-like default is too slow to train on two CPU cores (about 15
# photos/s measured against about 180 photos/s for this preset), see the model card.
PRESETS = {"full": {},
           "cpu": dict(width=128, hid_layers=2, hdd_layers=1, heads=4, ffn=512, dropout=0.0)}
SKIP_LIST_MAX = 200


class TrainError(RuntimeError):
    """A training run that cannot start or go on; the message says what to change."""


@dataclass
class Sample:
    path: str
    lat: float
    lon: float
    author: str = ""
    scene: str = ""


@dataclass
class TrainConfig:
    """Everything a run depends on.  ``None`` means "derive it from the data"."""

    out_dir: str
    cache_dir: Optional[str] = None  # default: features.default_cache_dir()
    checkpoint_dir: Optional[str] = None  # default: OUT.checkpoint next to the bundle
    name: str = ""
    epochs: Optional[int] = None  # default: enough for ~500 steps, 10..100 epochs
    batch_size: int = 64
    lr: float = 3e-4  # decoder and heads
    backbone_lr: float = 1e-5  # only with finetune_backbone
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    level_weights: Optional[List[float]] = None  # default: equal
    scene_weight: float = 1.0
    route_by_label: bool = False  # default routes by the predicted scene, as the authors
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16
    t_min: Optional[int] = None
    t_max: Optional[List[int]] = None
    scenes: int = 16
    backbone: str = "efficientnet_lite0"
    image_size: int = 224
    preset: str = "auto"  # auto (cpu preset on CPU, full on GPU) | cpu | full
    model: Dict = field(default_factory=dict)  # ModelConfig overrides (width, ...)
    finetune_backbone: bool = False
    workers: int = 2
    resume: bool = False
    knn_k: int = 10
    grad_clip: float = 1.0
    licence: str = ""
    data_description: str = ""
    quiet: bool = False
    threads: Optional[int] = None  # torch CPU threads for this run (default: torch's)


@dataclass
class TrainResult:
    bundle_dir: Optional[Path]  # None when cancelled
    cancelled: bool
    epochs_done: int
    best_epoch: Optional[int]
    n_train: int
    n_val: int
    skipped: List[Tuple[str, str]]  # (path, reason) for photos not used
    validation: Dict  # {"model": metrics, "prior": metrics, "knn": metrics}
    cache_hits: int
    cache_misses: int
    backbone_batches: int  # batches the backbone encoded for the cache in this run
    seconds: float
    checkpoint_dir: Path
    facts: Dict = field(default_factory=dict)
    train_paths: List[str] = field(default_factory=list)
    val_paths: List[str] = field(default_factory=list)


# ---------------------------------------------------------------------- data sources


def scan_photos(photos_dir, progress: ProgressFn = None
                ) -> Tuple[List[Sample], List[Tuple[str, str]]]:
    """Geotagged photos of a folder (recursive) and (path, reason) for the others."""
    from PIL import Image

    from .photos import find_photos, read_exif_gps, register_heif

    paths, skipped = find_photos(photos_dir)
    register_heif()
    samples = []
    for i, path in enumerate(paths):
        gps = read_exif_gps(path)
        if gps is not None:
            samples.append(Sample(str(path), gps.lat, gps.lon))
        else:
            try:
                with Image.open(path):
                    reason = "no usable GPS position in its EXIF"
            except Exception:  # noqa: BLE001 - any failure to open is "unreadable"
                reason = "not a readable image"
            skipped.append((str(path), reason))
        if progress and i % 50 == 0:
            progress(0.02 * i / max(1, len(paths)), f"reading EXIF {i}/{len(paths)}")
    return samples, skipped


def read_samples_csv(csv_path, images_root, scene_column: Optional[str] = None
                     ) -> Tuple[List[Sample], List[Tuple[str, str]]]:
    """MP-16 style rows: IMG_ID (a path under ``images_root``), LAT, LON, optional AUTHOR
    and scene column.  Rows with bad coordinates are returned as skipped."""
    root = Path(images_root)
    samples, skipped = [], []
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        names = {n.strip().lower(): n for n in reader.fieldnames or []}
        img, lat, lon = names.get("img_id"), names.get("lat"), names.get("lon")
        if not (img and lat and lon):
            raise TrainError(f"{csv_path}: needs IMG_ID, LAT and LON columns, "
                             f"found {reader.fieldnames}")
        author = names.get("author")
        scene = None
        if scene_column:
            scene = names.get(scene_column.strip().lower())
            if scene is None:
                raise TrainError(f"{csv_path}: no scene column {scene_column!r} "
                                 f"(columns: {reader.fieldnames})")
        for row in reader:
            path = str(root / row[img])
            try:
                la, lo = float(row[lat]), float(row[lon])
                if not (math.isfinite(la) and math.isfinite(lo) and abs(la) <= 90
                        and abs(lo) <= 180):
                    raise ValueError("out of range")
            except (TypeError, ValueError):
                skipped.append((path, f"bad LAT/LON {row.get(lat)!r}, {row.get(lon)!r}"))
                continue
            samples.append(Sample(path, la, lo, (row.get(author) or "").strip() if author else "",
                                  (row.get(scene) or "").strip() if scene else ""))
    return samples, skipped


def split_samples(samples: Sequence[Sample], val_fraction: float, seed: int = 0
                  ) -> Tuple[List[Sample], List[Sample], str]:
    """Train and validation lists, and how they were split.

    With AUTHOR values, whole photographers go to one side (a photographer's photos are
    near-duplicates of each other); photos without an author are their own group.
    Otherwise a seeded random split.  The validation share is at least one photo when
    ``val_fraction`` > 0 and there are 5 or more photos, and never all of them.
    """
    n = len(samples)
    want = int(round(val_fraction * n)) if val_fraction > 0 else 0
    if val_fraction > 0 and n >= 5:
        want = max(1, want)
    want = min(want, max(0, n - 2))
    rng = np.random.default_rng(seed)
    if want == 0:
        return list(samples), [], "no validation split"
    if any(s.author for s in samples):
        groups: Dict[str, List[int]] = {}
        for i, s in enumerate(samples):
            groups.setdefault(s.author or f"\0{s.path}", []).append(i)
        keys = sorted(groups)
        val_idx: List[int] = []
        for g in rng.permutation(len(keys)):
            if len(val_idx) >= want:
                break
            if n - len(val_idx) - len(groups[keys[g]]) < 2:
                continue
            val_idx.extend(groups[keys[g]])
        how = "photographer-disjoint (AUTHOR column)"
    else:
        val_idx = list(rng.permutation(n)[:want])
        how = "seeded random"
    chosen = set(int(i) for i in val_idx)
    train = [s for i, s in enumerate(samples) if i not in chosen]
    val = [s for i, s in enumerate(samples) if i in chosen]
    return train, val, f"{how}, seed {seed}"


# ------------------------------------------------------------------------- helpers


def resolve_preset(cfg: TrainConfig, device: torch.device) -> Dict:
    preset = cfg.preset
    if preset == "auto":
        preset = "full" if device.type == "cuda" else "cpu"
    if preset not in PRESETS:
        raise TrainError(f"unknown preset {preset!r}; choose from auto, {', '.join(PRESETS)}")
    arch = {**PRESETS[preset], **cfg.model}
    width, heads = arch.get("width", 256), arch.get("heads", 8)
    if width % heads:
        raise TrainError(f"decoder width {width} is not a multiple of its {heads} attention "
                         "heads: choose another width or --heads")
    return {**arch, "_preset": preset}


def auto_epochs(steps_per_epoch: int) -> int:
    """Enough epochs for about 500 optimiser steps, between 10 and 100."""
    return int(min(100, max(10, math.ceil(500 / max(1, steps_per_epoch)))))


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine to zero."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def geo_loss(level_logits: Sequence[torch.Tensor], labels: torch.Tensor, weights: Sequence[float],
             smoothing: float) -> torch.Tensor:
    """sum_h w_h CE(logits_h, y_h); a photo without a cell at level h (-1) is masked.

    A level with no labelled photo in the batch still enters the graph with weight 0:
    under DDP every rank must produce a gradient for every head, or the all-reduce waits
    forever (a rank whose batch has no label at one level hung exactly like that).
    """
    total = level_logits[0].new_zeros((), dtype=torch.float32)
    for h, (logits, w) in enumerate(zip(level_logits, weights)):
        y = labels[:, h]
        valid = y >= 0
        if valid.any():
            ce = nn.functional.cross_entropy(logits[valid].float(), y[valid],
                                             label_smoothing=smoothing)
            total = total + w * ce
        else:
            total = total + 0.0 * logits.float().sum()
    return total


class _Step(nn.Module):
    """What DDP wraps: images (fine-tuning) or cached tokens in, plain tensors out."""

    def __init__(self, model: GeoDecoder, from_images: bool):
        super().__init__()
        self.model = model
        self.from_images = from_images

    def forward(self, x: torch.Tensor, route: Optional[torch.Tensor] = None):
        out = self.model(x, route) if self.from_images else self.model.decode(x, route)
        return (out.scene_logits, *out.level_logits)


def hardware_facts(device: torch.device, world: int) -> Dict:
    facts = {"device": device.type, "world_size": world, "torch": torch.__version__,
             "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
             "cpu_threads": torch.get_num_threads()}
    if device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(device)
    return facts


def predict_coords(step: _Step, batches, parents: torch.Tensor, coords: np.ndarray,
                   device: torch.device, autocast) -> np.ndarray:
    """Finest-cell mean coordinate of the hierarchical argmax, for each input row."""
    step.eval()
    out = []
    with torch.inference_mode():
        for x in batches:
            with autocast():
                scene_logits, *level = step(x.to(device).float())
            best = hierarchical_log_probs(level, parents).argmax(dim=1).cpu().numpy()
            out.append(coords[best])
    return np.concatenate(out) if out else np.zeros((0, 2))


def errors_km(truth: Sequence[Sample], pred: np.ndarray) -> np.ndarray:
    lat = np.array([s.lat for s in truth])
    lon = np.array([s.lon for s in truth])
    return np.atleast_1d(haversine_km(lat, lon, pred[:, 0], pred[:, 1]))


def is_better(new: Dict, old: Optional[Dict]) -> bool:
    """Model selection key: accuracy at 2500 km, then the lower median error."""
    if old is None:
        return True
    a, b = new["accuracy"]["2500"], old["accuracy"]["2500"]
    if a != b:
        return a > b
    return (new["median_km"] or math.inf) < (old["median_km"] or math.inf)


def fingerprint(train: Sequence[Sample], val: Sequence[Sample], cells: CellHierarchy,
                config: ModelConfig, cfg: TrainConfig) -> str:
    """What a checkpoint must match to be resumed: data, split, cells, network, seed."""
    h = hashlib.sha256()
    for s in list(train) + [Sample("--val--", 0, 0)] + list(val):
        h.update(f"{s.path}|{s.lat:.7f}|{s.lon:.7f}|{s.scene}\n".encode("utf-8", "replace"))
    h.update(json.dumps([cells.sizes, config.to_json(), cfg.seed, cfg.finetune_backbone,
                         cfg.route_by_label], sort_keys=True).encode())
    return h.hexdigest()[:20]


# ----------------------------------------------------------------- checkpoints


def save_checkpoint(ckpt: Path, model: GeoDecoder, opt, state: Dict, best: bool,
                    with_backbone: bool) -> None:
    """Weights (safetensors), optimizer + RNG (torch.save, plain tensors), state (JSON)."""
    from safetensors.torch import save_file

    ckpt.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
               if with_backbone or not k.startswith("backbone.")}
    _atomic(ckpt / "last.safetensors", lambda p: save_file(weights, str(p)))
    if best:
        shutil.copyfile(ckpt / "last.safetensors", ckpt / ".best.part")
        os.replace(ckpt / ".best.part", ckpt / "best.safetensors")
    extra = {"optimizer": opt.state_dict(), "rng_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        extra["rng_cuda"] = torch.cuda.get_rng_state_all()
    _atomic(ckpt / "optimizer.pt", lambda p: torch.save(extra, str(p)))
    _atomic(ckpt / "state.json",
            lambda p: Path(p).write_text(json.dumps(state, indent=1), encoding="utf-8"))


def _atomic(path: Path, write: Callable) -> None:
    tmp = path.with_name(f".{path.name}.part")
    write(tmp)
    os.replace(tmp, path)


def load_checkpoint(ckpt: Path, model: GeoDecoder, opt, fp: str) -> Dict:
    """Restore weights, optimizer and RNG states; refuse a checkpoint of another run."""
    from safetensors.torch import load_file

    if not (ckpt / "state.json").is_file():
        raise TrainError(f"--resume: no checkpoint in {ckpt}")
    state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    if state.get("fingerprint") != fp:
        raise TrainError(f"--resume: the checkpoint in {ckpt} was made from other data, "
                         "split, cells or network options; run without --resume")
    model.load_state_dict(load_file(str(ckpt / "last.safetensors")), strict=False)
    extra = torch.load(str(ckpt / "optimizer.pt"), map_location="cpu", weights_only=True)
    opt.load_state_dict(extra["optimizer"])
    torch.set_rng_state(extra["rng_cpu"])
    if "rng_cuda" in extra and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(extra["rng_cuda"])
    return state


# ----------------------------------------------------------------- entry points


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


# ------------------------------------------------------------------- the run


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def _setup_dist(device_opt: str) -> _Dist:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK: one process per GPU (gloo on CPU)."""
    from .predict import resolve_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(0, 1, resolve_device(device_opt))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_opt in ("auto", "cuda", "gpu")
    if use_cuda:
        torch.cuda.set_device(local)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    return _Dist(torch.distributed.get_rank(), world,
                 torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu"))


def _buffer_sync(sync: bool) -> Dict:
    """Frozen backbone: its BatchNorm buffers never change, do not sync them every step
    (the keyword was renamed in torch 2.13; older torch only knows the old one)."""
    import inspect

    params = inspect.signature(nn.parallel.DistributedDataParallel.__init__).parameters
    key = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
    return {key: sync}


def _report(progress: ProgressFn, dist: _Dist, fraction: float, message: str) -> None:
    if progress and dist.main:
        progress(max(0.0, min(1.0, fraction)), message)


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


def _run(samples, skipped, source, cfg: TrainConfig, progress, should_stop) -> TrainResult:
    from .backbones import build_backbone
    from .features import (FeatureCache, FeatureSet, backbone_id, default_cache_dir,
                           extract_features)
    t_start = time.perf_counter()
    dist = _setup_dist(cfg.device)
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
    train, val, split_how = split_samples(samples, cfg.val_fraction, cfg.seed)

    # -- features: rank 0 computes, the others read the cache it wrote
    backbone = build_backbone(cfg.backbone, pretrained=True)
    cache = FeatureCache(cfg.cache_dir or default_cache_dir(), backbone_id(cfg.backbone, backbone),
                         cfg.image_size)
    paths = [s.path for s in train + val]
    t_feat = time.perf_counter()

    def feat_progress(done, total):
        _report(progress, dist, 0.02 + 0.3 * done / max(1, total),
                f"backbone features {done}/{total}")

    ext = None
    for turn in ("main", "others"):
        if (turn == "main") == dist.main:
            cache.refresh()
            ext = extract_features(paths, backbone, cache, device, workers=cfg.workers,
                                   progress=feat_progress, should_stop=should_stop)
        dist.barrier()
    feat_seconds = time.perf_counter() - t_feat
    failed = dict(ext.failures)
    skipped += [(p, f"unreadable: {r}") for p, r in ext.failures]
    if ext.cancelled:
        return _cancelled(cfg, ckpt, ext, skipped, train, val, t_start, 0)
    train = [s for s in train if s.path not in failed]
    val = [s for s in val if s.path not in failed]

    # -- cells from the training coordinates only
    try:
        cells = build_hierarchy([s.lat for s in train], [s.lon for s in train],
                                cfg.t_min, cfg.t_max)
    except CellsError as exc:
        raise TrainError(f"cannot build cells from {len(train)} training photos: {exc}") from exc
    labels = cells.assign([s.lat for s in train], [s.lon for s in train])
    keep = (labels >= 0).any(axis=1)
    n_no_cell = int((~keep).sum())
    gallery = list(train)  # the kNN baseline searches every training photo
    train = [s for s, k in zip(train, keep) if k]
    labels = torch.as_tensor(labels[keep])
    if not train:
        raise TrainError("no training photo falls in a cell: lower --t-min")

    train_set = FeatureSet(cache, [ext.locs[s.path] for s in train])
    val_set = FeatureSet(cache, [ext.locs[s.path] for s in val]) if val else None

    # -- scenes: a label column, or k-means pseudo-scenes
    scene_names, scene_y, centroids, scene_facts = _scenes(source, train, train_set.pooled, cfg)

    # -- network and optimiser
    config = ModelConfig(level_sizes=cells.sizes, backbone=cfg.backbone,
                         image_size=cfg.image_size, scenes=len(scene_names), **arch)
    model = GeoDecoder(config, backbone=backbone).to(device)
    backbone.requires_grad_(cfg.finetune_backbone)
    opt = _optimizer(model, cfg)
    step_mod = _Step(model, cfg.finetune_backbone)
    if dist.world > 1:
        step_mod = nn.parallel.DistributedDataParallel(
            step_mod, device_ids=[device.index] if device.type == "cuda" else None,
            **_buffer_sync(cfg.finetune_backbone))
    precision = cfg.precision
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"

    def autocast():
        return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    steps_per_epoch = math.ceil(math.ceil(len(train) / dist.world) / cfg.batch_size)
    epochs = cfg.epochs or auto_epochs(steps_per_epoch)
    total_steps = epochs * steps_per_epoch
    warmup = min(int(round(cfg.warmup_epochs * steps_per_epoch)), max(1, total_steps // 5))
    weights = list(cfg.level_weights or [1.0] * cells.num_levels)
    if len(weights) != cells.num_levels:
        raise TrainError(f"--level-weights has {len(weights)} values for "
                         f"{cells.num_levels} cell levels {cells.sizes}")
    parents = torch.as_tensor(cells.parents, device=device)
    finest = cells.finest_coords()

    # -- resume
    fp = fingerprint(train, val, cells, config, cfg)
    state = {"fingerprint": fp, "epoch": 0, "step": 0, "best": None, "best_epoch": None,
             "history": []}
    if cfg.resume:
        state = load_checkpoint(ckpt, model, opt, fp)

    # -- training
    from tqdm import tqdm

    from .features import ImageDataset
    image_loader = None
    if cfg.finetune_backbone:
        ds = ImageDataset([s.path for s in train], cfg.image_size, train=True, seed=cfg.seed)
        sampler = (torch.utils.data.distributed.DistributedSampler(
            ds, dist.world, dist.rank, shuffle=True, seed=cfg.seed) if dist.world > 1 else None)
    bar = tqdm(total=total_steps, initial=state["step"], unit="step", file=sys.stderr,
               disable=cfg.quiet or not dist.main or sys.stderr is None, dynamic_ncols=True)
    t_train = time.perf_counter()
    cancelled = False
    for epoch in range(state["epoch"], epochs):
        step_mod.train()
        if not cfg.finetune_backbone:
            backbone.eval()  # frozen: BatchNorm statistics stay ImageNet's
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        if cfg.finetune_backbone:
            ds.set_epoch(epoch)
            if sampler is not None:
                sampler.set_epoch(epoch)
            image_loader = torch.utils.data.DataLoader(
                ds, cfg.batch_size, shuffle=sampler is None, sampler=sampler, generator=gen,
                num_workers=cfg.workers, pin_memory=device.type == "cuda")
            batches = iter(image_loader)
        else:
            order = torch.randperm(len(train), generator=gen)
            pad = (-len(order)) % dist.world
            order = torch.cat([order, order[:pad]])[dist.rank::dist.world]
            batches = (order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size))
        t_epoch, seen, loss_sum = time.perf_counter(), 0, 0.0
        for batch in batches:
            if should_stop and should_stop():
                cancelled = True
                break
            if cfg.finetune_backbone:
                x, idx, valid = batch
                idx = idx[valid]
                x = x[valid]
            else:
                idx = batch
                x = train_set.tokens(idx.numpy())
            if len(idx) == 0:
                continue
            x = x.to(device, non_blocking=True).float()
            y, ys = labels[idx].to(device), scene_y[idx].to(device)
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * lr_factor(state["step"], warmup, total_steps)
            with autocast():
                scene_logits, *level = step_mod(x, ys if cfg.route_by_label else None)
                loss = geo_loss(level, y, weights, cfg.label_smoothing)
                loss = loss + cfg.scene_weight * nn.functional.cross_entropy(
                    scene_logits.float(), ys)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]],
                                         cfg.grad_clip)
            opt.step()
            state["step"] += 1
            seen += len(idx)
            loss_value = float(loss.detach())
            loss_sum += loss_value * len(idx)
            rate = seen * dist.world / max(1e-9, time.perf_counter() - t_epoch)
            bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{loss_value:.3f}",
                            photos_s=f"{rate:.0f}")
            bar.update(1)
            _report(progress, dist, 0.35 + 0.6 * state["step"] / total_steps,
                    f"epoch {epoch + 1}/{epochs}, loss {loss_value:.3f}, {rate:.0f} photos/s")
        if cancelled:
            break
        # -- validation and the epoch's checkpoint (rank 0)
        entry = {"epoch": epoch + 1, "loss": loss_sum / max(1, seen),
                 "seconds": round(time.perf_counter() - t_epoch, 2)}
        better = False
        if dist.main:
            if val:
                pred = _predict_val(step_mod, val, val_set, cfg, parents, finest, device,
                                    autocast)
                m = metrics(errors_km(val, pred))
                entry.update({"val_acc_2500": m["accuracy"]["2500"],
                              "val_median_km": m["median_km"]})
                better = is_better(m, state["best"])
                if better:
                    state["best"], state["best_epoch"] = m, epoch + 1
            else:
                better, state["best_epoch"] = True, epoch + 1  # no validation: the last epoch
            state["history"].append(entry)
            state["epoch"] = epoch + 1
            save_checkpoint(ckpt, model, opt, state, better, cfg.finetune_backbone)
            _report(progress, dist, 0.35 + 0.6 * state["step"] / total_steps,
                    f"epoch {epoch + 1}/{epochs} done: " + (
                        f"val acc@2500km {entry['val_acc_2500']:.3f}, median "
                        f"{entry['val_median_km']:.0f} km" if val else "no validation split"))
        dist.barrier()
    bar.close()
    train_seconds = time.perf_counter() - t_train
    if cancelled:
        return _cancelled(cfg, ckpt, ext, skipped, train, val, t_start, state["epoch"])
    if not dist.main:
        dist.barrier()
        return _result(None, False, state, train, val, skipped, {}, ext, cache, t_start, ckpt, {})

    # -- the selected model, the baselines on the same validation photos, the bundle
    from safetensors.torch import load_file

    from .model_card import build_facts, render_card, write_bundle
    model.load_state_dict(load_file(str(ckpt / "best.safetensors")), strict=False)
    validation = {}
    if val:
        pred = _predict_val(step_mod, val, val_set, cfg, parents, finest, device, autocast)
        gallery_feats = cache.gather([ext.locs[s.path] for s in gallery], pooled=True)
        validation = _validation_table(val, pred, val_set.pooled, cells, gallery,
                                       gallery_feats, cfg.knn_k)
    facts = build_facts(
        cfg=asdict(cfg), source=source, split=split_how, n_found=n_found,
        skipped=skipped, n_train=len(train), n_val=len(val), n_no_cell=n_no_cell, cells=cells,
        scenes=scene_facts, config=config, preset=preset, model=model,
        recipe=dict(epochs=epochs, batch_size=cfg.batch_size, steps=total_steps,
                    warmup_steps=warmup, precision=precision, level_weights=weights),
        state=state, validation=validation, hardware=hardware_facts(device, dist.world),
        seconds={"features": round(feat_seconds, 1),
                 "training": round(sum(h["seconds"] for h in state["history"]), 1),
                 "this_session": round(train_seconds, 1),
                 "total": round(time.perf_counter() - t_start, 1)},
        cache={"hits": ext.hits, "computed": ext.misses})
    _report(progress, dist, 0.97, "writing the bundle")
    name = cfg.name or out_dir.name
    bundle_dir = write_bundle(model, config, cells, scene_names, facts, out_dir,
                              render_card(facts, name), centroids, cfg.finetune_backbone, name)
    _report(progress, dist, 1.0, f"done: {bundle_dir}")
    dist.barrier()
    return _result(bundle_dir, False, state, train, val, skipped, validation, ext, cache,
                   t_start, ckpt, facts)


def _scenes(source: Dict, train: Sequence[Sample], pooled: np.ndarray, cfg: TrainConfig):
    """(names, label per training photo, k-means centroids or None, facts for the card)."""
    from .scenes import effective_scenes, kmeans

    column = source.get("scene_column")
    missing = sum(1 for s in train if not s.scene)
    if column and not missing:
        names = sorted({s.scene for s in train})
        index = {n: i for i, n in enumerate(names)}
        return (names, torch.as_tensor([index[s.scene] for s in train]), None,
                {"source": f"column {column}", "count": len(names)})
    n_scenes = effective_scenes(cfg.scenes, len(train))
    centroids, assigned = kmeans(pooled, n_scenes, seed=cfg.seed)
    n_scenes = centroids.shape[0]
    facts = {"source": "pseudo-scenes (k-means on pooled backbone features)",
             "count": n_scenes, "requested": cfg.scenes,
             "sizes": np.bincount(assigned, minlength=n_scenes).tolist(),
             "file": "scenes.safetensors"}
    if column:
        facts["note"] = (f"column {column} is empty for {missing} training photos: "
                         "pseudo-scenes used instead")
    names = [f"pseudo {i}" for i in range(n_scenes)]  # short: they head report columns
    return names, torch.as_tensor(assigned, dtype=torch.long), centroids, facts


def _optimizer(model: GeoDecoder, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases, norms and the queries; backbone at its own lr."""
    decoder = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    no_decay = [p for p in decoder if p.dim() < 2 or p is model.queries]
    decay = [p for p in decoder if not any(p is q for q in no_decay)]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay, "lr": cfg.lr},
              {"params": no_decay, "weight_decay": 0.0, "lr": cfg.lr}]
    if cfg.finetune_backbone:
        groups.append({"params": list(model.backbone.parameters()),
                       "weight_decay": cfg.weight_decay, "lr": cfg.backbone_lr})
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    for g in opt.param_groups:
        g["base_lr"] = g["lr"]
    return opt


def _validation_table(val: Sequence[Sample], pred: np.ndarray, val_pooled: np.ndarray,
                      cells: CellHierarchy, gallery: Sequence[Sample], gallery_feats: np.ndarray,
                      k: int) -> Dict:
    """Model, prior and kNN on the same validation photos (the card's table)."""
    from types import SimpleNamespace

    from .evaluate import prior_errors
    from .knn import knn_predict

    rows = [(s.path, s.lat, s.lon) for s in val]
    coords = np.array([[s.lat, s.lon] for s in gallery])
    return {"n": len(val), "model": metrics(errors_km(val, pred)),
            "prior": metrics(prior_errors(SimpleNamespace(cells=cells), rows)),
            "knn": metrics(errors_km(val, knn_predict(gallery_feats, coords, val_pooled, k))),
            "knn_k": k}


def _predict_val(step_mod, val: Sequence[Sample], val_set, cfg: TrainConfig, parents, finest,
                 device, autocast) -> np.ndarray:
    """Predicted coordinates of the validation photos (centre crop, as evaluate does)."""
    if cfg.finetune_backbone:
        from .features import ImageDataset
        loader = torch.utils.data.DataLoader(
            ImageDataset([s.path for s in val], cfg.image_size, train=False),
            cfg.batch_size, num_workers=cfg.workers)
        batches = (x for x, _, _ in loader)
    else:
        batches = (val_set.tokens(np.arange(i, min(i + 256, len(val))))
                   for i in range(0, len(val), 256))
    model = step_mod.module if isinstance(step_mod, nn.parallel.DistributedDataParallel) \
        else step_mod
    return predict_coords(model, batches, parents, finest, device, autocast)


def _result(bundle_dir, cancelled, state, train, val, skipped, validation, ext, cache,
            t_start, ckpt, facts) -> TrainResult:
    return TrainResult(
        bundle_dir=bundle_dir, cancelled=cancelled, epochs_done=int(state.get("epoch", 0)),
        best_epoch=state.get("best_epoch"), n_train=len(train), n_val=len(val),
        skipped=list(skipped), validation=validation, cache_hits=ext.hits,
        cache_misses=ext.misses, backbone_batches=cache.backbone_batches if cache else 0,
        seconds=time.perf_counter() - t_start, checkpoint_dir=ckpt, facts=facts,
        train_paths=[s.path for s in train], val_paths=[s.path for s in val])


def _cancelled(cfg, ckpt, ext, skipped, train, val, t_start, epochs_done) -> TrainResult:
    """Stopped by ``should_stop``: no bundle; the checkpoint of the last epoch stays."""
    state = {"epoch": epochs_done}
    if (ckpt / "state.json").is_file():
        state = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
    return _result(None, True, state, train, val, skipped, {}, ext, None, t_start, ckpt, {})
