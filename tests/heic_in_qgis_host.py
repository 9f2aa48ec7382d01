"""Child process of ``test_plugin_heic.py``: the dock in a process shaped like QGIS.

The ``qgis`` and ``qgis_process`` executables link libqgis_core, and through it GDAL and
the system libheif, so that libheif is in the process's global symbol scope.  A Python
process that imports ``qgis.core`` loads them RTLD_LOCAL instead, where pillow-heif's own
libheif cannot clash with them: the bug would hide.  So this script first reopens
libqgis_core with RTLD_GLOBAL (everything it links follows), then does what a user did
when QGIS died: add a folder with HEIC photos to the dock, let the thumbnail timer run,
and Run.  A crash kills only this process; the test reads its exit status.

    python tests/heic_in_qgis_host.py PHOTO_FOLDER BUNDLE WORK_DIR

Exit 0 with a JSON summary on the last line of stdout; NO_HOST_LIBHEIF when this QGIS
links no libheif (nothing can clash; the test skips); any other status is a failure.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from pathlib import Path
from unittest import mock

NO_HOST_LIBHEIF = 77
ROOT = Path(__file__).resolve().parents[1]


def link_like_the_qgis_executables() -> str | None:
    """libqgis_core and its libraries into the global scope; the libheif version
    that is now there, or None."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if "/libqgis_core.so" in line}
    for path in paths:
        ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_GLOBAL | os.RTLD_NOLOAD)
    try:
        get_version = ctypes.CDLL(None).heif_get_version
    except AttributeError:
        return None
    get_version.restype = ctypes.c_char_p
    return get_version().decode()


def spin_until(condition, seconds: float) -> bool:
    import time

    from qgis.PyQt.QtCore import QCoreApplication

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        QCoreApplication.processEvents()
        time.sleep(0.01)
    return True


def main(folder: str, bundle: str, work: str) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication, QgsProject
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtWidgets import QMainWindow

    host = link_like_the_qgis_executables()
    if host is None:
        print("this QGIS links no libheif: nothing to clash with")
        return NO_HOST_LIBHEIF
    profile = Path(work, "profiles", "default")
    profile.mkdir(parents=True, exist_ok=True)
    app = QgsApplication([], True, str(profile))
    app.initQgis()
    from qgis.gui import QgsMapCanvas

    sys.path.insert(0, str(ROOT))
    from tests.test_plugin_fixtures import import_plugin

    window = QMainWindow()
    iface = mock.MagicMock()  # the QGIS window: real where the dock touches it
    iface.mainWindow.return_value = window
    iface.mapCanvas.return_value = QgsMapCanvas(window)
    iface.addDockWidget.side_effect = window.addDockWidget
    plugin = import_plugin().classFactory(iface)
    plugin.initGui()
    dock = plugin.ensure_dock()
    plugin.service.runs_dir = Path(work, "runs")

    # what the user did: add the folder; the thumbnail timer starts at once
    dock.add_paths([folder])
    assert spin_until(lambda: not dock.photos.is_scanning(), 60), "folder scan hung"
    assert spin_until(lambda: dock.photos.thumbnails_pending() == 0, 60), "thumbnails hung"
    rows = {dock.photos.item(i).data(Qt.UserRole): dock.photos.item(i)
            for i in range(dock.photos.count())}
    thumbnails = {os.path.basename(p): not item.icon().isNull() for p, item in rows.items()}

    # a text clue read first (the dock's "Suggest countries", not used): the engine it
    # imports brings shapely, which must come deep-bound (a plain import here made the
    # run below fail with GEOS's "WKB output dimension must be 2 or 3")
    box = dock.clues.text_clue
    box.language.findData("pl")  # the language list fills from the engine
    box.text.setText("Apteka Słoneczna")
    box.suggest_button.click()
    assert "Polish" in box.result.text(), box.result.text()

    # ... then Run, through the plugin's task
    dock.options.model.setFilePath(bundle)
    dock.options.device.setCurrentIndex(dock.options.device.findData("cpu"))
    dock.options.output.setFilePath("")
    finished = []
    plugin.service.runFinished.connect(lambda outcome, layers: finished.append(layers))
    dock.run_button.click()
    assert spin_until(lambda: plugin.service.task is None, 240), "the run did not end"
    assert finished, dock.status.text()
    predicted = sorted(os.path.basename(f["photo_path"])
                       for f in finished[0].predictions.getFeatures())
    statuses = {os.path.basename(p): dock.photos.status_of(p) for p in rows}
    plugin.unload()
    QgsProject.instance().clear()
    print(json.dumps({"host_libheif": host, "thumbnails": thumbnails,
                      "predicted": predicted, "statuses": statuses}))
    sys.stdout.flush()
    os._exit(0)  # skip QGIS's exit-time teardown: the verdict is in


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
