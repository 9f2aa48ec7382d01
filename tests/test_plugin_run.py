"""A run from the dock to the map: the task on real photos with a real bundle, layers in
a group, failures listed, cancel leaves nothing, and clicking a result explains it."""

from __future__ import annotations

import gc
import os
import sys
import threading

import pytest
from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import Qt

from tests.photo_factory import make_jpeg
from tests.test_plugin_fixtures import (  # noqa: F401
    add_and_wait,
    import_plugin,
    photo_folder,
    pick_on_map,
    spin_until,
)

geodecoder = import_plugin()
from geodecoder.inference.outputs import schema  # noqa: E402
from geodecoder.services.run.params import GeolocateParams  # noqa: E402
from geodecoder.services.run.service import GeolocateService  # noqa: E402


def _wait_for_run(service: GeolocateService) -> None:
    assert spin_until(lambda: service.task is None, seconds=120), "the run did not end"


def _field_names(layer) -> list[str]:
    return [f.name() for f in layer.fields() if f.name() != "fid"]


def test_dock_run_adds_styled_layers_in_one_group(plugin, photo_folder,  # noqa: F811
                                                  tiny_bundle_dir):
    folder, files = photo_folder
    dock, service = plugin.dock, plugin.service
    add_and_wait(dock, [str(folder)])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.options.top_k.setValue(3)
    dock.options.batch_size.setValue(2)
    dock.options.attention.setChecked(True)
    dock.options.output.setFilePath("")
    finished, statuses = [], []
    service.runFinished.connect(lambda outcome, layers: finished.append((outcome, layers)))
    service.countChanged.connect(lambda *_: statuses.append(dock.status.text()))
    dock.run_button.click()
    assert service.task is not None  # the service keeps the running task alive
    assert dock.status.text() == "Loading the model… (10 photo(s) to geolocate)"
    _wait_for_run(service)
    assert finished, dock.status.text()
    n_photos = len(files["good"]) + len(files["broken"])
    assert statuses and all(f" of {n_photos} photos" in t for t in statuses), statuses
    assert any("left" in t or "estimating" in t for t in statuses), statuses
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
    # the project had no layer: the offline world map came with the first run, under it
    root = QgsProject.instance().layerTreeRoot()
    basemap = service.results.basemap
    assert basemap is not None and root.children()[-1].layerId() == basemap.id()

    n_good, n_bad = len(files["good"]), len(files["broken"])
    pred = layers.predictions
    assert pred.featureCount() == n_good
    assert pred.crs().authid() == "EPSG:4326"
    assert pred.wkbType() == QgsWkbTypes.Point
    # no virtual field: the default model's scenes are words already
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
    assert pred.renderer().type() == "pointCluster"  # stacked photos counted (issue 20.5)
    # by how the point was placed (issue 18), then by confidence
    assert pred.renderer().embeddedRenderer().type() == "RuleRenderer"
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
    service.results.resultSelected.connect(shown.append)
    feature = next(f for f in pred.getFeatures() if f["file_name"] == "paris_street.jpg")
    pred.selectByIds([feature.id()])
    assert len(shown) == 1
    details = shown[0]
    row = details.prediction
    assert row.file_name == "paris_street.jpg"
    assert [c.rank for c in row.candidates] == [1, 2, 3]
    assert [c.level for c in row.cells] == [0, 1, 2]
    assert row.exif_lat == pytest.approx(48.8566, abs=1e-4)
    assert row.error_km is not None
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
    assert view.attention.tabText(0) == "0"
    assert len(view.attention.images) == 3 and not view.attention.images[0].isNull()
    assert service.results.attention_for(files["good"][0]).shape[0] == 3


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

    qgis_says = []

    def cancel_after_first_batch(task):
        task.progressChanged.connect(lambda p: task.cancel() if p > 0 else None,
                                     Qt.DirectConnection)
        task.taskCompleted.connect(lambda: qgis_says.append(("complete", task.description())))
        task.taskTerminated.connect(lambda: qgis_says.append(("failed", task.description())))

    service.runStarted.connect(cancel_after_first_batch)
    layers_before = len(qgis_new_project.mapLayers())
    task = service.start(GeolocateParams(photos=tuple(photos), bundle_path=str(tiny_bundle_dir),
                                         device="cpu", batch_size=2, top_k=3,
                                         output_path=str(out)))
    assert task is not None
    _wait_for_run(service)
    assert ended == ["cancelled"]
    # QGIS says "Task failed" for a task that returns False: a cancel completes instead,
    # and the task list says what happened
    assert qgis_says == [("complete", "GeoDecoder: cancelled, nothing was added")]
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
    tool = plugin.pick_tool
    assert tool is not None and canvas.mapTool() is tool
    shown = []
    service.results.resultSelected.connect(shown.append)
    layer = service.results.result_layer()
    feature = next(f for f in layer.getFeatures() if f["file_name"] == "tokyo_night.jpg")
    pick_on_map(plugin, layer, feature)  # a click on its point (its row, in a stack)
    assert shown[-1].prediction.file_name == "tokyo_night.jpg"
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


