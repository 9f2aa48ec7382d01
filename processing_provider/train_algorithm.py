"""Processing algorithm geodecoder:train_model: a model bundle from geotagged photos.

Until a default model ships, this is how a user gets one: point it at a folder of
their own photos whose EXIF holds GPS (a region they work on), and it trains the
engine's GeoDecoder (``inference.training.train.train_from_photos``) into a bundle folder that
the dock and ``geolocate_photos`` take as MODEL.  Backbone features are cached, so a
second run on the same photos is fast; a cancelled run keeps its checkpoint next to the
bundle folder (``<OUTPUT>.checkpoint``), and RESUME continues from it when the same
photos, output folder and options are given again.
"""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..services.i18n import tr
from ..services.run.params import DEVICES, device_labels
from ..services.run.pipeline import check_engine_packages
from .base_algorithm import GeoDecoderAlgorithm

DEVICE_KEYS = DEVICES
# The fewest geotagged photos the engine trains on with its default settings: it holds
# 10 % back to check the model (at least 1), and it builds cells from the rest only from
# 10 photos on (inference.modeling.cells.default_ladder; below that every photo of a region falls
# in one cell and training stops with "cannot build cells").  Checked against the engine
# by tests/test_plugin_processing.py.
MIN_TRAINING_PHOTOS = 11


def count_geotagged(folder: str, enough: int) -> tuple[int, int]:
    """(photos with an EXIF GPS position, photos without one) in `folder`, reading EXIF
    headers only until `enough` geotagged ones are found."""
    from ..inference.prediction.photos import find_photos, read_exif_gps, register_heif

    paths, _missing = find_photos(folder)
    register_heif()
    with_gps = without = 0
    for path in paths:
        if read_exif_gps(path) is not None:
            with_gps += 1
            if with_gps >= enough:
                break
        else:
            without += 1
    return with_gps, without


def too_few_photos_message(folder: str, with_gps: int, without: int) -> str:
    return tr("Training needs at least {need} photos with a GPS position in their EXIF "
              "({train} to learn from and 1 to check the model on), spread over more than "
              "one place; {folder} has {n}{others}. Add geotagged photos and run again."
              ).format(need=MIN_TRAINING_PHOTOS, train=MIN_TRAINING_PHOTOS - 1,
                       folder=folder, n=with_gps,
                       others=tr(" (and {m} photo(s) without GPS, which cannot be used)")
                       .format(m=without) if without else "")


def metrics_text(validation: dict) -> str:
    """One line per validation row, e.g. 'model: acc_25km 0.31, ...'."""
    lines = []
    for name, metrics in (validation or {}).items():
        if isinstance(metrics, dict):
            values = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in metrics.items())
            lines.append(f"{name}: {values}")
    return "\n".join(lines)


