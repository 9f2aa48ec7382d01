"""The epochs of a training run: seeded batches, optimiser steps, validation, model
selection and one checkpoint per epoch (rank 0 under torchrun)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from .evaluate import metrics
from ..modeling.model import GeoDecoder
from .train_checkpoint import Dist, report, save_checkpoint
from .train_config import ProgressFn, StopFn, TrainConfig, lr_factor
from .train_data import Sample
from .train_steps import compute_losses, errors_km, geo_soft_targets, is_better, predict_val


@dataclass
class EpochLoop:
    """The epochs of one run: batches, optimiser steps, validation and checkpoints."""

    cfg: TrainConfig
    dist: Dist
    model: GeoDecoder
    step_mod: nn.Module  # Step, or Step inside DistributedDataParallel
    opt: torch.optim.Optimizer
    train_set: object  # features.FeatureSet
    labels: torch.Tensor  # (N, H) cell per level, -1 outside every cell of a level
    scene_y: torch.Tensor  # (N,)
    weights: List[float]
    train_paths: List[str]
    val: List[Sample]
    val_set: object
    parents: torch.Tensor
    finest: object
    autocast: Callable
    epochs: int
    total_steps: int
    warmup: int
    ckpt: Path
    progress: ProgressFn
    should_stop: StopFn
    coords: Optional[torch.Tensor] = None  # (N, 2) photo lat/lon, for geographic smoothing
    centres: Optional[List[torch.Tensor]] = None  # per level (C_h, 2) cell mean lat/lon
    images: object = None  # features.ImageDataset when fine-tuning
    sampler: object = None  # its DistributedSampler under torchrun

    def run(self, state: Dict) -> bool:
        """Train from ``state["epoch"]`` to the end; True when ``should_stop`` stopped it."""
        from tqdm import tqdm

        if self.cfg.finetune_backbone:
            from .features import ImageDataset
            self.images = ImageDataset(self.train_paths, self.cfg.image_size, train=True,
                                       seed=self.cfg.seed)
            if self.dist.world > 1:
                self.sampler = torch.utils.data.distributed.DistributedSampler(
                    self.images, self.dist.world, self.dist.rank, shuffle=True,
                    seed=self.cfg.seed)
        bar = tqdm(total=self.total_steps, initial=state["step"], unit="step", file=sys.stderr,
                   disable=self.cfg.quiet or not self.dist.main or sys.stderr is None,
                   dynamic_ncols=True)
        try:
            for epoch in range(state["epoch"], self.epochs):
                t_epoch = time.perf_counter()
                done = self._epoch(epoch, state, bar)
                if done is None:
                    return True
                if self.dist.main:
                    self._end_epoch(epoch, state, done, time.perf_counter() - t_epoch)
                self.dist.barrier()
        finally:
            bar.close()
        return False

    def _batches(self, epoch: int):
        """(row indices, inputs) of the epoch, in its seeded order (this rank's share)."""
        cfg, dist = self.cfg, self.dist
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        if cfg.finetune_backbone:
            self.images.set_epoch(epoch)
            if self.sampler is not None:
                self.sampler.set_epoch(epoch)
            loader = torch.utils.data.DataLoader(
                self.images, cfg.batch_size, shuffle=self.sampler is None,
                sampler=self.sampler, generator=gen, num_workers=cfg.workers,
                pin_memory=dist.device.type == "cuda")
            for x, idx, valid in loader:  # a photo unreadable since caching is masked
                yield idx[valid], x[valid]
            return
        order = torch.randperm(len(self.labels), generator=gen)
        pad = (-len(order)) % dist.world
        order = torch.cat([order, order[:pad]])[dist.rank::dist.world]
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            yield idx, self.train_set.tokens(idx.numpy())

    def _epoch(self, epoch: int, state: Dict, bar) -> Optional[Tuple[int, float]]:
        """One epoch of optimiser steps: (photos seen, summed loss), None when stopped."""
        cfg, device, opt = self.cfg, self.dist.device, self.opt
        self.step_mod.train()
        if not cfg.finetune_backbone:
            self.model.backbone.eval()  # frozen: BatchNorm statistics stay ImageNet's
        t0, seen, loss_sum = time.perf_counter(), 0, 0.0
        for idx, x in self._batches(epoch):
            # every rank takes the same decision, or the others hang in the next all-reduce
            if self.dist.any(bool(self.should_stop and self.should_stop())):
                return None
            if self.dist.any(len(idx) == 0):  # a batch of photos unreadable since caching
                continue
            x = x.to(device, non_blocking=True).float()
            y, ys = self.labels[idx].to(device), self.scene_y[idx].to(device)
            for g in opt.param_groups:
                g["lr"] = g["base_lr"] * lr_factor(state["step"], self.warmup, self.total_steps)
            soft = None
            if cfg.geo_smoothing_km:
                soft = [geo_soft_targets(self.coords[idx], c, cfg.geo_smoothing_km).to(device)
                        for c in self.centres]
            with self.autocast():
                geo, scene = compute_losses(self.step_mod, x, y, ys, self.weights,
                                            cfg.label_smoothing, cfg.route_by_label, soft)
                loss = geo + cfg.scene_weight * scene
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
            rate = seen * self.dist.world / max(1e-9, time.perf_counter() - t0)
            bar.set_postfix(epoch=f"{epoch + 1}/{self.epochs}", loss=f"{loss_value:.3f}",
                            photos_s=f"{rate:.0f}")
            bar.update(1)
            report(self.progress, self.dist, 0.35 + 0.6 * state["step"] / self.total_steps,
                   f"epoch {epoch + 1}/{self.epochs}, loss {loss_value:.3f}, {rate:.0f} photos/s")
        return seen, loss_sum

    def _end_epoch(self, epoch: int, state: Dict, done: Tuple[int, float],
                   seconds: float) -> None:
        """Rank 0: validation, model selection and the epoch's checkpoint."""
        seen, loss_sum = done
        entry = {"epoch": epoch + 1, "loss": loss_sum / max(1, seen),
                 "seconds": round(seconds, 2)}
        if self.val:
            pred = predict_val(self.step_mod, self.val, self.val_set, self.cfg, self.parents,
                               self.finest, self.dist.device, self.autocast)
            m = metrics(errors_km(self.val, pred))
            entry.update({"val_acc_2500": m["accuracy"]["2500"],
                          "val_median_km": m["median_km"]})
            better = is_better(m, state["best"])
            if better:
                state["best"], state["best_epoch"] = m, epoch + 1
        else:
            better, state["best_epoch"] = True, epoch + 1  # no validation: the last epoch
        state["history"].append(entry)
        state["epoch"] = epoch + 1
        save_checkpoint(self.ckpt, self.model, self.opt, state, better,
                        self.cfg.finetune_backbone)
        report(self.progress, self.dist, 0.35 + 0.6 * state["step"] / self.total_steps,
               f"epoch {epoch + 1}/{self.epochs} done: " + (
                   f"val acc@2500km {entry['val_acc_2500']:.3f}, median "
                   f"{entry['val_median_km']:.0f} km" if self.val else "no validation split"))
