"""The QGIS plugin object: a toolbar/menu action toggling the dock, and the provider.

``initProcessing`` registers the Processing provider (``qgis_process`` calls only this,
without an iface); ``initGui`` calls it too and adds the action.  The dock, the run
service and everything that touches the engine are created the first time the dock is
shown, so QGIS start-up costs nothing more than this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, Qt, QTranslator
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .services.i18n import tr

PLUGIN_DIR = Path(__file__).resolve().parent
ICON_PATH = PLUGIN_DIR / "resources" / "icon.svg"
MENU = "&GeoDecoder"


class GeoDecoderPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action: Optional[QAction] = None
        self.dock = None
        self.service = None
        self.pick_tool = None  # Pick on map (a QgsMapToolEmitPoint: run/stacks.py)
        self.pick_layer_id = None  # the Predictions layer it picks from
        self.drop_handler = None  # opens a run's GeoPackage dropped on QGIS
        self.exporter = None  # Export run…: runs the export tasks
        self.reporter = None  # Case report…: runs the report tasks
        self.translator: Optional[QTranslator] = None

    # -------------------------------------------------------------- Processing
    def initProcessing(self):  # noqa: N802 - QGIS's name
        from .processing_provider.provider import GeoDecoderProvider

        if self.provider is None:
            self.provider = GeoDecoderProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    # --------------------------------------------------------------------- GUI
    def initGui(self):  # noqa: N802 - QGIS's name
        self.install_translator()
        self.initProcessing()
        self.action = QAction(QIcon(str(ICON_PATH)), tr("Geolocate photos"),
                              self.iface.mainWindow())
        self.action.setObjectName("geodecoderShowDock")
        self.action.setCheckable(True)
        self.action.setToolTip(tr("Show the GeoDecoder panel: where were these photos taken?"))
        self.action.toggled.connect(self.set_dock_visible)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToMenu(tr(MENU), self.action)
        from .ui.run_drop import RunDropHandler

        self.drop_handler = RunDropHandler(self.open_run)  # a run dropped on QGIS
        self.iface.registerCustomDropHandler(self.drop_handler)

    def install_translator(self) -> None:
        """i18n/geodecoder_<lang>.qm for the user's QGIS locale, when one ships."""
        locale = str(QgsSettings().value("locale/userLocale", "") or "")[:2]
        qm = PLUGIN_DIR / "i18n" / f"geodecoder_{locale}.qm"
        if locale and qm.is_file():
            translator = QTranslator()
            if translator.load(str(qm)):
                QCoreApplication.installTranslator(translator)
                self.translator = translator

    def set_dock_visible(self, visible: bool) -> None:
        if visible:
            self.ensure_dock().show()
        elif self.dock is not None:
            self.dock.hide()

    def ensure_dock(self):
        """Create the dock and its run service once, and wire them together."""
        if self.dock is not None:
            return self.dock
        from .services.run.service import GeolocateService
        from .ui.dock import GeolocateDock

        service = GeolocateService(self.iface)
        dock = GeolocateDock(self.iface.mainWindow(),
                             attention_lookup=service.results.attention_for,
                             canvas=self.iface.mapCanvas())
        self._wire(dock, service)
        dock.visibilityChanged.connect(self._sync_action)
        self.iface.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.dock, self.service = dock, service
        return dock

    def _wire(self, dock, service) -> None:
        """Dock requests -> service; service progress and results -> dock."""
        from .services.run.basemap import BasemapError, add_basemap
        from .services.run.service import describe_outcome

        dock.runRequested.connect(service.start)
        dock.cancelRequested.connect(self._cancel)
        dock.keepRequested.connect(service.stop_and_keep)
        service.runStarted.connect(dock.run_started)
        service.progressChanged.connect(dock.set_progress)
        service.countChanged.connect(dock.set_count)
        service.deviceResolved.connect(dock.options.set_device_used)
        service.photoDone.connect(dock.photo_done)
        service.runFinished.connect(lambda outcome, _layers: dock.run_saved(outcome.gpkg_path))
        service.runFinished.connect(
            lambda outcome, _layers: dock.run_ended(describe_outcome(outcome),
                                                    outcome.device_used, finished=True))
        service.runFailed.connect(lambda message: dock.run_ended(
            tr("The run failed: {message}").format(message=message)))
        service.runCancelled.connect(lambda: dock.run_ended(tr("Cancelled: nothing was added.")))
        service.results.resultSelected.connect(dock.show_result)
        service.results.resultCleared.connect(dock.clear_result)

        dock.openRunRequested.connect(self.open_run)
        dock.exportRunRequested.connect(self.export_run)
        from .services.run.export import RunExporter

        self.exporter = RunExporter()
        self.exporter.exportFinished.connect(lambda outcome: dock.status.setText(
            outcome.message))
        dock.photoChosen.connect(lambda path: path and service.results.show_photo(path))
        service.project.layersWillBeRemoved.connect(self._pick_layer_removed)

        def basemap(kind: str) -> None:
            try:
                add_basemap(kind)
            except BasemapError as exc:
                dock.status.setText(str(exc))

        dock.basemapRequested.connect(basemap)
        dock.pickRequested.connect(self.set_pick_tool)
        dock.caseReportRequested.connect(self.write_case_reports)
        from .services.case_report.task import CaseReporter

        self.reporter = CaseReporter()
        self.reporter.reportProgress.connect(self._report_progress)
        self.reporter.reportFinished.connect(self._report_finished)

    def write_case_reports(self, folder: str):
        """Case report… : a PDF per selected photo of the shown run (every photo when none
        is selected) in `folder`, written by a background task (the dock's progress bar
        and status follow it, its Cancel stops it); returns the task, or None when there
        is nothing to start."""
        dock = self.ensure_dock()
        if self.reporter.task is not None:
            dock.status.setText(tr("Case reports are still being written: wait for them "
                                   "or cancel."))
            return None
        if self.service.task is not None:
            dock.status.setText(tr("A geolocation is running: write the case reports when "
                                   "it has ended."))
            return None
        target = self.service.results.report_target()
        if target is None:
            dock.status.setText(tr("No run to report on: run the geolocation or open a run."))
            return None
        from .services.case_report.task import progress_text

        total = len(target[1]) if target[1] is not None else None
        task = self.reporter.start(target[0], folder, target[1])
        dock.progress.setValue(0)
        dock.cancel_button.setEnabled(True)  # cancels the reports (no run is going)
        dock.run_button.setEnabled(False)
        dock.report_button.setEnabled(False)
        dock.status.setText(progress_text(0, total) if total else
                            tr("Writing case reports…"))
        return task

    def _report_progress(self, done: int, total: int) -> None:
        from .services.case_report.task import progress_text

        if self.dock is not None:
            self.dock.progress.setValue(int(100 * done / max(total, 1)))
            self.dock.status.setText(progress_text(done, total))

    def _report_finished(self, outcome) -> None:
        if self.dock is not None:
            self.dock.report_button.setEnabled(True)
            self.dock.run_ended(outcome.message)  # the Cancel button off, Run as it was

    def _cancel(self) -> None:
        """The dock's Cancel: the reports being written, else the geolocation."""
        if self.reporter is not None and self.reporter.task is not None:
            self.reporter.cancel()
        elif self.service is not None:
            self.service.cancel()

    def open_run(self, path: str) -> bool:
        """A saved run (Open run… or a GeoPackage dropped on QGIS) added as a run, its
        first result in the dock, which is shown; False, with the reason, if refused."""
        dock = self.ensure_dock()
        if self.action is not None:
            self.action.setChecked(True)  # shows the dock
        try:
            layers = self.service.results.open_run(path)
        except ValueError as exc:
            dock.status.setText(str(exc))
            return False
        dock.run_opened(path)
        dock.status.setText(tr("Opened {name}: {n} prediction(s).").format(
            name=layers.group.name(), n=layers.predictions.featureCount()))
        return True

    def export_run(self):
        """Export run…: the dock's current run (or a run GeoPackage the user picks) to a
        KML, KMZ or GeoJSON the user names, in the background; returns the task, or None
        when there is nothing to do (cancelled, or an export still running)."""
        import os

        from .services.run import export as run_export
        from .ui.export_dialogs import ask_export_target, ask_run_file

        dock = self.ensure_dock()
        if self.exporter.task is not None:
            dock.status.setText(tr("An export is still running: wait for it to end."))
            return None
        source = run_export.current_run_file(self.service.results)
        if source is None:
            source = ask_run_file(dock, dock.runs_start_folder())
            if source is None:
                return None
        target = ask_export_target(dock, run_export.suggested_target(
            source, dock.settings.last_folder))
        if target is None:
            return None
        dock.settings.last_folder = os.path.dirname(target)
        dock.status.setText(tr("Exporting to {path}…").format(path=target))
        return self.exporter.start(source, target)

    def set_pick_tool(self, on: bool) -> None:
        """Pick on map: a map tool on the run's Predictions layer; a click selects the
        prediction, which the service shows in the dock."""
        from qgis.gui import QgsMapToolEmitPoint

        canvas = self.iface.mapCanvas()
        if not on:
            if self.pick_tool is not None:
                canvas.unsetMapTool(self.pick_tool)
            return
        layer = self.service.results.result_layer()
        if layer is None:
            self.dock.pick_button.setChecked(False)
            self.dock.status.setText(tr("No results yet: run the geolocation first."))
            return
        tool = QgsMapToolEmitPoint(canvas)
        tool.canvasClicked.connect(lambda point, _button: self._picked(layer, point))
        tool.deactivated.connect(lambda: self.dock.pick_button.setChecked(False))
        self.pick_tool = tool  # the canvas does not own map tools
        self.pick_layer_id = layer.id()
        canvas.setMapTool(tool)

    def _picked(self, layer, point) -> None:
        """A click with Pick on map: the prediction under it is selected (and shown);
        where several photos lie there (a counted marker), the dock lists them all."""
        from qgis.gui import QgsMapTool

        from .services.run.stacks import pick_radius, stack_at

        canvas = self.iface.mapCanvas()
        radius = pick_radius(canvas, layer, QgsMapTool.searchRadiusMU(canvas))
        stack = stack_at(layer, point, canvas.mapSettings().destinationCrs(), radius,
                         self.service.project)
        if not stack:
            return

        def select(fid: int) -> None:
            layer.removeSelection()  # selecting it again shows it again
            layer.selectByIds([fid])

        self.dock.result_view.show_stack(
            [(f.id(), str(f["file_name"]), str(f["photo_path"])) for f in stack], select)
        select(stack[0].id())

    def _pick_layer_removed(self, layer_ids) -> None:
        """The picked layer leaves the project (or a new project): the tool goes too."""
        if self.pick_tool is not None and self.pick_layer_id in layer_ids:
            self.iface.mapCanvas().unsetMapTool(self.pick_tool)
            self.pick_tool, self.pick_layer_id = None, None
            if self.dock is not None:
                self.dock.pick_button.setChecked(False)

    def _sync_action(self, visible: bool) -> None:
        if self.action is not None and self.action.isChecked() != visible:
            self.action.blockSignals(True)
            self.action.setChecked(visible)
            self.action.blockSignals(False)

    # ------------------------------------------------------------------ unload
    def unload(self):
        if self.drop_handler is not None:
            self.iface.unregisterCustomDropHandler(self.drop_handler)
            self.drop_handler = None
        if self.pick_tool is not None:
            self.iface.mapCanvas().unsetMapTool(self.pick_tool)
            self.pick_tool = None
        if self.exporter is not None:  # a running export ends on its own, unheard
            self.exporter.exportFinished.disconnect()
            self.exporter.cancel()
            self.exporter = None
        if self.reporter is not None:  # reports being written stop, unheard
            self.reporter.reportProgress.disconnect()
            self.reporter.reportFinished.disconnect()
            self.reporter.cancel()
            self.reporter = None
        if self.service is not None:
            try:
                self.service.project.layersWillBeRemoved.disconnect(self._pick_layer_removed)
            except TypeError:
                pass
            self.service.shutdown()
            self.service = None
        if self.dock is not None:
            self.dock.photos.cancel_scans()
            self.dock.clues.close_tools()
            self.dock.models.shutdown()
            self.dock.save_settings()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.action is not None:
            self.iface.removePluginMenu(tr(MENU), self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
