"""Checkpoints are whole or absent: a torn one is refused or skipped, never half-used."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from inference.training.train import TrainError
from inference.training.train_checkpoint import (OPTIMIZER, STATE, WEIGHTS, checkpoints,
                                        load_checkpoint, save_checkpoint)
from tests.conftest import read_state


def _state(epoch):
    return {"fingerprint": "fp", "epoch": epoch, "step": 3 * epoch, "best": None,
            "best_epoch": 1, "history": [{"epoch": e} for e in range(1, epoch + 1)]}


def _train_epochs(root, epochs):
    """A tiny model trained and checkpointed ``epochs`` times; weights after each epoch."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    history = []
    for epoch in range(1, epochs + 1):
        model(torch.randn(4, 3)).sum().backward()
        opt.step()
        save_checkpoint(root, model, opt, _state(epoch), best=epoch == 1, with_backbone=False)
        history.append({k: v.clone() for k, v in model.state_dict().items()})
    return model, opt, history


def _fresh():
    model = torch.nn.Linear(3, 2)
    return model, torch.optim.AdamW(model.parameters(), lr=0.1)


def test_each_epoch_replaces_the_checkpoint_folder_as_a_whole(tmp_path):
    _, _, history = _train_epochs(tmp_path, 3)
    assert [p.name for p in checkpoints(tmp_path)] == ["checkpoint-000003"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-000003"]
    doc = json.loads((tmp_path / "checkpoint-000003" / STATE).read_text())
    assert doc["epoch"] == 3 and set(doc["files"]) == {WEIGHTS, "best.safetensors", OPTIMIZER}
    best = load_file(str(tmp_path / "checkpoint-000003" / "best.safetensors"))
    assert torch.equal(best["weight"], history[0]["weight"])  # epoch 1 stays the best
    model, opt = _fresh()
    state = load_checkpoint(tmp_path, model, opt, "fp")
    assert state["epoch"] == 3 and "files" not in state
    assert torch.equal(model.weight, history[2]["weight"])
    assert opt.state_dict()["state"][0]["step"] == 3


def test_weights_of_another_epoch_in_the_checkpoint_are_refused(tmp_path):
    """What the old loose files allowed: epoch 3 weights next to epoch 2's optimizer."""
    _, _, history = _train_epochs(tmp_path, 2)
    folder = checkpoints(tmp_path)[0]
    other = {k: v.clone() + 1 for k, v in history[1].items()}
    save_file(other, str(folder / WEIGHTS))
    with pytest.raises(TrainError, match="inconsistent.*last.safetensors does not match.*"
                                         "epoch 2.*without --resume"):
        load_checkpoint(tmp_path, *_fresh(), "fp")


def test_a_missing_file_is_refused(tmp_path):
    _train_epochs(tmp_path, 1)
    (checkpoints(tmp_path)[0] / OPTIMIZER).unlink()
    with pytest.raises(TrainError, match="optimizer.pt is missing"):
        load_checkpoint(tmp_path, *_fresh(), "fp")


def test_a_torn_newest_checkpoint_falls_back_to_the_older_whole_one(tmp_path, caplog):
    """Two folders exist only between the rename of the new one and the removal of the
    old one; if the newer one is then damaged, the older whole one is used."""
    _, _, history = _train_epochs(tmp_path, 2)
    good = checkpoints(tmp_path)[0]
    torn = tmp_path / "checkpoint-000003"
    shutil.copytree(good, torn)
    (torn / OPTIMIZER).write_bytes((torn / OPTIMIZER).read_bytes()[:100])
    model, opt = _fresh()
    with caplog.at_level(logging.WARNING):
        state = load_checkpoint(tmp_path, model, opt, "fp")
    assert state["epoch"] == 2 and torch.equal(model.weight, history[1]["weight"])
    assert "checkpoint-000003" in caplog.text and "resuming from checkpoint-000002" in caplog.text


def test_a_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from inference.training import train_checkpoint

    model, opt, history = _train_epochs(tmp_path, 2)

    def disk_full(extra, path):
        raise OSError("No space left on device")

    monkeypatch.setattr(train_checkpoint, "_write_optimizer", disk_full)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(tmp_path, model, opt, _state(3), best=True, with_backbone=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-000002"]
    assert read_state(tmp_path)["epoch"] == 2
    fresh, fresh_opt = _fresh()
    assert load_checkpoint(tmp_path, fresh, fresh_opt, "fp")["epoch"] == 2
    assert torch.equal(fresh.weight, history[1]["weight"])


def test_leftover_half_folder_is_ignored_and_cleaned(tmp_path):
    _train_epochs(tmp_path, 1)
    half = tmp_path / ".checkpoint-000002.part"
    half.mkdir()
    (half / WEIGHTS).write_bytes(b"half")
    assert load_checkpoint(tmp_path, *_fresh(), "fp")["epoch"] == 1
    model, opt = _fresh()
    save_checkpoint(tmp_path, model, opt, _state(2), best=False, with_backbone=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-000002"]


def test_no_checkpoint_and_old_layout_say_so(tmp_path):
    with pytest.raises(TrainError, match="no checkpoint in"):
        load_checkpoint(tmp_path / "none", *_fresh(), "fp")
    (tmp_path / STATE).write_text("{}")
    (tmp_path / WEIGHTS).write_bytes(b"old")
    with pytest.raises(TrainError, match="old layout"):
        load_checkpoint(tmp_path, *_fresh(), "fp")
    _train_epochs(tmp_path, 1)  # a new run replaces the loose files too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-000001"]


def test_another_runs_checkpoint_is_refused(tmp_path):
    _train_epochs(tmp_path, 1)
    with pytest.raises(TrainError, match="other data"):
        load_checkpoint(tmp_path, *_fresh(), "another fingerprint")


def _agree(rank, world, init_file, flags, out):
    import torch

    from inference.training.train_checkpoint import Dist
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}",
                                         rank=rank, world_size=world)
    try:
        d = Dist(rank, world, torch.device("cpu"))
        out[rank] = [d.any(f) for f in flags[rank]]
    finally:
        torch.distributed.destroy_process_group()


def test_ranks_agree_on_stop_and_skip(tmp_path):
    """One rank's stop (or empty batch) must stop (skip) every rank: a rank that decides
    alone leaves the others waiting in the next all-reduce (torchrun hangs)."""
    import torch.multiprocessing as mp

    flags = {0: [False, False, True], 1: [False, True, False]}
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(_agree, args=(2, str(tmp_path / "init"), flags, out), nprocs=2, join=True)
        assert out[0] == out[1] == [False, True, True]


def test_cuda_asked_without_cuda_fails_under_torchrun_too(monkeypatch):
    import torch

    from inference.training.train_checkpoint import setup_dist
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(RuntimeError, match="no usable CUDA"):
        setup_dist("cuda")  # used to fall back to gloo on the CPU silently
    assert not torch.distributed.is_initialized()


def test_best_weights_reload_strictly(tmp_path):
    import torch
    from safetensors.torch import save_file

    from inference.modeling.model import GeoDecoder, ModelConfig
    from inference.training.train_checkpoint import load_weights
    from inference.training.train_config import TrainError
    from tests.conftest import TINY_MODEL

    model = GeoDecoder(ModelConfig(level_sizes=[3, 5], **TINY_MODEL), pretrained_backbone=False)
    decoder = {k: v.contiguous() for k, v in model.state_dict().items()
               if not k.startswith("backbone.")}
    save_file(decoder, str(tmp_path / "ok.safetensors"))
    load_weights(model, tmp_path / "ok.safetensors", with_backbone=False)  # frozen: fine
    with pytest.raises(TrainError, match="missing"):
        load_weights(model, tmp_path / "ok.safetensors", with_backbone=True)
    partial = dict(decoder)
    partial.pop(next(k for k in partial if k.startswith("heads.")))
    save_file(partial, str(tmp_path / "partial.safetensors"))
    with pytest.raises(TrainError, match="heads"):
        load_weights(model, tmp_path / "partial.safetensors", with_backbone=False)
    save_file({**decoder, "extra.weight": torch.zeros(2)}, str(tmp_path / "extra.safetensors"))
    with pytest.raises(TrainError, match="unexpected"):
        load_weights(model, tmp_path / "extra.safetensors", with_backbone=False)
