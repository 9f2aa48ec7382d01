"""``clip-vit-l14``: the GeoDecoder on the CLIP ViT-L/14 tower that GeoCLIP's download
put in the models store (issue 17: "GeoDecoder on the same tower").

Which tokens.  Every token the last of the tower's blocks leaves: the class token and the
16 x 16 patch tokens of a 224 px crop (patch 14), 1024 channels each, *before*
``post_layernorm`` and ``visual_projection`` (Hugging Face's ``last_hidden_state``).
Why that layer (docs/METHOD_NOTES.md, "Backbones"):

- the decoder's queries cross-attend to places in the photo, so it wants a token per
  patch, and the authors' code gives the decoder all of a ViT's tokens (CLS + patches);
- ``post_layernorm`` and the projection were trained on the class token alone (they map
  it into CLIP's image-text space, which is what GeoCLIP uses); the patch tokens never
  went through them, and the projection would cut 1024 channels to 768;
- the decoder's input projection is a Linear followed by a LayerNorm, which removes any
  per-token scale, so the residual stream needs no norm of its own here;
- the last block rather than an earlier one (LLaVA takes the second to last): nothing
  was measured that would justify another; the choice is one place (``tokens``).

Which tower.  ``tower`` is a catalog reference MODEL/PART (default
``geoclip/clip-vit-large-patch14``): the file is the store's copy, and its SHA-256 must be
``sha256`` when given (a bundle's record), else the catalog's pin.  ``weights`` (a folder
or ``model.safetensors`` elsewhere, with its ``config.json`` when beside it) is for
training only and must hold the same bytes.  A bundle records ``{"tower", "sha256"}``
(``bundle_options``) and never carries the tower's 1.2 GB: loading it builds this
backbone from the store and refuses, in one line naming the SHA-256 and the download
command, a tower that is missing or different.  The SHA-256 is not re-read each load
(models/pinned.py: the store's own verification record, else a memo by size and mtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from ..models.catalog import CatalogError
from ..models.pinned import REF_PATTERN, PinnedFile, copy_sha256, pinned_file
from .backbone_base import Backbone, BackboneError, register_backbone
from .clip_tower import CLIP_MEAN, CLIP_STD, TowerError, load_tower

DEFAULT_TOWER = "geoclip/clip-vit-large-patch14"
WEIGHTS_SUFFIX = ".safetensors"
CONFIG_NAME = "config.json"


@dataclass(frozen=True)
class TowerFiles:
    """A tower's weights file (its SHA-256 checked), its config.json when there."""

    weights: Path
    config: Optional[Path]
    sha256: str
    pin: PinnedFile


def find_tower(tower: str = DEFAULT_TOWER, sha256: Optional[str] = None,
               weights: Optional[str] = None) -> TowerFiles:
    """The tower's files, their SHA-256 checked against ``sha256`` (else the catalog's
    pin); a BackboneError of one line says what is missing or different and what to do."""
    try:
        pin = pinned_file(tower, WEIGHTS_SUFFIX)
    except CatalogError as exc:
        raise BackboneError(f"clip-vit-l14 tower {tower!r}: {exc}") from exc
    expected = sha256 or pin.sha256
    path = Path(weights).expanduser() if weights else pin.store_path()
    if path.is_dir():
        path = path / pin.name
    if not path.is_file():
        where = f"{path} is missing" if weights else f"it is not installed ({path} is missing)"
        raise BackboneError(f"the CLIP tower {tower} with SHA-256 {expected} is needed but "
                            f"{where}: run '{pin.get_command}' to download it")
    try:
        got = copy_sha256(path, pin)
    except OSError as exc:
        raise BackboneError(f"the CLIP tower {path} cannot be read ({exc})") from exc
    if got != expected:
        raise BackboneError(_mismatch(path, tower, got, expected, pin))
    config = path.with_name(CONFIG_NAME)
    return TowerFiles(path, config if config.is_file() else None, got, pin)


def _mismatch(path: Path, tower: str, got: str, expected: str, pin: PinnedFile) -> str:
    if expected == pin.sha256:
        fix = f"run '{pin.get_command}' to install the pinned one"
    else:
        fix = (f"this plugin's catalog pins {pin.sha256} instead: the model was made for "
               "another tower, use the plugin version that made it")
    return (f"the CLIP tower {path} has SHA-256 {got}, not {expected} ({tower}), the tower "
            f"the GeoDecoder's tokens must come from; {fix}")


@register_backbone("clip-vit-l14")
class ClipTowerBackbone(Backbone):
    """CLIP ViT-L/14's last-block tokens (CLS + patches), CLIP's normalisation; the
    tower comes from the models store, frozen, and never goes into a bundle."""

    mean, std = CLIP_MEAN, CLIP_STD
    weights_from_package = True  # from the models store: a bundle names them, never carries
    finetunable = False
    text_options = {"tower": REF_PATTERN, "sha256": "[0-9a-f]{64}"}

    def __init__(self, pretrained: bool = True, tower: str = DEFAULT_TOWER,
                 sha256: Optional[str] = None, weights: Optional[str] = None):
        super().__init__()
        if not pretrained:
            raise BackboneError("the clip-vit-l14 backbone is read from the models store, "
                                "never from a bundle (backbone_in_bundle must be false)")
        found = find_tower(tower, sha256, weights)
        try:
            self.tower = load_tower(found.weights, found.config, head=False)
        except TowerError as exc:
            raise BackboneError(str(exc)) from exc
        self.tower.requires_grad_(False)
        config = self.tower.config
        self.channels = config.hidden_size
        self.patch = config.patch_size
        self.native_size = config.image_size  # 224 for ViT-L/14: the size it was trained at
        self.tower_ref, self.sha256 = tower, found.sha256
        self.pretrained_source = f"{tower} sha256:{found.sha256}"

    def tokens(self, images: torch.Tensor):
        x = self.tower.hidden_states(self.normalize(images))
        return x, (images.shape[-2] // self.patch, images.shape[-1] // self.patch)

    def bundle_options(self, options: dict) -> dict:
        """The tower by catalog reference and SHA-256, never by path (and not the
        path's options: the tower is the same bytes wherever it was read)."""
        return {"tower": self.tower_ref, "sha256": self.sha256}
