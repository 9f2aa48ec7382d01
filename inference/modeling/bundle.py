"""Model bundles: a folder that holds everything a prediction depends on.

    config.json          format, versions, model config, scene names, training facts,
                         the SHA-256 of every data file and the bundle's digest
    weights.safetensors  decoder and heads (+ backbone when it was fine-tuned)
    cells.json           the cell hierarchy (readable, see cells.py)
    gallery.safetensors  optional: training photos' pooled features + coordinates
                         (retrieval inside the cell, gallery.py), never the photos
    scenes.safetensors   optional: scene centroids (training/scenes.py)
    MODEL.md             the model card (written by training)

Identity: one digest names the model.  ``config.json`` holds the SHA-256 of every data
file (``checksums``) and ``digest``, the SHA-256 of its own canonical JSON without the
``digest`` key: ``json.dumps(doc, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` encoded as UTF-8 (``canonical_config``).  Because the checksums are
inside what it hashes, the digest covers the data files too, and also what config.json
alone decides: the calibration temperature and the decision radius change every
confidence, region and point, so two bundles with the same weights but another
temperature are two models with two digests.  Every run records the digest beside the
weights' SHA-256 (the predictions layer, run_info, the CSV, the exports, the case
report).  Canonical JSON, not the file's bytes, so re-indenting config.json or reordering
its keys keeps the digest; changing a value does not.

MODEL.md is outside the digest and the checksums: it is documentation that people may
annotate (tools/default_model.py itself appends notes after the bundle is written), it
changes no answer, and a note added to it must not make a run's model unidentifiable.
Files the config does not name (a README, an editor's backup) are ignored and never read.

Loading refuses, each with one line that says what and where: a config.json whose digest
does not match (changed after the bundle was made), a bundle without checksums or digest
(made before they existed, or assembled by hand; ``python -m inference bundle seal
FOLDER`` vouches for the folder as it is now), a data file whose SHA-256 differs, a file
name that is not a plain name inside the bundle (``../x``, ``/dev/zero``, a link out of
the folder), a file the checksums do not list, a file above its size cap (checked before
reading), and any value out of its range (``check_bundle_doc``): values are checked
before the digest so an impossible one is named as such, and before any photo is read so
a bad image size blames the bundle, not the photos.

No pickle anywhere: weights are safetensors, the rest is JSON.  A frozen backbone whose
weights come from a pip package is not copied into the bundle, which keeps bundles small
enough to ship inside the plugin zip.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, List, Optional

import torch

from .cells import CellHierarchy, CellsError
from .gallery import GALLERY_FILE, Gallery
from .model import GeoDecoder, ModelConfig, _is_int, _is_number, _shown

BUNDLE_FORMAT = "geodecoder-bundle"
BUNDLE_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, CELLS_FILE = "config.json", "weights.safetensors", "cells.json"
CARD_FILE = "MODEL.md"  # outside the digest: documentation people may annotate
DATA_SUFFIXES = (".safetensors", ".json")  # the files the checksums cover (config.json aside)
DIGEST_KEY = "digest"
# size caps, checked before a byte is read: far above any real bundle (the default one's
# config.json is 20 KB, its cells 30 KB), far below what would exhaust memory or time
MAX_CONFIG_BYTES = 16 << 20
MAX_CELLS_BYTES = 256 << 20
MAX_DATA_BYTES = 16 << 30  # weights, gallery, scenes: hashed in chunks, loaded by safetensors
MAX_TEMPERATURE = 1000.0  # logits divided by more than this are flat for any real model
MAX_RADIUS_KM = 20_038.0  # half the equator: the farthest two places can be
SEAL_HINT = ("if you made or changed this bundle on purpose and trust it as it is, seal it: "
             "python -m inference bundle seal {path}")
OLD_SUFFIX = ".old"  # the previous bundle while a new one is swapped in
log = logging.getLogger(__name__)


class ModelBundleError(RuntimeError):
    """A bundle that cannot be used; the message says what is wrong and what to do."""


@dataclass
class BundleInfo:
    name: str
    model_version: str = "0.1.0"
    untrained: bool = True
    scene_names: List[str] = field(default_factory=list)
    backbone_in_bundle: bool = False
    created: str = ""
    training: dict = field(default_factory=dict)  # data, hardware, time, metrics
    # {"temperature": T, ...}: logits are divided by T before the hierarchical product
    calibration: dict = field(default_factory=dict)
    # {"enabled": bool, "k": int, ...}: refine the point with the gallery (gallery.py)
    retrieval: dict = field(default_factory=dict)

    # {"radius_km": r}: the point goes to the densest r-neighbourhood (decision.py)
    decision: dict = field(default_factory=dict)

    @property
    def decision_radius_km(self) -> float:
        return float(self.decision.get("radius_km", 0.0))

    @property
    def temperature(self) -> float:
        return float(self.calibration.get("temperature", 1.0))


@dataclass
class ModelBundle:
    path: Optional[Path]
    info: BundleInfo
    config: ModelConfig
    cells: CellHierarchy
    model: GeoDecoder
    weights_sha256: str = ""
    gallery: Optional[Gallery] = None
    digest: str = ""  # config.json's "digest": names this model (module docstring)

    @property
    def retrieval_enabled(self) -> bool:
        return self.gallery is not None and bool(self.info.retrieval.get("enabled", False))

    @property
    def label(self) -> str:
        state = "UNTRAINED" if self.info.untrained else f"v{self.info.model_version}"
        return f"{self.info.name} ({state})"


def create_model(config: ModelConfig, pretrained_backbone: bool = True) -> GeoDecoder:
    return GeoDecoder(config, pretrained_backbone=pretrained_backbone)


def save_bundle(bundle: ModelBundle, out_dir, card: Optional[str] = None,
                add_files: Optional[Callable[[Path], None]] = None) -> Path:
    """Write to a sibling temp folder, then swap it in (``replace_folder``): a failed or
    interrupted save keeps the old bundle.  ``add_files(folder)`` may add files first."""
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in bundle.model.state_dict().items()
                 if bundle.info.backbone_in_bundle or not k.startswith("backbone.")}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": BUNDLE_FORMAT})
        bundle.cells.save(tmp / CELLS_FILE)
        if bundle.gallery is not None:
            bundle.gallery.save(tmp)
        info = bundle.info
        info.created = info.created or datetime.now(timezone.utc).isoformat(timespec="seconds")
        model = bundle.config.to_json()
        if info.backbone_in_bundle:  # the weights file was read once; its path is private
            model["backbone_options"] = {k: v for k, v in model["backbone_options"].items()
                                         if k != "weights"}
        doc = {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "name": info.name,
            "model_version": info.model_version,
            "untrained": info.untrained,
            "created": info.created,
            "backbone_in_bundle": info.backbone_in_bundle,
            "scene_names": info.scene_names or [f"scene {i}" for i in range(bundle.config.scenes)],
            "model": model,
            "cells_file": CELLS_FILE,
            "weights_file": WEIGHTS_FILE,
            "training": info.training,
            "calibration": info.calibration,
            "retrieval": info.retrieval,
            "decision": info.decision,
        }
        if bundle.gallery is not None:
            doc["gallery_file"] = GALLERY_FILE
        if card:
            (tmp / CARD_FILE).write_text(card, encoding="utf-8")
        if add_files is not None:
            add_files(tmp)
        doc["checksums"] = data_checksums(tmp)  # the data files (not the card)
        check_bundle_doc(doc, tmp / CONFIG_FILE)  # never write a bundle that cannot load
        doc[DIGEST_KEY] = config_digest(doc)
        write_config(tmp, doc)
        replace_folder(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bundle.path = out_dir
    bundle.weights_sha256 = doc["checksums"][WEIGHTS_FILE]
    bundle.digest = doc[DIGEST_KEY]
    return out_dir


def canonical_config(doc: dict) -> bytes:
    """The bytes the digest is taken of: config.json's content without its "digest",
    sorted keys, no spaces, UTF-8 (see the module docstring)."""
    body = {k: v for k, v in doc.items() if k != DIGEST_KEY}
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError) as exc:
        raise ModelBundleError(f"{CONFIG_FILE} cannot be put in canonical form ({exc})") from exc


def config_digest(doc: dict) -> str:
    """SHA-256 (hex) of ``canonical_config(doc)``: the bundle's digest."""
    return hashlib.sha256(canonical_config(doc)).hexdigest()


