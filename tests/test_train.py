"""End-to-end training on generated photos whose look depends on where they were taken.

Six cities on five continents, one colour per city (with per-photo jitter and texture),
real EXIF GPS: an ImageNet backbone separates the colours, so a few epochs of a tiny
decoder must place held-out photos far better than the prior.  The feature cache is
shared by the module, so only the first run pays for the backbone.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CITIES
from tests.photo_factory import make_jpeg

COLOURS = [(200, 40, 40), (40, 180, 60), (50, 80, 210), (220, 200, 40), (190, 60, 190),
           (40, 190, 190)]
TINY = dict(width=32, hid_layers=1, hdd_layers=1, heads=2, ffn=64, dropout=0.0)
FAST = dict(model=TINY, lr=2e-3, batch_size=16, val_fraction=0.2, quiet=True, threads=1,
            device="cpu", workers=1)


def make_city_photos(folder: Path, n_per_city: int, seed: int, size=(256, 232)):
    """JPEGs with EXIF GPS near each city; rows (file name, lat, lon, author, scene)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for ci, (name, (lat, lon)) in enumerate(CITIES.items()):
        for j in range(n_per_city):
            colour = tuple(int(np.clip(v + rng.normal(0, 12), 0, 255)) for v in COLOURS[ci])
            la, lo = lat + rng.normal(0, 0.2), lon + rng.normal(0, 0.2)
            lo = (lo + 180) % 360 - 180
            path = folder / f"{name}_{seed}_{j:02d}.jpg"
            make_jpeg(path, size, colour, gps=(la, lo))
            rows.append((path.name, la, lo, f"{name}-photographer{j % 3}", f"look{ci % 2}"))
    return rows


