"""Photos in, Prediction records out, with GeoCLIP: the same records as the GeoDecoder's.

The loop is the Predictor's (``batching.stream_records`` and ``predict_batch``): photos
decode in threads ahead of the model, the model runs in a thread of its own, a photo that
fails is a PhotoFailure and the batch goes on, short batches are padded to a few shapes
only.  What differs is the answer:

- GeoCLIP gives a probability over its 100,000 gallery locations: softmax of
  exp(logit_scale) x the cosine similarity of the photo's and each location's features.
- The point is the most probable location (GeoCLIP's own top-1), the candidates are the
  top-k locations with their probabilities, each tagged with its finest cell.
- The locations' probabilities are summed into the cells of every level (gallery.py),
  the confidence is the mass of the point's finest cell (what a GeoDecoder record
  calls confidence: the probability of the cell the point is in), and the finest cells
  are ranked by density, so credible regions, the surface and ``evaluate`` read them as
  for any model.
- Clues weight each location by its finest cell's weight (applied_clues.py's weights)
  before the softmax is renormalised, so the point is the best location where the clues
  hold; the record keeps the mass they removed and the unconstrained best location.

CLIP's preprocessing: shorter side 224 by one bicubic resize of the full decode, centre
crop 224, RGB, CLIP's mean and std (transformers' ``CLIPImageProcessor`` defaults);
the photo is decoded by photos.py (size and format checks, EXIF orientation, the
evidence hash) with ``exact=True``.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..constraints.base import Constraints
from ..modeling.clip_tower import CLIP_MEAN, CLIP_STD
from ..modeling.credible import density_order
from ..records import Candidate, PhotoFailure, Prediction
from ..prediction.applied_clues import AppliedClues, ranking_areas
from ..prediction.batching import PAD_SIZES, Result, predict_batch, stream_records
from ..prediction.devices import device_label, resolve_device
from ..prediction.photos import PhotoError, PhotoInfo, read_photo
from ..prediction.preprocess import center_crop_tensor
from ..prediction.records_of import RecordMaker
from .model import GeoClipModel, load_geoclip



def decode_for_clip(path: str, size: int = 224
                    ) -> Union[Tuple[torch.Tensor, PhotoInfo], PhotoFailure]:
    """(3, size, size) floats in [0, 1] as CLIP's processor makes them before its
    normalisation, or a PhotoFailure (never an exception that stops a batch)."""
    try:
        image, info = read_photo(path, size, exact=True)
        return center_crop_tensor(image, size), info
    except PhotoError as exc:
        return PhotoFailure(str(path), str(exc))
    except Exception as exc:  # noqa: BLE001 - one photo never stops the batch
        return PhotoFailure(str(path), f"unexpected error: {type(exc).__name__}: {exc}")


class GeoClipPredictor:
    """The Predictor's interface (``run``, ``predict_tensors``, ``bundle``, ``top_k``,
    ``device_used``, ``cell_areas``, ...) over GeoCLIP."""

    temperature = 1.0  # nothing fitted: see model.UNCALIBRATED
    retrieval = False
    point_rule = "the most probable of GeoCLIP's gallery locations"

    def __init__(self, model: Union[GeoClipModel, str, None] = None, device: str = "auto",
                 batch_size: int = 8, top_k: int = 5, decode_workers: int = 2,
                 constraints: Optional[Constraints] = None):
        self.device = resolve_device(device)
        self.bundle = model if isinstance(model, GeoClipModel) else load_geoclip(model)
        m = self.bundle
        self.tower = m.tower.to(self.device).eval()
        self.mlp = m.heads.mlp.to(self.device).eval()
        self.scale = float(m.heads.logit_scale.exp())
        g = m.gallery_points
        self.embeddings = g.embeddings.to(self.device)
        self.point_cell = torch.as_tensor(g.point_cell, device=self.device)
        self.coords = g.coords
        self.cells = g.cells
        self.cell_areas = g.cell_areas
        self.parents = torch.as_tensor(self.cells.parents, device=self.device)
        self.size = m.tower.config.image_size
        self.mean = torch.tensor(CLIP_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(CLIP_STD, device=self.device).view(1, 3, 1, 1)
        self.batch_size = max(1, int(batch_size))
        self.top_k = max(1, min(int(top_k), len(self.coords)))
        self.decode_workers = max(1, int(decode_workers))
        self.constraints = constraints if constraints else Constraints()
        self.clues = AppliedClues(self.constraints, self.cells, self.device) \
            if self.constraints else None
        # under clues a cell is ranked (and its region measured) on its allowed area
        self.ranking_areas = ranking_areas(self.clues, self.cell_areas)
        self.records = RecordMaker(self.cells, m.info.scene_names)
        self.tokens = self.cells.finest_tokens()

    @property
    def device_used(self) -> str:
        return device_label(self.device)

    @property
    def cell_weights(self):
        return self.clues.weights if self.clues is not None else None

    def run(self, inputs: Iterable[str], progress: Optional[Callable[[int, int], None]] = None,
            should_stop: Optional[Callable[[], bool]] = None) -> Iterator[Result]:
        """One record per input, as ``Predictor.run``: missing inputs first (failures),
        then the photos in find_photos' order."""
        return stream_records(inputs, self.batch_size, partial(decode_for_clip, size=self.size),
                              self._predict_decoded, self.decode_workers, progress, should_stop)

    def _predict_decoded(self, decoded) -> List[Result]:
        return predict_batch(decoded, self.batch_size, PAD_SIZES, self.device,
                             self.predict_tensors)

    @torch.inference_mode()
    def location_log_probs(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) pixels in [0, 1] -> (B, N) log-probabilities over the gallery."""
        features = self.tower((images - self.mean) / self.std)
        image = torch.nn.functional.normalize(self.mlp(features), dim=1)
        return torch.log_softmax(self.scale * (image @ self.embeddings.T), dim=1)

    @torch.inference_mode()
    def predict_tensors(self, images: torch.Tensor, infos: Sequence[PhotoInfo]
                        ) -> List[Prediction]:
        log_p = self.location_log_probs(images)[:len(infos)]
        probs = log_p.exp()
        removed = before = before_cells = None
        if self.clues is not None:  # p(x | clues) ~ p(x) w(cell(x))
            point_w = self.clues.log_weights[self.point_cell]
            kept = (probs * point_w.exp()).sum(dim=1)
            removed = (1.0 - kept).clamp(0.0, 1.0).cpu().numpy()
            before = probs.argmax(dim=1).cpu().numpy()
            before_cells = self._in_cells(probs).cpu().numpy()
            probs = torch.softmax(log_p + point_w, dim=1)
        n_cells = self.cells.sizes
        finest = self._in_cells(probs)
        marg = [torch.zeros(probs.shape[0], n, dtype=probs.dtype, device=probs.device
                            ).index_add_(1, self.parents[:, h], finest).cpu().numpy()
                for h, n in enumerate(n_cells)]
        top_p, top_i = probs.topk(self.top_k, dim=1)
        top_p, top_i = top_p.cpu().numpy(), top_i.cpu().numpy()
        all_cells = finest.cpu().numpy()
        ranked_i = density_order(all_cells, self.ranking_areas)
        ranked_p = np.take_along_axis(all_cells, ranked_i, axis=1)
        point_cell = self.bundle.gallery_points.point_cell
        preds = []
        for b, info in enumerate(infos):
            best = int(point_cell[top_i[b, 0]])
            pred = self.records.make(best, float(all_cells[b, best]), info, ([], []),
                                     (ranked_p[b], ranked_i[b]), [m[b] for m in marg], 0,
                                     0.0, None, tuple(self.coords[top_i[b, 0]]))
            pred = dataclasses.replace(pred, candidates=self._candidates(top_p[b], top_i[b]))
            if removed is not None:
                # the unconstrained answer: GeoCLIP's own best location, with the
                # probability of its cell (as a GeoDecoder record gives its best cell's)
                i0 = int(before[b])
                cell0 = int(point_cell[i0])
                p0 = float(before_cells[b, cell0])
                pred = self.clues.constrain(pred, float(removed[b]), p0, cell0)
                pred = dataclasses.replace(pred, unconstrained_top=dataclasses.replace(
                    pred.unconstrained_top, lat=float(self.coords[i0, 0]),
                    lon=float(self.coords[i0, 1])))
            preds.append(pred)
        return preds

    def _in_cells(self, probs: torch.Tensor) -> torch.Tensor:
        """(B, N) location probabilities -> (B, finest cells) sums."""
        return torch.zeros(probs.shape[0], self.cells.sizes[-1], dtype=probs.dtype,
                           device=probs.device).index_add_(1, self.point_cell, probs)

    def _candidates(self, top_p, top_i) -> Tuple[Candidate, ...]:
        pc = self.bundle.gallery_points.point_cell
        return tuple(Candidate(r + 1, float(self.coords[i, 0]), float(self.coords[i, 1]),
                               float(p), self.tokens[int(pc[i])])
                     for r, (p, i) in enumerate(zip(top_p, top_i)))

