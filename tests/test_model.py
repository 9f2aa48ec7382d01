"""The network: decoders, scene routing, the hierarchical product, backbones."""

from __future__ import annotations

import itertools

import pytest
import torch

from inference.modeling.backbones import (BackboneError, EfficientNetLite0, VisionTransformer,
                                 build_backbone, load_state_file)
from inference.modeling.model import (DecoderLayer, GeoDecoder, ModelConfig, hierarchical_log_probs,
                             sincos_2d)
from tests.conftest import TINY_MODEL


def test_hierarchical_product_equals_brute_force(tiny_cells):
    torch.manual_seed(0)
    logits = [torch.randn(3, n) for n in tiny_cells.sizes]
    parents = torch.as_tensor(tiny_cells.parents)
    fast = hierarchical_log_probs(logits, parents).exp()
    probs = [torch.softmax(lg, dim=1) for lg in logits]
    for b, c in itertools.product(range(3), range(len(tiny_cells.levels[-1].cells))):
        expected = 1.0
        for h in range(tiny_cells.num_levels):
            expected *= float(probs[h][b, tiny_cells.parents[c, h]])
        assert float(fast[b, c]) == pytest.approx(expected, rel=1e-5)


def _layer_outputs(layer, q, memory):
    with torch.no_grad():
        return layer(q, memory)[0]


@pytest.mark.parametrize("scenes,hierarchies", [(3, 4), (5, 2)])
def test_hdd_hierarchies_do_not_influence_each_other(scenes, hierarchies):
    torch.manual_seed(1)
    d = 16
    layer = DecoderLayer(d, 2, 32, 0.0, hierarchies=hierarchies).eval()
    q = torch.randn(2, scenes * hierarchies, d)
    memory = torch.randn(2, 9, d)
    base = _layer_outputs(layer, q, memory)
    target = 1
    idx = [s * hierarchies + target for s in range(scenes)]  # scene-major order
    q2 = q.clone()
    q2[:, idx] += torch.randn(2, scenes, d)
    out = _layer_outputs(layer, q2, memory)
    others = [k for k in range(scenes * hierarchies) if k not in idx]
    assert torch.allclose(out[:, others], base[:, others], atol=1e-6, rtol=0)
    assert not torch.allclose(out[:, idx], base[:, idx], atol=1e-3)


def test_hid_layers_do_mix_hierarchies():
    """The control for the test above: without the mask, a perturbation spreads."""
    torch.manual_seed(1)
    layer = DecoderLayer(16, 2, 32, 0.0).eval()
    q = torch.randn(1, 6, 16)
    memory = torch.randn(1, 9, 16)
    q2 = q.clone()
    q2[:, 1] += torch.randn(16)  # not a constant: LayerNorm would remove that
    assert not torch.allclose(_layer_outputs(layer, q, memory)[:, 0],
                              _layer_outputs(layer, q2, memory)[:, 0], atol=1e-4)


def test_hdd_ffn_is_separate_per_hierarchy():
    """Changing hierarchy 1's FFN weights changes the outputs of hierarchy 1's queries only."""
    torch.manual_seed(2)
    layer = DecoderLayer(16, 2, 32, 0.0, hierarchies=3).eval()
    q, memory = torch.randn(2, 4 * 3, 16), torch.randn(2, 9, 16)
    base = _layer_outputs(layer, q, memory)
    with torch.no_grad():
        layer.w1[1] += torch.randn(16, 32)
    out = _layer_outputs(layer, q, memory)
    mine = [s * 3 + 1 for s in range(4)]  # scene-major: hierarchy 1 of every scene
    others = [k for k in range(12) if k not in mine]
    assert torch.allclose(out[:, others], base[:, others], atol=1e-6, rtol=0)
    assert not torch.allclose(out[:, mine], base[:, mine], atol=1e-3)


def _tiny_model(levels=(4, 8, 12)):
    cfg = ModelConfig(level_sizes=list(levels), **TINY_MODEL)
    torch.manual_seed(0)
    return GeoDecoder(cfg, pretrained_backbone=False).eval()


def _memory(model, tokens):
    """What the decoder attends to: projected tokens plus their 7x7 positions."""
    return model.project(tokens) + sincos_2d(7, 7, model.config.width)


def test_scene_is_the_most_confident_and_its_queries_are_classified():
    model = _tiny_model()
    tokens = torch.randn(4, 49, 1280)
    with torch.no_grad():
        out = model.decode(tokens, need_attention=True)
        memory = _memory(model, tokens)
        q = model.queries.unsqueeze(0).expand(4, -1, -1)
        for layer in list(model.hid) + list(model.hdd):
            q = layer(q, memory)[0]
        o = model.norm(q).view(4, model.config.scenes, model.config.hierarchies, -1)
    conf = o[..., 0].mean(dim=2)
    assert torch.allclose(out.scene_logits, conf)
    assert torch.equal(out.scene, conf.argmax(dim=1))
    for b in range(4):
        for h, head in enumerate(model.heads):
            assert torch.allclose(out.level_logits[h][b], head(o[b, out.scene[b], h]), atol=1e-5)
    assert out.attention.shape == (4, 3, 49)
    assert torch.allclose(out.attention.sum(-1), torch.ones(4, 3), atol=1e-5)