def write_labels(path: Path, rows, extra: bool = False) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["IMG_ID", "LAT", "LON"] + (["AUTHOR", "SCENE"] if extra else []))
        for r in rows:
            w.writerow(list(r[:3]) + (list(r[3:5]) if extra else []))
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("cities")
    train = make_city_photos(root / "train", 10, seed=0)
    make_jpeg(root / "train" / "no_gps_1.jpg", (256, 232), (128, 128, 128))
    make_jpeg(root / "train" / "no_gps_2.jpg", (256, 232), (90, 90, 90))
    (root / "train" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    held = make_city_photos(root / "held", 4, seed=1)
    return {"root": root, "train": root / "train", "held": root / "held",
            "train_rows": train, "held_csv": write_labels(root / "held.csv", held),
            "train_csv": write_labels(root / "train.csv", train, extra=True),
            "cache": root / "cache"}


@pytest.fixture(scope="module")
def trained(photos):
    from inference.training.train import train_from_photos

    messages = []
    result = train_from_photos(photos["train"], photos["root"] / "model",
                               cache_dir=str(photos["cache"]), epochs=12,
                               progress=lambda f, m: messages.append((f, m)), **FAST)
    return result, messages


def test_train_photos_writes_a_trained_bundle_with_its_card(trained):
    from inference.modeling.bundle import load_bundle

    result, _ = trained
    assert result.bundle_dir is not None and not result.cancelled
    bundle = load_bundle(result.bundle_dir)
    assert bundle.info.untrained is False
    facts = bundle.info.training
    assert facts["data"]["n_train"] == result.n_train and result.n_val >= 1
    assert facts["cells"]["levels"][0]["cells"] >= 2
    assert set(facts["validation"]) >= {"model", "prior", "knn"}
    card = (result.bundle_dir / "MODEL.md").read_text(encoding="utf-8")
    for needle in ("pseudo-scenes", "frozen", "EfficientNet-Lite0", "| this model |",
                   "prior", "kNN", "Training photos"):
        assert needle in card, needle
    assert (result.bundle_dir / "scenes.safetensors").is_file()
    assert bundle.config.scenes == len(bundle.info.scene_names)


def test_photos_without_gps_are_listed_and_skipped(trained, photos):
    result, _ = trained
    skipped = {Path(p).name: reason for p, reason in result.skipped}
    assert "no usable GPS" in skipped["no_gps_1.jpg"]
    assert "no usable GPS" in skipped["no_gps_2.jpg"]
    assert "broken.jpg" in skipped
    assert result.n_train + result.n_val == len(photos["train_rows"])
    assert result.facts["data"]["photos_found"] == len(photos["train_rows"]) + 3
    assert result.facts["data"]["photos_skipped"] == 3


def test_progress_reports_fractions_up_to_one(trained):
    _, messages = trained
    fractions = [f for f, _ in messages]
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions[-1] == 1.0 and any("epoch" in m for _, m in messages)


def test_trained_bundle_beats_the_prior_on_held_out_photos(trained, photos):
    from inference.modeling.bundle import load_bundle
    from inference.training.evaluate import evaluate_csv

    result, _ = trained
    report = evaluate_csv(load_bundle(result.bundle_dir), photos["held_csv"], photos["held"],
                          device="cpu")
    model, prior = report["accuracy"]["2500"], report["baselines"]["prior"]["accuracy"]["2500"]
    assert report["n"] == 24 and not report["failed"]
    assert model >= prior + 0.4, (model, prior)
    assert model >= 0.8


def test_second_run_reads_the_feature_cache_and_never_runs_the_backbone(trained, photos,
                                                                        monkeypatch):
    from inference.modeling import backbones
    from inference.training.train import train_from_photos

    def boom(self, images):
        raise AssertionError("the backbone ran although every photo is in the cache")

    monkeypatch.setattr(backbones.EfficientNetLite0, "tokens", boom)
    result = train_from_photos(photos["train"], photos["root"] / "model2",
                               cache_dir=str(photos["cache"]), epochs=1, **FAST)
    assert result.cache_misses == 0 and result.backbone_batches == 0
    assert result.cache_hits == len(photos["train_rows"])


def test_feature_cache_recomputes_a_changed_file(photos, tmp_path):
    import os

    from inference.training.features import FeatureCache

    cache = FeatureCache(tmp_path, "efficientnet_lite0:x", 224)
    path = photos["train"] / photos["train_rows"][0][0]
    key = cache.key(path)
    cache.add([key], [str(path)], np.zeros((1, 4, 8), np.float16), np.zeros((1, 8)))
    assert cache.lookup(cache.key(path)) is not None
    assert FeatureCache(tmp_path, "efficientnet_lite0:x", 224).lookup(key) is not None
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cache.lookup(cache.key(path)) is None
    assert FeatureCache(tmp_path, "other_backbone:x", 224).lookup(key) is None


@pytest.fixture(scope="module")
def full_run(photos, tmp_path_factory):
    """Three uninterrupted epochs: what a stopped-and-resumed run must reproduce."""
    from inference.training.train import train_from_photos

    opts = dict(FAST, cache_dir=str(photos["cache"]), epochs=3)
    return train_from_photos(photos["train"], tmp_path_factory.mktemp("full") / "full", **opts)


def _same_run(full, resumed):
    from safetensors.torch import load_file

    a = load_file(str(full.bundle_dir / "weights.safetensors"))
    b = load_file(str(resumed.bundle_dir / "weights.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert np.allclose(a[k].numpy(), b[k].numpy(), atol=1e-5), k
    assert [h["loss"] for h in full.facts["history"]] == pytest.approx(
        [h["loss"] for h in resumed.facts["history"]], abs=1e-5)


def test_resume_continues_from_the_checkpoint_like_an_uninterrupted_run(photos, full_run,
                                                                        tmp_path):
    from inference.training.train import train_from_photos
    from tests.conftest import read_state

    opts = dict(FAST, cache_dir=str(photos["cache"]), epochs=3)
    done = []

    def progress(fraction, message):
        done.append(message)

    stop = lambda: any("epoch 2/3 done" in m for m in done)  # noqa: E731
    part = train_from_photos(photos["train"], tmp_path / "part", progress=progress,
                             should_stop=stop, **opts)
    assert part.cancelled and part.bundle_dir is None and part.epochs_done == 2
    assert read_state(part.checkpoint_dir)["epoch"] == 2
    resumed = train_from_photos(photos["train"], tmp_path / "part", resume=True, **opts)
    assert resumed.epochs_done == 3 and not resumed.cancelled
    _same_run(full_run, resumed)


def test_a_crash_while_writing_a_checkpoint_resumes_from_the_last_whole_one(
        photos, full_run, tmp_path, monkeypatch):
    """Killed after epoch 2's weights were written but before its optimizer state: the
    resumed run must start from epoch 1 as a whole, not epoch 2's weights with epoch 1's
    optimizer (which the old loose-file checkpoints accepted)."""
    from inference.training import train_checkpoint
    from inference.training.train import train_from_photos
    from tests.conftest import read_state

    opts = dict(FAST, cache_dir=str(photos["cache"]), epochs=3)
    real, calls = train_checkpoint._write_optimizer, []

    def dies_at_epoch_2(extra, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed while writing the checkpoint of epoch 2")
        real(extra, path)

    monkeypatch.setattr(train_checkpoint, "_write_optimizer", dies_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train_from_photos(photos["train"], tmp_path / "crash", **opts)
    monkeypatch.setattr(train_checkpoint, "_write_optimizer", real)
    ckpt = tmp_path / "crash.checkpoint"
    assert [p.name for p in ckpt.iterdir()] == ["checkpoint-000001"]  # no half folder
    assert read_state(ckpt)["epoch"] == 1
    resumed = train_from_photos(photos["train"], tmp_path / "crash", resume=True, **opts)
    assert resumed.epochs_done == 3
    _same_run(full_run, resumed)


def test_resume_refuses_a_checkpoint_of_other_data(photos, tmp_path):
    from inference.training.train import TrainError, train_from_photos

    opts = dict(FAST, cache_dir=str(photos["cache"]), epochs=1)
    train_from_photos(photos["train"], tmp_path / "m", **opts)
    with pytest.raises(TrainError, match="other data"):
        train_from_photos(photos["train"], tmp_path / "m", resume=True, **dict(opts, seed=5))


def test_csv_training_keeps_photographers_apart_and_routes_by_the_scene_column(photos, tmp_path):
    from inference.modeling.bundle import load_bundle
    from inference.training.train import train_from_csv

    result = train_from_csv(photos["train_csv"], photos["train"], tmp_path / "csv-model",
                            scene_column="SCENE", cache_dir=str(photos["cache"]), epochs=2,
                            route_by_label=True, **dict(FAST, val_fraction=0.25))
    author = {str(photos["train"] / r[0]): r[3] for r in photos["train_rows"]}
    train_authors = {author[p] for p in result.train_paths}
    val_authors = {author[p] for p in result.val_paths}
    assert val_authors and not train_authors & val_authors
    assert "photographer-disjoint" in result.facts["data"]["split"]
    assert "teacher forcing" in result.facts["recipe"]["routing"]
    bundle = load_bundle(result.bundle_dir)
    assert bundle.info.scene_names == ["look0", "look1"]
    assert not (result.bundle_dir / "scenes.safetensors").exists()


def test_cli_train_photos(photos, tmp_path, capsys):
    from inference.__main__ import main

    out = tmp_path / "cli-model"
    code = main(["train", "--photos", str(photos["train"]), "--out", str(out), "--cache",
                 str(photos["cache"]), "--epochs", "1", "--width", "32", "--heads", "2",
                 "--ffn", "64", "--hid-layers", "1", "--hdd-layers", "1", "--quiet",
                 "--device", "cpu"])
    assert code == 0
    captured = capsys.readouterr()
    assert "no_gps_1.jpg" in captured.err and "wrote" in captured.out
    assert (out / "MODEL.md").is_file()


def test_finetune_backbone_with_bf16_autocast_on_cpu(photos, tmp_path):
    from inference.modeling.bundle import load_bundle
    from inference.training.train import train_from_photos

    result = train_from_photos(photos["train"], tmp_path / "ft", cache_dir=str(tmp_path / "c"),
                               epochs=1, finetune_backbone=True, precision="bf16",
                               image_size=64, **dict(FAST, workers=0, batch_size=32))
    bundle = load_bundle(result.bundle_dir)
    assert bundle.info.backbone_in_bundle and not bundle.info.untrained
    assert bundle.info.training["recipe"]["precision"] == "bf16"
    assert "fine-tuned" in (result.bundle_dir / "MODEL.md").read_text()


def test_vit_from_a_local_file_trains_and_travels_inside_the_bundle(photos, tmp_path):
    """The paper-scale backbone: a ViT whose weights are a local file, not a package.
    Training passes the options to the backbone and the model config, and the frozen
    ViT goes into the bundle, which then works without the file."""
    import torch
    from safetensors.torch import save_file

    from inference.__main__ import main
    from inference.modeling.backbones import VisionTransformer
    from inference.modeling.bundle import load_bundle
    from inference.training.features import backbone_id
    from inference.training.knn import bundle_backbone_key
    from inference.prediction.predict import Predictor
    from inference.records import Prediction

    torch.manual_seed(0)
    vit = VisionTransformer(pretrained=False, patch=32, dim=24, depth=1, heads=2)
    weights = tmp_path / "vit.safetensors"
    save_file({k: v.contiguous() for k, v in vit.state_dict().items()}, str(weights))
    out = tmp_path / "vit-model"
    args = ["train", "--photos", str(photos["train"]), "--out", str(out), "--cache",
            str(tmp_path / "cache"), "--epochs", "2", "--width", "32", "--heads", "2",
            "--ffn", "64", "--hid-layers", "1", "--hdd-layers", "1", "--quiet",
            "--device", "cpu", "--threads", "1", "--backbone", "vit"]
    for option in (f"weights={weights}", "patch=32", "dim=24", "depth=1", "heads=2"):
        args += ["--backbone-option", option]
    assert main(args) == 0
    weights.unlink()  # the bundle must not need the file any more

    bundle = load_bundle(out)
    assert bundle.info.backbone_in_bundle and not bundle.info.untrained
    assert bundle.config.backbone == "vit"
    assert bundle.config.backbone_options == {"patch": 32, "dim": 24, "depth": 1, "heads": 2}
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(bundle.model.backbone.tokens(x)[0], vit.tokens(x)[0], atol=1e-5)
    photo = photos["train"] / photos["train_rows"][0][0]
    records = list(Predictor(bundle, device="cpu").run([str(photo)]))
    assert len(records) == 1 and isinstance(records[0], Prediction)
    card = (out / "MODEL.md").read_text(encoding="utf-8")
    assert "`vit`" in card and "inside the bundle" in card and "EfficientNet" not in card
    # evaluate's kNN baseline finds the training run's cached features of this backbone
    assert bundle_backbone_key(bundle) == backbone_id("vit", vit, bundle.config.backbone_options)


def test_an_option_the_backbone_does_not_know_is_a_train_error(photos, tmp_path):
    from inference.training.train import TrainError, train_from_photos

    with pytest.raises(TrainError, match="backbone-option.*colour"):
        train_from_photos(photos["train"], tmp_path / "m", cache_dir=str(photos["cache"]),
                          backbone_options={"colour": 1}, **FAST)


def test_cancel_before_training_leaves_no_bundle(photos, tmp_path):
    from inference.training.train import train_from_photos

    result = train_from_photos(photos["train"], tmp_path / "never", should_stop=lambda: True,
                               cache_dir=str(photos["cache"]), epochs=1, **FAST)
    assert result.cancelled and result.bundle_dir is None
    assert not (tmp_path / "never").exists()


def test_torchrun_ddp_fine_tuning_on_two_cpu_processes(photos, tmp_path):
    """DDP over gloo: both ranks train, rank 0 alone writes (and no rank waits forever)."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo), OMP_NUM_THREADS="1")
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "inference", "train",
           "--photos", str(photos["train"]), "--out", str(out), "--cache", str(tmp_path / "c"),
           "--epochs", "1", "--width", "32", "--heads", "2", "--ffn", "64", "--hid-layers",
           "1", "--hdd-layers", "1", "--device", "cpu", "--finetune-backbone",
           "--image-size", "64", "--precision", "bf16", "--workers", "0", "--batch-size",
           "16", "--quiet"]
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    doc = json.loads((out / "config.json").read_text())
    assert doc["training"]["hardware"]["world_size"] == 2
    assert doc["backbone_in_bundle"] is True
    assert res.stdout.count("wrote ") == 1  # one writer
