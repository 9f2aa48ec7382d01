"""The dock's choices, remembered between QGIS sessions with QgsSettings."""

from __future__ import annotations

from dataclasses import dataclass, fields

from qgis.core import QgsSettings

PREFIX = "geodecoder/"


@dataclass
class DockSettings:
    bundle_path: str = ""  # the bundle folder of the "A model bundle folder" choice
    model_choice: str = "auto"  # services/run/model_choice.py; auto: GeoCLIP once downloaded
    device: str = "auto"
    top_k: int = 5
    batch_size: int = 8
    attention: bool = True
    last_folder: str = ""
    output_path: str = ""
    runs_dir: str = ""  # "" = services/run/runs_folder.default_runs_dir()
    last_run_folder: str = ""  # where the last run was saved or opened from
    basemap: str = "world"
    models_dir: str = ""  # "" = $GEODECODER_MODELS_DIR or the per-user default

    @classmethod
    def load(cls) -> DockSettings:
        store = QgsSettings()
        values = {}
        for f in fields(cls):
            default = f.default
            raw = store.value(PREFIX + f.name, default)
            values[f.name] = _coerce(raw, default)
        return cls(**values)

    def save(self) -> None:
        store = QgsSettings()
        for f in fields(self):
            store.setValue(PREFIX + f.name, getattr(self, f.name))


def _coerce(raw, default):
    """QSettings hands back strings from some back-ends ("true", "5"); restore the type
    of `default`, falling back to it for a value that does not parse."""
    kind = type(default)
    if kind is bool:
        return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
    if kind is int:
        try:
            return int(raw)
        except (TypeError, ValueError):
            return default
    return "" if raw is None else str(raw)
