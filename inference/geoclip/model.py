"""GeoCLIP loaded: the tower, the heads, the gallery, and the facts every run records.

``GeoClipModel`` answers what the run path asks of a GeoDecoder ``ModelBundle``
(``path``, ``info``, ``cells``, ``label``, ``weights_sha256``, ``digest``, ``gallery``),
so ``RunInfo.for_bundle``, the writers and ``evaluate`` take it unchanged.

Identity: name "GeoCLIP", version "1.3.0" (the published heads), ``weights_sha256``
the SHA-256 of the CLIP tower file, and ``digest`` the SHA-256 of a canonical JSON of
every file's SHA-256 plus the cell ladder and preprocessing: two runs with the same
digest used the same model.  Hashing the 1.7 GB tower takes seconds, so the SHA-256s
are remembered in ``cache/sha256.json`` by (size, mtime): a file that changes is
hashed again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..hashing import remembered_sha256
from ..modeling.bundle import BundleInfo
from ..modeling.clip_tower import ClipVisionTower, load_tower
from .files import GeoClipFiles, locate
from .gallery import T_MAX, T_MIN, Gallery, cache_key, load_gallery
from .heads import Heads, load_heads

MODEL_NAME = "GeoCLIP"
MODEL_VERSION = "1.3.0"
SCENE_NAME = "none"  # GeoCLIP has no scenes; the column stays, saying so
UNCALIBRATED = ("GeoCLIP's probabilities and credible regions are not calibrated here "
                "(no labelled photos were available offline): read them as relative, and "
                "measure their coverage with 'python -m inference evaluate --model geoclip'")


@dataclass
class GeoClipModel:
    path: Path
    files: GeoClipFiles
    tower: ClipVisionTower
    heads: Heads
    gallery_points: Gallery
    file_sha256: dict  # file name relative to the store -> SHA-256
    info: BundleInfo
    digest: str
    gallery: None = None  # no GeoDecoder retrieval gallery (the evaluate baseline asks)

    @property
    def cells(self):
        return self.gallery_points.cells

    @property
    def weights_sha256(self) -> str:
        return self.file_sha256[self._rel(self.files.tower)]

    @property
    def label(self) -> str:
        return f"{self.info.name} v{self.info.model_version} (uncalibrated)"

    def _rel(self, p: Path) -> str:
        return p.relative_to(self.files.folder).as_posix()


def file_hashes(files: GeoClipFiles) -> dict:
    """SHA-256 of every data file, from ``cache/sha256.json`` when size and mtime match."""
    return remembered_sha256({p.relative_to(files.folder).as_posix(): p
                              for p in files.data_files()}, files.cache / "sha256.json")


def model_digest(hashes: dict) -> str:
    doc = {"model": MODEL_NAME, "version": MODEL_VERSION, "files": hashes,
           "cells": {"t_min": T_MIN, "t_max": list(T_MAX)}, "preprocess": "clip-224-bicubic"}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()


def load_geoclip(folder=None) -> GeoClipModel:
    """GeoCLIP from a store folder (files.py; default: the user's store).  Raises
    GeoClipMissing when files are missing, TowerError/RuntimeError when one is broken."""
    files = locate(folder)
    hashes = file_hashes(files)
    heads = load_heads(files.heads)
    rel = {p: p.relative_to(files.folder).as_posix() for p in files.data_files()}
    key = cache_key(hashes[rel[files.heads[1]]], hashes[rel[files.gallery_csv]])
    gallery = load_gallery(files.gallery_csv, files.cache, key, heads.location)
    tower = load_tower(files.tower, files.tower_config)
    if tower.config.projection_dim != heads.mlp[0].in_features:
        raise RuntimeError(f"{files.tower}: projection width {tower.config.projection_dim}, "
                           f"GeoCLIP's image head takes {heads.mlp[0].in_features}")
    info = BundleInfo(name=MODEL_NAME, model_version=MODEL_VERSION, untrained=False,
                      scene_names=[SCENE_NAME], created="",
                      training={"source": "GeoCLIP (Vivanco et al., NeurIPS 2023), MIT",
                                "calibration": UNCALIBRATED})
    return GeoClipModel(files.folder, files, tower, heads, gallery, hashes, info,
                        model_digest(hashes))
