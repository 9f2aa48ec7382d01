"""Model bundles: round trip, and errors that say what is wrong and what to do."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from inference.modeling.bundle import ModelBundleError, load_bundle, save_bundle


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


def _drop_checksums(folder):
    """A bundle written before checksums existed (or whose config was edited by hand)."""
    doc = json.loads((folder / "config.json").read_text())
    doc.pop("checksums")
    (folder / "config.json").write_text(json.dumps(doc))


def test_weights_of_another_shape(broken):
    state = load_file(str(broken / "weights.safetensors"))
    key = next(k for k in state if k.startswith("heads."))
    state[key] = torch.zeros(3, 3)
    save_file(state, str(broken / "weights.safetensors"))
    with pytest.raises(ModelBundleError, match="checksum mismatch"):
        load_bundle(broken)
    _drop_checksums(broken)
    with pytest.raises(ModelBundleError, match="wrong shape"):
        load_bundle(broken)


def test_checksums_cover_every_data_file_and_catch_one_changed_byte(broken):
    doc = json.loads((broken / "config.json").read_text())
    assert {"weights.safetensors", "cells.json"} <= set(doc["checksums"])
    load_bundle(broken)  # intact: loads
    cells = broken / "cells.json"
    text = cells.read_text()
    cells.write_text(text.replace('"t_min": ', '"t_min":  ', 1))  # same JSON, other bytes
    with pytest.raises(ModelBundleError, match="cells.json: checksum mismatch"):
        load_bundle(broken)
    _drop_checksums(broken)
    load_bundle(broken)  # without checksums it loads as before


def test_cells_that_do_not_fit_the_model(broken):
    doc = json.loads((broken / "config.json").read_text())
    doc["model"]["level_sizes"][0] += 1
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
