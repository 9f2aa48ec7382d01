"""Where the bundled default model lives, when one ships with the plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

PLUGIN_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUNDLE_DIR = PLUGIN_ROOT / "resources" / "models" / "default"
SAMPLES_DIR = PLUGIN_ROOT / "resources" / "samples"


def default_bundle_path() -> Optional[Path]:
    """The default bundle folder, or None while no trained default model ships."""
    return DEFAULT_BUNDLE_DIR if (DEFAULT_BUNDLE_DIR / "config.json").is_file() else None


NO_DEFAULT_MODEL = (
    "no default model is installed (resources/models/default/ is missing: the plugin ships "
    "one, so reinstall it, or rebuild it with 'make default-model' where ../shared/data is).\n"
    "  Or train one from your own geotagged photos:\n"
    "    python -m inference train --photos YOUR_PHOTOS/ --out my-model/\n"
    "  or make an untrained bundle to check the install (its answers mean nothing):\n"
    "    python -m inference cells build COORDS.csv --out cells.json\n"
    "    python -m inference bundle init --cells cells.json --out untrained-model/\n"
    "  then pass --model my-model/ (make demo MODEL=my-model/)")
