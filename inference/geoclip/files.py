"""Where GeoCLIP's files are, and what to say when they are not there.

The store layout is the models store's (``inference/models/store.py`` owns the folder and
what counts as installed)::

    <models dir>/geoclip/clip-vit-large-patch14/model.safetensors   (+ config.json)
    <models dir>/geoclip/geoclip-1.3.0/geoclip/model/weights/*.pth
    <models dir>/geoclip/geoclip-1.3.0/geoclip/model/gps_gallery/coordinates_100K.csv

Everything else takes the folder as a parameter, so tests and users can point anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..models.store import CACHE_DIR, model_path

NAME = "geoclip"
DOWNLOAD_SIZE = "about 1.75 GB"
GET_COMMAND = "python -m inference models get geoclip"
TOWER_DIR = "clip-vit-large-patch14"
HEADS_DIR = Path("geoclip-1.3.0", "geoclip", "model")
HEAD_FILES = ("image_encoder_mlp_weights.pth", "location_encoder_weights.pth",
              "logit_scale_weights.pth")
GALLERY_CSV = Path("gps_gallery", "coordinates_100K.csv")


class GeoClipMissing(FileNotFoundError):
    """GeoCLIP's files are not (all) in the folder; the message says how to get them."""


def store_dir() -> Path:
    """The folder ``--model geoclip`` means (``GEODECODER_MODELS_DIR`` or the per-user
    models folder)."""
    return model_path(NAME)


@dataclass(frozen=True)
class GeoClipFiles:
    folder: Path
    tower: Path  # model.safetensors of the whole CLIP (only the vision tower is read)
    tower_config: Optional[Path]  # its config.json, when there
    heads: tuple  # HEAD_FILES, in that order
    gallery_csv: Path

    @property
    def cache(self) -> Path:
        return self.folder / CACHE_DIR

    def data_files(self) -> tuple:
        """The files whose SHA-256s name the model (model.py's digest)."""
        return (self.tower,) + tuple(self.heads) + (self.gallery_csv,)


def locate(folder=None) -> GeoClipFiles:
    """The files of the GeoCLIP store in ``folder`` (default: ``store_dir()``); raises
    GeoClipMissing, one line naming the download command and its size, when any is
    missing."""
    folder = Path(folder) if folder is not None else store_dir()
    tower = folder / TOWER_DIR / "model.safetensors"
    heads_dir = folder / HEADS_DIR
    heads = tuple(heads_dir / "weights" / f for f in HEAD_FILES)
    gallery = heads_dir / GALLERY_CSV
    missing = [p for p in (tower,) + heads + (gallery,) if not p.is_file()]
    if missing:
        first = missing[0].relative_to(folder) if folder in missing[0].parents else missing[0]
        raise GeoClipMissing(
            f"GeoCLIP is not installed in {folder} ({first} missing): run "
            f"'{GET_COMMAND}' to download it ({DOWNLOAD_SIZE})")
    config = folder / TOWER_DIR / "config.json"
    return GeoClipFiles(folder, tower, config if config.is_file() else None, heads, gallery)


def looks_like_store(path) -> bool:
    """A folder laid out as a GeoCLIP store (even an incomplete one): what lets
    ``--model FOLDER`` pick GeoCLIP instead of a GeoDecoder bundle."""
    p = Path(path)
    return p.is_dir() and ((p / TOWER_DIR).is_dir() or (p / HEADS_DIR.parts[0]).is_dir())
