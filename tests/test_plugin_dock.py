"""The dock builds, takes photos (buttons' code paths, folders, drag and drop), fills a
GeolocateParams from its widgets, emits it on Run, and remembers its settings."""

from __future__ import annotations

import dataclasses

import pytest
from qgis.PyQt.QtCore import QMimeData, QPoint, Qt, QUrl
from qgis.PyQt.QtGui import QDropEvent

from tests.test_plugin_fixtures import (  # noqa: F401
    add_and_wait,
    import_plugin,
    photo_folder,
    spin_until,
)

import_plugin()
from geodecoder.ui.dock import TAB_MODEL, TAB_RESULT, GeolocateDock  # noqa: E402
from geodecoder.services.run.params import GeolocateParams  # noqa: E402
from geodecoder.services.run.pipeline import default_bundle_path  # noqa: E402
from geodecoder.services.settings import DockSettings  # noqa: E402


@pytest.fixture()
def dock(qgis_iface):
    DockSettings().save()  # every test starts from the defaults
    widget = GeolocateDock()
    qgis_iface.addDockWidget(Qt.RightDockWidgetArea, widget)
    yield widget
    widget.deleteLater()


def test_dock_fills_and_emits_the_parameters(dock, photo_folder, tiny_bundle_dir):  # noqa: F811
    folder, files = photo_folder
    assert not dock.run_button.isEnabled()  # no photos yet
    assert add_and_wait(dock, [str(folder)]) == len(files["good"]) + len(files["broken"])
    assert dock.add_paths([files["good"][0]]) == 0  # already listed
    assert add_and_wait(dock, [str(folder)]) == 0
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.options.top_k.setValue(3)
    dock.options.batch_size.setValue(2)
    dock.options.attention.setChecked(False)
    assert "tiny" in dock.options.model_status.text()
    assert "UNTRAINED" in dock.options.model_status.text()
    emitted = []
    dock.runRequested.connect(emitted.append)
    assert dock.run_button.isEnabled()
    dock.run_button.click()
    assert len(emitted) == 1
    params = emitted[0]
    assert isinstance(params, GeolocateParams)
    assert sorted(params.photos) == sorted(files["good"] + files["broken"])
    assert params == GeolocateParams(photos=params.photos, bundle_path=str(tiny_bundle_dir),
                                     device="cpu", top_k=3, batch_size=2, attention=False,
                                     output_path=None)
    with pytest.raises(dataclasses.FrozenInstanceError):  # nobody edits a request en route
        params.top_k = 9


def test_settings_persist_across_docks(dock, tiny_bundle_dir, photo_folder):  # noqa: F811
    dock.add_paths(photo_folder[1]["good"][:1])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("gpu"))
    dock.options.top_k.setValue(7)
    dock.options.batch_size.setValue(5)
    dock.basemap_choice.setCurrentIndex(dock.basemap_choice.findData("osm"))
    dock.run_button.click()
    again = GeolocateDock()
    try:
        assert again.options.model_path() == str(tiny_bundle_dir)
        assert again.options.device_key() == "gpu"
        assert again.options.top_k.value() == 7
        assert again.options.batch_size.value() == 5
        assert again.basemap_choice.currentData() == "osm"
    finally:
        again.deleteLater()


def test_without_a_model_the_dock_says_what_to_do(dock, photo_folder):  # noqa: F811
    if default_bundle_path() is not None:
        pytest.skip("a default model is installed")
    message = ("No default model installed — train one (Processing: Train geolocation model "
               "from geotagged photos) or browse to a bundle")
    assert dock.options.model_status.text() == message
    dock.add_paths(photo_folder[1]["good"][:2])
    emitted = []
    dock.runRequested.connect(emitted.append)
    assert dock.request_run() is None
    assert emitted == []
    assert dock.status.text() == message


