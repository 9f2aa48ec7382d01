"""tools/render_screenshots.py renders the README pictures headless."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from qgis.PyQt.QtGui import QImage

from tests.test_plugin_fixtures import ROOT, photo_folder  # noqa: F401


def test_screenshots_render_headless(tmp_path, tiny_bundle_dir, photo_folder):  # noqa: F811
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "render_screenshots.py"),
                          "--model", str(tiny_bundle_dir), "--photos", str(photo_folder[0]),
                          "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    for name, min_size in (("screenshot-map.png", (1000, 500)),
                           ("screenshot-dock.png", (300, 800))):
        image = QImage(str(Path(tmp_path) / name))
        assert not image.isNull(), name
        assert image.width() >= min_size[0] and image.height() >= min_size[1], name
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37)
                   for y in range(0, image.height(), 37)}
        assert len(colours) > 20, f"{name} looks blank"
