"""A run from the dock to the map: the task on real photos with a real bundle, layers in
a group, failures listed, cancel leaves nothing, and clicking a result explains it."""

from __future__ import annotations

import os

import pytest
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRectangle,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import Qt

from tests.photo_factory import make_jpeg
from tests.test_plugin_fixtures import import_plugin, photo_folder, spin_until  # noqa: F401

geodecoder = import_plugin()
from geodecoder.inference import schema  # noqa: E402
from geodecoder.ui.params import GeolocateParams  # noqa: E402
from geodecoder.ui.run_service import GeolocateService  # noqa: E402


@pytest.fixture()
def plugin(qgis_iface, qgis_new_project, tmp_path):
    instance = geodecoder.classFactory(qgis_iface)
    instance.initGui()
    dock = instance.ensure_dock()
    instance.service.runs_dir = tmp_path / "runs"
    dock.photos.clear_photos()
    yield instance
    instance.unload()


def _wait_for_run(service: GeolocateService) -> None:
    assert spin_until(lambda: service.task is None, seconds=120), "the run did not end"


def _field_names(layer) -> list[str]:
    return [f.name() for f in layer.fields() if f.name() != "fid"]


def test_dock_run_adds_styled_layers_in_one_group(plugin, photo_folder,  # noqa: F811
                                                  tiny_bundle_dir):
    folder, files = photo_folder
    dock, service = plugin.dock, plugin.service
    dock.add_paths([str(folder)])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.options.top_k.setValue(3)
    dock.options.batch_size.setValue(2)
    dock.options.attention.setChecked(True)
    dock.options.output.setFilePath("")
    finished = []
    service.runFinished.connect(lambda outcome, layers: finished.append((outcome, layers)))
    dock.run_button.click()
    assert service.task is not None  # the service keeps the running task alive
    _wait_for_run(service)
    assert finished, dock.status.text()
    outcome, layers = finished[0]

    # one group per run, with a Cells subgroup (one layer per level)
    group = layers.group
    assert group.name().startswith("GeoDecoder ")
    assert QgsProject.instance().layerTreeRoot().children()[0] is group
    names = [child.name() for child in group.children()]
    assert names[:3] == ["Predictions", "Candidates", "Regions (50% / 90%)"]
    assert "Cells" in names and "Failures" in names
    cells_group = group.findGroup("Cells")
    assert [n.name() for n in cells_group.children()] == [
        "Cells level 0 (coarsest)", "Cells level 1", "Cells level 2 (finest)"]

    n_good, n_bad = len(files["good"]), len(files["broken"])
    pred = layers.predictions
    assert pred.featureCount() == n_good
    assert pred.crs().authid() == "EPSG:4326"
    assert pred.wkbType() == QgsWkbTypes.Point
    assert _field_names(pred) == [f.name for f in schema.prediction_fields(3)]
    assert all(-90 <= f["lat"] <= 90 and 0 < f["confidence"] <= 1 for f in pred.getFeatures())
    with_gps = [f for f in pred.getFeatures() if f["exif_lat"] is not None
                and not (hasattr(f["exif_lat"], "isNull") and f["exif_lat"].isNull())]
    assert len(with_gps) == 4 and all(f["error_km"] >= 0 for f in with_gps)
    assert layers.candidates.featureCount() == 3 * n_good
    assert layers.regions.featureCount() == 2 * n_good
    assert all(layer.featureCount() > 0 for layer in layers.cells)
    assert layers.failures.featureCount() == n_bad
    reasons = {f["file_name"]: f["reason"] for f in layers.failures.getFeatures()}
    assert "truncated" in reasons["truncated.jpg"] and "not an image" in reasons["notes.jpg"]
    assert pred.renderer().type() == "graduatedSymbol"
    assert "photo_path" in pred.mapTipTemplate()

    # the dock reports what happened, per photo and in total, and which device ran
    assert outcome.device_used == "cpu"
    assert dock.options.device_used.text() == "Device used: cpu"
    assert f"{n_good} photo(s) geolocated, {n_bad} failed" in dock.status.text()
    assert "UNTRAINED" in dock.status.text()
    assert dock.photos.status_of(files["broken"][0]).startswith("failed: truncated")
    assert dock.photos.status_of(files["good"][0]).startswith("confidence")
    assert os.path.isfile(outcome.gpkg_path)
    assert os.path.dirname(outcome.gpkg_path) == str(service.runs_dir)

    # clicking a result: details, zoom, and "Why here?" with one view per level
    canvas = plugin.iface.mapCanvas()
    canvas.resize(400, 300)
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    canvas.setExtent(QgsRectangle(-1e6, -1e6, 0, 0))
    shown = []
    service.resultSelected.connect(shown.append)
    feature = next(f for f in pred.getFeatures() if f["file_name"] == "paris_street.jpg")
    pred.selectByIds([feature.id()])
    assert len(shown) == 1
    details = shown[0]
    assert details.file_name == "paris_street.jpg"
    assert [c.rank for c in details.candidates] == [1, 2, 3]
    assert [c.level for c in details.cells] == [0, 1, 2]
    assert details.exif_lat == pytest.approx(48.8566, abs=1e-4)
    assert details.error_km is not None
    view = dock.result_view
    assert view.details is details and "paris_street.jpg" in view.text.toPlainText()
    assert "EXIF GPS" in view.text.toPlainText()
    to_canvas = QgsCoordinateTransform(pred.crs(), canvas.mapSettings().destinationCrs(),
                                       QgsProject.instance())
    assert canvas.extent().contains(to_canvas.transform(feature.geometry().asPoint()))
    assert view.photo.pixmap() is not None and not view.photo.pixmap().isNull()
    assert not view.photo.wordWrap()  # a wrapping QLabel lays a pixmap out 0 px high
    view.why_button.setChecked(True)
    assert view.attention.count() == 3
    assert view.attention.tabText(0) == "Level 0 (coarsest)"
    assert len(view.attention.images) == 3 and not view.attention.images[0].isNull()
    assert service.attention_for(files["good"][0]).shape[0] == 3