def data_checksums(folder: Path) -> dict:
    """{name: sha256} of every data file in ``folder`` (.safetensors, .json; not
    config.json, not the card); a file above its cap is refused, not hashed."""
    out = {}
    for f in sorted(Path(folder).iterdir()):
        if f.name != CONFIG_FILE and f.suffix in DATA_SUFFIXES and f.is_file():
            out[f.name] = _hash_capped(f, _cap(f.name))
    return out


def write_config(folder: Path, doc: dict) -> None:
    """config.json as save_bundle writes it (2-space indent), through a temporary file
    renamed over the old one."""
    path = Path(folder) / CONFIG_FILE
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _old(path: Path) -> Path:
    return path.with_name(path.name + OLD_SUFFIX)


def replace_folder(new: Path, dest: Path) -> None:
    """Put the complete folder ``new`` at ``dest``; the one there before is removed.

    Two renames cannot be one atomic step: the old folder moves to ``DEST.old`` first,
    then ``new`` to ``DEST``, then ``DEST.old`` is deleted.  At every moment either
    ``DEST`` or ``DEST.old`` is a complete bundle, and ``resolve_bundle_dir`` reads the
    latter when a crash struck between the renames.
    """
    new, dest = Path(new), Path(dest)
    old = _old(dest)
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)  # a leftover: dest is complete
        dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def resolve_bundle_dir(path) -> Path:
    """``path``, or ``PATH.old`` when a save was interrupted between its two renames."""
    path = Path(path)
    old = _old(path)
    if not path.exists() and (old / CONFIG_FILE).is_file():
        log.warning("model bundle %s is missing but %s is there (a save was interrupted); "
                    "using the previous bundle. Saving the model again repairs it.", path, old)
        return old
    return path