def test_routing_by_label_classifies_the_given_scenes_queries():
    model = _tiny_model()
    tokens = torch.randn(2, 49, 1280)
    route = torch.tensor([2, 0])
    with torch.no_grad():
        routed = model.decode(tokens, route_scene=route)
        free = model.decode(tokens)
        memory = _memory(model, tokens)
        q = model.queries.unsqueeze(0).expand(2, -1, -1)
        for layer in list(model.hid) + list(model.hdd):
            q = layer(q, memory)[0]
        o = model.norm(q).view(2, model.config.scenes, model.config.hierarchies, -1)
    assert routed.scene.tolist() == [2, 0]
    assert torch.equal(routed.scene_logits, free.scene_logits)  # routing changes no confidence
    for b in range(2):
        for h, head in enumerate(model.heads):
            assert torch.allclose(routed.level_logits[h][b], head(o[b, route[b], h]), atol=1e-5)


def test_imagenet_weights_load_strictly():
    backbone = EfficientNetLite0(pretrained=True)
    state = load_state_file(EfficientNetLite0.package_weights())
    own = set(backbone.net.state_dict())
    ship = {k for k in state if not k.startswith("_fc.")}
    assert own == ship, (own ^ ship)
    name = next(k for k in ship if "_conv_stem" in k)
    assert torch.equal(backbone.net.state_dict()[name], state[name])
    tokens, grid = backbone.tokens(torch.rand(1, 3, 224, 224))
    assert tokens.shape == (1, 49, 1280) and grid == (7, 7)


def _tiny_vit(**kw):
    return VisionTransformer(pretrained=False, image_size=32, patch=8, dim=24, depth=2, heads=2,
                             **kw)


def test_vit_loads_timm_style_weights_from_safetensors_and_pt(tmp_path):
    from safetensors.torch import save_file
    torch.manual_seed(0)
    src = _tiny_vit()
    state = {k: v.contiguous() for k, v in src.state_dict().items()}
    state["head.weight"] = torch.zeros(10, 24)  # a classifier head is ignored
    save_file(state, str(tmp_path / "vit.safetensors"))
    torch.save(state, tmp_path / "vit.pth")
    x = torch.rand(2, 3, 32, 32)
    for name in ("vit.safetensors", "vit.pth"):
        vit = build_backbone("vit", weights=str(tmp_path / name), image_size=32, patch=8,
                             dim=24, depth=2, heads=2)
        assert torch.allclose(vit.tokens(x)[0], src.tokens(x)[0])
        assert vit.pretrained_source == name
    assert src.tokens(torch.rand(1, 3, 48, 48))[1] == (6, 6)  # other sizes interpolate


def test_vit_refuses_wrong_shapes_and_pickled_code(tmp_path):
    from safetensors.torch import save_file
    state = {k: v.contiguous() for k, v in _tiny_vit().state_dict().items()}
    state["pos_embed"] = torch.zeros(1, 3, 24)
    save_file(state, str(tmp_path / "bad.safetensors"))
    with pytest.raises((BackboneError, RuntimeError)):
        build_backbone("vit", weights=str(tmp_path / "bad.safetensors"), image_size=32, patch=8,
                       dim=24, depth=2, heads=2)
    torch.save({"model": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(BackboneError, match="not a plain tensor checkpoint"):
        load_state_file(tmp_path / "evil.pt")
    with pytest.raises(BackboneError, match="needs a local weights file"):
        build_backbone("vit", pretrained=True)
    with pytest.raises(BackboneError, match="unknown backbone"):
        build_backbone("resnet9000")


class _Evil:
    """Pickling this object would run code on load with weights_only=False."""

    def __reduce__(self):
        return (print, ("this must never run",))


def test_token_positions_reach_the_output():
    """Shuffling the spatial tokens must change the answer: the decoder knows where a token
    sits (without positions, cross-attention is blind to order and the logits were equal)."""
    model = _tiny_model()
    torch.manual_seed(3)
    tokens = torch.randn(2, 49, 1280)
    perm = torch.randperm(49)
    with torch.no_grad():
        base = model.decode(tokens)
        shuffled = model.decode(tokens[:, perm])
    for a, b in zip(base.level_logits, shuffled.level_logits):
        assert not torch.allclose(a, b, atol=1e-4)
    # the control: the same model with positions switched off is order-blind
    model.config.positions = "none"
    with torch.no_grad():
        plain = model.decode(tokens)
        plain_shuffled = model.decode(tokens[:, perm])
    for a, b in zip(plain.level_logits, plain_shuffled.level_logits):
        assert torch.allclose(a, b, atol=1e-5)


def test_positions_follow_the_real_grid_and_skip_a_cls_token():
    pos = sincos_2d(3, 5, 16)
    assert pos.shape == (15, 16)
    # rows share the row half, columns share the column half
    assert torch.equal(pos[0, :8], pos[4, :8]) and not torch.equal(pos[0, 8:], pos[4, 8:])
    assert torch.equal(pos[0, 8:], pos[5, 8:]) and not torch.equal(pos[0, :8], pos[5, :8])
    model = _tiny_model()
    tokens = torch.randn(1, 1 + 15, 1280)  # a CLS token, then a 3x5 grid
    with torch.no_grad():
        out = model.decode(tokens, grid=(3, 5), need_attention=True)
        wide = model.decode(tokens[:, 1:], grid=(5, 3))
    assert out.grid == (3, 5) and wide.grid == (5, 3)
    assert out.attention.shape[-1] == 16
    with pytest.raises(ValueError, match="square grid"):
        model.decode(torch.randn(1, 15, 1280))


def test_bundles_from_before_positions_keep_their_behaviour():
    cfg = ModelConfig(level_sizes=[4, 8], **TINY_MODEL)
    doc = cfg.to_json()
    assert ModelConfig.from_json(doc).positions == "sincos2d"
    del doc["positions"]  # a config.json written before positions existed
    assert ModelConfig.from_json(doc).positions == "none"
