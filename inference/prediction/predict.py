"""Photos in, Prediction records out: the Predictor composes the parts.

Devices (devices.py), preprocessing (preprocess.py, with JPEG draft scaling in
photos.py), the stream of batches through decoding threads and the model's thread
(batching.py), the clues (applied_clues.py) and the records (records_of.py) each have
their own module; this one runs the network and turns its output into records.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch

from ..constraints.base import Constraints
from ..modeling.bundle import ModelBundle, load_bundle
from ..modeling.calibration import finest_log_probs
from ..modeling.credible import density_order
from ..modeling.decision import choose_cells, neighbourhood, neighbourhood_mass
from ..records import Prediction
from .answer_context import with_context
from .applied_clues import AppliedClues, ranking_areas
from .batching import PAD_SIZES, Result, predict_batch, stream_records
from .devices import device_label, resolve_device
from .photos import PhotoInfo
from .preprocess import decode_for_model
from .records_of import RecordMaker, attention_grid



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
        self.radius_km = float(radius)
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
        self.clues = AppliedClues(self.constraints, self.bundle.cells, self.device) \
            if self.constraints else None
        # under clues a cell is ranked (and its region measured) on its allowed area
        self.ranking_areas = ranking_areas(self.clues, self.cell_areas)
        self.records = RecordMaker(self.bundle.cells, self.bundle.info.scene_names)

    @property
    def device_used(self) -> str:
        return device_label(self.device)

    @property
    def cell_weights(self):
        """The clues' ``CellWeights`` (constraints/weights.py), None without clues."""
        return self.clues.weights if self.clues is not None else None

    def run(self, inputs: Iterable[str], progress: Optional[Callable[[int, int], None]] = None,
            should_stop: Optional[Callable[[], bool]] = None) -> Iterator[Result]:
        """Yield one record per input file until done or `should_stop()`: first the inputs
        that do not exist (as failures), then the photos in the order find_photos gives."""
        decode = partial(decode_for_model, size=self.size, ten_crop=self.ten_crop)
        return stream_records(inputs, self.batch_size, decode, self._predict_decoded,
                              self.decode_workers, progress, should_stop)

    def _predict_decoded(self, decoded) -> List[Result]:
        return predict_batch(decoded, self.batch_size, self.pad_sizes, self.device,
                             self.predict_tensors)

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
        removed = before = allowed = None
        if self.clues is not None:  # the clues as a likelihood: p(c | clues) ~ p(c) w(c)
            probs, removed, before = self.clues.reweight(log_p, probs, self.near)
            allowed = self.clues.allowed
        scene_p = torch.softmax(out.scene_logits.float(), dim=1)
        cells = self.bundle.cells
        level_marg = [torch.zeros(probs.shape[0], n, device=probs.device).index_add_(
            1, self.parents[:, h], probs) for h, n in enumerate(cells.sizes)]
        scores = neighbourhood_mass(probs, self.near) if self.near is not None else None
        chosen = choose_cells(probs, self.near, allowed, scores=scores)
        chosen_p = probs.gather(1, chosen[:, None]).squeeze(1).cpu().numpy()
        # the probability within the radius of the point: why it is there
        chosen_mass = None if scores is None else \
            scores.gather(1, chosen[:, None]).squeeze(1).clamp(max=1.0).cpu().numpy()
        chosen = chosen.cpu().numpy()
        top_p, top_i = probs.topk(min(self.top_k, probs.shape[1]), dim=1)
        top_p, top_i = top_p.cpu().numpy(), top_i.cpu().numpy()
        all_p = probs.cpu().numpy()
        ranked_i = density_order(all_p, self.ranking_areas)
        ranked_p = np.take_along_axis(all_p, ranked_i, axis=1)
        marg = [m.cpu().numpy() for m in level_marg]
        scenes = out.scene.cpu().numpy()
        scene_conf = scene_p.gather(1, out.scene[:, None]).squeeze(1).cpu().numpy()
        attention = None
        if out.attention is not None:
            attention = attention_grid(out.attention.float().cpu().numpy(), out.grid)
        pooled = pooled.cpu()
        preds = []
        for b, info in enumerate(infos):
            point = None
            if self.retrieval:
                point = self.bundle.gallery.refine(int(chosen[b]), pooled[b])
            pred = self.records.make(int(chosen[b]), float(chosen_p[b]), info,
                                     (top_p[b], top_i[b]), (ranked_p[b], ranked_i[b]),
                                     [m[b] for m in marg], int(scenes[b]), float(scene_conf[b]),
                                     None if attention is None else attention[b], point)
            if removed is not None:
                pred = self.clues.constrain(pred, float(removed[b]), float(before[0][b]),
                                         int(before[1][b]))
            pred = with_context(pred, self.radius_km,
                                None if chosen_mass is None else float(chosen_mass[b]),
                                self.cell_areas,
                                None if self.clues is None else self.clues.allowed_part)
            preds.append(pred)
        return preds

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
