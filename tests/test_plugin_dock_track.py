"""The Clues tab's Track section in real QGIS: a dock run places photos by time, the
preview counts them off the main thread, the clock-photo helper gives the offset."""

from __future__ import annotations

from osgeo import ogr

from tests.photo_factory import make_jpeg
from tests.test_plugin_fixtures import add_and_wait, import_plugin, spin_until
from tests.test_track_run import make_collection, truth, write_gpx

import_plugin()
from geodecoder.services.clues.request import TrackRequest  # noqa: E402


def methods_of(gpkg: str) -> dict:
    ds = ogr.Open(gpkg)
    layer = ds.GetLayerByName("predictions")
    rows = {f.GetField("file_name"): (f.GetField("method"), f.GetField("lat"),
                                       f.GetField("lon")) for f in layer}
    info = {f.GetField("key"): f.GetField("value") for f in ds.GetLayerByName("run_info")}
    return rows, info


def test_a_dock_run_places_photos_by_the_collections_own_gps(plugin, tmp_path,
                                                            tiny_bundle_dir):
    dock, service = plugin.dock, plugin.service
    folder = make_collection(tmp_path / "trip")
    assert add_and_wait(dock, [str(folder)]) == 10
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.track.own_photos.setChecked(True)
    dock.track.max_gap.setValue(60)
    finished = []
    service.runFinished.connect(lambda outcome, _layers: finished.append(outcome))
    params = dock.request_run()
    assert params is not None and params.track == TrackRequest(photos_as_track=True,
                                                               max_gap_s=3600.0)
    assert spin_until(lambda: service.task is None, seconds=120), "the run did not end"
    assert finished, dock.status.text()
    rows, info = methods_of(finished[0].gpkg_path)
    assert rows["IMG_3.jpg"][0] == "track" and rows["IMG_2.jpg"][0] == "exif"
    assert rows["late.jpg"][0] == "model" and rows["notime.jpg"][0] == "model"
    # IMG_3 is half way between IMG_2 and IMG_4 in time: the track puts it between them
    lat3 = (truth(2)[0] + truth(4)[0]) / 2
    assert abs(rows["IMG_3.jpg"][1] - lat3) < 1e-3
    assert info["track_max_gap_s"] == "3600"


def test_a_camera_offset_that_does_not_read_refuses_the_run(plugin, tmp_path,
                                                             tiny_bundle_dir):
    dock, service = plugin.dock, plugin.service
    add_and_wait(dock, [str(make_collection(tmp_path / "trip"))])
    dock.options.model.setFilePath(str(tiny_bundle_dir))
    dock.track.own_photos.setChecked(True)
    dock.track.offset.setText("five minutes")
    dock.request_run()
    assert service.task is None
    assert "Not run: cannot read the camera offset" in dock.status.text()


def test_the_preview_counts_how_the_track_would_place_the_photos(plugin, tmp_path):
    dock = plugin.dock
    folder = make_collection(tmp_path / "trip")
    add_and_wait(dock, [str(folder)])
    panel = dock.track
    assert panel.preview() is None  # no track asked for: nothing to count
    assert "GPX" in panel.status.text()
    panel.own_photos.setChecked(True)
    panel.max_gap.setValue(60)
    texts = []
    panel.previewFinished.connect(texts.append)
    assert panel.preview() is not None
    assert panel.busy()  # counted in a task: the dock's event loop goes on meanwhile
    assert spin_until(lambda: texts, seconds=30)
    assert texts[0].startswith("Of 10 photo(s): 4 by their own GPS, 4 by the track, "
                               "2 by the model."), texts[0]
    # a GPX that covers the photos without GPS, the own photos off: the GPX places them
    panel.own_photos.setChecked(False)
    gpx = write_gpx(tmp_path / "walk.gpx", [
        (*truth(i), f"2024-06-01T{12 + i // 6:02d}:{10 * i % 60:02d}:00Z") for i in range(8)])
    panel.add_gpx([str(gpx), str(gpx)])
    assert panel.gpx_paths() == [str(gpx)]  # listed once
    panel.preview()
    assert spin_until(lambda: len(texts) == 2, seconds=30)
    assert texts[1].startswith("Of 10 photo(s): 4 by their own GPS, 4 by the track"), texts[1]
    assert dock.params().track.gpx == (str(gpx),)


def test_the_clock_photo_gives_the_camera_offset(plugin, tmp_path):
    panel = plugin.dock.track
    clock = make_jpeg(tmp_path / "clock.jpg", size=(64, 48), taken="2024:06:01 14:05:30")
    assert panel.set_offset_from(str(clock), "14:00:00")
    assert panel.offset.text() == "+00:05:30"  # the camera is 5 min 30 s fast
    assert panel.request().camera_offset == "+00:05:30"
    assert panel.set_offset_from(str(clock), "2024-06-01 14:10")
    assert panel.offset.text() == "-00:04:30"
    # a clock read just after midnight: the next day, not 24 h off
    late = make_jpeg(tmp_path / "late.jpg", size=(64, 48), taken="2024:06:01 23:58:00")
    assert panel.set_offset_from(str(late), "00:01:00")
    assert panel.offset.text() == "-00:03:00"
    assert not panel.set_offset_from(str(clock), "around two")
    assert "cannot read the time" in panel.status.text()
    assert panel.offset.text() == "-00:03:00"  # a bad entry leaves the offset as it was
    no_time = make_jpeg(tmp_path / "notime.jpg", size=(64, 48))
    assert not panel.set_offset_from(str(no_time), "14:00:00")
    assert "no capture time" in panel.status.text()
