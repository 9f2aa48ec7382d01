"""Pseudo-scenes: clusters of the frozen backbone's pooled features.

GeoDecoder's scene queries are supervised with Places365 S16 pseudo-labels.  Places365
weights cannot be obtained offline, so when the training data has no scene column we
derive S scenes by spherical k-means (cosine) on the L2-normalised pooled features of the
training photos: photos that look alike share a scene.  This is a documented deviation
from the paper; the centroids go into the bundle (``scenes.safetensors``) so the labels
can be reproduced and a photo's pseudo-scene recomputed.

Pure torch, seeded (k-means++ initialisation from a torch.Generator), no sklearn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

SCENES_FILE = "scenes.safetensors"
METHOD = "spherical k-means (cosine, k-means++ init) on L2-normalised mean-pooled backbone features"


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x.float(), dim=1, eps=1e-12)


def kmeans(features: np.ndarray | torch.Tensor, k: int, seed: int = 0, iterations: int = 50,
           sample: int = 50_000) -> Tuple[np.ndarray, np.ndarray]:
    """Centroids (k, C) (unit length) and the cluster of every row, (N,).

    With more than ``sample`` rows the centroids are fitted on a seeded sample and every
    row is then assigned, which keeps millions of photos to seconds.
    """
    x = _normalise(torch.as_tensor(np.asarray(features)))
    n = x.shape[0]
    if n == 0:
        raise ValueError("k-means needs at least one feature vector")
    k = max(1, min(int(k), n))
    gen = torch.Generator().manual_seed(int(seed))
    fit = x if n <= sample else x[torch.randperm(n, generator=gen)[:sample]]
    centroids = _kmeans_pp(fit, k, gen)
    for _ in range(iterations):
        labels = (fit @ centroids.T).argmax(dim=1)
        new = torch.zeros_like(centroids).index_add_(0, labels, fit)
        counts = torch.bincount(labels, minlength=k)
        empty = counts == 0
        if empty.any():  # re-seed an empty cluster at the worst-fitting point
            worst = (fit * centroids[labels]).sum(1).argsort()[: int(empty.sum())]
            new[empty] = fit[worst]
        new = _normalise(new)
        if torch.allclose(new, centroids, atol=1e-6):
            centroids = new
            break
        centroids = new
    return centroids.numpy(), assign(x, centroids)


def _kmeans_pp(x: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    first = int(torch.randint(x.shape[0], (1,), generator=gen))
    chosen = [first]
    dist = 1.0 - x @ x[first]
    for _ in range(1, k):
        w = dist.clamp_min(0)
        if float(w.sum()) <= 0:  # all remaining points coincide with a centroid
            idx = int(torch.randint(x.shape[0], (1,), generator=gen))
        else:
            idx = int(torch.multinomial(w, 1, generator=gen))
        chosen.append(idx)
        dist = torch.minimum(dist, 1.0 - x @ x[idx])
    return x[chosen].clone()


def assign(features: np.ndarray | torch.Tensor, centroids: np.ndarray | torch.Tensor
           ) -> np.ndarray:
    """The nearest centroid (cosine) of every feature vector."""
    x = _normalise(torch.as_tensor(np.asarray(features)))
    c = _normalise(torch.as_tensor(np.asarray(centroids)))
    return (x @ c.T).argmax(dim=1).numpy()


def effective_scenes(requested: int, n_train: int, min_photos: int = 8) -> int:
    """Scenes actually used: at most one per ``min_photos`` training photos.

    Sixteen clusters of 23 photos would be noise; a scene needs a few photos to mean
    anything to its queries.
    """
    return max(1, min(int(requested), n_train // min_photos))


def save_centroids(path, centroids: np.ndarray, metadata: Optional[dict] = None) -> None:
    from safetensors.torch import save_file

    meta = {"method": METHOD}
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    save_file({"centroids": torch.as_tensor(np.asarray(centroids, dtype=np.float32))},
              str(path), metadata=meta)


def load_centroids(path) -> np.ndarray:
    from safetensors.torch import load_file

    return load_file(str(Path(path)))["centroids"].numpy()
