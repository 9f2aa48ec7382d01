"""The catalog of models that users download once: what each is made of, where its files
come from, how large they are, their SHA-256, their licence and their limits.

It is a data file (``resources/models/catalog.json``) rather than code so that the
command line, the dock and the tests read one description, and a reviewer sees every
pin in one place.  ``GEODECODER_MODELS_CATALOG`` (or ``load_catalog(path)``) names
another file: tests serve small files from 127.0.0.1 under a catalog of their own.

Every file is pinned by size and SHA-256; a source revision or version says where the
bytes were published, the hash says which bytes are accepted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote

PLUGIN_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = PLUGIN_ROOT / "resources" / "models" / "catalog.json"
CATALOG_ENV = "GEODECODER_MODELS_CATALOG"
HF_ENV = "GEODECODER_HF_ENDPOINT"
PYPI_ENV = "GEODECODER_PYPI_URL"
DEFAULT_HF = "https://huggingface.co"
DEFAULT_PYPI = "https://pypi.org/simple"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or describes something unsafe."""


@dataclass(frozen=True)
class Member:
    """A file kept from inside an archive (a wheel), at the same relative path."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class CatalogFile:
    """One file to fetch.  Either `url` (a pattern, expanded by ``url_for``) or `index`
    (a PEP 503 simple index page holding a link named `name`).  With `extract`, the file
    is an archive of which only those members are kept."""

    name: str
    size: int
    sha256: str
    url: Optional[str] = None
    index: Optional[str] = None
    extract: tuple[Member, ...] = ()

    @property
    def kept(self) -> tuple[tuple[str, int, str], ...]:
        """(relative path in the part folder, size, sha256) of what stays in the store."""
        if self.extract:
            return tuple((m.path, m.size, m.sha256) for m in self.extract)
        return ((self.name, self.size, self.sha256),)


@dataclass(frozen=True)
class Part:
    """One source of a model (a Hub repository at a revision, a PyPI package at a
    version), stored in its own folder ``<model>/<id>/``."""

    id: str
    title: str
    source: dict
    licence: str
    card: str
    files: tuple[CatalogFile, ...]

    @property
    def source_text(self) -> str:
        s = self.source
        if s.get("type") == "huggingface":
            return f"Hugging Face {s['repository']} at revision {s['revision']}"
        if s.get("type") == "pypi":
            return f"PyPI {s['package']}=={s['version']}"
        return str(s)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    title: str
    summary: str
    homepage: str
    licence: str
    limits: tuple[str, ...]
    accuracy: dict
    parts: tuple[Part, ...]

    @property
    def download_bytes(self) -> int:
        return sum(f.size for p in self.parts for f in p.files)

    @property
    def stored_bytes(self) -> int:
        """Bytes in the store once installed (archives are not kept, their members are)."""
        return sum(size for p in self.parts for f in p.files for _path, size, _h in f.kept)

    def accuracy_text(self) -> str:
        a = self.accuracy
        if not a:
            return ""
        pct = " / ".join(f"{v:g}" for v in a["percent"])
        km = " / ".join(f"{v:g}" for v in a["km"])
        return f"{a['benchmark']}: {pct} % within {km} km ({a['source']})"


@dataclass(frozen=True)
class Catalog:
    path: Path
    models: dict[str, ModelEntry]
    notes: tuple[str, ...] = ()

    def get(self, name: str) -> ModelEntry:
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise CatalogError(f"no model named {name!r} in the catalog (known: {known})") \
                from None


def catalog_path(path: Optional[os.PathLike] = None) -> Path:
    if path is not None:
        return Path(path)
    return Path(os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG)


def load_catalog(path: Optional[os.PathLike] = None) -> Catalog:
    """The catalog at `path`, else ``$GEODECODER_MODELS_CATALOG``, else the shipped one.
    Every name that becomes a file or folder is checked to be a plain name (and every
    archive member a relative path without ``..``) before anything is fetched."""
    where = catalog_path(path)
    try:
        doc = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError(f"the model catalog {where} cannot be read ({exc})") from exc
    try:
        models = {name: _entry(name, body) for name, body in doc["models"].items()}
    except (KeyError, TypeError) as exc:
        raise CatalogError(f"the model catalog {where} lacks {exc}") from exc
    return Catalog(where, models, tuple(doc.get("notes", ())))


def _entry(name: str, body: dict) -> ModelEntry:
    _plain(name)
    parts = tuple(_part(p) for p in body["parts"])
    if len({p.id for p in parts}) != len(parts):
        raise CatalogError(f"model {name}: two parts share an id")
    return ModelEntry(name=name, title=body.get("title", name), summary=body.get("summary", ""),
                      homepage=body.get("homepage", ""), licence=body["licence"],
                      limits=tuple(body.get("limits", ())), accuracy=body.get("accuracy", {}),
                      parts=parts)


def _part(body: dict) -> Part:
    return Part(id=_plain(body["id"]), title=body.get("title", body["id"]),
                source=dict(body["source"]), licence=body["licence"], card=body.get("card", ""),
                files=tuple(_file(f) for f in body["files"]))


def _file(body: dict) -> CatalogFile:
    extract = tuple(Member(_relative(m["member"]), int(m["size"]), _hex(m["sha256"]))
                    for m in body.get("extract", ()))
    f = CatalogFile(name=_plain(body["name"]), size=int(body["size"]),
                    sha256=_hex(body["sha256"]), url=body.get("url"), index=body.get("index"),
                    extract=extract)
    if (f.url is None) == (f.index is None):
        raise CatalogError(f"{f.name}: give exactly one of url and index")
    return f


def _plain(name: str) -> str:
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or name in (".", ".."):
        raise CatalogError(f"{name!r} is not a plain file name")
    return name


def _relative(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise CatalogError(f"archive member {path!r} is not a plain relative path")
    for p in parts:
        _plain(p)
    return path


def _hex(value: str) -> str:
    value = str(value).lower()
    if not _HEX64.match(value):
        raise CatalogError(f"{value!r} is not a SHA-256 in hex")
    return value


def endpoints() -> dict[str, str]:
    """Base URLs, overridable for mirrors (and for tests): the Hub and a simple index."""
    return {"hf_endpoint": (os.environ.get(HF_ENV) or DEFAULT_HF).rstrip("/"),
            "pypi_simple": (os.environ.get(PYPI_ENV) or DEFAULT_PYPI).rstrip("/")}


def _fill(pattern: str, part: Part, f: CatalogFile) -> str:
    values = {k: quote(str(v), safe="/") for k, v in part.source.items()}
    values.update(endpoints())
    values["name"] = quote(f.name)
    return pattern.format(**values)


def url_for(part: Part, f: CatalogFile) -> Optional[str]:
    """The file's direct URL, or None when it must be looked up in an index."""
    return _fill(f.url, part, f) if f.url else None


def index_for(part: Part, f: CatalogFile) -> Optional[str]:
    return _fill(f.index, part, f) if f.index else None
