"""Damaged checkpoints (:meth:`sibp_ref.run.files.RunFiles.discard_checkpoint`): a checkpoint
that cannot belong to the run (weights of another shape or dtype, NaN, other settings,
counts that do not add up, an unreadable file) is moved to ``<name>.damaged`` with one
:class:`~sibp_ref.run.RunNote` naming it, and the run starts over, giving the records of a
run that never had a checkpoint, in ``train`` and in a parallel grid alike. A checkpoint
write that fails leaves no temporary file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from sibp_ref.methods import BP
from sibp_ref.network import MLP
from sibp_ref.run import RunConfig, RunNote, load_checkpoint, run_grid, save_checkpoint, train
from sibp_ref.run.checkpoint import Snapshot
from sibp_ref.run.config import log_path

EPOCHS = 3


def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 40)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[:, rng.integers(0, 3, 40)]
    net = MLP([5, 4, 3])
    return net, net.init(seed=0, dtype="float32"), (X, Y)


def run(log: Path | None, **kw):
    net, p, data = problem()
    return train(net, BP(lr=0.1), p, data, epochs=EPOCHS, batch_size=10, log=log,
                 keep_checkpoint=True, **kw)  # fmt: skip


def without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def interrupted(tmp_path: Path) -> tuple[Path, Snapshot]:
    """A log whose checkpoint is of epoch 2 of 3, and that checkpoint."""
    log = tmp_path / "r.jsonl"
    net, p, data = problem()

    def stop(rec):
        if rec["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(net, BP(lr=0.1), p, data, epochs=EPOCHS, batch_size=10, log=log, callback=stop)
    return log, load_checkpoint(log.with_name("r.ckpt.npz"))


def wrong_shape(s):
    s.arrays[0] = np.zeros((5, 5), np.float32)


def wrong_dtype(s):
    s.arrays[:] = [a.astype(np.float64) if a.dtype == np.float32 else a for a in s.arrays]


def nan_weight(s):
    s.arrays[0] = s.arrays[0].copy()
    s.arrays[0][1, 1] = np.nan


def other_settings(s):
    s.meta["settings"] = {**s.meta["settings"], "seed": 7}


def lost_records(s):
    s.meta["records"] = s.meta["records"][:1]


DAMAGE = {
    "shape": (wrong_shape, "params[0] W has shape (5, 5) and dtype float32, the run's shape"),
    "dtype": (wrong_dtype, "dtype float32"),
    "nan": (nan_weight, "not finite"),
    "settings": (other_settings, "other settings"),
    "records": (lost_records, "records do not add up"),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_checkpoint_that_cannot_be_the_runs_is_set_aside_and_the_run_starts_over(kind, tmp_path):
    log, snap = interrupted(tmp_path)
    damage, says = DAMAGE[kind]
    damage(snap)
    ckpt = log.with_name("r.ckpt.npz")
    save_checkpoint(ckpt, snap)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = run(log)
    notes = [str(w.message) for w in caught if issubclass(w.category, RunNote)]
    assert len(notes) == 1 and str(ckpt) in notes[0] and says in notes[0], notes
    assert h.status == "finished" and h.end is not None
    assert without_time(h.records) == without_time(run(None).records)  # from epoch 0
    assert (tmp_path / "r.ckpt.npz.damaged").is_file()
    assert load_checkpoint(ckpt).meta["epoch"] == EPOCHS  # the new run's own


def test_an_unreadable_checkpoint_is_set_aside_too(tmp_path):
    log, _ = interrupted(tmp_path)
    log.with_name("r.ckpt.npz").write_bytes(b"not a zip")
    with pytest.warns(RunNote, match="r.ckpt.npz set aside as r.ckpt.npz.damaged"):
        h = run(log)
    assert without_time(h.records) == without_time(run(None).records)


def test_a_grid_sets_aside_a_damaged_checkpoint_its_worker_could_not_resume(tmp_path):
    cfg = RunConfig(method="sgd", hidden=(4,), epochs=2, n_train=60, batch_size=20)
    clean = run_grid([cfg], tmp_path / "clean")[0][1]
    path = log_path(tmp_path / "g", cfg)
    path.parent.mkdir()
    ckpt = path.with_name(path.stem + ".ckpt.npz")
    save_checkpoint(ckpt, Snapshot(meta={"settings": {"other": 1}}, arrays=[]))

    class Inline:  # an executor that runs each task here: the grid's parallel path
        def submit(self, fn, *args):
            import concurrent.futures as cf

            fut = cf.Future()
            fut.set_result(fn(*args))
            return fut

    with pytest.warns(RunNote, match="set aside .* other settings"):
        h = run_grid([cfg], tmp_path / "g", executor=Inline())[0][1]
    assert without_time(h.records) == without_time(clean.records)
    assert ckpt.with_name(ckpt.name + ".damaged").is_file()


def test_a_failed_checkpoint_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    ckpt = tmp_path / "r.ckpt.npz"
    save_checkpoint(ckpt, Snapshot(meta={"epoch": 1}, arrays=[np.ones(3)]))

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(ckpt, Snapshot(meta={"epoch": 2}, arrays=[np.ones(3)]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.ckpt.npz"]
    assert load_checkpoint(ckpt).meta["epoch"] == 1  # the old one, whole
