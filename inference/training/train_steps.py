"""The parts of the training loop that act on tensors: the loss (with its routing), the
optimiser, scenes, validation predictions and the baselines table of the card."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .evaluate import metrics
from ..geo import haversine_km
from ..modeling.model import GeoDecoder, hierarchical_log_probs
from .train_config import TrainConfig


def geo_soft_targets(coords: torch.Tensor, centres: torch.Tensor, tau_km: float) -> torch.Tensor:
    """(B, C) targets softmax(-d(photo, cell centre) / tau) over the cells of one level:
    geographic label smoothing (PIGEON's haversine smoothing), so a near miss costs less
    than a wrong continent.  ``coords`` (B, 2) and ``centres`` (C, 2) are lat/lon degrees."""
    lat1, lon1 = torch.deg2rad(coords[:, :1].double()), torch.deg2rad(coords[:, 1:].double())
    lat2, lon2 = torch.deg2rad(centres[:, 0].double()), torch.deg2rad(centres[:, 1].double())
    a = (torch.sin((lat2 - lat1) / 2) ** 2
         + torch.cos(lat1) * torch.cos(lat2) * torch.sin((lon2 - lon1) / 2) ** 2)
    km = 2 * 6371.0 * torch.asin(torch.sqrt(a.clamp(0, 1)))
    return torch.softmax(-km / float(tau_km), dim=1).float()


def geo_loss(level_logits: Sequence[torch.Tensor], labels: torch.Tensor, weights: Sequence[float],
             smoothing: float, soft: Optional[Sequence[torch.Tensor]] = None) -> torch.Tensor:
    """sum_h w_h CE(logits_h, y_h); a photo without a cell at level h (-1) is masked.
    With ``soft`` (per level (B, C_h) target distributions, ``geo_soft_targets``) the
    cross-entropy is taken against those instead of the one-hot label.

    A level with no labelled photo in the batch still enters the graph with weight 0:
    under DDP every rank must produce a gradient for every head, or the all-reduce waits
    forever (a rank whose batch has no label at one level hung exactly like that).
    """
    total = level_logits[0].new_zeros((), dtype=torch.float32)
    for h, (logits, w) in enumerate(zip(level_logits, weights)):
        y = labels[:, h]
        valid = y >= 0
        if valid.any() and soft is not None:
            lp = torch.log_softmax(logits[valid].float(), dim=-1)
            total = total + w * -(soft[h][valid].to(lp.device) * lp).sum(dim=1).mean()
        elif valid.any():
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
                   route_by_label: bool, soft: Optional[Sequence[torch.Tensor]] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """(geo loss, scene cross-entropy) of one batch.

    The geo loss goes through the queries of one scene per photo: the scene the model
    predicts (the default, as the authors' code), or with ``route_by_label`` the scene
    label (teacher forcing).  The choice itself is an argmax: no gradient flows through it.
    """
    scene_logits, *level = step(x, scene_y if route_by_label else None)
    geo = geo_loss(level, cells_y, weights, smoothing, soft)
    return geo, nn.functional.cross_entropy(scene_logits.float(), scene_y)


_NO_DECAY_NAMES = {"bias", "b1", "b2", "in_proj_bias"}  # additive offsets, whatever their rank


def no_decay_parameter(module: nn.Module, name: str, model: GeoDecoder,
                       param: nn.Parameter) -> bool:
    """Weight decay pulls *weights* towards zero; offsets, normalisation gains and the
    learned queries are not weights in that sense.  Decided by role (the module type and
    the parameter's own name), not by ``ndim``: the HDD's per-hierarchy FFN biases are 2-D."""
    norms = (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d)
    return (isinstance(module, norms) or name in _NO_DECAY_NAMES
            or param is model.queries)


def decay_groups(model: GeoDecoder) -> Tuple[list, list]:
    """(decayed, not decayed) decoder parameters (everything but the backbone)."""
    decay, no_decay, seen = [], [], set()
    for mod_name, module in model.named_modules():
        if mod_name == "backbone" or mod_name.startswith("backbone."):
            continue
        for name, p in module.named_parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            (no_decay if no_decay_parameter(module, name, model, p) else decay).append(p)
    return decay, no_decay


def make_optimizer(model: GeoDecoder, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; no weight decay on biases, norms and the queries (``no_decay_parameter``);
    the backbone at its own learning rate."""
    decay, no_decay = decay_groups(model)
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
        codes = sorted({s.scene for s in train})
        index = {n: i for i, n in enumerate(codes)}
        names = [cfg.scene_names.get(c, c) for c in codes]  # readable names of label codes
        return (names, torch.as_tensor([index[s.scene] for s in train]), None,
                {"source": f"column {column}", "count": len(names),
                 "names": dict(zip(codes, names))})
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


def val_outputs(step_mod: nn.Module, val: Sequence, val_set, cfg: TrainConfig, device,
                autocast) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """(scene logits (N, S), level logits [(N, C_h)]) of the validation photos, float on the
    CPU (centre crop, as evaluate does)."""
    if cfg.finetune_backbone:
        from .features import ImageDataset
        loader = torch.utils.data.DataLoader(
            ImageDataset([s.path for s in val], cfg.image_size, train=False),
            cfg.batch_size, num_workers=cfg.workers)
        batches = (x for x, _, _ in loader)
    else:
        batches = (val_set.tokens(np.arange(i, min(i + 256, len(val))))
                   for i in range(0, len(val), 256))
    step = step_mod.module if isinstance(step_mod, nn.parallel.DistributedDataParallel) \
        else step_mod
    step.eval()
    scenes, levels = [], []
    with torch.inference_mode():
        for x in batches:
            with autocast():
                scene_logits, *level = step(x.to(device).float())
            scenes.append(scene_logits.float().cpu())
            levels.append([lg.float().cpu() for lg in level])
    if not levels:
        raise ValueError("no validation photos")
    return torch.cat(scenes), [torch.cat(col) for col in zip(*levels)]


def predict_val(step_mod: nn.Module, val: Sequence, val_set, cfg: TrainConfig, parents,
                finest, device, autocast) -> np.ndarray:
    """Finest-cell mean coordinate of the hierarchical argmax, per validation photo."""
    _, level = val_outputs(step_mod, val, val_set, cfg, device, autocast)
    best = hierarchical_log_probs(level, parents.cpu()).argmax(dim=1).numpy()
    return finest[best]


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
    def median(m):  # None: no finite error at all; 0 km is the best possible result
        return math.inf if m["median_km"] is None else m["median_km"]
    return median(new) < median(old)


@dataclass
class Validation:
    """What the selected model did on the validation split, and what it implies for the
    bundle: the card's table, the fitted temperature, whether retrieval is kept."""

    table: Dict
    temperature: float
    retrieval: bool
    radius_km: float = 0.0  # decision.py: 0 = the paper's argmax


def validation_table(val: Sequence, scene_logits: torch.Tensor, level_logits, cells,
                     scene_names: Sequence[str], val_pooled: np.ndarray, train: Sequence,
                     train_pooled: np.ndarray, k: int, gallery=None,
                     calibrate: bool = True) -> Validation:
    """Model (cell centre, and with retrieval when a gallery is given), the prior, the
    density prior and kNN on the same validation photos; calibration before and after the
    temperature fitted here; per-scene rows.

    Retrieval is kept only when it is at least as good at 1 km and at 25 km and better at
    one of them (the issue's rule: it must help where it claims to)."""
    from ..modeling.calibration import calibration_report, finest_log_probs, fit_temperature
    from .evaluate import density_prior_errors, prior_errors
    from .knn import knn_predict

    from ..modeling.decision import RADII_KM, choose_cells, neighbourhood

    from ..modeling.cell_geometry import partition_areas_km2

    parents = torch.as_tensor(cells.parents)
    finest = cells.finest_coords()
    areas = partition_areas_km2(cells.finest_tokens())
    truth = cells.assign([s.lat for s in val], [s.lon for s in val])[:, -1]
    t = fit_temperature(level_logits, parents, truth) if calibrate else 1.0
    probs = finest_log_probs(level_logits, parents, t).exp()
    # the point's rule: argmax (the paper) or the densest r-neighbourhood, by mean score
    # (one neighbourhood matrix alive at a time, the chosen one built again: a second or
    # so at the paper's 12.9k cells, against keeping the 2500 km one's 0.34 GB)
    by_radius = {}
    for r in RADII_KM:
        best = choose_cells(probs, neighbourhood(finest, r) if r > 0 else None).numpy()
        by_radius[r] = (best, metrics(errors_km(val, finest[best])))
    radius = max(RADII_KM, key=lambda r: (by_radius[r][1]["mean_score"], r == 0))
    best = by_radius[radius][0]
    near = neighbourhood(finest, radius) if radius > 0 else None
    cell_err = errors_km(val, finest[best])
    rows = [(s.path, s.lat, s.lon) for s in val]
    coords = np.array([[s.lat, s.lon] for s in train])
    table = {"n": len(val), "model_cell": metrics(cell_err),
             "decision": {"radius_km": radius,
                          "by_radius": {str(int(r)): v[1] for r, v in by_radius.items()}},
             "prior": metrics(prior_errors(SimpleNamespace(cells=cells), rows)),
             "prior_750": metrics(density_prior_errors(coords, rows)),
             "knn": metrics(errors_km(val, knn_predict(train_pooled, coords, val_pooled, k))),
             "knn_k": k,
             "calibration": {
                 "before": calibration_report(level_logits, parents, truth, 1.0, areas,
                                              near=near),
                 "after": calibration_report(level_logits, parents, truth, t, areas,
                                             near=near)}}
    use_retrieval, model_err = False, cell_err
    if gallery is not None:
        pts = finest[best].copy()
        for i, c in enumerate(best):
            p = gallery.refine(int(c), torch.as_tensor(val_pooled[i]))
            if p is not None:
                pts[i] = p
        ret = metrics(errors_km(val, pts))
        table["model_retrieval"] = dict(ret, k=gallery.k)
        a, b = ret["accuracy"], table["model_cell"]["accuracy"]
        use_retrieval = (a["1"] >= b["1"] and a["25"] >= b["25"]
                         and (a["1"] > b["1"] or a["25"] > b["25"]))
        if use_retrieval:
            model_err = errors_km(val, pts)
    table["model"] = metrics(model_err)
    table["retrieval"] = {"available": gallery is not None, "kept": use_retrieval}
    chosen = scene_logits.argmax(dim=1).numpy()
    per_scene: Dict[str, list] = {}
    for i, e in zip(chosen, model_err):
        per_scene.setdefault(scene_names[int(i)], []).append(float(e))
    table["per_scene"] = {n: metrics(v) for n, v in sorted(per_scene.items())}
    return Validation(table, t, use_retrieval, radius)
