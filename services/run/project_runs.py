"""The runs in a project and what the dock shows of them.

Each run is one layer-tree group read from its GeoPackage (layers.py).  This object
follows every run of the project (this session's, reopened ones, those a saved project
brought): a selected prediction becomes the ``ResultDetails`` the dock shows, the shown
photo's regions are drawn, the map zooms to them, "Why here?" maps are kept per run, and
everything is forgotten when its layers leave the project.  It adds layers only on the
main thread (a finished task hands its outcome over in ``finished()``).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Optional

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCsException,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..i18n import tr
from .basemap import add_basemap_if_none
from .layers import (RunLayers, bring_forward, collapse_other_runs, load_run_layers,
                     runs_in_project,
                     show_photo_in_layers, source_parts)
from .kept_maps import maps_or_reason
from .result_details import ResultDetails, details_for, first_feature_of_photo
from .task import RunOutcome, photo_key

WGS84 = "EPSG:4326"
POINT_ZOOM_DEG = 0.5  # half-size of the view around a prediction without a region


class ProjectRuns(QObject):
    resultSelected = pyqtSignal(object)  # ResultDetails
    resultCleared = pyqtSignal()  # the shown result's run left the project
    runOpened = pyqtSignal(object)  # RunLayers of a saved run added with open_run

    def __init__(self, iface=None, project: Optional[QgsProject] = None,
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.iface = iface
        self.project = project or QgsProject.instance()
        # predictions layer id -> {photo_key(path): numpy (levels, rows, cols)}
        self.attention: dict[str, dict] = {}
        self.runs: dict[str, RunLayers] = {}  # predictions layer id -> the run's layers
        self.shown_run: Optional[str] = None  # predictions layer id of the shown result
        self.basemap = None  # the world map a run added to an otherwise empty project
        self.project.layersWillBeRemoved.connect(self._forget_layers)
        self.project.cleared.connect(self._project_cleared)

    def add_finished(self, outcome: RunOutcome) -> RunLayers:
        """Main thread: a finished run's layers into the project, its "Why here?" maps
        kept; the result shown before belongs to an older run and is cleared."""
        layers = load_run_layers(outcome.gpkg_path, self.project)
        self._add_run(layers, outcome.attention)
        if self.shown_run is not None:  # an older run's result: stale beside the new one
            self.shown_run = None
            self.resultCleared.emit()
        return layers

    def open_run(self, path: str) -> RunLayers:
        """A saved run's GeoPackage added as a fresh run is (one group, same order,
        visibility and styles); its first prediction is shown.  Raises ``ValueError``
        when the file holds no GeoDecoder predictions."""
        path = os.path.abspath(path)
        group_name = tr("GeoDecoder {name}").format(name=Path(path).stem)
        layers = load_run_layers(path, self.project, group_name)
        if layers.predictions is None:
            for layer in layers.all():
                self.project.removeMapLayer(layer.id())
            layers.group.parent().removeChildNode(layers.group)
            raise ValueError(tr("{path} holds no GeoDecoder predictions.").format(path=path))
        self._add_run(layers)
        self.runOpened.emit(layers)
        first = next(layers.predictions.getFeatures(), None)
        if first is not None and first.isValid():
            self.shown_run = layers.predictions.id()
            self.show_result(details_for(first, layers))
        return layers

    def _add_run(self, layers: RunLayers, attention: Optional[dict] = None) -> None:
        """Main thread: follow a run's selection, fold older runs away, add the basemap
        under a first run."""
        if layers.predictions is not None:
            self._follow(layers)
            if attention:
                self.attention[layers.predictions.id()] = attention
            collapse_other_runs(self.project, layers)
        results = {lyr.id() for run in (*self.runs.values(), layers) for lyr in run.all()}
        self.basemap = add_basemap_if_none(self.project, results) or self.basemap

    def show_photo(self, path: str) -> bool:
        """A photo row clicked: its result in the top run of the project that has it is
        selected (and so shown); False when no run of the project holds the photo."""
        path = os.path.abspath(path)
        for layers in runs_in_project(self.project):  # top (latest added) first
            feature = first_feature_of_photo(layers.predictions, path)
            if feature is None:
                continue
            self._follow(layers)
            run = self.runs[layers.predictions.id()]
            run.predictions.removeSelection()  # selecting it again shows it again
            run.predictions.selectByIds([feature.id()])
            return True
        return False

    def _follow(self, layers: RunLayers) -> None:
        """Selecting a prediction of `layers` shows it; runs already in the project
        (reopened with it, or added by an earlier session) are followed when picked."""
        run_id = layers.predictions.id()
        if run_id in self.runs:
            return
        self.runs[run_id] = layers
        layers.predictions.selectionChanged.connect(partial(self._selection_changed, run_id))

    def shutdown(self) -> None:
        """Plugin unload: let go of the project."""
        try:
            self.project.layersWillBeRemoved.disconnect(self._forget_layers)
            self.project.cleared.disconnect(self._project_cleared)
        except TypeError:
            pass
        self.runs.clear()
        self.attention.clear()

    # --------------------------------------------------------------- inspecting
    def attention_for(self, path: str, run_id: Optional[str] = None):
        """The attention maps of `path`: from run `run_id`, else from the run of the
        result shown last, else from the latest run that has them in memory; else read
        from the run's GeoPackage (a reopened run keeps them there), else a sentence
        saying why there are none (kept_maps.py); None when no run is in view."""
        key = photo_key(path)
        order = [run_id] if run_id is not None else [self.shown_run,
                                                      *reversed(list(self.attention))]
        for rid in order:
            maps = self.attention.get(rid, {}).get(key) if rid is not None else None
            if maps is not None:
                return maps
        rid = run_id if run_id is not None else self.shown_run
        layers = self.runs.get(rid) if rid is not None else None
        if layers is None or layers.predictions is None:
            return None
        found = maps_or_reason(source_parts(layers.predictions)[0], path)
        if not isinstance(found, str):  # read once per photo
            self.attention.setdefault(rid, {})[key] = found
        return found

    def _forget_layers(self, layer_ids) -> None:
        """A run's Predictions layer leaves the project: forget the run and its maps."""
        for layer_id in layer_ids:
            self.runs.pop(layer_id, None)
            self.attention.pop(layer_id, None)
            if self.shown_run == layer_id:
                self.shown_run = None
                self.resultCleared.emit()

    def _project_cleared(self) -> None:
        """A new (or another) project: results of the old one are stale."""
        self.runs.clear()
        self.attention.clear()
        self.shown_run = None
        self.basemap = None
        self.resultCleared.emit()

    def _selection_changed(self, layer_id: str, selected, _deselected, _clear) -> None:
        layers = self.runs.get(layer_id)
        if layers is None or not selected:
            return
        feature = layers.predictions.getFeature(selected[0])
        if feature.isValid():
            self.shown_run = layer_id
            self.show_result(details_for(feature, layers))

    def report_target(self) -> Optional[tuple[str, Optional[list[str]]]]:
        """What "Case report…" reports on: the GeoPackage of the shown result's run (else
        the top run of the project) and the photos selected in it (None: every photo);
        None when the project holds no run."""
        layers = self.runs.get(self.shown_run) if self.shown_run else None
        if layers is None:
            in_project = runs_in_project(self.project)
            if not in_project:
                return None
            layers = in_project[0]
        path = source_parts(layers.predictions)[0]
        selected = [str(f["photo_path"]) for f in layers.predictions.selectedFeatures()]
        return path, selected or None

    def result_layer(self):
        """The Predictions layer to pick from (the plugin's pick tool): that of the run
        the active layer belongs to (any run in the project, this session's or not),
        else the top run's of the layer tree (the latest added); None when the project
        holds no run.  Selecting a feature
        of it shows that result (``resultSelected``)."""
        in_project = runs_in_project(self.project)
        for layers in reversed(in_project):  # bottom (oldest) first
            self._follow(layers)
        active = self.iface.activeLayer() if self.iface is not None else None
        if active is not None:
            for layers in in_project:
                if any(lyr.id() == active.id() for lyr in layers.all()):
                    return layers.predictions
        return in_project[0].predictions if in_project else None

    def show_result(self, details: ResultDetails) -> None:
        layers = self.runs.get(self.shown_run) if self.shown_run else None
        if layers is not None:  # the shown photo's regions and cells drawn (first)
            show_photo_in_layers(layers, details.prediction.photo_path)
            bring_forward(self.project, layers)
        self.zoom_to(details)
        self.resultSelected.emit(details)

    def zoom_to(self, details: ResultDetails) -> None:
        canvas = self.iface.mapCanvas() if self.iface is not None else None
        if canvas is None:
            return
        rect, p = details.extent, details.prediction
        if rect is None or rect.isEmpty():
            if not p.has_point:  # no point recorded: nowhere to go, the view stays
                return
            d = POINT_ZOOM_DEG
            rect = QgsRectangle(p.lon - d, p.lat - d, p.lon + d, p.lat + d)
        destination = canvas.mapSettings().destinationCrs()
        if destination.isValid() and destination.authid() != WGS84:
            transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem(WGS84),
                                               destination, self.project)
            try:
                rect = transform.transformBoundingBox(rect)
            except QgsCsException:  # outside the canvas CRS's area: leave the view
                return
        rect.scale(1.2)
        canvas.setExtent(rect)
        canvas.refresh()
