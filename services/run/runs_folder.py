"""Where the dock saves a run when no file is named, and where "Open run…" starts.

Runs used to go into the QGIS profile (``…/profiles/default/geodecoder/runs``), a hidden
folder the dock never named: a user could not find a run to hand it to a colleague, and
"Open run…" started somewhere else (issue 20 item 7).  The default is now a folder the
user can see, "GeoDecoder runs" in their Documents; the Model tab lets them choose
another, and the dock says where each run went.  Runs saved by earlier versions stay
where they were (``legacy_runs_dir``): nothing is moved without the user asking.
"""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QStandardPaths

FOLDER_NAME = "GeoDecoder runs"


def default_runs_dir() -> Path:
    """``<Documents>/GeoDecoder runs`` (the home folder where there is no Documents)."""
    documents = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
    return Path(documents or Path.home()) / FOLDER_NAME


def legacy_runs_dir() -> Path:
    """Where versions up to 0.2.0 saved runs (inside the QGIS profile): named in the
    changelog, so that users find their older runs."""
    return Path(QgsApplication.qgisSettingsDirPath()) / "geodecoder" / "runs"


def runs_dir(chosen: str = "") -> Path:
    """The folder the user chose in the Model tab, else the default."""
    chosen = (chosen or "").strip()
    return Path(os.path.expanduser(chosen)) if chosen else default_runs_dir()


def open_run_start(last_run_folder: str, chosen: str = "",
                   legacy: Path | None = None) -> str:
    """The folder "Open run…" starts in: the folder of the run saved (or opened) last,
    while it exists, else the runs folder; before the first run there, the folder where
    earlier versions saved runs when it holds any (a user who upgrades finds them), else
    the nearest folder above the runs folder that exists (a dialog cannot start in
    nothing)."""
    if last_run_folder and os.path.isdir(last_run_folder):
        return last_run_folder
    folder = runs_dir(chosen)
    if folder.is_dir():
        return str(folder)
    legacy = legacy_runs_dir() if legacy is None else legacy
    if legacy.is_dir() and any(legacy.glob("*.gpkg")):
        return str(legacy)
    while not folder.is_dir() and folder.parent != folder:
        folder = folder.parent
    return str(folder)
