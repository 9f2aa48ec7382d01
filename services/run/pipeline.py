"""The plugin's one door into the engine: photos -> Prediction records -> GeoPackage.

Shared by the dock's QgsTask and the Processing algorithm, so both run the engine the
same way and write the same schema with the same writer as the command line.  No Qt
widgets here (Processing runs it in qgis_process, without a GUI), and the engine is
imported inside the functions: importing this module never imports torch.

Memory stays flat however many photos a run has: ``PredictionStream.run`` is the
engine's one run (``inference.run.run_photos``, chunks of
``inference.run.CHUNK`` photos) into any writers: ``predict_to_geopackage``
gives it the engine's
``GeoPackageWriter`` (temporary file, swapped in at commit), the Processing algorithm a
writer that feeds its sinks.  What the dock keeps per photo is a
``PhotoSummary`` (path, lat, lon, confidence or the failure reason) and, when asked
for, the small attention maps; the details of a clicked result (candidates, cells,
regions) are read back from the run's GeoPackage layers (``result_details``), which
also works for a GeoPackage opened later or sent by a colleague.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..errors import DeviceError, MissingPackagesError, NoModelError
from ..i18n import tr
from ..native_libs import ensure_own_libraries


def check_engine_packages(requirements=None) -> None:
    """Raise MissingPackagesError naming what is missing (before torch fails to import
    with a traceback deep inside the engine)."""
    from ..installer.dependencies import REQUIREMENTS, missing_requirements

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
    from ...inference.modeling.defaults import default_bundle_path as engine_default

    path = engine_default()
    return None if path is None else str(path)


def geoclip_store() -> Optional[str]:
    """The downloaded GeoCLIP's folder (the models folder the dock set, or QGIS's
    ``GEODECODER_MODELS_DIR``) when all its files are there, else None (cheap: stats)."""
    from ...inference.geoclip.choice import installed_store

    folder = installed_store()
    return None if folder is None else str(folder)


def resolve_bundle_path(path: Optional[str]) -> str:
    """`path` if given; else GeoCLIP once it is downloaded (issue 17: the strong model
    answers unless the user picks another), else the default bundle; NoModelError when
    there is none of them."""
    if path:
        return str(path)
    strong = geoclip_store()
    if strong is not None:
        return strong
    default = default_bundle_path()
    if default is None:
        raise NoModelError(no_model_message())
    return default


@dataclass(frozen=True)
class PhotoSummary:
    """What the dock keeps of one photo once its chunk is written."""

    path: str
    ok: bool
    lat: Optional[float] = None
    lon: Optional[float] = None
    confidence: Optional[float] = None
    reason: str = ""  # why it failed (empty when ok)

    @classmethod
    def of(cls, record) -> PhotoSummary:
        reason = getattr(record, "reason", None)
        if reason is not None:
            return cls(record.path, False, reason=str(reason))
        return cls(record.path, True, float(record.lat), float(record.lon),
                   float(record.confidence))


class PredictionStream:
    """The Predictor over `photos` (files or folders), read chunk by chunk.

    Building it loads the model and picks the device (``device_used`` is known from
    then on); raises NoModelError, MissingPackagesError, DeviceError or the engine's
    ModelBundleError (``errors.expected_errors``).  Nothing here keeps a record once
    its chunk is handed on.
    """

    def __init__(self, photos: Sequence[str], bundle_path: Optional[str],
                 device: str = "auto", batch_size: int = 8, top_k: int = 5,
                 attention: bool = False, constraints=None, track=None):
        """``track``: the engine's TrackOptions (prediction/placing.py); the photos' EXIF
        is read here, before the model runs, when it asks for a track."""
        check_engine_packages()
        ensure_own_libraries()  # a no-op off the main thread: the caller did it there
        from ...inference.prediction.devices import resolve_device

        from ...inference.prediction.predict import Predictor

        try:
            resolve_device(device)
        except RuntimeError as exc:  # the engine's words: which device, what to choose
            raise DeviceError(str(exc)) from exc
        self.photos = list(photos)
        self.device_requested = device
        # constraints that leave no cell raise the engine's ConstraintError here, before
        # any output is opened (errors.expected_errors)
        path = resolve_bundle_path(bundle_path)
        self.model_facts: tuple[tuple[str, str], ...] = ()  # GeoCLIP's, recorded per run
        geoclip = _geoclip_folder(path)
        if geoclip is not None:
            self.predictor, self.model_facts = _geoclip_predictor(
                geoclip, device, batch_size, top_k, constraints)
        else:
            self.predictor = Predictor(path, device=device, batch_size=batch_size,
                                       top_k=top_k, attention=attention,
                                       constraints=constraints)
        self.constraints = self.predictor.constraints
        self.bundle = self.predictor.bundle
        self.device_used = self.predictor.device_used
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.seconds = 0.0
        self.result = None  # the engine's RunResult once a run returned
        self.placer = None
        if track is not None and track.wanted:
            from ...inference.prediction.placing import Placer

            self.placer = Placer.build(track, self.photos)

    @property
    def n_predicted(self) -> int:
        return self.result.predicted if self.result is not None else 0

    @property
    def n_failed(self) -> int:
        return len(self.result.failures) if self.result is not None else 0

    @property
    def num_levels(self) -> int:
        return self.bundle.cells.num_levels

    def run(self, writers, progress: Optional[Callable[[int, int], None]] = None,
            should_stop: Optional[Callable[[], bool]] = None,
            on_record: Optional[Callable[[object], None]] = None,
            on_chunk: Optional[Callable[[object], None]] = None,
            stop_and_keep: Optional[Callable[[], bool]] = None):
        """The engine's one run (``inference.run.run_photos``) into `writers`;
        returns its RunResult (``cancelled`` when `should_stop()` ended it before the
        commit; `stop_and_keep()` ends it early and commits the photos done)."""
        from ...inference.run import run_photos

        t0 = time.perf_counter()
        try:
            self.result = run_photos(self.photos, self.predictor, writers, self.run_info(),
                                     progress=progress, should_stop=should_stop,
                                     on_record=on_record, on_chunk=on_chunk,
                                     placer=self.placer, stop_and_keep=stop_and_keep)
            return self.result
        finally:
            self.seconds = time.perf_counter() - t0

    def run_info(self):
        """The engine's RunInfo (model, device, timing so far), as the command line makes it."""
        from ...inference.outputs.schema import RunInfo

        from ..scenes import SCENE_NAMES_KEY

        # the scene names go with the file, so that its scene codes can be shown as
        # words wherever it is opened (services/scenes.py)
        names = json.dumps(list(self.bundle.info.scene_names))
        return RunInfo.for_bundle(self.bundle, self.device_used, self.started, self.seconds,
                                  extra=(("written_by", "QGIS plugin"),
                                         (SCENE_NAMES_KEY, names), *self.parameters(),
                                         *self.model_facts,
                                         *(self.placer.facts() if self.placer else ())),
                                  constraints=self.constraints)

    def parameters(self) -> tuple[tuple[str, str], ...]:
        """The settings of the run, recorded with it so that a case report (or anyone
        checking the file) can say how it was made."""
        p = self.predictor  # GeoCLIP's has no attention maps, retrieval or ten-crop
        return (("device_requested", self.device_requested), ("top_k", str(p.top_k)),
                ("batch_size", str(p.batch_size)),
                ("attention_maps", str(int(getattr(p, "attention", False)))),
                ("retrieval", str(int(getattr(p, "retrieval", False)))),
                ("ten_crop", str(int(getattr(p, "ten_crop", False)))))

    @property
    def scene_names(self) -> list[str]:
        return list(self.bundle.info.scene_names)


