"""The training loop, its logs and grids, and the method registry."""

from __future__ import annotations

import json
import math
import re
from typing import NamedTuple

import numpy as np
import pytest

from sibp_ref import BP, MLP
from sibp_ref import backend as B
from sibp_ref.data import make_synthetic
from sibp_ref.run import (
    DivergedError,
    Loop,
    RunConfig,
    RunNote,
    evaluate,
    read_log,
    run_grid,
    train,
)


def small(xp="numpy", dtype="float64", n=50):
    ds = make_synthetic(
        n, 20, d=6, num_classes=3, informative=3, spread=1.0, seed=1, xp=xp, dtype=dtype
    )
    net = MLP([6, 8, 3])
    return ds, net, net.init(seed=0, std=0.3, xp=xp, dtype=dtype)


class Seen(NamedTuple):
    batches: list


class Recorder:
    """A method that does not learn: it records which samples each step saw (the first
    feature row is overwritten with the sample's index)."""

    name = "recorder"

    def __init__(self, full_batch=None):
        if full_batch is not None:
            self.full_batch = full_batch

    def init(self, net, params):
        return Seen([])

    def step(self, net, params, state, X, Y):
        state.batches.append(np.asarray(B.to_numpy(X[0, :])).round().astype(int).tolist())
        return params, state


def indexed(ds):
    X = np.asarray(ds.X_train).copy()
    X[0, :] = np.arange(X.shape[1])
    return X, np.asarray(ds.Y_train)


# ------------------------------------------------------------------ batches
def test_shuffled_epochs_use_every_sample_once_in_a_new_order():
    ds, net, params = small(n=53)
    X, Y = indexed(ds)
    seen = []
    m = Recorder()
    m.init = lambda net, p: seen.append(Seen([])) or seen[-1]
    h = train(net, m, params, (X, Y), epochs=2, batch_size=10, progress=False, seed=5)
    assert h.final["step"] == 12
    b = seen[0].batches
    assert [len(x) for x in b] == [10, 10, 10, 10, 10, 3] * 2
    e1, e2 = sum(b[:6], []), sum(b[6:], [])
    assert sorted(e1) == sorted(e2) == list(range(53))
    assert e1 != e2 and e1 != list(range(53))


