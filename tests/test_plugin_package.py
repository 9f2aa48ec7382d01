"""`make package`: the zip plugins.qgis.org accepts, and a checker that rejects bad ones."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("geodecoder_package_tool",
                                                  ROOT / "tools" / "package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def package():
    return _tool()


@pytest.fixture(scope="module")
def built_zip(package, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "geodecoder-test.zip"
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "package.py"), "--out",
                          str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return out


def test_zip_has_one_top_folder_and_what_qgis_needs(package, built_zip):
    assert package.validate(built_zip) == []
    names = zipfile.ZipFile(built_zip).namelist()
    assert {n.split("/")[0] for n in names} == {"geodecoder"}
    for needed in ("__init__.py", "plugin.py", "metadata.txt", "LICENSE", "resources/icon.svg",
                   "resources/styles/predictions.qml", "ui/dock.py",
                   "services/run/pipeline.py", "services/run/task.py",
                   "processing_provider/geolocate_algorithm.py", "inference/prediction/predict.py",
                   "inference/outputs/gpkg.py"):
        assert f"geodecoder/{needed}" in names, needed
    assert built_zip.stat().st_size < 25 * 1024 * 1024


def test_zip_leaves_out_what_users_do_not_run(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    for name in names:
        parts = name.split("/")
        assert not {"tests", "benchmarks", ".venv", ".git", "__pycache__", "docs",
                    ".qgis-settings", "dist"} & set(parts), name
        assert not name.endswith((".pyc", ".so", ".whl")), name
    assert "geodecoder/Makefile" not in names


def test_the_zip_ships_the_pins_the_installer_reads(built_zip, tmp_path):
    """The dock's installer reads requirements.txt's tested pins from the plugin folder:
    the zip must hold that file, unchanged, where ``dependencies.PINS_FILE`` looks."""
    with zipfile.ZipFile(built_zip) as zf:
        shipped = zf.read("geodecoder/requirements.txt")
    assert shipped == (ROOT / "requirements.txt").read_bytes()
    from tests.test_plugin_fixtures import import_plugin

    import_plugin()
    from geodecoder.services.installer import dependencies as deps

    assert deps.PINS_FILE == ROOT / "requirements.txt"
    (tmp_path / "requirements.txt").write_bytes(shipped)
    pins = deps.read_pins(tmp_path / "requirements.txt")
    assert pins == deps.TESTED_PINS and pins["torch"] == deps.REQUIREMENTS[0].version


def test_same_tree_gives_the_same_zip(package, built_zip, tmp_path):
    again = package.build(tmp_path / "again.zip")
    assert again.read_bytes() == built_zip.read_bytes()


def test_the_checker_rejects_what_the_validator_rejects(package, built_zip, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(built_zip) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            if item.filename != "geodecoder/LICENSE":
                dst.writestr(item, src.read(item))
        dst.writestr("geodecoder/ui/__pycache__/dock.cpython-311.pyc", b"\0")
        dst.writestr("GeoDecoder-0.1.0/extra.txt", b"second top folder")
        dst.writestr("geodecoder/libs/torch_cpu.so", b"\0")
    problems = "\n".join(package.validate(bad))
    assert "LICENSE is missing" in problems
    assert "forbidden folder" in problems and "compiled Python file" in problems
    assert "exactly one top folder" in problems
    assert "bundled binary" in problems


def test_metadata_checks(package):
    good = (ROOT / "metadata.txt").read_text(encoding="utf-8")
    assert package.check_metadata(good) == []
    broken = good.replace("tracker=https://", "tracker=bugs://").replace("email=", "mail=")
    problems = "\n".join(package.check_metadata(broken))
    assert "lacks email" in problems and "tracker is not a URL" in problems


def test_deployed_zip_runs_in_qgis_process(built_zip, tmp_path, tiny_bundle_dir):
    """What `make deploy` installs is complete: qgis_process loads it and geolocates."""
    import os
    import site

    from tests.test_plugin_fixtures import make_photo_folder

    qgis_process = Path("/usr/bin/qgis_process.bin")
    if not qgis_process.exists():
        pytest.skip(f"{qgis_process} is absent (Debian package 'qgis' not installed)")
    plugins = tmp_path / "config" / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(built_zip) as zf:
        zf.extractall(plugins)
    make_photo_folder(tmp_path / "photos")
    paths = [p for p in (*site.getsitepackages(), *sys.path) if p and os.path.isdir(p)
             and Path(p).resolve() != ROOT]
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "config"),
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)))

    def run(*args):
        return subprocess.run([str(qgis_process), *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=240, check=False)

    assert run("plugins", "enable", "geodecoder").returncode == 0
    out = tmp_path / "out.gpkg"
    res = run("run", "geodecoder:geolocate_photos", "--", f"INPUT={tmp_path / 'photos'}",
              f"MODEL={tiny_bundle_dir}", f"OUTPUT={out}")
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert out.exists()
