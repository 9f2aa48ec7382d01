"""CLIP's vision tower (ViT) and its projection, loaded from a Hugging Face checkpoint.

Why not ``transformers``: GeoCLIP needs only the image side of CLIP, a plain pre-norm
ViT whose 24 blocks are a few lines of torch; ``transformers`` 4.57 brings tokenizers,
regex, huggingface_hub and hf-xet (5.x also pydantic, httpx, typer, ...) into QGIS's
Python and takes seconds to import.  The parameter names are Hugging Face's
(``vision_model.*``, ``visual_projection.weight``), so the published checkpoint loads
as it is, strictly, memory-mapped with safetensors (never pickle), and only the tensors
of the vision tower are read (the text tower, a quarter of the file, stays on disk).
tests/test_geoclip.py checks the features against ``transformers``' CLIPModel on a
small random tower saved by ``save_pretrained``, through this very loading code.

The forward pass follows ``CLIPVisionTransformer``: patch embedding (no bias) + class
token + learned positions, ``pre_layrnorm``, pre-norm blocks (attention, quick-GELU
MLP), ``post_layernorm`` on the class token, then ``visual_projection`` (no bias).

Two users: GeoCLIP (``inference/geoclip``) takes the projected class token; the
GeoDecoder's ``clip-vit-l14`` backbone (clip_backbone.py) takes every token of the last
block (``hidden_states``) and builds the tower without its head (``head=False``), so
the post-norm and projection it never uses are neither read nor trained.  It lives in
``modeling`` (below ``geoclip`` in the engine's layers) for that second user.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

PREFIX = "vision_model."
PROJECTION = "visual_projection.weight"
# CLIP's pixel normalisation (CLIPImageProcessor's defaults), for every user of the tower
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class TowerError(RuntimeError):
    """A checkpoint that is not the CLIP vision tower it claims to be."""


@dataclass(frozen=True)
class VisionConfig:
    """CLIP ViT-L/14 (openai/clip-vit-large-patch14), the tower GeoCLIP was trained on."""

    hidden_size: int = 1024
    num_hidden_layers: int = 24
    num_attention_heads: int = 16
    intermediate_size: int = 4096
    patch_size: int = 14
    image_size: int = 224
    projection_dim: int = 768
    layer_norm_eps: float = 1e-5
    hidden_act: str = "quick_gelu"

    @classmethod
    def from_folder(cls, config_json: Optional[Path]) -> VisionConfig:
        """The fixed ViT-L/14 values, overridden by the tower's config.json when there
        (Hugging Face's CLIPModel layout: ``vision_config`` and a top-level
        ``projection_dim``), so a test's small tower goes through the same code."""
        cfg = cls()
        if config_json is None:
            return cfg
        doc = json.loads(Path(config_json).read_text(encoding="utf-8"))
        vision = dict(doc.get("vision_config") or {})
        if "projection_dim" in doc:
            vision["projection_dim"] = doc["projection_dim"]
        known = {f.name for f in fields(cls)}
        cfg = replace(cfg, **{k: v for k, v in vision.items() if k in known})
        if cfg.hidden_act not in ("quick_gelu", "gelu"):
            raise TowerError(f"{config_json}: activation {cfg.hidden_act!r} is not CLIP's")
        return cfg


