"""A GeoCLIP store for tests: a tiny random CLIP in the real on-disk format beside the
real GeoCLIP heads and gallery (from the ``geoclip`` wheel, installed without its heavy
dependencies, see requirements-dev-nodeps.txt).

The tower is a Hugging Face ``CLIPModel`` (small vision and text towers, projection
width 768 so GeoCLIP's image MLP takes its features) written by ``save_pretrained`` as
``model.safetensors`` + ``config.json``, with the processor files that
``AutoProcessor.from_pretrained`` needs (``geoclip.GeoCLIP(clip_path=...)`` loads it
that way): a preprocessor_config.json with CLIP's defaults and a tiny byte-level BPE
vocabulary.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

TINY_VISION = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, patch_size=32, image_size=224, projection_dim=768)
TINY_TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                 num_attention_heads=2, vocab_size=300, max_position_embeddings=77,
                 projection_dim=768, bos_token_id=0, eos_token_id=2, pad_token_id=1)


def heads_source() -> Path:
    """The ``geoclip`` package's model folder (weights/ and gps_gallery/), found without
    importing it (its import pulls in pandas and transformers)."""
    import importlib.util

    spec = importlib.util.find_spec("geoclip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the geoclip package is not installed: "
                           "pip install --no-deps -r requirements-dev-nodeps.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def _byte_chars():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_tiny_clip(folder: Path, seed: int = 0) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(seed)
    config = CLIPConfig(projection_dim=768, vision_config=dict(TINY_VISION),
                        text_config=dict(TINY_TEXT))
    model = CLIPModel(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "CLIPImageProcessor", "processor_class": "CLIPProcessor",
        "do_resize": True, "size": {"shortest_edge": 224}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": 224, "width": 224},
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "do_convert_rgb": True}))
    chars = _byte_chars()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 2, "!": 1}
    for ch in chars:
        for tok in (ch, ch + "</w>"):
            if tok not in vocab and len(vocab) < TINY_TEXT["vocab_size"]:
                vocab[tok] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "CLIPTokenizer", "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "model_max_length": 77}))
    return folder


def make_store(root: Path) -> Path:
    """``root`` laid out as files.py expects: the tiny tower, the real heads (linked)."""
    write_tiny_clip(root / "clip-vit-large-patch14")
    heads = root / "geoclip-1.3.0" / "geoclip" / "model"
    heads.mkdir(parents=True, exist_ok=True)
    src = heads_source()
    for sub in ("weights", "gps_gallery"):
        if not (heads / sub).exists():
            os.symlink(src / sub, heads / sub, target_is_directory=True)
    return root
