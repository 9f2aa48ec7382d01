"""One pinned file of the catalog: where the store keeps it, and the SHA-256 of a copy.

A network that is built on a downloaded model but is not that model (the GeoDecoder's
``clip-vit-l14`` backbone on GeoCLIP's CLIP tower) names what it was trained on by a
catalog reference, ``MODEL/PART`` (``geoclip/clip-vit-large-patch14``), and by the
file's SHA-256.  This module turns the reference into the catalog's pin and the store's
path, and gives the SHA-256 of a copy without re-reading 1.7 GB on every load: the
store's own record when the model is installed and verified (``installed.json``, whose
sizes and mtimes are checked), else a digest remembered by size and mtime
(``hashing.remembered_sha256``) in the model's ``cache/sha256.json`` (the memo GeoCLIP
keeps for the same files) or, for a copy outside the store, in the models folder's
``.cache/sha256.json``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..hashing import remembered_sha256
from .catalog import Catalog, CatalogError, load_catalog
from .store import CACHE_DIR, installed_model_dir, model_path, models_dir

REF_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*"
MEMO = "sha256.json"


@dataclass(frozen=True)
class PinnedFile:
    """The catalog's word on one file: which model and part, its name, size, SHA-256."""

    ref: str  # MODEL/PART
    model: str
    part: str
    name: str  # relative to the part's folder
    size: int
    sha256: str

    @property
    def get_command(self) -> str:
        return f"python -m inference models get {self.model}"

    def store_path(self, root: Optional[os.PathLike] = None) -> Path:
        """Where the models store keeps the file (whether it is there or not)."""
        return model_path(self.model, root) / self.part / self.name


def pinned_file(ref: str, suffix: str, catalog: Optional[Catalog] = None) -> PinnedFile:
    """The file ending in ``suffix`` of part ``PART`` of model ``MODEL`` (``ref`` =
    ``MODEL/PART``) in the catalog (default: ``load_catalog()``, which follows
    ``GEODECODER_MODELS_CATALOG``).  A CatalogError names what is not there."""
    if not isinstance(ref, str) or not re.fullmatch(REF_PATTERN, ref):
        raise CatalogError(f"{ref!r} is not a catalog reference MODEL/PART "
                           "(e.g. geoclip/clip-vit-large-patch14)")
    model, part_id = ref.split("/")
    entry = (catalog or load_catalog()).get(model)
    part = next((p for p in entry.parts if p.id == part_id), None)
    if part is None:
        raise CatalogError(f"model {model} has no part {part_id!r} (parts: "
                           f"{', '.join(p.id for p in entry.parts)})")
    kept = [k for f in part.files for k in f.kept if k[0].endswith(suffix)]
    if len(kept) != 1:
        raise CatalogError(f"{ref}: the catalog lists {len(kept)} {suffix} files, not one")
    name, size, sha = kept[0]
    return PinnedFile(ref, model, part_id, name, size, sha)


def copy_sha256(path: os.PathLike, pin: PinnedFile, root: Optional[os.PathLike] = None,
                catalog: Optional[Catalog] = None) -> str:
    """The SHA-256 of ``path``, a copy of ``pin``'s file (OSError when unreadable).

    The store's copy of an installed, verified model is the pin itself (nothing read);
    any other copy is hashed once per size and mtime."""
    path = Path(path)
    store_copy = pin.store_path(root)
    if _same_file(path, store_copy):
        if installed_model_dir(pin.model, root, catalog=catalog) is not None:
            return pin.sha256
        key, memo = f"{pin.part}/{pin.name}", model_path(pin.model, root) / CACHE_DIR / MEMO
    else:
        key, memo = str(path.resolve()), models_dir(root) / ".cache" / MEMO
    return remembered_sha256({key: path}, memo)[key]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False
