"""What every command-line verb shares: the user error type and the common options.

Both ``cli_commands`` and ``train_cli`` import from here, never from each other.
"""

from __future__ import annotations


class UserError(RuntimeError):
    """A problem the user can fix; printed without a traceback."""


def add_retrieval_argument(parser) -> None:
    parser.add_argument("--retrieval", default="auto", choices=["auto", "on", "off"],
                        help="the point inside the predicted cell: auto follows the bundle "
                        "(on where its validation showed it helps), on = the training photos "
                        "most like this one in that cell, off = the cell's mean coordinate")


def retrieval_choice(args):
    return {"auto": None, "on": True, "off": False}[getattr(args, "retrieval", "auto")]


def add_device_argument(parser) -> None:
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "gpu", "mps"],
                        help="where the model runs (default auto: CUDA, then MPS, then CPU; "
                        "gpu: CUDA or MPS, whichever this machine has)")


def add_backbone_arguments(parser) -> None:
    """--backbone and --backbone-option, the same for `bundle init` and `train`."""
    parser.add_argument("--backbone", default="efficientnet_lite0",
                        help="backbone name (default %(default)s): efficientnet_lite0/1/2, "
                        "vit (a local timm checkpoint) or clip-vit-l14 (the CLIP ViT-L/14 "
                        "tower of 'models get geoclip'; wants a GPU)")
    parser.add_argument("--backbone-option", action="append", default=[], metavar="KEY=VALUE",
                        help="backbone setting, repeatable; e.g. for a ViT from a local timm "
                        "checkpoint: --backbone vit --backbone-option weights=vit_b16.safetensors"
                        " (dim=768 depth=12 heads=12 patch=16 are the defaults). Weights that "
                        "do not come from a pip package are stored inside the bundle, except "
                        "clip-vit-l14's: the bundle names the tower by catalog name and "
                        "SHA-256 and uses the installed one (weights=FOLDER reads a copy "
                        "elsewhere while training; it must have the same SHA-256).")


def key_values(pairs) -> dict:
    """KEY=VALUE strings -> dict, numbers as numbers."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UserError(f"--backbone-option wants KEY=VALUE, got {pair!r}")
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        out[key.strip()] = value
    return out
