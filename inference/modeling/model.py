"""The GeoDecoder network (CVPR 2023): hierarchy x scene queries decoding backbone tokens.

S*H learned queries, scene-major (token k = s*H + h).  N hierarchy-independent layers
(self-attention over all queries), then E hierarchy-dependent layers whose self-attention
only sees the queries of the same hierarchy and whose FFN is separate per hierarchy.
Channel 0 of each decoded query is a confidence; the scene whose queries are most
confident on average is chosen and its H queries go to the H classifiers (shared by all
scenes).  Probabilities are multiplied down the hierarchy to the finest cells.

Decisions where the paper is silent (see the model card): DETR order inside a layer
(self-attention, cross-attention, FFN) with pre-LayerNorm; cross-attention shared across
hierarchies in the HDD; channel 0 stays in the classifier input, as in the authors' code.

Token positions: the paper's ViT tokens carry position, a CNN's feature map does not, and
attention is blind to order, so without help the decoder would treat a photo's sky and its
street alike.  A fixed 2-D sine-cosine encoding of each spatial token's (row, column) is
added to the projected tokens (half the channels for rows, half for columns, MAE/DETR
style); extra leading tokens (a ViT's CLS) get none.  Fixed rather than learned because it
needs no training data (we have little) and fits any grid, so a non-square photo or another
input size gets right positions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import List, Optional, Sequence, Tuple

import math

import torch
from torch import nn

from .backbones import Backbone, build_backbone


@dataclass
class ModelConfig:
    level_sizes: List[int]  # number of cells per hierarchy, coarse to fine
    backbone: str = "efficientnet_lite0"
    backbone_options: dict = field(default_factory=dict)
    image_size: int = 224
    width: int = 256
    scenes: int = 16
    hid_layers: int = 4
    hdd_layers: int = 2
    heads: int = 8
    ffn: int = 1024
    dropout: float = 0.1
    # "sincos2d": fixed 2-D positions added to the spatial tokens; "none": bundles made
    # before positions existed (their config has no such key), read as they were trained
    positions: str = "sincos2d"

    @property
    def hierarchies(self) -> int:
        return len(self.level_sizes)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict, where: str = "") -> ModelConfig:
        """The config of a bundle's ``model`` section, checked before any tensor exists.

        A value out of range would otherwise surface far from its cause (an image size of
        0 reads as every photo "truncated or corrupt", a width of 1e9 as "not enough
        memory"), so each one is refused here with its key, its range and what it was.
        The ranges are wide: every model this project can train lies well inside them.
        ``where`` prefixes the keys in messages ("model." for a bundle's section)."""
        section = where.rstrip(".") or "model config"
        if not isinstance(doc, dict):
            raise ValueError(f"{section} must be an object {{...}}, got {_shown(doc)}")
        known = set(cls.__dataclass_fields__)
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown {section} keys {sorted(unknown)}")
        if "level_sizes" not in doc:
            raise ValueError(f"{where}level_sizes is missing")
        doc = {"positions": "none", **doc}
        if doc["positions"] not in ("none", "sincos2d"):
            raise ValueError(f"{where}positions: unknown token positions "
                             f"{_shown(doc['positions'])}")
        sizes = doc["level_sizes"]
        if (not isinstance(sizes, list) or not 1 <= len(sizes) <= MAX_LEVELS
                or not all(_is_int(n) and 1 <= n <= MAX_CELLS for n in sizes)):
            raise ValueError(f"{where}level_sizes must be a list of 1 to {MAX_LEVELS} whole "
                             f"numbers from 1 to {MAX_CELLS:,}, got {_shown(sizes)}")
        for key, (lo, hi) in INT_RANGES.items():
            if key in doc and not (_is_int(doc[key]) and lo <= doc[key] <= hi):
                raise ValueError(f"{where}{key} must be a whole number from {lo} to {hi:,}, "
                                 f"got {_shown(doc[key])}")
        if "dropout" in doc and not (_is_number(doc["dropout"]) and 0 <= doc["dropout"] < 1):
            raise ValueError(f"{where}dropout must be a number from 0 to below 1, "
                             f"got {_shown(doc['dropout'])}")
        width, heads = doc.get("width", cls.width), doc.get("heads", cls.heads)
        if width % heads:
            raise ValueError(f"{where}width {width} is not divisible by heads {heads}")
        if doc["positions"] == "sincos2d" and width % 4:
            raise ValueError(f"{where}width {width} must be divisible by 4 for sincos2d "
                             "positions")
        if doc.get("hid_layers", cls.hid_layers) + doc.get("hdd_layers", cls.hdd_layers) < 1:
            raise ValueError(f"{where}hid_layers + {where}hdd_layers must be at least 1")
        _check_backbone(doc.get("backbone", cls.backbone), doc.get("backbone_options", {}),
                        where)
        return cls(**doc)


MAX_LEVELS, MAX_CELLS = 16, 10_000_000
INT_RANGES = {  # key: (lowest, highest) a bundle may hold
    "image_size": (32, 2048), "width": (4, 8192), "scenes": (1, 4096),
    "hid_layers": (0, 64), "hdd_layers": (0, 64), "heads": (1, 256), "ffn": (1, 65536),
}
MAX_OPTION = 65536  # any whole-number backbone option (ViT dim, depth, patch, image_size)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


def _shown(v) -> str:
    """A value as its JSON text, cut short: "hot" with its quotes, NaN, [1, 2]."""
    import json

    try:
        text = json.dumps(v)
    except (TypeError, ValueError, RecursionError):
        text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_backbone(name, options, where: str = "") -> None:
    """A registered backbone and options its constructor takes, as plain numbers, or as
    text where the backbone declares the option text (``text_options``: the pattern the
    whole text must match, e.g. the CLIP tower's catalog reference and SHA-256).

    ``weights`` (a file path) is refused: a bundle carries a non-packaged backbone's
    weights inside itself (``backbone_in_bundle``) and never reads a file outside."""
    import inspect
    import re

    from .backbones import BACKBONES

    if not isinstance(name, str) or name not in BACKBONES:
        raise ValueError(f"{where}backbone: unknown backbone {_shown(name)}; known: "
                         f"{', '.join(sorted(BACKBONES))}")
    if not isinstance(options, dict):
        raise ValueError(f"{where}backbone_options must be an object {{...}}, "
                         f"got {_shown(options)}")
    takes = set(inspect.signature(BACKBONES[name]).parameters) - {"self", "pretrained"}
    for key, value in options.items():
        if key == "weights":
            raise ValueError(f"{where}backbone_options.weights names a file outside the bundle; a "
                             "bundle carries such a backbone inside itself")
        if key not in takes:
            raise ValueError(f"{where}backbone_options: backbone {name} has no option "
                             f"{_shown(key)}")
        pattern = getattr(BACKBONES[name], "text_options", {}).get(key)
        if pattern is not None:
            if not (isinstance(value, str) and re.fullmatch(pattern, value)):
                raise ValueError(f"{where}backbone_options.{key} must be text matching "
                                 f"{pattern}, got {_shown(value)}")
            continue
        numbers = value if isinstance(value, list) and 0 < len(value) <= 8 else [value]
        if not all(_is_number(x) and -MAX_OPTION <= x <= MAX_OPTION for x in numbers):
            raise ValueError(f"{where}backbone_options.{key} must be a number (or a short list of "
                             f"numbers) within +-{MAX_OPTION}, got {_shown(value)}")


class DecoderLayer(nn.Module):
    """Pre-LN DETR layer. With ``hierarchies`` set it is an HDD layer: self-attention
    masked to the same hierarchy and one FFN per hierarchy."""

    def __init__(self, width: int, heads: int, ffn: int, dropout: float,
                 hierarchies: Optional[int] = None):
        super().__init__()
        self.hierarchies = hierarchies
        self.norm_self = nn.LayerNorm(width)
        self.self_attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.norm_cross = nn.LayerNorm(width)
        self.cross_attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.norm_ffn = nn.LayerNorm(width)
        n_ffn = hierarchies or 1
        self.w1 = nn.Parameter(torch.empty(n_ffn, width, ffn))
        self.b1 = nn.Parameter(torch.zeros(n_ffn, ffn))
        self.w2 = nn.Parameter(torch.empty(n_ffn, ffn, width))
        self.b2 = nn.Parameter(torch.zeros(n_ffn, width))
        for w in (self.w1, self.w2):
            for i in range(n_ffn):
                nn.init.xavier_uniform_(w.data[i])
        self.drop = nn.Dropout(dropout)
        self.act = nn.GELU()

    def forward(self, q: torch.Tensor, memory: torch.Tensor, need_attention: bool = False):
        b, k, d = q.shape
        h = self.norm_self(q)
        if self.hierarchies:
            hh = self.hierarchies
            # (B, S*H, D) scene-major -> (B*H, S, D): each hierarchy attends only to itself
            hs = h.view(b, k // hh, hh, d).transpose(1, 2).reshape(b * hh, k // hh, d)
            hs = self.self_attn(hs, hs, hs, need_weights=False)[0]
            h = hs.view(b, hh, k // hh, d).transpose(1, 2).reshape(b, k, d)
        else:
            h = self.self_attn(h, h, h, need_weights=False)[0]
        q = q + self.drop(h)
        h = self.norm_cross(q)
        h, attn = self.cross_attn(h, memory, memory, need_weights=need_attention,
                                  average_attn_weights=True)
        q = q + self.drop(h)
        h = self.norm_ffn(q)
        if self.hierarchies:
            hh = self.hierarchies
            hv = h.view(b, k // hh, hh, d)
            y = torch.einsum("bshd,hdf->bshf", hv, self.w1) + self.b1
            y = torch.einsum("bshf,hfd->bshd", self.drop(self.act(y)), self.w2) + self.b2
            y = y.reshape(b, k, d)
        else:
            y = self.act(h @ self.w1[0] + self.b1[0])
            y = self.drop(y) @ self.w2[0] + self.b2[0]
        return q + self.drop(y), attn


@dataclass
class DecoderOutput:
    level_logits: List[torch.Tensor]  # per hierarchy (B, C_h), for the routed scene
    scene_logits: torch.Tensor  # (B, S): mean channel-0 confidence of each scene's queries
    scene: torch.Tensor  # (B,) the scene whose queries were classified
    attention: Optional[torch.Tensor] = None  # (B, H, T) last-layer cross-attention, that scene
    grid: Tuple[int, int] = (0, 0)  # (rows, cols) of the spatial tokens (the last rows*cols)


def square_grid(tokens: int) -> Tuple[int, int]:
    """The grid of ``tokens`` from a square crop: all spatial, or one leading CLS token."""
    for extra in (0, 1):
        side = math.isqrt(tokens - extra)
        if side * side == tokens - extra and side > 0:
            return side, side
    raise ValueError(f"{tokens} tokens are no square grid (with or without a CLS token): "
                     "pass the backbone's grid")


def sincos_2d(rows: int, cols: int, dim: int, device=None) -> torch.Tensor:
    """(rows*cols, dim) fixed positions, row-major: dim/2 channels encode the row, dim/2 the
    column, each as sin/cos pairs at geometric frequencies (1 .. 1/10000)."""
    if dim % 4:
        raise ValueError(f"positional encoding needs a width divisible by 4, got {dim}")
    quarter = dim // 4
    freq = 1.0 / (10000.0 ** (torch.arange(quarter, dtype=torch.float32, device=device)
                              / quarter))
    r = torch.arange(rows, dtype=torch.float32, device=device)[:, None] * freq  # (rows, q)
    c = torch.arange(cols, dtype=torch.float32, device=device)[:, None] * freq  # (cols, q)
    row_part = torch.cat([r.sin(), r.cos()], dim=1)[:, None, :].expand(rows, cols, 2 * quarter)
    col_part = torch.cat([c.sin(), c.cos()], dim=1)[None, :, :].expand(rows, cols, 2 * quarter)
    return torch.cat([row_part, col_part], dim=2).reshape(rows * cols, dim)


class GeoDecoder(nn.Module):
    def __init__(self, config: ModelConfig, backbone: Optional[Backbone] = None,
                 pretrained_backbone: bool = True):
        super().__init__()
        self.config = config
        options = dict(config.backbone_options)
        if not pretrained_backbone:  # weights come from the bundle, not from a file
            options.pop("weights", None)
        self.backbone = backbone if backbone is not None else build_backbone(
            config.backbone, pretrained=pretrained_backbone, **options)
        d, s, hh = config.width, config.scenes, config.hierarchies
        self.project = nn.Sequential(nn.Linear(self.backbone.channels, d), nn.LayerNorm(d))
        self.queries = nn.Parameter(torch.rand(s * hh, d) * 0.02)  # random init, as in the paper
        self.hid = nn.ModuleList(DecoderLayer(d, config.heads, config.ffn, config.dropout)
                                 for _ in range(config.hid_layers))
        self.hdd = nn.ModuleList(DecoderLayer(d, config.heads, config.ffn, config.dropout, hh)
                                 for _ in range(config.hdd_layers))
        self.norm = nn.LayerNorm(d)
        self.heads = nn.ModuleList(nn.Linear(d, n) for n in config.level_sizes)

    def forward(self, images: torch.Tensor, route_scene: Optional[torch.Tensor] = None,
                need_attention: bool = False) -> DecoderOutput:
        tokens, grid = self.backbone.tokens(images)
        return self.decode(tokens, route_scene, need_attention, grid)

    def decode(self, tokens: torch.Tensor, route_scene: Optional[torch.Tensor] = None,
               need_attention: bool = False,
               grid: Optional[Tuple[int, int]] = None) -> DecoderOutput:
        """From backbone tokens (B, T, C): the part that trains on cached features.

        ``grid`` is the (rows, cols) of the spatial tokens, which are the last rows*cols;
        None means a square crop (what the feature cache holds)."""
        rows, cols = grid if grid is not None else square_grid(tokens.shape[1])
        memory = self.project(tokens)
        extra = memory.shape[1] - rows * cols
        if extra < 0:
            raise ValueError(f"{memory.shape[1]} tokens cannot hold a {rows}x{cols} grid")
        if self.config.positions == "sincos2d":
            pos = sincos_2d(rows, cols, memory.shape[-1], memory.device).to(memory.dtype)
            memory = torch.cat([memory[:, :extra], memory[:, extra:] + pos], dim=1)
        b = memory.shape[0]
        s, hh = self.config.scenes, self.config.hierarchies
        q = self.queries.unsqueeze(0).expand(b, -1, -1)
        layers = list(self.hid) + list(self.hdd)
        attn = None
        for i, layer in enumerate(layers):
            q, attn = layer(q, memory, need_attention and i == len(layers) - 1)
        out = self.norm(q).view(b, s, hh, -1)
        scene_logits = out[..., 0].mean(dim=2)
        scene = scene_logits.argmax(dim=1) if route_scene is None else route_scene
        chosen = out[torch.arange(b, device=out.device), scene]  # (B, H, D)
        logits = [head(chosen[:, h]) for h, head in enumerate(self.heads)]
        attention = None
        if attn is not None:
            idx = (scene[:, None] * hh + torch.arange(hh, device=out.device)[None, :])
            attention = attn.gather(1, idx[..., None].expand(-1, -1, attn.shape[-1]))
        return DecoderOutput(logits, scene_logits, scene, attention, (rows, cols))


def hierarchical_log_probs(level_logits: Sequence[torch.Tensor],
                           parents: torch.Tensor) -> torch.Tensor:
    """log p(c) = sum_h log softmax_h(parent_h(c)) over the finest cells c, (B, C_finest).

    ``parents`` (C_finest, H) holds each finest cell's class index in every level (its own
    index in the last column).
    """
    total = None
    for h, logits in enumerate(level_logits):
        lp = torch.log_softmax(logits.float(), dim=-1).index_select(1, parents[:, h])
        total = lp if total is None else total + lp
    return total
