"""Model bundles: a folder that holds everything a prediction depends on.

    config.json          format, versions, model config, scene names, training facts
    weights.safetensors  decoder and heads (+ backbone when it was fine-tuned)
    cells.json           the cell hierarchy (readable, see cells.py)
    gallery.safetensors  optional: training photos' pooled features + coordinates
                         (retrieval inside the cell, gallery.py), never the photos
    MODEL.md             the model card (written by training)

config.json holds the SHA-256 of every data file (``checksums``); loading verifies them,
so a bundle damaged in transit or edited by hand is refused with a clear message.  It also
holds the calibration temperature (calibration.py) and whether retrieval is on.

No pickle anywhere: weights are safetensors, the rest is JSON.  A frozen backbone whose
weights come from a pip package is not copied into the bundle, which keeps bundles small
enough to ship inside the plugin zip.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, List, Optional

import torch

from .cells import CellHierarchy, CellsError
from .gallery import GALLERY_FILE, Gallery
from ..hashing import sha256_file
from .model import GeoDecoder, ModelConfig

BUNDLE_FORMAT = "geodecoder-bundle"
BUNDLE_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, CELLS_FILE = "config.json", "weights.safetensors", "cells.json"
OLD_SUFFIX = ".old"  # the previous bundle while a new one is swapped in
log = logging.getLogger(__name__)


class ModelBundleError(RuntimeError):
    """A bundle that cannot be used; the message says what is wrong and what to do."""


@dataclass
class BundleInfo:
    name: str
    model_version: str = "0.1.0"
    untrained: bool = True
    scene_names: List[str] = field(default_factory=list)
    backbone_in_bundle: bool = False
    created: str = ""
    training: dict = field(default_factory=dict)  # data, hardware, time, metrics
    # {"temperature": T, ...}: logits are divided by T before the hierarchical product
    calibration: dict = field(default_factory=dict)
    # {"enabled": bool, "k": int, ...}: refine the point with the gallery (gallery.py)
    retrieval: dict = field(default_factory=dict)

    # {"radius_km": r}: the point goes to the densest r-neighbourhood (decision.py)
    decision: dict = field(default_factory=dict)

    @property
    def decision_radius_km(self) -> float:
        return float(self.decision.get("radius_km", 0.0))

    @property
    def temperature(self) -> float:
        return float(self.calibration.get("temperature", 1.0))


@dataclass
class ModelBundle:
    path: Optional[Path]
    info: BundleInfo
    config: ModelConfig
    cells: CellHierarchy
    model: GeoDecoder
    weights_sha256: str = ""
    gallery: Optional[Gallery] = None

    @property
    def retrieval_enabled(self) -> bool:
        return self.gallery is not None and bool(self.info.retrieval.get("enabled", False))

    @property
    def label(self) -> str:
        state = "UNTRAINED" if self.info.untrained else f"v{self.info.model_version}"
        return f"{self.info.name} ({state})"


def create_model(config: ModelConfig, pretrained_backbone: bool = True) -> GeoDecoder:
    return GeoDecoder(config, pretrained_backbone=pretrained_backbone)


def save_bundle(bundle: ModelBundle, out_dir, card: Optional[str] = None,
                add_files: Optional[Callable[[Path], None]] = None) -> Path:
    """Write to a sibling temp folder, then swap it in (``replace_folder``): a failed or
    interrupted save keeps the old bundle.  ``add_files(folder)`` may add files first."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in bundle.model.state_dict().items()
                 if bundle.info.backbone_in_bundle or not k.startswith("backbone.")}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": BUNDLE_FORMAT})
        bundle.cells.save(tmp / CELLS_FILE)
        if bundle.gallery is not None:
            bundle.gallery.save(tmp)
        info = bundle.info
        info.created = info.created or datetime.now(timezone.utc).isoformat(timespec="seconds")
        model = bundle.config.to_json()
        if info.backbone_in_bundle:  # the weights file was read once; its path is private
            model["backbone_options"] = {k: v for k, v in model["backbone_options"].items()
                                         if k != "weights"}
        doc = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "name": info.name,
            "model_version": info.model_version,
            "untrained": info.untrained,
            "created": info.created,
            "backbone_in_bundle": info.backbone_in_bundle,
            "scene_names": info.scene_names or [f"scene {i}" for i in range(bundle.config.scenes)],
            "model": model,
            "cells_file": CELLS_FILE,
            "weights_file": WEIGHTS_FILE,
            "training": info.training,
            "calibration": info.calibration,
            "retrieval": info.retrieval,
            "decision": info.decision,
        }
        if bundle.gallery is not None:
            doc["gallery_file"] = GALLERY_FILE
        if card:
            (tmp / "MODEL.md").write_text(card, encoding="utf-8")
        if add_files is not None:
            add_files(tmp)
        # the data files (not the card, which people may annotate)
        doc["checksums"] = {f.name: sha256_file(f) for f in sorted(tmp.iterdir())
                            if f.is_file() and f.name != CONFIG_FILE
                            and f.suffix in (".safetensors", ".json")}
        (tmp / CONFIG_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        replace_folder(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bundle.path = out_dir
    bundle.weights_sha256 = sha256_file(out_dir / WEIGHTS_FILE)
    return out_dir


def _old(path: Path) -> Path:
    return path.with_name(path.name + OLD_SUFFIX)


def replace_folder(new: Path, dest: Path) -> None:
    """Put the complete folder ``new`` at ``dest``; the one there before is removed.

    Two renames cannot be one atomic step: the old folder moves to ``DEST.old`` first,
    then ``new`` to ``DEST``, then ``DEST.old`` is deleted.  At every moment either
    ``DEST`` or ``DEST.old`` is a complete bundle, and ``resolve_bundle_dir`` reads the
    latter when a crash struck between the renames.
    """
    new, dest = Path(new), Path(dest)
    old = _old(dest)
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)  # a leftover: dest is complete
        dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def resolve_bundle_dir(path) -> Path:
    """``path``, or ``PATH.old`` when a save was interrupted between its two renames."""
    path = Path(path)
    old = _old(path)
    if not path.exists() and (old / CONFIG_FILE).is_file():
        log.warning("model bundle %s is missing but %s is there (a save was interrupted); "
                    "using the previous bundle. Saving the model again repairs it.", path, old)
        return old
    return path


def read_bundle_config(path) -> dict:
    path = resolve_bundle_dir(path)
    if not path.is_dir():
        raise ModelBundleError(f"model bundle not found: {path} is not a folder; point --model "
                               "at a folder made by 'bundle init' or 'train'")
    cfg = path / CONFIG_FILE
    if not cfg.is_file():
        raise ModelBundleError(f"{CONFIG_FILE} is missing in {path}: not a GeoDecoder bundle")
    try:
        doc = json.loads(cfg.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelBundleError(f"{cfg} is not valid JSON ({exc}); re-create the bundle") from exc
    if doc.get("format") != BUNDLE_FORMAT:
        raise ModelBundleError(f"{cfg}: format {doc.get('format')!r} is not {BUNDLE_FORMAT!r}")
    if int(doc.get("version", 0)) > BUNDLE_VERSION:
        raise ModelBundleError(f"{path} is bundle format {doc['version']}; this plugin reads "
                               f"up to {BUNDLE_VERSION}: update the plugin")
    return doc


def load_bundle(path, device: str | torch.device = "cpu") -> ModelBundle:
    """Load and check a bundle; every mismatch is a ModelBundleError naming the fix."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = resolve_bundle_dir(path)
    doc = read_bundle_config(path)
    digests = verify_checksums(path, doc)
    try:
        config = ModelConfig.from_json(doc["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelBundleError(f"{path / CONFIG_FILE}: bad model section ({exc})") from exc
    try:
        cells = CellHierarchy.load(path / doc.get("cells_file", CELLS_FILE))
    except CellsError as exc:
        raise ModelBundleError(f"{path}: {exc}") from exc
    if cells.sizes != list(config.level_sizes):
        raise ModelBundleError(f"{path}: cells file has {cells.sizes} cells per level but the "
                               f"model was built for {config.level_sizes}; the bundle is "
                               "inconsistent, re-export it")
    weights = path / doc.get("weights_file", WEIGHTS_FILE)
    if not weights.is_file():
        raise ModelBundleError(f"{weights.name} is missing in {path}; re-download the bundle")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise ModelBundleError(f"{weights} is damaged ({exc}); re-download the bundle") from exc
    in_bundle = bool(doc.get("backbone_in_bundle", False))
    model = GeoDecoder(config, pretrained_backbone=not in_bundle)
    expected = {k: v for k, v in model.state_dict().items()
                if in_bundle or not k.startswith("backbone.")}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise ModelBundleError(
            f"{weights} does not fit its config.json: missing {missing[:4]}, unexpected "
            f"{unexpected[:4]}, wrong shape {wrong[:4]}; the bundle was made by another version "
            "or edited by hand")
    model.load_state_dict(state, strict=False)
    model.to(device).eval()
    info = BundleInfo(name=doc.get("name", path.name),
                      model_version=str(doc.get("model_version", "0")),
                      untrained=bool(doc.get("untrained", True)),
                      scene_names=list(doc.get("scene_names", [])),
                      backbone_in_bundle=in_bundle, created=doc.get("created", ""),
                      training=doc.get("training", {}),
                      calibration=dict(doc.get("calibration") or {}),
                      retrieval=dict(doc.get("retrieval") or {}),
                      decision=dict(doc.get("decision") or {}))
    if not info.temperature > 0:
        raise ModelBundleError(f"{path / CONFIG_FILE}: calibration temperature must be > 0, "
                               f"got {info.temperature}")
    if len(info.scene_names) != config.scenes:
        info.scene_names = [f"scene {i}" for i in range(config.scenes)]
    gallery = None
    if doc.get("gallery_file"):
        try:
            gallery = Gallery.load(path / doc["gallery_file"])
        except (OSError, ValueError, SafetensorError) as exc:
            raise ModelBundleError(f"{path}: gallery file is unreadable ({exc}); "
                                   "re-download the bundle") from exc
    return ModelBundle(path, info, config, cells, model,
                       digests.get(weights.name) or sha256_file(weights), gallery)


def verify_checksums(path: Path, doc: dict) -> dict:
    """Check every file named in ``checksums``; returns {file: sha256}.  Bundles written
    before checksums existed have none and load as before."""
    found = {}
    for name, want in (doc.get("checksums") or {}).items():
        f = path / name
        if Path(name).name != name or not f.is_file():
            raise ModelBundleError(f"{name} is missing in {path} (its {CONFIG_FILE} lists it); "
                                   "re-download or re-create the bundle")
        got = sha256_file(f)
        if got != want:
            raise ModelBundleError(f"{f}: checksum mismatch (sha256 {got[:12]}..., expected "
                                   f"{want[:12]}...): the file is damaged or was changed; "
                                   "re-download or re-create the bundle")
        found[name] = got
    return found


def init_bundle(cells: CellHierarchy, out_dir, name: str = "untrained",
                backbone: str = "efficientnet_lite0", seed: int = 0, **config_overrides) -> Path:
    """An untrained bundle: pretrained backbone, fresh decoder and heads."""
    torch.manual_seed(seed)
    config = ModelConfig(level_sizes=cells.sizes, backbone=backbone, **config_overrides)
    model = create_model(config)
    info = BundleInfo(name=name, untrained=True,
                      backbone_in_bundle=not model.backbone.weights_from_package)
    bundle = ModelBundle(None, info, config, cells, model)
    return save_bundle(bundle, out_dir)
