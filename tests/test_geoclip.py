"""GeoCLIP behind the run path (inference/geoclip/), offline.

The store is a tiny random CLIP in the real on-disk format beside the real GeoCLIP heads
and gallery (tests/geoclip_store.py); it is loaded by the very code that loads the real
ViT-L/14, and checked against the ``geoclip`` package's own prediction on the same
tower.  Building the store computes the real gallery's embeddings and cells once for
the module (about two minutes on two cores).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("pandas")
from tests.geoclip_store import heads_source, make_store  # noqa: E402
from tests.photo_factory import textured  # noqa: E402

try:
    heads_source()
except RuntimeError as exc:  # pragma: no cover - CI installs it (Makefile venv)
    pytest.skip(str(exc), allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("geoclip-store"))


@pytest.fixture(scope="module")
def model(store):
    from inference.geoclip.model import load_geoclip

    return load_geoclip(store)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("geoclip-photos")
    textured((640, 480), (40, 120, 200), seed=1).save(folder / "a.png")  # long side truncated
    textured((400, 600), (200, 150, 60), seed=2).save(folder / "b.jpg", quality=92)
    textured((500, 500), (90, 200, 90), seed=3).save(folder / "c.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def test_the_tower_gives_transformers_clip_features(store):
    from transformers import CLIPModel

    from inference.modeling.clip_tower import load_tower

    folder = store / "clip-vit-large-patch14"
    ours = load_tower(folder / "model.safetensors", folder / "config.json")
    theirs = CLIPModel.from_pretrained(str(folder)).eval()
    x = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = theirs.get_image_features(pixel_values=x)
        got = ours(x)
    assert got.shape == (3, 768)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_without_config_json_the_tower_is_vit_l14():
    from inference.modeling.clip_tower import ClipVisionTower, VisionConfig

    with torch.device("meta"):
        tower = ClipVisionTower(VisionConfig.from_folder(None))
    n = sum(p.numel() for p in tower.parameters())
    assert 303_000_000 < n < 305_000_000  # CLIP ViT-L/14's vision tower + projection


def test_the_location_encoder_is_geoclips(model):
    from geoclip.model.location_encoder import LocationEncoder as Theirs

    src = heads_source() / "weights" / "location_encoder_weights.pth"
    theirs = Theirs(from_pretrained=False)
    theirs.load_state_dict(torch.load(str(src), map_location="cpu", weights_only=True))
    pts = torch.as_tensor(model.gallery_points.coords[::97], dtype=torch.float32)
    with torch.no_grad():
        want = torch.nn.functional.normalize(theirs(pts), dim=1)
    torch.testing.assert_close(model.gallery_points.embeddings[::97], want,
                               rtol=1e-5, atol=1e-6)


def test_predictions_are_the_geoclip_packages(model, store, photos):
    """Same top-k locations and probabilities as ``GeoCLIP.predict`` on the same tower."""
    from geoclip import GeoCLIP

    from inference.geoclip.predictor import GeoClipPredictor

    ref = GeoCLIP(from_pretrained=True, clip_path=str(store / "clip-vit-large-patch14"))
    ref.eval()
    want_gps, want_p = ref.predict(str(photos / "a.png"), top_k=5)
    predictor = GeoClipPredictor(model, device="cpu", batch_size=4, top_k=5)
    records = {Path(r.path).name: r for r in predictor.run([str(photos)])}
    assert records["broken.jpg"].reason  # a PhotoFailure, the batch went on
    got = records["a.png"]
    got_gps = np.array([[c.lat, c.lon] for c in got.candidates])
    np.testing.assert_allclose(got_gps, want_gps.numpy(), atol=1e-5)
    np.testing.assert_allclose([c.probability for c in got.candidates], want_p.numpy(),
                               rtol=1e-5, atol=1e-12)
    assert (got.lat, got.lon) == (got.candidates[0].lat, got.candidates[0].lon)


def test_records_sum_the_gallery_into_every_level(model, photos):
    from inference.geoclip.predictor import GeoClipPredictor

    predictor = GeoClipPredictor(model, device="cpu", batch_size=2, top_k=3)
    images = torch.stack([torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(i))
                          for i in range(2)])
    probs = predictor.location_log_probs(images).exp()
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(2), rtol=0, atol=1e-5)
    rec = next(r for r in predictor.run([str(photos / "c.png")]))
    cells = model.cells
    assert [c.level for c in rec.best_cells] == list(range(cells.num_levels))
    point_cell = cells.assign([rec.lat], [rec.lon])[0, -1]
    assert rec.best_cells[-1].index == point_cell
    assert rec.confidence == pytest.approx(rec.best_cells[-1].probability)
    # every level holds the whole mass; the finest list is ranked by density
    for level in rec.level_top:
        assert all(a.probability >= b.probability for a, b in zip(level, level[1:]))
    dens = [c.probability / model.gallery_points.cell_areas[c.index] for c in rec.finest]
    assert all(a >= b for a, b in zip(dens, dens[1:]))
    assert rec.scene_name == "none"


def test_a_geoclip_run_writes_every_layer(model, photos, tmp_path):
    from osgeo import ogr

    from inference.geoclip.predictor import GeoClipPredictor
    from inference.outputs.csv_out import CsvWriter
    from inference.outputs.gpkg import GeoPackageWriter
    from inference.outputs.schema import RunInfo
    from inference.run import run_photos

    predictor = GeoClipPredictor(model, device="cpu", batch_size=2)
    run = RunInfo.for_bundle(model, "cpu", "2026-01-01T00:00:00+00:00",
                             extra=(("calibration", "none"),))
    gpkg = GeoPackageWriter(tmp_path / "g.gpkg", model.cells, run)
    csv_out = CsvWriter(tmp_path / "g.csv", run, model.cells.num_levels, predictor.top_k)
    result = run_photos([str(photos)], predictor, [gpkg, csv_out], run, chunk_size=2)
    assert result.predicted == 3 and len(result.failures) == 1
    ds = ogr.Open(str(tmp_path / "g.gpkg"))
    layers = {ds.GetLayer(i).GetName(): ds.GetLayer(i) for i in range(ds.GetLayerCount())}
    for name, layer in layers.items():
        if name.startswith(("predictions", "candidates", "cells", "regions", "surface")):
            assert layer.GetFeatureCount() > 0, name
    assert any(n.startswith("regions") for n in layers) and any(
        n.startswith("surface") for n in layers)
    from inference.outputs.layer_names import cells_layer

    for h in range(model.cells.num_levels):  # a layer per level, every photo in it
        assert layers[cells_layer(h)].GetFeatureCount() >= 3, h
    run_info = {f.GetField("key"): f.GetField("value") for f in _features(layers, "run_info")}
    assert run_info.get("calibration") == "none", run_info
    for f in _features(layers, "regions"):
        g = f.GetGeometryRef()
        assert g is not None and g.IsValid() and f.GetField("area_km2") > 0
    pred = next(iter(_features(layers, "predictions")))
    assert pred.GetField("model_name") == "GeoCLIP"
    assert pred.GetField("bundle_digest") == model.digest
    assert (tmp_path / "g.csv").read_text().count("\n") >= 4


def _features(layers, prefix):
    layer = next(v for k, v in layers.items() if k.startswith(prefix))
    layer.ResetReading()
    return list(layer)


def test_predict_without_the_files_says_how_to_get_them(tmp_path):
    env = {"GEODECODER_MODELS_DIR": str(tmp_path / "models"), "PATH": "/usr/bin:/bin",
           "QT_QPA_PLATFORM": "offscreen"}
    photo = tmp_path / "p.png"
    textured((64, 64)).save(photo)
    res = subprocess.run([sys.executable, "-m", "inference", "predict", str(photo),
                          "--model", "geoclip", "--out", str(tmp_path / "o.gpkg")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "python -m inference models get geoclip" in lines[0] and "1.75 GB" in lines[0]
    assert not (tmp_path / "o.gpkg").exists()


def test_the_cli_runs_a_geoclip_store_folder(store, photos, tmp_path, model):
    out = tmp_path / "cli.gpkg"
    res = subprocess.run([sys.executable, "-m", "inference", "predict", str(photos / "c.png"),
                          "--model", str(store), "--out", str(out), "--quiet", "--device",
                          "cpu"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "not calibrated" in res.stderr and out.is_file()
