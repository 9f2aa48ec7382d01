"""S2 geocell hierarchies: the classes the GeoDecoder predicts.

A cell is an S2 cell id; everything else (token, parent, polygon) is derived from the id.
Partitions are built with the adaptive algorithm of ISNs / GeoEstimation: start at S2
level 2, drop cells with <= t_min photos, split cells with > t_max photos one level at a
time, drop small cells again.  One partition per t_max of a decreasing ladder gives the
hierarchy; with a single t_min each finer partition refines the coarser ones, which is
what lets us derive parents from tokens instead of from mean coordinates (a known failure
of the reference code).

Ids are handled as numpy uint64 so 100k photos build in about a second; only the leaf id
of each photo goes through s2sphere.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
import s2sphere

CELLS_FORMAT = "geodecoder-cells"
CELLS_VERSION = 1
MIN_S2_LEVEL = 2
MAX_S2_LEVEL = 30


class CellsError(ValueError):
    """A cells file or a set of thresholds that cannot make a hierarchy."""


@dataclass(frozen=True)
class Cell:
    token: str
    s2_level: int
    count: int  # training photos in the cell
    lat: float  # mean training coordinate (what a prediction of this cell answers)
    lon: float


@dataclass(frozen=True)
class Level:
    t_max: int
    cells: Tuple[Cell, ...]


# ---------------------------------------------------------------------------- S2 ids


def leaf_ids(lats: Sequence[float], lons: Sequence[float]) -> np.ndarray:
    """Leaf (level 30) S2 cell ids of coordinates, as uint64."""
    out = np.empty(len(lats), dtype=np.uint64)
    for i, (lat, lon) in enumerate(zip(lats, lons)):
        ll = s2sphere.LatLng.from_degrees(float(lat), float(lon))
        out[i] = s2sphere.CellId.from_lat_lng(ll).id()
    return out


def parent_ids(ids: np.ndarray, level: int) -> np.ndarray:
    """Ancestor ids at `level` (bit arithmetic of S2: keep the high bits, set the new lsb)."""
    lsb = np.uint64(1 << (2 * (MAX_S2_LEVEL - level)))
    mask = ~(lsb - np.uint64(1))  # keeps the bits from the new lsb up
    return (ids & mask) | lsb


def id_level(cell_id: int) -> int:
    lsb = cell_id & -cell_id
    return MAX_S2_LEVEL - (lsb.bit_length() - 1) // 2


def token_to_id(token: str) -> int:
    return int(token.ljust(16, "0"), 16)


def id_to_token(cell_id: int) -> str:
    return f"{int(cell_id):016x}".rstrip("0") or "X"


# ------------------------------------------------------------------ mean coordinates


def spherical_mean(lats: np.ndarray, lons: np.ndarray) -> Tuple[float, float]:
    """Mean of coordinates through 3-D unit vectors: right across the antimeridian."""
    la, lo = np.radians(lats), np.radians(lons)
    x, y, z = (np.cos(la) * np.cos(lo)).mean(), (np.cos(la) * np.sin(lo)).mean(), np.sin(la).mean()
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


# ------------------------------------------------------------------------ building


def _partition(leaves: np.ndarray, t_min: int, t_max: int) -> np.ndarray:
    """The GeoEstimation algorithm. Returns the cell id of every photo, 0 where dropped."""
    cur = parent_ids(leaves, MIN_S2_LEVEL)
    cur = _drop_small(cur, t_min)
    level = MIN_S2_LEVEL
    while level < MAX_S2_LEVEL:
        ids, counts = np.unique(cur[cur != 0], return_counts=True)
        over = ids[counts > t_max]
        if over.size == 0:
            break
        level += 1
        move = np.isin(cur, over)
        cur[move] = parent_ids(leaves[move], level)
    return _drop_small(cur, t_min)


def _drop_small(cur: np.ndarray, t_min: int) -> np.ndarray:
    ids, inverse, counts = np.unique(cur, return_inverse=True, return_counts=True)
    small = (counts <= t_min) | (ids == 0)
    out = cur.copy()
    out[small[inverse]] = 0
    return out


def default_ladder(n_photos: int) -> Tuple[int, List[int]]:
    """t_min and a decreasing t_max ladder scaled to the number of photos.

    For the 100k MP-16 locations this gives t_min 5 and t_max 5000 ... 78, close to the
    measured ladder of the method notes.  Small regional sets get a coarser start (a third
    of the photos) so their coarsest level has a handful of cells, and the ladder stops
    once a cell would hold only a few photos.
    """
    n = max(int(n_photos), 1)
    t_min = max(1, round(n / 20000))
    # fraction of photos allowed in a coarsest cell: 1/3 for <= 1k photos, 1/20 from 100k on
    f = min(max((math.log10(n) - 3) / 2, 0.0), 1.0)
    first = n / (3 * (20 / 3) ** f)
    ladder: List[int] = []
    t = first
    while len(ladder) < 7 and t > 2 * t_min + 1:
        value = int(round(t))
        if not ladder or value < ladder[-1]:
            ladder.append(value)
        t /= 2
    return t_min, ladder or [max(2 * t_min + 1, n)]


class CellHierarchy:
    """H partitions from coarse to fine, with the parent of every finest cell in each."""

    def __init__(self, levels: Sequence[Level], t_min: int, num_images: int,
                 notes: Sequence[str] = ()):
        if not levels:
            raise CellsError("a hierarchy needs at least one level")
        self.levels: Tuple[Level, ...] = tuple(levels)
        self.t_min = int(t_min)
        self.num_images = int(num_images)
        self.notes = tuple(notes)
        self._ids = [np.array([token_to_id(c.token) for c in lv.cells], dtype=np.uint64)
                     for lv in self.levels]
        self._order = [np.argsort(ids) for ids in self._ids]
        self._sorted = [ids[o] for ids, o in zip(self._ids, self._order)]
        self.parents = self._parents_from_tokens()
        self._finest_tokens = tuple(c.token for c in self.levels[-1].cells)

    # -- shape
    @property
    def num_levels(self) -> int:
        return len(self.levels)

    @property
    def sizes(self) -> List[int]:
        return [len(lv.cells) for lv in self.levels]

    def cell(self, level: int, index: int) -> Cell:
        return self.levels[level].cells[index]

    # -- lookups
    def _find(self, level: int, ids: np.ndarray) -> np.ndarray:
        """Index in `level` of each id, -1 where the id is not a cell of that level."""
        srt = self._sorted[level]
        pos = np.searchsorted(srt, ids)
        pos_c = np.minimum(pos, max(len(srt) - 1, 0))
        hit = (pos < len(srt)) & (srt[pos_c] == ids) if len(srt) else np.zeros(len(ids), bool)
        return np.where(hit, self._order[level][pos_c], -1)

    def _containing(self, level: int, ids: np.ndarray) -> np.ndarray:
        """Index of the cell of `level` that contains each id (its first ancestor there)."""
        out = np.full(len(ids), -1, dtype=np.int64)
        for s2l in range(MIN_S2_LEVEL, MAX_S2_LEVEL + 1):
            todo = out < 0
            if not todo.any():
                break
            anc = parent_ids(ids[todo], s2l)
            out[todo] = self._find(level, anc)
        return out

    def _parents_from_tokens(self) -> np.ndarray:
        finest = self._ids[-1]
        m = np.empty((len(finest), self.num_levels), dtype=np.int64)
        for h in range(self.num_levels):
            m[:, h] = self._containing(h, finest)
        if (m < 0).any():
            bad = int(np.argmax((m < 0).any(axis=1)))
            raise CellsError(
                f"finest cell {self.levels[-1].cells[bad].token} has no ancestor in every "
                "level: the t_max ladder must decrease with one t_min for all levels")
        return m

    def assign(self, lats: Sequence[float], lons: Sequence[float]) -> np.ndarray:
        """Class index per photo and level, shape (N, H); -1 where a photo has no cell."""
        leaves = leaf_ids(lats, lons)
        return np.stack([self._containing(h, leaves) for h in range(self.num_levels)], axis=1)

    def finest_tokens(self) -> tuple[str, ...]:
        """The finest level's tokens in class order (what regions and clues are drawn
        from); one tuple per hierarchy, so caches keyed by it hash it once."""
        return self._finest_tokens

    def finest_coords(self) -> np.ndarray:
        return np.array([[c.lat, c.lon] for c in self.levels[-1].cells], dtype=np.float64)

    def counts(self, level: int) -> np.ndarray:
        return np.array([c.count for c in self.levels[level].cells], dtype=np.int64)

    # -- files
    def to_json(self) -> dict:
        return {
            "format": CELLS_FORMAT,
            "version": CELLS_VERSION,
            "num_images": self.num_images,
            "t_min": self.t_min,
            "notes": list(self.notes),
            "columns": ["token", "s2_level", "count", "lat", "lon"],
            "levels": [
                {"t_max": lv.t_max,
                 "cells": [[c.token, c.s2_level, c.count, round(c.lat, 6), round(c.lon, 6)]
                           for c in lv.cells]}
                for lv in self.levels
            ],
        }

    def save(self, path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        doc = self.to_json()
        # one cell per line: a person can read and diff the file
        lines = ["{"]
        for key in ("format", "version", "num_images", "t_min", "notes", "columns"):
            lines.append(f"  {json.dumps(key)}: {json.dumps(doc[key])},")
        lines.append('  "levels": [')
        for i, lv in enumerate(doc["levels"]):
            lines.append(f'    {{"t_max": {lv["t_max"]}, "cells": [')
            rows = [f"      {json.dumps(row)}" for row in lv["cells"]]
            lines.append(",\n".join(rows))
            lines.append("    ]}" + ("," if i < len(doc["levels"]) - 1 else ""))
        lines.append("  ]\n}\n")
        tmp.write_text("\n".join(lines), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def from_json(cls, doc: dict) -> CellHierarchy:
        if doc.get("format") != CELLS_FORMAT:
            raise CellsError(f"not a GeoDecoder cells file (format={doc.get('format')!r})")
        if int(doc.get("version", 0)) > CELLS_VERSION:
            raise CellsError(f"cells file version {doc['version']} is newer than this "
                             f"plugin understands ({CELLS_VERSION}): update the plugin")
        levels = [Level(int(lv["t_max"]),
                        tuple(Cell(str(t), int(s), int(n), float(a), float(o))
                              for t, s, n, a, o in lv["cells"]))
                  for lv in doc["levels"]]
        return cls(levels, doc["t_min"], doc["num_images"], doc.get("notes", ()))

    @classmethod
    def load(cls, path) -> CellHierarchy:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CellsError(f"cannot read cells file {path}: {exc}") from exc
        return cls.from_json(doc)


def build_hierarchy(lats: Sequence[float], lons: Sequence[float], t_min: Optional[int] = None,
                    t_max: Optional[Iterable[int]] = None) -> CellHierarchy:
    """Build the hierarchy; levels with a single cell or a copy of the level above are dropped
    (and the drop is recorded in ``notes``)."""
    lats = np.asarray(lats, dtype=np.float64)
    lons = np.asarray(lons, dtype=np.float64)
    ok = np.isfinite(lats) & np.isfinite(lons) & (np.abs(lats) <= 90) & (np.abs(lons) <= 180)
    lats, lons = lats[ok], lons[ok]
    if len(lats) == 0:
        raise CellsError("no valid coordinates to build cells from")
    auto_min, auto_ladder = default_ladder(len(lats))
    t_min = auto_min if t_min is None else int(t_min)
    ladder = sorted({int(t) for t in (t_max or auto_ladder)}, reverse=True)
    if t_min < 0 or any(t <= t_min for t in ladder):
        raise CellsError(f"every t_max must exceed t_min={t_min}: got {ladder}")
    leaves = leaf_ids(lats, lons)
    levels, notes, previous = [], [], None
    for t in ladder:
        cur = _partition(leaves, t_min, t)
        ids = np.unique(cur[cur != 0])
        if len(ids) <= 1:
            notes.append(f"t_max={t}: {len(ids)} cell, not a level (dropped)")
            continue
        if previous is not None and np.array_equal(ids, previous):
            notes.append(f"t_max={t}: same cells as the level above (dropped)")
            continue
        previous = ids
        cells = []
        for cid in ids:
            sel = cur == cid
            lat, lon = spherical_mean(lats[sel], lons[sel])
            cells.append(Cell(id_to_token(int(cid)), id_level(int(cid)), int(sel.sum()), lat, lon))
        levels.append(Level(t, tuple(cells)))
    if not levels:
        raise CellsError(f"no level has more than one cell with t_min={t_min}, t_max={ladder} "
                         f"for {len(lats)} photos: lower t_min or add photos")
    return CellHierarchy(levels, t_min, len(lats), notes)


def read_coordinates_csv(path) -> Tuple[np.ndarray, np.ndarray]:
    """LAT/LON columns of a CSV (MP-16 style; case-insensitive names, other columns ignored)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        names = {n.strip().lower(): n for n in reader.fieldnames or []}
        lat_key = names.get("lat") or names.get("latitude")
        lon_key = names.get("lon") or names.get("lng") or names.get("longitude")
        if not lat_key or not lon_key:
            raise CellsError(f"{path}: needs LAT and LON columns, found {reader.fieldnames}")
        lats, lons = [], []
        for row in reader:
            try:
                lats.append(float(row[lat_key]))
                lons.append(float(row[lon_key]))
            except (TypeError, ValueError):
                continue
    return np.array(lats), np.array(lons)
