"""The training loop every method shares, its records, and grids of runs that resume.

:func:`train` runs epochs of ``method.step`` on mini-batches (shuffled, or drawn with
replacement as the authors' code does) or on the full batch (BCD), and after every
epoch measures, on the **whole** training set (in chunks, to bound memory) and on the
test set: the loss and the accuracy, ``||∂J/∂W_1||`` (Fig. 7), optionally ``|Δw|``
(Fig. 3), and the wall time spent in the steps. A run whose loss stops being finite
ends and is marked ``diverged`` (Table 2's "/" entries). Each record is appended to a
JSON-lines log as it comes, after a header with the full settings, the seed, the
package versions and the backend, so an interrupted run keeps what it had.

:class:`RunConfig` is a run described by plain values (method name, data set name,
layer sizes, ...); :func:`run_config` builds and trains it, and :func:`run_grid` runs
many, skipping those whose log says they finished.

The loop never reads a device value back inside an epoch unless ``track_dw="step"``
asks for it, so on a GPU the steps queue without host synchronisation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import backend as B
from .datasets import Dataset

__all__ = [
    "History",
    "DivergedError",
    "train",
    "evaluate",
    "RunConfig",
    "run_config",
    "run_grid",
    "read_log",
]

SAMPLING = ("shuffle", "replacement")


class DivergedError(RuntimeError):
    """The loss became NaN or infinite (raised only with ``raise_on_divergence=True``)."""


@dataclass
class History:
    """What a run recorded: one dict per epoch (epoch 0 is before training).

    Keys of a record: ``epoch``, ``step`` (steps so far), ``time`` (seconds spent in
    steps so far), ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``,
    ``grad_norm_W1`` and, when tracked, ``dw`` (``||W_1^{new} − W_1^{old}||`` per step or per
    epoch). ``status`` is ``finished``, ``diverged`` or ``running``; ``params`` the final
    parameters (not written to the log).
    """

    settings: dict
    records: list = field(default_factory=list)
    status: str = "running"
    params: Any = None
    reason: str | None = None

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def final(self) -> dict:
        return self.records[-1] if self.records else {}

    def column(self, key: str) -> np.ndarray:
        """One metric over the epochs, NaN where a record lacks it."""
        return np.array(
            [r.get(key, np.nan) if r.get(key) is not None else np.nan for r in self.records],
            dtype=float,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        return read_log(path)


def read_log(path: str | os.PathLike) -> History:
    """A :class:`History` from a JSON-lines log (a cut-off last line is ignored)."""
    settings: dict = {}
    records: list = []
    status, reason = "running", None
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                break  # an interrupted write
            kind = ev.pop("event", None)
            if kind == "start":
                settings = ev.get("settings", {})
            elif kind == "epoch":
                records.append(ev)
            elif kind == "end":
                status = ev.get("status", "finished")
                reason = ev.get("reason")
    return History(settings=settings, records=records, status=status, reason=reason)


def environment(xp: Any) -> dict:
    """Versions and backend recorded in every log header."""
    from . import __version__

    name = B.backend_name(xp)
    env = {
        "sibp_ref": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "backend": name,
        "platform": platform.platform(),
    }
    lib = {"cupy": "cupy", "torch": "torch", "array_api_strict": "array_api_strict"}.get(name)
    if lib and lib in sys.modules:
        env[lib] = getattr(sys.modules[lib], "__version__", "?")
    return env


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    return repr(x)


class _Log:
    """Append-only JSON lines, flushed per record."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.f = None
        if path is not None:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            self.f = open(p, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, event: str, **fields: Any) -> None:
        if self.f is not None:
            self.f.write(json.dumps(_jsonable({"event": event, **fields})) + "\n")
            self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()


