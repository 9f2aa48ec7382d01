"""Photos in, Prediction records out: batching, device choice, decoding overlap.

Decoding a phone photo costs as much as the network on a small CPU, so a thread pool
decodes the next batches (with JPEG draft scaling, see photos.py) while the model runs
the current one in a thread of its own, and the caller works on the records before
(prefetch.py).  At most a few batches are in flight, which keeps memory flat however
many photos there are.  A photo that fails becomes a PhotoFailure and the batch goes on.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import partial
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..modeling.bundle import ModelBundle, load_bundle
from ..geo import haversine_km
from ..modeling.calibration import finest_log_probs
from ..modeling.credible import density_order
from ..modeling.decision import choose_cells, neighbourhood
from .photos import PhotoError, PhotoInfo, find_photos, read_photo
from .prefetch import ahead, prefetch
from ..records import Candidate, CellProbability, Prediction, PhotoFailure
from ..constraints.base import Constraints

log = logging.getLogger(__name__)

Result = Union[Prediction, PhotoFailure]
FINEST_MASS = 0.99  # keep finest cells (by density, modeling/credible.py) until this much
# probability is covered
FINEST_CAP = 500
LEVEL_TOP = 5
DECODE_AHEAD = 2  # batches decoded or decoding ahead of the model
MODEL_AHEAD = 1  # batches of records the model may have ready ahead of the caller
PAD_SIZES = (1, 4)  # a short batch is padded to the smallest of these (or the batch size)


def padded_size(n: int, batch_size: int, sizes: Sequence[int] = PAD_SIZES) -> int:
    """The batch a forward pass of ``n`` photos runs at: the smallest of ``sizes`` that
    holds them, else the full batch size.  oneDNN keeps caches and buffers per input
    shape, and batches shrunk by failed photos made a long run's memory grow by hundreds
    of MB (measured), so a run sees at most three shapes; one photo alone (the dock, the
    first photo of a run) is not padded to 16 and costs one photo's forward pass."""
    for size in sorted(sizes):
        if n <= size < batch_size:
            return size
    return max(n, batch_size)


def in_chunks(records: Iterable[Result], size: int
              ) -> Iterator[Tuple[List[Prediction], List[PhotoFailure]]]:
    """(predictions, failures) of at most `size` records at a time: what writers take, so a
    run of any length holds one chunk in memory."""
    preds: List[Prediction] = []
    fails: List[PhotoFailure] = []
    for record in records:
        (fails if isinstance(record, PhotoFailure) else preds).append(record)
        if len(preds) + len(fails) >= size:
            yield preds, fails
            preds, fails = [], []
    if preds or fails:
        yield preds, fails


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then CPU; 'gpu' the same without the CPU; an
    explicit choice that is not there is an error rather than a silent fallback (users
    want to know what ran)."""
    device = (device or "auto").lower()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device in ("auto", "gpu"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps:
            return torch.device("mps")
        if device == "auto":
            return torch.device("cpu")
        raise RuntimeError("a GPU was asked for, but this PyTorch sees neither a CUDA GPU nor "
                           f"Apple MPS (torch {torch.__version__}); choose CPU or auto")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for, but this PyTorch has no usable CUDA GPU "
                           f"(torch {torch.__version__}); choose CPU or auto")
    if device == "mps" and not mps:
        raise RuntimeError("device 'mps' asked for, but Apple MPS is not available here")
    return torch.device(device)


def _unit_float(arr: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (3, H, W) in [0, 1], converted by NumPy: the same numbers
    as torch's ``.float().div_(255)`` (tested), but in the calling thread.  Photos decode
    in worker threads, and a torch operation there starts OpenMP threads of its own that
    spin for the two cores the run needs (measured: ~0.008 core-s per photo)."""
    return torch.from_numpy(np.ascontiguousarray(arr).astype(np.float32)
                            / np.float32(255.0)).permute(2, 0, 1)