@pytest.fixture()
def qgis_log():
    """(tag, level, message) of every message the QGIS log receives during the test."""
    received = []

    def keep(message, tag, level):
        received.append((tag, level, message))

    QgsApplication.messageLog().messageReceived.connect(keep)
    yield received
    QgsApplication.messageLog().messageReceived.disconnect(keep)


def _failed_run(service: GeolocateService, params: GeolocateParams) -> str:
    failed = []
    service.runFailed.connect(failed.append)
    assert service.start(params) is not None
    _wait_for_run(service)
    spin_until(lambda: False, seconds=0.2)  # deliver what the worker logged
    assert len(failed) == 1, failed
    return failed[0]


def test_a_torch_error_is_shown_with_its_type_and_logged_with_its_traceback(
        qgis_new_project, tmp_path, tiny_bundle_dir, photo_folder, monkeypatch,  # noqa: F811
        qgis_log):
    """Out of memory, a shape mismatch, a bug: not an error a user can act on from one
    line, so the dock names its type and the QGIS log has where it came from."""
    import torch
    from geodecoder.inference.prediction.predict import Predictor

    def out_of_memory(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        yield  # a generator, as Predictor.run is

    monkeypatch.setattr(Predictor, "run", out_of_memory)
    out = tmp_path / "out" / "oom.gpkg"
    out.parent.mkdir()
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path / "runs")
    message = _failed_run(service, GeolocateParams(
        photos=tuple(photo_folder[1]["good"][:2]), bundle_path=str(tiny_bundle_dir),
        device="cpu", output_path=str(out)))
    assert message.startswith("OutOfMemoryError: CUDA out of memory. Tried to allocate")
    assert "traceback is in the QGIS log" in message
    logged = [(level, text) for tag, level, text in qgis_log if tag == "GeoDecoder"]
    assert len(logged) == 1 and logged[0][0] == Qgis.Critical
    assert "Traceback (most recent call last)" in logged[0][1]
    assert "in out_of_memory" in logged[0][1]  # where it was raised
    assert qgis_new_project.mapLayers() == {}
    assert os.listdir(out.parent) == []  # nothing half-written


@pytest.mark.parametrize("case", ["bundle not found", "no photo", "cannot write"])
def test_expected_errors_are_shown_as_they_are_without_a_traceback(
        case, qgis_new_project, tmp_path, tiny_bundle_dir, photo_folder, qgis_log):  # noqa: F811
    """Errors whose message says what to do are shown as they are: no type name, no
    "unexpected", nothing in the QGIS log."""
    empty = tmp_path / "empty"
    empty.mkdir()
    photo = photo_folder[1]["good"][0]
    params, words = {
        "bundle not found": (dict(photos=(photo,), bundle_path=str(tmp_path / "nowhere")),
                             "not found"),
        "no photo": (dict(photos=(str(empty),), bundle_path=str(tiny_bundle_dir)),
                     "no photos found"),
        "cannot write": (dict(photos=(photo,), bundle_path=str(tiny_bundle_dir),
                              output_path=str(tmp_path / "gone" / "out.gpkg")),
                         str(tmp_path / "gone")),
    }[case]
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path / "runs")
    message = _failed_run(service, GeolocateParams(device="cpu", **params))
    assert words in message
    assert "unexpected" not in message and "Error:" not in message
    assert "NothingToDo" not in message and "Traceback" not in message
    assert [text for tag, _level, text in qgis_log if tag == "GeoDecoder"] == []
    assert qgis_new_project.mapLayers() == {}


def _live_predictions(paths) -> int:
    """Prediction records of `paths` alive in the process (each holds hundreds of cells)."""
    paths = set(paths)
    return sum(1 for o in gc.get_objects()
               if type(o).__name__ == "Prediction" and getattr(o, "path", None) in paths)


