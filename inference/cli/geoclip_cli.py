"""``--model geoclip`` (or a GeoCLIP store folder) on the command line.

The decision and the loading are ``inference.geoclip.choice``'s (the plugin's pipeline
uses the same); here they only get the command line's words: one-line errors (exit 2:
missing files name the download command and its size) and the note on stderr.
cli_commands calls these hooks and otherwise runs GeoCLIP exactly as a GeoDecoder bundle.
"""

from __future__ import annotations

import sys
from typing import Optional

from ..geoclip import choice
from .cli_common import UserError


def geoclip_folder(arg) -> Optional[str]:
    """The store folder ``--model`` means when it names GeoCLIP, else None."""
    return choice.store_for(arg)


def load(folder: str):
    from ..geoclip.model import load_geoclip
    from ..modeling.clip_tower import TowerError

    try:
        return load_geoclip(folder)
    except choice.GeoClipMissing as exc:
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
    return choice.run_facts(model)
