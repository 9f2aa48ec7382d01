"""Frozen backbone features, computed once per photo and kept on disk.

Training the decoder on a CPU is only practical if the backbone (most of the cost) runs
once per photo rather than once per photo per epoch.  The cache stores, for each photo,
the backbone's tokens as float16 (49 x 1280 for EfficientNet-Lite0, 125 kB; 197 x 768
for a ViT-B/16, 300 kB) and their mean (the pooled feature, float32, for pseudo-scenes
and the kNN baseline).

Layout: ``ROOT/<backbone>-<size>-<hash>/`` holds shards (``NAME.tokens.npy``,
``NAME.pooled.npy``, ``NAME.keys.json``) of at most 64 MB of tokens each.  The keys file
is written last, so a shard without one (a crash while writing) is ignored.  A photo's
key hashes its absolute path, size in bytes, mtime and the backbone's identity (name,
weights, options; see ``backbone_id``): an edited or replaced file is recomputed, never
served stale.  Shards are read memory-mapped.

Preprocessing is exactly the predictor's (``predict.decode_for_model``: shorter side to the
model's size, centre crop), so cached tokens are the tokens the bundle sees at inference.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

Loc = Tuple[str, int]  # (shard name, row)
Progress = Optional[Callable[[int, int], None]]


class FeatureCacheError(RuntimeError):
    """A cache folder that does not fit the backbone asked for."""


def default_cache_dir() -> Path:
    """$GEODECODER_CACHE, else the XDG cache folder: features outlive a single run."""
    env = os.environ.get("GEODECODER_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "geodecoder" / "features"


def backbone_id(name: str, backbone, options: Optional[dict] = None) -> str:
    """What the features depend on: the registry name, the weights and the options.

    Weights from an installed package are named by their file (``efficientnet_lite0:
    efficientnet_lite0.pth``); any other weights (a local checkpoint, a fine-tuned
    backbone inside a bundle) by a digest of the tensors themselves, so another
    checkpoint at the same path is another cache, and a bundle that carries the backbone
    shares the cache of the run that trained it.  Options other than the weights path
    (mean, std, patch, ...) are part of the identity too.
    """
    if getattr(backbone, "weights_from_package", False):
        ident = f"{name}:{getattr(backbone, 'pretrained_source', 'random')}"
    else:
        ident = f"{name}:sha256-{state_digest(backbone)[:20]}"
    rest = {k: v for k, v in (options or {}).items() if k != "weights"}
    if rest:
        ident += "|" + json.dumps(rest, sort_keys=True, default=str)
    return ident


def state_digest(module: torch.nn.Module) -> str:
    """sha256 over the names, dtypes, shapes and bytes of a module's state dict."""
    h = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"{key}|{t.dtype}|{tuple(value.shape)}\n".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class FeatureCache:
    """Tokens and pooled features of photos for one backbone and input size."""

    def __init__(self, root, backbone: str, image_size: int):
        self.backbone = backbone
        self.image_size = int(image_size)
        tag = hashlib.sha256(f"{backbone}|{image_size}|centre".encode()).hexdigest()[:10]
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in backbone.split(":")[0])
        self.dir = Path(root) / f"{safe}-{self.image_size}-{tag}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self.backbone_batches = 0  # how often the backbone actually ran
        self._index: Dict[str, Loc] = {}
        self._maps: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        self._shards: set = set()
        self._meta: Optional[dict] = None
        self.refresh()

    # -- index
    def refresh(self) -> None:
        """Re-read the shard list (another process may have added shards)."""
        meta = self.dir / "meta.json"
        if meta.is_file():
            self._meta = json.loads(meta.read_text(encoding="utf-8"))
        for keys_file in sorted(self.dir.glob("*.keys.json")):
            shard = keys_file.name[: -len(".keys.json")]
            if shard in self._shards:
                continue
            try:
                keys = json.loads(keys_file.read_text(encoding="utf-8"))["keys"]
            except (OSError, ValueError, KeyError):
                continue  # half-written by a crashed run: recomputed when needed
            self._shards.add(shard)
            for row, key in enumerate(keys):
                self._index[key] = (shard, row)

    def key(self, path) -> Optional[str]:
        try:
            st = os.stat(path)
        except OSError:
            return None
        raw = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}|{self.backbone}"
        return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:40]

    def lookup(self, key: Optional[str]) -> Optional[Loc]:
        return self._index.get(key) if key else None

    def __len__(self) -> int:
        return len(self._index)

    # -- writing
    def add(self, keys: Sequence[str], paths: Sequence[str], tokens: np.ndarray,
            pooled: np.ndarray) -> List[Loc]:
        """Write one shard; returns the location of each row."""
        tokens = np.ascontiguousarray(tokens, dtype=np.float16)
        pooled = np.ascontiguousarray(pooled, dtype=np.float32)
        meta = {"backbone": self.backbone, "image_size": self.image_size,
                "tokens": list(tokens.shape[1:]), "dtype": "float16"}
        if self._meta is None:
            tmp = self.dir / f".meta.{uuid.uuid4().hex}"
            tmp.write_text(json.dumps(meta), encoding="utf-8")
            tmp.replace(self.dir / "meta.json")
            self._meta = meta
        elif list(self._meta["tokens"]) != meta["tokens"]:
            raise FeatureCacheError(f"{self.dir} holds tokens {self._meta['tokens']}, the "
                                    f"backbone gives {meta['tokens']}: use another --cache")
        shard = f"s{uuid.uuid4().hex[:12]}"
        for suffix, arr in (("tokens", tokens), ("pooled", pooled)):
            tmp = self.dir / f".{shard}.{suffix}.npy"
            np.save(tmp, arr)
            tmp.replace(self.dir / f"{shard}.{suffix}.npy")
        tmp = self.dir / f".{shard}.keys.json"
        tmp.write_text(json.dumps({"keys": list(keys), "paths": [str(p) for p in paths]}),
                       encoding="utf-8")
        tmp.replace(self.dir / f"{shard}.keys.json")
        locs = [(shard, row) for row in range(len(keys))]
        self._shards.add(shard)
        self._index.update(zip(keys, locs))
        return locs

    # -- reading
    def _shard(self, shard: str) -> Tuple[np.ndarray, np.ndarray]:
        if shard not in self._maps:
            self._maps[shard] = (np.load(self.dir / f"{shard}.tokens.npy", mmap_mode="r"),
                                 np.load(self.dir / f"{shard}.pooled.npy", mmap_mode="r"))
        return self._maps[shard]

    def gather(self, locs: Sequence[Loc], pooled: bool = False) -> np.ndarray:
        """Rows at ``locs`` (tokens float16, or pooled float32), in that order."""
        if not locs:
            raise FeatureCacheError("no features to gather")
        by_shard: Dict[str, List[int]] = {}
        for i, (shard, _) in enumerate(locs):
            by_shard.setdefault(shard, []).append(i)
        first = self._shard(locs[0][0])[1 if pooled else 0]
        out = np.empty((len(locs),) + first.shape[1:], dtype=first.dtype)
        for shard, idx in by_shard.items():
            arr = self._shard(shard)[1 if pooled else 0]
            rows = np.array([locs[i][1] for i in idx])
            order = np.argsort(rows)  # sequential reads from the memory map
            out[np.array(idx)[order]] = arr[rows[order]]
        return out


