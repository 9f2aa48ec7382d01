"""evaluate: the denominator, the baselines and the JSON that scripts read."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_train import make_city_photos, write_labels

KEYS = {"1", "25", "200", "750", "2500"}


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    rows = make_city_photos(root / "photos", 2, seed=7)
    train = make_city_photos(root / "gallery", 2, seed=8)
    (root / "photos" / "broken.jpg").write_bytes(b"definitely not an image")
    rows = rows + [("broken.jpg", 10.0, 10.0), ("missing.jpg", -5.0, 20.0)]
    return {"root": root, "csv": write_labels(root / "labels.csv", rows),
            "train_csv": write_labels(root / "train.csv", train), "n": len(rows)}


def test_unreadable_photos_stay_in_the_denominator_and_are_named(tiny_bundle, labelled):
    from inference.training.evaluate import evaluate_csv, format_report

    report = evaluate_csv(tiny_bundle, labelled["csv"], labelled["root"] / "photos",
                          device="cpu")
    assert report["n"] == labelled["n"]
    names = {f["img_id"] for f in report["failed"]}
    assert names == {"broken.jpg", "missing.jpg"}
    # two misses out of n: no threshold can reach more than (n - 2) / n
    assert max(report["accuracy"].values()) <= (labelled["n"] - 2) / labelled["n"] + 1e-9
    text = format_report(report)
    assert "broken.jpg" in text and "missing.jpg" in text and "2 unreadable" in text


def test_knn_baseline_counts_unreadable_photos_as_misses(tiny_bundle, labelled):
    from inference.training.evaluate import read_labels
    from inference.training.knn import knn_errors

    labels = read_labels(labelled["csv"])
    paths = [str(labelled["root"] / "photos" / r[0]) for r in labels]
    err = knn_errors(tiny_bundle, labelled["train_csv"], labelled["root"] / "gallery", labels,
                     paths, device="cpu", k=3)
    assert err.shape == (labelled["n"],)
    assert np.isinf(err[-2:]).all() and np.isfinite(err[:-2]).all()
    # the gallery shows the same six cities in the same colours: most land in the right one
    assert np.mean(err[:-2] < 2500) >= 0.75


def test_evaluate_json_has_the_documented_shape(tiny_bundle_dir, labelled, tmp_path):
    from inference.__main__ import main

    out = tmp_path / "e.json"
    code = main(["evaluate", "--csv", str(labelled["csv"]), "--images-root",
                 str(labelled["root"] / "photos"), "--model", str(tiny_bundle_dir),
                 "--device", "cpu", "--json", str(out), "--train-csv",
                 str(labelled["train_csv"]), "--train-images-root",
                 str(labelled["root"] / "gallery")])
    assert code == 0
    doc = json.loads(out.read_text())
    assert doc["n"] == labelled["n"]
    assert set(doc["accuracy"]) == KEYS and "median_km" in doc
    assert set(doc["baselines"]) >= {"prior", "knn"}
    for base in ("prior", "knn"):
        assert set(doc["baselines"][base]["accuracy"]) == KEYS
        assert "median_km" in doc["baselines"][base]
        assert all(0.0 <= v <= 1.0 for v in doc["baselines"][base]["accuracy"].values())
    assert all(0.0 <= v <= 1.0 for v in doc["accuracy"].values())


def test_evaluate_ten_crop_option_is_reported(tiny_bundle_dir, labelled, tmp_path):
    from inference.__main__ import main

    out = tmp_path / "t.json"
    rows = [r.split(",") for r in labelled["csv"].read_text().splitlines()[1:3]]
    two = write_labels(tmp_path / "two.csv", [(r[0], float(r[1]), float(r[2])) for r in rows])
    assert main(["evaluate", "--csv", str(two), "--images-root",
                 str(labelled["root"] / "photos"), "--model", str(tiny_bundle_dir),
                 "--device", "cpu", "--json", str(out), "--ten-crop"]) == 0
    doc = json.loads(out.read_text())
    assert doc["protocol"]["crops"] == "ten-crop mean" and doc["n"] == 2
    assert "knn" not in doc["baselines"]  # no --train-csv, no kNN row


def test_metrics_treat_failures_as_misses():
    from inference.training.evaluate import metrics

    m = metrics([0.5, 30.0, float("inf"), 3000.0])
    assert m["accuracy"] == {"1": 0.25, "25": 0.25, "200": 0.5, "750": 0.5, "2500": 0.5}
    assert m["n"] == 4


def test_knn_k_reaches_the_knn_baseline_and_the_report(tiny_bundle_dir, labelled, tmp_path,
                                                        monkeypatch):
    from inference.training import knn
    from inference.__main__ import main

    seen = []
    real = knn.knn_errors

    def spy(*args, **kwargs):
        seen.append(kwargs["k"])
        return real(*args, **kwargs)

    monkeypatch.setattr(knn, "knn_errors", spy)
    out = tmp_path / "k.json"
    assert main(["evaluate", "--csv", str(labelled["csv"]), "--images-root",
                 str(labelled["root"] / "photos"), "--model", str(tiny_bundle_dir),
                 "--device", "cpu", "--json", str(out), "--train-csv",
                 str(labelled["train_csv"]), "--train-images-root",
                 str(labelled["root"] / "gallery"), "--knn-k", "1"]) == 0
    assert seen == [1]
    assert json.loads(out.read_text())["baselines"]["knn"]["k"] == 1


def test_knn_k_defaults_to_ten(tiny_bundle, labelled, monkeypatch):
    from inference.training import knn
    from inference.training.evaluate import evaluate_csv, format_report

    monkeypatch.setattr(knn, "knn_errors", lambda *a, **k: np.full(labelled["n"], k["k"]))
    report = evaluate_csv(tiny_bundle, labelled["csv"], labelled["root"] / "photos",
                          device="cpu", train_csv=labelled["train_csv"])
    assert report["baselines"]["knn"]["k"] == 10
    assert "knn k=10" in format_report(report)
