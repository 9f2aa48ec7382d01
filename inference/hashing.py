"""SHA-256 of files, read in chunks: photos (evidence), weights and checkpoints.

Large files that are checked on every load (the 1.7 GB CLIP tower) are hashed once:
``remembered_sha256`` keeps each digest in a small JSON memo beside the file's stamp
(``file_stamp``) taken with it, and hashes the file again when the stamp changed.  The
stamp holds the inode and the status-change time besides size and mtime: ``cp -p``,
``rsync -a`` or ``touch -r`` can give another file the same size and mtime, but not the
same ctime (no tool sets it) on the same inode.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Mapping

log = logging.getLogger(__name__)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex digest; raises OSError when the file cannot be read."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


STAMP_KEYS = ("size", "mtime_ns", "ctime_ns", "ino")


def file_stamp(st: os.stat_result) -> dict:
    """What must be unchanged for a remembered digest to still hold."""
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            "ino": st.st_ino}


def same_stamp(record: Mapping, st: os.stat_result) -> bool:
    """``record`` (a memo entry, an installed.json file entry) was taken of this very
    file as it is now; records without the full stamp (older versions) never match."""
    stamp = file_stamp(st)
    return all(record.get(key) == stamp[key] for key in STAMP_KEYS)


def remembered_sha256(files: Mapping[str, os.PathLike], memo_path: os.PathLike) -> dict:
    """{name: SHA-256} of ``files`` ({name: path}), read from the JSON memo at
    ``memo_path`` when a file's stamp (``file_stamp``) is the one recorded with its
    digest, else hashed and recorded.  The memo is ``{name: {**stamp, "sha256"}}``; one
    that cannot be read counts as empty, one that cannot be written is only a warning
    (the next load hashes again).  Raises OSError when a file cannot be read."""
    memo_path = Path(memo_path)
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    if not isinstance(memo, dict):
        memo = {}
    out, changed = {}, False
    for name, path in files.items():
        st = os.stat(path)
        seen = memo.get(name)
        if isinstance(seen, dict) and same_stamp(seen, st) and seen.get("sha256"):
            out[name] = seen["sha256"]
            continue
        out[name] = sha256_file(path)
        memo[name] = {**file_stamp(st), "sha256": out[name]}
        changed = True
    if changed:
        try:
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = memo_path.with_name(memo_path.name + ".tmp")
            tmp.write_text(json.dumps(memo, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            os.replace(tmp, memo_path)
        except OSError as exc:
            log.warning("cannot remember file hashes in %s: %s", memo_path, exc)
    return out