def test_sampling_with_replacement_draws_n_over_batch_batches():
    ds, net, params = small(n=50)
    X, Y = indexed(ds)
    seen = []
    m = Recorder()
    m.init = lambda net, p: seen.append(Seen([])) or seen[-1]
    train(net, m, params, (X, Y), epochs=3, batch_size=7, sampling="replacement", progress=False)
    b = seen[0].batches
    assert len(b) == 3 * (50 // 7) and all(len(x) == 7 for x in b)
    flat = sum(b, [])
    assert len(set(flat)) < len(flat)  # 147 draws from 50 samples repeat some


def test_full_batch_methods_see_the_whole_training_set_each_step():
    ds, net, params = small(n=30)
    X, Y = indexed(ds)
    seen = []
    m = Recorder(full_batch=True)
    m.init = lambda net, p: seen.append(Seen([])) or seen[-1]
    h = train(net, m, params, (X, Y), epochs=4, batch_size=7, progress=False)
    assert seen[0].batches == [list(range(30))] * 4
    assert h.settings["sampling"] == "full" and h.settings["batch_size"] == 30


# ------------------------------------------------------------------ metrics
def test_epoch_zero_metrics_equal_the_networks_own_loss_accuracy_and_gradient():
    ds, net, params = small(n=50)
    h = train(net, BP(lr=0.5), params, ds, epochs=2, batch_size=10, eval_chunk=7, progress=False)
    r0 = h.records[0]
    assert r0["train_loss"] == pytest.approx(
        float(net.loss(params, ds.X_train, ds.Y_train)), rel=1e-12
    )
    assert r0["train_acc"] == pytest.approx(net.accuracy(params, ds.X_train, ds.Y_train))
    assert r0["test_acc"] == pytest.approx(net.accuracy(params, ds.X_test, ds.Y_test))
    gW1 = net.gradient(params, ds.X_train, ds.Y_train)[0][0]
    assert r0["grad_norm_W1"] == pytest.approx(float(np.linalg.norm(gW1)), rel=1e-12)
    # and the last record is measured at the returned parameters
    assert h.final["train_loss"] == pytest.approx(
        float(net.loss(h.params, ds.X_train, ds.Y_train)), rel=1e-12
    )
    assert [r["epoch"] for r in h.records] == [0, 1, 2]
    assert h.records[2]["time"] >= h.records[1]["time"] > 0


def test_chunked_evaluation_equals_one_pass_for_sum_losses_too():
    ds, _, _ = small(n=50)
    net = MLP([6, 8, 3], loss="square", loss_reduction="sum")
    params = net.init(seed=2, std=0.3, dtype="float64")
    a = evaluate(net, params, ds.X_train, ds.Y_train, chunk=7, grad=True)
    b = evaluate(net, params, ds.X_train, ds.Y_train, chunk=1000, grad=True)
    assert a["loss"] == pytest.approx(float(net.loss(params, ds.X_train, ds.Y_train)))
    assert a["loss"] == pytest.approx(b["loss"]) and a["acc"] == b["acc"]
    assert a["grad_norm_W1"] == pytest.approx(b["grad_norm_W1"])


def test_dw_per_step_is_the_change_of_W1_each_step():
    ds, net, params = small(n=40)

    class Shift:
        """Adds a known matrix to W_1 each step: ||ΔW_1|| is its norm."""

        name = "shift"

        def init(self, net, params):
            return None

        def step(self, net, params, state, X, Y):
            (W, b), *rest = params
            return [(W + 0.01, b), *rest], state

    h = train(net, Shift(), params, ds, epochs=2, batch_size=10, track_dw="step", progress=False)
    want = 0.01 * math.sqrt(8 * 6)
    assert h.records[1]["dw"] == pytest.approx([want] * 4)
    h = train(net, Shift(), params, ds, epochs=2, batch_size=10, track_dw="epoch", progress=False)
    assert h.records[2]["dw"] == pytest.approx(4 * want)


# ------------------------------------------------------------------ divergence
def exploding():
    """A linear net with square loss and a far too large step: SGD blows up."""
    ds, _, _ = small(n=50)
    net = MLP([6, 8, 3], activation="identity", loss="square")
    return ds, net, net.init(seed=0, std=0.3, dtype="float64")


def test_a_diverging_run_stops_and_is_marked_not_raised(tmp_path):
    ds, net, params = exploding()
    h = train(
        net,
        BP(lr=5.0),
        params,
        ds,
        epochs=20,
        batch_size=10,
        progress=False,
        log=tmp_path / "d.jsonl",
    )
    assert h.diverged and len(h.records) < 21
    assert not math.isfinite(h.final["train_loss"])
    assert read_log(tmp_path / "d.jsonl").status == "diverged"
    with pytest.raises(DivergedError):
        train(
            net,
            BP(lr=5.0),
            params,
            ds,
            epochs=20,
            batch_size=10,
            progress=False,
            raise_on_divergence=True,
        )


def test_a_step_that_fails_on_nan_parameters_counts_as_divergence():
    ds, net, params = small(n=20)

    class Breaks:
        name = "breaks"

        def init(self, net, params):
            return 0

        def step(self, net, params, state, X, Y):
            if state == 1:
                raise np.linalg.LinAlgError("not positive definite")
            (W, b), *rest = params
            return [(W * math.nan, b), *rest], 1

    h = train(net, Breaks(), params, ds, epochs=3, batch_size=5, progress=False)
    assert h.diverged


def test_a_failed_cholesky_on_finite_parameters_counts_as_divergence():
    """SIBP with η = 1000 on the synthetic set in float32 makes the activations so large
    that the last layer's SPD solve fails on finite parameters (tutorial 05)."""
    ds, net, params = small(n=20)

    class Indefinite:
        name = "indefinite"

        def init(self, net, params):
            return None

        def step(self, net, params, state, X, Y):
            raise np.linalg.LinAlgError("90-th leading minor is not positive definite")

    h = train(net, Indefinite(), params, ds, epochs=2, progress=False)
    assert h.diverged and "LinAlgError" in h.reason


def test_an_error_on_finite_parameters_is_raised():
    ds, net, params = small(n=20)

    class Bug:
        name = "bug"

        def init(self, net, params):
            return None

        def step(self, net, params, state, X, Y):
            raise KeyError("a real bug")

    with pytest.raises(KeyError):
        train(net, Bug(), params, ds, epochs=1, progress=False)


# ------------------------------------------------------------------ logs and grids
def test_the_log_holds_settings_versions_and_every_epoch(tmp_path):
    ds, net, params = small(n=30)
    log = tmp_path / "sub" / "r.jsonl"
    h = train(
        net,
        BP(lr=0.1),
        params,
        ds,
        epochs=2,
        batch_size=10,
        seed=9,
        log=log,
        settings={"note": "x"},
        progress=False,
    )
    lines = [json.loads(s) for s in log.read_text().splitlines()]
    assert [e["event"] for e in lines] == ["start", "epoch", "epoch", "epoch", "end"]
    s = lines[0]
    assert s["settings"]["seed"] == 9 and s["settings"]["note"] == "x"
    assert s["env"]["backend"] == "numpy" and s["env"]["numpy"] == np.__version__
    back = read_log(log)
    assert back.status == "finished" and back.records == h.records
    # a run cut off mid-line keeps what it had
    log.write_text("\n".join(log.read_text().splitlines()[:3]) + '\n{"event": "epo')
    with pytest.warns(RunNote, match="torn last line"):
        cut = read_log(log)
    assert cut.status == "running" and len(cut.records) == 2


def test_a_grid_resumes_skipping_finished_runs(tmp_path, monkeypatch):
    import sibp_ref.run.grid as T

    cfgs = [
        RunConfig(method="sgd", hidden=(8,), epochs=1, dataset="synthetic", n_train=60),
        RunConfig(method="adam", hidden=(8,), epochs=1, dataset="synthetic", n_train=60),
    ]
    first = run_grid(cfgs, tmp_path)
    assert [h.status for _, h in first] == ["finished", "finished"]
    # cut the second log as an interruption would: only that run is done again
    p = tmp_path / f"{cfgs[1].key()}.jsonl"
    p.write_text("\n".join(p.read_text().splitlines()[:2]) + "\n")
    ran = []
    real = T.run_config
    monkeypatch.setattr(T, "run_config", lambda c, **k: ran.append(c.method) or real(c, **k))
    again = run_grid(cfgs, tmp_path)
    assert ran == ["adam"]
    assert again[0][1].records == first[0][1].records
    assert cfgs[0].key() != RunConfig(method="sgd", hidden=(8,), epochs=2, n_train=60).key()


def test_sizes_that_do_not_match_the_data_are_a_value_error():
    ds, _, _ = small()
    net = MLP([7, 8, 3])
    with pytest.raises(ValueError, match="does not match the data: 6 features"):
        train(net, BP(), net.init(), ds, epochs=1)
    from sibp_ref.run import run_config

    with pytest.raises(ValueError, match="must start with 32 and end with 10"):
        run_config(RunConfig(sizes=(30, 10), n_train=20, epochs=1))


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"epochs": -1}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"sampling": "bootstrap"}, "sampling"),
        ({"track_dw": "always"}, "track_dw"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"eval_chunk": 0}, "eval_chunk must be an integer >= 1, got 0"),
        ({"steps_per_epoch": 0}, "steps_per_epoch must be an integer >= 1, got 0"),
        ({"epochs": 2.0}, "epochs must be an integer >= 0, got 2.0"),
    ],
)
def test_bad_loop_arguments_are_value_errors(kw, match):
    ds, net, params = small()
    with pytest.raises(ValueError, match=match):
        train(net, BP(), params, ds, **kw)
    with pytest.raises(ValueError, match=match):  # the same check for the loop as one value
        train(net, BP(), params, ds, loop=Loop(**kw))


