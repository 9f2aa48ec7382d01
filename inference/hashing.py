"""SHA-256 of files, read in chunks: photos (evidence), weights and checkpoints.

Large files that are checked on every load (the 1.7 GB CLIP tower) are hashed once:
``remembered_sha256`` keeps each digest in a small JSON memo beside the size and
modification time it was taken at, and hashes the file again when either changed.
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


def remembered_sha256(files: Mapping[str, os.PathLike], memo_path: os.PathLike) -> dict:
    """{name: SHA-256} of ``files`` ({name: path}), read from the JSON memo at
    ``memo_path`` when a file's size and mtime are those recorded with its digest, else
    hashed and recorded.  The memo is ``{name: {"size", "mtime_ns", "sha256"}}``; one
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
        if (isinstance(seen, dict) and seen.get("size") == st.st_size
                and seen.get("mtime_ns") == st.st_mtime_ns and seen.get("sha256")):
            out[name] = seen["sha256"]
            continue
        out[name] = sha256_file(path)
        memo[name] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": out[name]}
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