def center_crop_tensor(image, size: int) -> torch.Tensor:
    """PIL image whose shorter side is `size` -> (3, size, size) float tensor in [0, 1]."""
    arr = np.array(image, dtype=np.uint8)
    h, w = arr.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return _unit_float(arr[top:top + size, left:left + size])


def ten_crop_tensor(image, size: int) -> torch.Tensor:
    """Four corners + centre of a `size` crop, and their mirror images: (10, 3, size, size)."""
    arr = _unit_float(np.array(image, dtype=np.uint8))
    _, h, w = arr.shape
    offs = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size),
            ((h - size) // 2, (w - size) // 2)]
    crops = [arr[:, t:t + size, left:left + size] for t, left in offs]
    crops += [c.flip(-1) for c in crops]
    return torch.stack(crops)


def decode_for_model(path: str, size: int, ten_crop: bool = False
                     ) -> Union[Tuple[torch.Tensor, PhotoInfo], PhotoFailure]:
    """A photo as the model sees it: shorter side to ``size``, centre crop (or the ten
    crops), float in [0, 1]; a PhotoFailure instead of an exception.  Training caches
    features through the same function, so cached tokens are the inference tokens."""
    try:
        if ten_crop:  # the classic protocol: shorter side 256 for 224 crops
            image, info = read_photo(path, int(round(size * 256 / 224)))
            return ten_crop_tensor(image, size), info
        image, info = read_photo(path, size)
        return center_crop_tensor(image, size), info
    except PhotoError as exc:
        return PhotoFailure(str(path), str(exc))
    except Exception as exc:  # noqa: BLE001 - one photo never stops the batch
        log.exception("unexpected error decoding %s", path)
        return PhotoFailure(str(path), f"unexpected error: {type(exc).__name__}: {exc}")


class Predictor:
    def __init__(self, bundle: Union[ModelBundle, str], device: str = "auto",
                 batch_size: int = 16, top_k: int = 5, attention: bool = False,
                 decode_workers: int = 2, ten_crop: bool = False,
                 retrieval: Optional[bool] = None, constraints: Optional[Constraints] = None,
                 fast_backbone: bool = True):
        """``retrieval``: None follows the bundle (on where its validation showed it helps),
        False writes cell mean coordinates, True refines with the bundle's gallery.
        ``constraints`` reweight every prediction (``inference.constraints``); a set that
        leaves no cell raises ConstraintError here, before any output is opened.
        ``fast_backbone``: run the backbone with its BatchNorms folded and channels-last
        (modeling/fast_backbone.py: ~40 % less CPU, the same validation accuracy, records
        equal to their last digits), short batches padded to 1 or 4 photos only (see
        padded_size), bf16 autocast on CUDA.  False runs the network exactly as trained
        and every batch at the full batch size: records equal to the last digit to those
        of earlier versions (oneDNN's results depend on the batch shape in the last
        digits)."""
        self.device = resolve_device(device)
        self.bundle = bundle if isinstance(bundle, ModelBundle) else load_bundle(bundle)
        if retrieval and self.bundle.gallery is None:
            raise ValueError(f"{self.bundle.info.name} carries no gallery of training photos: "
                             "retrieval inside the cell is not available for it")
        self.retrieval = self.bundle.retrieval_enabled if retrieval is None else bool(retrieval)
        self.temperature = self.bundle.info.temperature
        radius = self.bundle.info.decision_radius_km
        self.near = neighbourhood(self.bundle.cells.finest_coords(), radius).to(self.device) \
            if radius > 0 else None
        self.model = self.bundle.model.to(self.device).eval()
        self.backbone = self.model.backbone
        self.fast = bool(fast_backbone)
        self.pad_sizes = PAD_SIZES if self.fast else ()
        if self.fast:
            from ..modeling.fast_backbone import inference_backbone

            self.backbone = inference_backbone(self.model.backbone, self.device)
        self.batch_size = max(1, int(batch_size))
        self.top_k = max(1, int(top_k))
        self.attention = attention and not ten_crop
        self.ten_crop = ten_crop
        self.decode_workers = max(1, int(decode_workers))
        self.parents = torch.as_tensor(self.bundle.cells.parents, device=self.device)
        self.coords = self.bundle.cells.finest_coords()
        from ..modeling.cell_geometry import partition_areas_km2  # shapely: not at import

        # the finest cells are kept by density, so every credible region is a prefix of
        # them (modeling/credible.py); measured once per bundle (~0.5 s for 355 cells,
        # the regions reuse them)
        self.cell_areas = partition_areas_km2(self.bundle.cells.finest_tokens())
        self.size = self.bundle.config.image_size
        self.constraints = constraints if constraints else Constraints()
        self.cell_weights = self.log_weights = self.allowed = None
        if self.constraints:
            from ..constraints.weights import cell_weights

            finest = self.bundle.cells.levels[-1].cells
            self.cell_weights = cell_weights(self.constraints, [c.token for c in finest])
            w = torch.as_tensor(self.cell_weights.weights, dtype=torch.float32)
            self.log_weights = torch.log(w).to(self.device)  # -inf: ruled out
            self.allowed = (w > 0).to(self.device)
            self._token_index = {c.token: i for i, c in enumerate(finest)}

    @property
    def device_used(self) -> str:
        if self.device.type == "cuda":
            return f"cuda ({torch.cuda.get_device_name(self.device)})"
        return self.device.type

    def run(self, inputs: Iterable[str], progress: Optional[Callable[[int, int], None]] = None,
            should_stop: Optional[Callable[[], bool]] = None) -> Iterator[Result]:
        """Yield one record per input file until done or `should_stop()`: first the inputs
        that do not exist (as failures), then the photos in the order find_photos gives."""
        paths, missing = find_photos(inputs)
        total = len(paths) + len(missing)
        done = 0
        for path, reason in missing:
            done += 1
            yield PhotoFailure(str(path), reason)
        batches = [paths[i:i + self.batch_size] for i in range(0, len(paths), self.batch_size)]
        decode = partial(decode_for_model, size=self.size, ten_crop=self.ten_crop)
        # decoding runs ahead in threads, the model in a thread of its own: while the
        # caller dissolves regions and writes rows, the next photos are on their way
        decoded = prefetch(batches, decode, self.decode_workers, depth=DECODE_AHEAD)
        results = ahead(decoded, self._predict_decoded, depth=MODEL_AHEAD, name="model")
        try:
            for records in results:
                if should_stop and should_stop():
                    return
                for record in records:
                    done += 1
                    yield record
                if progress:
                    progress(done, total)
        finally:
            results.close()

    def _predict_decoded(self, decoded) -> List[Result]:
        ok = [(i, d) for i, d in enumerate(decoded) if not isinstance(d, PhotoFailure)]
        results: List[Optional[Result]] = [d if isinstance(d, PhotoFailure) else None
                                           for d in decoded]
        if ok:
            size = padded_size(len(ok), self.batch_size, self.pad_sizes)
            images = torch.zeros((size,) + ok[0][1][0].shape,
                                 pin_memory=self.device.type == "cuda")
            torch.stack([d[0] for _, d in ok], out=images[:len(ok)])
            preds = self.predict_tensors(images.to(self.device, non_blocking=True),
                                         [d[1] for _, d in ok])
            for (i, _), pred in zip(ok, preds):
                results[i] = pred
        return results  # type: ignore[return-value]

    @torch.inference_mode()
    def predict_tensors(self, images: torch.Tensor, infos: Sequence[PhotoInfo]) -> List[Prediction]:
        """images: (B, 3, S, S), or (B, 10, 3, S, S) for ten-crop (logits averaged)."""
        if images.dim() == 5:
            out, pooled = self._ten_crop(images)
        else:
            tokens, grid = self._tokens(images)
            out = self.model.decode(tokens, need_attention=self.attention, grid=grid)
            pooled = tokens.float().mean(dim=1)
        log_p = finest_log_probs(out.level_logits, self.parents, self.temperature)
        probs = log_p.exp()
        removed = before = None
        if self.log_weights is not None:
            # the constraint as a likelihood: p(c | constraint) ~ p(c) w(c), renormalised
            # in log space so a photo whose allowed cells the model thinks unlikely
            # still gets probabilities that sum to one
            kept = (probs * self.log_weights.exp()).sum(dim=1)
            removed = (1.0 - kept).clamp(0.0, 1.0).cpu().numpy()
            # the answer an unconstrained run gives: the same decision rule, not the argmax
            before_i = choose_cells(probs, self.near)
            before_p = probs.gather(1, before_i[:, None]).squeeze(1)
            before = (before_p.cpu().numpy(), before_i.cpu().numpy())
            probs = torch.softmax(log_p.float() + self.log_weights, dim=1)
        scene_p = torch.softmax(out.scene_logits.float(), dim=1)
        cells = self.bundle.cells
        level_marg = [torch.zeros(probs.shape[0], n, device=probs.device).index_add_(
            1, self.parents[:, h], probs) for h, n in enumerate(cells.sizes)]
        chosen = choose_cells(probs, self.near, self.allowed)
        chosen_p = probs.gather(1, chosen[:, None]).squeeze(1).cpu().numpy()
        chosen = chosen.cpu().numpy()
        top_p, top_i = probs.topk(min(self.top_k, probs.shape[1]), dim=1)
        top_p, top_i = top_p.cpu().numpy(), top_i.cpu().numpy()
        all_p = probs.cpu().numpy()
        ranked_i = density_order(all_p, self.cell_areas)
        ranked_p = np.take_along_axis(all_p, ranked_i, axis=1)
        marg = [m.cpu().numpy() for m in level_marg]
        scenes = out.scene.cpu().numpy()
        scene_conf = scene_p.gather(1, out.scene[:, None]).squeeze(1).cpu().numpy()
        attention = None
        if out.attention is not None:
            attention = _attention_grid(out.attention.float().cpu().numpy(), out.grid)
        pooled = pooled.cpu()
        preds = []
        for b, info in enumerate(infos):
            point = None
            if self.retrieval:
                point = self.bundle.gallery.refine(int(chosen[b]), pooled[b])
            pred = self._record(int(chosen[b]), float(chosen_p[b]), info, (top_p[b], top_i[b]),
                                (ranked_p[b], ranked_i[b]), [m[b] for m in marg],
                                int(scenes[b]), float(scene_conf[b]),
                                None if attention is None else attention[b], point)
            if removed is not None:
                pred = self._constrained(pred, float(removed[b]), float(before[0][b]),
                                         int(before[1][b]))
            preds.append(pred)
        return preds

    def _constrained(self, pred: Prediction, removed: float, top_p: float,
                     top: int) -> Prediction:
        """The constraint's effect on one photo: what it took away, what the model said
        before, and nothing the constraint ruled out (no zero-probability candidate or
        cell, every point inside what is allowed)."""
        cells = self.bundle.cells
        lat, lon = self.cell_weights.place_point(pred.best_cells[-1].index, pred.lat, pred.lon)
        cands = tuple(dataclasses.replace(c, lat=p[0], lon=p[1]) for c, p in (
            (c, self.cell_weights.place_point(self._token_index[c.cell_token], c.lat, c.lon))
            for c in pred.candidates if c.probability > 0))
        before = Candidate(1, float(self.coords[top][0]), float(self.coords[top][1]), top_p,
                           cells.cell(cells.num_levels - 1, top).token)
        return dataclasses.replace(
            pred, lat=lat, lon=lon, candidates=cands,
            level_top=tuple(tuple(c for c in lv if c.probability > 0) for lv in pred.level_top),
            finest=tuple(c for c in pred.finest if c.probability > 0),
            mass_removed=removed, unconstrained_top=before,
            error_km=None if pred.exif_gps is None else haversine_km(
                pred.exif_gps.lat, pred.exif_gps.lon, lat, lon))

    def _ten_crop(self, images: torch.Tensor):
        """One scene per photo for all its crops: the scene logits are averaged over the
        crops first, then every crop is decoded through that scene's queries and the level
        logits are averaged (so the answer and the reported scene agree)."""
        b, crops = images.shape[:2]
        tokens, grid = self._tokens(images.flatten(0, 1))
        first = self.model.decode(tokens, grid=grid)
        scene_logits = first.scene_logits.view(b, crops, -1).mean(1)
        scene = scene_logits.argmax(dim=1)
        routed = self.model.decode(tokens, route_scene=scene.repeat_interleave(crops), grid=grid)
        routed.level_logits = [lg.view(b, crops, -1).mean(1) for lg in routed.level_logits]
        routed.scene_logits, routed.scene = scene_logits, scene
        return routed, tokens.float().mean(dim=1).view(b, crops, -1).mean(1)

    def _tokens(self, images: torch.Tensor):
        """The backbone's tokens, float32.  With the fast backbone on CUDA its
        convolutions run under bf16 autocast (tensor cores) while the decoder and every
        probability stay float32.  Untested: no GPU was lent while this was written
        (docs/SPEED.md)."""
        if self.device.type != "cuda" or not self.fast:
            return self.backbone.tokens(images)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            tokens, grid = self.backbone.tokens(images)
        return tokens.float(), grid

    def _record(self, best: int, best_p: float, info: PhotoInfo, top, ranked, marg, scene,
                scene_conf, attention, point):
        """``top``: (probabilities, indices) of the most probable finest cells, the
        candidates; ``ranked``: all finest cells by density, of which ``finest`` keeps
        the first FINEST_MASS."""
        cells = self.bundle.cells
        n_levels = cells.num_levels
        lat, lon = self.coords[best] if point is None else point
        cands = tuple(Candidate(r + 1, float(self.coords[c][0]), float(self.coords[c][1]),
                                float(p), cells.cell(n_levels - 1, int(c)).token)
                      for r, (p, c) in enumerate(zip(*top)))
        best_cells = tuple(
            CellProbability(h, int(cells.parents[best, h]),
                            cells.cell(h, int(cells.parents[best, h])).token,
                            float(marg[h][cells.parents[best, h]]))
            for h in range(n_levels))
        level_top = []
        for h in range(n_levels):
            top = np.argsort(-marg[h])[:LEVEL_TOP]
            level_top.append(tuple(CellProbability(h, int(c), cells.cell(h, int(c)).token,
                                                   float(marg[h][c])) for c in top))
        rp, ri = ranked
        k = min(int(np.searchsorted(np.cumsum(rp), FINEST_MASS)) + 1, FINEST_CAP)
        finest = tuple(CellProbability(n_levels - 1, int(c), cells.cell(n_levels - 1, int(c)).token,
                                       float(p)) for c, p in zip(ri[:k], rp[:k]))
        err = None
        if info.exif_gps is not None:
            err = haversine_km(info.exif_gps.lat, info.exif_gps.lon, float(lat), float(lon))
        names = self.bundle.info.scene_names
        return Prediction(
            path=info.path, lat=float(lat), lon=float(lon), confidence=best_p,
            candidates=cands, best_cells=best_cells, level_top=tuple(level_top), finest=finest,
            scene=scene, scene_name=names[scene] if scene < len(names) else f"scene {scene}",
            scene_confidence=scene_conf, exif_gps=info.exif_gps, error_km=err,
            width=info.width, height=info.height, sha256=info.sha256, attention=attention)


def _attention_grid(attn: np.ndarray, grid) -> np.ndarray:
    """(B, H, T) attention over tokens -> (B, H, rows, cols) over the spatial tokens only
    (the last rows*cols; a leading CLS token is dropped), each map summing to one."""
    rows, cols = grid
    maps = attn[..., attn.shape[-1] - rows * cols:].reshape(attn.shape[:-1] + (rows, cols))
    return maps / np.maximum(maps.sum(axis=(-2, -1), keepdims=True), 1e-12)
