"""The pieces of training that need no photos: split, scenes, kNN, loss, schedule."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st


def _samples(n, authors=None):
    from inference.training.train import Sample

    return [Sample(f"/p/{i}.jpg", float(i % 80), float(i % 170),
                   authors[i] if authors else "") for i in range(n)]


@given(st.integers(5, 200), st.integers(1, 30), st.floats(0.05, 0.5), st.integers(0, 99))
@settings(max_examples=60, deadline=None)
def test_photographer_disjoint_split_never_shares_an_author(n, n_authors, frac, seed):
    from inference.training.train import split_samples

    rng = random.Random(seed)
    authors = [f"a{rng.randrange(n_authors)}" if rng.random() > 0.1 else "" for _ in range(n)]
    train, val, how = split_samples(_samples(n, authors), frac, seed)
    assert len(train) + len(val) == n and len(train) >= 2
    shared = {s.author for s in train if s.author} & {s.author for s in val if s.author}
    assert not shared
    assert "photographer-disjoint" in how


def test_random_split_is_seeded_and_sized():
    from inference.training.train import split_samples

    a = split_samples(_samples(100), 0.1, seed=3)
    b = split_samples(_samples(100), 0.1, seed=3)
    c = split_samples(_samples(100), 0.1, seed=4)
    assert [s.path for s in a[1]] == [s.path for s in b[1]] != [s.path for s in c[1]]
    assert len(a[1]) == 10 and "seeded random" in a[2]
    assert len(split_samples(_samples(4), 0.1)[1]) == 0  # too few photos to hold any out
    assert len(split_samples(_samples(23), 0.1)[1]) == 2
    assert len(split_samples(_samples(30), 0.0)[1]) == 0


def test_kmeans_recovers_separated_clusters_and_is_seeded():
    from inference.training.scenes import assign, effective_scenes, kmeans

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 5
    x = np.concatenate([c + rng.normal(size=(30, 16)) * 0.3 for c in centres])
    cents, labels = kmeans(x, 4, seed=1)
    assert cents.shape == (4, 16)
    for block in range(4):
        assert len(set(labels[block * 30:(block + 1) * 30])) == 1
    assert len(set(labels)) == 4
    assert np.array_equal(kmeans(x, 4, seed=1)[1], labels)
    assert np.array_equal(assign(x, cents), labels)
    assert kmeans(x[:3], 8)[0].shape[0] == 3  # never more clusters than points
    assert effective_scenes(16, 23) == 2 and effective_scenes(16, 10_000) == 16
    assert effective_scenes(16, 3) == 1


def test_centroids_round_trip(tmp_path):
    from inference.training.scenes import load_centroids, save_centroids

    c = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    save_centroids(tmp_path / "s.safetensors", c, {"backbone": "x"})
    assert np.array_equal(load_centroids(tmp_path / "s.safetensors"), c)


def test_knn_predicts_the_geodesic_medoid_of_the_neighbours():
    from inference.training.knn import knn_predict

    feats = np.array([[1, 0], [0.99, 0.1], [0.98, 0.12], [0, 1]], dtype=np.float32)
    coords = np.array([[48.8, 2.3], [48.9, 2.4], [-33.9, 151.2], [35.7, 139.7]])
    pred = knn_predict(feats, coords, np.array([[1, 0.05]], np.float32), k=3)
    assert np.allclose(pred[0], [48.8, 2.3]) or np.allclose(pred[0], [48.9, 2.4])
    nearest = knn_predict(feats, coords, np.array([[0.1, 1]], np.float32), k=1)
    assert np.allclose(nearest[0], [35.7, 139.7])
    assert knn_predict(feats, coords, np.ones((2, 2), np.float32), k=50).shape == (2, 2)


def test_geo_loss_masks_missing_cells_and_weights_levels():
    from inference.training.train import geo_loss

    logits = [torch.randn(4, 3), torch.randn(4, 5)]
    labels = torch.tensor([[0, 1], [1, -1], [2, 4], [0, -1]])
    full = geo_loss(logits, labels, [1.0, 1.0], 0.0)
    l0 = torch.nn.functional.cross_entropy(logits[0], labels[:, 0])
    l1 = torch.nn.functional.cross_entropy(logits[1][[0, 2]], labels[[0, 2], 1])
    assert torch.allclose(full, l0 + l1)
    assert torch.allclose(geo_loss(logits, labels, [0.5, 0.0], 0.0), 0.5 * l0)
    heads = [torch.randn(4, 3, requires_grad=True), torch.randn(4, 5, requires_grad=True)]
    none = geo_loss(heads, torch.full((4, 2), -1), [1.0, 1.0], 0.1)
    assert float(none.detach()) == 0.0 and math.isfinite(float(none.detach()))
    none.backward()  # every head stays in the graph (DDP needs a gradient from each)
    assert all(h.grad is not None and float(h.grad.abs().sum()) == 0.0 for h in heads)


def test_schedule_warms_up_then_decays_to_zero():
    from inference.training.train import auto_epochs, lr_factor

    f = [lr_factor(s, 10, 100) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[9:], f[10:])) and f[-1] < 0.01
    assert auto_epochs(1) == 100 and auto_epochs(500) == 10 and auto_epochs(25) == 20


def test_model_card_states_missing_validation_honestly():
    from inference.training.model_card import render_card

    facts = {
        "trained_with": "x", "created": "now",
        "data": {"description": "d", "kind": "photos", "source": "s", "licence": "l",
                 "photos_found": 3, "photos_skipped": 0, "skipped_by_reason": {},
                 "n_train": 3, "n_val": 0, "split": "none",
                 "train_photos_outside_every_cell": 0},
        "validation": {},
        "cells": {"built_from": "b", "t_min": 1, "levels": [{"t_max": 2, "cells": 2}],
                  "notes": []},
        "scenes": {"source": "pseudo", "count": 1},
        "backbone": {"name": "b", "weights": "w", "frozen": True, "image_size": 224},
        "model": {"preset": "cpu", "width": 8, "hid_layers": 1, "hdd_layers": 1, "heads": 1,
                  "ffn": 8, "dropout": 0, "scenes": 1, "decoder_parameters": 10},
        "recipe": {"optimizer": "AdamW", "lr": 1, "backbone_lr": None, "weight_decay": 0,
                   "schedule": "s", "label_smoothing": 0, "level_weights": [1],
                   "scene_weight": 1, "routing": "r", "epochs": 1, "batch_size": 1, "steps": 1,
                   "precision": "fp32", "grad_clip": 1, "seed": 0, "augmentation": "none"},
        "selection": {"rule": "r", "best_epoch": 1, "epochs_run": 1},
        "hardware": {"device": "cpu", "world_size": 1, "cpu_threads": 1, "torch": "t",
                     "cpu": "c"},
        "time_s": {"features": 0, "training": 0, "total": 0},
        "feature_cache": {"hits": 0, "computed": 3}, "deviations": ["frozen"]}
    card = render_card(facts, "m")
    assert "no measured accuracy" in card and card.startswith("# Model card: m")


# ------------------------------------------------------------ the feature cache


class _MeanColour(torch.nn.Module):
    """A backbone stand-in: 2 x 2 tokens of the mean colour of each image quadrant."""

    channels = 3

    def tokens(self, images):
        pooled = torch.nn.functional.adaptive_avg_pool2d(images, 2)  # (B, 3, 2, 2)
        return pooled.flatten(2).transpose(1, 2), (2, 2)


def test_feature_shards_are_bounded_in_bytes_and_keep_every_row(tmp_path):
    from tests.photo_factory import make_jpeg

    from inference.training.features import FeatureCache, extract_features, pool_tokens
    from inference.prediction.preprocess import decode_for_model

    paths = []
    (tmp_path / "p").mkdir()
    for i in range(12):
        paths.append(str(make_jpeg(tmp_path / "p" / f"{i:02d}.jpg", (80, 64),
                                   (20 * i, 200 - 10 * i, 90))))
    cache = FeatureCache(tmp_path / "cache", "mean-colour:test", 32)
    row_bytes = 4 * 3 * 2  # 4 tokens x 3 channels, float16
    ext = extract_features(paths, _MeanColour(), cache, batch_size=5, workers=1,
                           shard_bytes=7 * row_bytes)
    assert ext.misses == 12 and not ext.failures
    shards = sorted(cache.dir.glob("*.tokens.npy"))
    rows = sorted(np.load(p).shape[0] for p in shards)
    assert rows == [5, 7]  # batches of 5 split across the 7-row shard boundary
    assert all(np.load(p).nbytes <= 7 * row_bytes for p in shards)
    tokens = cache.gather([ext.locs[p] for p in paths])
    pooled = cache.gather([ext.locs[p] for p in paths], pooled=True)
    for i, p in enumerate(paths):  # every photo's own row, in the right order
        want, _ = _MeanColour().tokens(decode_for_model(p, 32)[0][None])
        assert np.allclose(tokens[i], want[0].numpy(), atol=2e-3), p
        assert np.allclose(pooled[i], pool_tokens(want)[0].numpy(), atol=1e-5), p
    again = FeatureCache(tmp_path / "cache", "mean-colour:test", 32)
    assert len(again) == 12


def test_backbone_identity_follows_the_weights_and_the_options(tmp_path):
    """The cache key of a backbone whose weights are a local file: another file at the
    same path, or other options, is another backbone."""
    from safetensors.torch import save_file

    from inference.modeling.backbones import VisionTransformer
    from inference.training.features import backbone_id

    opts = dict(patch=32, dim=24, depth=1, heads=2)
    path = tmp_path / "vit.safetensors"
    ids = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        vit = VisionTransformer(pretrained=False, **opts)
        save_file({k: v.contiguous() for k, v in vit.state_dict().items()}, str(path))
        loaded = VisionTransformer(weights=str(path), **opts)
        ids.append(backbone_id("vit", loaded, dict(opts, weights=str(path))))
        assert ids[-1] == backbone_id("vit", vit, dict(opts, weights="elsewhere.safetensors"))
    assert ids[0] != ids[1]  # same path, other checkpoint
    grey = VisionTransformer(weights=str(path), mean=(0.4, 0.4, 0.4), **opts)
    assert backbone_id("vit", grey, dict(opts, mean=(0.4, 0.4, 0.4))) != ids[1]


def test_augmentations_are_seeded_per_photo_and_epoch(tmp_path):
    from tests.photo_factory import make_jpeg

    from inference.training.features import ImageDataset

    path = make_jpeg(tmp_path / "a.jpg", (120, 90), (150, 90, 40))
    ds = ImageDataset([str(path)], 64, train=True, seed=3)
    first, _, ok = ds[0]
    assert ok and first.shape == (3, 64, 64)
    assert torch.equal(ds[0][0], first)  # a resumed run sees the same augmentation
    ds.set_epoch(1)
    assert not torch.equal(ds[0][0], first)


def test_weight_decay_is_decided_by_role_not_by_rank():
    """The HDD's per-hierarchy FFN biases b1/b2 are 2-D and must not be decayed; every
    weight matrix must be."""
    from inference.modeling.model import GeoDecoder, ModelConfig
    from inference.training.train_config import TrainConfig
    from inference.training.train_steps import make_optimizer
    from tests.conftest import TINY_MODEL

    model = GeoDecoder(ModelConfig(level_sizes=[3, 5], **TINY_MODEL), pretrained_backbone=False)
    opt = make_optimizer(model, TrainConfig(out_dir="unused", weight_decay=0.05))
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    names = {id(p): n for n, p in model.named_parameters()}
    kept = {names[i] for i in decayed}
    hdd = model.hdd[0]
    assert hdd.b1.dim() == 2 and id(hdd.b1) not in decayed and id(hdd.b2) not in decayed
    assert id(hdd.w1) in decayed and id(hdd.w2) in decayed
    assert id(model.queries) not in decayed
    assert all(not n.endswith(("bias", ".b1", ".b2")) and "norm" not in n for n in kept), kept
    assert id(model.heads[0].weight) in decayed
    assert id(hdd.self_attn.in_proj_weight) in decayed
    assert not any(n.startswith("backbone.") for n in kept)  # frozen: not optimised at all
    everything = {id(p) for g in opt.param_groups for p in g["params"]}
    decoder = {id(p) for n, p in model.named_parameters() if not n.startswith("backbone.")}
    assert everything == decoder


def test_model_selection_treats_a_zero_median_as_the_best():
    from inference.training.train_steps import is_better

    def m(acc, median):
        return {"accuracy": {"2500": acc}, "median_km": median}
    assert is_better(m(0.5, 0.0), m(0.5, 12.0))
    assert not is_better(m(0.5, 12.0), m(0.5, 0.0))
    assert is_better(m(0.5, 12.0), m(0.5, None))