def test_dropped_folder_is_added_recursively(dock, photo_folder):  # noqa: F811
    folder, files = photo_folder
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPoint(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    dock.photos.dropEvent(event)
    assert spin_until(lambda: not dock.photos.is_scanning(), seconds=30)
    assert sorted(dock.photos.paths()) == sorted(files["good"] + files["broken"])


def test_thumbnails_are_made_lazily_and_statuses_shown(dock, photo_folder):  # noqa: F811
    files = photo_folder[1]
    dock.add_paths(files["good"] + files["broken"])
    assert dock.photos.thumbnails_pending() == len(files["good"]) + len(files["broken"])
    assert spin_until(lambda: dock.photos.thumbnails_pending() == 0, seconds=20)
    by_path = {dock.photos.item(i).data(Qt.UserRole): dock.photos.item(i)
               for i in range(dock.photos.count())}
    assert all(not by_path[p].icon().isNull() for p in files["good"])
    assert by_path[files["broken"][1]].icon().isNull()  # a text file has no picture
    assert dock.photos.status_of(files["good"][0]) == "waiting"
    dock.photo_done(files["broken"][0], False, "truncated or corrupt image")
    assert dock.photos.status_of(files["broken"][0]) == "failed: truncated or corrupt image"


def test_parameters_refuse_nonsense():
    with pytest.raises(ValueError):
        GeolocateParams(photos=("a.jpg",), device="tpu")
    with pytest.raises(ValueError):
        GeolocateParams(photos=("a.jpg",), top_k=0)


def test_thumbnails_survive_a_hostile_folder(dock, tmp_path):
    """Bombs, truncated files, panoramas, symlinks: every row gets processed, quickly."""
    from tests.photo_factory import make_hostile_folder

    truth = make_hostile_folder(tmp_path / "hostile", n_good=4)
    added = add_and_wait(dock, [str(tmp_path / "hostile")])
    assert added >= len(truth["readable"])
    assert spin_until(lambda: dock.photos.thumbnails_pending() == 0, seconds=30)
    icons = {dock.photos.item(i).data(Qt.UserRole): not dock.photos.item(i).icon().isNull()
             for i in range(dock.photos.count())}
    bombs = [p for p, reason in truth["unreadable"].items() if "60000" in reason]
    assert bombs and not any(icons.get(p) for p in bombs)
    assert sum(icons.values()) >= 4


def test_heic_photos_get_a_picture_through_pillow_heif():
    from geodecoder.services.installer.dependencies import is_available
    from geodecoder.services.image_loading import read_qimage
    from tests.test_plugin_fixtures import ROOT

    heic = ROOT / "resources" / "samples" / "sigal_outdoor.heic"
    if not heic.exists() or not is_available("pillow_heif"):
        pytest.skip("no HEIC sample or no pillow-heif here")
    image = read_qimage(str(heic), 64)
    assert image is not None and max(image.width(), image.height()) == 64


def test_a_big_folder_is_walked_in_the_background(dock, tmp_path, monkeypatch):
    """A large (NAS) folder must not freeze the dock: add_paths returns at once, the
    dock stays usable, and the list fills when the background walk ends."""
    import threading

    from geodecoder.ui import photo_list
    from qgis.PyQt.QtCore import QTimer

    folder = tmp_path / "nas"
    for sub in range(3):
        (folder / f"day{sub}").mkdir(parents=True)
        for i in range(100):
            (folder / f"day{sub}" / f"IMG_{i:04d}.jpg").write_bytes(b"\xff\xd8\xff junk")
    (folder / "notes.txt").write_text("not a photo")
    real_finder = photo_list.photo_finder
    share_answers = threading.Event()  # the slow share answers once the test says so
    walks = []  # per walk: (did the share answer?, walked on the main thread?)

    def slow_finder():  # a slow network share: a walk waits for the share to answer
        find = real_finder()

        def walk(paths):
            answered = share_answers.wait(timeout=10)  # add_paths itself would wait here
            try:
                return find(paths)
            finally:
                walks.append((answered, threading.current_thread() is threading.main_thread()))
        return walk

    monkeypatch.setattr(photo_list, "photo_finder", slow_finder)
    assert dock.add_paths([str(folder)]) == 0
    assert walks == []  # add_paths returned before the walk ended
    assert dock.photos.count() == 0 and dock.photos.is_scanning()
    assert "Looking for photos" in dock.status.text()
    assert not dock.run_button.isEnabled()  # no run on a half-listed folder
    ticks = []

    def tick():  # the share answers on the event loop's 10th tick after add_paths
        ticks.append(1)
        if len(ticks) == 10:
            share_answers.set()
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    assert spin_until(lambda: not dock.photos.is_scanning(), seconds=30)
    timer.stop()
    # the event loop kept running while the walk waited, and the walk was off its thread
    assert walks == [(True, False)]
    assert dock.photos.count() == 300
    assert dock.photos.paths() == sorted(dock.photos.paths())
    assert "300 photo(s) added" in dock.status.text()

    # Clear while a walk runs: it is dropped, nothing appears later
    share_answers.clear()
    dock.add_paths([str(folder / "day0")])
    assert dock.photos.is_scanning()
    dock.photos.clear_photos()
    assert not dock.photos.is_scanning()
    share_answers.set()
    assert spin_until(lambda: not dock.photos._scans, seconds=30)
    assert dock.photos.count() == 0


def _mixed_folder(folder):
    """Photos by the engine's rules (any case of extension, nested) beside files and
    folders it leaves out: image formats only Qt reads, text, hidden folders, NAS
    thumbnail caches, macOS resource forks."""
    photos = ["a.jpg", "B.JPG", "sub/c.png", "sub/deeper/d.HEIC", "e.webp"]
    others = ["f.xpm", "g.svg", "h.ppm", "notes.txt", ".hidden/i.jpg", "@eaDir/j.jpg",
              "__MACOSX/k.jpg", "._l.jpg"]
    for name in photos + others:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8\xff not decoded by a scan")
    return [str(folder / name) for name in photos], [str(folder / name) for name in others]


def test_a_folder_lists_what_the_engine_would_geolocate(dock, tmp_path):
    """The dock walks a folder by the engine's rules (find_photos): what it lists is
    what a run on that folder geolocates, and no other rule (Qt's image formats) adds
    files the engine would never take from a folder."""
    from geodecoder.inference.prediction.photos import find_photos

    photos, others = _mixed_folder(tmp_path / "mixed")
    engine, _missing = find_photos(tmp_path / "mixed")
    assert add_and_wait(dock, [str(tmp_path / "mixed")]) == len(photos)
    assert sorted(dock.photos.paths()) == sorted(str(p) for p in engine) == sorted(photos)
    # a file named on its own is taken as given, as the engine takes it
    assert dock.add_paths([others[0]]) == 1
    assert dock.photos.paths()[-1] == others[0]


def test_without_the_engine_a_folder_waits_for_the_install(dock, tmp_path, monkeypatch):
    """Pillow missing: no folder is walked by rules other than the engine's; the dock
    says to install the packages first, and files named one by one are still listed."""
    import sys

    photos, _others = _mixed_folder(tmp_path / "mixed")
    monkeypatch.setitem(sys.modules, "geodecoder.inference.prediction.photos", None)  # ImportError
    assert add_and_wait(dock, [str(tmp_path / "mixed")]) == 0
    assert "Looking for photos failed" in dock.status.text()
    assert "install the missing packages" in dock.status.text()
    assert dock.add_paths(photos[:2]) == 2


def test_device_choices_say_what_gpu_means(dock):
    texts = [dock.options.device.itemText(i) for i in range(dock.options.device.count())]
    assert texts[2] == "GPU (CUDA or Apple MPS)"
    assert texts[0] == "Auto (GPU if any, else CPU)" and texts[1] == "CPU"  # short: narrow
    assert "CUDA, else Apple MPS" in dock.options.device.toolTip()
    assert dock.options.device.itemData(2) == "gpu"


# ------------------------------------------------------- issue 11: a narrow dock
NARROW = 290  # QGIS opens a dock about this wide


def _long_result(photo: str):
    from geodecoder.inference.outputs.prediction_row import CandidateRow, read_prediction
    from geodecoder.services.run.result_details import ResultDetails

    place = "near Saint-Rémy-de-Provence, Provence-Alpes-Côte d'Azur, France"
    values = dict(
        photo_path=photo, file_name="forensics_IMG_20200827_231612_with_a_long_name.jpg",
        lat=43.7891, lon=4.8317, confidence=0.4321, place=place, scene="urban",
        exif_lat=43.70, exif_lon=4.90, error_km=12.3, exif_conflict=1,
        region50_km2=123456.0, region90_km2=9876543.0)
    for h in range(7):
        values.update({f"cell_{h}": "12d4b1c" + "f" * h, f"cell_{h}_prob": 0.9 - 0.1 * h})
    candidates = tuple(CandidateRow(r, 0.4 / r, 43.7 + r, 4.8 - r, place)
                       for r in range(1, 6))
    return ResultDetails(read_prediction(values, candidates), scene="urban")


def _show_narrow(dock, width=NARROW, height=700):
    from qgis.PyQt.QtCore import QCoreApplication

    dock.resize(width, height)
    dock.show()
    QCoreApplication.processEvents()


def test_the_dock_fits_a_narrow_width_in_tabs(dock, photo_folder, tmp_path):  # noqa: F811
    import numpy as np
    from qgis.gui import QgsFileWidget
    from qgis.PyQt.QtCore import QCoreApplication
    from qgis.PyQt.QtWidgets import QAbstractSpinBox, QComboBox, QPushButton, QScrollArea

    good = photo_folder[1]["good"]
    dock.add_paths(good)
    dock.result_view.attention_lookup = lambda _path: np.ones((7, 7, 7), np.float32)
    dock.show_result(_long_result(good[0]))
    dock.result_view.why_button.setChecked(True)
    _show_narrow(dock)
    assert dock.widget().minimumSizeHint().width() <= NARROW
    assert [dock.tabs.tabText(i) for i in range(dock.tabs.count())] == [
        "Photos", "Clues", "Model", "Result"]
    # every tab in view: no scroll arrows hiding one of them
    assert dock.tabs.tabBar().sizeHint().width() <= dock.tabs.width()
    for index in range(dock.tabs.count()):
        dock.tabs.setCurrentIndex(index)
        QCoreApplication.processEvents()
        page = dock.tabs.widget(index)
        if isinstance(page, QScrollArea):
            assert not page.horizontalScrollBar().isVisible()
            assert page.widget().width() <= page.viewport().width(), dock.tabs.tabText(index)
        kinds = (QPushButton, QComboBox, QgsFileWidget, QAbstractSpinBox)
        shown = [w for w in page.findChildren(kinds) if w.isVisibleTo(dock)]
        shown += [dock.run_button, dock.cancel_button]
        for widget in shown:
            left = widget.mapTo(dock, widget.rect().topLeft()).x()
            right = widget.mapTo(dock, widget.rect().topRight()).x()
            assert left >= 0 and right < dock.width(), (widget.objectName(), left, right)
            if isinstance(widget, QPushButton):  # its whole text shows
                assert widget.width() >= widget.minimumSizeHint().width(), widget.text()
        assert not dock.grab().isNull()
        dock.grab().save(str(tmp_path / f"dock-{index}.png"))
    # "Why here?" and the basemap are at the top of the Result tab, never below the fold
    dock.tabs.setCurrentIndex(TAB_RESULT)
    QCoreApplication.processEvents()
    viewport = dock.tabs.widget(TAB_RESULT).viewport()
    for widget in (dock.result_view.why_button, dock.basemap_button, dock.pick_button):
        bottom = widget.mapTo(viewport, widget.rect().bottomLeft()).y()
        assert 0 <= bottom < viewport.height(), widget.objectName()


def test_the_mouse_wheel_over_a_setting_scrolls_instead_of_changing_it(dock):
    from qgis.PyQt.QtCore import QCoreApplication, QPoint, QPointF
    from qgis.PyQt.QtGui import QWheelEvent

    def wheel(widget):
        event = QWheelEvent(QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))),
                            QPoint(0, 0), QPoint(0, -120), Qt.NoButton, Qt.NoModifier,
                            Qt.NoScrollPhase, False)
        QCoreApplication.sendEvent(widget, event)

    dock.options.batch_size.setValue(8)
    _show_narrow(dock, height=320)
    dock.tabs.setCurrentIndex(TAB_MODEL)
    QCoreApplication.processEvents()
    page = dock.tabs.widget(TAB_MODEL)
    assert page.verticalScrollBar().maximum() > 0  # the Model tab scrolls at this height
    for widget in (dock.options.batch_size, dock.options.top_k, dock.options.device):
        before = widget.value() if hasattr(widget, "value") else widget.currentIndex()
        wheel(widget)
        after = widget.value() if hasattr(widget, "value") else widget.currentIndex()
        assert after == before, widget.objectName()
    assert page.verticalScrollBar().value() > 0  # the wheel scrolled the page instead
    assert dock.options.batch_size.focusPolicy() == Qt.StrongFocus  # a click still edits