def run_geopackage_writer(path, stream: PredictionStream,
                          should_stop: Optional[Callable[[], bool]] = None):
    """The writer of a run's own GeoPackage (every layer, styles, run facts): what the
    dock writes and "Open run..." reads, whoever runs it (the dock, Processing's RUN)."""
    from ...inference.outputs.gpkg import GeoPackageWriter
    from ...inference.outputs.styles import applicable_styles

    return GeoPackageWriter(os.fspath(path), stream.bundle.cells, stream.run_info(),
                            styles=applicable_styles(stream.num_levels),
                            is_cancelled=should_stop)


def _geoclip_folder(path: str) -> Optional[str]:
    from ...inference.geoclip.choice import store_for

    return store_for(path)


def _geoclip_predictor(folder: str, device: str, batch_size: int, top_k: int, constraints):
    """GeoCLIP's predictor and its run facts, its errors made the plugin's expected ones:
    files missing -> NoModelError (the message names the download), a broken file ->
    the engine's ModelBundleError (as a broken GeoDecoder bundle)."""
    from ...inference.geoclip.choice import (GeoClipLoadError, GeoClipMissing,
                                             open_predictor, run_facts)
    from ...inference.modeling.bundle import ModelBundleError

    try:
        model, predictor = open_predictor(folder, device=device, batch_size=batch_size,
                                          top_k=top_k, constraints=constraints)
    except GeoClipMissing as exc:
        raise NoModelError(tr("{reason}, or use the Model tab's Download").format(
            reason=str(exc))) from exc
    except GeoClipLoadError as exc:
        raise ModelBundleError(str(exc)) from exc
    return predictor, run_facts(model)


def predict_to_geopackage(path, stream: PredictionStream, *,
                          progress: Optional[Callable[[int, int], None]] = None,
                          should_stop: Optional[Callable[[], bool]] = None,
                          on_record: Optional[Callable[[object], None]] = None,
                          stop_and_keep: Optional[Callable[[], bool]] = None
                          ) -> Optional[Path]:
    """Predict `stream` into the GeoPackage `path`, styles included.

    Returns the written path once committed (atomically: a previous file at `path` is
    replaced only then), or None when `should_stop()` ended the run before the commit:
    then no file and no temporary file is left and a previous file is untouched.  A
    cancel that comes after the commit is not seen here: the file is complete.
    `stop_and_keep()` stops early and commits the photos done (a run of those photos).
    """
    writer = run_geopackage_writer(path, stream, should_stop)
    result = stream.run([writer], progress, should_stop, on_record,
                        stop_and_keep=stop_and_keep)
    return None if result.cancelled else result.outputs[0]
