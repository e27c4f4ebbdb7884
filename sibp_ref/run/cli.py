"""The command line: ``sibp-ref compare`` (the main job), ``train``, ``fetch``, ``list``.

``sibp-ref compare`` with no arguments trains SGD, Adam, ProxBP, BCD and SIBP on a
generated problem that needs no download, prints a table and writes a PNG with the
training loss and the test accuracy per epoch and per second. Errors are one line
with the fix and a non-zero exit status; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

DEFAULT_OUT = Path("runs")


def _main_job():
    from ..methods import MAIN_JOB

    return MAIN_JOB


#: Options that become method hyper-parameters when given (None = method default).
HYPER_OPTIONS = {
    "lr": float,
    "momentum": float,
    "eta": float,
    "lam": float,
    "solver": str,
    "iters": int,
    "l1": float,
    "last_layer": str,
    "gamma": float,
    "rho": float,
    "alpha": float,
}


class CLIError(Exception):
    """A user error with a one-line message."""


def _ints(text: str) -> list[int]:
    try:
        out = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, got {text!r}"
        ) from None
    if any(v < 1 for v in out):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return out


def _std(text: str) -> float | str:
    if text == "fan_in":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or fan_in, got {text!r}") from None


def _kv(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    for conv in (int, float):
        try:
            return k.strip().replace("-", "_"), conv(v)
        except ValueError:
            pass
    return k.strip().replace("-", "_"), {"true": True, "false": False}.get(v.lower(), v)


def _net_names() -> list[str]:
    from ..nets import NETS

    return list(NETS)


def _common(p: argparse.ArgumentParser, *, compare: bool) -> None:
    _data_options(p)
    _training_options(p)
    _hyper_options(p, compare=compare)
    _output_options(p, compare=compare)


def _data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data and network")
    g.add_argument(
        "--dataset",
        default="synthetic",
        help="synthetic (default, generated), mnist, fashion-mnist, cifar10",
    )
    g.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="use only this many training samples (the paper: 10000 MNIST, 2000 Fashion-MNIST)",
    )
    g.add_argument(
        "--subset",
        choices=("first", "random"),
        default="first",
        help="which training samples --n-train keeps",
    )
    g.add_argument(
        "--hidden",
        type=_ints,
        default=None,
        help="hidden layer sizes, e.g. 500 or 600,600 (default: 64,64 on synthetic, 500 otherwise)",
    )
    g.add_argument(
        "--sizes",
        type=_ints,
        default=None,
        help="all layer sizes instead of --hidden, e.g. 784,500,10 (checked against the data)",
    )
    g.add_argument("--activation", default="relu")
    g.add_argument(
        "--net",
        default=None,
        help="a convolutional network by name instead of the MLP of --hidden/--sizes "
        "(lenet5: 1x28x28 images, MNIST; lenet-cifar: 3x32x32, CIFAR-10)",
    )
    g.add_argument(
        "--init-std",
        type=_std,
        default=None,
        help="weights and biases ~ N(0, s), s a standard deviation, or fan_in for "
        "1/sqrt(fan-in) per layer (default 0.05 for an MLP, fan_in with --net)",
    )
    g.add_argument(
        "--data-dir",
        default=None,
        help="folder holding the data set files (else $SIBP_REF_DATA, the cache, ...)",
    )


def _training_options(p: argparse.ArgumentParser) -> None:
    from .loop import SAMPLING, TRACK_DW  # the loop's own choices

    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=None, help="default 20 (compare), 10 (train)")
    g.add_argument("--batch-size", type=int, default=100)
    g.add_argument(
        "--sampling",
        choices=SAMPLING,
        default="shuffle",
        help="mini-batches: a shuffled pass, or drawn with replacement (authors)",
    )
    g.add_argument(
        "--bcd-n",
        type=int,
        default=None,
        help="full-batch methods (BCD) train on the first N samples only",
    )
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--backend", default="numpy", help="numpy (default), cupy, torch, array_api_strict"
    )
    g.add_argument(
        "--dtype",
        default=None,
        choices=("float32", "float64"),
        help="default float32; the main job's (compare on its data set) float64",
    )
    g.add_argument(
        "--track-dw",
        choices=TRACK_DW[1:],
        default=None,
        help="record ||W_1 new - W_1 old|| per epoch or per step (Fig. 3)",
    )


def _hyper_options(p: argparse.ArgumentParser, *, compare: bool) -> None:
    g = p.add_argument_group("hyper-parameters (default: the method's; see `sibp-ref list`)")
    for name, typ in HYPER_OPTIONS.items():
        g.add_argument("--" + name.replace("_", "-"), type=typ, default=None, dest=name)
    g.add_argument(
        "-p",
        "--param",
        type=_kv,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other hyper-parameter"
        + ("; METHOD.KEY=VALUE for one method only" if compare else ""),
    )


def _output_options(p: argparse.ArgumentParser, *, compare: bool) -> None:
    g = p.add_argument_group("output and resuming")
    g.add_argument("--out", default=None, help="output folder (default: runs/<command>-<data>)")
    g.add_argument(
        "--no-resume",
        action="store_true",
        help="run again from epoch 0 even where the folder holds a finished or interrupted run",
    )
    g.add_argument(
        "--keep-checkpoints",
        action="store_true",
        help="keep each finished run's last checkpoint (<key>.ckpt.npz) beside its log",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.add_argument("--debug", action="store_true", help="show tracebacks")
    if compare:
        g = p.add_argument_group("parallel runs")
        g.add_argument(
            "--workers",
            type=int,
            default=None,
            help="local worker processes, each running the next epochs of one run at a time "
            "(default: the number of cores; 1 runs here, one after another)",
        )
        g.add_argument(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help="run on the Dask distributed cluster at ADDRESS (tcp://host:port); "
            "needs pip install 'sibp_ref[dask]'",
        )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sibp-ref",
        description="Semi-implicit back propagation (Liu & Zhang, 2023) beside BP, ProxBP "
        "and BCD. Start with: sibp-ref compare",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command")
    c = sub.add_parser(
        "compare",
        help="train several methods side by side: table + figure (no arguments: the built-in demo)",
    )
    c.add_argument(
        "methods",
        nargs="*",
        default=None,
        help="methods (default: the main job's, see `sibp-ref list`); one per name, comma "
        "lists too",
    )
    c.add_argument("--no-figure", action="store_true")
    _common(c, compare=True)
    t = sub.add_parser("train", help="train one method on one data set and network")
    t.add_argument("method", help="sgd, momentum, nesterov, adam, proxbp, bcd or sibp")
    _common(t, compare=False)
    f = sub.add_parser(
        "fetch", help="download MNIST / Fashion-MNIST into the cache (verified by SHA-256)"
    )
    f.add_argument("dataset", choices=("mnist", "fashion-mnist"))
    f.add_argument("--data-dir", default=None, help="put the files here instead of the cache")
    f.add_argument("--debug", action="store_true", help="show tracebacks")
    ls = sub.add_parser("list", help="methods with their defaults, and data sets")
    ls.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


# ------------------------------------------------------------------ helpers
def _nearest(word: str, valid) -> str:
    close = difflib.get_close_matches(word, sorted(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _takes(method: str) -> set[str]:
    """The hyper-parameters ``method`` takes."""
    from ..methods import accepted_hyper, method_spec

    return accepted_hyper(method_spec(method))[0]


def _check_param_keys(args, methods: list[str]) -> None:
    """Refuse a hyper-parameter (an option or a ``-p`` key) that no method of this command
    takes, naming the nearest; an option taken by some of ``compare``'s methods goes to those."""
    from ..methods import method_names

    takes = {m: _takes(m) for m in methods}
    known = set().union(*takes.values())
    given = [(f"--{k.replace('_', '-')}", "", k) for k in HYPER_OPTIONS if _given(args, k)]
    given += [(f"-p {k}", *k.rpartition(".")[::2]) for k, _ in args.param]
    for what, m, key in given:
        if m and m not in method_names():
            raise CLIError(f"{what}: unknown method {m!r}{_nearest(m, method_names())}")
        if m and m not in methods:
            raise CLIError(f"{what}: method {m!r} is not run here (runs: {', '.join(methods)})")
        valid = takes[m] if m else known
        if key not in valid:
            one = m or (methods[0] if len(methods) == 1 else "")
            who = f"method {one!r} does not take" if one else "no method run here takes"
            raise CLIError(
                f"{what}: {who} {key!r}{_nearest(key, valid)}; "
                f"{'it takes' if one else 'they take'} {', '.join(sorted(valid))}"
            )


