"""The Clues tab's "Text in the photo" box in real QGIS: the text's countries are
suggested, put in Keep only on request, stay editable, and the run's constraint records
the text they came from."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt

from tests.test_plugin_fixtures import import_plugin

import_plugin()
from geodecoder.services.clues.constraints import build_constraints  # noqa: E402
from geodecoder.services.clues.request import KEEP, AreaRequest  # noqa: E402


def _suggest(panel, text: str, language: str = ""):
    box = panel.text_clue
    box.text.setText(text)
    box.language.setCurrentIndex(box.language.findData(language))
    box.suggest_button.click()
    return box


def test_polish_text_fills_keep_only_with_poland_and_records_the_text(plugin):
    panel = plugin.dock.clues
    box = _suggest(panel, "Apteka Świeża")
    assert "Polish" in box.result.text() and "keep PL" in box.result.text()
    assert box.use_button.isEnabled() and not panel.request()  # a suggestion, not a clue
    box.use_button.click()
    assert panel.keep_countries.checkedItemsData() == ["PL"]
    plugin.dock.update_run_summary()  # the line under Run names where the countries came from
    assert plugin.dock.run_summary.text() == ("Clues: keep PL (from the text) — on the "
                                              "photos you add")  # none listed yet
    request = panel.request()
    assert request.areas == (AreaRequest(KEEP, countries=("PL",), text="Apteka Świeża"),)
    area, = build_constraints(request).areas
    assert area.include and area.source == "text"
    assert area.describe() == ('keep only countries: PL (from text "Apteka Świeża": '
                               "Latin script, letters ś, ż -> Polish)")
    index = panel.keep_countries.findData("DE")  # the person may still edit the list
    panel.keep_countries.setItemCheckState(index, Qt.Checked)
    area, = build_constraints(panel.request()).areas
    assert "edited by hand" in area.label and area.parameters()["countries"] == "DE,PL"
    panel.clear()
    assert not panel.request() and box.text.text() == "" and box.applied is None


def test_plain_latin_is_no_clue_and_a_chosen_language_overrides(plugin):
    panel = plugin.dock.clues
    box = _suggest(panel, "Pharmacy")
    assert "no clue" in box.result.text() and not box.use_button.isEnabled()
    box = _suggest(panel, "Pharmacy", "uk")
    assert "Ukrainian" in box.result.text() and box.use_button.isEnabled()
    box.use_button.click()
    assert panel.keep_countries.checkedItemsData() == ["RS", "UA"]  # Vojvodina too
    box.text.setText("Аптека")  # a new text: the old provenance no longer holds
    assert box.applied is None and not box.use_button.isEnabled()
    assert panel.request().areas == (AreaRequest(KEEP, countries=("RS", "UA")),)


def test_the_language_list_names_every_language_and_waits_for_babel(plugin, monkeypatch):
    """No "wni (wni)" in the list; and an empty list (babel not installed yet) is not
    remembered, so the list fills once the Install tab has installed babel."""
    from geodecoder.inference.textclue import languages
    from geodecoder.services.clues import text_clue

    box = plugin.dock.clues.text_clue
    assert box.language.count() == 1  # filled when first opened: no engine at start-up
    box.language.fill()
    shown = [box.language.itemText(i) for i in range(1, box.language.count())]
    assert "Polish (pl)" in shown and "Filipino (fil)" in shown
    assert not [x for x in shown if x.split(" (")[0] == x.split(" (")[-1].rstrip(")")]

    def missing():
        raise ImportError("No module named 'babel'")

    monkeypatch.setattr(languages, "official_language_choices", missing)
    assert text_clue.language_choices() == ()
    monkeypatch.undo()
    assert ("pl", "Polish") in text_clue.language_choices()


def test_processing_takes_the_text_clue(provider, tmp_path, tiny_bundle_dir):
    """TEXT_CLUE in Processing as --text-clue on the command line: the tiny model (Paris,
    Nairobi, Tokyo, Lima, Sydney, Suva) answers inside Japan for Japanese text; a text
    without a clue and a language without a text stop the run with their reason."""
    import processing
    import pytest
    from osgeo import ogr
    from qgis.core import QgsProcessingException
    from shapely.geometry import Point

    from geodecoder.inference.constraints import countries_area
    from tests.photo_factory import make_jpeg

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        make_jpeg(photos / f"p{i}.jpg", size=(160, 120), color=(40 * i, 90, 160))
    base = {"INPUT": str(photos), "MODEL": str(tiny_bundle_dir), "DEVICE": 1}
    out = tmp_path / "run.gpkg"
    result = processing.run("geodecoder:geolocate_photos", {
        **base, "TEXT_CLUE": "東京タワー", "RUN": str(out)})
    assert result["RUN"] == str(out)
    japan = countries_area("JP").geometry
    ds = ogr.Open(str(out))  # read with OGR: QGIS layers left to the exit-time teardown
    points = [(f["lon"], f["lat"]) for f in ds.GetLayerByName("candidates")]  # crashed it
    assert len(points) >= 3 and all(japan.contains(Point(x, y)) for x, y in points)
    lines = {f["key"]: f["value"] for f in ds.GetLayerByName("run_info")}
    assert "東京タワー" in lines["constraint_1"] and "Japanese" in lines["constraint_1"]
    ds = None

    for extra, message in (({"TEXT_CLUE": "Pharmacy"}, "no clue"),
                           ({"TEXT_CLUE_LANGUAGE": "pl"}, "needs TEXT_CLUE")):
        with pytest.raises(QgsProcessingException, match=message):
            processing.run("geodecoder:geolocate_photos",
                           {**base, **extra, "RUN": str(tmp_path / "refused.gpkg")})
    assert not (tmp_path / "refused.gpkg").exists()
