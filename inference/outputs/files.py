"""Writing files so that a failed write never replaces a good one.

Every output is written under a temporary sibling name and renamed onto its target when
complete.  Three things make that hold beyond a single file:

* **Names that say who owns them.**  A temporary file is ``<stem>.<pid>-<host>-<random>
  .tmp<suffix>`` (``run.4711-3fa2c1-9e0d1c5b.tmp.gpkg``; the GeoPackage's value spool is
  ``....tmp.vals``, SQLite's side files add ``-journal`` and so on): the process id and
  a short hash of the host name of the process writing it.  A run killed with
  ``kill -9`` (or a power cut) cannot remove its files; the next run to the same target
  does (``remove_stale_temporaries``), but only files of that naming pattern, for that
  target, written on this host by a process that no longer exists.  A live run's files,
  this process's own, another host's (a shared folder) and anything else in the folder
  are left alone.  Windows: nothing is removed (there is no safe "is this process
  alive" without extra packages); files named before this scheme neither.
* **All outputs or none** (``Publication``).  The writers of a run first *prepare*
  (everything short of the rename), then all renames happen together: each target
  that exists is kept as a backup (a hard link, or a rename where links are not
  supported) before its temporary file replaces it, and when one rename fails the
  earlier ones are undone from those backups, so a CSV that cannot be written no
  longer leaves a GeoPackage already replaced (issue 21.6).
* A folder is never a target: ``os.replace`` onto a folder fails, and it is never moved
  aside as a backup.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

log = logging.getLogger(__name__)

_SIDE_FILES = ("-journal", "-wal", "-shm")  # SQLite's, beside a temporary GeoPackage
_OWNER = r"\.(\d+)-([0-9a-f]{6})-[0-9a-f]{8}\.(tmp|bak)"


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def _owner_tag() -> str:
    return f"{os.getpid()}-{_host_tag()}-{uuid.uuid4().hex[:8]}"


def temp_sibling(path: Path, default_suffix: str) -> Path:
    """A unique sibling of `path` (same folder, hence same file system for os.replace)
    whose name carries this process's id and host (module docstring)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{_owner_tag()}.tmp{path.suffix or default_suffix}")


def _backup_sibling(path: Path) -> Path:
    return path.with_name(f"{path.stem}.{_owner_tag()}.bak{path.suffix}")


def remove_quietly(*paths: Path) -> None:
    """Delete what exists of `paths`; a file that cannot be deleted is logged, not raised."""
    for p in paths:
        try:
            Path(p).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove temporary file %s: %s", p, exc)


def process_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this machine; True when that cannot be told
    (Windows, or an error other than "no such process"): then nothing is removed."""
    if pid == os.getpid():
        return True
    if os.name != "posix" or pid <= 0:
        return True  # on Windows os.kill(pid, 0) would terminate the process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, another user's
        return True
    return True


def remove_stale_temporaries(path, suffixes: Iterable[str]) -> list[Path]:
    """Remove the temporary files of target `path` (one per suffix in `suffixes`: the
    target's own, the GeoPackage's ``.vals`` spool...) that runs killed before they could
    clean up left behind: only names of this module's pattern for that very target
    (nested ones too: a scratch GeoPackage's own temporary files), written on this host by
    processes that are all gone.  A stale backup (``.bak``, a commit killed half-way) is
    put back when its target is missing, else removed.  Returns what was removed or put
    back; never raises (a file that cannot be removed is logged)."""
    path = Path(os.path.abspath(os.fspath(path)))
    folder, host = path.parent, _host_tag()
    ends = "|".join(re.escape(s) for s in sorted(set(suffixes)))
    pattern = re.compile(rf"{re.escape(path.stem)}((?:{_OWNER})+)({ends})"
                         rf"({'|'.join(_SIDE_FILES)})?")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    handled = []
    for name in sorted(names):
        match = pattern.fullmatch(name)
        if match is None:
            continue
        owners = re.findall(_OWNER, match.group(1))
        if any(h != host or process_alive(int(pid)) for pid, h, _ in owners):
            continue
        stale = folder / name
        if owners[-1][2] == "bak" and not match.group(6) and not os.path.lexists(path):
            try:
                os.replace(stale, path)
                log.warning("put back %s from %s (a run was killed while committing)",
                            path, stale)
                handled.append(stale)
            except OSError as exc:
                log.warning("could not put back %s from %s: %s", path, stale, exc)
            continue
        try:
            if not stale.is_dir():
                stale.unlink()
                handled.append(stale)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove stale temporary file %s: %s", stale, exc)
    return handled


@dataclass(frozen=True)
class Staged:
    """What a writer's ``prepare`` leaves: the renames that make its output final, and
    what its ``commit`` returns (where the output went)."""

    renames: tuple[tuple[Path, Path], ...]  # (temporary file, target), in order
    result: Any


class Publication:
    """Temporary files moved onto their targets together: all of them, or none.

    ``publish()`` renames in order, keeping each target that existed as a backup; when a
    rename fails, the ones before it are undone (the backups put back, a target that did
    not exist removed) and the error propagates.  After a successful publish the caller
    either ``finish()``es (the backups go) or ``rollback()``s (a later step failed).
    """

    def __init__(self, renames: Sequence[tuple[Path, Path]]):
        self.renames = [(Path(t), Path(d)) for t, d in renames]
        self._done: list[tuple[Path, Path | None]] = []  # (target, its backup or None)

    def publish(self) -> None:
        try:
            for tmp, target in self.renames:
                backup = _keep(target)
                try:
                    os.replace(tmp, target)
                except BaseException:
                    if backup is not None:
                        _put_back(backup, target)
                    raise
                self._done.append((target, backup))
        except BaseException:
            self.rollback()
            raise

    def rollback(self) -> None:
        """Undo the renames done so far; errors are logged (the first error is the
        one the caller reports)."""
        while self._done:
            target, backup = self._done.pop()
            if backup is not None:
                _put_back(backup, target)
            else:
                remove_quietly(target)

    def finish(self) -> None:
        """The new files stay: remove the backups."""
        remove_quietly(*(b for _, b in self._done if b is not None))
        self._done.clear()


def _keep(target: Path) -> Path | None:
    """A backup of `target` beside it (None when there is no file there): a hard link,
    so the target stays in place until replaced, else (file systems without links) the
    target renamed aside.  A folder is not moved: ``os.replace`` onto it fails next."""
    if not os.path.lexists(target) or os.path.isdir(target):
        return None
    backup = _backup_sibling(target)
    try:
        os.link(target, backup, follow_symlinks=False)
    except OSError:
        os.replace(target, backup)
    return backup


def _put_back(backup: Path, target: Path) -> None:
    try:
        os.replace(backup, target)
    except OSError as exc:
        log.error("could not put %s back from %s: %s", target, backup, exc)


def publish_together(renames: Sequence[tuple[Path, Path]]) -> None:
    """Publish `renames` all together or not at all (``Publication``), backups removed."""
    publication = Publication(renames)
    publication.publish()
    publication.finish()