def _check_solvers(args, methods: list[str]) -> None:
    """Refuse a solver name no method run here knows, naming the nearest."""
    from ..methods.registry import SOLVERS, method_spec

    given = [("--solver", "", args.solver)] if args.solver is not None else []
    given += [(f"-p {k}", k.rpartition(".")[0], v) for k, v in args.param
              if k.rpartition(".")[2] == "solver"]  # fmt: skip
    for what, m, name in given:
        for method in [m] if m else methods:
            valid = SOLVERS.get(method_spec(method).cls)
            if valid is not None and name not in valid:
                raise CLIError(
                    f"{what}: {method} has no solver {name!r}{_nearest(str(name), valid)}; "
                    f"choose one of {', '.join(valid)}"
                )


def _given(args, name: str) -> bool:
    return getattr(args, name, None) is not None


def _hyper(args, method: str) -> dict:
    from ..methods import hyper_of, method_spec

    spec = method_spec(method)
    out = {}
    given = {k: getattr(args, k) for k in HYPER_OPTIONS if getattr(args, k, None) is not None}
    for k, v in args.param:
        m, _, key = k.rpartition(".")
        if not m:
            given[key] = v
        elif m == spec.name:
            out[key] = v
    preset = None
    if args.command == "compare":
        # shared options apply to the methods that take them
        names = _takes(spec.name)
        given = {k: v for k, v in given.items() if k in names}
        job = _main_job()
        preset = job if args.dataset == job.dataset else None
    # the main job's settings, then what was given: an option changes that one setting
    return hyper_of(spec.name, preset, **{**given, **out})


