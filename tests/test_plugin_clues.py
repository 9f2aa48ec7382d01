"""The dock's Clues tab as a person uses it: tick a country, pick a layer, draw a
rectangle, give the sun; a run then keeps to them, a bad clue runs nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from qgis.core import (QgsCoordinateReferenceSystem, QgsProject,
                       QgsRectangle)
from qgis.PyQt.QtCore import Qt
from shapely.geometry import Point

from tests.test_plugin_fixtures import import_plugin, memory_layer, spin_until

import_plugin()
from geodecoder.inference.constraints import countries_area  # noqa: E402
from geodecoder.services.clues.constraints import build_constraints, country_choices  # noqa: E402
from geodecoder.services.clues.request import (EXCLUDE, KEEP, AreaRequest,  # noqa: E402
                                                    SunRequest)
from geodecoder.services.run.result_details import details_for  # noqa: E402
from geodecoder.services.run.pipeline import default_bundle_path  # noqa: E402
from geodecoder.ui import clues_panel  # noqa: E402
from geodecoder.ui.dock import TAB_CLUES, TAB_RESULT  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def _check(combo, code: str) -> None:
    index = combo.findData(code)
    assert index >= 0, code
    combo.setItemCheckState(index, Qt.Checked)


def test_the_country_list_is_the_shipped_boundary_set():
    choices = dict(country_choices())
    assert len(choices) > 200
    assert choices["CH"] == "Switzerland" and choices["FR"] == "France"


def test_ticked_countries_become_area_clues(plugin):
    panel = plugin.dock.clues
    assert not panel.request()  # nothing set: no clue
    _check(panel.keep_countries, "CH")
    _check(panel.keep_countries, "AT")
    _check(panel.exclude_countries, "LI")
    request = panel.request()
    assert request.areas == (AreaRequest(KEEP, countries=("AT", "CH")),  # list order
                             AreaRequest(EXCLUDE, countries=("LI",)))
    assert "2 clue(s)" in panel.summary.text()
    constraints = build_constraints(request)
    keep, drop = constraints.areas
    assert keep.include and keep.geometry.contains(Point(8.54, 47.37))  # Zurich
    assert keep.geometry.contains(Point(16.37, 48.21))  # Vienna
    assert not drop.include and drop.geometry.contains(Point(9.52, 47.14))  # Vaduz
    assert plugin.dock.params().clues == request
    panel.clear()
    assert not panel.request()


def test_a_layer_selection_and_a_drawn_rectangle_in_web_mercator(plugin):
    panel = plugin.dock.clues
    layer = memory_layer([
        "POLYGON((890000 5980000, 1010000 5980000, 1010000 6060000, 890000 6060000, "
        "890000 5980000))",  # around Zurich
        "POLYGON((240000 6230000, 290000 6230000, 290000 6270000, 240000 6270000, "
        "240000 6230000))"])  # around Paris
    QgsProject.instance().addMapLayer(layer)
    layer.selectByIds([min(f.id() for f in layer.getFeatures())])  # Zurich only
    panel.layer.setLayer(layer)
    panel.layer_mode.setCurrentIndex(panel.layer_mode.findData(EXCLUDE))
    panel.selected_only.setChecked(True)
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    panel.set_rectangle(QgsRectangle(-1113195, 4865942, 2226390, 7361866),  # -10..20 E, 40..55 N
                        mercator.toWkt())
    assert panel.rect_label.text() != "No rectangle"
    request = panel.request()
    assert [a.mode for a in request.areas] == [EXCLUDE, KEEP]
    layer_clue, rect_clue = build_constraints(request).areas
    assert not layer_clue.include and layer_clue.geometry.contains(Point(8.54, 47.37))
    assert not layer_clue.geometry.contains(Point(2.35, 48.86))  # not selected
    minx, miny, maxx, maxy = rect_clue.geometry.bounds
    assert (minx, maxx) == pytest.approx((-10, 20), abs=0.01)
    assert (miny, maxy) == pytest.approx((40, 55), abs=0.01)
    panel.clear()


def test_the_sun_clue_from_elevation_or_shadow(plugin):
    panel = plugin.dock.clues
    panel.sun.setChecked(True)
    panel.set_time_utc(datetime(2024, 6, 1, 14, 10, tzinfo=timezone.utc))
    panel.by_shadow.setChecked(True)
    panel.height.setValue(1.8)
    panel.length.setValue(2.5)
    panel.tolerance.setValue(1.5)
    sun = panel.request().sun
    assert sun == SunRequest("2024-06-01T14:10:00Z", tolerance_deg=1.5, object_height=1.8,
                             shadow_length=2.5)
    built = build_constraints(panel.request()).sun
    assert built.elevation_deg == pytest.approx(35.75, abs=0.01)  # atan(1.8 / 2.5)
    assert built.time_utc == datetime(2024, 6, 1, 14, 10, tzinfo=timezone.utc)
    panel.clear()


def test_the_time_comes_from_the_photos_exif_once_the_offset_is_confirmed(plugin, tmp_path,
                                                                          monkeypatch):
    from PIL import Image

    photo = tmp_path / "timed.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769).update({0x9003: "2024:06:01 16:10:00", 0x9011: "+02:00"})
    Image.new("RGB", (64, 48), (90, 120, 150)).save(photo, "JPEG", exif=exif.tobytes())
    dock = plugin.dock
    dock.add_paths([str(photo)])
    asked = []

    def answer(_parent, _title, label, text=""):  # the user confirms what is proposed
        asked.append((label, text))
        return text, True

    monkeypatch.setattr(clues_panel.QInputDialog, "getText", staticmethod(answer))
    assert dock.clues.time_from_photo()
    assert asked and asked[0][1] == "+02:00" and "2024-06-01 16:10:00" in asked[0][0]
    assert dock.clues.sun.isChecked()
    assert dock.clues.time_utc_iso() == "2024-06-01T14:10:00Z"
    # an offset that does not read leaves the time as it was, and says why
    monkeypatch.setattr(clues_panel.QInputDialog, "getText",
                        staticmethod(lambda *a, **k: ("two hours", True)))
    assert not dock.clues.time_from_photo()
    assert "offset" in dock.clues.summary.text()
    assert dock.clues.time_utc_iso() == "2024-06-01T14:10:00Z"
    dock.clues.clear()


@pytest.mark.skipif(default_bundle_path() is None, reason="needs the default model")
def test_a_run_with_a_country_clue_stays_inside_it_and_the_result_says_so(plugin, tmp_path):
    dock, service = plugin.dock, plugin.service
    dock.add_paths([str(p) for p in sorted(SAMPLES.glob("*.jpg"))[:3]])
    dock.options.output.setFilePath("")
    dock.options.model.setFilePath("")  # the default model
    _check(dock.clues.keep_countries, "CH")
    finished = []
    service.runFinished.connect(lambda outcome, layers: finished.append(layers))
    dock.run_button.click()
    assert spin_until(lambda: service.task is None, seconds=180), "the run did not end"
    assert finished, dock.status.text()
    switzerland = countries_area(["CH"]).geometry
    predictions = finished[0].predictions
    feats = list(predictions.getFeatures())
    assert len(feats) == 3
    for f in feats:
        point = f.geometry().asPoint()
        assert switzerland.buffer(0.01).contains(Point(point.x(), point.y()))
        assert 0.0 <= f["constraint_mass_removed"] <= 1.0
    dock.show_result(details_for(feats[0], finished[0]))
    assert dock.tabs.currentIndex() == TAB_RESULT
    assert "Clues removed" in dock.result_view.text.toPlainText()
    dock.clues.clear()


def test_a_bad_clue_runs_nothing_and_keeps_the_old_file(plugin, tmp_path):
    dock, service = plugin.dock, plugin.service
    out = tmp_path / "case.gpkg"
    out.write_bytes(b"an earlier run")
    dock.add_paths([str(sorted(SAMPLES.glob("*.jpg"))[0])])
    layer = memory_layer([], crs="EPSG:4326", name="nothing here")
    QgsProject.instance().addMapLayer(layer)
    dock.clues.layer.setLayer(layer)  # an empty layer
    failed = []
    service.runFailed.connect(failed.append)
    request = dock.params()
    from dataclasses import replace

    assert service.start(replace(request, output_path=str(out))) is None
    assert failed and failed[0].startswith("Not run:") and "empty" in failed[0]
    assert service.task is None
    assert out.read_bytes() == b"an earlier run"
    dock.clues.clear()


def test_a_sun_clue_with_several_photos_listed_is_refused(plugin):
    dock, service = plugin.dock, plugin.service
    dock.add_paths([str(p) for p in sorted(SAMPLES.glob("*.jpg"))[:2]])
    dock.clues.sun.setChecked(True)
    assert dock.request_run() is None and service.task is None
    assert dock.status.text().startswith("Not run: the sun clue holds for one photo")
    assert dock.tabs.currentIndex() == TAB_CLUES
    dock.clues.clear()
