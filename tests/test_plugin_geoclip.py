"""GeoCLIP in QGIS (issue 17): once downloaded it answers the dock's and Processing's runs
unless the user picks another model, and every run records that GeoCLIP answered.

The store is tests/geoclip_store.py's tiny random CLIP beside the real heads and gallery,
laid out in a models folder as the Model tab's Download leaves it.  Its first load
embeds the real 100,000-place gallery once (about two minutes on two cores).
"""

from __future__ import annotations

import pytest
from osgeo import ogr

pytest.importorskip("transformers")
from tests.geoclip_store import heads_source, make_store  # noqa: E402
from tests.photo_factory import make_jpeg  # noqa: E402
from tests.test_plugin_fixtures import add_and_wait, import_plugin, spin_until  # noqa: E402

try:
    heads_source()
except RuntimeError as exc:  # pragma: no cover - CI installs it (Makefile venv)
    pytest.skip(str(exc), allow_module_level=True)

import_plugin()
from geodecoder.services.models.folder import apply_models_dir  # noqa: E402
from geodecoder.services.run import model_choice  # noqa: E402
from geodecoder.services.run.pipeline import default_bundle_path  # noqa: E402


@pytest.fixture(scope="module")
def models_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    make_store(root / "geoclip")
    yield root
    apply_models_dir("")  # the process's models folder as QGIS started with it


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("geoclip-photos")
    for i, color in enumerate(((40, 120, 200), (200, 150, 60), (90, 200, 90))):
        make_jpeg(folder / f"p{i}.jpg", size=(320, 240), color=color)
    return folder


def model_names(gpkg: str) -> set:
    """The model_name of every feature of a Processing output (one layer, its own name)."""
    ds = ogr.Open(gpkg)
    return {f.GetField("model_name") for f in ds.GetLayer(0)}


def run_info(gpkg: str) -> tuple[dict, set]:
    ds = ogr.Open(gpkg)
    info = {f.GetField("key"): f.GetField("value") for f in ds.GetLayerByName("run_info")}
    names = {f.GetField("model_name") for f in ds.GetLayerByName("predictions")}
    return info, names


def test_once_downloaded_geoclip_answers_the_dock_run(plugin, models_root, photos):
    dock, service = plugin.dock, plugin.service
    options = dock.options
    assert options.choice_key() == model_choice.AUTO  # nobody chose: the best available
    dock.models.folder.setFilePath(str(models_root / "empty"))  # not downloaded here
    assert not options.is_geoclip()
    assert "not downloaded" in options.choice.itemText(options.choice.findData("geoclip"))
    dock.models.folder.setFilePath(str(models_root))  # the folder GeoCLIP was downloaded to
    assert options.is_geoclip()
    assert options.model_status.text().startswith("Answers: GeoCLIP")
    assert "2 s per photo on a 2-core CPU (GPU not measured)" in options.model_status.text()
    assert add_and_wait(dock, [str(photos)]) == 3
    options.device.setCurrentIndex(options.device.findData("cpu"))
    finished = []
    service.runFinished.connect(lambda outcome, _layers: finished.append(outcome))
    params = dock.request_run()
    assert params is not None and params.bundle_path == str(models_root / "geoclip")
    assert spin_until(lambda: service.task is None, seconds=400), "the run did not end"
    assert finished, dock.status.text()
    outcome = finished[0]
    assert outcome.predicted == 3 and outcome.model_label.startswith("GeoCLIP")
    info, names = run_info(outcome.gpkg_path)
    assert info["model_name"] == "GeoCLIP" and names == {"GeoCLIP"}
    assert "not calibrated" in info["calibration"]
    assert info["attention_maps"] == "0"  # GeoCLIP has none, whatever the checkbox says
    # the offline default model stays one choice away, and is remembered
    options.set_choice(model_choice.DEFAULT)
    assert not options.is_geoclip()
    assert options.model_path() == default_bundle_path()
    dock.save_settings()
    assert dock.settings.model_choice == model_choice.DEFAULT


def test_processing_uses_geoclip_once_downloaded(provider, models_root, photos, tmp_path,
                                                 monkeypatch):
    import processing
    from qgis.core import QgsProcessingException

    monkeypatch.setenv("GEODECODER_MODELS_DIR", str(models_root))
    out = str(tmp_path / "pred.gpkg")
    processing.run("geodecoder:geolocate_photos", {"INPUT": str(photos), "DEVICE": 1,
                                                   "OUTPUT": out})
    assert model_names(out) == {"GeoCLIP"}
    if default_bundle_path() is not None:  # "The default model" still picks it
        out2 = str(tmp_path / "default.gpkg")
        processing.run("geodecoder:geolocate_photos", {"INPUT": str(photos), "DEVICE": 1,
                                                       "MODEL_CHOICE": 2, "OUTPUT": out2})
        assert "GeoCLIP" not in model_names(out2)
    monkeypatch.setenv("GEODECODER_MODELS_DIR", str(tmp_path / "nothing"))
    with pytest.raises(QgsProcessingException, match="GeoCLIP is not downloaded"):
        processing.run("geodecoder:geolocate_photos", {"INPUT": str(photos), "DEVICE": 1,
                                                       "MODEL_CHOICE": 1, "OUTPUT": out})
