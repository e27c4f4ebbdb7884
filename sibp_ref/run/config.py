"""A run described by plain values (:class:`RunConfig`), and how to build and train it.

The config's :meth:`RunConfig.key` names its log: the same settings always give the same
file, so a grid finds the runs it has done. The key hashes the settings in their normal form
(:meth:`RunConfig.settings`: the method's hyper-parameters through
:func:`sibp_ref.methods.hyper_of`, numbers as the type of their field), so ``eta=10`` and
``eta=10.0`` are one run with one log. A config already in normal form has the key it always
had; a log written under the key of the settings as given (:meth:`RunConfig.legacy_key`, the
scheme before the normal form) is found by :func:`log_path` and used where it lies.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import backend as B
from .loop import LEAST, SAMPLING, TRACK_DW, Job, Loop, method_needs, prepare, run_job
from .records import History

__all__ = [
    "ConfigError",
    "RunConfig",
    "run_config",
    "log_path",
    "build_job",
    "load_for",
    "method_needs",
    "Job",
]


class ConfigError(ValueError):
    """A :class:`RunConfig` field no run could use: ``field``, what it takes (``want``) and
    the ``value`` given, so that the command line can say it under its option's name."""

    def __init__(self, field: str, want: str, value: Any) -> None:
        super().__init__(f"RunConfig {field} must be {want}, got {value!r}")
        self.field, self.want, self.value = field, want, value


