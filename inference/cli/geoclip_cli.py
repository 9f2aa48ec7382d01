"""``--model geoclip`` (or a GeoCLIP store folder) on the command line.

One place decides whether ``--model`` names GeoCLIP, loads it with one-line errors
(exit 2: missing files name the download command and its size), and makes its
predictor; cli_commands calls these hooks and otherwise runs GeoCLIP exactly as a
GeoDecoder bundle.
"""

from __future__ import annotations

import sys
from typing import Optional

from .cli_common import UserError


def geoclip_folder(arg) -> Optional[str]:
    """The store folder ``--model`` means when it names GeoCLIP, else None."""
    from ..geoclip.files import NAME, looks_like_store, store_dir

    if arg is None:
        return None
    if str(arg).strip().lower() == NAME:
        return str(store_dir())
    return str(arg) if looks_like_store(arg) else None


def load(folder: str):
    from ..geoclip.files import GeoClipMissing
    from ..geoclip.model import load_geoclip
    from ..geoclip.tower import TowerError

    try:
        return load_geoclip(folder)
    except GeoClipMissing as exc:
        raise UserError(str(exc)) from exc
    except (TowerError, RuntimeError, OSError) as exc:
        raise UserError(f"GeoCLIP in {folder} cannot be loaded: {exc}") from exc


def predictor(model, args, constraints):
    from ..geoclip.predictor import GeoClipPredictor

    try:
        return GeoClipPredictor(model, device=args.device, batch_size=args.batch_size,
                                top_k=args.top_k, constraints=constraints)
    except (RuntimeError, ValueError) as exc:
        raise UserError(str(exc)) from exc


def warn_uncalibrated(model) -> tuple:
    """The note for people (stderr) and for the run's record (run_info ``extra``)."""
    from ..geoclip.model import UNCALIBRATED

    print(f"NOTE: {UNCALIBRATED}", file=sys.stderr)
    return (("calibration", UNCALIBRATED), ("model_files", str(model.path)))
