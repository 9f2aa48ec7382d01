"""The plugin's one door into the engine: photos -> Prediction records -> GeoPackage.

Shared by the dock's QgsTask and the Processing algorithm, so both run the engine the
same way and write the same schema with the same writer as the command line.  No Qt
widgets here (Processing runs it in qgis_process, without a GUI), and the engine is
imported inside the functions: importing this module never imports torch.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional, Sequence

from .i18n import tr
from .native_libs import import_with_own_libraries

log = logging.getLogger(__name__)
PLUGIN_ROOT = Path(__file__).resolve().parent.parent


class NoModelError(RuntimeError):
    """No model given and no default model installed; the message says what to do."""


class MissingPackagesError(RuntimeError):
    """The engine's Python packages are not all installed; the message names them."""


def check_engine_packages(requirements=None) -> None:
    """Raise MissingPackagesError naming what is missing (before torch fails to import
    with a traceback deep inside the engine)."""
    from .dependencies import REQUIREMENTS, missing_requirements

    missing = missing_requirements(REQUIREMENTS if requirements is None else requirements)
    if missing:
        raise MissingPackagesError(
            tr("Missing Python packages: {names}. Open the GeoDecoder panel (Plugins menu) "
               "and click Install, or pip-install them into QGIS's Python.").format(
                names=", ".join(r.module for r in missing)))


def no_model_message() -> str:
    return tr("No default model installed — train one (Processing: Train geolocation model "
              "from geotagged photos) or browse to a bundle")


def default_bundle_path() -> Optional[str]:
    """The default bundle folder, or None while none ships (cheap: no torch import)."""
    from ..inference.defaults import default_bundle_path as engine_default

    path = engine_default()
    return None if path is None else str(path)


def resolve_bundle_path(path: Optional[str]) -> str:
    """`path` if given, else the default bundle; NoModelError when there is neither."""
    if path:
        return str(path)
    default = default_bundle_path()
    if default is None:
        raise NoModelError(no_model_message())
    return default


@dataclass
class PredictionRun:
    """Records of one run plus what produced them (for RunInfo and the dock)."""

    predictions: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    bundle: object = None  # inference.bundle.ModelBundle
    device_used: str = ""
    started: str = ""
    seconds: float = 0.0


def predict_photos(photos: Sequence[str], bundle_path: Optional[str], device: str = "auto",
                   batch_size: int = 8, top_k: int = 5, attention: bool = False,
                   progress: Optional[Callable[[int, int], None]] = None,
                   should_stop: Optional[Callable[[], bool]] = None,
                   on_record: Optional[Callable[[object], None]] = None
                   ) -> Optional[PredictionRun]:
    """Run the Predictor over `photos` (files or folders); None when `should_stop` ended
    the run early.  Raises NoModelError, ModelBundleError or RuntimeError (device)."""
    check_engine_packages()
    import_with_own_libraries()
    from ..inference.predict import Predictor
    from ..inference.records import PhotoFailure

    predictor = Predictor(resolve_bundle_path(bundle_path), device=device,
                          batch_size=batch_size, top_k=top_k, attention=attention)
    run = PredictionRun(bundle=predictor.bundle, device_used=predictor.device_used,
                        started=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    t0 = time.perf_counter()
    for record in predictor.run(list(photos), progress=progress, should_stop=should_stop):
        (run.failures if isinstance(record, PhotoFailure) else run.predictions).append(record)
        if on_record is not None:
            on_record(record)
    run.seconds = time.perf_counter() - t0
    if should_stop is not None and should_stop():
        return None
    return run


def run_info(run: PredictionRun):
    """The engine's RunInfo for `run` (model, device, timing), as the command line makes it."""
    from ..inference.schema import RunInfo

    bundle = run.bundle
    return RunInfo(model_name=bundle.info.name, model_version=bundle.info.model_version,
                   weights_sha256=bundle.weights_sha256, bundle_path=str(bundle.path),
                   device=run.device_used, started=run.started, seconds=run.seconds,
                   untrained=bundle.info.untrained, extra=(("written_by", "QGIS plugin"),))


def shipped_styles() -> dict[str, str]:
    from ..inference.styles import shipped_styles as engine_styles
    return engine_styles()


def applicable_styles(num_levels: int) -> dict[str, str]:
    from ..inference.styles import applicable_styles as engine_applicable
    return engine_applicable(num_levels)


def write_run(path, run: PredictionRun,
              is_cancelled: Optional[Callable[[], bool]] = None) -> Path:
    """Write every layer of `run` to the GeoPackage `path`, atomically, styles included."""
    from ..inference.gpkg import write_geopackage

    cells = run.bundle.cells
    return write_geopackage(os.fspath(path), run.predictions, run.failures, cells,
                            run_info(run), styles=applicable_styles(cells.num_levels),
                            is_cancelled=is_cancelled)
