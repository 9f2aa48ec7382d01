"""Processing algorithm geodecoder:case_report: a PDF per photo of a run, headless.

``qgis_process run geodecoder:case_report -- INPUT=run.gpkg OUTPUT=reports/`` writes the
reports of every geolocated photo of the run (``services.case_report.report``).  It runs in
Processing's background thread like any algorithm: the reports' layouts render into
private projects made in that thread, never the user's layers.  A GeoPackage that is
not a run is a QgsProcessingException that says so, and a photo that has gone missing
still gets its report, which says it is missing.  A photo whose report cannot be
written is reported (an error line per photo, FAILED counts them) and the others are
still written; a report name shortened to fit a file name is said too.
"""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
)

from ..services.i18n import tr
from .base_algorithm import GeoDecoderAlgorithm


class CaseReportAlgorithm(GeoDecoderAlgorithm):
    INPUT, ATTENTION, OUTPUT, REPORTS, FAILED = ("INPUT", "ATTENTION", "OUTPUT", "REPORTS",
                                                 "FAILED")
    ALGORITHM_ID = "case_report"
    DISPLAY_NAME = "Write case report"
    HELP = ("Writes a PDF case report per photo of a GeoDecoder run (INPUT: the run's "
            "GeoPackage) into the OUTPUT folder: the map of the credible regions and "
            "top candidates over QGIS's offline world map, the photo and where the "
            "model looked (recomputed when the run's model weights are here), the "
            "candidates, the EXIF facts and the EXIF-versus-prediction check, the "
            "constraints, every parameter of the run and the chain of custody: the "
            "photo's SHA-256 computed again from the file and compared with the "
            "run's, the model's weights SHA-256 and the plugin version.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, tr("Run GeoPackage"), extension="gpkg"))
        self.addParameter(QgsProcessingParameterBoolean(
            self.ATTENTION, tr("Show where the model looked (runs the model again, on the "
                               "CPU)"), defaultValue=True))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT, tr("Folder for the PDF reports")))
        self.addOutput(QgsProcessingOutputNumber(self.REPORTS, tr("Reports written")))
        self.addOutput(QgsProcessingOutputNumber(self.FAILED,
                                                 tr("Reports that could not be written")))

    def expected(self) -> tuple:
        """A GeoPackage that is not a run, or one that cannot be read: its message."""
        from ..services.case_report.facts import CaseReportError

        return (CaseReportError,)

    def process(self, parameters, context, feedback) -> dict:
        # here, not at the top: QGIS imports the provider at start-up, the engine waits
        from ..services.case_report.report import write_case_reports

        gpkg = self.parameterAsFile(parameters, self.INPUT, context)
        folder = self.parameterAsString(parameters, self.OUTPUT, context)
        attention = self.parameterAsBool(parameters, self.ATTENTION, context)

        def progress(done: int, total: int) -> None:
            feedback.setProgress(100.0 * done / max(total, 1))

        result = write_case_reports(gpkg, folder, attention=attention, progress=progress,
                                    should_stop=feedback.isCanceled)
        for _photo, pdf in result.written:
            feedback.pushInfo(tr("Wrote {pdf}").format(pdf=pdf))
        for photo, pdf in result.shortened:
            feedback.pushInfo(tr("The report of {photo} has a shortened name: {pdf}").format(
                photo=photo, pdf=pdf))
        for photo, why in result.failed:
            feedback.reportError(tr("No report for {photo}: {why}").format(photo=photo,
                                                                          why=why))
        if feedback.isCanceled():
            raise QgsProcessingException(tr("Cancelled after {n} report(s).").format(
                n=len(result.written)))
        return {self.OUTPUT: result.out_dir, self.REPORTS: len(result.written),
                self.FAILED: len(result.failed)}