def _answer_next_question(button) -> list:
    """Click `button` in the next modal message box; returns [its text] when done."""
    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QApplication, QMessageBox

    seen = []

    def click():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        else:
            QTimer.singleShot(20, click)

    QTimer.singleShot(20, click)
    return seen


def test_an_existing_save_file_is_replaced_only_after_asking(  # noqa: F811
        dock, photo_folder, tmp_path, tiny_bundle_dir, qgis_new_project):  # noqa: F811
    from qgis.core import (QgsCoordinateTransformContext, QgsVectorFileWriter,
                           QgsVectorLayer)
    from qgis.PyQt.QtWidgets import QMessageBox

    existing = tmp_path / "case 2024.gpkg"
    source = QgsVectorLayer("Point?crs=EPSG:4326&field=note:string", "notes", "memory")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    QgsVectorFileWriter.writeAsVectorFormatV3(source, str(existing),
                                              QgsCoordinateTransformContext(), options)
    open_layer = QgsVectorLayer(str(existing), "my case notes", "ogr")
    assert open_layer.isValid()
    qgis_new_project.addMapLayer(open_layer)
    before = existing.read_bytes()
    dock.add_paths(photo_folder[1]["good"][:1])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.output.setFilePath(str(existing))  # remembered from an earlier session
    emitted = []
    dock.runRequested.connect(emitted.append)

    seen = _answer_next_question(QMessageBox.No)
    assert dock.request_run() is None
    assert seen and str(existing) in seen[0] and "my case notes" in seen[0], seen
    assert emitted == [] and existing.read_bytes() == before
    assert dock.status.text().startswith("Not run:") and dock.tabs.currentIndex() == TAB_MODEL

    _answer_next_question(QMessageBox.Yes)
    params = dock.request_run()
    assert params is not None and emitted == [params]
    assert params.output_path == str(existing)

    dock.options.output.setFilePath(str(tmp_path / "new.gpkg"))  # a new file: no question
    assert dock.request_run() is not None


def test_a_run_says_how_many_photos_are_done_and_the_time_left():
    from geodecoder.ui.run_progress import RunClock, duration_text

    now = [100.0]
    clock = RunClock(now=lambda: now[0])
    clock.start(70)
    assert clock.text() == "Geolocating: 0 of 70 photos"
    clock.update(8, 70)  # the first batch: the clock starts here (model loading excluded)
    assert clock.text() == "Geolocating: 8 of 70 photos — estimating the time left…"
    now[0] += 10.0
    clock.update(18, 70)  # 10 photos in 10 s: 52 left
    assert clock.text() == "Geolocating: 18 of 70 photos — 1.0 photos/s, about 52 s left"
    now[0] += 10.0
    clock.update(28, 70)
    assert clock.text().endswith("about 42 s left")
    now[0] += 60.0  # slower: 30 photos in 80 s since the first report, said per photo
    clock.update(38, 70)
    assert "2.7 s per photo" in clock.text()
    assert duration_text(200) == "about 3 min" and duration_text(4000) == "about 1 h 7 min"
    clock.update(70, 70)
    assert clock.text().endswith("writing the results…")
