"""The dock builds, takes photos (buttons' code paths, folders, drag and drop), fills a
GeolocateParams from its widgets, emits it on Run, and remembers its settings."""

from __future__ import annotations

import dataclasses

import pytest
from qgis.PyQt.QtCore import QMimeData, QPoint, Qt, QUrl
from qgis.PyQt.QtGui import QDropEvent

from tests.test_plugin_fixtures import import_plugin, photo_folder, spin_until  # noqa: F401

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
    assert dock.add_paths([str(folder)]) == len(files["good"]) + len(files["broken"])
    assert dock.add_paths([files["good"][0]]) == 0  # already listed
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
    added = dock.add_paths([str(tmp_path / "hostile")])
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
