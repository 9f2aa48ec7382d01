"""HEIC inside QGIS (issue 11), tested the way it failed.

Adding a folder with a HEIC photo to the dock killed QGIS (SIGSEGV in pillow-heif's
bundled libheif, from the thumbnail timer), and so did ``qgis_process run
geodecoder:geolocate_photos`` on such a folder (exit 139): the QGIS executables have
the system libheif in their global symbol scope.  Both run in child processes here, so
that a crash fails the test instead of killing pytest.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from qgis.core import QgsVectorLayer

from tests.heic_in_qgis_host import NO_HOST_LIBHEIF
from tests.photo_factory import make_heic, make_jpeg
from tests.test_plugin_fixtures import ROOT, import_plugin

import_plugin()

QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")
ALG = "geodecoder:geolocate_photos"
SAMPLE = ROOT / "resources" / "samples" / "sigal_outdoor.heic"
GOOD = ("phone.heic", "sample.heic", "street.jpg")


@pytest.fixture(scope="module")
def heic_folder(tmp_path_factory) -> Path:
    """The sample HEIC, a phone-like HEIC with GPS, a truncated HEIC and a JPEG."""
    if importlib.util.find_spec("pillow_heif") is None:
        pytest.skip("pillow-heif is not installed: HEIC cannot be decoded at all")
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} is absent")
    folder = tmp_path_factory.mktemp("heic") / "phone"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "sample.heic")
    try:
        whole = make_heic(folder / "phone.heic", gps=(-33.5, 151.2)).read_bytes()
    except (RuntimeError, ValueError, OSError) as exc:  # wheel built without an encoder
        pytest.skip(f"pillow_heif cannot encode HEIC here: {exc}")
    (folder / "cut.heic").write_bytes(whole[: len(whole) // 2])
    make_jpeg(folder / "street.jpg", size=(320, 240), gps=(48.8566, 2.3522))
    return folder


def _died(run: subprocess.CompletedProcess) -> str:
    how = f"killed by signal {-run.returncode}" if run.returncode < 0 else \
        f"exit {run.returncode}"
    return f"{how}\n{(run.stdout + run.stderr)[-4000:]}"


def test_dock_thumbnails_and_run_with_heic_in_a_qgis_shaped_process(heic_folder, tmp_path,
                                                                   tiny_bundle_dir):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "heic_in_qgis_host.py"),
                          str(heic_folder), str(tiny_bundle_dir), str(tmp_path / "work")],
                         capture_output=True, text=True, env=env, timeout=400, check=False)
    if run.returncode == NO_HOST_LIBHEIF:
        pytest.skip("this QGIS links no libheif: nothing for pillow-heif to clash with")
    assert run.returncode == 0, _died(run)
    out = json.loads(run.stdout.splitlines()[-1])
    assert out["host_libheif"]  # the child did have QGIS's libheif in its global scope
    assert out["thumbnails"] == {"cut.heic": False, "phone.heic": True, "sample.heic": True,
                                 "street.jpg": True}
    assert out["predicted"] == sorted(GOOD)
    assert out["statuses"]["cut.heic"].startswith("failed: truncated or corrupt image")


def _private_deps(profile: Path) -> Path:
    """The engine's packages where the dock's Install puts them (``pip install --target``
    into ``<profile>/python/geodecoder-deps/py3.X``), linked from the site-packages that
    hold them here; the plugin's classFactory puts that folder on sys.path."""
    from geodecoder.services.installer.dependencies import REQUIREMENTS

    sites = []
    for requirement in REQUIREMENTS:
        spec = importlib.util.find_spec(requirement.module)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None:
            site = origin.parent.parent if origin.name == "__init__.py" else origin.parent
            sites += [site] if site not in sites else []
    target = profile / "python" / "geodecoder-deps" / \
        f"py{sys.version_info.major}.{sys.version_info.minor}"
    target.mkdir(parents=True)
    for site in sites:
        for entry in site.iterdir():
            link = target / entry.name
            if entry.name != "__pycache__" and entry.suffix != ".pth" and not link.exists():
                link.symlink_to(entry, target_is_directory=entry.is_dir())
    return target


def test_qgis_process_geolocates_a_folder_with_heic_photos(heic_folder, tmp_path,
                                                          tiny_bundle_dir):
    if not QGIS_PROCESS.exists():
        pytest.skip(f"{QGIS_PROCESS} is absent (Debian package 'qgis' not installed)")
    config = tmp_path / "config"
    profile = config / "profiles" / "default"
    (profile / "python" / "plugins").mkdir(parents=True)
    (profile / "python" / "plugins" / "geodecoder").symlink_to(ROOT, target_is_directory=True)
    _private_deps(profile)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(QGIS_CUSTOM_CONFIG_PATH=str(config), QT_QPA_PLATFORM="offscreen")

    def qgis_process(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(QGIS_PROCESS), *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=300, check=False)

    enabled = qgis_process("plugins", "enable", "geodecoder")
    assert enabled.returncode == 0, _died(enabled)
    out = tmp_path / "out.gpkg"
    run = qgis_process("run", ALG, "--", f"INPUT={heic_folder}", f"MODEL={tiny_bundle_dir}",
                       f"OUTPUT={out}")
    assert run.returncode == 0, _died(run)
    layer = QgsVectorLayer(str(out), "predictions", "ogr")
    assert layer.isValid(), run.stdout[-2000:]
    rows = {os.path.basename(f["photo_path"]): f for f in layer.getFeatures()}
    assert sorted(rows) == sorted(GOOD)  # both HEICs have their prediction row
    assert rows["phone.heic"]["exif_lat"] == pytest.approx(-33.5, abs=1e-6)
    assert rows["sample.heic"]["exif_lat"] == pytest.approx(53.4515, abs=1e-3)
    assert all(0 < f["confidence"] <= 1 for f in rows.values())
    text = run.stdout + run.stderr
    assert "Skipped" in text and "cut.heic" in text and "truncated or corrupt" in text