@dataclass
class RunConfig:
    """One run described by plain values, so that it can be logged, compared and resumed.

    ``hidden`` are the hidden layer sizes; input and output sizes come from the data.
    ``sizes``, when given, are all the layer sizes and must match the data.
    ``loss=None`` uses the method's required loss (square for BCD) or cross-entropy.
    ``init_std`` is the standard deviation of N(0, s), or ``"fan_in"`` for 1/√fan-in per
    layer (:meth:`sibp_ref.network.Network.init`; the command line's default for the nets).
    ``net``, when given, names a network of :data:`sibp_ref.nets.NETS` (``"lenet5"``,
    ``"lenet-cifar"``) used instead of the MLP; ``hidden``, ``sizes`` and ``activation``
    then do not apply (``sizes`` must be left unset), and the data must have the net's
    input and output sizes. A config without a net has the settings and key it has always had.
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
    init_std: float | str = 0.05
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
    net: str | None = None

    def __post_init__(self) -> None:
        _check_config(self)

    def settings(self) -> dict:
        """The settings that make the run, in normal form: what its key hashes."""
        from ..data import canonical_name
        from ..methods import hyper_of, method_spec

        d = self._fields()
        d["method"] = method_spec(self.method).name
        d["dataset"] = canonical_name(self.dataset)
        d["hyper"] = hyper_of(self.method, **self.hyper)
        for name, f in self.__dataclass_fields__.items():
            if f.type.startswith(("int", "float")) and _is_number(d.get(name)):
                d[name] = (float if f.type.startswith("float") else int)(d[name])
        for name in ("hidden", "sizes"):
            if d.get(name) is not None:
                d[name] = [int(v) for v in d[name]]
        return d

    def _fields(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        d["sizes"] = None if self.sizes is None else list(self.sizes)
        d.pop("data_dir")  # where the files are does not change the run
        if self.net is None:
            d.pop("net")  # so that the key of an MLP run is that of the logs already written
        else:
            for name in ("hidden", "sizes", "activation"):  # the named net fixes these
                d.pop(name)
        return d

    def key(self) -> str:
        """A file name that changes whenever a setting that matters changes."""
        d = self.settings()
        return _key(d["method"], d)

    def legacy_key(self) -> str:
        """The key of the settings as given, with the registry's defaults filled but nothing
        normalised: the scheme of the logs written before the normal form."""
        from ..methods import method_spec

        d = self._fields()
        d["hyper"] = {**method_spec(self.method).defaults, **self.hyper}
        return _key(self.method, d)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any, least: int) -> bool:
    """An integer ``>= least``; an integral float too (the normal form makes it an int)."""
    return _is_number(v) and float(v).is_integer() and v >= least


def _sizes_ok(v: Any, least: int) -> bool:
    return (
        not isinstance(v, (str, bytes))
        and isinstance(v, Sequence)
        and len(v) >= least
        and all(_is_int(h, 1) for h in v)
    )


#: field: (allowed values, or a test, and what the message says is expected)
_CHOICES = {
    "subset": ("first", "random"),
    "sampling": SAMPLING,
    "dtype": ("float32", "float64"),
    "track_dw": TRACK_DW,
    "loss": (None, "cross_entropy", "square"),
}
_TESTS = {
    "method": (lambda v: isinstance(v, str) and v != "", "a method name"),
    "hyper": (
        lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),
        "a dict of hyper-parameters by name",
    ),  # fmt: skip
    "dataset": (lambda v: isinstance(v, str) and v != "", "a data set name"),
    "n_train": (lambda v: v is None or _is_int(v, 1), "None or an integer >= 1"),
    "hidden": (lambda v: _sizes_ok(v, 0), "a sequence of integers >= 1"),
    "sizes": (lambda v: v is None or _sizes_ok(v, 2), "None or >= 2 integers >= 1"),
    "activation": (lambda v: isinstance(v, str) and v != "", "an activation name"),
    "init_std": (
        lambda v: v == "fan_in" or (_is_number(v) and v > 0 and math.isfinite(v)),
        "a finite number > 0 or 'fan_in'",
    ),  # fmt: skip
    "full_batch_n": (lambda v: v is None or _is_int(v, 1), "None or an integer >= 1"),
    "backend": (lambda v: isinstance(v, str) and v != "", "a backend name"),
    "data_dir": (lambda v: v is None or isinstance(v, (str, os.PathLike)), "None or a path"),
    "net": (lambda v: v is None or (isinstance(v, str) and v != ""), "None or a net name"),
}
# the loop's integer settings, by the loop's own table (an integral float is taken: the
# normal form makes it an int before the loop sees it)
_TESTS.update(
    {
        nm: (lambda v, least=least: _is_int(v, least), f"an integer >= {least}")
        for nm, least in LEAST.items()
        if nm in RunConfig.__dataclass_fields__
    }
)


def _check_config(cfg: RunConfig) -> None:
    """Refuse a field no run could use, whatever the data set: ValueError naming the field,
    what it takes and what it was given (names are checked by their registries later)."""
    for name, allowed in _CHOICES.items():
        v = getattr(cfg, name)
        if v not in allowed or isinstance(v, bool):
            raise ConfigError(name, "one of " + ", ".join(repr(a) for a in allowed), v)
    for name, (ok, want) in _TESTS.items():
        v = getattr(cfg, name)
        if not ok(v):
            raise ConfigError(name, want, v)


def _key(method: str, settings: dict) -> str:
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return f"{method}-{h[:10]}"


def log_path(out_dir: str | os.PathLike, cfg: RunConfig) -> Path:
    """Where the log of ``cfg`` is in ``out_dir``: ``<key>.jsonl``, or the log (and beside
    it the checkpoint and lock) of the same run under its :meth:`RunConfig.legacy_key` when
    only that one exists. That log is used where it lies, not renamed: a process of the
    older code may be writing it under its lock, which this process then respects."""
    new = Path(out_dir) / f"{cfg.key()}.jsonl"
    old = new.with_name(f"{cfg.legacy_key()}.jsonl")
    if new != old and not new.exists() and (old.exists() or old.with_suffix(".lock").exists()):
        return old
    return new


def load_for(cfg: RunConfig, cache: dict | None) -> Any:
    """The data set of ``cfg``; ``cache`` (a dict the caller owns) reuses loaded ones."""
    from ..data import load_dataset

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


def _sizes(cfg: RunConfig, ds: Any) -> list[int]:
    sizes = [ds.n_features, *cfg.hidden, ds.num_classes]
    if cfg.sizes is not None:
        if (cfg.sizes[0], cfg.sizes[-1]) != (ds.n_features, ds.num_classes):
            raise ValueError(
                f"sizes {list(cfg.sizes)} do not match {cfg.dataset}: it has {ds.n_features} "
                f"features and {ds.num_classes} classes, so the sizes must start with "
                f"{ds.n_features} and end with {ds.num_classes}"
            )
        sizes = list(cfg.sizes)
    return sizes


def _named_net(cfg: RunConfig, ds: Any, loss: str) -> Any:
    """The network ``cfg.net`` of :mod:`sibp_ref.nets`, checked against the data set."""
    from ..nets import get_net

    if cfg.sizes is not None:
        raise ValueError(
            f"sizes {list(cfg.sizes)} and net {cfg.net!r} both given; the net fixes its "
            "layer sizes, so leave sizes unset"
        )
    net = get_net(cfg.net, loss)
    n_in, n_out = net.sizes[0], net.sizes[-1]
    if (n_in, n_out) != (ds.n_features, ds.num_classes):
        first = net.layer(0)
        shape = "×".join(str(v) for v in (first.c_in, first.height, first.width))
        raise ValueError(
            f"net {cfg.net!r} takes {shape} images ({n_in} features) in {n_out} classes, "
            f"but {cfg.dataset} has {ds.n_features} features and {ds.num_classes} classes; "
            f"use {_net_for(ds.n_features)}"
        )
    return net


def _net_for(n_features: int) -> str:
    """What to pass for data with ``n_features`` features (the hint of a mismatch)."""
    from ..nets import NETS

    for name, make in NETS.items():
        if make().sizes[0] == n_features:
            return f"net={name!r} for this data set, or no net (an MLP)"
    return "no net (an MLP) for this data set"


def build_job(cfg: RunConfig, *, data: Any = None, cache: dict | None = None) -> Job:
    """The :class:`~.loop.Job` of ``cfg``, checked (:func:`~.loop.prepare`): its method, its
    data (``data``, or loaded; ``cache``, a dict the caller owns, reuses loaded data sets),
    its network and initial parameters, the loop's settings and what the log records."""
    from ..methods import make_method

    method = make_method(cfg.method, **cfg.hyper)  # a bad setting fails before any data is read
    full_batch, needs_loss = method_needs(method)
    ds = data if data is not None else load_for(cfg, cache)
    if full_batch and cfg.full_batch_n and cfg.full_batch_n < ds.n_train:
        ds = ds.subset(cfg.full_batch_n)
    net = _net(cfg, ds, needs_loss)
    params = net.init(
        seed=cfg.seed,
        std=cfg.init_std,
        xp=B.get_backend(cfg.backend),
        dtype=cfg.dtype,
        device=B.device_of(ds.X_train),
    )
    s = cfg.settings()  # the normal form: integral numbers as ints
    loop = Loop(epochs=s["epochs"], batch_size=s["batch_size"], sampling=cfg.sampling,
                full_batch=full_batch, seed=s["seed"], eval_chunk=s["eval_chunk"],
                track_dw=cfg.track_dw)  # fmt: skip
    logged = {"config": s, "dataset": repr(ds), "dataset_info": ds.info}
    return prepare(net, method, params, ds, loop, logged)


def _net(cfg: RunConfig, ds: Any, needs_loss: str | None) -> Any:
    """The network of ``cfg`` for the data set ``ds``, with the loss the method needs."""
    from ..network import MLP

    loss = cfg.loss or needs_loss or "cross_entropy"
    if needs_loss and loss != needs_loss:
        raise ValueError(f"method {cfg.method!r} needs loss {needs_loss!r}, got {loss!r}")
    if cfg.net is not None:
        return _named_net(cfg, ds, loss)
    return MLP(_sizes(cfg, ds), activation=cfg.activation, loss=loss)


def run_config(
    cfg: RunConfig,
    *,
    log=None,
    progress=None,
    data: Any = None,
    cache: dict | None = None,
    raise_on_divergence: bool = False,
    resume: bool = True,
    keep_checkpoint: bool = False,
) -> History:
    """Build the run of ``cfg`` (:func:`build_job`) and run it (:func:`~.loop.run_job`); with
    a ``log``, go on from its checkpoint when there is one (``resume``)."""
    return run_job(
        build_job(cfg, data=data, cache=cache),
        log=log,
        progress=progress,
        raise_on_divergence=raise_on_divergence,
        resume=resume,
        keep_checkpoint=keep_checkpoint,
    )
