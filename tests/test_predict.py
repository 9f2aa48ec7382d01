"""The predictor: one record per photo, named failures, consistent probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import s2sphere
import torch

from inference.geo import haversine_km
from inference.prediction.devices import resolve_device
from inference.prediction.predict import Predictor
from inference.records import PhotoFailure, Prediction
from tests.photo_factory import make_jpeg


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    make_jpeg(root / "a_paris.jpg", gps=(48.85, 2.35), color=(200, 40, 40))
    make_jpeg(root / "b_plain.jpg", color=(40, 200, 40))
    make_jpeg(root / "c_rotated.jpg", size=(320, 200), orientation=6, gps=(-33.9, 151.2))
    (root / "d_broken.jpg").write_bytes(b"not a jpeg at all")
    (root / "e_empty.jpg").write_bytes(b"")
    (root / "sub").mkdir()
    make_jpeg(root / "sub" / "f_nested.jpg", color=(10, 10, 240))
    return root


@pytest.fixture(scope="module")
def results(tiny_bundle, photo_dir):
    predictor = Predictor(tiny_bundle, device="cpu", batch_size=2, top_k=3, attention=True)
    return list(predictor.run([photo_dir]))


def test_one_record_per_photo_and_failures_are_named(results, photo_dir):
    names = [r.path.split("/")[-1] for r in results]
    assert sorted(names) == ["a_paris.jpg", "b_plain.jpg", "c_rotated.jpg", "d_broken.jpg",
                             "e_empty.jpg", "f_nested.jpg"]
    failures = {r.path.split("/")[-1]: r.reason for r in results if isinstance(r, PhotoFailure)}
    assert set(failures) == {"d_broken.jpg", "e_empty.jpg"}
    assert "empty" in failures["e_empty.jpg"] and failures["d_broken.jpg"]


def test_prediction_is_the_best_candidate_and_probabilities_agree(results, tiny_bundle):
    cells = tiny_bundle.cells
    for p in (r for r in results if isinstance(r, Prediction)):
        assert len(p.candidates) == 3
        probs = [c.probability for c in p.candidates]
        assert probs == sorted(probs, reverse=True)
        assert len({c.cell_token for c in p.candidates}) == 3
        assert p.confidence == pytest.approx(probs[0])
        assert (p.lat, p.lon) == (p.candidates[0].lat, p.candidates[0].lon)
        assert p.best_cells[-1].token == p.candidates[0].cell_token
        assert p.best_cells[-1].probability == pytest.approx(p.confidence, rel=1e-5)
        leaf = s2sphere.CellId.from_token(p.candidates[0].cell_token)
        for cp in p.best_cells:  # every level's best cell contains the predicted finest cell
            assert s2sphere.CellId.from_token(cp.token).contains(leaf)
            assert cp.probability >= p.confidence - 1e-6  # a marginal holds its finest cells
        for h, top in enumerate(p.level_top):
            assert sum(c.probability for c in top) <= 1 + 1e-5
            assert top[0].probability >= top[-1].probability
            assert len(top) == min(5, cells.sizes[h])
        assert sum(c.probability for c in p.finest) >= 0.99 - 1e-5 or len(p.finest) == 500
        assert 0 < p.scene_confidence <= 1 and p.scene_name


def test_exif_gps_gives_the_error(results):
    by_name = {r.path.split("/")[-1]: r for r in results}
    paris = by_name["a_paris.jpg"]
    assert paris.exif_gps.lat == pytest.approx(48.85, abs=1e-5)
    assert paris.error_km == pytest.approx(haversine_km(48.85, 2.35, paris.lat, paris.lon))
    assert by_name["b_plain.jpg"].exif_gps is None and by_name["b_plain.jpg"].error_km is None
    rotated = by_name["c_rotated.jpg"]
    assert (rotated.width, rotated.height) == (200, 320)


def test_attention_maps_cover_the_photo(results, tiny_bundle):
    p = next(r for r in results if isinstance(r, Prediction))
    assert p.attention.shape == (tiny_bundle.cells.num_levels, 7, 7)
    assert np.allclose(p.attention.sum(axis=(1, 2)), 1.0, atol=1e-4)


def test_results_do_not_depend_on_batch_size(tiny_bundle, photo_dir):
    one = [r for r in Predictor(tiny_bundle, device="cpu", batch_size=1).run([photo_dir])
           if isinstance(r, Prediction)]
    many = [r for r in Predictor(tiny_bundle, device="cpu", batch_size=4).run([photo_dir])
            if isinstance(r, Prediction)]
    assert [p.candidates[0].cell_token for p in one] == [p.candidates[0].cell_token for p in many]
    for a, b in zip(one, many):
        assert a.confidence == pytest.approx(b.confidence, rel=1e-4)


def test_stop_request_ends_the_run_within_a_batch(tiny_bundle, tmp_path):
    for i in range(8):
        make_jpeg(tmp_path / f"p{i}.jpg", color=(i * 30, 50, 50))
    seen = []
    predictor = Predictor(tiny_bundle, device="cpu", batch_size=2)
    for record in predictor.run([tmp_path], should_stop=lambda: len(seen) >= 2):
        seen.append(record)
    assert len(seen) == 2


def test_ten_crop_runs_and_stays_a_distribution(tiny_bundle, photo_dir):
    preds = [r for r in Predictor(tiny_bundle, device="cpu", ten_crop=True).run([photo_dir])
             if isinstance(r, Prediction)]
    assert len(preds) == 4
    assert all(0 < p.confidence <= 1 for p in preds)


def test_ten_identical_crops_give_the_single_crop_answer(tiny_bundle):
    from inference.prediction.photos import PhotoInfo
    predictor = Predictor(tiny_bundle, device="cpu")
    torch.manual_seed(3)
    image = torch.rand(2, 3, 224, 224)
    infos = [PhotoInfo(f"x{i}.jpg", 224, 224, None, 1) for i in range(2)]
    single = predictor.predict_tensors(image, infos)
    ten = predictor.predict_tensors(image[:, None].expand(-1, 10, -1, -1, -1), infos)
    for a, b in zip(single, ten):
        assert a.scene == b.scene
        assert [c.cell_token for c in a.candidates] == [c.cell_token for c in b.candidates]
        assert a.confidence == pytest.approx(b.confidence, rel=1e-4)
        assert a.scene_confidence == pytest.approx(b.scene_confidence, rel=1e-4)


def test_ten_crop_answer_comes_from_the_reported_scene(tiny_bundle):
    from inference.modeling.model import hierarchical_log_probs
    from inference.prediction.photos import PhotoInfo
    predictor = Predictor(tiny_bundle, device="cpu")
    torch.manual_seed(4)
    crops = torch.rand(1, 10, 3, 224, 224)
    pred = predictor.predict_tensors(crops, [PhotoInfo("y.jpg", 224, 224, None, 1)])[0]
    model = tiny_bundle.model
    with torch.no_grad():
        tokens, _ = model.backbone.tokens(crops[0])
        routed = model.decode(tokens, route_scene=torch.full((10,), pred.scene))
        logits = [lg.mean(0, keepdim=True) for lg in routed.level_logits]
        probs = hierarchical_log_probs(logits, predictor.parents).softmax(1)[0]
    assert float(probs.max()) == pytest.approx(pred.confidence, rel=1e-4)


def test_device_choice_is_honest():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no usable CUDA"):
            resolve_device("cuda")
    mps = getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    if not torch.cuda.is_available() and not mps:
        with pytest.raises(RuntimeError, match="neither a CUDA GPU nor Apple MPS"):
            resolve_device("gpu")


def _batch_shapes(predictor, inputs):
    shapes = []
    stem = predictor.backbone.net._conv_stem  # the first layer every image goes through
    hook = stem.register_forward_pre_hook(lambda mod, args: shapes.append(tuple(args[0].shape)))
    try:
        records = list(predictor.run(inputs))
    finally:
        hook.remove()
    return records, [s[0] for s in shapes]


def test_forward_passes_run_at_a_few_fixed_batch_shapes(tiny_bundle, photo_dir, tmp_path):
    """Failed photos and the last batch are padded: CPU kernels cache per input shape and a
    long run with varying batch sizes grew by hundreds of MB.  The fast backbone pads a
    short batch to 1 or 4 photos (a photo alone does not pay for 16), the exact one always
    to the batch size."""
    from inference.prediction.batching import padded_size

    assert [padded_size(n, 16) for n in (1, 2, 4, 5, 15, 16)] == [1, 4, 4, 16, 16, 16]
    assert [padded_size(n, 3) for n in (1, 2, 3)] == [1, 3, 3]
    assert [padded_size(n, 16, ()) for n in (1, 5, 16)] == [16, 16, 16]
    # 4 photos and 2 broken files in batches of 4: [3 photos + 1 broken], [1 broken + 1]
    records, sizes = _batch_shapes(Predictor(tiny_bundle, device="cpu", batch_size=4),
                                   [photo_dir])
    assert len(records) == 6 and sizes == [4, 1]
    records, sizes = _batch_shapes(
        Predictor(tiny_bundle, device="cpu", batch_size=4, fast_backbone=False), [photo_dir])
    assert len(records) == 6 and sizes == [4, 4]
    # seven photos in batches of 16: one pass of 16, whatever the backbone
    for i in range(7):
        make_jpeg(tmp_path / f"p{i}.jpg", color=(30 * i, 20, 20))
    _, sizes = _batch_shapes(Predictor(tiny_bundle, device="cpu"), [tmp_path])
    assert sizes == [16]


def test_attention_maps_use_the_backbones_real_grid():
    """A 3x5 grid behind a CLS token: the map keeps that shape (the old sqrt guess could
    only make squares) and drops the CLS token."""
    import numpy as np

    from inference.prediction.records_of import attention_grid

    attn = np.random.default_rng(0).random((2, 4, 1 + 15)).astype(np.float32)
    maps = attention_grid(attn, (3, 5))
    assert maps.shape == (2, 4, 3, 5)
    assert np.allclose(maps.sum(axis=(-2, -1)), 1.0)
    assert np.allclose(maps[0, 0], attn[0, 0, 1:].reshape(3, 5) / attn[0, 0, 1:].sum())