def _check_out(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CLIError(f"cannot write to {path}: {why}; pass --out with a writable folder") from exc
    return path


def _default_dtype(args) -> str:
    """float32, or the main job's dtype for ``compare`` on the main job's data set."""
    job = _main_job()
    return job.dtype if args.command == "compare" and args.dataset == job.dataset else "float32"


def _or(given: Any, default: Any) -> Any:
    return default if given is None else given


#: RunConfig fields by the option that sets them, where the names differ.
_OPTION_OF = {"full_batch_n": "--bcd-n"}


def _configs(args, methods: list[str]) -> list:
    """One :class:`~.config.RunConfig` per method; a number no run could use is refused by
    the config's own check, said under the option's name."""
    from ..methods import method_spec
    from .config import ConfigError, RunConfig

    if args.net is not None and (args.hidden is not None or args.sizes is not None):
        what = "--hidden" if args.hidden is not None else "--sizes"
        raise CLIError(f"{what} does not apply with --net {args.net} (the net fixes its layers)")
    fields = {
        "dataset": args.dataset,
        "n_train": args.n_train,
        "subset": args.subset,
        "hidden": tuple(args.hidden or ([64, 64] if args.dataset == "synthetic" else [500])),
        "sizes": None if args.sizes is None else tuple(args.sizes),
        "activation": args.activation,
        "net": args.net,
        "init_std": _or(args.init_std, "fan_in" if args.net is not None else 0.05),
        "epochs": _or(args.epochs, 20 if args.command == "compare" else 10),
        "batch_size": args.batch_size,
        "sampling": args.sampling,
        "full_batch_n": args.bcd_n,
        "seed": args.seed,
        "backend": args.backend,
        "dtype": args.dtype or _default_dtype(args),
        "data_dir": args.data_dir,
        "track_dw": args.track_dw,
    }
    try:
        return [
            RunConfig(method=method_spec(m).name, hyper=_hyper(args, method_spec(m).name), **fields)
            for m in methods
        ]
    except ConfigError as exc:
        option = _OPTION_OF.get(exc.field, "--" + exc.field.replace("_", "-"))
        want = exc.want.removeprefix("None or ")  # an option left out is the None
        raise CLIError(f"{option} must be {want}, got {exc.value!r}") from None


def _preflight(args) -> None:
    """Fail fast, with one line, on what can be checked before any training: every name
    (backend, data set, net) with the nearest valid one, every option that does not apply
    to the data. The numbers are checked where every run's are, when its
    :class:`~.config.RunConfig` is made (:func:`_configs` names the option); ``--workers``
    by :func:`~.grid.make_executor`."""
    from .. import backend as B
    from ..data import DATASETS, canonical_name

    B.get_backend(args.backend)  # BackendError (a ValueError) says how to fix it
    try:
        args.dataset = canonical_name(args.dataset)
    except ValueError as exc:
        raise CLIError(f"--dataset: {exc}{_nearest(args.dataset.lower(), DATASETS)}") from None
    if args.net is not None and args.net not in _net_names():
        raise CLIError(
            f"--net: unknown net {args.net!r}{_nearest(args.net, _net_names())}; choose one "
            f"of {', '.join(_net_names())}"
        )
    if args.dataset == "synthetic" and args.data_dir is not None:
        raise CLIError(
            "--data-dir does not apply to the generated data set (synthetic has no files); "
            "drop it, or pass --dataset mnist, fashion-mnist or cifar10"
        )


def _say_read_back(results: list, out: Path) -> None:
    """One note naming the runs whose finished logs were read instead of running them."""
    old = [cfg.method for cfg, h in results if h is not None and h.read_back]
    if old:
        print(
            f"note: {', '.join(old)}: read back from the finished runs in {out} (not trained "
            "now; --no-resume trains them again)",
            file=sys.stderr,
        )


def _num(x: Any, width: int, prec: int) -> str:
    ok = isinstance(x, (int, float)) and math.isfinite(x)
    return format(x, f"{width}.{prec}f") if ok else format("/", f">{width}")


def _row(cfg, h) -> str:
    f = h.final
    hyper = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in h.settings.get("config", {}).get("hyper", {}).items()
    )
    tests = [r.get("test_acc") for r in h.records]
    tests = [t for t in tests if isinstance(t, (int, float)) and math.isfinite(t)]
    best = _num(max(tests), 9, 3) if tests else _num(None, 9, 3)
    if h.diverged:  # no metric of the broken network: say so in its columns
        loss, acc, test = f"{'diverged':>10}", _num(None, 9, 3), _num(None, 8, 3)
        status = f"diverged at epoch {f.get('epoch', 0)}"
    else:
        loss, acc = _num(f.get("train_loss"), 10, 4), _num(f.get("train_acc"), 9, 3)
        test, status = _num(f.get("test_acc"), 8, 3), h.status
    return (
        f"{cfg.method:<10} {hyper[:28]:<28} {f.get('epoch', 0):>6} {loss} {acc} {test} "
        f"{best} {_num(f.get('time'), 7, 2)}  {status}"
    )


