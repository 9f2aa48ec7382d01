"""Training data in: geotagged photos of a folder or rows of an MP-16 style CSV, and the
train/validation split (photographer-disjoint when the data names photographers)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .train_config import ProgressFn, TrainError


@dataclass
class Sample:
    path: str
    lat: float
    lon: float
    author: str = ""
    scene: str = ""


def scan_photos(photos_dir, progress: ProgressFn = None
                ) -> Tuple[List[Sample], List[Tuple[str, str]]]:
    """Geotagged photos of a folder (recursive) and (path, reason) for the others."""
    from PIL import Image

    from ..prediction.photos import find_photos, read_exif_gps, register_heif

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


def split_samples(samples: Sequence[Sample], val_fraction: float, seed: int = 0,
                  max_group: Optional[int] = None) -> Tuple[List[Sample], List[Sample], str]:
    """Train and validation lists, and how they were split.

    With AUTHOR values, whole photographers go to one side (a photographer's photos are
    near-duplicates of each other); photos without an author are their own group.
    ``max_group`` keeps photographers with more photos than that out of validation (they
    train): one prolific photographer at one place would otherwise be a third of the
    validation photos and decide every model choice (measured on im2gps3k-train: 117 of
    386 validation photos from one island).
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
            if max_group and len(groups[keys[g]]) > max_group:
                continue
            val_idx.extend(groups[keys[g]])
        how = "photographer-disjoint (AUTHOR column)" + (
            f", validation photographers with at most {max_group} photos" if max_group else "")
    else:
        val_idx = list(rng.permutation(n)[:want])
        how = "seeded random"
    chosen = set(int(i) for i in val_idx)
    train = [s for i, s in enumerate(samples) if i not in chosen]
    val = [s for i, s in enumerate(samples) if i in chosen]
    return train, val, f"{how}, seed {seed}"