class TrainModelAlgorithm(GeoDecoderAlgorithm):
    INPUT, OUTPUT, NAME, EPOCHS, DEVICE = "INPUT", "OUTPUT", "NAME", "EPOCHS", "DEVICE"
    BATCH_SIZE, WIDTH, CACHE, RESUME = "BATCH_SIZE", "WIDTH", "CACHE", "RESUME"
    ALGORITHM_ID = "train_model"
    DISPLAY_NAME = "Train geolocation model from geotagged photos"
    HELP = ("Trains a GeoDecoder model bundle from a folder of photos whose EXIF "
            "holds GPS (searched recursively; photos without GPS are listed and "
            "skipped; at least {need} are needed). The bundle folder is then the MODEL of "
            "\"Geolocate photos\". "
            "A model knows only the places its photos cover. Its card (MODEL.md) "
            "records the data, the hardware and the validation accuracy. A cancelled "
            "run keeps its last epoch in <bundle folder>.checkpoint: run again with "
            "the same photos, bundle folder and options and \"Resume\" checked to "
            "continue from it. Device: GPU means CUDA, else Apple MPS.")

    def shortHelpString(self) -> str:  # noqa: N802
        return super().shortHelpString().format(need=MIN_TRAINING_PHOTOS)

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, tr("Folder of geotagged photos"),
            behavior=QgsProcessingParameterFile.Folder))
        self.addParameter(QgsProcessingParameterString(
            self.NAME, tr("Model name"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.EPOCHS, tr("Epochs (0: automatic)"), QgsProcessingParameterNumber.Integer,
            defaultValue=0, minValue=0, maxValue=1000))
        self.addParameter(QgsProcessingParameterEnum(
            self.DEVICE, tr("Device"), options=device_labels(), defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.RESUME, tr("Resume from the checkpoint of an earlier, cancelled run (same "
                            "photos, bundle folder and options)"), defaultValue=False))
        advanced = [
            QgsProcessingParameterNumber(self.BATCH_SIZE, tr("Batch size"),
                                         QgsProcessingParameterNumber.Integer, defaultValue=64,
                                         minValue=1, maxValue=4096),
            QgsProcessingParameterNumber(self.WIDTH, tr("Decoder width (0: the default)"),
                                         QgsProcessingParameterNumber.Integer, defaultValue=0,
                                         minValue=0, maxValue=2048),
            QgsProcessingParameterFile(self.CACHE, tr("Feature cache folder"),
                                       behavior=QgsProcessingParameterFile.Folder,
                                       optional=True),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | parameter.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT, tr("Model bundle folder")))

    def _options(self, parameters, context) -> dict:
        options = {"device": DEVICE_KEYS[self.parameterAsEnum(parameters, self.DEVICE, context)],
                   "batch_size": self.parameterAsInt(parameters, self.BATCH_SIZE, context),
                   "quiet": True}
        name = self.parameterAsString(parameters, self.NAME, context).strip()
        if name:
            options["name"] = name
        epochs = self.parameterAsInt(parameters, self.EPOCHS, context)
        if epochs > 0:
            options["epochs"] = epochs
        width = self.parameterAsInt(parameters, self.WIDTH, context)
        if width > 0:
            options["model"] = {"width": width}
        cache = self.parameterAsFile(parameters, self.CACHE, context)
        if cache:
            options["cache_dir"] = cache
        if self.parameterAsBoolean(parameters, self.RESUME, context):
            options["resume"] = True
        return options

    def expected(self) -> tuple:
        """Missing or broken packages (RuntimeError, ImportError), the engine's
        TrainError (a RuntimeError) and bad options (ValueError), OSError (disk full, an
        unreadable folder, no permission on the bundle folder...): their message."""
        return (RuntimeError, ValueError, ImportError, OSError)

    def process(self, parameters, context, feedback) -> dict:
        photos = self.parameterAsFile(parameters, self.INPUT, context)
        out_dir = self.parameterAsString(parameters, self.OUTPUT, context)
        check_engine_packages()
        from ..inference.training.train import train_from_photos
        with_gps, without = count_geotagged(photos, MIN_TRAINING_PHOTOS)
        if with_gps < MIN_TRAINING_PHOTOS:  # say it now, with the number, not after a scan
            raise QgsProcessingException(too_few_photos_message(photos, with_gps, without))

        def progress(fraction: float, message: str) -> None:
            feedback.setProgress(100.0 * fraction)
            if message:
                feedback.setProgressText(message)

        result = train_from_photos(photos, out_dir, progress=progress,
                                   should_stop=feedback.isCanceled,
                                   **self._options(parameters, context))
        for path, reason in result.skipped:
            feedback.reportError(tr("Skipped {path}: {reason}").format(path=path, reason=reason),
                                 False)
        if result.cancelled or result.bundle_dir is None:
            feedback.pushInfo(tr("Cancelled: no bundle written; the checkpoint in {folder} "
                                 "lets a later run resume (check \"Resume\" and give the "
                                 "same photos, bundle folder and options).").format(
                                     folder=result.checkpoint_dir))
            return {}
        feedback.pushInfo(tr("Trained on {n} photos ({v} held out for validation), best "
                             "epoch {e}:").format(n=result.n_train, v=result.n_val,
                                                   e=result.best_epoch))
        feedback.pushInfo(metrics_text(result.validation))
        return {self.OUTPUT: str(result.bundle_dir)}