def format_table(results: list) -> str:
    """One row per run: final training loss / accuracy, test accuracy, best test accuracy,
    seconds in steps, status; a diverged run shows "diverged", not its broken metrics."""
    head = (
        f"{'method':<10} {'settings':<28} {'epochs':>6} {'train loss':>10} "
        f"{'train acc':>9} {'test acc':>8} {'best test':>9} {'time s':>7}  status"
    )
    lines = [head, "-" * len(head)]
    lines += [_row(cfg, h) for cfg, h in results if h is not None]
    return "\n".join(lines)


# ------------------------------------------------------------------ commands
def _methods(args) -> list[str]:
    from ..methods import method_spec

    raw = args.methods or list(_main_job().methods)
    methods = [m for item in raw for m in item.split(",") if m.strip()]
    if not methods:
        raise CLIError(
            f"no method named in {' '.join(raw)!r}; name one or more, e.g. compare sgd,sibp"
        )
    return [method_spec(m.strip()).name for m in methods]  # unknown names fail here


def _grid_options(args) -> dict:
    """:func:`~.grid.run_grid`'s keywords from the command line's output options."""
    return {
        "resume": not args.no_resume,
        "progress": False if args.quiet else None,
        "keep_checkpoints": args.keep_checkpoints,
    }


def _note_skip(cfg, exc) -> None:
    """``compare`` goes on without a method that cannot train the net (BCD on a conv net)."""
    print(f"note: skipping {cfg.method}: {exc}", file=sys.stderr)


