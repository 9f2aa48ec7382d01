"""Models downloaded once (issue 17): the catalog, the store and ``models get``, offline.

A loopback HTTP server stands in for the Hub and PyPI (tests/model_server.py) and
serves small files under a test catalog shaped like the shipped one, so every path of
the real URL patterns, the resume, the checks and the placement runs for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from inference.models import catalog as cat
from inference.models.archive import ArchiveError, extract_members
from inference.models.fetch import ModelsError, get_model, plan_get
from inference.models.store import (installed_model_dir, model_state, models_dir,
                                    remove_model)
from tests.model_server import (MEMBERS, SAFETENSORS, WHEEL, Behaviour, ModelServer,
                                dead_endpoints, make_files, set_env, sha, store_files,
                                write_catalog)

REPO = Path(__file__).resolve().parents[1]
CLIP = "clip-vit-large-patch14"
HEADS = "geoclip-1.3.0"
LAYOUT = sorted([f"geoclip/{CLIP}/{SAFETENSORS}", "geoclip/installed.json",
                 *(f"geoclip/{HEADS}/{m}" for m in MEMBERS)])


@pytest.fixture()
def files():
    return make_files()


@pytest.fixture()
def catalog(tmp_path, files):
    return cat.load_catalog(write_catalog(tmp_path / "catalog.json", files))


@pytest.fixture()
def root(tmp_path):
    return tmp_path / "models"


def _cli(args, env, stdin=""):
    return subprocess.run([sys.executable, "-m", "inference", "models", *args], cwd=REPO,
                          env={**os.environ, **env}, input=stdin, capture_output=True,
                          text=True, timeout=120)


# ------------------------------------------------------------------ the catalog
def test_the_shipped_catalog_pins_geoclip_to_the_published_files():
    entry = cat.load_catalog().get("geoclip")
    clip, heads = entry.parts
    assert clip.source == {"type": "huggingface", "repository": "openai/clip-vit-large-patch14",
                           "revision": "32bd64288804d66eefd0ccbe215aa642df71cc41"}
    assert (clip.files[0].name, clip.files[0].size, clip.files[0].sha256) == (
        "model.safetensors", 1_710_540_580,
        "a2bf730a0c7debf160f7a6b50b3aaf3703e7e88ac73de7a314903141db026dcb")
    assert heads.source == {"type": "pypi", "package": "geoclip", "version": "1.3.0"}
    wheel = heads.files[0]
    assert (wheel.name, wheel.size, wheel.sha256) == (
        WHEEL, 40_292_198, "08a93791166a279d52b95c466a952c75f17f654cc61bdf6ab20355325b564dec")
    assert [m.path for m in wheel.extract] == list(MEMBERS)
    assert clip.licence == heads.licence == "MIT"
    limits = " ".join(entry.limits)
    assert "research output" in limits and "surveillance and facial recognition" in limits
    assert entry.accuracy["percent"] == [14.1, 34.5, 50.7, 69.7, 83.8]
    assert entry.accuracy["km"] == [1, 25, 200, 750, 2500]
    assert "arxiv.org/abs/2309.16020" in entry.accuracy["source"]


def test_the_default_urls_are_the_hub_at_the_pinned_revision_and_pypi(monkeypatch):
    for var in (cat.HF_ENV, cat.PYPI_ENV):
        monkeypatch.delenv(var, raising=False)
    clip, heads = cat.load_catalog().get("geoclip").parts
    assert cat.url_for(clip, clip.files[0]) == (
        "https://huggingface.co/openai/clip-vit-large-patch14/resolve/"
        "32bd64288804d66eefd0ccbe215aa642df71cc41/model.safetensors")
    assert cat.index_for(heads, heads.files[0]) == "https://pypi.org/simple/geoclip/"


def test_the_catalogs_member_hashes_match_the_real_wheel():
    wheel = Path("/tmp/gc") / WHEEL
    if not wheel.is_file():
        pytest.skip(f"{wheel} is absent (a copy of the PyPI wheel)")
    entry = cat.load_catalog().get("geoclip")
    f = entry.parts[1].files[0]
    assert (wheel.stat().st_size, sha(wheel.read_bytes())) == (f.size, f.sha256)
    with zipfile.ZipFile(wheel) as zf:
        for m in f.extract:
            data = zf.read(m.path)
            assert (len(data), sha(data)) == (m.size, m.sha256), m.path


@pytest.mark.parametrize("bad", ["../evil.pth", "/abs/evil.pth", "a/../../evil", "a\\b"])
def test_the_catalog_refuses_member_paths_that_leave_the_folder(tmp_path, files, bad):
    path = write_catalog(tmp_path / "c.json", files)
    doc = json.loads(path.read_text())
    doc["models"]["geoclip"]["parts"][1]["files"][0]["extract"][0]["member"] = bad
    path.write_text(json.dumps(doc))
    with pytest.raises(cat.CatalogError, match="relative path|plain"):
        cat.load_catalog(path)


def test_the_catalog_can_be_named_by_the_environment(tmp_path, files, monkeypatch):
    path = write_catalog(tmp_path / "c.json", files)
    monkeypatch.setenv(cat.CATALOG_ENV, str(path))
    assert cat.load_catalog().get("geoclip").parts[0].files[0].size == len(files[SAFETENSORS])


def test_the_models_folder_comes_from_the_environment_or_a_per_user_folder(monkeypatch,
                                                                          tmp_path):
    monkeypatch.setenv("GEODECODER_MODELS_DIR", str(tmp_path / "m"))
    assert models_dir() == tmp_path / "m"
    assert models_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("GEODECODER_MODELS_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert models_dir() == tmp_path / "xdg" / "geodecoder" / "models"


# ------------------------------------------------------------------ getting
def test_get_downloads_verifies_and_lays_the_store_out(catalog, files, root, monkeypatch):
    seen = []
    with ModelServer(files) as srv:
        set_env(monkeypatch, srv.env())
        folder = get_model("geoclip", root=root, catalog=catalog, progress=seen.append)
    assert folder == root / "geoclip"
    assert store_files(root) == LAYOUT  # no .part, no wheel, no staging left
    assert (folder / CLIP / SAFETENSORS).read_bytes() == files[SAFETENSORS]
    for m in MEMBERS:
        assert (folder / HEADS / m).read_bytes() == files["member:" + m]
    assert not (root / "escaped.txt").exists() and not (folder / "escaped.txt").exists()
    assert not (folder / HEADS / "geoclip" / "__init__.py").exists()  # no wheel code
    record = json.loads((folder / "installed.json").read_text())
    assert [f["path"] for f in record["files"]] == [f"{CLIP}/{SAFETENSORS}",
                                                   *(f"{HEADS}/{m}" for m in MEMBERS)]
    assert record["files"][0]["sha256"] == sha(files[SAFETENSORS])
    assert record["verified_at"] and record["sources"][0]["from"].startswith(srv.base)
    assert installed_model_dir("geoclip", root, catalog) == folder
    assert installed_model_dir("geoclip", root, catalog, full_check=True) == folder
    # progress: per file, rising to the file's size; overall reaches what was fetched
    downloads = [p for p in seen if p.stage == "download" and p.file == SAFETENSORS]
    assert [p.done for p in downloads] == sorted(p.done for p in downloads)
    assert downloads[-1].done == downloads[-1].total == len(files[SAFETENSORS])
    last = [p for p in seen if p.stage == "download"][-1]
    assert last.overall_done == last.overall_total == len(files[SAFETENSORS]) + len(files[WHEEL])
    assert {p.stage for p in seen} >= {"download", "verify", "extract"}
    assert srv.agents == {"GeoDecoder-models/1"}  # urllib, the command line's transport


def test_a_cut_download_resumes_with_a_range_request(catalog, files, root, monkeypatch):
    cut = 70_000
    with ModelServer(files, Behaviour(cut_after={SAFETENSORS: cut})) as srv:
        set_env(monkeypatch, srv.env())
        with pytest.raises(ModelsError, match="broke off.*run the same get again to resume"):
            get_model("geoclip", root=root, catalog=catalog)
        part = root / ".partial" / "geoclip" / (SAFETENSORS + ".part")
        assert part.stat().st_size == cut
        assert installed_model_dir("geoclip", root, catalog) is None
        assert not (root / "geoclip").exists()  # nothing where the model is expected
        assert model_state(catalog.get("geoclip"), root, catalog) == "partial"
        assert plan_get("geoclip", root, catalog).files[0].have == cut
        get_model("geoclip", root=root, catalog=catalog)
    ranges = [r for p, r in srv.log if p.startswith("/cdn/")]
    assert ranges == [None, f"bytes={cut}-"]  # the Range survived the Hub's redirect
    assert srv.served[SAFETENSORS] == len(files[SAFETENSORS])  # each byte sent once
    assert installed_model_dir("geoclip", root, catalog, full_check=True) == root / "geoclip"


def test_a_server_that_ignores_range_starts_the_file_over(catalog, files, root, monkeypatch):
    with ModelServer(files, Behaviour(cut_after={SAFETENSORS: 50_000})) as srv:
        set_env(monkeypatch, srv.env())
        with pytest.raises(ModelsError):
            get_model("geoclip", root=root, catalog=catalog)
        srv.behaviour.ignore_range = True
        get_model("geoclip", root=root, catalog=catalog)
    assert (root / "geoclip" / CLIP / SAFETENSORS).read_bytes() == files[SAFETENSORS]


def test_a_sha256_mismatch_is_refused_and_deleted(catalog, files, root, monkeypatch):
    with ModelServer(files, Behaviour(corrupt={SAFETENSORS})) as srv:
        set_env(monkeypatch, srv.env())
        with pytest.raises(ModelsError, match="does not match the catalog.*deleted"):
            get_model("geoclip", root=root, catalog=catalog)
    assert store_files(root) == []  # neither the .part nor anything in the model folder
    assert installed_model_dir("geoclip", root, catalog) is None


def test_an_index_stating_another_hash_is_refused_before_downloading(catalog, files, root,
                                                                     monkeypatch):
    with ModelServer(files, Behaviour(index_sha={WHEEL: "0" * 64})) as srv:
        set_env(monkeypatch, srv.env())
        with pytest.raises(ModelsError, match="another SHA-256"):
            get_model("geoclip", root=root, catalog=catalog)
    assert not any(p.startswith("/files/") for p, _r in srv.log)
    assert installed_model_dir("geoclip", root, catalog) is None


def test_free_space_is_checked_before_the_first_byte(tmp_path, files, root, monkeypatch):
    path = write_catalog(tmp_path / "c.json", files)
    doc = json.loads(path.read_text())
    doc["models"]["geoclip"]["parts"][0]["files"][0]["size"] = 10 ** 17  # 100 PB
    path.write_text(json.dumps(doc))
    with ModelServer(files) as srv:
        set_env(monkeypatch, srv.env())
        with pytest.raises(ModelsError, match="not enough free space.*nothing was downloaded"):
            get_model("geoclip", root=root, catalog=cat.load_catalog(path))
    assert srv.log == []


def test_an_unreachable_server_fails_in_one_line_with_what_to_do(tmp_path, files, root):
    path = write_catalog(tmp_path / "c.json", files)
    res = _cli(["get", "geoclip", "--yes", "--catalog", str(path), "--models-dir", str(root)],
               dead_endpoints())
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: http://127.0.0.1:") and "cannot be reached" in lines[0]
    assert "--from FOLDER" in lines[0] and "nothing was installed" in lines[0]
    assert not root.exists() or store_files(root) == []


def test_get_from_a_folder_takes_copied_files_with_the_same_checks(tmp_path, catalog, files,
                                                                  root, monkeypatch):
    set_env(monkeypatch, dead_endpoints())  # no network at all
    copied = tmp_path / "usb"
    copied.mkdir()
    (copied / SAFETENSORS).write_bytes(files[SAFETENSORS])
    damaged = bytearray(files[WHEEL])
    damaged[len(damaged) // 2] ^= 0xFF
    (copied / WHEEL).write_bytes(bytes(damaged))  # a copy with one byte changed
    with pytest.raises(ModelsError, match=f"{WHEEL} does not match"):
        get_model("geoclip", root=root, catalog=catalog, source=copied)
    assert installed_model_dir("geoclip", root, catalog) is None
    (copied / WHEEL).write_bytes(files[WHEEL])
    seen = []
    get_model("geoclip", root=root, catalog=catalog, source=copied, progress=seen.append)
    assert store_files(root) == LAYOUT
    assert installed_model_dir("geoclip", root, catalog, full_check=True) == root / "geoclip"
    assert "copy" in {p.stage for p in seen}
    record = json.loads((root / "geoclip" / "installed.json").read_text())
    assert record["sources"][1]["from"] == str(copied / WHEEL)


def test_the_cli_asks_before_downloading_and_lists_and_removes(tmp_path, files, root):
    path = write_catalog(tmp_path / "c.json", files)
    args = ["--catalog", str(path), "--models-dir", str(root)]
    with ModelServer(files) as srv:
        res = _cli(["get", "geoclip", *args], srv.env(), stdin="n\n")
        assert res.returncode == 1 and "nothing was downloaded" in res.stdout
        assert "Licence: MIT (GeoCLIP) + MIT (OpenAI CLIP)" in res.stdout
        assert "surveillance and facial recognition" in res.stdout
        assert "14.1 / 34.5 / 50.7 / 69.7 / 83.8 %" in res.stdout
        assert srv.log == []  # the question comes before any request
        res = _cli(["get", "geoclip", *args], srv.env(), stdin="y\n")
        assert res.returncode == 0, res.stderr
        assert "100.0%" in res.stderr and "installed and verified" in res.stdout
        requests = len(srv.log)
        res = _cli(["list", *args], srv.env())
        assert "geoclip" in res.stdout and "installed" in res.stdout and "MIT" in res.stdout
    # the store is the offline cache: with no server at all, nothing is fetched
    res = _cli(["get", "geoclip", "--yes", *args], dead_endpoints())
    assert res.returncode == 0 and "nothing to fetch" in res.stdout, res.stderr
    assert len(srv.log) == requests
    res = _cli(["remove", "geoclip", *args], {})
    assert res.returncode == 0 and "removed geoclip" in res.stdout
    assert not (root / "geoclip").exists()
    res = _cli(["list", *args], {})
    assert "missing" in res.stdout


def test_files_in_the_store_without_a_record_are_hashed_not_fetched(catalog, files, root,
                                                                   monkeypatch):
    with ModelServer(files) as srv:
        set_env(monkeypatch, srv.env())
        get_model("geoclip", root=root, catalog=catalog)
    (root / "geoclip" / "installed.json").unlink()  # e.g. a store copied by hand
    assert installed_model_dir("geoclip", root, catalog) is None
    set_env(monkeypatch, dead_endpoints())
    get_model("geoclip", root=root, catalog=catalog)
    assert installed_model_dir("geoclip", root, catalog) == root / "geoclip"


def test_a_changed_file_is_not_installed_any_more(catalog, files, root, monkeypatch):
    with ModelServer(files) as srv:
        set_env(monkeypatch, srv.env())
        get_model("geoclip", root=root, catalog=catalog)
    weights = root / "geoclip" / HEADS / MEMBERS[0]
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[10] ^= 1
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    assert installed_model_dir("geoclip", root, catalog) == root / "geoclip"
    assert installed_model_dir("geoclip", root, catalog, full_check=True) is None
    weights.write_bytes(bytes(data[:-1]))  # truncated: seen without hashing
    assert installed_model_dir("geoclip", root, catalog) is None
    # a get repairs only what is wrong: the wheel again, not the large file
    with ModelServer(files) as srv:
        set_env(monkeypatch, srv.env())
        get_model("geoclip", root=root, catalog=catalog)
    assert [p for p, _r in srv.log if not p.startswith("/simple/")] == [f"/files/{WHEEL}"]
    assert installed_model_dir("geoclip", root, catalog, full_check=True) == root / "geoclip"


def test_remove_deletes_the_model_and_its_unfinished_downloads(catalog, files, root,
                                                              monkeypatch):
    with ModelServer(files, Behaviour(cut_after={WHEEL: 100})) as srv:
        set_env(monkeypatch, srv.env())
        with pytest.raises(ModelsError):
            get_model("geoclip", root=root, catalog=catalog)
    assert store_files(root)  # model.safetensors verified, the wheel's .part
    assert remove_model("geoclip", root) > len(files[SAFETENSORS])
    assert store_files(root) == []


# ------------------------------------------------------------------ the archive
def _zip(path: Path, entries) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def test_extraction_refuses_a_symlink_member_and_a_size_lie(tmp_path):
    link = zipfile.ZipInfo("geoclip/model/weights/a.pth")
    link.external_attr = (0o120777 << 16)
    archive = _zip(tmp_path / "a.whl", [(link, "/etc/passwd")])
    member = cat.Member("geoclip/model/weights/a.pth", 11, sha(b"/etc/passwd"))
    with pytest.raises(ArchiveError, match="not a regular file"):
        extract_members(archive, [member], tmp_path / "out")
    archive = _zip(tmp_path / "b.whl", [("geoclip/model/weights/a.pth", b"x" * 12)])
    with pytest.raises(ArchiveError, match="12 bytes, the catalog says 11"):
        extract_members(archive, [member], tmp_path / "out2")
    with pytest.raises(ArchiveError, match="has no member"):
        extract_members(archive, [cat.Member("geoclip/other.pth", 1, "0" * 64)],
                        tmp_path / "out3")
