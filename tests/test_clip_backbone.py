"""The GeoDecoder on GeoCLIP's CLIP tower (``--backbone clip-vit-l14``, issue 17 item 4).

The real tower is 1.7 GB, so these tests run on a tiny random CLIP written in the real
on-disk format by ``transformers``' ``save_pretrained`` (tests/geoclip_store.py), pinned
by a catalog of their own (``GEODECODER_MODELS_CATALOG``: the shipped catalog with the
tower's size and SHA-256 replaced) in a models folder of their own
(``GEODECODER_MODELS_DIR``).  Training, the bundle and prediction go through the command
line as a user runs them; "another tower" is the same tiny CLIP with another seed (the
same size, other bytes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("transformers")
from tests.conftest import TINY_MODEL  # noqa: E402
from tests.geoclip_store import write_tiny_clip  # noqa: E402
from tests.test_train import make_city_photos  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REF = "geoclip/clip-vit-large-patch14"
TOWER_PART = Path("geoclip", "clip-vit-large-patch14")
TOWER_FILES = ("model.safetensors", "config.json")
DECODER = ["--preset", "cpu", "--width", "32", "--hid-layers", "1", "--hdd-layers", "1",
           "--heads", "2", "--ffn", "64", "--dropout", "0"]


def install_tower(models: Path, tower: Path) -> Path:
    """``tower``'s weights and config where the models store keeps GeoCLIP's tower."""
    dest = models / TOWER_PART
    dest.mkdir(parents=True, exist_ok=True)
    for name in TOWER_FILES:
        shutil.copyfile(tower / name, dest / name)
    return dest


def write_catalog(path: Path, tower_file: Path) -> Path:
    """The shipped catalog with GeoCLIP reduced to its tower part, pinned to
    ``tower_file``'s size and SHA-256."""
    from inference.hashing import sha256_file
    from inference.models.catalog import DEFAULT_CATALOG

    doc = json.loads(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    model = doc["models"]["geoclip"]
    model["parts"] = [p for p in model["parts"] if p["id"] == TOWER_PART.name]
    pin = model["parts"][0]["files"][0]
    pin.update(size=tower_file.stat().st_size, sha256=sha256_file(tower_file))
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two tiny towers, a catalog pinning the first, a store holding it, city photos."""
    root = tmp_path_factory.mktemp("clip-backbone")
    towers = [write_tiny_clip(root / f"tower-seed{seed}", seed=seed) for seed in (0, 1)]
    catalog = write_catalog(root / "catalog.json", towers[0] / "model.safetensors")
    models = root / "models"
    install_tower(models, towers[0])
    make_city_photos(root / "photos", 3, seed=0)
    pin = json.loads(catalog.read_text())["models"]["geoclip"]["parts"][0]["files"][0]
    return {"root": root, "towers": towers, "catalog": catalog, "models": models,
            "sha256": pin["sha256"], "photos": root / "photos"}


@pytest.fixture
def store(world, monkeypatch):
    """This process reads the world's catalog and models folder."""
    monkeypatch.setenv("GEODECODER_MODELS_DIR", str(world["models"]))
    monkeypatch.setenv("GEODECODER_MODELS_CATALOG", str(world["catalog"]))
    return world


def cli(world, *args, models=None):
    env = {**os.environ, "GEODECODER_MODELS_DIR": str(models or world["models"]),
           "GEODECODER_MODELS_CATALOG": str(world["catalog"]), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "inference", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def trained(world):
    out, cache = world["root"] / "clip-model", world["root"] / "features"
    res = cli(world, "train", "--photos", str(world["photos"]), "--out", str(out),
              "--backbone", "clip-vit-l14", "--cache", str(cache), "--epochs", "3",
              "--batch-size", "8", "--device", "cpu", "--workers", "1", "--threads", "1",
              "--val-fraction", "0.2", "--quiet", *DECODER)
    assert res.returncode == 0, res.stderr
    return out, cache


# ------------------------------------------------------------------------- the tokens


def test_the_tokens_are_the_towers_last_hidden_states(store):
    """Every token of the last block, before post_layernorm, as ``transformers``'
    CLIPVisionModel computes them from the same checkpoint; CLIP's normalisation."""
    from transformers import CLIPVisionModel

    from inference.modeling.backbones import build_backbone

    backbone = build_backbone("clip-vit-l14")
    folder = store["models"] / TOWER_PART
    theirs = CLIPVisionModel.from_pretrained(str(folder)).eval()
    images = torch.rand(3, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    with torch.no_grad():
        want = theirs(pixel_values=(images - mean) / std, output_hidden_states=True)
        tokens, grid = backbone.tokens(images)
    assert grid == (7, 7) and tokens.shape == (3, 1 + 49, 64)  # patch 32 in the tiny tower
    assert backbone.channels == 64
    torch.testing.assert_close(tokens, want.hidden_states[-1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(tokens, want.last_hidden_state, rtol=1e-5, atol=1e-5)
    assert backbone.weights_from_package and not backbone.finetunable
    assert backbone.bundle_options({}) == {"tower": REF, "sha256": store["sha256"]}
    assert store["sha256"] in backbone.pretrained_source
    # another input size: the learned positions resized as transformers resizes them
    images = torch.rand(2, 3, 256, 320, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = theirs(pixel_values=(images - mean) / std, interpolate_pos_encoding=True)
        tokens, grid = backbone.tokens(images)
    assert grid == (8, 10)
    torch.testing.assert_close(tokens, want.last_hidden_state, rtol=1e-5, atol=1e-5)


def test_vit_l14_gives_the_class_token_and_a_16_by_16_grid():
    """The real tower's geometry, on the meta device (no weights): 1 + 256 tokens of
    1024 channels at 224 px, and no post-norm or projection in the headless tower."""
    from inference.modeling.clip_tower import ClipVisionTower, VisionConfig
    from inference.modeling.model import square_grid

    with torch.device("meta"):
        tower = ClipVisionTower(VisionConfig(), head=False)
        tokens = tower.hidden_states(torch.empty(2, 3, 224, 224))
    assert tokens.shape == (2, 257, 1024)
    assert square_grid(257) == (16, 16)
    assert not any(k.startswith(("visual_projection", "vision_model.post_layernorm"))
                   for k in tower.state_dict())


# --------------------------------------------------------------- which tower, verified


def test_a_tower_elsewhere_must_hold_the_pinned_bytes(store):
    from inference.modeling.backbones import BackboneError, build_backbone

    same = build_backbone("clip-vit-l14", weights=str(store["towers"][0]))
    assert same.bundle_options({"weights": "x"}) == {"tower": REF, "sha256": store["sha256"]}
    with pytest.raises(BackboneError) as info:
        build_backbone("clip-vit-l14", weights=str(store["towers"][1] / "model.safetensors"))
    message = str(info.value)
    assert "\n" not in message and store["sha256"] in message
    assert "python -m inference models get geoclip" in message


def test_the_stores_record_spares_the_hash_and_a_memo_keeps_it(store, tmp_path, monkeypatch):
    """Installed and verified (installed.json): nothing is hashed.  Not installed: the
    digest is remembered by size and mtime, and that memo is what the next load reads."""
    from inference.models.catalog import load_catalog
    from inference.models.store import write_record
    from inference.modeling.backbones import BackboneError, build_backbone

    models = tmp_path / "models"
    install_tower(models, store["towers"][0])
    monkeypatch.setenv("GEODECODER_MODELS_DIR", str(models))
    memo = models / "geoclip" / "cache" / "sha256.json"
    write_record(load_catalog().get("geoclip"), None, sources=[])
    build_backbone("clip-vit-l14")
    assert not memo.exists()
    (models / "geoclip" / "installed.json").unlink()
    build_backbone("clip-vit-l14")
    remembered = json.loads(memo.read_text())["clip-vit-large-patch14/model.safetensors"]
    assert remembered["sha256"] == store["sha256"]
    remembered["sha256"] = "0" * 64  # the memo is trusted while the file's stamp holds
    memo.write_text(json.dumps({"clip-vit-large-patch14/model.safetensors": remembered}))
    with pytest.raises(BackboneError, match="0{64}"):
        build_backbone("clip-vit-l14")


def test_another_tower_with_the_same_size_and_mtime_is_hashed_again(store, tmp_path,
                                                                    monkeypatch):
    """``cp -p`` / ``touch -r`` of another tower over the remembered one: same size, same
    mtime, other bytes.  The memo's stamp (inode, ctime) no longer holds: refused."""
    from inference.modeling.backbones import BackboneError, build_backbone

    models = tmp_path / "models"
    install_tower(models, store["towers"][0])
    monkeypatch.setenv("GEODECODER_MODELS_DIR", str(models))
    build_backbone("clip-vit-l14")  # remembered
    weights = models / "geoclip" / "clip-vit-large-patch14" / "model.safetensors"
    st = weights.stat()
    other = store["towers"][1] / "model.safetensors"
    assert other.stat().st_size == st.st_size
    shutil.copyfile(other, weights.with_name("swap"))
    os.replace(weights.with_name("swap"), weights)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (weights.stat().st_size, weights.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    with pytest.raises(BackboneError, match=store["sha256"]):
        build_backbone("clip-vit-l14")


def test_a_bundle_names_the_tower_by_reference_and_sha256_only():
    from inference.modeling.model import ModelConfig

    base = {"level_sizes": [3], "backbone": "clip-vit-l14"}
    ok = ModelConfig.from_json({**base, "backbone_options": {"tower": REF, "sha256": "a" * 64}})
    assert ok.backbone_options["tower"] == REF
    for bad in ({"weights": "/tmp/tower"}, {"tower": "../geoclip"}, {"sha256": "A" * 64},
                {"sha256": 5}):
        with pytest.raises(ValueError):
            ModelConfig.from_json({**base, "backbone_options": bad})


def test_bundle_init_with_the_tower(store, tiny_cells, tmp_path):
    from safetensors import safe_open

    from inference.modeling.bundle import init_bundle, load_bundle

    out = init_bundle(tiny_cells, tmp_path / "b", backbone="clip-vit-l14", **TINY_MODEL)
    doc = json.loads((out / "config.json").read_text())
    assert doc["backbone_in_bundle"] is False
    assert doc["model"]["backbone_options"] == {"tower": REF, "sha256": store["sha256"]}
    with safe_open(str(out / "weights.safetensors"), "pt") as f:
        assert not any(k.startswith("backbone.") for k in f.keys())
    bundle = load_bundle(out)
    assert bundle.model.backbone.sha256 == store["sha256"]


def test_finetuning_the_tower_is_refused(store, tmp_path):
    from inference.training.train import TrainError, train_from_photos

    with pytest.raises(TrainError, match="stays frozen"):
        train_from_photos(store["photos"], tmp_path / "m", backbone="clip-vit-l14",
                          finetune_backbone=True, device="cpu", quiet=True)


# ------------------------------------------------------ train -> bundle -> predict (CLI)


def test_train_writes_a_bundle_without_the_tower_that_predict_runs(world, trained, tmp_path):
    from safetensors import safe_open

    out, cache = trained
    doc = json.loads((out / "config.json").read_text())
    assert doc["model"]["backbone"] == "clip-vit-l14"
    assert doc["model"]["backbone_options"] == {"tower": REF, "sha256": world["sha256"]}
    assert doc["backbone_in_bundle"] is False
    with safe_open(str(out / "weights.safetensors"), "pt") as f:
        assert not any(k.startswith("backbone.") for k in f.keys())
    tower_bytes = (world["towers"][0] / "model.safetensors").stat().st_size
    assert all(p.stat().st_size < tower_bytes for p in out.iterdir())
    assert world["sha256"] not in set(doc["checksums"].values())
    assert "CLIP ViT-L/14" in (out / "MODEL.md").read_text(encoding="utf-8")
    # the feature cache is named by the tower's SHA-256
    (folder,) = [p for p in cache.iterdir() if p.name.startswith("clip-vit-l14-224-")]
    assert world["sha256"] in json.loads((folder / "meta.json").read_text())["backbone"]

    gpkg = tmp_path / "run.gpkg"
    res = cli(world, "predict", str(world["photos"]), "--model", str(out), "--out", str(gpkg),
              "--device", "cpu", "--quiet")
    assert res.returncode == 0, res.stderr
    assert gpkg.is_file()


@pytest.mark.parametrize("tower", ["another", "none"])
def test_predict_refuses_another_or_no_tower_in_one_line(world, trained, tmp_path, tower):
    out, _ = trained
    models = tmp_path / "models"
    models.mkdir()
    if tower == "another":  # same size, other bytes
        install_tower(models, world["towers"][1])
    gpkg = tmp_path / "run.gpkg"
    res = cli(world, "predict", str(world["photos"]), "--model", str(out), "--out", str(gpkg),
              "--device", "cpu", "--quiet", models=models)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert world["sha256"] in lines[0] and "python -m inference models get geoclip" in lines[0]
    assert not gpkg.exists()
