"""The shipped default model: it is there, intact, deterministic, and better than guessing."""

from __future__ import annotations

import json

import pytest

from inference.modeling.bundle import ModelBundleError, load_bundle
from inference.modeling.defaults import DEFAULT_BUNDLE_DIR, SAMPLES_DIR, default_bundle_path
from inference.prediction.predict import Predictor
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def default_bundle():
    assert default_bundle_path() is not None, "resources/models/default/ must ship"
    return load_bundle(DEFAULT_BUNDLE_DIR)


def test_default_model_is_trained_calibrated_and_carries_its_card(default_bundle):
    info = default_bundle.info
    assert not info.untrained and info.model_version and info.name
    assert info.temperature > 0
    card = (DEFAULT_BUNDLE_DIR / "MODEL.md").read_text(encoding="utf-8")
    for needle in ("im2gps3k", "Im2GPS3k", "prior", "kNN", "ECE", "90 % region"):
        assert needle in card, needle
    doc = json.loads((DEFAULT_BUNDLE_DIR / "config.json").read_text(encoding="utf-8"))
    files = {p.name for p in DEFAULT_BUNDLE_DIR.iterdir()
             if p.suffix in (".safetensors", ".json") and p.name != "config.json"}
    assert set(doc["checksums"]) == files  # every data file is covered


def test_default_model_is_sealed_with_its_digest(default_bundle, tmp_path):
    """The digest as documented in bundle.py (canonical JSON of config.json without its
    "digest"), computed here on its own; sealing a copy again changes nothing."""
    import hashlib
    import shutil

    from inference.modeling.bundle import seal_bundle

    doc = json.loads((DEFAULT_BUNDLE_DIR / "config.json").read_text(encoding="utf-8"))
    body = {k: v for k, v in doc.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert doc["digest"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert default_bundle.digest == doc["digest"]
    copy = tmp_path / "default"
    shutil.copytree(DEFAULT_BUNDLE_DIR, copy)
    assert seal_bundle(copy) == (doc["digest"], doc["digest"], [])
    assert (copy / "config.json").read_bytes() == (DEFAULT_BUNDLE_DIR / "config.json").read_bytes()


def test_default_model_checksums_hold_and_a_changed_copy_is_refused(default_bundle, tmp_path):
    import shutil
    copy = tmp_path / "default"
    shutil.copytree(DEFAULT_BUNDLE_DIR, copy)
    with open(copy / "weights.safetensors", "r+b") as fh:  # flip one byte of a tensor
        fh.seek(-1, 2)
        last = fh.read(1)
        fh.seek(-1, 2)
        fh.write(bytes([last[0] ^ 1]))
    with pytest.raises(ModelBundleError, match="checksum mismatch"):
        load_bundle(copy)


def test_default_model_gives_the_same_answer_twice(default_bundle):
    photos = sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() == ".jpg")[:3]
    first = list(Predictor(default_bundle, device="cpu", batch_size=4).run(photos))
    again = list(Predictor(load_bundle(DEFAULT_BUNDLE_DIR), device="cpu",
                           batch_size=4).run(photos))
    assert len(first) == len(photos)
    for a, b in zip(first, again):
        assert (a.lat, a.lon, a.confidence) == (b.lat, b.lon, b.confidence)
        assert [c.cell_token for c in a.candidates] == [c.cell_token for c in b.candidates]


def test_default_model_beats_the_prior_on_real_street_photos(default_bundle):
    """71 real street photos from 48 countries that the model never saw."""
    from inference.training.evaluate import evaluate_csv

    root = shared_data("osv5m-street-71")
    report = evaluate_csv(default_bundle, root / "labels.csv", root / "images", device="cpu")
    assert report["n"] == 71 and not report["failed"]
    model = report["accuracy"]["2500"]
    prior = report["baselines"]["prior"]["accuracy"]["2500"]
    assert model > prior, (model, prior)
    assert 0.0 <= report["ece"] <= 1.0 and set(report["coverage"]) == {"50", "90"}