class _Progress:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self, enabled: bool | None, label: str, total: int) -> None:
        self.on = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.label, self.total, self.last = label, total, 0.0

    def update(self, epoch: int, done: int, steps: int, note: str = "", force=False) -> None:
        now = time.monotonic()
        if not self.on or (not force and now - self.last < 0.1):
            return
        self.last = now
        frac = done / max(steps, 1)
        bar = "#" * int(20 * frac) + "-" * (20 - int(20 * frac))
        sys.stderr.write(
            f"\r{self.label:>10} epoch {epoch}/{self.total} [{bar}] {note}"[:100] + "\033[K"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# ------------------------------------------------------------------ evaluation
def _split(data: Any) -> tuple[Any, Any, Any, Any]:
    if isinstance(data, Dataset):
        return data.X_train, data.Y_train, data.X_test, data.Y_test
    data = tuple(data)
    if len(data) == 2:
        return data[0], data[1], None, None
    if len(data) == 4:
        return data
    raise TypeError("data must be a Dataset, (X, Y) or (X_train, Y_train, X_test, Y_test)")


def evaluate(net, params, X, Y, *, chunk: int = 10000, grad: bool = False) -> dict:
    """Loss and accuracy of ``params`` on all columns of ``X`` (and ``||∂J/∂W_1||`` with
    ``grad``), computed ``chunk`` columns at a time; a mean loss is the mean over all."""
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


def _is_finite_params(params) -> bool:
    return all(B.is_finite(a) for pair in params for a in pair if a is not None)


def _sync(params) -> None:
    """Wait for queued device work (for honest wall times): one read-back per epoch."""
    B.to_float(params[-1][0][0, 0])


def _default_full_batch(method) -> bool:
    fb = getattr(method, "full_batch", None)
    if fb is not None:
        return bool(fb)
    from .methods import METHODS

    spec = METHODS.get(getattr(method, "name", ""))
    return bool(spec and spec.full_batch and spec.cls == type(method).__name__)


# ------------------------------------------------------------------ the loop
def train(
    net,
    method,
    params: list,
    data: Any,
    *,
    epochs: int = 10,
    batch_size: int = 100,
    sampling: str = "shuffle",
    full_batch: bool | None = None,
    steps_per_epoch: int | None = None,
    seed: int = 0,
    eval_chunk: int = 10000,
    grad_norm: bool = True,
    track_dw: str | None = None,
    log: str | os.PathLike | None = None,
    settings: dict | None = None,
    progress: bool | None = None,
    raise_on_divergence: bool = False,
    callback: Callable[[dict], Any] | None = None,
) -> History:
    """Train ``params`` of ``net`` with ``method`` on ``data``; return the :class:`History`.

    Parameters
    ----------
    data : Dataset, ``(X, Y)`` or ``(X_train, Y_train, X_test, Y_test)``; samples are columns.
    sampling : ``"shuffle"`` (every sample once per epoch, in a new order; the last batch
        may be smaller) or ``"replacement"`` (``n // batch_size`` batches drawn with
        replacement, as the SIBP authors' code).
    full_batch : every step on the whole training set (default: what the method says,
        True for BCD); an epoch is then ``steps_per_epoch`` steps (default 1).
    track_dw : None, ``"epoch"`` or ``"step"``: record ``||W_1^{new} − W_1^{old}||`` (Fig. 3).
        ``"step"`` reads one value back from the device per step.
    log : path of a JSON-lines log written as the run goes (header, epochs, end).
    settings : recorded in the log header beside the loop's own settings.
    progress : a progress bar on stderr (default: only when stderr is a terminal).
    """
    for nm, v in (("epochs", epochs), ("batch_size", batch_size), ("eval_chunk", eval_chunk)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if nm == "epochs" else 1):
            raise ValueError(f"{nm} must be a positive integer, got {v!r}")
    if sampling not in SAMPLING:
        raise ValueError(f"sampling must be one of {', '.join(SAMPLING)}, got {sampling!r}")
    if track_dw not in (None, "epoch", "step"):
        raise ValueError(f"track_dw must be None, 'epoch' or 'step', got {track_dw!r}")
    X, Y, Xt, Yt = _split(data)
    net.check_params(params)
    if X.shape[0] != net.sizes[0] or Y.shape[0] != net.sizes[-1]:
        raise ValueError(
            f"the network {net.sizes} does not match the data: {X.shape[0]} features and "
            f"{Y.shape[0]} classes (make the first size {X.shape[0]} and the last "
            f"{Y.shape[0]})"
        )
    if Y.shape[1] != X.shape[1]:
        raise ValueError(f"X has {X.shape[1]} samples but Y has {Y.shape[1]}")
    if full_batch is None:
        full_batch = _default_full_batch(method)
    xp = B.namespace(X)
    dev = B.device_of(X)
    n = int(X.shape[1])
    if full_batch:
        steps = steps_per_epoch or 1
    elif sampling == "shuffle":
        steps = math.ceil(n / batch_size)
    else:
        steps = max(n // batch_size, 1)
    run_settings = {
        **(settings or {}),
        "method": getattr(method, "name", type(method).__name__),
        "method_repr": repr(method),
        "net": repr(net),
        "sizes": list(net.sizes),
        "epochs": epochs,
        "batch_size": n if full_batch else batch_size,
        "sampling": "full" if full_batch else sampling,
        "steps_per_epoch": steps,
        "seed": seed,
        "n_train": n,
        "n_test": None if Xt is None else int(Xt.shape[1]),
        "dtype": str(X.dtype),
        "device": str(dev),
    }
    hist = History(settings=run_settings)
    logf = _Log(log)
    logf.write(
        "start",
        settings=run_settings,
        env=environment(xp),
        started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    rng = np.random.default_rng([seed, 1])
    bar = _Progress(progress, run_settings["method"], epochs)

    def measure(epoch: int, k: int, elapsed: float, dw: Any) -> dict:
        tr = evaluate(net, params, X, Y, chunk=eval_chunk, grad=grad_norm)
        rec = {
            "epoch": epoch,
            "step": k,
            "time": elapsed,
            "train_loss": tr["loss"],
            "train_acc": tr["acc"],
        }
        if grad_norm:
            rec["grad_norm_W1"] = tr["grad_norm_W1"]
        if Xt is not None:
            te = evaluate(net, params, Xt, Yt, chunk=eval_chunk)
            rec["test_loss"], rec["test_acc"] = te["loss"], te["acc"]
        if dw is not None:
            rec["dw"] = dw
        return rec

    def finish(status: str, reason: str | None = None) -> History:
        hist.status, hist.params, hist.reason = status, params, reason
        logf.write("end", status=status, epochs_done=len(hist.records) - 1, reason=reason)
        logf.close()
        bar.close()
        return hist

    def record(rec: dict) -> bool:
        hist.records.append(rec)
        logf.write("epoch", **rec)
        if callback is not None:
            callback(rec)
        return math.isfinite(rec["train_loss"])

    state = method.init(net, params)
    k, elapsed = 0, 0.0

    def run_epoch(epoch: int) -> dict:
        nonlocal params, state, k, elapsed
        W1_old = params[0][0]
        dws: Any = []
        t0 = time.perf_counter()
        if full_batch:
            batches: Iterable = ((X, Y) for _ in range(steps))
        elif sampling == "shuffle":  # one gather per epoch, then contiguous slices
            perm = B.asarray(rng.permutation(n), xp, device=dev)
            Xp, Yp = xp.take(X, perm, axis=1), xp.take(Y, perm, axis=1)
            batches = (
                (Xp[:, s : min(s + batch_size, n)], Yp[:, s : min(s + batch_size, n)])
                for s in range(0, n, batch_size)
            )
        else:  # with replacement, as the authors' code
            batches = (
                (xp.take(X, i, axis=1), xp.take(Y, i, axis=1))
                for i in (
                    B.asarray(rng.integers(0, n, batch_size), xp, device=dev) for _ in range(steps)
                )
            )
        for j, (Xb, Yb) in enumerate(batches):
            W1_prev = params[0][0]
            params, state = method.step(net, params, state, Xb, Yb)
            k += 1
            if track_dw == "step":  # a host read-back per step: only when asked
                dws.append(B.to_float(xp.linalg.vector_norm(params[0][0] - W1_prev)))
            bar.update(epoch, j + 1, steps)
        _sync(params)
        elapsed += time.perf_counter() - t0
        if track_dw == "epoch":
            dws = B.to_float(xp.linalg.vector_norm(params[0][0] - W1_old))
        return measure(epoch, k, elapsed, dws if track_dw else None)

    def diverged(why: str) -> History:
        finish("diverged", why)
        if raise_on_divergence:
            raise DivergedError(f"{run_settings['method']}: {why}")
        return hist

    if not record(measure(0, 0, 0.0, None)):
        return diverged("the initial training loss is not finite")
    for epoch in range(1, epochs + 1):
        try:
            rec = run_epoch(epoch)
        except Exception as exc:
            # overflow, a Cholesky that fails (in float32, huge but finite activations make
            # 2ĀĀᵀ + I/λ numerically indefinite), or a solver failing on non-finite
            # parameters: the run diverged; anything else on finite parameters is a bug
            breakdown = isinstance(exc, (ArithmeticError, RuntimeWarning)) or (
                type(exc).__name__.lstrip("_") == "LinAlgError"  # numpy, cupy, torch
            )
            if not (breakdown or not _is_finite_params(params)):
                logf.close()
                bar.close()
                raise
            record(
                {
                    "epoch": epoch,
                    "step": k,
                    "time": elapsed,
                    "train_loss": math.nan,
                    "train_acc": math.nan,
                }
            )
            return diverged(f"epoch {epoch}: {type(exc).__name__}: {exc}")
        ok = record(rec)
        bar.update(
            epoch,
            steps,
            steps,
            f"loss {rec['train_loss']:.4g} acc {rec.get('test_acc', rec['train_acc']):.3f}",
            force=True,
        )
        if not ok:
            return diverged(f"training loss {rec['train_loss']} after epoch {epoch}")
    return finish("finished")


# ------------------------------------------------------------------ runs by value
@dataclass
class RunConfig:
    """One run described by plain values, so that it can be logged, compared and resumed.

    ``hidden`` are the hidden layer sizes; input and output sizes come from the data.
    ``sizes``, when given, are all the layer sizes and must match the data.
    ``loss=None`` uses the method's required loss (square for BCD) or cross-entropy.
    """

    method: str = "sgd"
    hyper: dict = field(default_factory=dict)
    dataset: str = "synthetic"
    n_train: int | None = None
    subset: str = "first"
    hidden: Sequence[int] = (64, 64)
    sizes: Sequence[int] | None = None
    activation: str = "relu"
    loss: str | None = None
    init_std: float = 0.05
    epochs: int = 10
    batch_size: int = 100
    sampling: str = "shuffle"
    full_batch_n: int | None = None
    seed: int = 0
    backend: str = "numpy"
    dtype: str = "float32"
    data_dir: str | None = None
    eval_chunk: int = 10000
    track_dw: str | None = None

    def settings(self) -> dict:
        from .methods import hyper_of

        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        d["sizes"] = None if self.sizes is None else list(self.sizes)
        d["hyper"] = hyper_of(self.method, **self.hyper)
        d.pop("data_dir")  # where the files are does not change the run
        return d

    def key(self) -> str:
        """A file name that changes whenever a setting that matters changes."""
        h = hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode()).hexdigest()
        return f"{self.method}-{h[:10]}"


def _load_for(cfg: RunConfig, cache: dict | None) -> Dataset:
    from .datasets import load_dataset

    key = (cfg.dataset, cfg.n_train, cfg.subset, cfg.seed, cfg.backend, cfg.dtype, cfg.data_dir)
    if cache is not None and key in cache:
        return cache[key]
    ds = load_dataset(
        cfg.dataset,
        data_dir=cfg.data_dir,
        xp=cfg.backend,
        dtype=cfg.dtype,
        n_train=cfg.n_train,
        subset=cfg.subset,
        seed=cfg.seed,
    )
    if cache is not None:
        cache[key] = ds
    return ds


def run_config(
    cfg: RunConfig,
    *,
    log=None,
    progress=None,
    data: Dataset | None = None,
    cache: dict | None = None,
    raise_on_divergence: bool = False,
) -> History:
    """Build the data, network, parameters and method of ``cfg`` and train them."""
    from .methods import make_method, method_spec
    from .network import MLP

    spec = method_spec(cfg.method)
    method = make_method(cfg.method, **cfg.hyper)
    xp = B.get_backend(cfg.backend)
    ds = data if data is not None else _load_for(cfg, cache)
    if spec.full_batch and cfg.full_batch_n and cfg.full_batch_n < ds.n_train:
        ds = ds.subset(cfg.full_batch_n)
    loss = cfg.loss or spec.loss or "cross_entropy"
    if spec.loss and loss != spec.loss:
        raise ValueError(f"method {spec.name!r} needs loss {spec.loss!r}, got {loss!r}")
    sizes = [ds.n_features, *cfg.hidden, ds.num_classes]
    if cfg.sizes is not None:
        if (cfg.sizes[0], cfg.sizes[-1]) != (ds.n_features, ds.num_classes):
            raise ValueError(
                f"sizes {list(cfg.sizes)} do not match {cfg.dataset}: it has {ds.n_features} "
                f"features and {ds.num_classes} classes, so the sizes must start with "
                f"{ds.n_features} and end with {ds.num_classes}"
            )
        sizes = list(cfg.sizes)
    net = MLP(sizes, activation=cfg.activation, loss=loss)
    params = net.init(
        seed=cfg.seed, std=cfg.init_std, xp=xp, dtype=cfg.dtype, device=B.device_of(ds.X_train)
    )
    return train(
        net,
        method,
        params,
        ds,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        sampling=cfg.sampling,
        full_batch=spec.full_batch,
        seed=cfg.seed,
        eval_chunk=cfg.eval_chunk,
        track_dw=cfg.track_dw,
        log=log,
        settings={"config": cfg.settings(), "dataset": repr(ds), "dataset_info": ds.info},
        progress=progress,
        raise_on_divergence=raise_on_divergence,
    )


def run_grid(
    configs: Iterable[RunConfig],
    out_dir: str | os.PathLike,
    *,
    resume: bool = True,
    progress=None,
    on_skip: Callable[[RunConfig, Exception], Any] | None = None,
) -> list[tuple[RunConfig, History | None]]:
    """Run every config, logging each to ``out_dir/<key>.jsonl``.

    With ``resume``, a config whose log ends with a finished or diverged record is read
    back instead of run again. A config whose method is unavailable is skipped (``on_skip``
    is told, and its history is None) rather than stopping the grid.
    """
    from .methods import MethodUnavailable

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache: dict = {}
    results: list = []
    for cfg in configs:
        path = out / f"{cfg.key()}.jsonl"
        if resume and path.is_file():
            h = read_log(path)
            if h.status in ("finished", "diverged"):
                results.append((cfg, h))
                continue
        try:
            h = run_config(cfg, log=path, progress=progress, cache=cache)
        except MethodUnavailable as exc:
            if path.exists() and path.stat().st_size == 0:
                path.unlink()
            if on_skip is None:
                raise
            on_skip(cfg, exc)
            results.append((cfg, None))
            continue
        results.append((cfg, h))
    return results