@dataclass
class Extraction:
    """Where each readable photo's features are, and why the others have none."""

    locs: Dict[str, Loc] = field(default_factory=dict)  # path -> location
    failures: List[Tuple[str, str]] = field(default_factory=list)  # (path, reason)
    hits: int = 0
    misses: int = 0
    cancelled: bool = False


def pool_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """The pooled feature: mean over tokens (EfficientNet's own global average pool)."""
    return tokens.float().mean(dim=1)


SHARD_BYTES = 64 << 20  # tokens per shard file: a few hundred photos of a ViT-B


class _ShardBuffer:
    """Computed rows waiting for their shard: preallocated once, at most ``max_bytes`` of
    tokens, written with no concatenated copy."""

    def __init__(self, cache: FeatureCache, result: Extraction, max_bytes: int):
        self.cache, self.result, self.max_bytes = cache, result, max_bytes
        self.tokens: Optional[np.ndarray] = None
        self.pooled: Optional[np.ndarray] = None
        self.keys: List[str] = []
        self.paths: List[str] = []

    def add(self, keys: Sequence[str], paths: Sequence[str], tokens: np.ndarray,
            pooled: np.ndarray) -> None:
        start = 0
        while start < len(keys):
            if self.tokens is None:
                row_bytes = int(np.prod(tokens.shape[1:])) * 2  # float16
                rows = max(1, self.max_bytes // max(1, row_bytes))
                self.tokens = np.empty((rows,) + tokens.shape[1:], dtype=np.float16)
                self.pooled = np.empty((rows,) + pooled.shape[1:], dtype=np.float32)
            n = len(self.keys)
            take = min(len(keys) - start, self.tokens.shape[0] - n)
            self.tokens[n:n + take] = tokens[start:start + take]
            self.pooled[n:n + take] = pooled[start:start + take]
            self.keys.extend(keys[start:start + take])
            self.paths.extend(paths[start:start + take])
            start += take
            if len(self.keys) == self.tokens.shape[0]:
                self.flush()

    def flush(self) -> None:
        if self.keys:
            n = len(self.keys)  # a leading slice of a C-ordered array: a view, no copy
            locs = self.cache.add(self.keys, self.paths, self.tokens[:n], self.pooled[:n])
            self.result.locs.update(zip(self.paths, locs))
            self.keys, self.paths = [], []


def extract_features(paths: Sequence[str], backbone, cache: FeatureCache,
                     device: str | torch.device = "cpu", batch_size: int = 32,
                     workers: int = 2, shard_bytes: int = SHARD_BYTES,
                     progress: Progress = None,
                     should_stop: Optional[Callable[[], bool]] = None) -> Extraction:
    """Features of ``paths``: from the cache, or computed (decode threads + backbone).

    Computed features are written in shards of at most ``shard_bytes`` of tokens, so a
    cancelled or killed run keeps most of its work and memory stays bounded whatever the
    backbone.  Unreadable photos are returned in ``failures``.
    """
    from ..prediction.preprocess import decode_for_model  # the predictor's exact preprocessing
    from ..records import PhotoFailure

    result = Extraction()
    todo: List[Tuple[str, str]] = []
    for p in paths:
        key = cache.key(p)
        loc = cache.lookup(key)
        if loc is not None:
            result.locs[str(p)] = loc
            result.hits += 1
        elif key is None:
            result.failures.append((str(p), "file not found"))
        else:
            todo.append((str(p), key))
    cache.hits += result.hits
    total, done = len(paths), len(paths) - len(todo)
    if progress:
        progress(done, total)
    if not todo:
        return result
    backbone = backbone.to(device).eval()
    size = cache.image_size
    pending = _ShardBuffer(cache, result, shard_bytes)
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="features") as pool:
        futures = [pool.map(decode_for_model, [p for p, _ in b], [size] * len(b))
                   for b in batches[:2]]
        for bi, batch in enumerate(batches):
            if should_stop and should_stop():
                result.cancelled = True
                break
            decoded = list(futures[bi])
            if bi + 2 < len(batches):
                nxt = batches[bi + 2]
                futures.append(pool.map(decode_for_model, [p for p, _ in nxt],
                                        [size] * len(nxt)))
            good = []
            for (path, key), d in zip(batch, decoded):
                if isinstance(d, PhotoFailure):
                    result.failures.append((path, d.reason))
                else:
                    good.append((path, key, d[0]))
            if good:
                with torch.inference_mode():
                    tokens, _ = backbone.tokens(torch.stack([g[2] for g in good]).to(device))
                cache.backbone_batches += 1
                pending.add([g[1] for g in good], [g[0] for g in good],
                            tokens.to(torch.float16).cpu().numpy(),
                            pool_tokens(tokens).cpu().numpy())
                result.misses += len(good)
                cache.misses += len(good)
            done += len(batch)
            if progress:
                progress(done, total)
        if result.cancelled:
            pool.shutdown(wait=False, cancel_futures=True)
    pending.flush()
    return result


