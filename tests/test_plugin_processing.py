"""The Processing algorithm: processing.run in QGIS, and qgis_process from a shell."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)

from tests.test_plugin_fixtures import ROOT, import_plugin, memory_layer, photo_folder  # noqa: F401

import_plugin()
from geodecoder.inference.outputs import schema  # noqa: E402
from geodecoder.services.run.pipeline import default_bundle_path  # noqa: E402

ALG = "geodecoder:geolocate_photos"
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")
NO_MODEL = "No default model installed"


class Feedback(QgsProcessingFeedback):
    """Keeps what the algorithm reported."""

    def __init__(self):
        super().__init__()
        self.errors, self.progress_values = [], []
        self.progressChanged.connect(self.progress_values.append)

    def reportError(self, error, fatalError=False):  # noqa: N802,N803 - QGIS's names
        self.errors.append(error)
        super().reportError(error, fatalError)


def _layer(path) -> QgsVectorLayer:
    layer = QgsVectorLayer(str(path), "out", "ogr")
    assert layer.isValid(), path
    return layer


def test_processing_run_writes_every_output(provider, tmp_path, photo_folder,  # noqa: F811
                                            tiny_bundle_dir):
    import processing

    folder, files = photo_folder
    out = {key: str(tmp_path / f"{key.lower()}.gpkg")
           for key in ("OUTPUT", "CANDIDATES", "CELLS", "REGIONS")}
    feedback = Feedback()
    result = processing.run(ALG, {"INPUT": str(folder), "MODEL": str(tiny_bundle_dir),
                                  "DEVICE": 1, "TOP_K": 3, **out}, feedback=feedback)
    assert set(result) == set(out)
    n = len(files["good"])
    points = _layer(result["OUTPUT"])
    assert points.featureCount() == n and points.crs().authid() == "EPSG:4326"
    assert points.wkbType() == QgsWkbTypes.Point
    assert [f.name() for f in points.fields() if f.name() != "fid"] == [
        f.name for f in schema.prediction_fields(3)]
    assert all(f["device"] == "cpu" and f["sha256"] for f in points.getFeatures())
    assert _layer(result["CANDIDATES"]).featureCount() == 3 * n
    cells = _layer(result["CELLS"])
    assert sorted({f["level"] for f in cells.getFeatures()}) == [0, 1, 2]
    assert QgsWkbTypes.geometryType(cells.wkbType()) == QgsWkbTypes.PolygonGeometry
    assert _layer(result["REGIONS"]).featureCount() == 2 * n
    assert len(feedback.errors) == len(files["broken"])
    assert all("Skipped" in e for e in feedback.errors)
    assert feedback.progress_values and max(feedback.progress_values) == pytest.approx(100)


def test_processing_takes_single_photo_files(provider, photo_folder, tiny_bundle_dir):  # noqa: F811,E501
    import processing

    photos = photo_folder[1]["good"][:2]
    result = processing.run(ALG, {"PHOTOS": photos, "MODEL": str(tiny_bundle_dir),
                                  "OUTPUT": "TEMPORARY_OUTPUT"})
    layer = result["OUTPUT"]
    if isinstance(layer, str):
        layer = _layer(layer)
    assert sorted(f["photo_path"] for f in layer.getFeatures()) == sorted(photos)


def test_processing_without_any_model_says_what_to_do(provider, photo_folder):  # noqa: F811
    import processing

    if default_bundle_path() is not None:
        pytest.skip("a default model is installed")
    with pytest.raises(QgsProcessingException, match=NO_MODEL):
        processing.run(ALG, {"INPUT": str(photo_folder[0]), "OUTPUT": "TEMPORARY_OUTPUT"})


def test_processing_without_photos_fails_clearly(provider, tiny_bundle_dir):
    import processing

    with pytest.raises(QgsProcessingException, match="folder of photos"):
        processing.run(ALG, {"MODEL": str(tiny_bundle_dir), "OUTPUT": "TEMPORARY_OUTPUT"})


def test_post_processors_do_not_pile_up_run_after_run(provider, photo_folder,  # noqa: F811
                                                      tiny_bundle_dir, qgis_new_project,
                                                      tmp_path):
    """Each loaded output's post-processor is kept alive until QGIS applied it, then let
    go; a failed run lets go of its own: many runs in one QGIS session keep none."""
    import processing

    from geodecoder.processing_provider import post_processors

    assert post_processors.alive() == 0
    params = {"INPUT": str(photo_folder[0]), "MODEL": str(tiny_bundle_dir), "DEVICE": 1,
              "TOP_K": 2, **{key: "TEMPORARY_OUTPUT"
                             for key in ("OUTPUT", "CANDIDATES", "CELLS", "REGIONS")}}
    for run in range(3):
        processing.runAndLoadResults(ALG, params, feedback=Feedback())
        assert post_processors.alive() == 0, run
    names = [layer.name() for layer in QgsProject.instance().mapLayers().values()]
    assert names.count("Predictions") == 3  # applied: the dock's names, every run
    empty = tmp_path / "no photos"
    empty.mkdir()
    with pytest.raises(QgsProcessingException, match="no photos found"):  # after the sinks
        processing.runAndLoadResults(ALG, {**params, "INPUT": str(empty)},
                                     feedback=Feedback())
    assert post_processors.alive() == 0


def test_an_unexpected_error_goes_up_with_its_traceback(provider, photo_folder,  # noqa: F811
                                                        tiny_bundle_dir, monkeypatch):
    """Only the errors a user can act on become a one-line QgsProcessingException; a
    torch error keeps its type and traceback in what Processing reports."""
    import processing
    import torch

    from geodecoder.inference.prediction.predict import Predictor

    def out_of_memory(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        yield  # a generator, as Predictor.run is

    monkeypatch.setattr(Predictor, "run", out_of_memory)
    with pytest.raises(QgsProcessingException) as raised:
        processing.run(ALG, {"INPUT": str(photo_folder[0]), "MODEL": str(tiny_bundle_dir),
                             "DEVICE": 1, "OUTPUT": "TEMPORARY_OUTPUT"}, feedback=Feedback())
    text = str(raised.value)
    assert "Traceback" in text and "OutOfMemoryError: CUDA out of memory" in text
    assert "in out_of_memory" in text


def _qgis_process(args, config: Path, cwd: Path) -> subprocess.CompletedProcess:
    paths = [p for p in (*site.getsitepackages(), *sys.path) if p and os.path.isdir(p)]
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(config), QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)))
    return subprocess.run([str(QGIS_PROCESS), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=240, check=False)


def qgis_process_config(tmp_path: Path) -> Path:
    """A QGIS profile folder under `tmp_path` in which qgis_process has this plugin
    (the repository, linked) enabled; skips where qgis_process is not installed."""
    if not QGIS_PROCESS.exists():
        pytest.skip(f"{QGIS_PROCESS} is absent (Debian package 'qgis' not installed)")
    config = tmp_path / "config"
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "geodecoder").symlink_to(ROOT, target_is_directory=True)
    enabled = _qgis_process(["plugins", "enable", "geodecoder"], config, tmp_path)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return config


def test_qgis_process_runs_the_algorithm_from_a_shell(tmp_path, photo_folder,  # noqa: F811
                                                      tiny_bundle_dir, qgis_new_project):
    config = qgis_process_config(tmp_path)
    listed = _qgis_process(["list"], config, tmp_path)
    assert ALG in listed.stdout, listed.stdout[-3000:] + listed.stderr[-3000:]

    folder = str(photo_folder[0])
    out = tmp_path / "out.gpkg"
    if default_bundle_path() is None:  # only INPUT and OUTPUT: the clear message
        bare = _qgis_process(["run", ALG, "--", f"INPUT={folder}", f"OUTPUT={out}"], config,
                             tmp_path)
        assert bare.returncode != 0
        assert NO_MODEL in bare.stdout + bare.stderr
        assert not out.exists()
    whole = tmp_path / "case.gpkg"
    run = _qgis_process(["run", ALG, "--", f"INPUT={folder}", f"MODEL={tiny_bundle_dir}",
                         f"OUTPUT={out}", f"REGIONS={tmp_path / 'regions.gpkg'}",
                         f"RUN={whole}"], config, tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert _layer(out).featureCount() == len(photo_folder[1]["good"])
    assert _layer(tmp_path / "regions.gpkg").featureCount() == 2 * len(photo_folder[1]["good"])
    assert "Skipped" in run.stdout + run.stderr  # the broken photos are named
    # the README's command: INPUT and RUN only (OUTPUT was mandatory, so it failed)
    readme_run = tmp_path / "readme-case.gpkg"
    alone = _qgis_process(["run", ALG, "--", f"INPUT={folder}", f"MODEL={tiny_bundle_dir}",
                           f"RUN={readme_run}"], config, tmp_path)
    assert alone.returncode == 0, (alone.stdout + alone.stderr)[-4000:]
    assert readme_run.is_file()
    nothing = _qgis_process(["run", ALG, "--", f"INPUT={folder}", f"MODEL={tiny_bundle_dir}"],
                            config, tmp_path)
    assert nothing.returncode != 0 and "Nothing would be written" in nothing.stdout \
        + nothing.stderr
    # RUN: the whole run in one file, which "Open run..." brings back as the dock's
    # (issue 20.6: OUTPUT alone was the predictions, refused by Open run...)
    from geodecoder.services.run.layers import load_run_layers

    opened = load_run_layers(str(whole), qgis_new_project, "case")
    assert opened.predictions is not None
    assert opened.predictions.featureCount() == len(photo_folder[1]["good"])
    readme = load_run_layers(str(readme_run), qgis_new_project, "readme case")
    assert readme.predictions.featureCount() == len(photo_folder[1]["good"])
    assert opened.regions.featureCount() == 2 * len(photo_folder[1]["good"])
    assert len(opened.cells) == 3 and opened.candidates.featureCount() > 0
    assert opened.predictions.renderer().type() == "pointCluster"  # the stored style


DOCK_NAMES = ["Predictions", "Candidates", "Regions (50% / 90%)",
              "Cells level 0 (coarsest)", "Cells level 1", "Cells level 2 (finest)"]


@pytest.mark.parametrize("where", ["temporary", "files"])
def test_results_load_as_the_dock_shows_them(provider, photo_folder, tiny_bundle_dir,  # noqa: F811
                                             qgis_new_project, tmp_path, where):
    """Names, styles, defaults and one layer per cell level, as the dock loads a run;
    and no "layers were not correctly generated" after a successful run."""
    import processing

    outputs = {key: "TEMPORARY_OUTPUT" if where == "temporary"
               else str(tmp_path / f"{key.lower()}.gpkg")
               for key in ("OUTPUT", "CANDIDATES", "CELLS", "REGIONS")}
    feedback = Feedback()
    processing.runAndLoadResults(ALG, {"INPUT": str(photo_folder[0]),
                                       "MODEL": str(tiny_bundle_dir), "DEVICE": 1,
                                       "TOP_K": 3, **outputs}, feedback=feedback)
    assert not [e for e in feedback.errors if "not correctly generated" in e], feedback.errors
    project = QgsProject.instance()
    loaded = {layer.name(): layer for layer in project.mapLayers().values()}
    assert sorted(loaded) == sorted(DOCK_NAMES)
    root = project.layerTreeRoot()
    on = {name for name, layer in loaded.items()
          if root.findLayer(layer.id()).itemVisibilityChecked()}
    assert on == {"Predictions", "Regions (50% / 90%)", "Cells level 2 (finest)"}
    cells_group = root.findGroup("Cells")
    assert [n.name() for n in cells_group.children()] == DOCK_NAMES[3:]
    n = len(photo_folder[1]["good"])
    for level, name in enumerate(DOCK_NAMES[3:]):
        layer = loaded[name]
        assert {f["level"] for f in layer.getFeatures()} == {level}, name
        assert layer.featureCount() >= n
    finest = loaded["Cells level 2 (finest)"].renderer()
    assert finest.type() == "graduatedSymbol" and finest.classAttribute() == "probability"
    assert loaded["Cells level 0 (coarsest)"].renderer().type() == "singleSymbol"
    points = loaded["Predictions"]
    assert points.renderer().type() == "pointCluster"  # stacked photos counted
    assert points.renderer().embeddedRenderer().type() == "RuleRenderer"  # by method
    assert "photo_path" in points.mapTipTemplate()
    # the tiny bundle's scenes are words already: no expression field (render-thread race)
    assert points.fields().indexOf("scene_name") < 0
    assert loaded["Regions (50% / 90%)"].renderer().type() == "categorizedSymbol"


def test_the_model_parameter_says_what_empty_means(provider, monkeypatch, photo_folder):  # noqa: F811,E501
    import processing

    from geodecoder.processing_provider import geolocate_algorithm as module
    from geodecoder.services.run import pipeline as run_pipeline

    monkeypatch.setattr(run_pipeline, "default_bundle_path", lambda: None)
    alg = module.GeolocatePhotosAlgorithm()
    alg.initAlgorithm()
    title = alg.parameterDefinition("MODEL").description()
    assert title == "Model bundle folder (required: no default model is installed)"
    with pytest.raises(QgsProcessingException, match=NO_MODEL):  # before the run starts
        processing.run(ALG, {"INPUT": str(photo_folder[0]), "OUTPUT": "TEMPORARY_OUTPUT"})
    monkeypatch.setattr(run_pipeline, "default_bundle_path", lambda: "/some/default")
    alg = module.GeolocatePhotosAlgorithm()
    alg.initAlgorithm()
    assert alg.parameterDefinition("MODEL").description() == \
        "Model bundle folder (empty: the default model)"


def test_missing_engine_packages_are_named():
    from geodecoder.services.installer.dependencies import REQUIREMENTS, Requirement
    from geodecoder.services.errors import MissingPackagesError
    from geodecoder.services.run.pipeline import check_engine_packages

    check_engine_packages()  # all present here
    ghost = Requirement("geodecoder_ghost_module", "ghost", "test")
    with pytest.raises(MissingPackagesError, match="geodecoder_ghost_module.*click Install"):
        check_engine_packages((*REQUIREMENTS, ghost))


def _geotagged_photos(folder: Path, per_city: int = 5) -> int:
    """Photos near six cities, one colour per city, with EXIF GPS."""
    from tests.conftest import CITIES
    from tests.photo_factory import make_jpeg

    folder.mkdir(parents=True)
    colours = [(200, 40, 40), (40, 180, 60), (50, 80, 210), (220, 200, 40), (190, 60, 190),
               (40, 190, 190)]
    for ci, (name, (lat, lon)) in enumerate(CITIES.items()):
        for j in range(per_city):
            make_jpeg(folder / f"{name}_{j}.jpg", (160, 128), colours[ci],
                      gps=(lat + 0.05 * j, lon - 0.05 * j))
    make_jpeg(folder / "no_gps.jpg", (160, 128), (128, 128, 128))  # listed and skipped
    return len(CITIES) * per_city


def test_train_then_geolocate_with_the_trained_bundle(provider, tmp_path):
    import processing

    n = _geotagged_photos(tmp_path / "geotagged")
    feedback = Feedback()
    trained = processing.run("geodecoder:train_model", {
        "INPUT": str(tmp_path / "geotagged"), "NAME": "my region", "EPOCHS": 1, "DEVICE": 1,
        "BATCH_SIZE": 16, "WIDTH": 32, "CACHE": str(tmp_path / "cache"),
        "OUTPUT": str(tmp_path / "my-model")}, feedback=feedback)
    bundle = Path(trained["OUTPUT"])
    assert (bundle / "config.json").is_file() and (bundle / "weights.safetensors").is_file()
    assert any("no_gps.jpg" in e for e in feedback.errors)
    result = processing.run(ALG, {"INPUT": str(tmp_path / "geotagged"), "MODEL": str(bundle),
                                  "DEVICE": 1, "OUTPUT": str(tmp_path / "where.gpkg")})
    layer = _layer(result["OUTPUT"])
    assert layer.featureCount() == n + 1  # the photo without GPS gets located too
    assert {f["model_name"] for f in layer.getFeatures()} == {"my region"}


def test_processing_feeds_the_sinks_chunk_by_chunk(provider, tmp_path, photo_folder,  # noqa: F811
                                                   tiny_bundle_dir, monkeypatch):
    """No list of every prediction: the sinks get each chunk as it arrives."""
    import processing

    from geodecoder.inference import run as engine_run
    from geodecoder.inference.outputs import schema as plugin_schema

    monkeypatch.setattr(engine_run, "CHUNK", 3)
    sizes = []
    original = plugin_schema.prediction_rows

    def spy(preds, *args, **kwargs):
        sizes.append(len(preds))
        return original(preds, *args, **kwargs)

    monkeypatch.setattr(plugin_schema, "prediction_rows", spy)
    result = processing.run(ALG, {"INPUT": str(photo_folder[0]), "MODEL": str(tiny_bundle_dir),
                                  "DEVICE": 1, "OUTPUT": str(tmp_path / "p.gpkg"),
                                  "CELLS": str(tmp_path / "c.gpkg")})
    n = len(photo_folder[1]["good"])
    assert sum(sizes) == n and max(sizes) <= 3 and len(sizes) >= 3, sizes
    assert _layer(result["OUTPUT"]).featureCount() == n
    cells = _layer(result["CELLS"])
    assert sorted({f["level"] for f in cells.getFeatures()}) == [0, 1, 2]


def test_processing_cancel_raises_instead_of_returning_partial_outputs(provider, tmp_path,
                                                                       tiny_bundle_dir):
    import processing

    from tests.photo_factory import make_jpeg

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        make_jpeg(folder / f"p{i:02d}.jpg", size=(96, 72), color=(20 * i, 90, 160))
    feedback = Feedback()
    feedback.progressChanged.connect(lambda p: feedback.cancel() if p > 0 else None)
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(ALG, {"INPUT": str(folder), "MODEL": str(tiny_bundle_dir), "DEVICE": 1,
                             "BATCH_SIZE": 2, "OUTPUT": str(tmp_path / "p.gpkg")},
                       feedback=feedback)


class _RefusingSink:
    """A sink that takes `accept` features, then fails like a full disk."""

    def __init__(self, accept: int):
        self.accept, self.added = accept, 0

    def addFeature(self, feature, flags=None):  # noqa: N802 - QGIS's name
        if self.added >= self.accept:
            return False
        self.added += 1
        return True

    def lastError(self):  # noqa: N802 - QGIS's name
        return "No space left on device"


def test_a_refused_feature_stops_the_run_with_the_sinks_error():
    from qgis.core import QgsFeature

    from geodecoder.processing_provider.geolocate_algorithm import add_features

    sink = _RefusingSink(accept=2)
    assert add_features(_RefusingSink(5), [QgsFeature()] * 5, "points", None) == 5
    with pytest.raises(QgsProcessingException,
                       match="Could not write a feature to points: No space left on device"):
        add_features(sink, [QgsFeature()] * 5, "points", QgsProcessingFeedback())
    assert sink.added == 2


def test_a_cancel_is_seen_every_few_hundred_features(monkeypatch):
    from qgis.core import QgsFeature

    from geodecoder.processing_provider import geolocate_algorithm as alg

    feedback = QgsProcessingFeedback()
    sink = _RefusingSink(accept=10_000)
    features = iter([QgsFeature()] * 1000)

    def rows():
        for i, feature in enumerate(features):
            if i == 250:
                feedback.cancel()
            yield feature

    with pytest.raises(QgsProcessingException, match="Cancelled"):
        alg.add_features(sink, rows(), "cells", feedback)
    assert 250 <= sink.added <= 250 + alg.CANCEL_CHECK_EVERY


def test_device_choices_name_both_kinds_of_gpu(provider):
    for alg_id in (ALG, "geodecoder:train_model"):
        alg = QgsApplication.processingRegistry().algorithmById(alg_id)
        options = alg.parameterDefinition("DEVICE").options()
        assert options[2] == "GPU (CUDA or Apple MPS)", alg_id
        assert "Apple MPS" in options[0]


ALGORITHMS = {"geodecoder:geolocate_photos": "Geolocate photos",
              "geodecoder:train_model": "Train geolocation model from geotagged photos",
              "geodecoder:case_report": "Write case report"}


def test_engine_libraries_are_loaded_in_prepare_algorithm(provider, monkeypatch):
    """prepareAlgorithm runs on the main thread for GUI runs; processAlgorithm may not.
    Every algorithm, the case report too (with ATTENTION it runs the model)."""
    import threading

    from qgis.core import QgsProcessingContext

    from geodecoder.processing_provider import base_algorithm

    for alg_id in ALGORITHMS:
        calls = []
        monkeypatch.setattr(base_algorithm, "ensure_own_libraries", lambda calls=calls:
                            calls.append(threading.current_thread() is threading.main_thread()))
        alg = QgsApplication.processingRegistry().algorithmById(alg_id).create()
        assert alg.prepareAlgorithm({}, QgsProcessingContext(), QgsProcessingFeedback())
        assert calls == [True], alg_id


def test_every_algorithm_has_its_names_help_and_icon(provider):
    """What the shared base gives each algorithm, as the toolbox and qgis_process see it."""
    from geodecoder.processing_provider.base_algorithm import GeoDecoderAlgorithm

    algorithms = {a.id(): a for a in provider.algorithms()}
    assert sorted(algorithms) == sorted(ALGORITHMS)
    for alg_id, title in ALGORITHMS.items():
        alg = algorithms[alg_id]
        assert alg.displayName() == title
        assert (alg.group(), alg.groupId()) == ("Geolocation", "geolocation")
        assert not alg.icon().isNull()
        assert len(alg.shortHelpString()) > 200 and "{" not in alg.shortHelpString()
        again = alg.create()  # createInstance, with its parameters
        assert type(again) is type(alg) and again is not alg
        assert isinstance(again, GeoDecoderAlgorithm)
        assert [p.name() for p in again.parameterDefinitions()] == \
            [p.name() for p in alg.parameterDefinitions()]
    assert "at least 11 are needed" in algorithms["geodecoder:train_model"].shortHelpString()


def test_train_resume_is_a_parameter_passed_to_the_engine(provider, tmp_path):
    import processing

    _geotagged_photos(tmp_path / "geotagged", per_city=2)
    alg = QgsApplication.processingRegistry().algorithmById("geodecoder:train_model")
    assert alg.parameterDefinition("RESUME") is not None
    with pytest.raises(QgsProcessingException, match="no checkpoint"):
        processing.run("geodecoder:train_model", {
            "INPUT": str(tmp_path / "geotagged"), "EPOCHS": 1, "DEVICE": 1, "WIDTH": 32,
            "CACHE": str(tmp_path / "cache"), "RESUME": True,
            "OUTPUT": str(tmp_path / "my-model")})
    assert not (tmp_path / "my-model" / "config.json").exists()


@pytest.mark.parametrize("error, message", [
    (OSError(28, "No space left on device", "/runs/my-model"),
     "No space left on device: /runs/my-model"),
    (ImportError("No module named 'tqdm'"), "No module named 'tqdm'"),
])
def test_train_reports_os_and_import_errors_with_their_message(provider, tmp_path,
                                                               monkeypatch, error, message):
    import processing

    import geodecoder.inference.training.train as engine_train

    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(engine_train, "train_from_photos", fail)
    _geotagged_photos(tmp_path / "photos", per_city=2)  # enough to pass the count check
    with pytest.raises(QgsProcessingException, match=message):
        processing.run("geodecoder:train_model", {"INPUT": str(tmp_path / "photos"),
                                                  "OUTPUT": str(tmp_path / "my-model")})


def test_training_on_too_few_photos_says_how_many_are_needed(provider, tmp_path,
                                                              monkeypatch):
    import processing

    import geodecoder.inference.training.train as engine_train
    from tests.photo_factory import make_jpeg

    real_train, trainings = engine_train.train_from_photos, []

    def train_from_photos(*args, **kwargs):  # the engine's own, counted
        trainings.append(args)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(engine_train, "train_from_photos", train_from_photos)

    folder = tmp_path / "five"
    folder.mkdir()
    for i in range(5):
        make_jpeg(folder / f"p{i}.jpg", (160, 128), (40 * i, 90, 160),
                  gps=(48.85 + 0.01 * i, 2.35))
    make_jpeg(folder / "no_gps.jpg", (160, 128), (128, 128, 128))
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("geodecoder:train_model", {"INPUT": str(folder), "EPOCHS": 1,
                                                  "DEVICE": 1,
                                                  "OUTPUT": str(tmp_path / "my-model")})
    message = str(raised.value)
    assert "at least 11 photos with a GPS position" in message, message
    assert f"{folder} has 5 (and 1 photo(s) without GPS" in message, message
    assert trainings == []  # said up front, before any training work
    assert not (tmp_path / "my-model").exists()


def test_the_minimum_number_of_training_photos_is_the_engines():
    """MIN_TRAINING_PHOTOS photos of one city train; one fewer cannot build cells."""
    import dataclasses

    import numpy as np

    from geodecoder.inference.modeling.cells import CellsError, build_hierarchy
    from geodecoder.inference.training.train_config import TrainConfig
    from geodecoder.inference.training.train_data import Sample, split_samples
    from geodecoder.processing_provider.train_algorithm import MIN_TRAINING_PHOTOS

    val_fraction = {f.name: f.default for f in dataclasses.fields(TrainConfig)}["val_fraction"]

    def cells_build(n: int, seed: int) -> bool:
        rng = np.random.default_rng(seed)
        samples = [Sample(f"p{i}.jpg", 48.85 + rng.normal(0, 0.3), 2.35 + rng.normal(0, 0.3))
                   for i in range(n)]
        train, _val, _how = split_samples(samples, val_fraction, 0)  # the engine's split
        try:
            build_hierarchy([s.lat for s in train], [s.lon for s in train])
            return True
        except CellsError:
            return False

    assert all(cells_build(MIN_TRAINING_PHOTOS, seed) for seed in range(10))
    assert not any(cells_build(MIN_TRAINING_PHOTOS - 1, seed) for seed in range(10))




def test_processing_constraints_keep_the_answer_inside(provider, tmp_path, photo_folder,  # noqa: F811,E501
                                                       tiny_bundle_dir):
    import processing
    from qgis.core import QgsProcessingFeatureSourceDefinition
    from shapely.geometry import Point

    from geodecoder.inference.constraints import countries_area

    # two boxes in Web Mercator: one around Paris (selected), one around Tokyo (not)
    zones = memory_layer([
        "POLYGON((240000 6230000, 290000 6230000, 290000 6270000, 240000 6270000, "
        "240000 6230000))",
        "POLYGON((15500000 4200000, 15600000 4200000, 15600000 4300000, 15500000 4300000, "
        "15500000 4200000))"])
    QgsProject.instance().addMapLayer(zones)
    try:
        zones.selectByIds([next(zones.getFeatures()).id()])
        out = {key: str(tmp_path / f"{key.lower()}.gpkg")
               for key in ("OUTPUT", "CANDIDATES", "CONSTRAINTS")}
        feedback = Feedback()
        result = processing.run(ALG, {
            "INPUT": str(photo_folder[0]), "MODEL": str(tiny_bundle_dir), "DEVICE": 1,
            "TOP_K": 3, "COUNTRIES": "France, JP",
            "AREA": QgsProcessingFeatureSourceDefinition(zones.id(), True), **out},
            feedback=feedback)
    finally:
        QgsProject.instance().removeMapLayer(zones.id())
    france = countries_area("FR").geometry
    points = list(_layer(result["OUTPUT"]).getFeatures())
    assert points
    for f in points:
        assert france.contains(Point(f["lon"], f["lat"]))  # Paris box only: no Tokyo
        assert 0 <= f["constraint_mass_removed"] < 1 and f["unconstrained_cell"]
    assert all(france.contains(Point(f["lon"], f["lat"]))
               for f in _layer(result["CANDIDATES"]).getFeatures())
    constraints = [(f["kind"], f["mode"], f["label"])
                   for f in _layer(result["CONSTRAINTS"]).getFeatures()]
    assert constraints == [("area", "include", "countries: FR, JP"),
                           ("area", "include", "layer: zones")]


def test_processing_rectangle_clue_in_web_mercator(provider, tmp_path, photo_folder,  # noqa: F811,E501
                                                   tiny_bundle_dir):
    """EXTENT is the Processing dialog's "draw on canvas" rectangle, in the CRS given."""
    import processing
    from shapely.geometry import Point, box

    out = {key: str(tmp_path / f"{key.lower()}.gpkg") for key in ("OUTPUT", "CONSTRAINTS")}
    # 0..20 E, 40..55 N in Web Mercator metres
    result = processing.run(ALG, {
        "INPUT": str(photo_folder[0]), "MODEL": str(tiny_bundle_dir), "DEVICE": 1,
        "EXTENT": "0,2226389.8,4865942.3,7361866.1 [EPSG:3857]", **out}, feedback=Feedback())
    inside = box(-1e-6, 40 - 1e-6, 20 + 1e-6, 55 + 1e-6)

    points = list(_layer(result["OUTPUT"]).getFeatures())
    assert points and all(inside.contains(Point(f["lon"], f["lat"])) for f in points)
    (clue,) = list(_layer(result["CONSTRAINTS"]).getFeatures())
    assert (clue["kind"], clue["mode"], clue["label"]) == ("area", "include", "rectangle")