def test_a_run_writes_chunk_by_chunk_and_keeps_no_predictions(qgis_new_project, tmp_path,
                                                              tiny_bundle_dir, monkeypatch):
    """Memory must not grow with the number of photos: each chunk is written as it
    arrives and dropped; the outcome keeps one small summary per photo."""
    from geodecoder.inference.outputs import gpkg
    from geodecoder.inference import run as engine_run

    chunk = engine_run.CHUNK
    n = 3 * chunk + 5
    (tmp_path / "in").mkdir()
    photos = [str(make_jpeg(tmp_path / "in" / f"p{i:03d}.jpg", size=(96, 72),
                            color=(5 * i % 255, 90, 160))) for i in range(n)]
    chunks, live = [], []
    original_add = gpkg.GeoPackageWriter.add

    def spy_add(writer, predictions, failures=(), **kwargs):
        chunks.append(len(predictions) + len(failures))
        live.append(_live_predictions(photos))
        return original_add(writer, predictions, failures, **kwargs)

    monkeypatch.setattr(gpkg.GeoPackageWriter, "add", spy_add)
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path / "runs")
    finished = []
    service.runFinished.connect(lambda outcome, layers: finished.append((outcome, layers)))
    service.start(GeolocateParams(photos=tuple(photos), bundle_path=str(tiny_bundle_dir),
                                  device="cpu", batch_size=4, top_k=3, attention=False))
    _wait_for_run(service)
    assert finished
    outcome, layers = finished[0]
    assert sum(chunks) == n and len(chunks) == 4
    assert max(chunks) <= chunk
    # at each write only about one chunk (plus the batches decoded ahead) is alive
    assert max(live) <= chunk + 2 * 4, live
    assert layers.predictions.featureCount() == n
    assert len(outcome.photos) == n and outcome.predicted == n
    assert all(type(s).__name__ == "PhotoSummary" for s in outcome.photos)
    assert {s.path for s in outcome.photos} == set(photos)
    assert all(s.ok and 0 < s.confidence <= 1 and -90 <= s.lat <= 90 for s in outcome.photos)
    assert _live_predictions(photos) == 0


def test_cancel_after_the_commit_finishes_the_run(qgis_new_project, tmp_path,
                                                  tiny_bundle_dir, photo_folder):  # noqa: F811
    """Cancel arriving once the GeoPackage is committed: the file is complete and has
    replaced the previous one, so the run must end as a success with its layers."""
    out = tmp_path / "mine.gpkg"
    out.write_bytes(b"a previous file the run replaces")
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path / "runs")
    ended = []
    service.runCancelled.connect(lambda: ended.append("cancelled"))
    service.runFinished.connect(lambda outcome, layers: ended.append((outcome, layers)))

    cancelled = []

    def cancel(task, percent):
        if percent >= 100:
            task.cancel()
            cancelled.append(task.isCanceled())

    def cancel_after_the_commit(task):
        task.progressChanged.connect(lambda p: cancel(task, p), Qt.DirectConnection)

    service.runStarted.connect(cancel_after_the_commit)
    task = service.start(GeolocateParams(photos=tuple(photo_folder[1]["good"][:3]),
                                         bundle_path=str(tiny_bundle_dir), device="cpu",
                                         output_path=str(out)))
    _wait_for_run(service)
    assert cancelled == [True]
    assert len(ended) == 1 and ended[0] != "cancelled", ended
    assert task.committed
    outcome, layers = ended[0]
    assert outcome.gpkg_path == str(out) and out.read_bytes()[:16] == b"SQLite format 3\0"
    assert layers.predictions is not None and layers.predictions.featureCount() == 3


def test_attention_maps_are_kept_per_run_and_dropped_with_it(qgis_new_project, tmp_path,
                                                             tiny_bundle_dir,
                                                             photo_folder):  # noqa: F811
    photos = photo_folder[1]["good"][:2]
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path / "runs")
    runs = []
    service.runFinished.connect(lambda outcome, layers: runs.append(layers))
    for _ in range(2):
        service.start(GeolocateParams(photos=tuple(photos), bundle_path=str(tiny_bundle_dir),
                                      device="cpu", attention=True))
        _wait_for_run(service)
    first, second = (layers.predictions.id() for layers in runs)
    assert set(service.results.attention) == {first, second}
    assert service.results.attention_for(photos[0], first).shape[0] == 3
    assert service.results.attention_for(photos[0]) is not None
    assert service.last_outcome.attention == {}  # the maps live in one place only
    qgis_new_project.removeMapLayer(first)
    assert set(service.results.attention) == {second} and set(service.results.runs) == {second}
    assert service.results.attention_for(photos[0], first) is None
    qgis_new_project.removeMapLayer(second)
    assert service.results.attention == {} and service.results.attention_for(photos[0]) is None


