"""Where the geo loss sends its gradient: through the routed scene only.

The training step (``train_steps.compute_losses``) routes each photo's geo loss through
one scene: the scene the model predicts (default, as the authors' code) or, with
``route_by_label``, the scene label.  What is exactly true, and tested here:

1. Per photo, the geo loss reaches the decoded queries (the final norm's output) only in
   the H rows of that photo's routed scene (row = s*H + h).
2. The learned queries themselves are mixed before that point by self-attention (HID over
   all S*H queries, HDD over the S scenes of one hierarchy), so an unrouted scene's
   ``model.queries`` rows do receive geo-loss gradient through the keys and values of
   the routed ones.  With the self-attention silenced (output projection zero), the
   rows of ``model.queries.grad`` that are non-zero are exactly the routed scenes' rows.
"""

from __future__ import annotations

import pytest
import torch

from inference.modeling.backbones import Backbone
from inference.modeling.model import GeoDecoder, ModelConfig
from inference.training.train_steps import Step, compute_losses

S, LEVELS, B, T, C = 6, [3, 5, 7], 4, 9, 8
H = len(LEVELS)


class TokensIn(Backbone):
    """Stand-in backbone: the decoder trains on cached tokens, never calls it."""

    channels = C


def _model(seed=0, hid_layers=1, hdd_layers=1):
    torch.manual_seed(seed)
    config = ModelConfig(level_sizes=LEVELS, scenes=S, width=16, heads=2, ffn=32,
                         hid_layers=hid_layers, hdd_layers=hdd_layers, dropout=0.0)
    model = GeoDecoder(config, backbone=TokensIn())
    # louder cross-attention, so that the photos of one batch choose different scenes
    # (as after some training) and the routing has something to tell apart
    for layer in list(model.hid) + list(model.hdd):
        layer.cross_attn.out_proj.weight.data.mul_(5.0)
    return model.train()


def _batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, C, generator=g) * 3
    y = torch.stack([torch.randint(0, n, (B,), generator=g) for n in LEVELS], dim=1)
    return x, y


def _geo_backward(model, x, y, scene_y, route_by_label):
    """One training step's geo loss alone, backward; the decoded queries' gradient."""
    grads = {}

    def keep_grad(module, inputs, out):
        out.register_hook(lambda g: grads.setdefault("out", g))  # returns None: out unchanged

    hook = model.norm.register_forward_hook(keep_grad)
    model.zero_grad(set_to_none=True)
    geo, _scene = compute_losses(Step(model, from_images=False), x, y, scene_y,
                                 [1.0] * H, 0.1, route_by_label)
    geo.backward()
    hook.remove()
    return grads["out"]


def _rows(scenes):
    return {s * H + h for s in scenes for h in range(H)}


def _nonzero_rows(grad):
    return {int(k) for k in torch.nonzero(grad.abs().sum(dim=-1) > 0).flatten()}


def _predicted(model, x):
    with torch.no_grad():
        return model.decode(x).scene.tolist()


@pytest.mark.parametrize("route_by_label", [False, True])
def test_each_photo_sends_geo_gradient_only_to_its_routed_scene(route_by_label):
    model = _model()
    x, y = _batch()
    predicted = _predicted(model, x)
    assert len(set(predicted)) >= 2, predicted  # the batch routes to several scenes
    labels = torch.tensor([(p + 1) % S for p in predicted])  # never the predicted one
    routed = labels.tolist() if route_by_label else predicted
    out_grad = _geo_backward(model, x, y, labels, route_by_label)  # (B, S*H, D)
    for b in range(B):
        assert _nonzero_rows(out_grad[b]) == _rows([routed[b]]), (b, routed[b])


@pytest.mark.parametrize("route_by_label", [False, True])
def test_only_the_routed_scenes_queries_learn_from_the_geo_loss(route_by_label):
    model = _model()
    for layer in list(model.hid) + list(model.hdd):  # silence query-to-query mixing
        layer.self_attn.out_proj.weight.data.zero_()
        layer.self_attn.out_proj.bias.data.zero_()
    x, y = _batch()
    predicted = _predicted(model, x)
    unused = [s for s in range(S) if s not in predicted]
    assert unused and len(set(predicted)) >= 2
    labels = torch.full((B,), unused[0])  # teacher forcing to a scene nobody predicts
    _geo_backward(model, x, y, labels, route_by_label)
    routed = {unused[0]} if route_by_label else set(predicted)
    assert _nonzero_rows(model.queries.grad) == _rows(routed)
    # the shared parts learn from every photo
    for name, p in model.named_parameters():
        if name.startswith(("project.", "heads.", "hid.0.cross_attn.", "hdd.0.w1")):
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_with_self_attention_the_other_scenes_queries_get_gradient_through_it():
    """The stronger claim (only routed queries change) is false for the real decoder:
    HID and HDD self-attention use every scene's queries as keys and values."""
    model = _model()
    x, y = _batch()
    predicted = set(_predicted(model, x))
    _geo_backward(model, x, y, torch.zeros(B, dtype=torch.long), route_by_label=False)
    others = _nonzero_rows(model.queries.grad) - _rows(predicted)
    assert others == _rows(set(range(S)) - predicted)
    # HDD alone mixes only the scenes of one hierarchy, and that is still every scene
    model = _model(hid_layers=0, hdd_layers=1)
    predicted = set(_predicted(model, x))
    _geo_backward(model, x, y, torch.zeros(B, dtype=torch.long), route_by_label=False)
    assert _nonzero_rows(model.queries.grad) == _rows(range(S))