def test_the_loop_as_one_value_is_the_loop_by_keywords():
    """``loop=Loop(...)`` and the same settings as keywords are one run; keywords given on
    top of a ``loop`` change those settings and no other."""
    ds, net, params = small()
    by_kw = train(net, BP(lr=0.5), params, ds, epochs=2, batch_size=10, seed=3, grad_norm=False)
    one = train(net, BP(lr=0.5), params, ds, loop=Loop(epochs=2, batch_size=10, seed=3,
                                                      grad_norm=False))  # fmt: skip
    on_top = train(net, BP(lr=0.5), params, ds, loop=Loop(epochs=5, batch_size=10, seed=3),
                   epochs=2, grad_norm=False)  # fmt: skip
    for h in (one, on_top):
        assert h.settings == by_kw.settings
        assert [{k: v for k, v in r.items() if k != "time"} for r in h.records] == [
            {k: v for k, v in r.items() if k != "time"} for r in by_kw.records
        ]
    assert len(by_kw.records) == 3 and "grad_norm_W1" not in by_kw.records[0]


def test_a_misspelt_keyword_of_train_names_the_nearest():
    ds, net, params = small()
    with pytest.raises(
        TypeError, match="unexpected keyword argument 'epoch' .did you mean 'epochs'"
    ):
        train(net, BP(), params, ds, epoch=2)
    with pytest.raises(TypeError, match="did you mean 'keep_checkpoint'"):
        train(net, BP(), params, ds, keep_checkpoints=True)
    with pytest.raises(TypeError, match="loop must be a Loop"):
        train(net, BP(), params, ds, loop={"epochs": 2})


