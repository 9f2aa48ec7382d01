"""Processing algorithm geodecoder:geolocate_photos.

``qgis_process run geodecoder:geolocate_photos -- INPUT=folder RUN=case.gpkg`` writes
the whole run as the dock does: one GeoPackage with every layer, its styles and its facts,
which "Open run..." (or a drop on QGIS) brings back as it was made.  The sinks (OUTPUT,
CANDIDATES, ...) are the layers one by one, for the modeler and for a dialog's temporary
layers; a file given as OUTPUT holds the predictions only.  The model defaults to the
installed default bundle, every other output is optional.  Skipped photos are reported
(``reportError`` with fatalError=False) and the run goes on; a missing model, a broken
bundle, a device that is not there or no photo at all is a QgsProcessingException whose
message says what to do
(``services.errors.expected_errors``); anything else (a torch error, a bug) goes up
as it is, and Processing shows it with its traceback.

The sinks are fed chunk by chunk as predictions arrive (``PredictionStream.run`` into
a ``SinkWriter``):
no list of every prediction is kept, so memory stays flat however many photos.  A
cancel (checked between batches, chunks and every few hundred features) and a sink
that refuses a feature both raise QgsProcessingException: Processing then reports a
failed run instead of loading partial outputs as if complete.

Loaded into a project, the outputs look as the dock's: the same layer names, styles
and defaults (candidates off), and the cells output -- one table with a ``level``
field, handy in the modeler -- shown as one layer per level in a "Cells" group, the
finest shaded by probability and on, the coarser ones light and off
(``post_processors``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from ..inference.outputs.writer import RunWriter
from ..services.run import pipeline as run_pipeline
from ..services.i18n import tr
from ..services.run.params import DEVICES, device_labels
from ..services.errors import NoModelError
from ..services.run.model_choice import AUTO, DEFAULT, GEOCLIP, choice_labels, model_path_for
from ..services.run.pipeline import PredictionStream, run_geopackage_writer
from .base_algorithm import GeoDecoderAlgorithm
from .constraint_parameters import add_constraint_parameters, constraints_from_parameters
from .track_parameters import add_track_parameters, track_from_parameters
from .feature_rows import qgs_fields, to_feature, wkb_type
from .post_processors import CellsPostProcessor, StylePostProcessor

DEVICE_KEYS = DEVICES
MODEL_CHOICES = (AUTO, GEOCLIP, DEFAULT)  # MODEL_CHOICE's options; MODEL (a folder) wins
PREDICT_SHARE = 99.0  # predicting and writing go together; the last percent: the end
CANCEL_CHECK_EVERY = 200  # features between two cancel checks


def output_file(destination: str) -> str:
    """The file an output is written to, for ``photo_relpath`` (relative to its folder);
    a memory or database output gets paths relative to the working folder."""
    path = (destination or "").split("|")[0]
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), "output")


def cancelled_error() -> QgsProcessingException:
    return QgsProcessingException(tr("Cancelled: the outputs are incomplete and were not "
                                     "loaded."))


def add_features(sink, features, name: str, feedback, written: int = 0) -> int:
    """Add `features` to `sink`, checking the cancel every CANCEL_CHECK_EVERY features;
    a refused feature raises with the sink's own error.  Returns the running count."""
    for feature in features:
        if written % CANCEL_CHECK_EVERY == 0 and feedback is not None \
                and feedback.isCanceled():
            raise cancelled_error()
        if not sink.addFeature(feature, QgsFeatureSink.FastInsert):
            error = (sink.lastError() if hasattr(sink, "lastError") else "") \
                or tr("no reason given")
            raise QgsProcessingException(tr("Could not write a feature to {output}: "
                                             "{error}").format(output=name, error=error))
        written += 1
    return written


@dataclass
class _Output:
    """One feature sink and how to turn a chunk of predictions into its rows."""

    key: str
    name: str
    sink: object
    dest_id: str
    fields: object
    types: dict
    multipolygon: bool
    rows: Callable  # (predictions, regions, places) -> rows
    written: int = 0


