"""Writing files so that a failed write never replaces a good one."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

log = logging.getLogger(__name__)


def temp_sibling(path: Path, default_suffix: str) -> Path:
    """A unique sibling of `path` (same folder, hence same file system for os.replace)."""
    return path.with_name(f"{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix or default_suffix}")


def remove_quietly(*paths: Path) -> None:
    """Delete what exists of `paths`; a file that cannot be deleted is logged, not raised."""
    for p in paths:
        try:
            Path(p).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove temporary file %s: %s", p, exc)
