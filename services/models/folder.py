"""The models folder the dock shows and sets.  An empty setting means the engine's
default (``$GEODECODER_MODELS_DIR`` as QGIS was started with, else the per-user data
folder); a folder chosen in the dock is also put in this QGIS process's environment, so
the predictor asks the store in the same folder the dock downloaded into."""

from __future__ import annotations

import os
from pathlib import Path

from ...inference.models.store import MODELS_DIR_ENV, models_dir

_AT_START = os.environ.get(MODELS_DIR_ENV)


def effective_models_dir(setting: str = "") -> Path:
    return models_dir(setting.strip() or _AT_START or None)


def apply_models_dir(setting: str) -> Path:
    """Make `setting` (or, when empty, the folder QGIS started with) the process's
    models folder; returns it."""
    setting = setting.strip()
    if setting:
        os.environ[MODELS_DIR_ENV] = setting
    elif _AT_START is not None:
        os.environ[MODELS_DIR_ENV] = _AT_START
    else:
        os.environ.pop(MODELS_DIR_ENV, None)
    return effective_models_dir(setting)
