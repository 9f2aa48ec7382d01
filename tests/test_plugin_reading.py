"""Issue 20, reading the answer in QGIS: the dock's words at the precision the answer
has (item 2), why the point is where it is and how the candidates relate to it (item 3),
on a run GeoPackage written by the plugin's own pipeline and read through QGIS."""

from __future__ import annotations

import re
import shutil
import sqlite3

import numpy as np

import pytest
from osgeo import ogr
from qgis.core import (QgsExpressionContext, QgsExpressionContextUtils, QgsPointClusterRenderer,
                       QgsRenderContext, QgsSymbolLayer)
from qgis.PyQt.QtWidgets import QLabel

from tests.test_plugin_fixtures import import_plugin, photo_folder, pick_on_map  # noqa: F401

import_plugin()
from geodecoder.inference.geo import haversine_km  # noqa: E402
from geodecoder.services.case_report.facts import read_run  # noqa: E402
from geodecoder.services.case_report.text import prediction_lines  # noqa: E402
from geodecoder.services.run import layers as run_layers  # noqa: E402
from geodecoder.services.run import pipeline as run_pipeline  # noqa: E402
from geodecoder.services.run.result_details import (details_for,  # noqa: E402
                                                first_feature_of_photo)
from geodecoder.services.run.project_runs import ProjectRuns  # noqa: E402
from geodecoder.ui.result_view import (DetailsLabel, ResultView, summary_html,  # noqa: E402
                                       tables_html)

FOUR_DECIMALS = re.compile(r"-?\d+\.\d{4}")


