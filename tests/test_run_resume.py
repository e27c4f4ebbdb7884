"""Resume inside a run: an interrupted run, resumed from its checkpoint, gives the records
and final parameters of the same run never interrupted (bit for bit on NumPy)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sibp_ref.data import make_synthetic
from sibp_ref.methods import make_method
from sibp_ref.network import MLP
from sibp_ref.run import load_checkpoint, read_log, train
from sibp_ref.run.records import RunNote

ROOT = Path(__file__).resolve().parents[1]


class Interrupt(Exception):
    """Stands for a kill: raised from inside the loop after some epochs."""


def problem(loss="cross_entropy"):
    ds = make_synthetic(40, 20, d=6, num_classes=3, informative=3, spread=1.0, seed=1,
                        dtype="float64")  # fmt: skip
    net = MLP([6, 8, 3], loss=loss)
    return ds, net, net.init(seed=0, std=0.3, dtype="float64")


METHODS = [
    ("momentum", {"lr": 0.1}, "shuffle"),
    ("adam", {"lr": 0.01}, "replacement"),
    ("proxbp", {}, "shuffle"),
    ("sibp", {}, "replacement"),
    ("bcd", {}, "shuffle"),
]


def run(method, hyper, sampling, log=None, stop_after=None, epochs=5):
    ds, net, params = problem("square" if method == "bcd" else "cross_entropy")
    seen = []

    def cb(rec):
        seen.append(rec["epoch"])
        if stop_after is not None and rec["epoch"] == stop_after:
            raise Interrupt

    return train(net, make_method(method, **hyper), params, ds, epochs=epochs, batch_size=10,
                 sampling=sampling, seed=3, log=log, progress=False, callback=cb)  # fmt: skip


def without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def same_params(a, b):
    for (Wa, ba), (Wb, bb) in zip(a, b, strict=True):
        assert np.array_equal(np.asarray(Wa), np.asarray(Wb))
        assert np.array_equal(np.asarray(ba), np.asarray(bb))


@pytest.mark.parametrize("method, hyper, sampling", METHODS, ids=[m[0] for m in METHODS])
def test_a_run_interrupted_twice_and_resumed_equals_the_run_never_interrupted(
    tmp_path, method, hyper, sampling
):
    whole = run(method, hyper, sampling)
    log = tmp_path / "r.jsonl"
    with pytest.raises(Interrupt):
        run(method, hyper, sampling, log=log, stop_after=2)
    assert load_checkpoint(tmp_path / "r.ckpt.npz").meta["epoch"] == 2
    assert not (tmp_path / "r.lock").exists()
    with pytest.raises(Interrupt):  # the resumed run is interrupted again
        run(method, hyper, sampling, log=log, stop_after=3)
    done = run(method, hyper, sampling, log=log)
    assert done.status == "finished"
    assert without_time(done.records) == without_time(whole.records)
    same_params(done.params, whole.params)
    back = read_log(log)  # the log, read back, has each epoch once
    assert back.status == "finished"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    epochs = [ev["epoch"] for ev in lines if ev["event"] == "epoch"]
    assert epochs == list(range(6))  # one line per epoch, as a JSON-lines reader sees them
    assert [ev["event"] for ev in lines].count("start") == 1
    assert [ev["epoch"] for ev in lines if ev["event"] == "resume"] == [2, 3]
    assert without_time(back.records) == without_time(whole.records)
    assert [r["time"] for r in back.records] == [r["time"] for r in done.records]
    assert not (tmp_path / "r.ckpt.npz").exists()  # dropped once the run ended


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    log = tmp_path / "r.jsonl"
    with pytest.raises(Interrupt):
        run("adam", {"lr": 0.01}, "shuffle", log=log, stop_after=2)
    with pytest.warns(RunNote, match="written by a run of other settings"):
        other = run("adam", {"lr": 0.02}, "shuffle", log=log)  # same file, another run
    assert other.status == "finished"
    assert (tmp_path / "r.ckpt.npz.damaged").is_file()  # set aside, not deleted
    assert without_time(other.records) == without_time(run("adam", {"lr": 0.02}, "shuffle").records)


def test_keep_checkpoint_keeps_the_last_one(tmp_path):
    ds, net, params = problem()
    h = train(net, make_method("sgd"), params, ds, epochs=2, log=tmp_path / "k.jsonl",
              keep_checkpoint=True, progress=False)  # fmt: skip
    snap = load_checkpoint(tmp_path / "k.ckpt.npz")
    assert snap.meta["epoch"] == 2 and snap.meta["records"] == h.records


def test_a_checkpoint_loads_without_pickle(tmp_path):
    ds, net, params = problem()
    with pytest.raises(Interrupt):
        run("sibp", {}, "shuffle", log=tmp_path / "p.jsonl", stop_after=1)
    with np.load(tmp_path / "p.ckpt.npz", allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        assert all(z[k].dtype != object for k in z.files)
    assert meta["epoch"] == 1 and meta["state"]["t"] == "nt"


# 60 epochs of ~0.07 s: the signal goes at epoch 2, and with 15 epochs a loaded machine let
# the run finish its last 13 (~1 s) before the signal reached it (exit 0, not 130)
def cli(out, *extra):
    return [sys.executable, "-m", "sibp_ref", "train", "sibp", "--epochs", "60", "--n-train",
            "2000", "--hidden", "32", "-q", "--seed", "2", "--out", str(out), *extra]  # fmt: skip


def test_sigint_to_the_cli_then_the_same_command_goes_on_to_the_same_result(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run(cli(tmp_path / "a", "--keep-checkpoints"), env=env, check=True, timeout=300,
                   capture_output=True)  # fmt: skip

    # a test run started as a background job (``pytest &``) inherits SIGINT ignored, and a
    # Python started with it ignored never raises KeyboardInterrupt: give the child the default
    def default_sigint():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    p = subprocess.Popen(cli(tmp_path / "b", "--keep-checkpoints"), env=env,
                         stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ckpts = list((tmp_path / "b").glob("*.ckpt.npz"))
        if ckpts and load_checkpoint(ckpts[0]).meta["epoch"] >= 2:
            break
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode != 0, "the run finished before the signal reached it: lengthen it"
    assert p.returncode == 130 and "Traceback" not in err, err
    (log_b,) = (tmp_path / "b").glob("*.jsonl")
    assert read_log(log_b).status == "running"
    r = subprocess.run(cli(tmp_path / "b", "--keep-checkpoints"), env=env, timeout=300,
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    (log_a,) = (tmp_path / "a").glob("*.jsonl")
    assert log_a.name == log_b.name
    a, b = read_log(log_a), read_log(log_b)
    assert b.status == "finished" and without_time(a.records) == without_time(b.records)
    ca, cb = (load_checkpoint(p.with_name(p.stem + ".ckpt.npz")) for p in (log_a, log_b))
    for x, y in zip(ca.arrays, cb.arrays, strict=True):
        assert np.array_equal(x, y)