class SinkWriter(RunWriter):
    """The algorithm's feature sinks as one writer of the engine's run: each chunk is
    turned into features as it arrives; nothing keeps the predictions."""

    def __init__(self, outputs: list, feedback):
        self.outputs, self.feedback = outputs, feedback

    def add(self, predictions, failures=(), *, regions, places=None) -> None:
        for out in self.outputs:
            out.written = add_features(
                out.sink, (to_feature(row, out.fields, out.types, out.multipolygon)
                           for row in out.rows(predictions, regions, places)),
                out.name, self.feedback, out.written)

    def commit(self, run=None) -> dict:
        return {out.key: out.dest_id for out in self.outputs}

    def abort(self) -> None:
        """Nothing to undo: Processing drops the outputs of an algorithm that raised."""


class GeolocatePhotosAlgorithm(GeoDecoderAlgorithm):
    INPUT, PHOTOS, MODEL, MODEL_CHOICE = "INPUT", "PHOTOS", "MODEL", "MODEL_CHOICE"
    DEVICE, TOP_K, BATCH_SIZE = "DEVICE", "TOP_K", "BATCH_SIZE"
    OUTPUT, CANDIDATES, CELLS, REGIONS = "OUTPUT", "CANDIDATES", "CELLS", "REGIONS"
    COUNTRIES, EXCLUDE_COUNTRIES = "COUNTRIES", "EXCLUDE_COUNTRIES"
    AREA, EXCLUDE_AREA = "AREA", "EXCLUDE_AREA"
    SUN_TIME, SUN_ELEVATION, SUN_TOLERANCE = "SUN_TIME", "SUN_ELEVATION", "SUN_TOLERANCE"
    SHADOW_HEIGHT, SHADOW_LENGTH = "SHADOW_HEIGHT", "SHADOW_LENGTH"
    CONSTRAINTS = "CONSTRAINTS"
    RUN = "RUN"
    ALGORITHM_ID = "geolocate_photos"
    DISPLAY_NAME = "Geolocate photos"
    HELP = ("Estimates where each photo was taken (no GPS needed) with a GeoDecoder "
            "model, offline. INPUT is a folder searched recursively (or one photo); "
            "PHOTOS adds single files. Outputs: the predicted point per photo with "
            "its confidence and place name, the top-k candidates, the top cells of "
            "every hierarchy level and the 50%/90% credible regions. Photos that "
            "cannot be read are reported in the log and skipped. Device: GPU means "
            "CUDA, else Apple MPS; the device used is written in the log and in "
            "the device field. Constraints (optional) reweight the answer: keep "
            "only or exclude countries (ISO codes or English names, comma "
            "separated) and polygon layers (\"selected features only\" works), "
            "and the sun: the photo's UTC time (ISO 8601 with its zone, e.g. "
            "2024-06-01T14:10:00Z) with the sun's elevation, or an object's height "
            "and its shadow's length, keeps the band of places where the sun stood "
            "that high. The predictions then say how much probability the "
            "constraints removed and what the model's own best cell was.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, tr("Folder of photos (searched recursively) or one photo"),
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.PHOTOS, tr("Photo files"), QgsProcessing.TypeFile, optional=True))
        labels = choice_labels()
        self.addParameter(QgsProcessingParameterEnum(
            self.MODEL_CHOICE, tr("Model"), options=[labels[c] for c in MODEL_CHOICES],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL, model_parameter_title(),
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.DEVICE, tr("Device"), options=device_labels(), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TOP_K, tr("Top-k candidates per photo"), QgsProcessingParameterNumber.Integer,
            defaultValue=5, minValue=1, maxValue=50))
        batch = QgsProcessingParameterNumber(
            self.BATCH_SIZE, tr("Batch size"), QgsProcessingParameterNumber.Integer,
            defaultValue=8, minValue=1, maxValue=512)
        batch.setFlags(batch.flags() | batch.FlagAdvanced)
        self.addParameter(batch)
        add_constraint_parameters(self)
        add_track_parameters(self)
        # the names of the dock's layers (services/run/layers.py)
        # optional, so that ``RUN=case.gpkg`` alone is a complete call (the README's);
        # the dialog still creates it by default
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, tr("Predictions"), QgsProcessing.TypeVectorPoint,
            optional=True, createByDefault=True))
        for name, title, kind in (
                (self.CANDIDATES, tr("Candidates"), QgsProcessing.TypeVectorPoint),
                (self.CELLS, tr("Cells (every level; loaded as one layer per level)"),
                 QgsProcessing.TypeVectorPolygon),
                (self.REGIONS, tr("Regions (50% / 90%)"), QgsProcessing.TypeVectorPolygon)):
            self.addParameter(QgsProcessingParameterFeatureSink(
                name, title, kind, optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.CONSTRAINTS, tr("Constraints applied"), QgsProcessing.TypeVectorPolygon,
            optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.RUN, tr("Whole run as one GeoPackage (opens with \"Open run...\")"),
            fileFilter=tr("GeoPackage (*.gpkg)"), optional=True, createByDefault=False))

    # ---------------------------------------------------------------- running
    def _photos(self, parameters, context) -> list[str]:
        photos = []
        folder = self.parameterAsFile(parameters, self.INPUT, context)
        if folder:
            photos.append(folder)
        photos += [p for p in self.parameterAsFileList(parameters, self.PHOTOS, context) if p]
        if not photos:
            raise QgsProcessingException(tr("Give a folder of photos (INPUT) or photo files "
                                            "(PHOTOS)."))
        missing = [p for p in photos if not os.path.exists(p)]
        if missing:
            raise QgsProcessingException(tr("Not found: {paths}").format(
                paths=", ".join(missing)))
        return photos

    def _nothing_written(self, parameters) -> str:
        """The reason a call would write nothing (no RUN and no layer output), else ""."""
        if any(parameters.get(key) for key in (self.RUN, self.OUTPUT, self.CANDIDATES,
                                               self.CELLS, self.REGIONS)):
            return ""
        return tr("Nothing would be written: give RUN=case.gpkg (the whole run, which "
                  "\"Open run...\" opens) or OUTPUT for the predictions layer.")

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """No model given and none installed, or nothing to write: say so before the run
        starts (the dialog shows this message instead of running into it)."""
        nothing = self._nothing_written(parameters)
        if nothing:
            return False, nothing
        try:
            self._model_path(parameters, context)
        except NoModelError as exc:
            return False, str(exc)
        return super().checkParameterValues(parameters, context)

    def _model_path(self, parameters, context) -> str:
        """MODEL when given, else the MODEL_CHOICE (services/run/model_choice.py: GeoCLIP
        once downloaded, else the default); NoModelError when that model is not there."""
        folder = self.parameterAsFile(parameters, self.MODEL, context) or None
        index = self.parameterAsEnum(parameters, self.MODEL_CHOICE, context)
        choice = MODEL_CHOICES[index] if 0 <= index < len(MODEL_CHOICES) else AUTO
        return model_path_for(choice, folder)

    def process(self, parameters, context, feedback) -> dict:
        self._post_processors = []  # attached during this run, applied when it loads
        try:
            return self._geolocate(parameters, context, feedback)
        except BaseException:
            for processor in self._post_processors:  # Processing loads no output of a
                processor.release()  # failed run: nothing will apply them
            raise
        finally:
            self._post_processors = []

    def _geolocate(self, parameters, context, feedback) -> dict:
        photos = self._photos(parameters, context)
        nothing = self._nothing_written(parameters)
        if nothing:
            raise QgsProcessingException(nothing)
        bundle_path = self._model_path(parameters, context)  # NoModelError: expected
        device = DEVICE_KEYS[self.parameterAsEnum(parameters, self.DEVICE, context)]
        constraints = constraints_from_parameters(self, parameters, context)
        for line in constraints.describe():
            feedback.pushInfo(tr("Constraint: {line}").format(line=line))
        # a broken bundle, missing packages, no such device, constraints that leave no
        # place: expected errors that end the run here, before any output is opened
        stream = PredictionStream(
            photos, bundle_path, device=device,
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            top_k=self.parameterAsInt(parameters, self.TOP_K, context),
            constraints=constraints,
            track=track_from_parameters(self, parameters, context))
        feedback.pushInfo(tr("Model {model}; device used: {device}").format(
            model=stream.bundle.label, device=stream.device_used))
        if stream.placer is not None:
            for line in stream.placer.warnings:
                feedback.pushWarning(tr("Track: {line}").format(line=line))
            counts = stream.placer.preview()
            feedback.pushInfo(tr("Track: {exif} photo(s) with EXIF GPS, {track} placed by "
                                 "time, {model} by the model").format(**counts))
        outputs = self._open_sinks(stream, parameters, context)
        writers = [SinkWriter(outputs, feedback)]
        run_file = self.parameterAsFileOutput(parameters, self.RUN, context)
        if run_file:  # the dock's file: every layer, styles and facts (Open run...)
            writers.append(run_geopackage_writer(run_file, stream))

        def report(record):
            if getattr(record, "reason", None) is not None:
                feedback.reportError(tr("Skipped {path}: {reason}").format(
                    path=record.path, reason=record.reason), False)

        def progress(done, total):
            feedback.setProgress(PREDICT_SHARE * done / max(total, 1))

        # no photo at all (NothingToDo) or a file error: expected errors
        result = stream.run(writers, progress, feedback.isCanceled, report)
        if result.cancelled:
            raise cancelled_error()
        outputs += self._write_constraints(stream, parameters, context, feedback)
        feedback.setProgress(100)
        feedback.pushInfo(tr("{n} photo(s) geolocated, {f} skipped, on {device}").format(
            n=stream.n_predicted, f=stream.n_failed, device=stream.device_used))
        results = {out.key: out.dest_id for out in outputs}
        if run_file:
            results[self.RUN] = run_file
        return results

    def _write_constraints(self, stream, parameters, context, feedback) -> list[_Output]:
        """The CONSTRAINTS output, when asked for: one feature per constraint."""
        from ..inference.outputs import schema

        fields = qgs_fields(schema.CONSTRAINT_FIELDS)
        sink, dest_id = self.parameterAsSink(parameters, self.CONSTRAINTS, context, fields,
                                             wkb_type("MultiPolygon"),
                                             QgsCoordinateReferenceSystem("EPSG:4326"))
        if sink is None:
            return []
        types = {f.name: f.type for f in schema.CONSTRAINT_FIELDS}
        name = self.parameterDefinition(self.CONSTRAINTS).description()
        add_features(sink, (to_feature(row, fields, types, True)
                            for row in schema.constraint_rows(stream.constraints)),
                     name, feedback)
        return [_Output(self.CONSTRAINTS, name, sink, dest_id, fields, types, True,
                        lambda *_: [])]

    def _open_sinks(self, stream: PredictionStream, parameters, context) -> list[_Output]:
        """Every requested output's sink, opened before the first chunk."""
        from ..inference.outputs import schema

        levels, cells = stream.num_levels, stream.bundle.cells
        info = stream.run_info()
        # photo_relpath is relative to the predictions file, known once its sink is open
        # (asking parameterAsOutputLayer for it would register a second, never written
        # "memory:Predictions" layer to load: "not correctly generated")
        where = {}
        specs = (
            (self.OUTPUT, schema.prediction_fields(levels), "Point",
             lambda preds, regions, places: schema.prediction_rows(
                 preds, where["out"], info, regions=regions, places=places),
             StylePostProcessor(schema.PREDICTIONS, tr("Predictions"),
                                scene_names=stream.scene_names)),
            (self.CANDIDATES, schema.CANDIDATE_FIELDS, "Point",
             lambda preds, _regions, _places: schema.candidate_rows(preds),
             StylePostProcessor(schema.CANDIDATES, tr("Candidates"), visible=False)),
            (self.CELLS, schema.CELL_FIELDS, "MultiPolygon",
             lambda preds, _regions, _places: [row for h in range(levels)
                                               for row in schema.cell_rows(preds, cells, h)],
             CellsPostProcessor()),
            (self.REGIONS, schema.REGION_FIELDS, "MultiPolygon",
             lambda preds, regions, _places: schema.region_rows(preds, regions=regions),
             StylePostProcessor(schema.REGIONS, tr("Regions (50% / 90%)"))),
        )
        crs = QgsCoordinateReferenceSystem("EPSG:4326")
        outputs = []
        for key, field_defs, geometry, rows, processor in specs:
            fields = qgs_fields(field_defs)
            sink, dest_id = self.parameterAsSink(parameters, key, context, fields,
                                                 wkb_type(geometry), crs)
            if sink is None:
                continue  # an optional output the user switched off
            if key == self.OUTPUT:
                where["out"] = output_file(dest_id)
            outputs.append(_Output(key, self.parameterDefinition(key).description(), sink,
                                   dest_id, fields, {f.name: f.type for f in field_defs},
                                   geometry == "MultiPolygon", rows))
            if processor.attach(context, dest_id):
                self._post_processors.append(processor)
        return outputs


def model_parameter_title() -> str:
    """Says what an empty MODEL means here: the model chosen above, or nothing at all."""
    if run_pipeline.geoclip_store() is not None:
        return tr("Model bundle folder (empty: the model chosen above)")
    if run_pipeline.default_bundle_path() is not None:
        return tr("Model bundle folder (empty: the default model)")
    return tr("Model bundle folder (required: no default model is installed)")