@pytest.fixture(scope="module")
def run_gpkg(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    """The good photos geolocated by the plugin's pipeline with 'Why here?' maps kept
    (also returned as the records carried them, by photo)."""
    out = tmp_path_factory.mktemp("reading") / "run.gpkg"
    stream = run_pipeline.PredictionStream(photo_folder[1]["good"], str(tiny_bundle_dir),
                                           device="cpu", batch_size=4, top_k=3,
                                           attention=True)
    maps = {}
    gpkg = run_pipeline.predict_to_geopackage(
        out, stream, on_record=lambda r: maps.setdefault(r.path, r.attention))
    assert gpkg is not None
    RUN_MAPS.update(maps)
    return gpkg, photo_folder[1]["good"]


RUN_MAPS: dict = {}  # photo path -> the maps the run's records carried


def _edited(gpkg, target, path: str, **values):
    """A copy of the run with some predictions fields of `path` set."""
    shutil.copy(gpkg, target)
    ds = ogr.Open(str(target), 1)
    layer = ds.GetLayerByName("predictions")
    for f in layer:
        if f.GetField("photo_path") == path:
            for name, value in values.items():
                f.SetField(name, value)
            assert layer.SetFeature(f) == 0
    ds = None
    return target


def _plain(html_text: str) -> list[str]:
    label = DetailsLabel()
    label.setHtml(html_text)
    return label.toPlainText().splitlines()


def _details(gpkg, project, path):
    layers = run_layers.load_run_layers(str(gpkg), project, "run")
    return details_for(first_feature_of_photo(layers.predictions, path), layers)


def test_an_uncertain_answer_names_its_region_before_any_coordinate(run_gpkg,
                                                                   qgis_new_project):
    """The tiny model is as unsure as the default one (50 % regions of millions of
    km²): the headline names the continent and the region's countries and area, the
    point comes rounded to whole degrees, and the exact numbers only further down."""
    gpkg, paths = run_gpkg
    details = _details(gpkg, qgis_new_project, paths[0])
    row = details.prediction
    # small cells on several continents: the model is torn between places
    assert len(row.region50_continent) > 1 and row.region50_countries
    lines = _plain(summary_html(details))
    assert lines[1].startswith("Somewhere in " + " or ".join(row.region50_continent))
    assert row.region50_countries[0] in lines[2]
    assert f"{row.region50_km2:,.0f} km²" in lines[2]
    assert lines[3].startswith("Rough point: ")
    assert re.search(r"\d+°[NS], \d+°[EW]", lines[3]), lines[3]
    exact = next(i for i, line in enumerate(lines) if line.startswith("Exact point:"))
    assert exact > 3 and f"{row.lat:.4f}" in lines[exact]
    assert not any(FOUR_DECIMALS.search(line) for line in lines[:exact]), lines[:exact]
    # the case report says the same first
    run = read_run(str(gpkg))
    photo = next(p for p in run.photos if p.photo_path == paths[0])
    assert prediction_lines(run, photo)[:3] == lines[1:4]


def test_a_trustworthy_point_leads_with_its_place_at_the_region_s_precision(
        run_gpkg, qgis_new_project, tmp_path):
    """A 50 % region of 800 km² on one continent supports two decimals: the place
    leads.  The same region as the default model draws it, 3.1 million km², gets whole
    degrees and "million km²"."""
    gpkg, paths = run_gpkg
    copy = _edited(gpkg, tmp_path / "sure.gpkg", paths[0], region50_km2=800.0,
                   region50_continent="Europe")
    details = _details(copy, qgis_new_project, paths[0])
    row = details.prediction
    lines = _plain(summary_html(details))
    lat = f"{abs(row.lat):.2f}°{'N' if row.lat >= 0 else 'S'}"
    assert lines[1].startswith(f"Predicted: {lat}") and row.place in lines[1]
    assert "Somewhere" not in " ".join(lines) and "Rough point" not in " ".join(lines)
    copy = _edited(gpkg, tmp_path / "wide.gpkg", paths[0], region50_km2=3.1e6,
                   region50_continent="Europe")
    lines = _plain(summary_html(_details(copy, qgis_new_project, paths[0])))
    assert lines[1] == "Somewhere in Europe (uncertain)"
    assert "3.1 million km²" in lines[2]
    assert lines[3].startswith(f"Rough point: {abs(round(row.lat)):.0f}°")


def test_the_view_says_why_the_point_is_there_and_how_far_each_candidate_is(
        run_gpkg, qgis_new_project, tmp_path):
    """The decision rule with the neighbourhood's probability, and the candidates as
    single cells with their distance from the point (the point in Oregon and candidate
    #1 in Egypt: the reader sees they are 10,000 km apart and why)."""
    gpkg, paths = run_gpkg
    details = _details(gpkg, qgis_new_project, paths[1])
    assert details.prediction.decision_radius_km == 0.0  # the tiny bundle's rule
    assert "most probable single cell" in " ".join(_plain(summary_html(details)))
    copy = _edited(gpkg, tmp_path / "rule.gpkg", paths[1], decision_radius_km=750.0,
                   decision_mass=0.234)
    details = _details(copy, qgis_new_project, paths[1])
    text = " ".join(_plain(summary_html(details)))
    assert "most probable 750 km neighbourhood: 23% of the probability lies within 750 km" \
        in text
    row = details.prediction
    table = " ".join(_plain(tables_html(details)))
    assert "#1 most probable single cell" in table
    for c in row.candidates:
        km = haversine_km(row.lat, row.lon, c.lat, c.lon)
        assert ("at the point" if km < 1 else f"{km:,.0f} km from the point") in table


# ------------------------------------------------------------ item 8: kept maps


def _view(runs: ProjectRuns, details) -> ResultView:
    view = ResultView(runs.attention_for)
    view.show_details(details)
    view.why_button.setChecked(True)
    return view


def _message(view: ResultView) -> str:
    page = view.attention.tabs.widget(0)
    return " ".join(label.text() for label in page.findChildren(QLabel))


def test_a_reopened_run_shows_the_maps_it_kept(run_gpkg, qgis_new_project):
    """Open run... on a run made with the box checked: "Why here?" shows the maps read
    back from its GeoPackage, equal to what the model gave (float16), one tab a level."""
    gpkg, paths = run_gpkg
    runs = ProjectRuns(project=qgis_new_project)
    layers = runs.open_run(str(gpkg))
    assert runs.attention == {}  # nothing in memory: all comes from the file
    for path in paths:
        feature = first_feature_of_photo(layers.predictions, path)
        layers.predictions.selectByIds([feature.id()])
        kept = runs.attention_for(path)
        original = np.asarray(RUN_MAPS[path])
        assert isinstance(kept, np.ndarray) and kept.shape == original.shape
        np.testing.assert_allclose(kept, original, rtol=2e-3, atol=1e-4)
    view = _view(runs, details_for(feature, layers))
    assert view.attention.count() == original.shape[0] and view.attention.images
    runs.shutdown()


def _drop_maps_table(gpkg, target):
    shutil.copy(gpkg, target)
    db = sqlite3.connect(str(target))
    db.execute("DROP TABLE attention_maps")
    db.execute("DELETE FROM gpkg_contents WHERE table_name = 'attention_maps'")
    db.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = 'attention_maps'")
    db.commit()
    db.close()
    return target


@pytest.mark.parametrize("case", ["not_asked", "older_version"])
def test_a_run_without_maps_says_truthfully_why(run_gpkg, qgis_new_project, tmp_path,
                                                tiny_bundle_dir, case):
    """A run made without the box says so; a run file from before maps were stored
    (no table) says that instead of asking to tick a box that was ticked."""
    gpkg, paths = run_gpkg
    if case == "not_asked":
        stream = run_pipeline.PredictionStream(paths[:2], str(tiny_bundle_dir), device="cpu",
                                               batch_size=4, top_k=3)
        target = run_pipeline.predict_to_geopackage(tmp_path / "plain.gpkg", stream)
        expected = "made without \"Keep 'Why here?' maps\""
    else:
        target = _drop_maps_table(gpkg, tmp_path / "old.gpkg")
        expected = "earlier version of GeoDecoder"
    runs = ProjectRuns(project=qgis_new_project)
    layers = runs.open_run(str(target))
    feature = next(layers.predictions.getFeatures())
    reason = runs.attention_for(str(feature["photo_path"]))
    assert isinstance(reason, str) and expected in reason, reason
    view = _view(runs, details_for(feature, layers))
    assert view.attention.count() == 1 and expected in _message(view)
    runs.shutdown()


# ------------------------------------------------------ item 4: regions that pile up


def _opacities(layer) -> dict:
    """photo_path -> the opacities of the symbols the layer's renderer draws it with."""
    ctx = QgsRenderContext()
    ctx.setExpressionContext(QgsExpressionContext(
        QgsExpressionContextUtils.globalProjectLayerScopes(layer)))
    renderer = layer.renderer().clone()
    renderer.startRender(ctx, layer.fields())
    try:
        out: dict = {}
        for f in layer.getFeatures():
            out.setdefault(str(f["photo_path"]), set()).update(
                round(s.opacity(), 3) for s in renderer.symbolsForFeature(f, ctx))
        return out
    finally:
        renderer.stopRender(ctx)


def test_the_shown_photo_s_regions_stand_out_and_the_others_are_faint(run_gpkg,
                                                                      qgis_new_project):
    """A run's regions: before a photo is shown all faint (the run at a glance), then
    the shown photo's as styled and every other photo's faint."""
    gpkg, paths = run_gpkg
    layers = run_layers.load_run_layers(str(gpkg), qgis_new_project, "run")
    faint = round(run_layers.FAINT_OPACITY, 3)
    assert {o for ops in _opacities(layers.regions).values() for o in ops} == {faint}
    run_layers.show_photo_in_layers(layers, paths[3])
    drawn = _opacities(layers.regions)
    assert set(drawn) == set(paths)
    assert drawn[paths[3]] == {1.0}
    assert all(ops == {faint} for path, ops in drawn.items() if path != paths[3])


def test_a_new_run_is_drawn_over_older_ones_whose_regions_step_back(
        run_gpkg, qgis_new_project, tmp_path):
    """Two runs: the newer group is on top, the older run's regions and cells are
    switched off; picking a result of the older run switches its regions on again."""
    gpkg, _paths = run_gpkg
    second = tmp_path / "second.gpkg"
    shutil.copy(gpkg, second)
    runs = ProjectRuns(project=qgis_new_project)
    first = runs.open_run(str(gpkg))
    newer = runs.open_run(str(second))
    root = qgis_new_project.layerTreeRoot()

    def visible(layer) -> bool:
        return root.findLayer(layer.id()).itemVisibilityChecked()

    assert root.children()[0] is newer.group
    assert visible(newer.regions) and visible(newer.cells[-1])
    assert not visible(first.regions) and not visible(first.cells[-1])
    first.predictions.selectByIds([next(first.predictions.getFeatures()).id()])
    assert visible(first.regions)
    runs.shutdown()


# ------------------------------------------- item 5: photos stacked on one point


def test_photos_on_one_point_are_one_counted_marker_and_a_click_lists_them(
        plugin, run_gpkg, tmp_path):
    """Four photos moved onto one point (as hundreds land on a few cells' points): the
    run's stored style draws them with QGIS's cluster renderer, whose marker shows
    @cluster_size; Pick on map on that point lists the four in the dock, nearest then
    by name, and a row clicked shows that photo."""
    gpkg, paths = run_gpkg
    copy = tmp_path / "stacked.gpkg"
    shutil.copy(gpkg, copy)
    ds = ogr.Open(str(copy), 1)
    layer = ds.GetLayerByName("predictions")
    for f in layer:
        if f.GetField("photo_path") in paths[:4]:
            f.SetGeometry(ogr.CreateGeometryFromWkt("POINT (24.75 59.44)"))
            f.SetField("lat", 59.44)
            f.SetField("lon", 24.75)
            assert layer.SetFeature(f) == 0
    ds = None
    service = plugin.service
    layers = service.results.open_run(str(copy))
    renderer = layers.predictions.renderer()
    assert isinstance(renderer, QgsPointClusterRenderer)
    count = [sl for sl in renderer.clusterSymbol().symbolLayers()
             if sl.layerType() == "FontMarker"]
    assert count and "@cluster_size" in count[0].dataDefinedProperties().property(
        QgsSymbolLayer.PropertyCharacter).expressionString()
    plugin.dock.pick_button.click()
    assert plugin.pick_tool is not None
    shown = []
    service.results.resultSelected.connect(shown.append)
    target = next(f for f in layers.predictions.getFeatures()
                  if f["photo_path"] == paths[2])
    listed = pick_on_map(plugin, layers.predictions, target)
    names = sorted(str(f["file_name"]) for f in layers.predictions.getFeatures()
                   if f["photo_path"] in paths[:4])
    assert sorted(listed) == names and len(listed) == 4
    assert plugin.dock.result_view.stack.isVisibleTo(plugin.dock.result_view)
    assert shown[-1].prediction.photo_path == paths[2]
    alone = next(f for f in layers.predictions.getFeatures() if f["photo_path"] == paths[5])
    if all(f.geometry().asPoint().distance(alone.geometry().asPoint()) > 1
           for f in layers.predictions.getFeatures() if f.id() != alone.id()):
        assert pick_on_map(plugin, layers.predictions, alone) == []  # a lone photo
        assert not plugin.dock.result_view.stack.isVisibleTo(plugin.dock.result_view)
        assert shown[-1].prediction.photo_path == paths[5]
