"""The parts of the training loop that act on tensors: the loss (with its routing), the
optimiser, scenes, validation predictions and the baselines table of the card."""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .evaluate import metrics
from .geo import haversine_km
from .model import GeoDecoder, hierarchical_log_probs
from .train_config import TrainConfig


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


class Step(nn.Module):
    """What DDP wraps: images (fine-tuning) or cached tokens in, plain tensors out."""

    def __init__(self, model: GeoDecoder, from_images: bool):
        super().__init__()
        self.model = model
        self.from_images = from_images

    def forward(self, x: torch.Tensor, route: Optional[torch.Tensor] = None):
        out = self.model(x, route) if self.from_images else self.model.decode(x, route)
        return (out.scene_logits, *out.level_logits)


def compute_losses(step: nn.Module, x: torch.Tensor, cells_y: torch.Tensor,
                   scene_y: torch.Tensor, weights: Sequence[float], smoothing: float,
                   route_by_label: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """(geo loss, scene cross-entropy) of one batch.

    The geo loss goes through the queries of one scene per photo: the scene the model
    predicts (the default, as the authors' code), or with ``route_by_label`` the scene
    label (teacher forcing).  The choice itself is an argmax: no gradient flows through it.
    """
    scene_logits, *level = step(x, scene_y if route_by_label else None)
    geo = geo_loss(level, cells_y, weights, smoothing)
    return geo, nn.functional.cross_entropy(scene_logits.float(), scene_y)


def make_optimizer(model: GeoDecoder, cfg: TrainConfig) -> torch.optim.Optimizer:
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


def fit_scenes(source: Dict, train: Sequence, pooled: np.ndarray, cfg: TrainConfig):
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


def predict_coords(step: nn.Module, batches, parents: torch.Tensor, coords: np.ndarray,
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


def predict_val(step_mod: nn.Module, val: Sequence, val_set, cfg: TrainConfig, parents,
                finest, device, autocast) -> np.ndarray:
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


def errors_km(truth: Sequence, pred: np.ndarray) -> np.ndarray:
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


def validation_table(val: Sequence, pred: np.ndarray, val_pooled: np.ndarray, cells,
                     gallery: Sequence, gallery_feats: np.ndarray, k: int) -> Dict:
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
