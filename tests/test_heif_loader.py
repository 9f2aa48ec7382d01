"""HEIC in a program that links its own libheif (issue 11): the engine's side.

The QGIS executables have the system libheif (through GDAL) in their global symbol
scope, and pillow-heif's bundled libheif used to bind half to it and crash (SIGSEGV).
A child Python process gets the same shape by loading the system libheif with
RTLD_GLOBAL before anything else; a crash there fails the test, not pytest.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from inference.prediction import heif_loader, photos
from inference.prediction.heif_loader import UnsafeHeif
from inference.prediction.photos import PhotoError, read_exif_gps, read_photo
from tests.photo_factory import make_heic, make_jpeg

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "resources" / "samples" / "sigal_outdoor.heic"
HAVE_HEIF = importlib.util.find_spec("pillow_heif") is not None
needs_heif = pytest.mark.skipif(not HAVE_HEIF, reason="pillow_heif not installed")

CHILD = textwrap.dedent("""
    import ctypes, json, os, sys, threading
    ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_GLOBAL)  # like a linked libheif
    sys.path.insert(0, sys.argv[2])
    from inference.prediction import heif_loader, photos

    def read(path):
        try:
            image, info = photos.read_photo(path, 64)
            gps = info.exif_gps and [info.exif_gps.lat, info.exif_gps.lon]
            return {"size": list(image.size), "gps": gps}
        except photos.PhotoError as exc:
            return {"error": str(exc)}

    out = {"host": heif_loader.host_libheif()}
    worker = threading.Thread(target=lambda: out.update(worker=read(sys.argv[3])))
    worker.start()
    worker.join()
    out["main"] = {os.path.basename(p): read(p) for p in sys.argv[3:]}
    out["gps"] = photos.read_exif_gps(sys.argv[3]) is not None
    print(json.dumps(out))
""")


@pytest.fixture()
def heic(tmp_path) -> Path:
    try:
        return make_heic(tmp_path / "phone.heic", gps=(-33.5, 151.2), orientation=6)
    except (RuntimeError, ValueError, OSError) as exc:  # wheel built without an encoder
        pytest.skip(f"pillow_heif cannot encode HEIC here: {exc}")


@needs_heif
def test_heic_decodes_in_a_process_that_links_the_system_libheif(tmp_path, heic):
    system = ctypes.util.find_library("heif")
    if system is None:
        pytest.skip("no system libheif here: nothing for pillow-heif to clash with")
    if not heif_loader.bundles_own_libheif():
        pytest.skip("this pillow-heif links the system libheif: nothing to clash with")
    whole = heic.read_bytes()
    (tmp_path / "cut.heic").write_bytes(whole[: len(whole) // 2])
    jpeg = make_jpeg(tmp_path / "a.jpg", size=(96, 64), gps=(48.8566, 2.3522))
    paths = [str(heic), str(tmp_path / "cut.heic"), str(jpeg)]
    run = subprocess.run([sys.executable, "-c", CHILD, system, str(ROOT), *paths],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    out = json.loads(run.stdout.splitlines()[-1])
    assert out["host"]  # the child's global scope did hold a libheif
    # a worker thread may not flip the process-wide dlopen flags: refused, not crashed
    assert "must first be loaded on the main thread" in out["worker"]["error"]
    main = out["main"]  # then the main thread loads it deep-bound, and it decodes
    assert main["phone.heic"] == {"size": [64, 85], "gps": pytest.approx([-33.5, 151.2])}
    assert main["cut.heic"]["error"].startswith("truncated or corrupt image")
    assert main["a.jpg"] == {"size": [96, 64], "gps": pytest.approx([48.8566, 2.3522])}
    assert out["gps"]


@pytest.fixture()
def refusing(monkeypatch):
    """The engine as in a program whose libheif it cannot keep apart."""
    outcome = {"error": UnsafeHeif("pillow-heif was loaded before ...", final=True)}

    def load():
        if outcome["error"] is not None:
            raise outcome["error"]

    monkeypatch.setattr(photos, "load_pillow_heif", load)
    monkeypatch.setattr(photos, "_heif_available", None)
    monkeypatch.setattr(photos, "_heif_problem", None)
    return outcome


@needs_heif
def test_an_unsafe_heic_is_a_failure_of_that_photo_only(refusing, heic, tmp_path):
    with pytest.raises(PhotoError, match="HEIC cannot be decoded here: pillow-heif was"):
        read_photo(heic)
    assert read_exif_gps(heic) is None
    jpeg = make_jpeg(tmp_path / "a.jpg", size=(96, 64), gps=(48.8566, 2.3522))
    image, info = read_photo(jpeg, 64)  # everything else as before
    assert image.size == (96, 64) and info.exif_gps is not None
    assert not photos.register_heif()  # final: not tried again


@needs_heif
def test_a_refusal_on_a_worker_thread_is_retried_on_the_main_thread(refusing, heic):
    refusing["error"] = UnsafeHeif("must first be loaded on the main thread", final=False)
    with pytest.raises(PhotoError, match="main thread"):
        read_photo(heic)
    refusing["error"] = None  # the main thread now loads it
    assert photos.register_heif()
    assert read_photo(heic, 64)[0].size == (64, 85)


def test_a_plain_python_process_has_no_libheif_to_clash_with():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "from inference.prediction import heif_loader;"
            "print(heif_loader.host_libheif())")
    run = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True,
                         text=True, timeout=60, check=True)
    assert run.stdout.strip() == "None"  # so the command line imports pillow-heif as ever


@needs_heif
def test_the_sample_heic_reads_in_process_as_before():
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} is absent")
    image, info = read_photo(SAMPLE, 224)
    assert image.mode == "RGB" and min(image.size) == 224
    assert info.exif_gps is not None
