"""Which model answers a run: the dock's and Processing's one rule (issue 17).

GeoCLIP is far stronger than the default model and too large to ship: once the user has
downloaded it, it answers unless they pick another model.  The offline default model
(and any bundle folder) stays one choice away, and every run records which model
answered (``run_info``: model_name, model_version, bundle_digest).

A choice is one of ``CHOICES``; a bundle folder named explicitly always wins (the dock's
"A bundle folder", Processing's MODEL).
"""

from __future__ import annotations

from typing import Optional

from ..errors import NoModelError
from ..i18n import tr
from . import pipeline

AUTO, GEOCLIP, DEFAULT, BUNDLE = "auto", "geoclip", "default", "bundle"
CHOICES = (AUTO, GEOCLIP, DEFAULT, BUNDLE)


def choice_labels() -> dict[str, str]:
    """What the dock and Processing show for each choice."""
    return {AUTO: tr("Best available (GeoCLIP once downloaded, else the default)"),
            GEOCLIP: tr("GeoCLIP (strong; download it below)"),
            DEFAULT: tr("The default model (offline, fast)"),
            BUNDLE: tr("A model bundle folder")}


def effective_choice(choice: str, folder: Optional[str] = None) -> str:
    """The choice a run will really use: AUTO becomes GEOCLIP or DEFAULT, a folder makes
    it BUNDLE."""
    if folder:
        return BUNDLE
    if choice == AUTO or choice not in CHOICES or choice == BUNDLE:
        return GEOCLIP if pipeline.geoclip_store() is not None else DEFAULT
    return choice


def model_path_for(choice: str, folder: Optional[str] = None) -> str:
    """The folder a run loads (a GeoDecoder bundle or the GeoCLIP store) for `choice`;
    NoModelError saying what to do when that model is not there."""
    chosen = effective_choice(choice, folder)
    if chosen == BUNDLE:
        return str(folder)
    if chosen == GEOCLIP:
        store = pipeline.geoclip_store()
        if store is None:
            raise NoModelError(tr("GeoCLIP is not downloaded: Model tab, GeoCLIP, Download "
                                  "(about 1.75 GB), or choose the default model"))
        return store
    default = pipeline.default_bundle_path()
    if default is None:
        raise NoModelError(pipeline.no_model_message())
    return default


def is_geoclip(path: Optional[str]) -> bool:
    """Whether a model folder (or "geoclip") is GeoCLIP's store."""
    from ...inference.geoclip.choice import store_for

    return store_for(path) is not None
