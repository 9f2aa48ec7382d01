"""Which model argument means GeoCLIP, and GeoCLIP opened as a predictor.

Shared by the command line (``--model geoclip``, cli/geoclip_cli.py) and the plugin's
pipeline (the dock and Processing, services/run/pipeline.py), so that both read a model
argument the same way, load GeoCLIP through the same code and record the same facts
with every run.  The callers only turn the two errors below into their own words
(exit 2 on the command line, an expected error in QGIS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .files import NAME, GeoClipMissing, locate, looks_like_store, store_dir

__all__ = ["GeoClipLoadError", "GeoClipMissing", "installed_store", "open_predictor",
           "run_facts", "store_for"]


class GeoClipLoadError(RuntimeError):
    """GeoCLIP's files are there but cannot be used (a broken tower, a head that does not
    fit, a device that cannot run it); the message names the folder and the reason."""


def store_for(arg) -> Optional[str]:
    """The store folder a model argument means when it names GeoCLIP ("geoclip" or a
    folder laid out as a GeoCLIP store), else None (a GeoDecoder bundle, or nothing)."""
    if arg is None or not str(arg).strip():
        return None
    if str(arg).strip().lower() == NAME:
        return str(store_dir())
    return str(arg) if looks_like_store(arg) else None


def installed_store(folder=None) -> Optional[Path]:
    """The GeoCLIP store folder when all its files are there (default: the models
    folder's), else None.  Only stats files: cheap enough for a dock that asks on every
    refresh, and the same check ``locate`` makes before a load."""
    try:
        return locate(folder).folder
    except GeoClipMissing:
        return None


def open_predictor(folder, device: str = "auto", batch_size: int = 8, top_k: int = 5,
                   constraints=None):
    """(GeoClipModel, GeoClipPredictor) for the store in ``folder``.  Raises
    GeoClipMissing (files missing: the message names the download command and its size)
    or GeoClipLoadError; a constraint that leaves no place raises the engine's
    ConstraintError, as with a GeoDecoder bundle."""
    from ..constraints.base import ConstraintError
    from .model import load_geoclip
    from .predictor import GeoClipPredictor
    from ..modeling.clip_tower import TowerError

    try:
        model = load_geoclip(folder)
    except GeoClipMissing:
        raise
    except (TowerError, RuntimeError, OSError) as exc:
        raise GeoClipLoadError(f"GeoCLIP in {folder} cannot be loaded: {exc}") from exc
    try:
        predictor = GeoClipPredictor(model, device=device, batch_size=batch_size,
                                     top_k=top_k, constraints=constraints)
    except ConstraintError:
        raise
    except (RuntimeError, ValueError) as exc:
        raise GeoClipLoadError(str(exc)) from exc
    return model, predictor


def run_facts(model) -> tuple[tuple[str, str], ...]:
    """What every GeoCLIP run records beside the model's name, version and digest
    (``run_info`` extra): that it is uncalibrated here, and where its files were."""
    from .model import UNCALIBRATED

    return (("calibration", UNCALIBRATED), ("model_files", str(model.path)))
