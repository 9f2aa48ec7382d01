"""The backbone as a prediction runs it: the same network, rearranged to cost less.

On a small CPU the backbone is half of what a photo costs.  Two rearrangements leave
the network's function as it is (up to float rounding) and cut its CPU time by about
40 % (docs/SPEED.md):

* every BatchNorm after a convolution is folded into that convolution's weights and
  bias (frozen statistics: an affine map after a linear one is one linear map);
* weights and inputs are laid out channels-last (NHWC), the layout oneDNN's
  convolutions and depthwise kernels run fastest in.

The tokens move by ~5e-6 of their scale, so records change in their last digits; the
default model's validation accuracy is the same at every threshold (measured with
tools/fast_backbone_check.py, docs/SPEED.md).  Training keeps the plain backbone: its
feature cache is the reference, and gradients need the unfolded BatchNorm anyway.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .backbones import Backbone, EfficientNetLite


def _fold(conv: nn.Module, norm: nn.Module) -> None:
    """``norm(conv(x))`` as one convolution: conv's weights scaled per output channel."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    bias = norm.bias - norm.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    weight = (conv.weight * scale.view(-1, 1, 1, 1)).detach()
    # laid out channels-last at once: inference_backbone wants it so (one copy, not two)
    conv.weight = nn.Parameter(weight.contiguous(memory_format=torch.channels_last),
                               requires_grad=False)
    conv.bias = nn.Parameter(bias.detach(), requires_grad=False)


def _efficientnet_pairs(net: nn.Module):
    """(module, conv name, BatchNorm name) of every convolution followed by a BatchNorm
    in EfficientNet(-Lite)'s forward pass (its attribute names)."""
    yield net, "_conv_stem", "_bn0"
    for block in net._blocks:
        if hasattr(block, "_expand_conv"):
            yield block, "_expand_conv", "_bn0"
        yield block, "_depthwise_conv", "_bn1"
        yield block, "_project_conv", "_bn2"
    yield net, "_conv_head", "_bn1"


def fold_batch_norms(net: nn.Module) -> int:
    """Fold EfficientNet's BatchNorms into their convolutions in place (eval mode only:
    the running statistics are what is folded); returns how many were folded."""
    if net.training:
        raise ValueError("BatchNorm folding needs a module in eval mode")
    n = 0
    with torch.no_grad():
        for module, conv_name, norm_name in _efficientnet_pairs(net):
            norm = getattr(module, norm_name)
            if not isinstance(norm, nn.BatchNorm2d):
                continue  # already folded
            _fold(getattr(module, conv_name), norm)
            setattr(module, norm_name, nn.Identity())
            n += 1
    return n


def inference_backbone(backbone: Backbone, device: torch.device) -> Backbone:
    """A copy of ``backbone`` in its fastest exact-up-to-rounding form for ``device``
    (CPU or CUDA); the backbone itself where no such form is known (other families,
    Apple MPS).  The original is left untouched: the bundle may still train or extract
    reference features with it."""
    if not isinstance(backbone, EfficientNetLite) or device.type not in ("cpu", "cuda"):
        return backbone
    # the copy shares its tensors at first (cloning 3 M parameters that folding replaces
    # was a tenth of the start-up); whatever folding did not replace is cloned after
    own = {id(t): t for t in list(backbone.parameters()) + list(backbone.buffers())}
    fast = copy.deepcopy(backbone, memo=dict(own)).eval()
    fold_batch_norms(fast.net)
    for module in fast.modules():
        for name, t in list(module.named_parameters(recurse=False)):
            if id(t) in own:
                setattr(module, name, nn.Parameter(t.detach().clone(), requires_grad=False))
        for name, t in list(module.named_buffers(recurse=False)):
            if id(t) in own:
                setattr(module, name, t.clone())
    fast.channels_last = True
    return fast.to(device=device, memory_format=torch.channels_last)
