"""Export run… in the dock (issue 9): the dock's current run, or a run GeoPackage the
user picks, written as KML/KMZ/GeoJSON where the user says; the outcome in the status.
The file dialogs are answered the way a user would (as in test_plugin_reopen)."""

from __future__ import annotations

import json

import pytest
from osgeo import ogr
from qgis.PyQt.QtWidgets import QFileDialog

from tests.test_plugin_fixtures import (  # noqa: F401
    import_plugin,
    photo_folder,
    spin_until,
)

geodecoder = import_plugin()
from geodecoder.services.run import pipeline as run_pipeline  # noqa: E402
from geodecoder.services.run.export import file_filters  # noqa: E402

RUN_LAYERS = ("predictions", "candidates", "regions")


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    stream = run_pipeline.PredictionStream(photo_folder[1]["good"][:3], str(tiny_bundle_dir),
                                           device="cpu", top_k=3)
    path = tmp_path_factory.mktemp("saved") / "saved.gpkg"
    return str(run_pipeline.predict_to_geopackage(path, stream))


def _counts(path: str) -> dict:
    ds = ogr.Open(path)
    try:
        return {name: ds.GetLayerByName(name).GetFeatureCount() for name in RUN_LAYERS}
    finally:
        ds = None


class Answers:
    """The user's answers to the two dialogs, and what the dialogs were asked."""

    def __init__(self, monkeypatch, save=("", ""), open_run=("", "")):
        self.asked = []

        def save_dialog(*args, **_kw):
            self.asked.append(("save", args))
            return save

        def open_dialog(*args, **_kw):
            self.asked.append(("open", args))
            return open_run

        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_dialog))


def _filter(ext: str) -> str:
    return next(f for f in file_filters() if f.endswith(f"(*{ext})"))


def _export(plugin) -> None:
    """The user clicks Export run…; the export task runs to its end."""
    plugin.dock.export_run_button.click()
    assert spin_until(lambda: plugin.exporter.task is None, seconds=60), "export hangs"


def test_export_run_writes_the_shown_run(plugin, saved_run, tmp_path, monkeypatch):
    plugin.open_run(saved_run)
    answers = Answers(monkeypatch, save=(str(tmp_path / "for-colleague"),
                                         _filter(".geojson")))
    _export(plugin)
    assert [kind for kind, _ in answers.asked] == ["save"]  # the shown run, no question
    assert answers.asked[0][1][2].endswith("saved.kml")  # suggested: the run's name
    out = tmp_path / "for-colleague.geojson"  # the chosen format's extension added
    with open(out, encoding="utf-8") as fh:
        doc = json.load(fh)
    counts = {name: 0 for name in RUN_LAYERS}
    for feat in doc["features"]:
        counts[feat["properties"]["layer"]] += 1
    assert counts == _counts(saved_run)
    assert str(out) in plugin.dock.status.text()
    assert "Exported" in plugin.dock.status.text()


def test_without_a_run_it_asks_which_run(plugin, saved_run, tmp_path, monkeypatch):
    project_layers = dict(plugin.service.project.mapLayers())
    target = tmp_path / "run.kmz"
    answers = Answers(monkeypatch, save=(str(target), _filter(".kmz")),
                      open_run=(saved_run, "GeoPackage (*.gpkg)"))
    _export(plugin)
    assert [kind for kind, _ in answers.asked] == ["open", "save"]
    ds = ogr.Open(str(target))
    assert {n: ds.GetLayerByName(n).GetFeatureCount() for n in RUN_LAYERS} == \
        _counts(saved_run)
    ds = None
    assert dict(plugin.service.project.mapLayers()) == project_layers  # nothing added


def test_a_failed_export_says_so_and_keeps_the_old_file(plugin, tmp_path, monkeypatch):
    other = tmp_path / "roads.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(other))
    ds.CreateLayer("roads", None, ogr.wkbLineString)
    ds = None
    old = tmp_path / "old.kml"
    old.write_bytes(b"<kml>the colleague's copy</kml>\n")
    Answers(monkeypatch, save=(str(old), _filter(".kml")), open_run=(str(other), ""))
    _export(plugin)
    assert "Export failed" in plugin.dock.status.text()
    assert "not a GeoDecoder run" in plugin.dock.status.text()
    assert old.read_bytes() == b"<kml>the colleague's copy</kml>\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.kml", "roads.gpkg"]


def test_cancelling_the_save_dialog_writes_nothing(plugin, saved_run, tmp_path, monkeypatch):
    plugin.open_run(saved_run)
    status = plugin.dock.status.text()
    Answers(monkeypatch, save=("", ""))
    assert plugin.export_run() is None
    assert plugin.dock.status.text() == status
    assert list(tmp_path.iterdir()) == []


def test_a_cancelled_export_task_keeps_the_old_file(saved_run, tmp_path):
    from geodecoder.services.run.export import ExportTask

    old = tmp_path / "old.geojson"
    old.write_bytes(b'{"type": "FeatureCollection", "features": []}\n')
    ended = []
    task = ExportTask(saved_run, str(old), ended.append)
    task.cancel()  # the user cancels it in QGIS's task list
    assert task.run() is True  # a cancel is no failure
    task.finished(True)
    assert ended == [task.outcome] and not task.outcome.ok
    assert "cancelled" in task.outcome.message
    assert old.read_bytes() == b'{"type": "FeatureCollection", "features": []}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["old.geojson"]


def test_one_export_at_a_time(plugin, saved_run, tmp_path, monkeypatch):
    plugin.open_run(saved_run)
    Answers(monkeypatch, save=(str(tmp_path / "a.kml"), _filter(".kml")))
    first = plugin.export_run()
    assert first is not None
    assert plugin.export_run() is None  # asked again while the first runs
    assert "still running" in plugin.dock.status.text()
    assert spin_until(lambda: plugin.exporter.task is None, seconds=60)
    assert (tmp_path / "a.kml").is_file()
    assert "Exported" in plugin.dock.status.text()


def test_the_export_task_reports_its_progress(saved_run, tmp_path):
    from geodecoder.services.run.export import ExportTask

    ended, seen = [], []
    task = ExportTask(saved_run, str(tmp_path / "x.kmz"), ended.append)
    task.progressChanged.connect(seen.append)
    assert task.run() is True
    assert task.outcome.ok and (tmp_path / "x.kmz").is_file()
    assert seen and seen[-1] == 100.0 and seen == sorted(seen)
