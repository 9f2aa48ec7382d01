"""Run, Stop and keep, Cancel, and what the dock says around them, in real QGIS
(issue 20 items 1, 9, 10): clues said where Run is pressed and applied to the selected
photos only on request, buttons that stay put, a bar that resets after a cancel, the
photos done kept on request, and the time a run will take said before it starts.

A run is held after its first batch (a worker-thread gate on the task's first count)
so that the real buttons are clicked while it runs, whatever the machine's speed.
"""

from __future__ import annotations

import threading

from osgeo import ogr
from qgis.PyQt.QtCore import Qt

from tests.photo_factory import make_jpeg
from tests.test_plugin_fixtures import add_and_wait, import_plugin, spin_until

import_plugin()


def photos_in(folder, n):
    folder.mkdir()
    for i in range(n):
        make_jpeg(folder / f"p{i:02d}.jpg", size=(160, 120), color=(20 * i % 255, 100, 50))
    return folder


def setup(plugin, folder, bundle, batch=2):
    dock = plugin.dock
    add_and_wait(dock, [str(folder)])
    dock.options.model.setFilePath(str(bundle))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.options.batch_size.setValue(batch)
    dock.options.attention.setChecked(False)
    return dock


class Gate:
    """Holds the run's worker thread at its first count until ``release``."""

    def __init__(self, service):
        self.held, self.go = threading.Event(), threading.Event()
        service.runStarted.connect(self._arm)

    def _arm(self, task):
        task.countChanged.connect(self._hold, Qt.DirectConnection)

    def _hold(self, done, _total):
        if done > 0 and not self.go.is_set():
            self.held.set()
            self.go.wait(60)

    def release(self):
        self.go.set()


def info_and_rows(gpkg):
    ds = ogr.Open(gpkg)
    info = {f.GetField("key"): f.GetField("value") for f in ds.GetLayerByName("run_info")}
    return info, ds.GetLayerByName("predictions").GetFeatureCount()


def test_stop_and_keep_commits_the_photos_done_and_the_buttons_stay_put(
        plugin, tmp_path, tiny_bundle_dir):
    dock, service = setup(plugin, photos_in(tmp_path / "in", 12), tiny_bundle_dir), \
        plugin.service
    dock.setFloating(True)
    dock.resize(300, 820)
    dock.show()
    spin_until(lambda: False, seconds=0.1)

    def where():
        return [b.mapTo(dock, b.rect().topLeft()) for b in
                (dock.run_button, dock.keep_button, dock.cancel_button)]

    before = where()
    gate, finished = Gate(service), []
    service.runFinished.connect(lambda outcome, _layers: finished.append(outcome))
    assert not dock.keep_button.isEnabled()
    dock.run_button.click()
    assert spin_until(gate.held.is_set, seconds=60)
    assert spin_until(dock.keep_button.isEnabled, seconds=10)  # a photo is done: keep it
    assert where() == before, (before, where())  # nothing moved under the mouse
    assert "photos/s" in dock.status.text() or "per photo" in dock.status.text() \
        or "estimating" in dock.status.text()
    dock.keep_button.click()
    gate.release()
    assert spin_until(lambda: service.task is None, seconds=60)
    assert finished, dock.status.text()
    outcome = finished[0]
    assert 0 < outcome.predicted < 12 and outcome.stopped_early == 12 - outcome.predicted
    info, rows = info_and_rows(outcome.gpkg_path)
    assert rows == outcome.predicted
    assert info["stopped_by_user"].startswith(f"{outcome.predicted} of 12 photos done")
    assert f"stopped: {outcome.stopped_early} photo(s) not geolocated" in dock.status.text()
    assert where() == before


def test_cancel_resets_the_bar_and_keeps_nothing(plugin, tmp_path, tiny_bundle_dir):
    dock, service = setup(plugin, photos_in(tmp_path / "in", 12), tiny_bundle_dir), \
        plugin.service
    gate, cancelled = Gate(service), []
    service.runCancelled.connect(lambda: cancelled.append(True))
    dock.run_button.click()
    assert spin_until(gate.held.is_set, seconds=60)
    assert spin_until(lambda: dock.progress.value() > 0, seconds=10)
    dock.cancel_button.click()
    gate.release()
    assert spin_until(lambda: service.task is None, seconds=60)
    assert cancelled and dock.status.text() == "Cancelled: nothing was added."
    assert dock.progress.value() == 0  # not left at the last value (it stayed at 100 %)
    assert not dock.keep_button.isEnabled() and dock.run_button.isEnabled()


def test_active_clues_are_said_at_run_and_apply_to_the_selected_photos_only(
        plugin, tmp_path, tiny_bundle_dir):
    dock, service = setup(plugin, photos_in(tmp_path / "in", 5), tiny_bundle_dir), \
        plugin.service
    assert dock.run_button.text() == "Run"
    assert dock.run_summary.text() == "No clue: the model's answer as it is."
    keep = dock.clues.keep_countries
    keep.setItemCheckState(keep.findData("JP"), Qt.Checked)
    assert dock.run_button.text() == "Run (1 clue(s))"
    assert dock.run_summary.text() == "Clues: keep JP — on all 5 photo(s)"
    dock.selected_only.setChecked(True)
    assert dock.request_run() is None  # nothing selected: refused, and said why
    assert "no photo is selected" in dock.status.text()
    dock.photos.item(1).setSelected(True)
    chosen = dock.photos.item(1).data(Qt.UserRole)
    assert dock.run_summary.text().startswith(
        "Clues: keep JP — on the 1 selected photo(s); the other 4 run without them")
    finished = []
    service.runFinished.connect(lambda outcome, _layers: finished.append(outcome))
    first = dock.request_run()
    assert first.photos == (chosen,) and first.clues
    assert spin_until(lambda: len(finished) == 2 and service.task is None, seconds=120), \
        dock.status.text()
    with_clue, without = (info_and_rows(o.gpkg_path) for o in finished)
    assert with_clue[1] == 1 and with_clue[0]["constraints"] == "1"
    assert "JP" in with_clue[0]["constraint_1"]
    assert without[1] == 4 and without[0]["constraints"] == "0"
    # each run's layers in the project: two groups
    assert len(plugin.service.project.layerTreeRoot().children()) >= 2


def test_the_expected_time_is_said_before_a_long_cpu_run(plugin, tmp_path, tiny_bundle_dir):
    dock = setup(plugin, photos_in(tmp_path / "in", 2), tiny_bundle_dir)
    assert "Expected" not in dock.run_summary.text()  # two photos: not worth saying
    text = dock.expected_time(5000)  # the default model's measured 18.7 photos/s
    assert text.startswith("about 4 min on the CPU with this model"), text
    dock.options.device.setCurrentIndex(dock.options.device.findData("gpu"))
    assert dock.expected_time(5000) == ""  # nothing measured on a GPU: nothing said
