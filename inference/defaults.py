"""Where the bundled default model lives, when one ships with the plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

PLUGIN_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE_DIR = PLUGIN_ROOT / "resources" / "models" / "default"
SAMPLES_DIR = PLUGIN_ROOT / "resources" / "samples"


def default_bundle_path() -> Optional[Path]:
    """The default bundle folder, or None while no trained default model ships."""
    return DEFAULT_BUNDLE_DIR if (DEFAULT_BUNDLE_DIR / "config.json").is_file() else None
