"""Runs you can reopen and compare (issue 11): "Open run…" adds a saved GeoPackage as a
fresh run is added (group, order, visibility, styles) and shows its result; picking
works on any run of the project; older runs fold away; a new project clears the dock."""

from __future__ import annotations

import os

import pytest
from qgis.core import (
    QgsCoordinateTransformContext,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtWidgets import QFileDialog

from tests.test_plugin_fixtures import (  # noqa: F401
    import_plugin,
    photo_folder,
    pick_on_map,
    spin_until,
)

geodecoder = import_plugin()
from geodecoder.services.run import layers as run_layers, pipeline as run_pipeline  # noqa: E402
from geodecoder.services.run.layers import is_run_file  # noqa: E402
from geodecoder.ui.dock import TAB_RESULT  # noqa: E402

SHOTS = os.environ.get("GEODECODER_SHOTS")  # a folder to keep the dock's picture in


@pytest.fixture(scope="module")
def saved_runs(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    """Two saved runs, as earlier sessions left them."""
    out = []
    for name, photos in (("older", photo_folder[1]["good"][:2]),
                         ("newer", photo_folder[1]["good"][2:5])):
        stream = run_pipeline.PredictionStream(photos, str(tiny_bundle_dir), device="cpu",
                                               top_k=3)
        path = tmp_path_factory.mktemp(name) / f"{name}.gpkg"
        out.append(str(run_pipeline.predict_to_geopackage(path, stream)))
    return out


def _tree(project: QgsProject, group) -> list[tuple]:
    """(name, visible, renderer type) of each layer of a group, in tree order."""
    return [(node.name(), node.isVisible(), node.layer().renderer().type()
             if node.layer().isSpatial() else None) for node in group.findLayers()]


def _open(plugin, path: str, monkeypatch) -> None:
    """The user clicks "Open run…" and chooses `path`."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *_a, **_k: (path, "GeoPackage (*.gpkg)")))
    plugin.dock.open_run_button.click()


def test_open_run_restores_group_order_styles_and_result(plugin, saved_runs, qgis_new_project,
                                                         monkeypatch, tmp_path):
    fresh = run_layers.load_run_layers(saved_runs[1], qgis_new_project, "fresh")
    expected = _tree(qgis_new_project, fresh.group)
    qgis_new_project.clear()
    dock = plugin.dock
    dock.tabs.setCurrentIndex(0)

    _open(plugin, saved_runs[1], monkeypatch)

    root = qgis_new_project.layerTreeRoot()
    group = root.children()[0]  # on top, as a fresh run
    assert group.name() == "GeoDecoder newer"
    assert _tree(qgis_new_project, group) == expected
    names = [name for name, _on, _r in expected]
    assert names.index("Predictions") < names.index("Regions (50% / 90%)") \
        < names.index("Cells level 2 (finest)")  # cells do not bury the predictions
    assert dock.tabs.currentIndex() == TAB_RESULT
    shown = dock.result_view.details
    assert shown is not None and shown.prediction.file_name == "tokyo_night.jpg"
    assert "tokyo_night.jpg" in dock.result_view.text.toPlainText()
    assert "Opened GeoDecoder newer: 3 prediction(s)" in dock.status.text()

    dock.resize(300, 800)
    picture = dock.grab()
    assert not picture.isNull()
    picture.save(os.path.join(SHOTS or str(tmp_path), "dock-open-run.png"))


def test_a_file_without_predictions_is_refused_and_leaves_nothing(plugin, tmp_path,
                                                                   qgis_new_project,
                                                                   monkeypatch):
    empty = tmp_path / "not-a-run.gpkg"
    empty.write_bytes(b"")
    _open(plugin, str(empty), monkeypatch)
    assert "holds no GeoDecoder predictions" in plugin.dock.status.text()
    assert qgis_new_project.mapLayers() == {}
    assert qgis_new_project.layerTreeRoot().children() == []


def test_pick_works_on_any_run_of_a_reopened_project(plugin, saved_runs, qgis_new_project,
                                                     qgis_iface, tmp_path):
    for path, name in zip(saved_runs, ("older", "newer")):
        run_layers.load_run_layers(path, qgis_new_project, name)
    project_file = str(tmp_path / "case.qgz")
    assert qgis_new_project.write(project_file)
    qgis_new_project.clear()
    assert qgis_new_project.read(project_file)  # another session reopens the project

    older = qgis_new_project.layerTreeRoot().findGroup("older")
    cells = next(n.layer() for n in older.findLayers() if "finest" in n.name())
    qgis_iface.setActiveLayer(cells)  # any layer of the older run
    dock, service = plugin.dock, plugin.service
    dock.pick_button.click()
    assert dock.pick_button.isChecked(), dock.status.text()
    layer = service.results.result_layer()
    assert layer.name() == "Predictions" and older.findLayer(layer.id()) is not None
    shown = []
    service.results.resultSelected.connect(shown.append)
    feature = next(f for f in layer.getFeatures() if f["file_name"] == "nairobi.jpg")
    pick_on_map(plugin, layer, feature)  # a click on its point (its row, in a stack)
    assert shown[-1].prediction.file_name == "nairobi.jpg"
    assert shown[-1].prediction.candidates  # read from the older run's own Candidates layer
    assert "nairobi.jpg" in dock.result_view.text.toPlainText()

    notes = QgsVectorLayer("Point?crs=EPSG:4326", "my notes", "memory")
    qgis_new_project.addMapLayer(notes)
    qgis_iface.setActiveLayer(notes)  # a layer of no run: the top run
    newer = qgis_new_project.layerTreeRoot().findGroup("newer")
    assert newer.findLayer(service.results.result_layer().id()) is not None


def test_older_runs_fold_away(plugin, saved_runs, qgis_new_project):
    first = plugin.service.results.open_run(saved_runs[0])
    assert first.group.isExpanded()
    second = plugin.service.results.open_run(saved_runs[1])
    assert second.group.isExpanded() and not first.group.isExpanded()


def test_a_new_project_clears_stale_results(plugin, saved_runs, qgis_new_project):
    dock, service = plugin.dock, plugin.service
    service.results.open_run(saved_runs[0])
    assert dock.result_view.details is not None and dock.result_view.why_button.isEnabled()
    dock.pick_button.click()
    assert plugin.pick_tool is not None

    qgis_new_project.clear()  # File > New project

    assert dock.result_view.details is None
    assert dock.result_view.text.toPlainText() == ""
    assert not dock.result_view.why_button.isEnabled()
    assert "Select a prediction" in dock.result_view.photo.text()
    assert service.results.runs == {} and service.results.shown_run is None
    assert plugin.pick_tool is None and not dock.pick_button.isChecked()
    dock.pick_button.click()
    assert not dock.pick_button.isChecked() and "No results yet" in dock.status.text()


def test_double_clicking_a_photo_row_shows_its_result(plugin, saved_runs, qgis_new_project,
                                               photo_folder):  # noqa: F811
    dock, service = plugin.dock, plugin.service
    good = photo_folder[1]["good"]
    service.results.open_run(saved_runs[0])  # paris_street, nairobi
    service.results.open_run(saved_runs[1])  # tokyo_night, lima, sydney (on top)
    dock.add_paths([good[1], good[3], good[7]])  # nairobi, lima, unknown_2 (in no run)
    dock.tabs.setCurrentIndex(0)

    def click(index: int) -> None:
        dock.photos.itemActivated.emit(dock.photos.item(index))  # double-click

    click(0)
    assert dock.result_view.details.prediction.file_name == "nairobi.jpg"  # from the older run
    assert dock.tabs.currentIndex() == TAB_RESULT
    click(1)
    assert dock.result_view.details.prediction.file_name == "lima.jpg"
    click(0)  # back again: shown again
    assert dock.result_view.details.prediction.file_name == "nairobi.jpg"
    click(2)  # a photo no run has: the shown result stays
    assert dock.result_view.details.prediction.file_name == "nairobi.jpg"


def test_a_run_dropped_on_qgis_opens_as_a_run(plugin, saved_runs, qgis_new_project,
                                             tmp_path):
    handler = plugin.drop_handler
    plugin.dock.hide()
    assert handler.handleFileDrop(saved_runs[0])  # QGIS then adds nothing itself
    group = qgis_new_project.layerTreeRoot().children()[0]
    assert group.name() == "GeoDecoder older"
    assert [n.name() for n in group.findLayers()][0] == "Predictions"
    assert plugin.action.isChecked()  # the dock is shown, with the result
    assert plugin.dock.result_view.details.prediction.file_name == "paris_street.jpg"

    other = tmp_path / "survey.gpkg"  # any other GeoPackage is QGIS's to add
    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=name:string", "survey", "memory")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(other),
                                              QgsCoordinateTransformContext(), options)
    assert not is_run_file(str(other)) and not handler.handleFileDrop(str(other))
    assert not handler.handleFileDrop(str(tmp_path / "photo.jpg"))
    assert len(qgis_new_project.layerTreeRoot().findGroups()) == 1


def test_a_new_run_clears_the_older_result_and_folds_its_group(plugin, saved_runs,
                                                               qgis_new_project,
                                                               tiny_bundle_dir,
                                                               photo_folder):  # noqa: F811
    dock, service = plugin.dock, plugin.service
    older = service.results.open_run(saved_runs[0])
    assert dock.result_view.details is not None
    dock.add_paths(photo_folder[1]["good"][:2])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.options.output.setFilePath("")  # not a "Save run to" another test left in settings
    dock.run_button.click()
    assert spin_until(lambda: service.task is None, seconds=120), "the run did not end"

    assert dock.result_view.details is None  # the older run's answer is not shown as new
    top = qgis_new_project.layerTreeRoot().children()[0]
    assert top.name() != older.group.name() and top.isExpanded()
    assert not older.group.isExpanded()
