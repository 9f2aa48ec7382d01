"""The gallery: 100,000 locations, their GeoCLIP embeddings, and the S2 cells over them.

Embedding the gallery costs ~1.8 TFLOP (three 4-layer MLPs per location), tens of
seconds on a laptop CPU, and the cells' areas half a minute more, so both are computed
once after install and cached in ``<store>/cache/`` as a safetensors file (tensors only,
memory-mapped) and a cells JSON, named by a key over the SHA-256s of the location
encoder's weights and the gallery CSV and over the cell ladder: new weights or a new
ladder make a new file, never a stale answer.  A store that cannot be written is used
as it is (the cache is recomputed in memory each time, with a warning).

Cells (written down in docs/METHOD_NOTES.md, "GeoCLIP"): ``build_hierarchy`` over the
gallery itself with t_min = 0 and t_max 5000 / 1000 / 250 / 60, giving 109 / 372 /
1,450 / 5,432 cells.  t_min = 0 keeps every gallery point in a cell at every level, so
all of GeoCLIP's probability lands in a cell (with t_min 5, as for GeoDecoder's
classes, the mass of isolated points would vanish); four levels a factor ~4 apart keep
the outputs small, and the finest cells (median 980 km², ~30 km across) match the scale
at which GeoCLIP is right (25 km).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..modeling.cells import CellHierarchy, build_hierarchy, read_coordinates_csv

log = logging.getLogger(__name__)

T_MIN = 0
T_MAX = (5000, 1000, 250, 60)
CACHE_FORMAT = "geoclip-gallery-1"
CHUNK = 8192  # locations per forward pass of the location encoder


@dataclass
class Gallery:
    coords: np.ndarray  # (N, 2) float64 lat, lon
    embeddings: torch.Tensor  # (N, 512) float32, unit length
    cells: CellHierarchy
    point_cell: np.ndarray  # (N,) finest cell of each location
    cell_areas: np.ndarray  # (finest cells,) km², for the density ranking


def cache_key(location_sha: str, csv_sha: str) -> str:
    doc = {"format": CACHE_FORMAT, "location_encoder": location_sha, "gallery": csv_sha,
           "t_min": T_MIN, "t_max": list(T_MAX)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


@torch.inference_mode()
def embed_locations(location_encoder, coords: np.ndarray) -> torch.Tensor:
    """Unit-length location features of (N, 2) degrees, in chunks (memory stays small)."""
    latlon = torch.as_tensor(coords, dtype=torch.float32)
    parts = [torch.nn.functional.normalize(location_encoder(latlon[i:i + CHUNK]), dim=1)
             for i in range(0, len(latlon), CHUNK)]
    return torch.cat(parts)


def load_gallery(csv_path: Path, cache_dir: Path, key: str, location_encoder) -> Gallery:
    """The gallery from the cache when it is there, else computed (and cached)."""
    from safetensors.torch import load_file

    tensors = cache_dir / f"gallery-{key[:16]}.safetensors"
    cells_file = cache_dir / f"cells-{key[:16]}.json"
    if tensors.is_file() and cells_file.is_file():
        try:
            t = load_file(str(tensors))
            cells = CellHierarchy.load(cells_file)
            if len(t["cell_areas"]) == cells.sizes[-1]:
                return Gallery(t["coords"].numpy(), t["embeddings"], cells,
                               t["point_cell"].numpy(), t["cell_areas"].numpy())
        except Exception:  # noqa: BLE001 - a broken cache is rebuilt, not fatal
            log.warning("GeoCLIP cache %s is unreadable: rebuilding it", tensors,
                        exc_info=True)
    gallery = build_gallery(csv_path, location_encoder)
    _save(gallery, tensors, cells_file)
    return gallery


def build_gallery(csv_path: Path, location_encoder) -> Gallery:
    from ..modeling.cell_geometry import partition_areas_km2  # shapely: only here

    lats, lons = read_coordinates_csv(csv_path)
    coords = np.stack([lats, lons], axis=1)
    if len(coords) == 0:
        raise RuntimeError(f"{csv_path}: no gallery coordinates (LAT, LON columns)")
    cells = build_hierarchy(lats, lons, T_MIN, T_MAX)
    point_cell = cells.assign(lats, lons)[:, -1]
    if (point_cell < 0).any():  # cannot happen with t_min = 0; a wrong answer if it did
        raise RuntimeError("a gallery location fell outside every cell")
    areas = partition_areas_km2(cells.finest_tokens())
    return Gallery(coords, embed_locations(location_encoder, coords), cells, point_cell,
                   np.asarray(areas, dtype=np.float64))


def _save(g: Gallery, tensors: Path, cells_file: Path) -> None:
    from safetensors.torch import save_file

    try:
        tensors.parent.mkdir(parents=True, exist_ok=True)
        tmp = tensors.with_name(tensors.name + ".part")
        save_file({"coords": torch.tensor(np.asarray(g.coords, dtype=np.float64)),
                   "embeddings": g.embeddings.contiguous(),
                   "point_cell": torch.tensor(np.asarray(g.point_cell, dtype=np.int64)),
                   "cell_areas": torch.tensor(np.asarray(g.cell_areas, dtype=np.float64))},
                  str(tmp), metadata={"format": CACHE_FORMAT})
        g.cells.save(cells_file)
        os.replace(tmp, tensors)  # last: the pair is complete once this exists
    except OSError as exc:
        log.warning("cannot cache the GeoCLIP gallery in %s (%s): it will be computed "
                    "again next time", tensors.parent, exc)