def test_engine_libraries_are_loaded_on_the_main_thread_only(qgis_new_project, tmp_path,
                                                             tiny_bundle_dir, photo_folder,  # noqa: F811,E501
                                                             monkeypatch):
    """sys.setdlopenflags is process-wide: never flip it from a worker thread."""
    from geodecoder.services import native_libs

    calls = []
    original = sys.setdlopenflags

    def spy(flags):
        calls.append(threading.current_thread() is threading.main_thread())
        original(flags)

    monkeypatch.setattr(sys, "setdlopenflags", spy)
    monkeypatch.setattr(native_libs, "_done", False, raising=False)
    service = GeolocateService(None, project=qgis_new_project, runs_dir=tmp_path / "runs")
    service.start(GeolocateParams(photos=tuple(photo_folder[1]["good"][:1]),
                                  bundle_path=str(tiny_bundle_dir), device="cpu"))
    _wait_for_run(service)
    if sys.platform.startswith("linux"):
        assert calls and all(calls), calls  # done by start(), on the main thread
    assert native_libs._done
    before = len(calls)
    assert native_libs.ensure_own_libraries()  # idempotent: nothing flipped again
    assert len(calls) == before
    monkeypatch.setattr(native_libs, "_done", False, raising=False)
    worker = threading.Thread(target=native_libs.ensure_own_libraries)
    worker.start()
    worker.join()
    assert len(calls) == before and not native_libs._done  # a worker thread does nothing


def test_the_device_in_use_is_shown_as_soon_as_the_model_is_loaded(plugin, photo_folder,  # noqa: F811,E501
                                                                   tiny_bundle_dir):
    dock, service = plugin.dock, plugin.service
    seen = []
    service.deviceResolved.connect(seen.append)
    dock.add_paths(photo_folder[1]["good"][:1])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.run_button.click()
    assert spin_until(lambda: seen, seconds=60)
    assert seen == ["cpu"]
    spin_until(lambda: dock.options.device_used.text() == "Device used: cpu", seconds=5)
    assert dock.options.device_used.text() == "Device used: cpu"
    _wait_for_run(service)


def _memory_layer(uri: str, fields: str, rows) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"{uri}?crs=EPSG:4326&{fields}", "mem", "memory")
    features = []
    for values, wkt in rows:
        feature = QgsFeature(layer.fields())
        feature.setAttributes(values)
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        features.append(feature)
    assert layer.dataProvider().addFeatures(features)
    return layer


def test_zoom_to_a_region_across_the_antimeridian_stays_on_the_points_side():
    from geodecoder.services.run.result_details import details_for
    from geodecoder.services.run.layers import RunLayers

    path = "/photos/suva.jpg"
    predictions = _memory_layer("Point", "field=photo_path:string&field=lat:double"
                                "&field=lon:double", [([path, -18.14, 178.44],
                                                       "POINT(178.44 -18.14)")])
    regions = _memory_layer(
        "MultiPolygon", "field=photo_path:string&field=mass:double",
        [([path, 0.5], "MULTIPOLYGON(((178 -19, 179 -19, 179 -17, 178 -17, 178 -19)))"),
         ([path, 0.9], "MULTIPOLYGON(((177 -20, 180 -20, 180 -16, 177 -16, 177 -20)),"
                       "((-180 -20, -179 -20, -179 -16, -180 -16, -180 -20)))")])
    feature = next(predictions.getFeatures())
    details = details_for(feature, RunLayers(group=None, predictions=predictions,
                                             regions=regions))
    extent = details.extent
    assert extent is not None and extent.width() < 10, extent.toString()
    assert extent.contains(QgsPointXY(178.44, -18.14))
    assert extent.xMinimum() == pytest.approx(177) and extent.xMaximum() == pytest.approx(180)

    # the point on the western side: the western part
    west = _memory_layer("Point", "field=photo_path:string&field=lat:double&field=lon:double",
                         [([path, -18.0, -179.5], "POINT(-179.5 -18)")])
    details = details_for(next(west.getFeatures()), RunLayers(group=None, regions=regions))
    assert details.extent.xMinimum() == pytest.approx(-180)
    assert details.extent.xMaximum() == pytest.approx(-179)

    # a region that does not straddle keeps its whole box
    plain = _memory_layer("MultiPolygon", "field=photo_path:string&field=mass:double",
                          [([path, 0.9], "MULTIPOLYGON(((10 40, 12 40, 12 42, 10 42, 10 40)),"
                                         "((20 40, 21 40, 21 41, 20 41, 20 40)))")])
    details = details_for(feature, RunLayers(group=None, regions=plain))
    assert details.extent.xMinimum() == pytest.approx(10)
    assert details.extent.xMaximum() == pytest.approx(21)
