"""Model bundles: round trip, and errors that say what is wrong and what to do."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from inference.modeling.bundle import (ModelBundleError, config_digest, load_bundle,
                                       save_bundle, seal_bundle)


def test_round_trip_gives_identical_outputs(tiny_bundle, tmp_path):
    copy = save_bundle(tiny_bundle, tmp_path / "copy")
    again = load_bundle(copy)
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        a, b = tiny_bundle.model(x), again.model(x)
    for la, lb in zip(a.level_logits, b.level_logits):
        assert torch.equal(la, lb)
    assert torch.equal(a.scene_logits, b.scene_logits)
    assert again.info.untrained and again.cells.sizes == tiny_bundle.cells.sizes


def test_frozen_backbone_is_not_copied_into_the_bundle(tiny_bundle_dir):
    keys = load_file(str(tiny_bundle_dir / "weights.safetensors")).keys()
    assert keys and not any(k.startswith("backbone.") for k in keys)
    assert (tiny_bundle_dir / "weights.safetensors").stat().st_size < 5_000_000


@pytest.fixture
def broken(tiny_bundle_dir, tmp_path):
    dst = tmp_path / "b"
    shutil.copytree(tiny_bundle_dir, dst)
    return dst


def test_missing_weights(broken):
    (broken / "weights.safetensors").unlink()
    with pytest.raises(ModelBundleError, match="weights.safetensors is missing.*re-download"):
        load_bundle(broken)


def test_damaged_weights(broken):
    (broken / "weights.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(ModelBundleError, match="damaged"):
        load_bundle(broken)


def test_weights_of_another_shape_are_refused_and_cannot_be_sealed(broken):
    state = load_file(str(broken / "weights.safetensors"))
    key = next(k for k in state if k.startswith("heads."))
    state[key] = torch.zeros(3, 3)
    save_file(state, str(broken / "weights.safetensors"))
    with pytest.raises(ModelBundleError, match="checksum mismatch"):
        load_bundle(broken)
    config = (broken / "config.json").read_bytes()
    with pytest.raises(ModelBundleError, match="wrong shape"):
        seal_bundle(broken)  # sealing vouches for files that load, nothing else
    assert (broken / "config.json").read_bytes() == config  # put back as it was


def test_checksums_cover_every_data_file_and_catch_one_changed_byte(broken):
    doc = json.loads((broken / "config.json").read_text())
    assert {"weights.safetensors", "cells.json"} <= set(doc["checksums"])
    load_bundle(broken)  # intact: loads
    cells = broken / "cells.json"
    text = cells.read_text()
    cells.write_text(text.replace('"t_min": ', '"t_min":  ', 1))  # same JSON, other bytes
    with pytest.raises(ModelBundleError, match="cells.json: checksum mismatch"):
        load_bundle(broken)
    seal_bundle(broken)  # the change was meant: sealed, it loads
    assert load_bundle(broken).cells.sizes


def test_cells_that_do_not_fit_the_model(broken):
    doc = json.loads((broken / "config.json").read_text())
    doc["model"]["level_sizes"][0] += 1
    doc["digest"] = config_digest(doc)  # sealed as it is: the inconsistency remains
    (broken / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelBundleError, match="inconsistent"):
        load_bundle(broken)


def test_newer_format_and_not_a_bundle(broken, tmp_path):
    doc = json.loads((broken / "config.json").read_text())
    doc["version"] = 99
    (broken / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ModelBundleError, match="update the plugin"):
        load_bundle(broken)
    with pytest.raises(ModelBundleError, match="not a GeoDecoder bundle"):
        load_bundle(tmp_path)
    with pytest.raises(ModelBundleError, match="not a folder"):
        load_bundle(tmp_path / "nope")


def test_failed_save_keeps_the_old_bundle(tiny_bundle, tmp_path, monkeypatch):
    out = save_bundle(tiny_bundle, tmp_path / "m")
    before = (out / "weights.safetensors").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(type(tiny_bundle.cells), "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(tiny_bundle, out)
    assert (out / "weights.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_vit_bundle_from_a_local_checkpoint_carries_its_backbone(tiny_cells, tmp_path):
    """A backbone whose weights are not in a pip package travels inside the bundle."""
    from inference.__main__ import main
    from inference.modeling.backbones import VisionTransformer

    torch.manual_seed(0)
    vit = VisionTransformer(pretrained=False, image_size=224, patch=32, dim=24, depth=1, heads=2)
    save_file({k: v.contiguous() for k, v in vit.state_dict().items()},
              str(tmp_path / "vit.safetensors"))
    tiny_cells.save(tmp_path / "cells.json")
    opts = ["weights=" + str(tmp_path / "vit.safetensors"), "patch=32", "dim=24", "depth=1",
            "heads=2"]
    args = ["bundle", "init", "--cells", str(tmp_path / "cells.json"), "--out",
            str(tmp_path / "vitb"), "--backbone", "vit", "--width", "32", "--scenes", "2",
            "--hid-layers", "1", "--hdd-layers", "1"]
    for o in opts:
        args += ["--backbone-option", o]
    assert main(args) == 0
    (tmp_path / "vit.safetensors").unlink()  # the bundle must not need the file any more
    bundle = load_bundle(tmp_path / "vitb")
    assert bundle.info.backbone_in_bundle
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(bundle.model.backbone.tokens(x)[0], vit.tokens(x)[0], atol=1e-5)


def test_a_save_interrupted_between_its_two_renames_still_loads(tiny_bundle, tmp_path,
                                                               monkeypatch, caplog):
    """Replacing a bundle is two renames (old -> DIR.old, new -> DIR): a crash between
    them leaves no DIR.  Loading then uses DIR.old, with a warning, and the next save
    repairs the folder."""
    import logging
    from pathlib import Path

    from inference.modeling.bundle import read_bundle_config

    out = save_bundle(tiny_bundle, tmp_path / "m")
    before = (out / "weights.safetensors").read_bytes()
    real_rename, calls = Path.rename, []

    def crash_on_second_rename(self, target):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt("power cut")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", crash_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(tiny_bundle, out)
    monkeypatch.setattr(Path, "rename", real_rename)
    assert not out.exists() and (tmp_path / "m.old").is_dir()
    with caplog.at_level(logging.WARNING):
        again = load_bundle(out)
    assert again.path == tmp_path / "m.old" and "interrupted" in caplog.text
    assert read_bundle_config(out)["name"] == tiny_bundle.info.name
    assert (again.path / "weights.safetensors").read_bytes() == before
    save_bundle(tiny_bundle, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_the_trained_bundle_writer_swaps_in_through_the_same_code(tiny_bundle, tmp_path,
                                                                  monkeypatch):
    import numpy as np

    from inference.modeling import bundle as bundle_module
    from inference.training.model_card import write_bundle
    from inference.training.scenes import load_centroids

    swaps = []
    real = bundle_module.replace_folder
    monkeypatch.setattr(bundle_module, "replace_folder",
                        lambda new, dest: (swaps.append(dest), real(new, dest)))
    centroids = np.eye(3, 4, dtype=np.float32)
    for _ in range(2):  # a first write, then a replacement
        out = write_bundle(tiny_bundle.model, tiny_bundle.config, tiny_bundle.cells,
                           ["a", "b", "c"], {"x": 1}, tmp_path / "trained", "# card",
                           centroids, False, "trained")
    assert swaps == [tmp_path / "trained"] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained"]
    assert (out / "MODEL.md").read_text() == "# card"
    assert np.array_equal(load_centroids(out / "scenes.safetensors"), centroids)
    loaded = load_bundle(out)
    assert loaded.info.scene_names == ["a", "b", "c"] and not loaded.info.untrained


# ------------------------------------------------------- the digest (issue 19.3)


def _config(folder):
    return json.loads((folder / "config.json").read_text())


def _write_config(folder, doc):
    (folder / "config.json").write_text(json.dumps(doc, indent=2))


def _documented_digest(doc):
    """The digest as bundle.py's docstring defines it, computed here independently."""
    import hashlib

    body = {k: v for k, v in doc.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_digest_names_config_and_data_files_and_a_changed_temperature_is_refused(broken):
    doc = _config(broken)
    assert doc["digest"] == _documented_digest(doc)
    bundle = load_bundle(broken)
    assert bundle.digest == doc["digest"]
    assert bundle.weights_sha256 == doc["checksums"]["weights.safetensors"]
    # the same content in another layout (compact, other key order) is the same model
    (broken / "config.json").write_text(json.dumps(dict(reversed(list(doc.items())))))
    assert load_bundle(broken).digest == doc["digest"]
    # a changed temperature changes every confidence: refused, with how to re-seal
    doc["calibration"] = {"temperature": 2.0}
    _write_config(broken, doc)
    with pytest.raises(ModelBundleError, match=r"config.json was changed after the bundle "
                       r"was made.*bundle seal") as err:
        load_bundle(broken)
    assert "\n" not in str(err.value)
    data = {f.name: f.read_bytes() for f in broken.iterdir() if f.name != "config.json"}
    old, new, changed = seal_bundle(broken)
    assert (old, changed) == (bundle.digest, []) and new != old
    again = load_bundle(broken)
    assert again.digest == new == _documented_digest(_config(broken))
    assert again.info.temperature == 2.0 and again.weights_sha256 == bundle.weights_sha256
    assert {f.name: f.read_bytes() for f in broken.iterdir() if f.name != "config.json"} == data


def test_the_model_card_is_outside_the_digest(tiny_bundle, tmp_path):
    out = save_bundle(tiny_bundle, tmp_path / "m", card="# card\n")
    digest = load_bundle(out).digest
    assert "MODEL.md" not in _config(out)["checksums"]
    (out / "MODEL.md").write_text("# card\n\nChecked by J. Doe on 2026-01-05.\n")
    assert load_bundle(out).digest == digest


def test_a_bundle_without_checksums_or_digest_is_refused_until_sealed(broken, capsys):
    from inference.__main__ import main

    doc = _config(broken)
    sealed = doc.pop("digest")
    sums = doc.pop("checksums")
    _write_config(broken, doc)
    with pytest.raises(ModelBundleError, match=r"has no checksums and no digest.*"
                       r"python -m inference bundle seal "):
        load_bundle(broken)
    assert main(["bundle", "seal", str(broken)]) == 0
    out = capsys.readouterr().out
    assert sealed in out  # the same content as before: the same digest
    assert _config(broken)["checksums"] == sums and load_bundle(broken).digest == sealed
    assert main(["bundle", "seal", str(broken)]) == 0
    assert "sealed already" in capsys.readouterr().out
    doc = _config(broken)
    doc.pop("digest")
    _write_config(broken, doc)
    with pytest.raises(ModelBundleError, match="has no digest"):
        load_bundle(broken)


def test_seal_refuses_values_a_bundle_cannot_have(broken):
    doc = _config(broken)
    doc["calibration"] = {"temperature": "hot"}
    _write_config(broken, doc)
    before = (broken / "config.json").read_bytes()
    with pytest.raises(ModelBundleError, match="calibration.temperature"):
        seal_bundle(broken)
    assert (broken / "config.json").read_bytes() == before


# ----------------------------------------- files from outside the bundle (issue 21.3)


@pytest.mark.parametrize("key,name", [
    ("weights_file", "../weights.safetensors"), ("weights_file", "/tmp/w.safetensors"),
    ("cells_file", "/dev/zero"), ("cells_file", "sub/cells.json"),
    ("gallery_file", "..\\g.safetensors"), ("cells_file", ".."), ("cells_file", 7),
    ("weights_file", "MODEL.md"),
])
def test_file_names_must_be_plain_names_inside_the_bundle(broken, key, name):
    doc = _config(broken)
    doc[key] = name
    _write_config(broken, doc)
    with pytest.raises(ModelBundleError, match=f"{key} must be the plain name"):
        load_bundle(broken)


def test_a_loaded_file_must_be_in_the_checksums(broken, tmp_path):
    shutil.copy(broken / "cells.json", broken / "other.json")
    doc = _config(broken)
    doc["cells_file"] = "other.json"
    doc["digest"] = config_digest(doc)  # even sealed: other.json is unverified
    _write_config(broken, doc)
    with pytest.raises(ModelBundleError, match="cells_file 'other.json' is not in checksums"):
        load_bundle(broken)


def test_links_devices_and_oversized_files_are_refused_before_reading(broken, tmp_path,
                                                                      monkeypatch):
    import os

    from inference.modeling import bundle as bundle_module

    cells = broken / "cells.json"
    outside = tmp_path / "outside.json"
    shutil.copy(cells, outside)
    cells.unlink()
    os.symlink(outside, cells)  # the same bytes, but from outside the bundle
    with pytest.raises(ModelBundleError, match="cells.json is a link"):
        load_bundle(broken)
    cells.unlink()
    os.symlink("/dev/zero", cells)
    with pytest.raises(ModelBundleError, match="cells.json is a link"):
        load_bundle(broken)  # refused at once, not read until memory runs out
    cells.unlink()
    os.mkfifo(cells)  # opened without blocking, refused without reading
    with pytest.raises(ModelBundleError, match="cells.json is not a regular file"):
        load_bundle(broken)
    cells.unlink()
    shutil.copy(outside, cells)
    load_bundle(broken)
    monkeypatch.setattr(bundle_module, "MAX_CELLS_BYTES", cells.stat().st_size - 1)
    with pytest.raises(ModelBundleError, match=r"cells.json is [\d,]+ bytes, above the"):
        load_bundle(broken)


# ----------------------------------------------- bundle values (issue 21.9-11)


def _set(doc, dotted, value):
    *parents, last = dotted.split(".")
    for p in parents:
        doc = doc[p]
    doc[last] = value


BAD_VALUES = [
    ("model.width", 1e9, 'model.width must be a whole number from 4 to 8,192, got 1000000000.0'),
    ("model.width", 10**9, 'model.width must be a whole number'),
    ("model.heads", 0, 'model.heads must be a whole number from 1'),
    ("model.scenes", -5, 'model.scenes must be a whole number from 1'),
    ("model.image_size", 0, 'model.image_size must be a whole number from 32 to 2,048, got 0'),
    ("model.image_size", 1e6, 'model.image_size must be a whole number'),
    ("model.backbone", "resnet9000", 'model.backbone: unknown backbone "resnet9000"'),
    ("model.backbone_options", {"weights": "/etc/passwd"}, "backbone_options.weights"),
    ("model.level_sizes", [], 'model.level_sizes must be a list'),
    ("model.dropout", float("nan"), 'model.dropout must be a number'),
    ("version", "abc", 'version must be a whole number from 1, got "abc"'),
    ("calibration.temperature", "hot", 'calibration.temperature must be a number above 0 '
     'and at most 1000, got "hot"'),
    ("calibration.temperature", "inf", 'calibration.temperature .* got "inf"'),
    ("calibration.temperature", float("nan"), "calibration.temperature .* got NaN"),
    ("calibration.temperature", float("inf"), "calibration.temperature .* got Infinity"),
    ("calibration.temperature", 0, "calibration.temperature .* got 0"),
    ("calibration", [5.0], r"calibration must be an object \{...\}, got \[5.0\]"),
    ("decision.radius_km", -1, "decision.radius_km must be a number from 0"),
    ("retrieval.enabled", "yes", "retrieval.enabled must be true or false"),
    ("scene_names", "abc", "scene_names must be a list of texts"),
    ("checksums", ["x"], "checksums must be an object"),
]


@pytest.mark.parametrize("key,value,message", BAD_VALUES, ids=[f"{k}={v!r}" for k, v, _ in
                                                                BAD_VALUES])
def test_each_bad_value_is_one_line_that_says_what_and_where(broken, key, value, message):
    import re

    doc = _config(broken)
    _set(doc, key, value)
    _write_config(broken, doc)
    with pytest.raises(ModelBundleError) as err:
        load_bundle(broken)
    text = str(err.value)
    assert "\n" not in text and str(broken / "config.json") in text
    assert re.search(message, text), text


def test_json_nested_200000_deep_is_refused_in_one_line(broken):
    doc = _config(broken)
    doc["training"] = "DEEP"
    text = json.dumps(doc).replace('"DEEP"', "[" * 200_000 + "]" * 200_000)
    (broken / "config.json").write_text(text)
    with pytest.raises(ModelBundleError, match="nested too deeply") as err:
        load_bundle(broken)
    assert "\n" not in str(err.value)


def test_an_oversized_config_is_refused_before_parsing(broken):
    (broken / "config.json").write_bytes(b" " * (16 << 20) + b"{}")
    with pytest.raises(ModelBundleError, match="larger than 16 MiB"):
        load_bundle(broken)


@pytest.mark.parametrize("key,value", [("model.image_size", 0), ("calibration.temperature",
                                                                  "hot")])
def test_the_command_line_exits_2_with_the_one_line(broken, tmp_path, capsys, key, value):
    from PIL import Image

    from inference.__main__ import main

    Image.new("RGB", (64, 48), (90, 120, 200)).save(tmp_path / "photo.jpg")
    doc = _config(broken)
    _set(doc, key, value)
    doc["digest"] = config_digest(doc)  # a bad value, sealed: still refused
    _write_config(broken, doc)
    rc = main(["predict", str(tmp_path / "photo.jpg"), "--model", str(broken), "--out",
               str(tmp_path / "run.gpkg"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and not (tmp_path / "run.gpkg").exists()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and key in lines[0], err
    assert "Traceback" not in err and "photo" not in lines[0].split("config.json")[-1]
