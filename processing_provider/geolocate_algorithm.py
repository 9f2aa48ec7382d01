"""Processing algorithm geodecoder:geolocate_photos.

``qgis_process run geodecoder:geolocate_photos -- INPUT=folder OUTPUT=out.gpkg`` is the
shortest call: the model defaults to the installed default bundle, every other output
is optional.  Skipped photos are reported (``reportError`` with fatalError=False) and the
run goes on; a missing model or no photo at all is a QgsProcessingException whose
message says what to do.
"""

from __future__ import annotations

import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
)

from ..inference.styles import style_path
from ..ui.i18n import tr
from ..ui.run_pipeline import (
    NoModelError,
    predict_photos,
    resolve_bundle_path,
    run_info,
)
from .feature_rows import qgs_fields, to_feature, wkb_type

DEVICE_KEYS = ("auto", "cpu", "gpu")
PREDICT_SHARE = 85.0
_POST_PROCESSORS: dict = {}  # QGIS keeps no reference of its own: keep them alive here


def output_file(destination: str) -> str:
    """The file an output is written to, for ``photo_relpath`` (relative to its folder);
    a memory or database output gets paths relative to the working folder."""
    path = (destination or "").split("|")[0]
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), "output")


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applies the shipped QML (renderer, map tip) to an output loaded into the project."""

    def __init__(self, style_name: str):
        super().__init__()
        self.style_name = style_name

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS's name
        qml = style_path(self.style_name)
        if qml.is_file():
            layer.loadNamedStyle(str(qml))
            layer.triggerRepaint()


class GeolocatePhotosAlgorithm(QgsProcessingAlgorithm):
    INPUT, PHOTOS, MODEL = "INPUT", "PHOTOS", "MODEL"
    DEVICE, TOP_K, BATCH_SIZE = "DEVICE", "TOP_K", "BATCH_SIZE"
    OUTPUT, CANDIDATES, CELLS, REGIONS = "OUTPUT", "CANDIDATES", "CELLS", "REGIONS"

    def name(self) -> str:
        return "geolocate_photos"

    def displayName(self) -> str:  # noqa: N802
        return tr("Geolocate photos")

    def group(self) -> str:
        return tr("Geolocation")

    def groupId(self) -> str:  # noqa: N802
        return "geolocation"

    def shortHelpString(self) -> str:  # noqa: N802
        return tr("Estimates where each photo was taken (no GPS needed) with a GeoDecoder "
                  "model, offline. INPUT is a folder searched recursively (or one photo); "
                  "PHOTOS adds single files. Outputs: the predicted point per photo with "
                  "its confidence and place name, the top-k candidates, the top cells of "
                  "every hierarchy level and the 50%/90% credible regions. Photos that "
                  "cannot be read are reported in the log and skipped.")

    def createInstance(self):  # noqa: N802
        return GeolocatePhotosAlgorithm()

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, tr("Folder of photos (searched recursively) or one photo"),
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.PHOTOS, tr("Photo files"), QgsProcessing.TypeFile, optional=True))
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL, tr("Model bundle folder (empty: the default model)"),
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.DEVICE, tr("Device"), options=[tr("Auto (GPU if available)"), tr("CPU"),
                                               tr("GPU")], defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TOP_K, tr("Top-k candidates per photo"), QgsProcessingParameterNumber.Integer,
            defaultValue=5, minValue=1, maxValue=50))
        batch = QgsProcessingParameterNumber(
            self.BATCH_SIZE, tr("Batch size"), QgsProcessingParameterNumber.Integer,
            defaultValue=8, minValue=1, maxValue=512)
        batch.setFlags(batch.flags() | batch.FlagAdvanced)
        self.addParameter(batch)
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, tr("Predicted locations"), QgsProcessing.TypeVectorPoint))
        for name, title, kind in (
                (self.CANDIDATES, tr("Top-k candidates"), QgsProcessing.TypeVectorPoint),
                (self.CELLS, tr("Cells of every level"), QgsProcessing.TypeVectorPolygon),
                (self.REGIONS, tr("Credible regions (50% / 90%)"),
                 QgsProcessing.TypeVectorPolygon)):
            self.addParameter(QgsProcessingParameterFeatureSink(
                name, title, kind, optional=True, createByDefault=True))

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

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        photos = self._photos(parameters, context)
        try:
            bundle_path = resolve_bundle_path(
                self.parameterAsFile(parameters, self.MODEL, context) or None)
        except NoModelError as exc:
            raise QgsProcessingException(str(exc)) from exc
        device = DEVICE_KEYS[self.parameterAsEnum(parameters, self.DEVICE, context)]

        def report(record):
            if getattr(record, "reason", None) is not None:
                feedback.reportError(tr("Skipped {path}: {reason}").format(
                    path=record.path, reason=record.reason), False)

        try:
            run = predict_photos(
                photos, bundle_path, device=device,
                batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
                top_k=self.parameterAsInt(parameters, self.TOP_K, context),
                progress=lambda done, total: feedback.setProgress(
                    PREDICT_SHARE * done / max(total, 1)),
                should_stop=feedback.isCanceled, on_record=report)
        except RuntimeError as exc:  # ModelBundleError, an unavailable device
            raise QgsProcessingException(str(exc)) from exc
        if run is None:
            return {}
        feedback.pushInfo(tr("{n} photo(s) geolocated, {f} skipped, on {device}").format(
            n=len(run.predictions), f=len(run.failures), device=run.device_used))
        return self._write_outputs(run, parameters, context, feedback)

    def _write_outputs(self, run, parameters, context, feedback) -> dict:
        from ..inference import schema

        levels = run.bundle.cells.num_levels
        out_path = output_file(self.parameterAsOutputLayer(parameters, self.OUTPUT, context))
        regions = schema.photo_regions(run.predictions)
        outputs = (
            (self.OUTPUT, schema.PREDICTIONS, schema.prediction_fields(levels), "Point",
             lambda: schema.prediction_rows(run.predictions, out_path, run_info(run),
                                            regions=regions)),
            (self.CANDIDATES, schema.CANDIDATES, schema.CANDIDATE_FIELDS, "Point",
             lambda: schema.candidate_rows(run.predictions)),
            (self.CELLS, schema.cells_layer(0), schema.CELL_FIELDS, "MultiPolygon",
             lambda: [row for h in range(levels)
                      for row in schema.cell_rows(run.predictions, run.bundle.cells, h)]),
            (self.REGIONS, schema.REGIONS, schema.REGION_FIELDS, "MultiPolygon",
             lambda: schema.region_rows(run.predictions, regions=regions)),
        )
        results = {}
        crs = QgsCoordinateReferenceSystem("EPSG:4326")
        for step, (key, style, field_defs, geometry, make_rows) in enumerate(outputs):
            if feedback.isCanceled():
                break
            fields = qgs_fields(field_defs)
            sink, dest_id = self.parameterAsSink(parameters, key, context, fields,
                                                 wkb_type(geometry), crs)
            if sink is None:
                continue  # an optional output the user switched off
            types = {f.name: f.type for f in field_defs}
            for row in make_rows():
                sink.addFeature(to_feature(row, fields, types, geometry == "MultiPolygon"),
                                QgsFeatureSink.FastInsert)
            results[key] = dest_id
            self._style_on_load(context, dest_id, style)
            feedback.setProgress(PREDICT_SHARE + (100 - PREDICT_SHARE) * (step + 1) / 4)
        return results

    @staticmethod
    def _style_on_load(context, dest_id: str, style: str) -> None:
        if context.willLoadLayerOnCompletion(dest_id):
            processor = StylePostProcessor(style)
            _POST_PROCESSORS[dest_id] = processor
            context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(processor)
