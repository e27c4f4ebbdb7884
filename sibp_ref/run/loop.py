"""The training loop every method shares, as small named pieces.

:func:`train` runs epochs of ``method.step`` on mini-batches (shuffled, or drawn with
replacement as the authors' code does) or on the full batch (BCD), and after every epoch
measures, on the **whole** training set (in chunks, to bound memory) and on the test set:
the loss and the accuracy, ``||∂J/∂W_1||`` (Fig. 7), optionally ``|Δw|`` (Fig. 3), and the
wall time spent in the steps.

The pieces: :func:`prepare` checks the inputs once and fixes what a run is (a :class:`Job`:
the net, the method, the initial parameters, the data, the :class:`Loop` and the settings the
log records); :func:`epochs` is the one driver of a run, single or in a grid: from a
checkpoint or from epoch 0 (:func:`first_state` measures it), one :func:`advance` after
another (:func:`epoch_batches`, ``method.step``, then :func:`measure`); the :class:`RunState`
between epochs is all a run needs to go on, and :func:`snapshot` / :func:`restore` turn it
into a checkpoint and back. :func:`run_job` writes each state to the run's files as it comes
(:func:`train` and :func:`sibp_ref.run.config.run_config` both end there); a grid's workers
(:func:`sibp_ref.run.grid.epoch_task`) send a few epochs back to the process that writes
them, through the same :func:`write_records`; so a run gives the same records and the same
log wherever it runs.

**Small named tuples, not long argument lists.** The loop's nine settings (epochs, batch
size, sampling, ...) are one value, a :class:`Loop`, and what a run is, one :class:`Job`; the
functions inside pass those, never the settings one by one. :func:`train` keeps the
keyword form of a Keras-like ``fit`` at its door — ``train(net, method, params, data,
epochs=5, batch_size=50)`` is ``train(net, method, params, data, loop=Loop(epochs=5,
batch_size=50))`` — because that is how the tutorials and most readers call it, and a
misspelt keyword is refused with the nearest name; only the door has the long list.

**Checks once, at the boundary.** A method's settings were checked when it was made;
:meth:`Loop.checked` checks the loop's settings,
:func:`~sibp_ref.run.inputs.check_inputs` the data and the parameters, and ``method.init``
whether the method can train this net, all in :func:`prepare`, before any file is touched;
after that the loop trusts its :class:`Job` (the steps get ``check=False``, the measurements
check nothing). A method that refuses the net raises :class:`CannotTrain`, which a grid may
skip with a note.

A run that breaks down ends and is marked ``diverged`` (Table 2's "/" entries), with its
reason: a step that raises on overflow, a failed factorisation or a NaN (in the inner solvers
too), parameters or method state that stop being finite, a training loss that is not finite,
or one that grows past :data:`GROWTH` times its start (:func:`blown_up`). Its last record has
no metric of the broken network, and the history keeps the last good parameters.

The loop never reads a device value back inside an epoch unless ``track_dw="step"`` asks for
it, so on a GPU the steps queue without host synchronisation.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import backend as B
from ..validation import check_choice, check_int
from .checkpoint import Snapshot, flatten, unflatten
from .env import environment
from .files import RunFiles
from .inputs import check_inputs
from .progress import Progress
from .records import History, jsonable

__all__ = [
    "CannotTrain",
    "DivergedError",
    "Data",
    "Job",
    "Loop",
    "Output",
    "RunState",
    "train",
    "run_job",
    "evaluate",
    "prepare",
    "first_state",
    "advance",
    "epochs",
    "snapshot",
    "restore",
    "history",
    "write_epochs",
    "method_needs",
    "SAMPLING",
    "TRACK_DW",
    "LEAST",
]

#: The loop's choices and the least value of each of its integer settings: the one table
#: :meth:`Loop.checked` and :class:`~sibp_ref.run.config.RunConfig`'s check both read.
SAMPLING = ("shuffle", "replacement")
TRACK_DW = (None, "epoch", "step")
LEAST = {"epochs": 0, "batch_size": 1, "seed": 0, "eval_chunk": 1, "steps_per_epoch": 1}

#: A run whose training loss, measured after an epoch, exceeds ``GROWTH * max(L_0, 1)`` (``L_0``
#: the loss before training) has blown up: finite numbers, but no trained network (float32
#: ProxBP or SIBP at η = 1e10, λ = 1e6 take the loss from 2.8 to about 5e25). The most any
#: committed run grows, over every log in ``tutorials/results/**/*.jsonl``, is 27 times its
#: start (SGD at the paper's largest learning rates, which the paper counts as trained), so
#: this bound flags none of them, with a margin of over 10⁴.
GROWTH = 1e6


class DivergedError(RuntimeError):
    """The loss became NaN or infinite (raised only with ``raise_on_divergence=True``)."""


class CannotTrain(ValueError):
    """The method refused this net or these parameters when the run started (its ``init``
    raised ValueError: BCD is for dense networks, a per-layer λ needs one entry per layer).
    A grid with ``on_skip`` skips such a run with a note; anything else raises it."""


class Loop(NamedTuple):
    """The loop's settings: how a run is cut into steps and epochs, and what is measured.

    ``sampling``: ``"shuffle"`` (every sample once per epoch, in a new order; the last batch
    may be smaller) or ``"replacement"`` (``n // batch_size`` batches drawn with replacement,
    as the SIBP authors' code). ``full_batch``: every step on the whole training set
    (default None: what the method says, True for BCD); an epoch is then ``steps_per_epoch``
    steps (default 1). ``eval_chunk``: columns measured at a time. ``grad_norm``: record
    ``||∂J/∂W_1||`` (Fig. 7). ``track_dw``: None, ``"epoch"`` or ``"step"``: record
    ``||W_1^{new} − W_1^{old}||`` (Fig. 3); ``"step"`` reads one value back per step.
    """

    epochs: int = 10
    batch_size: int = 100
    sampling: str = "shuffle"
    full_batch: bool | None = None
    steps_per_epoch: int | None = None
    seed: int = 0
    eval_chunk: int = 10000
    grad_norm: bool = True
    track_dw: str | None = None

    def checked(self) -> Loop:
        """The settings, each checked once (ValueError or TypeError naming it); integers
        of any kind come back as Python ints."""
        given = {nm: getattr(self, nm) for nm in LEAST}
        if given["steps_per_epoch"] is None:  # None: the default, 1 step (full batch)
            del given["steps_per_epoch"]
        out = {nm: check_int(nm, v, LEAST[nm]) for nm, v in given.items()}
        check_choice("sampling", self.sampling, SAMPLING)
        if self.track_dw is not None:
            check_choice("track_dw", self.track_dw, TRACK_DW[1:])
        return self._replace(**out)


class Data(NamedTuple):
    """A run's data, samples as columns; no test set: ``X_test = Y_test = None``."""

    X: Any
    Y: Any
    X_test: Any = None
    Y_test: Any = None


@dataclass(frozen=True)
class Job:
    """What a run is, fixed for its whole length: the net, the method, the initial
    parameters, the data, the loop (``full_batch`` and ``steps_per_epoch`` resolved), the
    settings its log records, and ``start``, the method's state before the first step (also
    the form a checkpoint's state is read into)."""

    net: Any
    method: Any
    params: list
    data: Data
    loop: Loop
    settings: dict
    start: Any

    @property
    def step_kw(self) -> dict:
        """``check=False`` where ``step`` takes it: :func:`prepare` checked the data."""
        try:
            takes = "check" in inspect.signature(self.method.step).parameters
        except (TypeError, ValueError):
            takes = False
        return {"check": False} if takes else {}


class Output(NamedTuple):
    """Where a run's records go: its files (None: nowhere), whether it goes on from their
    checkpoint, the progress bar, and a callback told each new record."""

    files: RunFiles | None = None
    resume: bool = True
    bar: Progress | None = None
    callback: Callable[[dict], Any] | None = None


@dataclass
class RunState:
    """A run between two epochs: everything it needs to go on.

    ``good_params`` are the last finite parameters, measured after epoch ``good_epoch``.
    """

    epoch: int
    step: int
    elapsed: float
    params: list
    state: Any
    rng: np.random.Generator
    records: list
    good_params: list
    good_epoch: int
    status: str = "running"
    reason: str | None = None
    diverged_at: dict | None = None
    resumed: bool = False
    discarded: str | None = None  # why the checkpoint offered could not be this run's


class _StepFailed(Exception):
    """A step raised: the parameters it was given and the step's number ride along."""

    def __init__(self, params: list, step: int) -> None:
        self.params, self.step = params, step


# ------------------------------------------------------------------ evaluation
def evaluate(net, params, X, Y, *, chunk: int = 10000, grad: bool = False) -> dict:
    """Loss and accuracy of ``params`` on all columns of ``X`` (and ``||∂J/∂W_1||`` with
    ``grad``), computed ``chunk`` columns at a time; a mean loss is the mean over all.

    The inputs are checked as :func:`train` checks them (shapes, one dtype, finite values,
    targets that suit the loss, at least one sample): ValueError or TypeError naming them.
    """
    chunk = check_int("chunk", chunk, 1)
    check_inputs(net, params, X, Y)
    return _evaluate(net, params, X, Y, chunk=chunk, grad=grad)


def _evaluate(net, params, X, Y, *, chunk: int, grad: bool) -> dict:
    """:func:`evaluate` without the checks (the loop checked its data once, up front)."""
    xp = B.namespace(X)
    n = int(X.shape[1])
    mean = getattr(net.loss_fn, "reduction", "mean") == "mean"
    loss = correct = gW = None
    for s in range(0, n, chunk):
        e = min(s + chunk, n)  # the standard leaves out-of-range slice ends unspecified
        Xc, Yc = X[:, s:e], Y[:, s:e]
        w = Xc.shape[1] / n if mean else 1.0  # chunk means → mean over all
        G, F = net.forward(params, Xc, check=False)
        lc = net.loss_fn.value(F[-1], Yc) * w
        cc = xp.sum(xp.astype(xp.argmax(F[-1], axis=0) == xp.argmax(Yc, axis=0), X.dtype))
        loss = lc if loss is None else loss + lc
        correct = cc if correct is None else correct + cc
        if grad:
            dW1 = net.backward(params, G, F, Yc)[0][0][0] * w
            gW = dW1 if gW is None else gW + dW1
    out = {"loss": B.to_float(loss), "acc": B.to_float(correct) / n}
    if grad:
        out["grad_norm_W1"] = B.to_float(xp.linalg.vector_norm(gW))
    return out


def measure(job: Job, params: list, epoch: int, step: int, elapsed: float, dw: Any) -> dict:
    """The record of one epoch: metrics of ``params`` on the training and test sets."""
    d, chunk, grad = job.data, job.loop.eval_chunk, job.loop.grad_norm
    tr = _evaluate(job.net, params, d.X, d.Y, chunk=chunk, grad=grad)
    rec = {"epoch": epoch, "step": step, "time": elapsed}
    rec["train_loss"], rec["train_acc"] = tr["loss"], tr["acc"]
    if grad:
        rec["grad_norm_W1"] = tr["grad_norm_W1"]
    if d.X_test is not None:
        te = _evaluate(job.net, params, d.X_test, d.Y_test, chunk=chunk, grad=False)
        rec["test_loss"], rec["test_acc"] = te["loss"], te["acc"]
    if dw is not None:
        rec["dw"] = dw
    return rec


def _diverged_record(job: Job, epoch: int, step: int, elapsed: float, loss: float) -> dict:
    """A record of a broken network: the loss that broke it, and no other metric."""
    rec = {"epoch": epoch, "step": step, "time": elapsed, "train_loss": loss}
    rec["train_acc"] = math.nan
    if job.loop.grad_norm:
        rec["grad_norm_W1"] = math.nan
    if job.data.X_test is not None:
        rec["test_loss"] = rec["test_acc"] = math.nan
    rec["diverged"] = True
    return rec


def _finite_params(params) -> bool:
    return all(B.is_finite(a) for pair in params for a in pair if a is not None)


def _finite_tree(obj: Any) -> bool:
    """Every array and float in a method's state (NamedTuples, lists, dicts) is finite."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return True
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite_tree(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(_finite_tree(v) for v in obj)
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return "float" not in str(obj.dtype) or B.is_finite(obj)
    return True


def blown_up(loss: float, start: float) -> bool:
    """The training loss ``loss`` is past :data:`GROWTH` times ``max(start, 1)``."""
    return loss > GROWTH * max(start, 1.0)


# ------------------------------------------------------------------ one epoch
def epoch_batches(job: Job, rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
    """The batches of one epoch, drawing from ``rng`` in the loop's fixed order: one
    permutation per epoch (shuffle), or ``batch_size`` indices per step (replacement)."""
    (X, Y, _, _), lp = job.data, job.loop
    n, bs, xp, dev = int(X.shape[1]), lp.batch_size, B.namespace(X), B.device_of(X)
    if lp.full_batch:
        for _ in range(lp.steps_per_epoch):
            yield X, Y
    elif lp.sampling == "shuffle":  # one gather per epoch, then contiguous slices
        perm = B.asarray(rng.permutation(n), xp, device=dev)
        Xp, Yp = xp.take(X, perm, axis=1), xp.take(Y, perm, axis=1)
        for s in range(0, n, bs):
            yield Xp[:, s : min(s + bs, n)], Yp[:, s : min(s + bs, n)]
    else:  # with replacement, as the authors' code
        for _ in range(lp.steps_per_epoch):
            i = B.asarray(rng.integers(0, n, bs), xp, device=dev)
            yield xp.take(X, i, axis=1), xp.take(Y, i, axis=1)


def _train_epoch(job: Job, rs: RunState, epoch: int, bar: Progress):
    """``method.step`` over one epoch's batches: (params, state, steps so far, seconds, Δw)."""
    xp, kw = B.namespace(job.data.X), job.step_kw
    track, steps = job.loop.track_dw, job.loop.steps_per_epoch
    params, state, k, dws = rs.params, rs.state, rs.step, []
    t0 = time.perf_counter()
    for j, (Xb, Yb) in enumerate(epoch_batches(job, rs.rng)):
        W1_prev = params[0][0]
        try:
            params, state = job.method.step(job.net, params, state, Xb, Yb, **kw)
        except Exception as exc:
            raise _StepFailed(params, k + 1) from exc
        k += 1
        if track == "step":  # a host read-back per step: only when asked
            dws.append(B.to_float(xp.linalg.vector_norm(params[0][0] - W1_prev)))
        bar.update(epoch, j + 1, steps)
    B.to_float(params[-1][0][0, 0])  # wait for queued device work: honest wall times
    seconds = time.perf_counter() - t0
    if track == "epoch":
        dws = B.to_float(xp.linalg.vector_norm(params[0][0] - rs.params[0][0]))
    return params, state, k, seconds, dws if track else None


def _is_breakdown(exc: BaseException, params: list) -> bool:
    """Overflow, a Cholesky that fails (in float32, huge but finite activations make
    2ĀĀᵀ + I/λ numerically indefinite), or any failure on non-finite parameters: the run
    diverged, and so is a ValueError about a NaN or an infinity (``int()`` or ``math.floor``
    of a NaN inside an inner solver). Anything else on finite parameters is a bug, and is
    raised."""
    linalg = type(exc).__name__.lstrip("_") == "LinAlgError"  # numpy, cupy, torch
    nan = isinstance(exc, ValueError) and any(w in str(exc).lower() for w in ("nan", "inf"))
    return (
        isinstance(exc, (ArithmeticError, RuntimeWarning))
        or linalg
        or nan
        or not _finite_params(params)
    )


def _diverge(rs: RunState, rec: dict, why: str) -> RunState:
    at = {"epoch": rec["epoch"], "step": rec["step"]}
    return dataclasses.replace(
        rs, records=[*rs.records, rec], status="diverged", reason=why, diverged_at=at
    )


def advance(job: Job, rs: RunState, bar: Progress | None = None) -> RunState:
    """One more epoch of ``rs`` and its record (the last of ``.records``); a run that breaks
    down comes back with ``status="diverged"`` and its last finite parameters kept."""
    bar = bar or Progress(False, "", job.loop.epochs)
    epoch = rs.epoch + 1
    try:
        params, state, k, secs, dw = _train_epoch(job, rs, epoch, bar)
    except _StepFailed as failed:
        exc = failed.__cause__
        if not _is_breakdown(exc, failed.params):
            raise exc from None
        rec = _diverged_record(job, epoch, failed.step, rs.elapsed, math.nan)
        return _diverge(rs, rec, f"epoch {epoch}, step {failed.step}: {type(exc).__name__}: {exc}")
    elapsed = rs.elapsed + secs
    rs = dataclasses.replace(rs, epoch=epoch, step=k, elapsed=elapsed, params=params, state=state)
    for what, ok in (("parameters", _finite_params(params)), ("method state", _finite_tree(state))):
        if not ok:
            rec = _diverged_record(job, epoch, k, elapsed, math.nan)
            return _diverge(rs, rec, f"epoch {epoch} (by step {k}): the {what} are not finite")
    try:
        rec = measure(job, params, epoch, k, elapsed, dw)
    except (ArithmeticError, RuntimeWarning) as exc:  # overflow in the loss: diverged
        rec = _diverged_record(job, epoch, k, elapsed, math.nan)
        return _diverge(rs, rec, f"epoch {epoch} (by step {k}): {type(exc).__name__}: {exc}")
    loss, start = rec["train_loss"], rs.records[0]["train_loss"]
    if not math.isfinite(loss) or blown_up(loss, start):
        why = f"epoch {epoch} (by step {k}): training loss {loss:.4g}"
        if math.isfinite(loss):
            why += f", over {GROWTH:.0e} times max(its start {start:.4g}, 1)"
        return _diverge(rs, _diverged_record(job, epoch, k, elapsed, loss), why)
    note = f"loss {rec['train_loss']:.4g} acc {rec.get('test_acc', rec['train_acc']):.3f}"
    bar.update(epoch, job.loop.steps_per_epoch, job.loop.steps_per_epoch, note, force=True)
    status = "finished" if epoch >= job.loop.epochs else "running"
    return dataclasses.replace(
        rs, records=[*rs.records, rec], good_params=params, good_epoch=epoch, status=status
    )


def first_state(job: Job) -> RunState:
    """The run before its first step: epoch 0 measured, the batch generator seeded."""
    rng, params = np.random.default_rng([job.loop.seed, 1]), job.params
    rs = RunState(0, 0, 0.0, params, job.start, rng, [], params, 0)
    rec = measure(job, params, 0, 0, 0.0, None)
    if not math.isfinite(rec["train_loss"]):
        rec = _diverged_record(job, 0, 0, 0.0, rec["train_loss"])
        return _diverge(rs, rec, "the initial training loss is not finite")
    status = "running" if job.loop.epochs else "finished"
    return dataclasses.replace(rs, records=[rec], status=status)


def epochs(job: Job, snap: Snapshot | None, bar: Progress | None = None) -> Iterator[RunState]:
    """The run, epoch by epoch: the one driver of every run, single or in a grid.

    The first state is the start: the checkpoint ``snap`` when it can be this run's
    (``resumed``; :func:`_restore_checked`), else epoch 0 measured, with ``discarded`` saying
    why a checkpoint offered could not be resumed; then one state per :func:`advance`, until the run
    has finished or diverged. The caller writes each state's last record where it wants.
    """
    rs, why = (None, None) if snap is None else _restore_checked(snap, job)
    if rs is None:
        rs = dataclasses.replace(first_state(job), discarded=why)
    yield rs
    rs = dataclasses.replace(rs, resumed=False, discarded=None)
    while rs.status == "running":
        rs = advance(job, rs, bar)
        yield rs


# ------------------------------------------------------------------ checkpoints
def snapshot(rs: RunState, settings: dict) -> Snapshot:
    """``rs`` as a checkpoint: parameters, method state, generator state, counts, records."""
    arrays: list = []
    memo: dict = {}
    meta = {
        "settings": jsonable(settings),
        "epoch": rs.epoch,
        "step": rs.step,
        "elapsed": rs.elapsed,
        "rng": rs.rng.bit_generator.state,
        "records": rs.records,
        "params": flatten(rs.params, arrays, memo),
        "state": flatten(rs.state, arrays, memo),
    }
    return Snapshot(meta=meta, arrays=arrays)


def restore(snap: Snapshot, job: Job) -> RunState:
    """The :class:`RunState` a checkpoint holds, on the backend and device of ``job``'s data."""
    xp, dev = B.namespace(job.data.X), B.device_of(job.data.X)
    m = snap.meta
    params = unflatten(m["params"], snap.arrays, None, xp, dev)
    params = [tuple(p) for p in params]
    state = unflatten(m["state"], snap.arrays, job.start, xp, dev)
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = m["rng"]
    status = "running" if m["epoch"] < job.loop.epochs else "finished"
    return RunState(m["epoch"], m["step"], m["elapsed"], params, state, rng, m["records"],
                    params, m["epoch"], status=status, resumed=True)  # fmt: skip


def _restore_checked(snap: Snapshot, job: Job):
    """``(state, None)`` from a checkpoint that can belong to this run, else ``(None, why)``:
    other settings, another layout, parameters of other shapes or dtypes than the run's,
    non-finite values, or counts that do not add up."""
    m, params = snap.meta, job.params
    if m.get("settings") != _as_json(job.settings):
        return None, "it was written by a run of other settings"
    try:
        rs = restore(snap, job)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return None, f"it does not hold this run's state ({type(exc).__name__}: {exc})"
    if len(rs.params) != len(params):
        return None, f"it holds {len(rs.params)} layers, the run has {len(params)}"
    for i, (got, want) in enumerate(zip(rs.params, params, strict=True)):
        for nm, a, b in zip("Wb", got, want, strict=False):
            if (a is None) != (b is None) or (
                a is not None and (tuple(a.shape), a.dtype) != (tuple(b.shape), b.dtype)
            ):
                return None, f"its params[{i}] {nm} has {_describe(a)}, the run's {_describe(b)}"
    if not (_finite_params(rs.params) and _finite_tree(rs.state)):
        return None, "its parameters or method state are not finite"
    if len(rs.records) != rs.epoch + 1 or not 0 <= rs.epoch <= job.loop.epochs:
        return None, f"its {len(rs.records)} records do not add up to epoch {rs.epoch}"
    return rs, None


def _describe(a: Any) -> str:
    return "no array" if a is None else f"shape {tuple(a.shape)} and dtype {a.dtype}"


def _as_json(settings: dict) -> Any:
    """``settings`` as a checkpoint's JSON holds them (tuples as lists, NaN as null)."""
    return json.loads(json.dumps(jsonable(settings)))


def history(rs: RunState, settings: dict, *, host: bool = False) -> History:
    """The :class:`History` of a run that ended (or stopped) in ``rs``; ``host``: its
    parameters as NumPy arrays (what a grid's worker sends back)."""
    params = rs.good_params
    if host:
        params = [tuple(None if a is None else B.to_numpy(a) for a in p) for p in params]
    return History(
        settings=settings,
        records=list(rs.records),
        status=rs.status,
        params=params,
        reason=rs.reason,
        params_epoch=rs.good_epoch,
        end=end_fields(rs) if rs.status != "running" else None,
    )


def end_fields(rs: RunState) -> dict:
    """What the log's end record says: status, epochs done, why, where it broke."""
    out = {"status": rs.status, "epochs_done": len(rs.records) - 1, "reason": rs.reason}
    if rs.diverged_at is not None:
        out["diverged_at"] = rs.diverged_at
        out["params_epoch"] = rs.good_epoch
    return out


# ------------------------------------------------------------------ a run
def _split(data: Any) -> Data:
    if all(hasattr(data, a) for a in ("X_train", "Y_train", "X_test", "Y_test")):
        return Data(data.X_train, data.Y_train, data.X_test, data.Y_test)
    data = tuple(data)
    if len(data) in (2, 4):
        return Data(*data)
    raise TypeError("data must be a Dataset, (X, Y) or (X_train, Y_train, X_test, Y_test)")


def method_needs(method: Any) -> tuple[bool, str | None]:
    """``(full_batch, required_loss)`` of a method, from its class (methods/base.py); a
    method without them is read as ``(False, None)``."""
    return bool(getattr(method, "full_batch", False)), getattr(method, "required_loss", None)


def _resolved(loop: Loop, method: Any, n: int) -> Loop:
    """``loop`` as the run does it: ``full_batch`` decided (None: what the method says) and
    ``steps_per_epoch`` counted for ``n`` training samples."""
    full = method_needs(method)[0] if loop.full_batch is None else bool(loop.full_batch)
    if full:
        steps = loop.steps_per_epoch or 1
    elif loop.sampling == "shuffle":
        steps = math.ceil(n / loop.batch_size)
    else:
        steps = max(n // loop.batch_size, 1)
    return loop._replace(full_batch=full, steps_per_epoch=steps)


def _run_settings(net, method, params, data: Data, loop: Loop, given: dict | None) -> dict:
    """What the log's start line records: the caller's ``given`` settings and the loop's own;
    a given entry the loop sets too must agree with it (ValueError)."""
    n, full = int(data.X.shape[1]), loop.full_batch
    own = {
        "method": getattr(method, "name", type(method).__name__),
        "method_repr": repr(method),
        "net": repr(net),
        "sizes": list(net.sizes),
        "epochs": loop.epochs,
        "batch_size": n if full else loop.batch_size,
        "sampling": "full" if full else loop.sampling,
        "steps_per_epoch": loop.steps_per_epoch,
        "seed": loop.seed,
        "n_train": n,
        "n_test": None if data.X_test is None else int(data.X_test.shape[1]),
        "dtype": str(params[0][0].dtype).rpartition(".")[2],  # "float32", on every backend
        "device": str(B.device_of(data.X)),
    }
    given = given or {}
    clash = sorted(k for k, v in given.items() if k in own and v != own[k])
    if clash:  # the log would silently say the loop's value instead of the caller's
        raise ValueError(
            "settings: " + ", ".join(f"{k}={given[k]!r}" for k in clash) + " would be "
            "overwritten by the run's own "
            + ", ".join(f"{k}={own[k]!r}" for k in clash)
            + "; name the caller's entries otherwise (e.g. 'variant')"
        )
    return {**given, **own}


def prepare(net, method, params, data, loop: Loop | None = None, settings=None) -> Job:
    """Check a run's inputs once and fix it as a :class:`Job`: the loop's settings
    (:meth:`Loop.checked`), the data and parameters (:func:`check_inputs`), then
    ``method.init``, which refuses a net the method cannot train (:class:`CannotTrain`).
    ``settings``: what the log records beside the loop's own."""
    loop, d = (loop or Loop()).checked(), _split(data)
    check_inputs(net, params, *d)
    loop = _resolved(loop, method, int(d.X.shape[1]))
    try:
        start = method.init(net, params)
    except ValueError as exc:
        raise CannotTrain(str(exc)) from exc
    run_settings = _run_settings(net, method, params, d, loop, settings)
    return Job(net, method, params, d, loop, run_settings, start)


def write_epochs(files: RunFiles | None, rs: RunState, settings: dict, new: list) -> None:
    """Log the ``new`` records of a run now in ``rs`` (:func:`write_records`)."""
    if files is None:
        return
    snap = snapshot(rs, settings) if new and rs.status != "diverged" else None
    write_records(files, new, snap, None if rs.status == "running" else end_fields(rs))


def write_records(files: RunFiles, new: list, snap: Snapshot | None, end: dict | None) -> None:
    """Log ``new`` records, replacing the checkpoint by ``snap`` (the state after the last of
    them; None for a run that diverged) before the first, and the ``end`` record if any."""
    for i, rec in enumerate(new):
        files.epoch(rec, snap if i == 0 else None)
    if end is not None:
        files.end(**end)


def _drive(job: Job, out: Output) -> RunState:
    """Run ``job`` to its end through :func:`epochs`, logging each epoch to ``out.files``."""
    files, settings = out.files, job.settings
    snap = files.checkpoint() if files is not None and out.resume else None
    for i, rs in enumerate(epochs(job, snap, out.bar)):
        new = rs.records[-1:]
        if i == 0:  # the start: open the log
            if files is not None and rs.discarded:
                files.discard_checkpoint(rs.discarded)
            if files is not None:
                env = environment(B.namespace(job.data.X))
                files.begin(settings, env, rs.records if rs.resumed else [])
            new = [] if rs.resumed else rs.records
        write_epochs(files, rs, settings, new)
        for rec in new if out.callback is not None else ():
            out.callback(rec)
    return rs


def run_job(
    job: Job,
    *,
    log: str | os.PathLike | None = None,
    progress: bool | None = None,
    callback: Callable[[dict], Any] | None = None,
    resume: bool = True,
    keep_checkpoint: bool = False,
    raise_on_divergence: bool = False,
) -> History:
    """Run ``job`` to its end and return its :class:`History` (the keywords: :func:`train`'s).

    With a ``log``, the run holds its lock while it runs, and a run that has ended there
    (perhaps in another process, before this one held the lock) is read back, not run."""
    files = RunFiles.at(log, keep_checkpoint)
    bar = Progress(progress, job.settings["method"], job.loop.epochs)
    try:
        if files is not None:
            files.open()
        h = files.ended() if files is not None and resume else None
        if h is None:
            h = history(_drive(job, Output(files, resume, bar, callback)), job.settings)
    finally:
        bar.close()
        if files is not None:
            files.close()
    if h.diverged and raise_on_divergence and not h.read_back:
        raise DivergedError(f"{job.settings['method']}: {h.reason}")
    return h


#: :func:`train`'s own keywords, beside the loop's settings (:class:`Loop`).
_TRAIN_KEYWORDS = ("loop", "log", "settings", "progress", "callback", "resume",
                   "keep_checkpoint", "raise_on_divergence")  # fmt: skip


def _loop_of(loop: Loop | None, given: dict) -> Loop:
    """``loop`` (default :class:`Loop`) with the settings ``given`` as keywords of
    :func:`train`; a keyword that is no setting is refused with the nearest name."""
    for k in given:
        if k not in Loop._fields:
            near = difflib.get_close_matches(k, [*Loop._fields, *_TRAIN_KEYWORDS], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise TypeError(
                f"train() got an unexpected keyword argument {k!r}{hint}; it takes the "
                f"loop's settings {', '.join(Loop._fields)} and {', '.join(_TRAIN_KEYWORDS)}"
            )
    if loop is not None and not isinstance(loop, Loop):
        raise TypeError(f"loop must be a Loop (sibp_ref.run.Loop), got {type(loop).__name__}")
    return (loop or Loop())._replace(**given)


def train(
    net,
    method,
    params: list,
    data: Any,
    *,
    loop: Loop | None = None,
    log: str | os.PathLike | None = None,
    settings: dict | None = None,
    progress: bool | None = None,
    callback: Callable[[dict], Any] | None = None,
    resume: bool = True,
    keep_checkpoint: bool = False,
    raise_on_divergence: bool = False,
    **loop_settings: Any,
) -> History:
    """Train ``params`` of ``net`` with ``method`` on ``data``; return the :class:`History`.

    Parameters
    ----------
    data : Dataset, ``(X, Y)`` or ``(X_train, Y_train, X_test, Y_test)``; samples are columns.
    loop : the loop's settings, a :class:`Loop`; each of its fields may be given as a
        keyword instead, or on top (``epochs=10, batch_size=100, sampling="shuffle",
        full_batch=None, steps_per_epoch=None, seed=0, eval_chunk=10000, grad_norm=True,
        track_dw=None``; see :class:`Loop` for what each means).
    log : path of a JSON-lines log, appended to as the run goes (header, epochs, end); beside
        it a checkpoint after every epoch and a lock while the run is written.
    settings : recorded in the log header beside the loop's own settings; an entry that
        the loop sets too (``method``, ``seed``, ...) must agree with it (ValueError).
    progress : a progress bar on stderr (default: only when stderr is a terminal).
    callback : called with each new record, epoch 0 included.
    resume : go on from the checkpoint beside ``log`` when it is of the same settings; the
        records and parameters are those of the run never interrupted.
    keep_checkpoint : keep the checkpoint of a run that ended (default: deleted).
    raise_on_divergence : raise :class:`DivergedError` when the run diverges.
    """
    job = prepare(net, method, params, data, _loop_of(loop, loop_settings), settings)
    return run_job(
        job, log=log, progress=progress, callback=callback, resume=resume,
        keep_checkpoint=keep_checkpoint, raise_on_divergence=raise_on_divergence,
    )  # fmt: skip
