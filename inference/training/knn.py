"""k-nearest-neighbour baseline on the model's own backbone features.

A geolocation model has to beat plain retrieval with the same image features, or its
decoder adds nothing.  Features are the backbone's mean-pooled tokens, L2-normalised;
similarity is cosine.  From the k most similar training photos the baseline answers the
**geodesic medoid**: the neighbour whose similarity-weighted great-circle distance to the
other neighbours is smallest.  Why not the mean or the nearest: a mean of coordinates
lands in the ocean between two candidate continents, and the single nearest neighbour is
noisy; the medoid is always a real training location and follows the majority of the
neighbours (k = 1 gives the nearest neighbour).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from ..geo import haversine_km, medoid

DEFAULT_K = 10


def knn_predict(train_features: np.ndarray, train_coords: np.ndarray,
                query_features: np.ndarray, k: int = DEFAULT_K, chunk: int = 1024) -> np.ndarray:
    """(M, 2) predicted lat/lon for the query rows (see module docstring for the rule)."""
    gallery = torch.nn.functional.normalize(torch.as_tensor(train_features).float(), dim=1)
    queries = torch.nn.functional.normalize(torch.as_tensor(query_features).float(), dim=1)
    coords = np.asarray(train_coords, dtype=np.float64)
    if gallery.shape[0] == 0:
        raise ValueError("the kNN baseline needs at least one training photo")
    k = max(1, min(int(k), gallery.shape[0]))
    out = np.empty((queries.shape[0], 2), dtype=np.float64)
    for start in range(0, queries.shape[0], chunk):
        sims, idx = (queries[start:start + chunk] @ gallery.T).topk(k, dim=1)
        sims, idx = sims.numpy(), idx.numpy()
        for r in range(idx.shape[0]):
            out[start + r] = medoid(coords[idx[r]], np.clip(sims[r], 1e-6, None))
    return out


def pooled_features(paths: Sequence[str], backbone, size: int, device: str = "cpu",
                    batch_size: int = 32, workers: int = 2, cache_dir: Optional[str] = None,
                    backbone_key: str = "") -> Tuple[np.ndarray, np.ndarray]:
    """Pooled features of readable photos, and a mask of which ``paths`` were readable.

    With ``cache_dir`` (or $GEODECODER_CACHE) the training feature cache is used, so a
    training set that ``train`` already encoded costs nothing here; ``backbone_key``
    names the backbone and its weights in the cache (see features.backbone_id).
    """
    from .features import FeatureCache, backbone_id, extract_features, pool_tokens
    from ..prediction.preprocess import decode_for_model
    from ..records import PhotoFailure

    cache_dir = cache_dir or os.environ.get("GEODECODER_CACHE")
    ok = np.zeros(len(paths), dtype=bool)
    if cache_dir:
        key = backbone_key or backbone_id(type(backbone).__name__.lower(), backbone)
        cache = FeatureCache(cache_dir, key, size)
        ext = extract_features(paths, backbone, cache, device, batch_size, workers)
        rows = [i for i, p in enumerate(paths) if str(p) in ext.locs]
        ok[rows] = True
        if not rows:
            return np.zeros((0, backbone.channels), np.float32), ok
        return cache.gather([ext.locs[str(paths[i])] for i in rows], pooled=True), ok
    backbone = backbone.to(device).eval()
    feats = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for start in range(0, len(paths), batch_size):
            chunk = [str(p) for p in paths[start:start + batch_size]]
            decoded = list(pool.map(decode_for_model, chunk, [size] * len(chunk)))
            good = [(start + i, d[0]) for i, d in enumerate(decoded)
                    if not isinstance(d, PhotoFailure)]
            if not good:
                continue
            with torch.inference_mode():
                tokens, _ = backbone.tokens(torch.stack([g[1] for g in good]).to(device))
            feats.append(pool_tokens(tokens).cpu().numpy())
            ok[[g[0] for g in good]] = True
    if not feats:
        return np.zeros((0, backbone.channels), np.float32), ok
    return np.concatenate(feats), ok


def bundle_backbone_key(bundle) -> str:
    """Cache identity of a bundle's backbone: a backbone carried in the bundle is named by
    its tensors, so a frozen one shares the training run's cache and a fine-tuned one
    gets its own."""
    from .features import backbone_id

    return backbone_id(bundle.config.backbone, bundle.model.backbone,
                       bundle.config.backbone_options)


def knn_errors(bundle, train_csv, train_images_root, labels: Sequence[Tuple[str, float, float]],
               paths: Sequence[str], device: str = "auto", k: int = DEFAULT_K,
               batch_size: int = 32, cache_dir: Optional[str] = None) -> np.ndarray:
    """Great-circle error (km) of the kNN baseline for each labelled photo; +inf where the
    photo cannot be read (counted as a miss, like the model's own failures)."""
    from .labels import read_labels
    from ..prediction.devices import resolve_device

    dev = resolve_device(device)
    backbone = bundle.model.backbone
    size = bundle.config.image_size
    train = read_labels(train_csv)
    root = Path(train_images_root)
    train_paths = [str(root / r[0]) for r in train]
    key = bundle_backbone_key(bundle)
    g_feats, g_ok = pooled_features(train_paths, backbone, size, dev, batch_size,
                                    cache_dir=cache_dir, backbone_key=key)
    if not g_ok.any():
        raise ValueError(f"kNN baseline: none of the {len(train)} training photos in "
                         f"{train_csv} could be read under {root}")
    g_coords = np.array([[r[1], r[2]] for r in train], dtype=np.float64)[g_ok]
    q_feats, q_ok = pooled_features(list(paths), backbone, size, dev, batch_size,
                                    cache_dir=cache_dir, backbone_key=key)
    errors = np.full(len(labels), np.inf)
    if q_ok.any():
        pred = knn_predict(g_feats, g_coords, q_feats, k)
        truth = np.array([[r[1], r[2]] for r in labels], dtype=np.float64)[q_ok]
        errors[q_ok] = haversine_km(truth[:, 0], truth[:, 1], pred[:, 0], pred[:, 1])
    return errors