class _Block(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        d = c.hidden_size
        self.heads = c.num_attention_heads
        self.layer_norm1 = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.layer_norm2 = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.self_attn = nn.Module()
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            self.self_attn.add_module(name, nn.Linear(d, d))
        self.mlp = nn.Module()
        self.mlp.add_module("fc1", nn.Linear(d, c.intermediate_size))
        self.mlp.add_module("fc2", nn.Linear(c.intermediate_size, d))
        self.quick = c.hidden_act == "quick_gelu"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        a = self.self_attn
        h = self.layer_norm1(x)
        q, k, v = (p(h).view(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for p in (a.q_proj, a.k_proj, a.v_proj))
        h = F.scaled_dot_product_attention(q, k, v)  # scale 1/sqrt(head dim), as CLIP
        x = x + a.out_proj(h.transpose(1, 2).reshape(b, t, d))
        h = self.mlp.fc1(self.layer_norm2(x))
        h = h * torch.sigmoid(1.702 * h) if self.quick else F.gelu(h)
        return x + self.mlp.fc2(h)


class ClipVisionTower(nn.Module):
    """(B, 3, S, S) CLIP-normalised pixels -> (B, projection_dim) projected features
    (what ``CLIPModel.get_image_features`` returns).  ``head=False`` builds the tower
    without ``post_layernorm`` and ``visual_projection``: only ``hidden_states`` works."""

    def __init__(self, c: VisionConfig = VisionConfig(), head: bool = True):
        super().__init__()
        self.config = c
        d = c.hidden_size
        vm = nn.Module()
        emb = nn.Module()
        emb.class_embedding = nn.Parameter(torch.zeros(d))
        emb.add_module("patch_embedding", nn.Conv2d(3, d, c.patch_size, c.patch_size,
                                                    bias=False))
        n_pos = (c.image_size // c.patch_size) ** 2 + 1
        emb.add_module("position_embedding", nn.Embedding(n_pos, d))
        vm.add_module("embeddings", emb)
        vm.add_module("pre_layrnorm", nn.LayerNorm(d, eps=c.layer_norm_eps))
        enc = nn.Module()
        enc.add_module("layers", nn.ModuleList(_Block(c) for _ in range(c.num_hidden_layers)))
        vm.add_module("encoder", enc)
        self.vision_model = vm
        self.head = head
        if head:
            vm.add_module("post_layernorm", nn.LayerNorm(d, eps=c.layer_norm_eps))
            self.visual_projection = nn.Linear(d, c.projection_dim, bias=False)

    def hidden_states(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, 1 + (S/patch)^2, hidden_size): the class token and the patch tokens (row
        by row) as the last block leaves them, before ``post_layernorm``: Hugging Face's
        ``last_hidden_state`` (= ``hidden_states[-1]``).  Another input size than the
        tower's gets its learned positions resized bicubically (as timm and Hugging
        Face's ``interpolate_pos_encoding`` do); at the tower's own size they are used
        as they are."""
        vm = self.vision_model
        emb = vm.embeddings
        x = emb.patch_embedding(pixels.to(emb.patch_embedding.weight.dtype))
        rows, cols = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        cls = emb.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + _positions(emb.position_embedding.weight, rows, cols)
        x = vm.pre_layrnorm(x)
        for block in vm.encoder.layers:
            x = block(x)
        return x

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if not self.head:
            raise TowerError("this tower was built without its head (head=False): "
                             "use hidden_states")
        x = self.hidden_states(pixels)
        return self.visual_projection(self.vision_model.post_layernorm(x[:, 0]))


def _positions(table: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """(1, 1 + rows*cols, D) positions: the class token's, then the patch grid's, the
    learned square grid resized when the input's grid is another."""
    if table.shape[0] == rows * cols + 1:
        return table[None]
    side = math.isqrt(table.shape[0] - 1)
    grid = table[1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(rows, cols), mode="bicubic", align_corners=False)
    return torch.cat([table[None, :1], grid.permute(0, 2, 3, 1).reshape(1, rows * cols, -1)], 1)


def load_tower(weights: Path, config_json: Optional[Path] = None,
               head: bool = True) -> ClipVisionTower:
    """The vision tower (and, with ``head``, its post-norm and projection) of a CLIP
    ``model.safetensors``, strictly: a missing or misshapen tensor is a TowerError naming
    it.  The module is built on the meta device and takes the tensors as they are read,
    so the weights are held once; tensors the tower does not have are never read."""
    from safetensors import safe_open

    cfg = VisionConfig.from_folder(config_json)
    with torch.device("meta"):
        tower = ClipVisionTower(cfg, head=head)
    wanted = tower.state_dict()
    state = {}
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as f:
            have = set(f.keys())
            for key, meta in wanted.items():
                if key not in have:
                    raise TowerError(f"{weights}: no tensor {key}: not a CLIP checkpoint "
                                     "in Hugging Face's format")
                t = f.get_tensor(key)
                if tuple(t.shape) != tuple(meta.shape):
                    raise TowerError(f"{weights}: {key} has shape {tuple(t.shape)}, the "
                                     f"tower's config says {tuple(meta.shape)}")
                state[key] = t.float()
    except (OSError, ValueError) as exc:  # safetensors' SafetensorError is an OSError
        raise TowerError(f"cannot read {weights}: {exc}") from exc
    tower.load_state_dict(state, strict=True, assign=True)
    return tower.eval()
