""""Why here?" for a case report: the attention computed again from the photo.

A run's GeoPackage does not keep attention maps, so the report runs the model once more
on the photo.  That is only honest with the very weights the run used on the very file
it geolocated: the maps are computed only when the bundle's weights SHA-256 equals the
run's (and its digest, which covers the settings too, when the run recorded one) and the
photo's SHA-256 still matches; otherwise the report says why they are not shown.  The
model is loaded once (on the CPU: a report is not a batch job) and only
when a photo needs it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Optional

from .facts import Custody, RunFacts
from ..i18n import tr


@dataclass(frozen=True)
class AttentionMaps:
    maps: Optional[object]  # numpy (levels, rows, cols), or None with `reason`
    reason: str = ""
    bundle_path: str = ""


def bundle_digest(bundle_dir: str) -> str:
    """The digest a bundle folder's config.json records ("" when there is none); loading
    the bundle checks it against the content."""
    try:
        with open(os.path.join(bundle_dir, "config.json"), encoding="utf-8") as fh:
            digest = json.load(fh).get("digest", "")
        return digest if isinstance(digest, str) else ""
    except (OSError, ValueError, AttributeError, RecursionError):
        return ""


def bundle_weights_sha256(bundle_dir: str) -> str:
    """The SHA-256 of the weights file a bundle folder names (its config.json), read
    from the file; "" when it cannot be found."""
    from ...inference.hashing import sha256_file

    try:
        with open(os.path.join(bundle_dir, "config.json"), encoding="utf-8") as fh:
            doc = json.load(fh)
        return sha256_file(os.path.join(bundle_dir, doc.get("weights_file",
                                                            "weights.safetensors")))
    except (OSError, ValueError, AttributeError):
        return ""


class AttentionSource:
    """Per photo, the attention maps of the run's model, or the reason there are none."""

    def __init__(self, run: RunFacts, enabled: bool = True):
        self.run = run
        self.enabled = enabled
        self.predictor = None
        self.bundle_path, self.problem = self._choose_bundle()

    def _choose_bundle(self) -> tuple[str, str]:
        """The run's bundle folder, else the default bundle, when its weights are the
        run's; ("", why not) otherwise."""
        from ..run.pipeline import default_bundle_path

        if not self.enabled:
            return "", tr("not computed (switched off for this report)")
        wanted = self.run.value("weights_sha256")
        digest = self.run.value("bundle_digest")  # "" for runs made before digests
        recorded = self.run.value("bundle_path")
        tried = []
        for folder in (recorded, default_bundle_path()):
            if not folder or folder in tried or not os.path.isdir(folder):
                continue
            tried.append(folder)
            if (wanted and bundle_weights_sha256(folder) == wanted
                    and (not digest or bundle_digest(folder) == digest)):
                return folder, ""
        if not wanted:
            return "", tr("not shown: the run did not record its weights' SHA-256")
        if not tried:
            return "", tr("not shown: the run's model bundle ({path}) is not on this "
                          "computer and there is no default model").format(path=recorded)
        if digest:
            return "", tr("not shown: no model bundle here has the run's weights and "
                          "digest (SHA-256 {sha}, digest {digest}); looked in {where}").format(
                sha=wanted, digest=digest, where=", ".join(tried))
        return "", tr("not shown: no model bundle here has the run's weights (SHA-256 "
                      "{sha}); looked in {where}").format(sha=wanted, where=", ".join(tried))

    def for_photo(self, path: Optional[str], custody: Custody) -> AttentionMaps:
        if self.problem:
            return AttentionMaps(None, self.problem)
        if path is None or custody.current is None:
            return AttentionMaps(None, tr("not shown: {problem}").format(
                problem=custody.problem or tr("the photo file is missing")))
        if not custody.matches:
            return AttentionMaps(None, tr("not shown: the photo file has changed since the "
                                          "run (its SHA-256 differs), so its attention would "
                                          "not be the run's"))
        try:
            predictor = self._predictor()
            record = next(iter(predictor.run([path])), None)
        except Exception as exc:  # noqa: BLE001 - missing packages, a broken bundle: say so
            self.problem = tr("not shown: the model could not be run here ({error})").format(
                error=f"{type(exc).__name__}: {exc}")
            return AttentionMaps(None, self.problem)
        maps = getattr(record, "attention", None)
        if maps is None:
            return AttentionMaps(None, tr("not shown: {reason}").format(
                reason=getattr(record, "reason", tr("the model gave no attention maps"))))
        return AttentionMaps(maps, "", self.bundle_path)

    def _predictor(self):
        if self.predictor is None:
            from ..native_libs import ensure_own_libraries
            from ..run.pipeline import check_engine_packages

            check_engine_packages()
            ensure_own_libraries()
            from ...inference.prediction.predict import Predictor

            self.predictor = Predictor(self.bundle_path, device="cpu", batch_size=1, top_k=1,
                                       attention=True, decode_workers=1)
        return self.predictor
