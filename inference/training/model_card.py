"""Training facts and the MODEL.md card written from them, and writing the trained bundle.

The card is generated, never hand-written, so that it cannot drift from what the run did:
every number in it comes from the facts dict that is also stored in the bundle's
config.json (``BundleInfo.training``).  Photo paths are not stored (a bundle may be shared
while the photos are private): only folder names, counts and reasons.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .evaluate import THRESHOLDS_KM

PAPER_BACKBONE = "a ViT (ViT-B/16 in the authors' code; the paper's exact encoder is unconfirmed)"


def build_facts(*, cfg: Dict, source: Dict, split: str, n_found: int,
                skipped: Sequence[Tuple[str, str]], n_train: int, n_val: int, n_no_cell: int,
                cells, scenes: Dict, config, preset: str, model, recipe: Dict, state: Dict,
                validation: Dict, hardware: Dict, seconds: Dict, cache: Dict,
                backbone_in_bundle: bool = False) -> Dict:
    """The JSON-able record of a training run (stored as BundleInfo.training)."""
    reasons = Counter(_reason_kind(r) for _, r in skipped)
    decoder_params = sum(p.numel() for n, p in model.named_parameters()
                         if not n.startswith("backbone."))
    backbone = model.backbone
    frozen = not cfg["finetune_backbone"]
    data = {"kind": source["kind"], "source": Path(source["path"]).name,
            "description": source["description"], "licence": source["licence"],
            "photos_found": n_found, "photos_skipped": len(skipped),
            "skipped_by_reason": dict(reasons), "n_train": n_train, "n_val": n_val,
            "split": split, "train_photos_outside_every_cell": n_no_cell}
    deviations = []
    if frozen:
        deviations.append("frozen backbone: only the decoder and heads were trained, on "
                          "backbone features computed once and cached (the paper trains "
                          "end to end)")
    if config.backbone.startswith("efficientnet_lite"):
        variant = config.backbone[-1]
        deviations.append(f"backbone: ImageNet EfficientNet-Lite{variant} (tokens of 1280 "
                          f"channels at {config.image_size} px), not {PAPER_BACKBONE}")
    elif config.backbone == "clip-vit-l14":
        deviations.append(f"backbone: OpenAI CLIP ViT-L/14 from the models store (every "
                          f"token of its last block, {backbone.channels} channels, at "
                          f"{config.image_size} px; the bundle names it by SHA-256 and does "
                          f"not carry it), not {PAPER_BACKBONE}")
    if scenes["source"].startswith("pseudo"):
        deviations.append(f"scenes: {scenes['count']} pseudo-scenes from k-means on the "
                          "backbone's pooled features, not Places365 S16 labels (Places365 "
                          "weights are not available offline); centroids in scenes.safetensors")
    if preset == "cpu":
        deviations.append(f"decoder: the CPU preset (width {config.width}, {config.hid_layers} "
                          f"HID + {config.hdd_layers} HDD layers, FFN {config.ffn}), smaller "
                          "than the paper-like default (256, 4 + 2, 1024)")
    if cfg.get("cells_file"):
        deviations.append(f"cells: {cells.num_levels} levels built from {cells.num_images} "
                          f"photo locations (t_min {cells.t_min}, file "
                          f"{Path(cfg['cells_file']).name}), not the paper's 7 levels over "
                          "all of MP-16")
    else:
        deviations.append(f"cells: {cells.num_levels} levels with thresholds scaled to "
                          f"{cells.num_images} training photos (t_min {cells.t_min}), not the "
                          "paper's (unpublished) 7 MP-16 levels")
    return {
        "trained_with": "python -m inference train",
        "model_version": cfg.get("model_version", "0.1.0"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": data,
        "cells": {"built_from": (f"{cells.num_images} photo locations of "
                                 f"`{Path(cfg['cells_file']).name}`" if cfg.get("cells_file")
                                 else f"the training split only ({cells.num_images} photos)"),
                  "t_min": cells.t_min,
                  "levels": [{"t_max": lv.t_max, "cells": len(lv.cells)} for lv in cells.levels],
                  "notes": list(cells.notes)},
        "scenes": scenes,
        "backbone": {"name": config.backbone, "weights": getattr(backbone, "pretrained_source", ""),
                     "frozen": frozen, "image_size": config.image_size,
                     "in_bundle": backbone_in_bundle,
                     # the weights file's folder is private to the machine that trained
                     "options": {k: v for k, v in config.backbone_options.items()
                                 if k != "weights"}},
        "model": {"preset": preset, "width": config.width, "hid_layers": config.hid_layers,
                  "hdd_layers": config.hdd_layers, "heads": config.heads, "ffn": config.ffn,
                  "dropout": config.dropout, "scenes": config.scenes,
                  "decoder_parameters": decoder_params},
        "recipe": {"optimizer": "AdamW", "lr": cfg["lr"],
                   "backbone_lr": cfg["backbone_lr"] if not frozen else None,
                   "weight_decay": cfg["weight_decay"],
                   "schedule": f"linear warm-up {recipe['warmup_steps']} steps, then cosine",
                   "label_smoothing": cfg["label_smoothing"],
                   "level_weights": recipe["level_weights"], "scene_weight": cfg["scene_weight"],
                   "routing": "scene label (teacher forcing)" if cfg["route_by_label"]
                   else "predicted scene (as the authors' code)",
                   "epochs": recipe["epochs"], "batch_size": recipe["batch_size"],
                   "steps": recipe["steps"], "precision": recipe["precision"],
                   "grad_clip": cfg["grad_clip"], "seed": cfg["seed"],
                   "augmentation": "none (cached centre-crop features)" if frozen else
                   "rotation 15 deg, random crop, flip, colour jitter 0.4/0.1"},
        "selection": {"rule": "best validation accuracy at 2500 km, then lowest median km; "
                      "never a test set", "best_epoch": state.get("best_epoch"),
                      "epochs_run": state.get("epoch")},
        "history": state.get("history", []),
        "validation": validation,
        "hardware": hardware,
        "time_s": seconds,
        "feature_cache": cache,
        "deviations": deviations,
    }


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0].strip()[:60]


# ----------------------------------------------------------------------- the card


def _pct(m: Optional[Dict], t) -> str:
    return f"{100 * m['accuracy'][str(t)]:.1f}" if m else "-"


def _row(name: str, m: Optional[Dict]) -> str:
    med = f"{m['median_km']:.0f}" if m and m.get("median_km") is not None else "-"
    return f"| {name} | " + " | ".join(_pct(m, t) for t in THRESHOLDS_KM) + f" | {med} |"


def render_card(facts: Dict, name: str = "") -> str:
    d, v, r = facts["data"], facts.get("validation") or {}, facts["recipe"]
    cells, sc, bb, mdl = facts["cells"], facts["scenes"], facts["backbone"], facts["model"]
    lines: List[str] = [f"# Model card: {name or 'GeoDecoder model'}", ""]
    lines += [f"A GeoDecoder geolocation model trained with `{facts['trained_with']}` on "
              f"{facts['created']}. It guesses where a photo was taken among "
              f"{cells['levels'][-1]['cells']} finest cells built from {cells['built_from']}; "
              "it can only answer places that look like its training data.", ""]
    lines += ["## Training data", "",
              f"- Data: {d['description']} ({d['kind']} `{d['source']}`).",
              f"- Licence: {d['licence']}.",
              f"- Photos found: {d['photos_found']}; skipped: {d['photos_skipped']}"
              + (f" ({', '.join(f'{k}: {n}' for k, n in d['skipped_by_reason'].items())})"
                 if d["skipped_by_reason"] else "") + ".",
              f"- Training photos: {d['n_train']}; validation photos: {d['n_val']} "
              f"(split: {d['split']}).",
              f"- Training photos in no cell (dropped): {d['train_photos_outside_every_cell']}.",
              ""]
    lines += ["## Validation results", ""]
    if v:
        n = v["n"]
        lines += [f"On the {n} validation photos (held out from training and from cell "
                  "building; used to select the epoch, so slightly optimistic; not a test "
                  "set). Accuracy in % within each distance, centre crop, haversine "
                  "R = 6371 km.", "",
                  "| | " + " | ".join(f"{t} km" for t in THRESHOLDS_KM) + " | median km |",
                  "|---|" + "---|" * (len(THRESHOLDS_KM) + 1),
                  _row("this model", v["model"])]
        if v.get("model_retrieval"):
            lines += [_row("  point = cell centre", v["model_cell"]),
                      _row(f"  point = retrieval in the cell (k={v['model_retrieval']['k']})",
                           v["model_retrieval"])]
        lines += [_row("prior (most populated cell)", v["prior"])]
        if v.get("prior_750"):
            lines += [_row("prior (densest training place, 750 km)", v["prior_750"])]
        lines += [_row(f"kNN (k={v.get('knn_k')}, same backbone)", v["knn"]), ""]
        if v.get("retrieval", {}).get("available"):
            lines += ["Retrieval inside the predicted cell is "
                      + ("**on** in this bundle: it beat the cell centre at 1 and 25 km."
                         if v["retrieval"]["kept"] else
                         "**off** in this bundle: it did not beat the cell centre at 1 and "
                         "25 km on validation (`--retrieval on` forces it)."), ""]
        dec = v.get("decision")
        if dec:
            lines += ["Where the point goes (chosen on validation by the mean GeoGuessr-style "
                      "score): " + ("the most probable finest cell, as the paper." if not
                                    dec["radius_km"] else
                                    f"the centre of the most probable {dec['radius_km']:g} km "
                                    "neighbourhood of cells (the Bayes choice for accuracy at "
                                    "that distance; beyond the paper)."), ""]
        margins = []
        for base in ("prior", "prior_750", "knn"):
            if not v.get(base):
                continue
            diffs = [100 * (v["model"]["accuracy"][str(t)] - v[base]["accuracy"][str(t)])
                     for t in (25, 200, 750, 2500)]
            margins.append(f"vs {base}: " + ", ".join(
                f"{d_:+.1f} pts at {t} km" for d_, t in zip(diffs, (25, 200, 750, 2500))))
        lines += [f"Margins {'; '.join(margins)}."]
        p = v["model"]["accuracy"]["2500"]
        se = 100 * math.sqrt(max(p * (1 - p), 0.25 / max(n, 1)) / max(n, 1))
        lines += [f"With {n} validation photos one standard error is about {se:.1f} points"
                  + (" — far too few photos to rank models; treat the table as a smoke test."
                     if n < 200 else "."), ""]
        cal = v.get("calibration")
        if cal:
            lines += calibration_table(cal)
            lines += ["", "The temperature was fitted on this same validation split (lowest "
                      "negative log-likelihood of the true cell), so these after-numbers are "
                      "optimistic; an independent check is `evaluate` on other photos.", ""]
        if v.get("per_scene"):
            lines += ["### Per scene (the scene the model routed each photo through)", "",
                      "| scene (photos) | " + " | ".join(f"{t} km" for t in THRESHOLDS_KM)
                      + " | median km |", "|---|" + "---|" * (len(THRESHOLDS_KM) + 1)]
            lines += [_row(f"{name_} ({m['n']})", m) for name_, m in v["per_scene"].items()]
            lines += [""]
    else:
        lines += ["No validation split (too few photos or --val-fraction 0): this model has "
                  "**no measured accuracy**. The last epoch was kept.", ""]
    lines += ["## Cells", "",
              f"Adaptive S2 cells built from {cells['built_from']}, t_min = {cells['t_min']}:", ""]
    lines += [f"- level {h}: t_max {lv['t_max']}, {lv['cells']} cells"
              for h, lv in enumerate(cells["levels"])]
    lines += [f"- note: {note}" for note in cells["notes"]] + [""]
    lines += ["## Network and training", "",
              f"- Backbone: `{bb['name']}` (weights `{bb['weights']}`"
              + "".join(f", {k} {v}" for k, v in bb.get("options", {}).items()) + "), "
              + ("frozen" if bb["frozen"] else "fine-tuned") + f", {bb['image_size']} px"
              + ("; its weights are inside the bundle." if bb.get("in_bundle") else
                 "; its weights come from an installed package."),
              f"- Decoder ({mdl['preset']} preset): width {mdl['width']}, {mdl['hid_layers']} "
              f"HID + {mdl['hdd_layers']} HDD layers, {mdl['heads']} heads, FFN {mdl['ffn']}, "
              f"dropout {mdl['dropout']}, {mdl['scenes']} scenes; "
              f"{mdl['decoder_parameters'] / 1e6:.2f} M parameters.",
              f"- Scenes: {sc['source']}, {sc['count']} scenes.",
              f"- Loss: sum over levels of w_h CE (weights {r['level_weights']}, label "
              f"smoothing {r['label_smoothing']}; a photo without a cell at a level is masked "
              f"there) + {r['scene_weight']} x scene CE; routing by {r['routing']}.",
              f"- {r['optimizer']} lr {r['lr']}"
              + (f", backbone lr {r['backbone_lr']}" if r["backbone_lr"] else "")
              + f", weight decay {r['weight_decay']}, {r['schedule']}; {r['epochs']} epochs of "
              f"batch {r['batch_size']} ({r['steps']} steps), {r['precision']}, gradient clip "
              f"{r['grad_clip']}, seed {r['seed']}; augmentation: {r['augmentation']}.",
              f"- Model selection: {facts['selection']['rule']}; best epoch "
              f"{facts['selection']['best_epoch']} of {facts['selection']['epochs_run']}.", ""]
    hw, ts = facts["hardware"], facts["time_s"]
    lines += ["## Hardware and time", "",
              f"- {hw.get('gpu') or hw.get('cpu')} ({hw['device']}, {hw['world_size']} "
              f"process(es), {hw['cpu_threads']} CPU threads), torch {hw['torch']}.",
              f"- Backbone features {ts['features']} s ({facts['feature_cache']['computed']} "
              f"computed, {facts['feature_cache']['hits']} from the cache), training "
              f"{ts['training']} s (all sessions of a resumed run), last session in total "
              f"{ts['total']} s.", ""]
    lines += ["## Deviations from the GeoDecoder paper", ""]
    lines += [f"- {dev}" for dev in facts["deviations"]] + [""]
    lines += ["## Use and limits", "",
              "- A guess, not evidence: check it against what the photo shows.",
              "- Places without training photos cannot be predicted; the cells above are the "
              "whole map this model knows.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------- the bundle


def write_bundle(model, config, cells, scene_names: Sequence[str], facts: Dict, out_dir,
                 card: str, centroids: Optional[np.ndarray], backbone_in_bundle: bool,
                 name: str, calibration: Optional[Dict] = None,
                 retrieval: Optional[Dict] = None, gallery=None,
                 decision: Optional[Dict] = None) -> Path:
    """A trained bundle + MODEL.md + scenes.safetensors, swapped in as one folder (by
    ``bundle.save_bundle``, which also keeps the old bundle until the new one is in place)."""
    from ..modeling.bundle import BundleInfo, ModelBundle, save_bundle
    from .scenes import SCENES_FILE, save_centroids

    info = BundleInfo(name=name, untrained=False, scene_names=list(scene_names),
                      model_version=str(facts.get("model_version") or "0.1.0"),
                      backbone_in_bundle=backbone_in_bundle, training=facts,
                      calibration=dict(calibration or {}), retrieval=dict(retrieval or {}),
                      decision=dict(decision or {}))
    bundle = ModelBundle(None, info, config, cells, model, gallery=gallery)

    def add_scenes(folder: Path) -> None:
        if centroids is not None:
            save_centroids(folder / SCENES_FILE, centroids,
                           {"backbone": config.backbone, "image_size": config.image_size})

    return save_bundle(bundle, Path(out_dir), card=card, add_files=add_scenes)


def calibration_table(cal: dict) -> list[str]:
    """The card's "Calibration and credible regions" heading, text and table, from the
    validation facts (``before`` / ``after`` the temperature)."""
    b, a = cal["before"], cal["after"]
    lines = ["### Calibration and credible regions", "",
             "Confidence is the probability of the finest cell the point is in; it is "
             "right when the true place lies in that cell. ECE: expected calibration "
             "error (15 bins). Coverage: how often the true place lies inside the "
             "50 % / 90 % credible region (should be close to 50 % / 90 %); a region "
             "is the smallest-area set of cells, taken by probability density, that "
             "holds that share (median area over the photos, million km²).", "",
             "| | temperature | mean confidence | top-cell accuracy | ECE | "
             "in 50 % region | in 90 % region | 50 % area | 90 % area |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, c in (("raw logits", b), ("calibrated (shipped)", a)):
        km2 = c.get("region_km2") or {}
        area = [f"{km2[k] / 1e6:.1f}" if k in km2 else "-" for k in ("50", "90")]
        lines.append(f"| {label} | {c['temperature']:.3g} | "
                     f"{100 * c['mean_confidence']:.1f} % | "
                     f"{100 * c['top_cell_accuracy']:.1f} % | {c['ece']:.3f} | "
                     f"{100 * c['coverage']['50']:.1f} % | "
                     f"{100 * c['coverage']['90']:.1f} % | {area[0]} | {area[1]} |")
    return lines
