"""Shared fixtures and helpers of the plugin tests (imported by the test_plugin_* files).

The repository root is the plugin folder; QGIS imports it as the package
``geodecoder``, so the tests do the same (``import_plugin``) and every relative import
of the plugin (``from ..inference import ...``) resolves as it does inside QGIS.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest
from pytest_qgis.utils import wait_until

from tests.photo_factory import make_jpeg

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "geodecoder"
# photo name -> EXIF GPS (None = no GPS); two broken files are added beside them
GOOD_PHOTOS = {
    "paris_street.jpg": (48.8566, 2.3522), "nairobi.jpg": (-1.2921, 36.8219),
    "tokyo_night.jpg": (35.6762, 139.6503), "lima.jpg": None, "sydney.jpg": None,
    "suva.jpg": (-18.1416, 178.4419), "unknown_1.jpg": None, "unknown_2.jpg": None,
}
BROKEN_PHOTOS = {"truncated.jpg": "truncated or corrupt", "notes.jpg": "not an image"}


def import_plugin():
    """The plugin package as QGIS sees it, imported from the repository root."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


def spin_until(condition, seconds: float = 90.0) -> bool:
    """Run the Qt event loop (where QgsTask.finished runs) until `condition()`."""
    return wait_until(condition, timeout_milliseconds=int(seconds * 1000))


def add_and_wait(dock, paths, seconds: float = 30.0) -> int:
    """``dock.add_paths`` and wait for its background folder scan; returns the number of
    photos the list gained."""
    before = dock.photos.count()
    dock.add_paths(paths)
    assert spin_until(lambda: not dock.photos.is_scanning(), seconds=seconds), \
        "the folder scan did not end"
    return dock.photos.count() - before


def make_photo_folder(folder: Path) -> dict:
    """Real JPEGs (textured, some with EXIF GPS) plus a truncated and a text file."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, gps) in enumerate(GOOD_PHOTOS.items()):
        make_jpeg(folder / name, size=(320 + 16 * i, 240), color=(30 * i % 255, 90, 160),
                  gps=gps, orientation=6 if i == 2 else None)
    whole = make_jpeg(folder / "truncated_src.jpg", size=(320, 240)).read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    (folder / "truncated_src.jpg").unlink()
    (folder / "notes.jpg").write_text("not a photo\n", encoding="utf-8")
    return {"good": [str(folder / n) for n in GOOD_PHOTOS],
            "broken": [str(folder / n) for n in BROKEN_PHOTOS]}


@pytest.fixture(scope="session")
def plugin_package():
    return import_plugin()


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("photos") / "trip"
    return folder, make_photo_folder(folder)


def local_wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel, so pip installs offline."""
    name, version = "gd_fake_dep", "0.1"
    files = {f"{name}/__init__.py": b"ANSWER = 42\n",
             f"{name}-{version}.dist-info/METADATA":
                 f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{name}-{version}.dist-info/WHEEL":
                 b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{path},sha256={digest},{len(data)}\n"
    record += f"{name}-{version}.dist-info/RECORD,,\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr(f"{name}-{version}.dist-info/RECORD", record)
    return wheel


def memory_layer(wkts, kind: str = "Polygon", crs: str = "EPSG:3857", name: str = "zones"):
    """A memory layer of `kind` in `crs` with one feature per WKT (in that CRS)."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer(f"{kind}?crs={crs}", name, "memory")
    features = []
    for wkt in wkts:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(wkt))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def pick_on_map(plugin, layer, feature) -> list:
    """A click on `feature`'s point with Pick on map (the tool's own signal, at the
    point in the canvas's CRS); where the dock then lists a stack of photos there, the
    feature's row is clicked too.  Returns the rows the dock listed (file names)."""
    from qgis.core import QgsCoordinateTransform, QgsProject
    from qgis.PyQt.QtCore import Qt

    canvas = plugin.iface.mapCanvas()
    to_canvas = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(),
                                       QgsProject.instance())
    plugin.pick_tool.canvasClicked.emit(to_canvas.transform(feature.geometry().asPoint()),
                                        Qt.LeftButton)
    stack = plugin.dock.result_view.stack
    rows = [stack.item(i) for i in range(stack.count())]
    for item in rows:
        if item.toolTip() == str(feature["photo_path"]):
            stack.itemClicked.emit(item)
    return [item.text() for item in rows]
