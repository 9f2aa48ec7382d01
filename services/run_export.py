"""Export run…: a run's GeoPackage as KML, KMZ or GeoJSON for colleagues without QGIS.

Which run: the one whose result the dock shows, else the run ``result_layer`` would
pick (the active layer's run, else the top run of the layer tree); with no run in the
project the dock asks for a run GeoPackage.  The file itself is written by the
engine's ``outputs.exports`` (the same as ``predict --out x.kml``), atomically: a
failed export leaves the chosen file as it was.  An export reads a few hundred
features, so it runs on the main thread; it touches no project layer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .i18n import tr

from ..inference.outputs.exports import (EXPORT_FORMATS, FORMAT_NAMES, ExportError,
                                         export_run)

DEFAULT_EXTENSION = ".kml"


@dataclass(frozen=True)
class ExportOutcome:
    ok: bool
    message: str  # one line for the dock's status
    path: Optional[str] = None  # the file written


def file_filters() -> list[str]:
    """The save dialog's filters, one per format, KML first."""
    return [f"{FORMAT_NAMES[ext]} (*{ext})" for ext in EXPORT_FORMATS]


def with_extension(path: str, chosen_filter: str = "") -> str:
    """`path` with the extension of the chosen filter when the name has none of the
    export formats (a Qt save dialog does not add it by itself everywhere)."""
    if Path(path).suffix.lower() in EXPORT_FORMATS:
        return path
    for ext in EXPORT_FORMATS:
        if f"(*{ext})" in chosen_filter:
            return path + ext
    return path + DEFAULT_EXTENSION


def run_file_of(layer) -> Optional[str]:
    """The GeoPackage a run's Predictions layer reads, None when it is not a file."""
    if layer is None or layer.providerType() != "ogr":
        return None
    path = layer.source().split("|")[0]
    return path if os.path.isfile(path) else None


def current_run_file(service) -> Optional[str]:
    """The GeoPackage of the dock's current run (see the module docstring), or None."""
    shown = service.runs.get(service.shown_run) if service.shown_run else None
    layer = shown.predictions if shown is not None else service.result_layer()
    return run_file_of(layer)


def suggested_target(run_path: str, folder: str = "") -> str:
    """Where the save dialog starts: the run's name as a KML, in `folder` (the dock's
    last folder) or else beside the run."""
    folder = folder if folder and os.path.isdir(folder) else os.path.dirname(run_path)
    return os.path.join(folder, Path(run_path).stem + DEFAULT_EXTENSION)


def export_run_file(run_path: str, target: str) -> ExportOutcome:
    """Write the export; the outcome says what happened in one line."""
    try:
        out = export_run(run_path, target)
    except ExportError as exc:
        return ExportOutcome(False, tr("Export failed, nothing was written: {error}").format(
            error=exc))
    return ExportOutcome(True, tr("Exported {run} to {path}").format(
        run=Path(run_path).name, path=out), str(out))
