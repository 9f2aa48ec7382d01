"""What every backbone is: the ``Backbone`` interface, its error, and the registry by name.

Apart from the families (backbones.py, clip_backbone.py) so that a family in a module of
its own registers itself without an import cycle; ``backbones`` re-exports all of it and
imports every family, so importing it is what fills the registry.
"""

from __future__ import annotations

from typing import Callable, ClassVar, Dict, Tuple

import torch
from torch import nn

BACKBONES: Dict[str, Callable[..., Backbone]] = {}


class BackboneError(RuntimeError):
    """A backbone that cannot be built or whose weights do not fit."""


def register_backbone(name: str):
    def deco(factory):
        BACKBONES[name] = factory
        return factory
    return deco


def build_backbone(name: str, pretrained: bool = True, **options) -> Backbone:
    if name not in BACKBONES:
        raise BackboneError(f"unknown backbone {name!r}; known: {', '.join(sorted(BACKBONES))}")
    return BACKBONES[name](pretrained=pretrained, **options)


class Backbone(nn.Module):
    """Base: subclasses set ``channels``, ``mean``, ``std`` and implement ``tokens``."""

    channels: int
    mean: Tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: Tuple[float, float, float] = (0.229, 0.224, 0.225)
    pretrained_source: str = "random"
    # True when the weights come from an installed package: a bundle then need not carry them
    weights_from_package: bool = False
    # False when a bundle never carries the weights (the CLIP tower: a bundle names it by
    # SHA-256), so the backbone cannot be fine-tuned: a trained copy would have nowhere to go
    finetunable: bool = True
    # options that are text, not numbers, and the pattern each must match in a bundle
    text_options: ClassVar[Dict[str, str]] = {}

    def tokens(self, images: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """(B, T, C) tokens and the (rows, cols) grid of the spatial ones (the last rows*cols)."""
        raise NotImplementedError

    def bundle_options(self, options: dict) -> dict:
        """The ``backbone_options`` a bundle's config records for this backbone, built
        with ``options``: by default the options themselves (a weights path is dropped
        when the bundle carries the weights, see bundle.save_bundle)."""
        return dict(options)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.tokens(images)[0]

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """images: float in [0, 1], (B, 3, H, W)."""
        mean = torch.tensor(self.mean, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
        return (images - mean) / std
