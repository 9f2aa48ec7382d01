"""The models store: one folder per user where downloaded models live, and the record of
what in it was verified.

Layout (the GeoCLIP predictor relies on it)::

    <models dir>/
      geoclip/
        installed.json                       what was verified: names, sizes, SHA-256, when
        cache/                               derived files (GeoCLIP's gallery, remembered
                                             SHA-256s), never part of what is verified
        clip-vit-large-patch14/model.safetensors
        geoclip-1.3.0/geoclip/model/weights/*.pth
        geoclip-1.3.0/geoclip/model/gps_gallery/coordinates_100K.csv
      .partial/geoclip/                      downloads in progress (*.part) and staging
      .cache/sha256.json                     SHA-256s of copies kept outside the store
                                             (``pinned.copy_sha256``)

A model is installed when ``installed.json`` lists exactly the catalog's files and every
one is there with the size and modification time recorded when its SHA-256 was checked.
``installed.json`` is written last, after every file was hashed and put in place, so a
cut download, a failed hash or a crash between two steps never counts as installed.
Re-hashing 1.7 GB on every lookup would cost seconds; ``full_check=True`` does it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from ..hashing import sha256_file
from .catalog import Catalog, CatalogError, ModelEntry, load_catalog

MODELS_DIR_ENV = "GEODECODER_MODELS_DIR"
INSTALLED = "installed.json"
PARTIAL = ".partial"
CACHE_DIR = "cache"  # inside a model's folder: files derived from it, rebuilt when missing


def default_models_dir() -> Path:
    """A per-user data folder: %LOCALAPPDATA% on Windows, Application Support on macOS,
    $XDG_DATA_HOME (~/.local/share) elsewhere; not the plugin folder, which QGIS
    replaces on every plugin update."""
    home = Path.home()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "GeoDecoder" / "models"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "GeoDecoder" / "models"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") \
        / "geodecoder" / "models"


def models_dir(root: Optional[os.PathLike] = None) -> Path:
    """`root` when given, else ``$GEODECODER_MODELS_DIR``, else the per-user default."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else default_models_dir()


def model_path(name: str, root: Optional[os.PathLike] = None) -> Path:
    return models_dir(root) / name


def staging_path(name: str, root: Optional[os.PathLike] = None) -> Path:
    return models_dir(root) / PARTIAL / name


def expected_files(entry: ModelEntry) -> list[dict]:
    """[{path, size, sha256}] of every file the installed model holds, relative to its
    folder, in catalog order."""
    return [{"path": f"{part.id}/{path}", "size": size, "sha256": sha}
            for part in entry.parts for f in part.files for path, size, sha in f.kept]


def read_record(name: str, root: Optional[os.PathLike] = None) -> Optional[dict]:
    try:
        doc = json.loads((model_path(name, root) / INSTALLED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _same_files(record: dict, entry: ModelEntry) -> bool:
    listed = [{k: f.get(k) for k in ("path", "size", "sha256")} for f in record.get("files", [])
              if isinstance(f, dict)]
    return record.get("model") == entry.name and listed == expected_files(entry)


def installed_model_dir(name: str, root: Optional[os.PathLike] = None,
                        catalog: Optional[Catalog] = None,
                        full_check: bool = False) -> Optional[Path]:
    """The model's folder when it is completely installed and verified, else None (never
    a folder with a missing, partial or mismatched file).  Files are compared with the
    size and mtime recorded when they were hashed; `full_check` hashes them again."""
    try:
        entry = (catalog or load_catalog()).get(name)
    except CatalogError:
        return None
    folder = model_path(name, root)
    record = read_record(name, root)
    if record is None or not _same_files(record, entry):
        return None
    for f in record["files"]:
        path = folder / f["path"]
        try:
            st = path.stat()
        except OSError:
            return None
        if not path.is_file() or st.st_size != f["size"] or st.st_mtime_ns != f.get("mtime_ns"):
            return None
        if full_check and sha256_file(path) != f["sha256"]:
            return None
    return folder


def write_record(entry: ModelEntry, root: Optional[os.PathLike], sources: list[dict]) -> Path:
    """installed.json for files already hashed: their sizes and mtimes as they are now.
    Written to a temporary name and renamed, so it is either whole or absent."""
    folder = model_path(entry.name, root)
    files = []
    for f in expected_files(entry):
        st = (folder / f["path"]).stat()
        if st.st_size != f["size"]:
            raise OSError(f"{folder / f['path']} changed while it was being installed")
        files.append({**f, "mtime_ns": st.st_mtime_ns})
    doc = {"model": entry.name, "title": entry.title, "licence": entry.licence,
           "verified_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "files": files, "sources": sources}
    tmp = folder / (INSTALLED + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / INSTALLED)
    return folder / INSTALLED


def bytes_under(path: Path) -> int:
    total = 0
    if path.is_file():
        return path.stat().st_size
    for folder, _dirs, names in os.walk(path):
        for n in names:
            try:
                total += os.lstat(os.path.join(folder, n)).st_size
            except OSError:
                pass
    return total


def partial_bytes(name: str, root: Optional[os.PathLike] = None) -> int:
    path = staging_path(name, root)
    return bytes_under(path) if path.exists() else 0


def model_state(entry: ModelEntry, root: Optional[os.PathLike] = None,
                catalog: Optional[Catalog] = None) -> str:
    """One word for lists and the dock: installed, partial (a download to resume or files
    not yet verified), or missing."""
    if installed_model_dir(entry.name, root, catalog=catalog) is not None:
        return "installed"
    if model_path(entry.name, root).exists() or partial_bytes(entry.name, root) > 0:
        return "partial"
    return "missing"


def remove_model(name: str, root: Optional[os.PathLike] = None) -> int:
    """Delete the model's folder and its unfinished downloads; the bytes freed.  The
    record goes first, so an interrupted removal never leaves a model that looks whole."""
    freed = 0
    folder = model_path(name, root)
    for path in (folder, staging_path(name, root)):
        if path.is_symlink():
            path.unlink()
            continue
        if path.exists():
            freed += bytes_under(path)
            record = path / INSTALLED
            if record.exists():
                record.unlink()
            shutil.rmtree(path)
    return freed