def test_the_loop_runs_on_every_backend_in_float32(xp):
    ds, net, params = small(xp=xp, dtype="float32", n=40)
    h = train(
        net,
        BP("momentum", lr=0.5, momentum=0.9),
        params,
        ds,
        epochs=8,
        batch_size=10,
        sampling="replacement",
        progress=False,
    )
    assert h.status == "finished"
    assert h.final["train_loss"] < 0.9 * h.records[0]["train_loss"]


def test_the_progress_bar_writes_only_when_asked(capsys):
    ds, net, params = small(n=30)
    train(net, BP(), params, ds, epochs=2, batch_size=10, progress=True)
    assert "epoch 2/2" in capsys.readouterr().err
    train(net, BP(), params, ds, epochs=2, batch_size=10)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""


# ------------------------------------------------------ the run checks what the step checks
def checks_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 40))
    Y = np.eye(3)[:, rng.integers(0, 3, 40)]
    net = MLP([5, 4, 3])
    return net, net.init(seed=0, dtype="float64"), X, Y


def test_train_refuses_the_targets_bp_step_refuses():
    net, p, X, Y = checks_problem()
    with pytest.raises(ValueError, match="probability columns") as step_err:
        BP(lr=0.1).step(net, p, BP(lr=0.1).init(net, p), X, -Y)
    with pytest.raises(ValueError) as train_err:
        train(net, BP(lr=0.1), p, (X, -Y), epochs=1)
    assert str(train_err.value) == str(step_err.value)
    with pytest.raises(ValueError, match="^Y_test: .*probability columns"):
        train(net, BP(lr=0.1), p, (X, Y, X, -Y), epochs=1)


def test_evaluate_refuses_nan_no_samples_bad_targets_and_chunk():
    net, p, X, Y = checks_problem()
    Xn = X.copy()
    Xn[2, 7] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN at \[2, 7\]"):
        evaluate(net, p, Xn, Y)
    with pytest.raises(ValueError, match="X has no samples"):
        evaluate(net, p, X[:, :0], Y[:, :0])
    with pytest.raises(ValueError, match="probability columns"):
        evaluate(net, p, X, -Y)
    with pytest.raises(ValueError, match="chunk must be an integer >= 1, got 0"):
        evaluate(net, p, X, Y, chunk=0)
    out = evaluate(net, p, X, Y, chunk=7)  # chunked: the mean over all columns
    F = net.forward(p, X)[1][-1]
    lse = np.log(np.sum(np.exp(F - F.max(0)), axis=0)) + F.max(0)
    assert out["loss"] == pytest.approx(float(np.mean(lse - np.sum(Y * F, axis=0))), rel=1e-12)


@pytest.mark.parametrize(
    "field, value",
    [("subset", "bogus"), ("sampling", "sorted"), ("dtype", "float16"), ("track_dw", "always"),
     ("loss", "hinge"), ("n_train", 0), ("n_train", 2.5), ("hidden", (4, 0)), ("hidden", "64"),
     ("sizes", (5,)), ("init_std", -1.0), ("init_std", "xavier"), ("epochs", -1),
     ("batch_size", 0), ("batch_size", True), ("full_batch_n", 0), ("seed", -3),
     ("eval_chunk", 0), ("hyper", [("lr", 1)]), ("method", ""), ("net", 3)],
)  # fmt: skip
def test_every_run_config_field_is_checked_on_the_generated_data(field, value):
    got = re.escape(repr(value))
    with pytest.raises(ValueError, match=f"RunConfig {field} must be .*got {got}"):
        RunConfig(dataset="synthetic", **{field: value})