def test_cancel_after_the_first_batch_adds_nothing(qgis_new_project, tmp_path,
                                                   tiny_bundle_dir):
    photos = [str(make_jpeg(tmp_path / f"p{i:02d}.jpg", size=(320, 240),
                            color=(20 * i, 100, 50))) for i in range(10)]
    out = tmp_path / "out" / "cancelled.gpkg"
    out.parent.mkdir()
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path / "runs")
    done, ended = [], []
    service.photoDone.connect(lambda *args: done.append(args))
    service.runCancelled.connect(lambda: ended.append("cancelled"))
    service.runFinished.connect(lambda *args: ended.append("finished"))

    def cancel_after_first_batch(task):
        task.progressChanged.connect(lambda p: task.cancel() if p > 0 else None,
                                     Qt.DirectConnection)

    service.runStarted.connect(cancel_after_first_batch)
    layers_before = len(qgis_new_project.mapLayers())
    task = service.start(GeolocateParams(photos=tuple(photos), bundle_path=str(tiny_bundle_dir),
                                         device="cpu", batch_size=2, top_k=3,
                                         output_path=str(out)))
    assert task is not None
    _wait_for_run(service)
    assert ended == ["cancelled"]
    assert len(qgis_new_project.mapLayers()) == layers_before
    assert qgis_new_project.layerTreeRoot().children() == []
    assert not out.exists() and os.listdir(out.parent) == []  # no file, no temp file
    spin_until(lambda: False, seconds=0.2)  # deliver queued photoDone signals
    assert 0 < len(done) <= 4  # stopped within one batch (two may be decoded ahead)


def test_a_second_run_waits_for_the_first(qgis_new_project, tmp_path, tiny_bundle_dir,
                                          photo_folder):  # noqa: F811
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path)
    params = GeolocateParams(photos=tuple(photo_folder[1]["good"][:2]),
                             bundle_path=str(tiny_bundle_dir), device="cpu")
    assert service.start(params) is not None
    assert service.start(params) is None
    _wait_for_run(service)
    assert QgsApplication.taskManager().countActiveTasks() == 0


def test_a_bad_model_path_fails_with_its_reason(qgis_new_project, tmp_path, photo_folder):  # noqa: F811,E501
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path)
    failed = []
    service.runFailed.connect(failed.append)
    service.start(GeolocateParams(photos=tuple(photo_folder[1]["good"][:1]),
                                  bundle_path=str(tmp_path / "nowhere")))
    _wait_for_run(service)
    assert failed and "not found" in failed[0]
    assert qgis_new_project.mapLayers() == {}


def test_pick_tool_shows_the_clicked_result(plugin, photo_folder, tiny_bundle_dir):  # noqa: F811
    dock, service = plugin.dock, plugin.service
    dock.pick_button.click()  # before any run: refused with a message
    assert not dock.pick_button.isChecked() and "run" in dock.status.text()
    dock.add_paths(photo_folder[1]["good"][:3])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.run_button.click()
    _wait_for_run(service)
    dock.pick_button.click()
    canvas = plugin.iface.mapCanvas()
    tool = service.pick_tool
    assert tool is not None and canvas.mapTool() is tool
    shown = []
    service.resultSelected.connect(shown.append)
    layer = service.result_layer()
    feature = next(f for f in layer.getFeatures() if f["file_name"] == "tokyo_night.jpg")
    tool.featureIdentified.emit(feature)  # what a click on the point does
    assert [d.file_name for d in shown] == ["tokyo_night.jpg"]
    assert layer.selectedFeatureIds() == [feature.id()]



def test_gpu_asked_where_there_is_none_fails_with_the_reason(qgis_new_project, tmp_path,
                                                             tiny_bundle_dir, photo_folder):  # noqa: F811,E501
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path)
    failed = []
    service.runFailed.connect(failed.append)
    service.start(GeolocateParams(photos=tuple(photo_folder[1]["good"][:1]), device="gpu",
                                  bundle_path=str(tiny_bundle_dir)))
    _wait_for_run(service)
    assert failed and "CUDA" in failed[0]
    assert qgis_new_project.mapLayers() == {}