def read_bundle_config(path) -> dict:
    """config.json parsed, its format and version checked (not yet its values or digest:
    ``load_bundle`` does that, ``seal_bundle`` reads a config that has no digest yet)."""
    path = resolve_bundle_dir(path)
    if not path.is_dir():
        raise ModelBundleError(f"model bundle not found: {path} is not a folder; point --model "
                               "at a folder made by 'bundle init' or 'train'")
    cfg = path / CONFIG_FILE
    if not cfg.is_file():
        raise ModelBundleError(f"{CONFIG_FILE} is missing in {path}: not a GeoDecoder bundle")
    try:
        with open(cfg, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ModelBundleError(f"{cfg} is larger than {MAX_CONFIG_BYTES >> 20} MiB: not a "
                                   "bundle's config; re-create the bundle")
        doc = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise ModelBundleError(f"{cfg} cannot be read ({exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelBundleError(f"{cfg} is not valid JSON ({exc}); re-create the bundle") from exc
    except RecursionError as exc:
        raise ModelBundleError(f"{cfg} is nested too deeply to be a bundle's config; "
                               "re-create the bundle") from exc
    if not isinstance(doc, dict):
        raise ModelBundleError(f"{cfg} holds {type(doc).__name__}, not an object: not a "
                               "GeoDecoder bundle")
    if doc.get("format") != BUNDLE_FORMAT:
        raise ModelBundleError(f"{cfg}: format {_shown(doc.get('format'))} is not "
                               f"{BUNDLE_FORMAT!r}")
    version = doc.get("version", 0)
    if not _is_int(version) or version < 1:
        raise ModelBundleError(f"{cfg}: version must be a whole number from 1, "
                               f"got {_shown(version)}")
    if version > BUNDLE_VERSION:
        raise ModelBundleError(f"{path} is bundle format {version}; this plugin reads "
                               f"up to {BUNDLE_VERSION}: update the plugin")
    return doc


def check_bundle_doc(doc: dict, cfg) -> ModelConfig:
    """Every value a prediction depends on, checked against its type and range; returns
    the model config.  A ModelBundleError names the file, the key and the value."""
    def bad(what: str) -> ModelBundleError:
        return ModelBundleError(f"{cfg}: {what}; the bundle is damaged or was edited by "
                                "hand: re-download or re-create it")

    try:
        config = ModelConfig.from_json(doc.get("model"), where="model.")
    except ValueError as exc:
        raise bad(str(exc)) from exc
    for key in ("name", "model_version", "created"):
        if key in doc and not isinstance(doc[key], str):
            raise bad(f"{key} must be text, got {_shown(doc[key])}")
    for key in ("untrained", "backbone_in_bundle"):
        if key in doc and not isinstance(doc[key], bool):
            raise bad(f"{key} must be true or false, got {_shown(doc[key])}")
    names = doc.get("scene_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise bad(f"scene_names must be a list of texts, got {_shown(names)}")
    for key in ("training", "calibration", "retrieval", "decision"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise bad(f"{key} must be an object {{...}}, got {_shown(doc[key])}")
    temperature = (doc.get("calibration") or {}).get("temperature", 1.0)
    if not (_is_number(temperature) and 0 < temperature <= MAX_TEMPERATURE):
        raise bad(f"calibration.temperature must be a number above 0 and at most "
                  f"{MAX_TEMPERATURE:g}, got {_shown(temperature)}")
    radius = (doc.get("decision") or {}).get("radius_km", 0.0)
    if not (_is_number(radius) and 0 <= radius <= MAX_RADIUS_KM):
        raise bad(f"decision.radius_km must be a number from 0 to {MAX_RADIUS_KM:g}, "
                  f"got {_shown(radius)}")
    retrieval = doc.get("retrieval") or {}
    if "enabled" in retrieval and not isinstance(retrieval["enabled"], bool):
        raise bad(f"retrieval.enabled must be true or false, got {_shown(retrieval['enabled'])}")
    if "k" in retrieval and not (_is_int(retrieval["k"]) and 1 <= retrieval["k"] <= 1000):
        raise bad(f"retrieval.k must be a whole number from 1 to 1000, "
                  f"got {_shown(retrieval['k'])}")
    sums = doc.get("checksums")
    if sums is not None:
        if not isinstance(sums, dict):
            raise bad(f"checksums must be an object {{file: sha256}}, got {_shown(sums)}")
        for name, want in sums.items():
            _plain_name(name, "a checksums entry", bad)
            if name == CONFIG_FILE:
                raise bad(f"checksums list {CONFIG_FILE} itself (its digest covers it)")
            if not _is_sha256(want):
                raise bad(f"checksums.{name} must be a SHA-256 (64 hex digits), "
                          f"got {_shown(want)}")
    if DIGEST_KEY in doc and not _is_sha256(doc[DIGEST_KEY]):
        raise bad(f"digest must be a SHA-256 (64 hex digits), got {_shown(doc[DIGEST_KEY])}")
    for key, default in FILE_KEYS.items():
        if default is None and doc.get(key) is None:  # optional (no gallery)
            continue
        name = _plain_name(doc.get(key, default), key, bad)
        if sums is not None and name not in sums:
            raise bad(f"{key} {name!r} is not in checksums, so it could not be verified")
    return config


FILE_KEYS = {"weights_file": WEIGHTS_FILE, "cells_file": CELLS_FILE, "gallery_file": None}


def _plain_name(name, key: str, bad) -> str:
    """``name`` when it is a plain file name inside the bundle: no folder part, no
    ``..``, not absolute, not hidden, with a data suffix."""
    if (not isinstance(name, str) or not name or name.startswith(".") or "\x00" in name
            or Path(name).name != name or "/" in name or "\\" in name
            or Path(name).suffix not in DATA_SUFFIXES):
        raise bad(f"{key} must be the plain name of a .safetensors or .json file inside the "
                  f"bundle, got {_shown(name)}")
    return name


def _is_sha256(v) -> bool:
    return (isinstance(v, str) and len(v) == 64
            and all(c in "0123456789abcdef" for c in v))


def _cap(name: str) -> int:
    return MAX_CELLS_BYTES if name.endswith(".json") else MAX_DATA_BYTES


def _hash_capped(f: Path, cap: int) -> str:
    """SHA-256 of the regular file ``f``, refused above ``cap`` bytes before reading.

    The checks are made on the opened file, so what is hashed is what was checked; a
    device (``/dev/zero``), a FIFO or a folder is refused rather than read forever, and a
    link is refused (it could lead out of the bundle)."""
    import stat

    if f.is_symlink():
        raise ModelBundleError(f"{f} is a link; a bundle holds its files itself: copy the "
                               "file into the bundle")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(f, flags)
    except OSError as exc:
        raise ModelBundleError(f"{f} cannot be read ({exc.strerror or exc}); re-download "
                               "or re-create the bundle") from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ModelBundleError(f"{f} is not a regular file; a bundle holds its files "
                                   "itself")
        if st.st_size > cap:
            raise ModelBundleError(f"{f} is {st.st_size:,} bytes, above the {cap:,} a "
                                   "bundle file may have; re-download or re-create the bundle")
        h = hashlib.sha256()
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
        return h.hexdigest()


def bundle_file(path: Path, doc: dict, key: str) -> Path:
    """The file that config key ``key`` names: a plain name (``check_bundle_doc``),
    listed in the checksums and verified (``verify_checksums``) before it is read."""
    return path / doc.get(key, FILE_KEYS[key])


def verify_digest(path: Path, doc: dict) -> str:
    """The digest config.json records, checked against its content; a bundle without
    checksums or digest is refused with how to seal it."""
    cfg = path / CONFIG_FILE
    missing = [k for k in ("checksums", DIGEST_KEY) if not doc.get(k)]
    if missing:
        raise ModelBundleError(
            f"{cfg} has no {' and no '.join(missing)}, so nothing shows that its files and "
            f"settings are the ones it was made with (a bundle made before digests existed, "
            f"or assembled by hand); re-download it, or {SEAL_HINT.format(path=path)}")
    got = config_digest(doc)
    if got != doc[DIGEST_KEY]:
        raise ModelBundleError(
            f"{cfg} was changed after the bundle was made (digest {got[:12]}..., sealed as "
            f"{doc[DIGEST_KEY][:12]}...): its settings (temperature, decision radius, ...) "
            f"change every answer; re-download the bundle, or {SEAL_HINT.format(path=path)}")
    return got


def load_bundle(path, device: str | torch.device = "cpu") -> ModelBundle:
    """Load and check a bundle; every mismatch is a ModelBundleError naming the fix."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .backbones import BackboneError

    path = resolve_bundle_dir(path)
    doc = read_bundle_config(path)
    config = check_bundle_doc(doc, path / CONFIG_FILE)
    digest = verify_digest(path, doc)
    digests = verify_checksums(path, doc)
    try:
        cells = CellHierarchy.load(bundle_file(path, doc, "cells_file"))
    except (CellsError, KeyError, TypeError, ValueError, RecursionError) as exc:
        raise ModelBundleError(f"{path}: cells file is unusable ({exc}); re-create the "
                               "bundle") from exc
    if cells.sizes != list(config.level_sizes):
        raise ModelBundleError(f"{path}: cells file has {cells.sizes} cells per level but the "
                               f"model was built for {config.level_sizes}; the bundle is "
                               "inconsistent, re-export it")
    weights = bundle_file(path, doc, "weights_file")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise ModelBundleError(f"{weights} is damaged ({exc}); re-download the bundle") from exc
    in_bundle = bool(doc.get("backbone_in_bundle", False))
    try:
        model = GeoDecoder(config, pretrained_backbone=not in_bundle)
    except BackboneError as exc:
        raise ModelBundleError(f"{path}: {exc}") from exc
    expected = {k: v for k, v in model.state_dict().items()
                if in_bundle or not k.startswith("backbone.")}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        raise ModelBundleError(
            f"{weights} does not fit its config.json: missing {missing[:4]}, unexpected "
            f"{unexpected[:4]}, wrong shape {wrong[:4]}; the bundle was made by another version "
            "or edited by hand")
    model.load_state_dict(state, strict=False)
    model.to(device).eval()
    info = BundleInfo(name=doc.get("name", path.name),
                      model_version=str(doc.get("model_version", "0")),
                      untrained=bool(doc.get("untrained", True)),
                      scene_names=list(doc.get("scene_names", [])),
                      backbone_in_bundle=in_bundle, created=doc.get("created", ""),
                      training=doc.get("training") or {},
                      calibration=dict(doc.get("calibration") or {}),
                      retrieval=dict(doc.get("retrieval") or {}),
                      decision=dict(doc.get("decision") or {}))
    if len(info.scene_names) != config.scenes:
        info.scene_names = [f"scene {i}" for i in range(config.scenes)]
    gallery = None
    if doc.get("gallery_file"):
        try:
            gallery = Gallery.load(bundle_file(path, doc, "gallery_file"))
        except (OSError, ValueError, SafetensorError) as exc:
            raise ModelBundleError(f"{path}: gallery file is unreadable ({exc}); "
                                   "re-download the bundle") from exc
    return ModelBundle(path, info, config, cells, model, digests[weights.name], gallery,
                       digest)


def verify_checksums(path: Path, doc: dict) -> dict:
    """Check every file named in ``checksums`` (sizes capped before reading); returns
    {file: sha256}.  ``check_bundle_doc`` made sure the names are plain and that every
    file the config loads is among them."""
    found = {}
    for name, want in doc["checksums"].items():
        f = path / name
        if not f.exists():
            raise ModelBundleError(f"{name} is missing in {path} (its {CONFIG_FILE} lists it); "
                                   "re-download or re-create the bundle")
        got = _hash_capped(f, _cap(name))
        if got != want:
            raise ModelBundleError(f"{f}: checksum mismatch (sha256 {got[:12]}..., expected "
                                   f"{want[:12]}...): the file is damaged or was changed; "
                                   "re-download or re-create the bundle")
        found[name] = got
    return found


def seal_bundle(path) -> tuple[str, str, list[str]]:
    """Vouch for a bundle folder as it is now: checksums of its data files and the digest
    written into config.json (nothing else changes; the data files are not touched).

    For a bundle made before digests existed, or one changed on purpose.  The values are
    checked first and the sealed bundle is loaded once; when that fails, the previous
    config.json is put back.  Returns (old digest or "", new digest, files whose checksum
    changed or was added)."""
    path = resolve_bundle_dir(path)
    doc = read_bundle_config(path)
    before = (path / CONFIG_FILE).read_bytes()
    old_sums = doc.get("checksums") if isinstance(doc.get("checksums"), dict) else {}
    old_digest = doc.get(DIGEST_KEY) if isinstance(doc.get(DIGEST_KEY), str) else ""
    doc["checksums"] = data_checksums(path)
    doc.pop(DIGEST_KEY, None)
    check_bundle_doc(doc, path / CONFIG_FILE)
    doc[DIGEST_KEY] = config_digest(doc)
    changed = sorted(n for n, s in doc["checksums"].items() if old_sums.get(n) != s)
    write_config(path, doc)
    try:
        load_bundle(path)
    except BaseException:
        (path / CONFIG_FILE).write_bytes(before)
        raise
    return old_digest, doc[DIGEST_KEY], changed


def init_bundle(cells: CellHierarchy, out_dir, name: str = "untrained",
                backbone: str = "efficientnet_lite0", seed: int = 0, **config_overrides) -> Path:
    """An untrained bundle: pretrained backbone, fresh decoder and heads."""
    torch.manual_seed(seed)
    config = ModelConfig(level_sizes=cells.sizes, backbone=backbone, **config_overrides)
    model = create_model(config)
    config.backbone_options = model.backbone.bundle_options(config.backbone_options)
    info = BundleInfo(name=name, untrained=True,
                      backbone_in_bundle=not model.backbone.weights_from_package)
    bundle = ModelBundle(None, info, config, cells, model)
    return save_bundle(bundle, out_dir)
