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
from geodecoder.ui.dock import GeolocateDock  # noqa: E402
from geodecoder.ui.params import GeolocateParams  # noqa: E402
from geodecoder.ui.run_pipeline import default_bundle_path  # noqa: E402
from geodecoder.ui.settings import DockSettings  # noqa: E402


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
    from geodecoder.ui.dependencies import is_available
    from geodecoder.ui.image_loading import read_qimage
    from tests.test_plugin_fixtures import ROOT

    heic = ROOT / "resources" / "samples" / "sigal_outdoor.heic"
    if not heic.exists() or not is_available("pillow_heif"):
        pytest.skip("no HEIC sample or no pillow-heif here")
    image = read_qimage(str(heic), 64)
    assert image is not None and max(image.width(), image.height()) == 64


def test_a_big_folder_is_walked_in_the_background(dock, tmp_path, monkeypatch):
    """A large (NAS) folder must not freeze the dock: add_paths returns at once, the
    dock stays usable, and the list fills when the background walk ends."""
    import time

    from geodecoder.ui import photo_list
    from qgis.PyQt.QtCore import QTimer

    folder = tmp_path / "nas"
    for sub in range(3):
        (folder / f"day{sub}").mkdir(parents=True)
        for i in range(100):
            (folder / f"day{sub}" / f"IMG_{i:04d}.jpg").write_bytes(b"\xff\xd8\xff junk")
    (folder / "notes.txt").write_text("not a photo")
    real_finder = photo_list.photo_finder

    def slow_finder():  # a slow network share: every walk takes a while
        find = real_finder()

        def walk(paths):
            time.sleep(0.5)
            return find(paths)
        return walk

    monkeypatch.setattr(photo_list, "photo_finder", slow_finder)
    t0 = time.perf_counter()
    assert dock.add_paths([str(folder)]) == 0
    assert time.perf_counter() - t0 < 0.4  # returned before the walk ended
    assert dock.photos.count() == 0 and dock.photos.is_scanning()
    assert "Looking for photos" in dock.status.text()
    assert not dock.run_button.isEnabled()  # no run on a half-listed folder
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    assert spin_until(lambda: not dock.photos.is_scanning(), seconds=30)
    timer.stop()
    assert len(ticks) >= 10  # the event loop kept running during the walk
    assert dock.photos.count() == 300
    assert dock.photos.paths() == sorted(dock.photos.paths())
    assert "300 photo(s) added" in dock.status.text()

    # Clear while a walk runs: it is dropped, nothing appears later
    dock.add_paths([str(folder / "day0")])
    assert dock.photos.is_scanning()
    dock.photos.clear_photos()
    assert not dock.photos.is_scanning()
    assert spin_until(lambda: not dock.photos._scans, seconds=30)
    assert dock.photos.count() == 0


def test_device_choices_say_what_gpu_means(dock):
    texts = [dock.options.device.itemText(i) for i in range(dock.options.device.count())]
    assert texts[2] == "GPU (CUDA or Apple MPS)"
    assert "Apple MPS" in texts[0] and texts[1] == "CPU"
    assert dock.options.device.itemData(2) == "gpu"