class FeatureSet:
    """The training view of cached features: rows in a fixed order, RAM or memory map.

    Small sets (under ``ram_bytes``) are copied to RAM once; larger ones are gathered
    from the memory-mapped shards batch by batch (the OS page cache does the rest).
    """

    def __init__(self, cache: FeatureCache, locs: Sequence[Loc], ram_bytes: int = 2 << 30):
        self.cache = cache
        self.locs = list(locs)
        self.pooled = cache.gather(self.locs, pooled=True).astype(np.float32)
        probe = cache.gather(self.locs[:1])
        self.token_shape = probe.shape[1:]
        need = len(self.locs) * probe.nbytes
        self._ram = torch.from_numpy(cache.gather(self.locs)) if need <= ram_bytes else None

    def __len__(self) -> int:
        return len(self.locs)

    def tokens(self, idx: Sequence[int]) -> torch.Tensor:
        """(len(idx), T, C) float16 tokens."""
        idx = np.asarray(idx, dtype=np.int64)
        if self._ram is not None:
            return self._ram[torch.from_numpy(idx)]
        return torch.from_numpy(self.cache.gather([self.locs[i] for i in idx]))


# ------------------------------------------------- images for backbone fine-tuning


def augment(image, size: int, rng) -> torch.Tensor:
    """The authors' training augmentations (method notes, section 4), with Pillow only.

    ``image`` has its shorter side at 256/224 of ``size``: random rotation (+-15 deg),
    random ``size`` crop, horizontal flip, colour jitter (brightness, contrast,
    saturation 0.4; hue 0.1).  ``rng`` is a ``numpy.random.Generator``: seeded per photo
    and epoch, so a resumed run sees the same augmentations.
    """
    from PIL import Image, ImageEnhance

    image = image.rotate(float(rng.uniform(-15.0, 15.0)), resample=Image.Resampling.BILINEAR)
    w, h = image.size
    left = int(rng.integers(0, max(0, w - size), endpoint=True))
    top = int(rng.integers(0, max(0, h - size), endpoint=True))
    image = image.crop((left, top, left + size, top + size))
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhance(image).enhance(float(rng.uniform(0.6, 1.4)))
    hsv = np.array(image.convert("HSV"))
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(rng.uniform(-0.1, 0.1) * 255)) % 256
    arr = np.array(Image.fromarray(hsv, "HSV").convert("RGB"))
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1).float().div_(255.0)


class ImageDataset(torch.utils.data.Dataset):
    """Photos decoded and augmented for full fine-tuning; item = (image, index, valid).

    A photo that became unreadable since its features were computed yields a black
    image with ``valid`` False (its loss is masked) instead of killing a long run.
    """

    def __init__(self, paths: Sequence[str], size: int, train: bool, seed: int = 0):
        self.paths = list(paths)
        self.size = int(size)
        self.train = train
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from ..prediction.photos import PhotoError, read_photo
        from ..prediction.preprocess import center_crop_tensor

        try:
            if self.train:
                image, _ = read_photo(self.paths[i], int(round(self.size * 256 / 224)))
                rng = np.random.default_rng([self.seed, self.epoch, i])
                return augment(image, self.size, rng), i, True
            image, _ = read_photo(self.paths[i], self.size)
            return center_crop_tensor(image, self.size), i, True
        except (PhotoError, OSError, ValueError):
            return torch.zeros(3, self.size, self.size), i, False