@pytest.mark.parametrize("params, message", [
    ({"COUNTRIES": "Atlantis"}, "unknown country"),
    ({"COUNTRIES": "CH"}, "leave nothing"),  # the tiny model knows no Swiss cell
    ({"SUN_TIME": "2024-06-01T12:00:00", "SUN_ELEVATION": 40}, "no time zone"),
    ({"SUN_TIME": "2024-06-01T12:00:00Z", "SHADOW_HEIGHT": 1, "SHADOW_LENGTH": 0}, "above 0"),
    ({"SUN_TIME": "2024-06-01T12:00:00Z", "SUN_ELEVATION": 40, "SHADOW_HEIGHT": 1,
      "SHADOW_LENGTH": 2}, "not both"),
])
def test_processing_constraint_errors_say_why(provider, tmp_path, photo_folder,  # noqa: F811
                                              tiny_bundle_dir, params, message):
    import processing

    out = tmp_path / "out.gpkg"
    out.write_bytes(b"an earlier run")
    with pytest.raises(QgsProcessingException, match=message):
        processing.run(ALG, {"INPUT": str(photo_folder[0]), "MODEL": str(tiny_bundle_dir),
                             "DEVICE": 1, "OUTPUT": str(out), **params})
    assert out.read_bytes() == b"an earlier run"
