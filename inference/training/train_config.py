"""What a training run is told (TrainConfig), what it returns (TrainResult), its error
type, and the small pure rules derived from the config: decoder presets, the default
number of epochs and the learning-rate schedule.  Public names are re-exported by
``inference.training.train``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ProgressFn = Optional[Callable[[float, str], None]]
StopFn = Optional[Callable[[], bool]]
# Decoder sizes: the paper-like default is too slow to train on two CPU cores (about 15
# photos/s measured against about 180 photos/s for this preset), see the model card.
PRESETS = {"full": {},
           "cpu": dict(width=128, hid_layers=2, hdd_layers=1, heads=4, ffn=512, dropout=0.0)}


class TrainError(RuntimeError):
    """A training run that cannot start or go on; the message says what to change."""


@dataclass
class TrainConfig:
    """Everything a run depends on.  ``None`` means "derive it from the data"."""

    out_dir: str
    cache_dir: Optional[str] = None  # default: features.default_cache_dir()
    checkpoint_dir: Optional[str] = None  # default: OUT.checkpoint next to the bundle
    name: str = ""
    model_version: str = "0.1.0"
    epochs: Optional[int] = None  # default: enough for ~500 steps, 10..100 epochs
    batch_size: int = 64
    lr: float = 3e-4  # decoder and heads
    backbone_lr: float = 1e-5  # only with finetune_backbone
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    # > 0: targets softmax(-distance/tau) over each level's cells instead of one-hot
    # (geographic label smoothing, beyond the paper); label_smoothing is then unused
    geo_smoothing_km: float = 0.0
    level_weights: Optional[List[float]] = None  # default: equal
    scene_weight: float = 1.0
    route_by_label: bool = False  # default routes by the predicted scene, as the authors
    val_fraction: float = 0.1
    val_max_group: Optional[int] = None  # photographers with more photos always train
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16
    t_min: Optional[int] = None
    t_max: Optional[List[int]] = None
    cells_file: Optional[str] = None  # a cells.json to use instead of building cells
    gallery: bool = True  # carry training features + coordinates for retrieval
    retrieval_k: int = 5  # neighbours whose medoid is the point inside the cell
    calibrate: bool = True  # fit a temperature on the validation split
    scenes: int = 16
    scene_names: Dict[str, str] = field(default_factory=dict)  # label code -> readable name
    backbone: str = "efficientnet_lite0"
    # backbone settings, e.g. {"weights": "vit_b16.safetensors", "dim": 768} for a ViT
    backbone_options: Dict = field(default_factory=dict)
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


def resolve_preset(cfg: TrainConfig, device) -> Dict:
    """The decoder settings: the preset for ``device`` (a torch.device or its type name),
    overridden by ``cfg.model``."""
    preset = cfg.preset
    if preset == "auto":
        preset = "full" if getattr(device, "type", device) == "cuda" else "cpu"
    if preset not in PRESETS:
        raise TrainError(f"unknown preset {preset!r}; choose from auto, {', '.join(PRESETS)}")
    arch = {**PRESETS[preset], **cfg.model}
    width, heads = arch.get("width", 256), arch.get("heads", 8)
    if width % heads:
        raise TrainError(f"decoder width {width} is not a multiple of its {heads} attention "
                         "heads: choose another width or --heads")
    if width % 4:
        raise TrainError(f"decoder width {width} must be a multiple of 4 (the 2-D positional "
                         "encoding gives a quarter of the channels to each sin/cos of rows "
                         "and columns)")
    return {**arch, "_preset": preset}


def auto_epochs(steps_per_epoch: int) -> int:
    """Enough epochs for about 500 optimiser steps, between 10 and 100."""
    return int(min(100, max(10, math.ceil(500 / max(1, steps_per_epoch)))))


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine to zero."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))
