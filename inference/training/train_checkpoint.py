"""Checkpoints that are whole or absent, and the process-group helpers of a torchrun run.

A checkpoint is a folder ``CKPT/checkpoint-NNNNNN/`` holding

    last.safetensors   the weights after the epoch (safetensors, no pickle)
    best.safetensors   the weights of the best epoch so far (model selection)
    optimizer.pt       optimizer and RNG states (plain tensors, read with weights_only=True)
    state.json         epoch, step, history, the run's fingerprint, and the sha256 of
                       each of the three files above

It is written into ``CKPT/.checkpoint-NNNNNN.part/`` and renamed into place as a unit;
only then is the previous checkpoint deleted.  A crash at any moment therefore leaves
at least one complete checkpoint, never the weights of one epoch with the optimizer of
another.  ``load_checkpoint`` takes the newest folder whose files match the hashes in
its state.json (an older complete one when the newest does not, with a warning) and
refuses, saying so, when none does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..hashing import sha256_file
from .train_config import ProgressFn, TrainConfig, TrainError

log = logging.getLogger(__name__)

FOLDER = "checkpoint-"
FOLDER_RE = re.compile(r"^checkpoint-(\d{6})$")
WEIGHTS, BEST, OPTIMIZER, STATE = ("last.safetensors", "best.safetensors", "optimizer.pt",
                                   "state.json")


def fingerprint(train: Sequence, val: Sequence, cells, config, cfg: TrainConfig) -> str:
    """What a checkpoint must match to be resumed: data, split, cells, network, seed."""
    h = hashlib.sha256()
    for s in list(train):
        h.update(f"{s.path}|{s.lat:.7f}|{s.lon:.7f}|{s.scene}\n".encode("utf-8", "replace"))
    h.update(b"--val--\n")
    for s in list(val):
        h.update(f"{s.path}|{s.lat:.7f}|{s.lon:.7f}|{s.scene}\n".encode("utf-8", "replace"))
    h.update(json.dumps([cells.sizes, config.to_json(), cfg.seed, cfg.finetune_backbone,
                         cfg.route_by_label], sort_keys=True).encode())
    return h.hexdigest()[:20]


def checkpoints(root: Path) -> List[Path]:
    """Complete checkpoint folders, newest first."""
    if not Path(root).is_dir():
        return []
    found = [(int(m.group(1)), p) for p in Path(root).iterdir()
             if p.is_dir() and (m := FOLDER_RE.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def _fsync(path: Path) -> None:
    """Data on disk before the rename that publishes it (a power cut cannot reorder them)."""
    try:
        with open(path, "r+b") as fh:
            os.fsync(fh.fileno())
    except OSError:  # a file system without fsync: the rename still orders a crash
        pass


def _write_optimizer(extra: Dict, path: Path) -> None:
    torch.save(extra, str(path))


def save_checkpoint(root: Path, model: nn.Module, opt, state: Dict, best: bool,
                    with_backbone: bool) -> Path:
    """Write the epoch's checkpoint as a new folder, swap it in, drop the older ones."""
    from safetensors.torch import save_file

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".{FOLDER}*.part"):  # a crash while writing, earlier
        shutil.rmtree(stale, ignore_errors=True)
    older = checkpoints(root)
    seq = max([int(FOLDER_RE.match(p.name).group(1)) for p in older] + [0]) + 1
    part = root / f".{FOLDER}{seq:06d}.part"
    final = root / f"{FOLDER}{seq:06d}"
    part.mkdir()
    try:
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
                   if with_backbone or not k.startswith("backbone.")}
        save_file(weights, str(part / WEIGHTS), metadata={"epoch": str(state["epoch"])})
        files = {WEIGHTS: sha256_file(part / WEIGHTS)}
        if best or not older:
            shutil.copyfile(part / WEIGHTS, part / BEST)
            files[BEST] = files[WEIGHTS]
        else:  # the best weights stay those of the previous checkpoint
            previous = json.loads((older[0] / STATE).read_text(encoding="utf-8"))
            _link_or_copy(older[0] / BEST, part / BEST)
            files[BEST] = previous["files"][BEST]
        extra = {"optimizer": opt.state_dict(), "rng_cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            extra["rng_cuda"] = torch.cuda.get_rng_state_all()
        _write_optimizer(extra, part / OPTIMIZER)
        files[OPTIMIZER] = sha256_file(part / OPTIMIZER)
        doc = dict(state, files=files)
        (part / STATE).write_text(json.dumps(doc, indent=1), encoding="utf-8")
        for name in (WEIGHTS, BEST, OPTIMIZER, STATE):
            _fsync(part / name)
        os.replace(part, final)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    for old in older:  # only now: the new checkpoint is in place
        shutil.rmtree(old, ignore_errors=True)
    for name in (WEIGHTS, BEST, OPTIMIZER, STATE):  # loose files of the old layout
        (root / name).unlink(missing_ok=True)
    return final


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # same bytes, no copy of a fine-tuned backbone every epoch
    except OSError:
        shutil.copyfile(src, dst)


def verify(folder: Path) -> Optional[str]:
    """None when every file of the checkpoint matches its recorded sha256, else why not."""
    try:
        doc = json.loads((folder / STATE).read_text(encoding="utf-8"))
        files = doc["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"{folder / STATE} is unreadable ({type(exc).__name__})"
    for name in (WEIGHTS, BEST, OPTIMIZER):
        path = folder / name
        if not path.is_file():
            return f"{path} is missing"
        if sha256_file(path) != files.get(name):
            return (f"{path} does not match the sha256 recorded for epoch {doc.get('epoch')} "
                    "(written by another epoch, or damaged)")
    return None


def usable_checkpoint(root: Path) -> Tuple[Path, List[str]]:
    """The newest checkpoint that verifies, and the problems of newer ones it skipped."""
    found = checkpoints(root)
    if not found:
        old_layout = " (one in the old layout of loose files, which cannot be checked)" \
            if (Path(root) / STATE).is_file() else ""
        raise TrainError(f"--resume: no checkpoint in {root}{old_layout}; run without --resume")
    problems = []
    for folder in found:
        problem = verify(folder)
        if problem is None:
            return folder, problems
        problems.append(problem)
    raise TrainError(f"--resume: the checkpoint in {root} is inconsistent: {problems[0]}; "
                     "it cannot be resumed safely, run without --resume to start again")


def load_checkpoint(root: Path, model: nn.Module, opt, fp: str,
                    progress: ProgressFn = None, with_backbone: bool = False) -> Dict:
    """Restore weights, optimizer and RNG states; refuse a checkpoint of another run or
    one whose files do not belong together."""
    folder, problems = usable_checkpoint(root)
    for problem in problems:
        message = f"skipped a newer checkpoint: {problem}; resuming from {folder.name}"
        log.warning(message)
        if progress:
            progress(0.35, message)
    state = json.loads((folder / STATE).read_text(encoding="utf-8"))
    state.pop("files", None)
    if state.get("fingerprint") != fp:
        raise TrainError(f"--resume: the checkpoint in {root} was made from other data, "
                         "split, cells or network options; run without --resume")
    load_weights(model, folder / WEIGHTS, with_backbone)
    extra = torch.load(str(folder / OPTIMIZER), map_location="cpu", weights_only=True)
    opt.load_state_dict(extra["optimizer"])
    torch.set_rng_state(extra["rng_cpu"])
    if "rng_cuda" in extra and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(extra["rng_cuda"])
    return state


def load_weights(model: nn.Module, path: Path, with_backbone: bool) -> None:
    """Load checkpoint weights strictly: every decoder tensor must be there and nothing
    else; only a frozen backbone (never saved, ``with_backbone`` False) may be absent."""
    from safetensors.torch import load_file

    result = model.load_state_dict(load_file(str(path)), strict=False)
    missing = [k for k in result.missing_keys
               if with_backbone or not k.startswith("backbone.")]
    if missing or result.unexpected_keys:
        raise TrainError(f"{path} does not fit this network (missing {missing[:4]}, "
                         f"unexpected {list(result.unexpected_keys)[:4]}): it was written by "
                         "another version or for other options; run without --resume")


def best_weights(root: Path) -> Path:
    """The selected weights of the newest checkpoint."""
    found = checkpoints(root)
    if not found:
        raise TrainError(f"no checkpoint in {root}")
    return found[0] / BEST


# ------------------------------------------------------------- torchrun (DDP) helpers


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def any(self, flag: bool) -> bool:
        """True on every rank when it is true on any: decisions that change how many
        collective steps a rank takes (stop, skip a step) must be the same everywhere, or
        the ranks that go on wait forever in the next all-reduce."""
        if self.world <= 1:
            return bool(flag)
        t = torch.tensor([1 if flag else 0], dtype=torch.int32,
                         device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())


def setup_dist(device_opt: str) -> Dist:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK: one process per GPU (gloo on CPU)."""
    from ..prediction.devices import resolve_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    wanted = resolve_device(device_opt)  # an explicit device that is not there fails here
    if world <= 1:
        return Dist(0, 1, wanted)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = wanted.type == "cuda"
    if wanted.type not in ("cuda", "cpu"):
        raise TrainError(f"distributed training runs on CUDA (nccl) or the CPU (gloo), not "
                         f"on {wanted.type}")
    if use_cuda:
        torch.cuda.set_device(local)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(torch.distributed.get_rank(), world,
                torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu"))


def buffer_sync(sync: bool) -> Dict:
    """Frozen backbone: its BatchNorm buffers never change, do not sync them every step
    (the keyword was renamed in torch 2.13; older torch only knows the old one)."""
    import inspect

    params = inspect.signature(nn.parallel.DistributedDataParallel.__init__).parameters
    key = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
    return {key: sync}


def report(progress: ProgressFn, dist: Dist, fraction: float, message: str) -> None:
    if progress and dist.main:
        progress(max(0.0, min(1.0, fraction)), message)


def hardware_facts(device: torch.device, world: int) -> Dict:
    facts = {"device": device.type, "world_size": world, "torch": torch.__version__,
             "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
             "cpu_threads": torch.get_num_threads()}
    if device.type == "cuda":
        facts["gpu"] = torch.cuda.get_device_name(device)
    return facts
