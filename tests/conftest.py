"""Shared fixtures: small real hierarchies and bundles that the tests build themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CITIES = {  # (lat, lon): a handful of cities on different continents
    "paris": (48.8566, 2.3522), "nairobi": (-1.2921, 36.8219), "tokyo": (35.6762, 139.6503),
    "lima": (-12.0464, -77.0428), "sydney": (-33.8688, 151.2093), "suva": (-18.1416, 178.4419),
}
TINY_MODEL = dict(width=32, scenes=3, hid_layers=1, hdd_layers=1, heads=2, ffn=64, dropout=0.0)


def clustered_coords(n_per_city: int = 80, seed: int = 0, spread_deg: float = 0.3):
    rng = np.random.default_rng(seed)
    lats, lons = [], []
    for lat, lon in CITIES.values():
        lats.append(lat + rng.normal(0, spread_deg, n_per_city))
        lons.append(lon + rng.normal(0, spread_deg, n_per_city))
    lons = (np.concatenate(lons) + 180) % 360 - 180
    return np.concatenate(lats), lons


def shared_data(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data is not on this machine)")
    return path


@pytest.fixture(scope="session")
def tiny_cells():
    from inference.modeling.cells import build_hierarchy
    lats, lons = clustered_coords()
    return build_hierarchy(lats, lons, t_min=2, t_max=[200, 60, 20])


@pytest.fixture(scope="session")
def tiny_bundle_dir(tiny_cells, tmp_path_factory) -> Path:
    from inference.modeling.bundle import init_bundle
    return init_bundle(tiny_cells, tmp_path_factory.mktemp("bundle") / "tiny", name="tiny",
                       **TINY_MODEL)


@pytest.fixture(scope="session")
def tiny_bundle(tiny_bundle_dir):
    from inference.modeling.bundle import load_bundle
    return load_bundle(tiny_bundle_dir)


def read_state(root):
    """The state of the newest training checkpoint in ``root`` (tests read it; the engine
    itself only loads verified checkpoints)."""
    import json

    from inference.training.train_checkpoint import STATE, checkpoints
    for folder in checkpoints(root):
        return json.loads((folder / STATE).read_text(encoding="utf-8"))
    return None


@pytest.fixture()
def plugin(qgis_iface, qgis_new_project, tmp_path):
    """The QGIS plugin as QGIS starts it (GUI, dock), its runs under tmp_path; the project
    is cleared afterwards.  (Here, not in test_plugin_fixtures, so that test files need not
    import it; QGIS is imported only when a test asks for it.)"""
    from tests.test_plugin_fixtures import import_plugin

    import_plugin()
    from geodecoder.services.settings import DockSettings

    DockSettings().save()  # every test starts from the defaults, whatever ran before
    instance = import_plugin().classFactory(qgis_iface)
    instance.initGui()
    dock = instance.ensure_dock()
    instance.service.runs_dir = tmp_path / "runs"
    dock.photos.clear_photos()
    yield instance
    instance.unload()
    qgis_new_project.clear()



@pytest.fixture()
def provider(qgis_processing):
    """The plugin's Processing provider in the registry (added for the test when QGIS has
    not loaded the plugin itself)."""
    from qgis.core import QgsApplication
    from tests.test_plugin_fixtures import import_plugin

    import_plugin()
    from geodecoder.processing_provider.provider import GeoDecoderProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("geodecoder") is not None:
        yield registry.providerById("geodecoder")
        return
    instance = GeoDecoderProvider()
    registry.addProvider(instance)
    yield instance
    registry.removeProvider(instance)


@pytest.fixture(autouse=True)
def _canvas_idle_between_tests():
    """No map render runs while a test's project is cleared or filled.  pytest-qgis's
    ``newProject`` removes every layer at once, without stopping the canvas as QGIS's
    own does, and a render thread still reading the previous test's layers (their
    project expression scope) segfaulted one-process runs of all QGIS tests
    (docs/KNOWN_ISSUES.md).  Engine tests have no canvas: nothing to wait for."""
    _wait_for_canvas()
    yield
    _wait_for_canvas()


def _wait_for_canvas() -> None:
    import sys

    utils = sys.modules.get("qgis.utils")
    iface = getattr(utils, "iface", None) if utils is not None else None
    canvas = iface.mapCanvas() if iface is not None else None
    if canvas is not None:
        canvas.stopRendering()
        canvas.waitWhileRendering()


@pytest.fixture(autouse=True)
def _an_empty_models_folder(monkeypatch, tmp_path_factory):
    """Every test starts with an empty downloaded-models folder: a GeoCLIP store on the
    machine (or one a previous test's dock chose, which the dock writes into the
    process's environment) would otherwise answer for "no model given"."""
    monkeypatch.setenv("GEODECODER_MODELS_DIR", str(tmp_path_factory.mktemp("models")))
