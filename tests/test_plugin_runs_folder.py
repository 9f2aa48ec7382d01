"""Where runs are saved, in real QGIS (issue 20 item 7): the dock says where each run
went with a link that opens its folder, "Open run…" starts there, and the user chooses
the runs folder in the Model tab (remembered between sessions)."""

from __future__ import annotations

import os

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QObject, QUrl, pyqtSlot
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QFileDialog

from tests.photo_factory import make_jpeg
from tests.test_plugin_fixtures import add_and_wait, import_plugin, spin_until

import_plugin()
from geodecoder.services.run.runs_folder import (  # noqa: E402
    default_runs_dir,
    legacy_runs_dir,
    open_run_start,
)
from geodecoder.services.settings import DockSettings  # noqa: E402


class FolderOpener(QObject):
    """Stands where the desktop's file manager would: Qt hands it the URLs that
    ``QDesktopServices.openUrl`` is asked to open (``setUrlHandler``, Qt's own hook)."""

    def __init__(self):
        super().__init__()
        self.opened: list[str] = []

    @pyqtSlot(QUrl)
    def open(self, url):
        self.opened.append(url.toLocalFile())


def _run(plugin, photos, bundle) -> str:
    dock, service = plugin.dock, plugin.service
    add_and_wait(dock, [str(photos)])
    dock.options.model.setFilePath(str(bundle))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.options.attention.setChecked(False)
    finished = []
    service.runFinished.connect(lambda outcome, _layers: finished.append(outcome))
    dock.run_button.click()
    assert spin_until(lambda: finished and service.task is None, seconds=120)
    return finished[0].gpkg_path


def test_the_dock_says_where_the_run_went_and_open_run_starts_there(
        plugin, tiny_bundle_dir, tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    make_jpeg(photos / "a.jpg", size=(160, 120), color=(90, 120, 40))
    chosen = tmp_path / "case 42" / "runs"  # not there yet: the first run makes it
    dock = plugin.dock
    dock.options.runs_folder.setFilePath(str(chosen))

    gpkg = _run(plugin, photos, tiny_bundle_dir)

    assert os.path.dirname(gpkg) == str(chosen) and os.path.isfile(gpkg)
    line = dock.saved_run.text()
    assert line.startswith("Saved in runs (") and line.endswith(os.path.basename(gpkg))
    assert dock.saved_run.toolTip() == gpkg  # the full path, on hover
    assert DockSettings.load().runs_dir == str(chosen)  # remembered for the next session
    assert dock.widget().minimumSizeHint().width() <= 290  # a narrow dock stays narrow

    opener = FolderOpener()
    QDesktopServices.setUrlHandler("file", opener, "open")
    try:
        link = QUrl.fromLocalFile(str(chosen)).toString()
        assert link in line
        dock.saved_run.linkActivated.emit(link)  # the user clicks "show folder"
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert opener.opened == [str(chosen)]

    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(
        lambda _parent, _title, folder, _filter: asked.append(folder) or ("", "")))
    dock.open_run_button.click()  # the user clicks "Open run…"
    assert asked == [str(chosen)]


def test_runs_go_to_a_visible_folder_not_the_qgis_profile(plugin, tmp_path):
    profile = os.path.abspath(QgsApplication.qgisSettingsDirPath())
    assert not os.path.abspath(default_runs_dir()).startswith(profile)
    assert os.path.abspath(legacy_runs_dir()).startswith(profile)
    dock = plugin.dock
    assert dock.options.runs_dir() == ""  # empty: the default, shown in the field
    assert dock.options.runs_folder.lineEdit().placeholderText() == str(default_runs_dir())
    assert dock.params().runs_dir is None


def test_run_files_are_named_by_time_and_never_replace_one(tmp_path):
    from datetime import datetime

    from geodecoder.services.run.service import new_run_file

    when = datetime(2026, 12, 7, 4, 5, 6)
    first = new_run_file(tmp_path, when)
    assert os.path.basename(first) == "geodecoder-20261207-040506.gpkg"
    open(first, "wb").close()
    second = new_run_file(tmp_path, when)  # the second run of a split, the same second
    assert os.path.basename(second) == "geodecoder-20261207-040506-2.gpkg"
    open(second, "wb").close()
    assert new_run_file(tmp_path, when).endswith("-3.gpkg")


def test_open_run_start_falls_back_to_a_folder_that_exists(tmp_path):
    gone = tmp_path / "moved away"
    chosen = tmp_path / "runs"
    old = tmp_path / "profile" / "geodecoder" / "runs"  # where 0.2.0 saved runs
    assert open_run_start(str(gone), str(chosen), old) == str(tmp_path)  # nothing exists
    old.mkdir(parents=True)
    assert open_run_start(str(gone), str(chosen), old) == str(tmp_path)  # no run there
    (old / "geodecoder-20261101-101010.gpkg").write_bytes(b"")
    assert open_run_start(str(gone), str(chosen), old) == str(old)  # an upgrader's runs
    chosen.mkdir()
    assert open_run_start(str(gone), str(chosen), old) == str(chosen)
    gone.mkdir()
    assert open_run_start(str(gone), str(chosen), old) == str(gone)  # the last run's folder


def test_a_run_opened_from_elsewhere_is_where_open_run_starts_next(
        plugin, tiny_bundle_dir, tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    photos.mkdir()
    make_jpeg(photos / "b.jpg", size=(160, 120), color=(10, 60, 140))
    gpkg = _run(plugin, photos, tiny_bundle_dir)
    elsewhere = tmp_path / "from a colleague"
    elsewhere.mkdir()
    copy = elsewhere / "their-run.gpkg"
    copy.write_bytes(open(gpkg, "rb").read())

    assert plugin.open_run(str(copy))
    line = plugin.dock.saved_run.text()
    assert line.startswith("Opened from from a colleague (") and line.endswith("their-run.gpkg")
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(
        lambda _parent, _title, folder, _filter: asked.append(folder) or ("", "")))
    plugin.dock.open_run_button.click()
    assert asked == [str(elsewhere)]


def test_a_runs_folder_that_cannot_be_made_is_one_line_and_no_run(plugin, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    make_jpeg(photos / "c.jpg", size=(160, 120), color=(10, 200, 40))
    blocker = tmp_path / "not a folder"
    blocker.write_text("a file where the runs folder should be")
    dock, service = plugin.dock, plugin.service
    add_and_wait(dock, [str(photos)])
    dock.options.runs_folder.setFilePath(str(blocker / "runs"))
    failed = []
    service.runFailed.connect(failed.append)
    dock.run_button.click()
    assert service.task is None and len(failed) == 1
    assert failed[0].startswith("Not run: the runs folder") and "Model tab" in failed[0]
    assert "\n" not in failed[0] and dock.status.text().endswith(failed[0])
    assert dock.run_button.isEnabled() and not dock.cancel_button.isEnabled()


def test_a_runs_folder_typed_with_a_tilde_is_the_home_folder(plugin, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    from geodecoder.services.run.params import GeolocateParams

    path = plugin.service.output_path_for(GeolocateParams(photos=("x.jpg",),
                                                          runs_dir="~/case runs"))
    assert os.path.dirname(path) == str(tmp_path / "case runs")