def cmd_compare(args) -> int:
    from .grid import make_executor, run_grid

    _preflight(args)
    methods = _methods(args)
    _check_param_keys(args, methods)
    _check_solvers(args, methods)
    out = _check_out(Path(args.out) if args.out else DEFAULT_OUT / f"compare-{args.dataset}")
    cfgs = _configs(args, methods)
    workers = args.workers if args.workers is not None else min(len(cfgs), _cores())
    executor = make_executor(workers, args.scheduler)
    try:
        results = run_grid(cfgs, out, executor=executor, on_skip=_note_skip, **_grid_options(args))
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    done = [(c, h) for c, h in results if h is not None]
    if not done:
        raise CLIError("none of the methods could run; see the notes above")
    c0 = done[0][0]
    print(
        f"\n{c0.dataset}: net {done[0][1].settings['sizes']}, {c0.epochs} epochs, "
        f"batch {c0.batch_size}, {c0.dtype} on {c0.backend}, seed {c0.seed}\n"
    )
    print(format_table(results))
    _say_read_back(results, out)
    if not args.no_figure:
        from .report import plot_compare

        png = out / "compare.png"
        plot_compare(done, png)
        print(f"\nfigure: {png}")
    print(f"logs:   {out}/*.jsonl")
    return 0


def _cores() -> int:
    from .threads import cores

    return cores()


def cmd_train(args) -> int:
    _preflight(args)
    from ..methods import method_spec
    from .config import log_path
    from .grid import run_grid

    _check_param_keys(args, [method_spec(args.method).name])
    _check_solvers(args, [method_spec(args.method).name])
    out = _check_out(Path(args.out) if args.out else DEFAULT_OUT / f"train-{args.dataset}")
    cfgs = _configs(args, [args.method])
    results = run_grid(cfgs, out, **_grid_options(args))
    cfg, h = results[0]
    print(format_table(results))
    _say_read_back(results, out)
    print(f"log: {log_path(out, cfg)}")
    return 0


def cmd_fetch(args) -> int:
    from ..data import fetch

    where = fetch(args.dataset, Path(args.data_dir) / args.dataset if args.data_dir else None)
    print(f"{args.dataset}: verified files in {where}")
    return 0


def _call(spec, hyper: dict) -> str:
    kv = ", ".join(f"{k}={v}" for k, v in hyper.items())
    args = ", ".join(repr(a) for a in spec.args)
    return f"{spec.cls.__name__}({args}{', ' if args and kv else ''}{kv})"


def cmd_list(args) -> int:
    from ..data import DATASETS
    from ..methods import METHODS, hyper_of
    from ..nets import NETS

    print("methods (defaults):")
    for spec in METHODS.values():
        extra = " [full batch, square loss]" if spec.full_batch else ""
        print(f"  {spec.name:<9} {_call(spec, spec.defaults)}{extra}")
    job = _main_job()
    print(f"main job (`sibp-ref compare`, on {job.dataset} in {job.dtype}; {job.why}):")
    for name in job.methods:
        print(f"  {name:<9} {_call(METHODS[name], hyper_of(name, job))}")
    print("data sets: " + ", ".join(DATASETS))
    print("nets: " + ", ".join(NETS) + " (or an MLP: --hidden / --sizes)")
    return 0


def _show_note(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each: ``note: ...`` (no source line, no traceback)."""
    print(f"note: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--debug"):
        argv = ["compare", *argv]
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["compare", *argv])
    debug = args.debug or "--debug" in argv
    try:
        with warnings.catch_warnings():
            # a diverging run overflows; the table reports it, the warnings would only clutter
            warnings.filterwarnings("ignore", "(overflow|invalid value)", RuntimeWarning)
            warnings.showwarning = _show_note
            return {
                "compare": cmd_compare,
                "train": cmd_train,
                "fetch": cmd_fetch,
                "list": cmd_list,
            }[args.command](args)
    except KeyboardInterrupt:
        print(
            "sibp-ref: interrupted; the same command goes on from each run's last epoch",
            file=sys.stderr,
        )
        return 130
    except (CLIError, ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        if debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EROFS):
            msg += "; pass --out with a writable folder"
        print(f"sibp-ref: error: {msg}", file=sys.stderr)
        return 2
