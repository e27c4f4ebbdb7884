"""Time one epoch of each training method, against BP, PyTorch and the machine's GEMM rate.

Issue 7, part 1. Everything is measured in **one process run**, methods interleaved
inside every repeat, so that ratios (method / BP, ours / PyTorch, achieved / GEMM rate)
are stable on a noisy, shared machine even when absolute times are not.

What one run reports, per network (``table2`` = 784-500-10, ``deep`` = 784-600^10-10),
float32, batch 100, samples as columns:

- the float32 GEMM rate on the network's own product shapes and on a large square product;
- per method: median time of one step over ``--repeats`` repeats (each repeat times
  ``--batches`` consecutive batches after ``--warmup`` untimed ones), the epoch time
  extrapolated to ``--samples`` samples (``samples / batch`` steps), the ratio to BP,
  the matrix-product FLOPs of one step (counted analytically, see :func:`flops_per_step`)
  and the achieved GFLOP/s against the GEMM rates;
- BP against PyTorch on the same network (same init, same threads, same batch, plain SGD);
- the peak memory (VmHWM, max RSS) of a child process that trains a 784-500-10 net with BP
  for one full epoch of ``--samples`` samples, against data + parameters; it also times
  that full epoch, a check on the extrapolation above.

Run ``python benchmarks/bench_epoch.py --help``; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

NETS = {
    "table2": [784, 500, 10],
    "deep": [784] + [600] * 10 + [10],
}
# method name -> (how the registry is asked, fallback constructor). Hyper-parameters as
# in the paper's experiments (docs/conventions.md §4: eta = 10 is the authors' eta_c = 0.1
# at batch 100).
METHODS = {
    "bp": ("sgd", dict(lr=0.1)),
    "adam": ("adam", dict(lr=1e-3)),
    "proxbp-exact": ("proxbp", dict(eta=1.0, lam=0.5, solver="exact")),
    "proxbp-cg5": ("proxbp", dict(eta=1.0, lam=0.5, solver="cg", iters=5)),
    "sibp-ncg5": ("sibp", dict(eta=10.0, lam=0.5, solver="ncg", iters=5)),
    "bcd": ("bcd", dict()),
}
DEFAULT_METHODS = ["bp", "adam", "proxbp-exact", "proxbp-cg5", "sibp-ncg5"]
TARGETS = {  # issue 7: epoch time over BP's
    "sibp-ncg5": 6.0,
    "proxbp-cg5": 5.0,
    "proxbp-exact": 2.0,
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--net", choices=["table2", "deep", "both"], default="both")
    p.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated, from {', '.join(METHODS)} (default: %(default)s)",
    )
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    p.add_argument("--samples", type=int, default=60000, help="samples in an epoch")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument(
        "--batches",
        type=int,
        default=None,
        help="timed batches per repeat (default 100 for table2, 20 for deep)",
    )
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before each timing")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS and torch threads (default: all cores; on a shared machine "
        "--threads 1 gives steadier numbers)",
    )
    p.add_argument(
        "--malloc",
        choices=["default", "tuned"],
        default="default",
        help="'tuned': mallopt() so that freed weight-sized temporaries stay in the "
        "heap instead of going back to the kernel (see the README)",
    )
    p.add_argument("--data", choices=["generated", "mnist"], default="generated")
    p.add_argument(
        "--data-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
    )
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory child run")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 repeats, 20/4 batches, 1 warm-up, 6000-sample memory run",
    )
    p.add_argument("--out", default=None, help="write all results as JSON here")
    p.add_argument("--child-memory", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.quick:
        a.repeats, a.warmup = min(a.repeats, 3), 1
        a.batches = a.batches or 0  # resolved per net below
        a.memory_samples = 6000
    else:
        a.memory_samples = a.samples
    return a


ARGS = parse_args()
if ARGS.threads:  # must happen before NumPy / torch load their thread pools
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)


def tune_malloc():
    """Keep freed memory in glibc's heap: no mmap() for blocks under 32 MiB, no trimming.

    With glibc's defaults a weight-sized temporary (1–2 MB) is mmap()ed and munmap()ed, or the
    heap top is trimmed after two of them are freed, so the next one page-faults all its pages
    again: ~670 faults, ~1.4 ms, for ``W - lr * dW`` on 600×600 float32 in this VM, against
    ~80 µs once the memory is reused. Returns True when mallopt() accepted both settings.
    """
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, 2**30)
    )


MALLOC_TUNED = tune_malloc() if ARGS.malloc == "tuned" else False

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sibp_ref  # noqa: E402
from sibp_ref import MLP  # noqa: E402
from sibp_ref import backend as B  # noqa: E402


# ----------------------------------------------------------------------------- data
def make_data(sizes, n_samples, batch, *, source="generated", data_dir=None, seed=0):
    """Inputs and one-hot targets stored **batch-major**: ``X[k]`` is the contiguous
    ``(d, batch)`` block of batch ``k`` (samples as columns), ``Y[k]`` is ``(C, batch)``.

    Cost of this layout: one reshaping copy of the data when it is built, no extra memory
    afterwards. A column slice ``X[:, s:s+batch]`` of a C-ordered ``(d, n)`` array is strided
    instead, and every product with it pays for the stride (see the README).
    """
    nb = n_samples // batch
    d, C = sizes[0], sizes[-1]
    rng = np.random.default_rng(seed)
    if source == "mnist":
        import gzip

        path = os.path.join(data_dir, "mnist", "train-images-idx3-ubyte.gz")
        with gzip.open(path) as f:
            img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
        with gzip.open(os.path.join(data_dir, "mnist", "train-labels-idx1-ubyte.gz")) as f:
            lab = np.frombuffer(f.read(), np.uint8, offset=8)
        reps = -(-nb * batch // img.shape[0])
        if reps > 1:  # more samples than MNIST has: repeat it
            img, lab = np.tile(img, (reps, 1)), np.tile(lab, reps)
        img, lab = img[: nb * batch], lab[: nb * batch]
        X = np.empty((nb, d, batch), np.float32)
        for k in range(nb):
            X[k] = img[k * batch : (k + 1) * batch].T / np.float32(255)
        labels = lab.reshape(nb, batch)
    else:
        X = np.empty((nb, d, batch), np.float32)
        for k in range(nb):  # batch by batch: no float64 copy of the whole set
            X[k] = rng.random((d, batch), dtype=np.float32)
        labels = rng.integers(0, C, size=(nb, batch))
    Y = np.zeros((nb, C, batch), np.float32)
    Y[np.arange(nb)[:, None], labels, np.arange(batch)[None, :]] = 1.0
    return X, Y


# ------------------------------------------------------------------------- methods
def make_method(key):
    """A method from the registry ``sibp_ref.methods.make_method`` if it exists, else from
    its module directly. Returns ``(method, source)`` or ``(None, reason)``."""
    name, hyper = METHODS[key]
    try:
        from sibp_ref.methods import make_method as registry
    except ImportError:
        registry = None
    try:
        if registry is not None:
            return registry(name, **hyper), "sibp_ref.methods"
        if name in ("sgd", "adam"):
            return sibp_ref.methods.bp.BP(name, **hyper), "sibp_ref.methods.bp"
        if name == "proxbp":
            from sibp_ref.methods.proxbp import ProxBP

            return ProxBP(**hyper), "sibp_ref.methods.proxbp"
        if name == "sibp":
            from sibp_ref.methods.sibp import SIBP

            return SIBP(**hyper), "sibp_ref.methods.sibp"
        if name == "bcd":
            from sibp_ref.methods.bcd import BCD

            return BCD(**hyper), "sibp_ref.methods.bcd"
    except (ImportError, TypeError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return None, "unknown"


# --------------------------------------------------------------------------- FLOPs
def flops_per_step(key, sizes, n, iters=5):
    """Floating-point operations of one step's **matrix products** (2·m·k·n for an
    ``(m, k) @ (k, n)`` product), counted from the algorithm (docs/conventions.md §6), not
    measured. ``P_i = 2 d_{i+1} d_i n`` is one layer-sized product with the batch;
    elementwise work, the n×n Cholesky factorisations and solves are left out unless noted.

    - BP / Adam: forward ``Σ P_i``, ``dW = dG Fᵀ`` ``Σ P_i``, ``δ = Wᵀ dG`` for all but the
      first layer: ``3 Σ P_i − P_0``.
    - ProxBP exact, coefficient (dual) form where ``n ≤ d`` (``ridge.prox_ridge_affine``):
      forward, δ for all but the first layer (``backward_G``, no ``dW``), then per layer
      the Gram matrix ``FᵀF`` (2 n² d), the n×n solve with m right-hand sides (2 m n², plus
      n³/3 for Cholesky) and ``W + Z Fᵀ`` (``P_i``); the primal form where ``n > d``:
      ``ĀĀᵀ``, ``TĀᵀ`` and the (d+1)³/3 + 2 m (d+1)² solve.
    - ProxBP CG-k in the coefficient space (``ridge.cg_coefficients``, n ≤ d): forward, δ,
      then per layer ``FᵀF`` (2 n² d), ``k + 1`` products ``ρ K`` (2 m n² each) and
      ``Z Fᵀ`` (``P_i``); the primal CG where ``n > d``: ``(3 + 2k)`` layer products.
    - SIBP NCG-k: forward; last (linear) layer by the dual ridge solve (as ProxBP exact)
      plus ``W^{k+1} F`` for the b-update; each hidden layer in the coefficient space
      (``solvers._ncg_coefficients``, n < d): ``FᵀF`` (2 n² d), ``k`` products ``γ K``
      (the first gradient's and ``k − 1`` more; the last gradient is not needed), and
      ``W^k + Y Fᵀ`` (``P_i``); the primal NCG where ``n ≥ d``: the starting gradient,
      then ``D F`` and the new gradient per iteration, the last one not needed:
      ``2k P_i``. δ by (4.2) for every layer above the first: ``P_i``.
    """
    L = len(sizes) - 1
    P = [2 * sizes[i + 1] * sizes[i] * n for i in range(L)]
    Pb = [2 * sizes[i + 1] * (sizes[i] + 1) * n for i in range(L)]  # with the bias row
    fwd = sum(P)
    delta = sum(P[1:])

    def gram(i):  # FᵀF for layer i's input
        return 2 * n * n * sizes[i]

    def ridge_exact(i):
        m, d1 = sizes[i + 1], sizes[i] + 1
        if n < d1:
            return gram(i) + 2 * m * n * n + n**3 / 3 + P[i]
        return 2 * d1 * d1 * n + Pb[i] + d1**3 / 3 + 2 * m * d1 * d1

    def ridge_cg(i, k):
        m, d = sizes[i + 1], sizes[i]
        if n <= d:
            return gram(i) + (k + 1) * 2 * m * n * n + P[i]
        return (3 + 2 * k) * Pb[i]

    def ncg(i, k):
        m, d = sizes[i + 1], sizes[i]
        if n < d:
            return gram(i) + k * 2 * m * n * n + P[i]
        return 2 * k * P[i]

    if key in ("bp", "adam"):
        return 3 * fwd - P[0]
    if key == "proxbp-exact":
        return fwd + delta + sum(ridge_exact(i) for i in range(L))
    if key.startswith("proxbp-cg"):
        k = int(key[len("proxbp-cg") :] or iters)
        return fwd + delta + sum(ridge_cg(i, k) for i in range(L))
    if key.startswith("sibp-ncg"):
        k = int(key[len("sibp-ncg") :] or iters)
        hidden = sum(ncg(i, k) for i in range(L - 1))
        return fwd + ridge_exact(L - 1) + P[L - 1] + hidden + delta
    return float("nan")


# ------------------------------------------------------------------------ helpers
class Backend:
    """NumPy or CuPy: namespace, moving data, and a synchronisation point for timers."""

    def __init__(self, name):
        self.name = name
        self.xp = B.get_backend(name)
        if name == "cupy":
            import cupy

            self.cp = cupy
            self.sync = lambda: cupy.cuda.Device().synchronize()
        else:
            self.sync = lambda: None

    def put(self, a):
        return self.cp.asarray(a) if self.name == "cupy" else a

    def raw(self, a):  # cupy / numpy array for raw GEMM timing
        return a


def timed(fn, reps, sync):
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def gemm_rates(be, sizes, n, repeats):
    """float32 GEMM GFLOP/s on each product shape of a BP step, each alone (informative;
    the square rate and the product floor used in the table are timed interleaved)."""
    rng = np.random.default_rng(1)
    out = {"shapes": []}
    for i in range(len(sizes) - 1):
        m, d = sizes[i + 1], sizes[i]
        W = be.put(rng.random((m, d), dtype=np.float32))
        F = be.put(rng.random((d, n), dtype=np.float32))
        dG = be.put(rng.random((m, n), dtype=np.float32))
        cases = [("W@F", lambda W=W, F=F: W @ F), ("dG@F.T", lambda dG=dG, F=F: dG @ F.T)]
        if i > 0:
            cases.append(("W.T@dG", lambda W=W, dG=dG: W.T @ dG))
        for label, fn in cases:
            fn()
            fl = 2 * m * d * n
            reps = max(3, int(5e7 // fl))
            t = statistics.median(timed(fn, reps, be.sync) for _ in range(repeats))
            out["shapes"].append(
                {
                    "layer": i,
                    "product": label,
                    "shape": [m, d, n],
                    "seconds": t,
                    "gflops": fl / t / 1e9,
                }
            )
        if i >= 2:  # the deep net's middle layers repeat the same shapes
            break
    return out


# ---------------------------------------------------------------------- timing runs
# A runner is a callable ``run(nb) -> seconds per step`` (after its own warm-up). All the
# runners of a network are called in turn inside every repeat, so each repeat gives a
# ratio measured under the same machine load; the tables report medians of those ratios.


def copy_params(xp, params0):
    return [
        (xp.asarray(W, copy=True), None if b is None else xp.asarray(b, copy=True))
        for W, b in params0
    ]


def method_runner(be, net, method, params0, Xd, Yd, warmup):
    def run(nb):
        params = copy_params(be.xp, params0)
        state = method.init(net, params)
        for k in range(warmup):
            params, state = method.step(net, params, state, Xd[k], Yd[k])
        be.sync()
        t = time.perf_counter()
        for k in range(warmup, warmup + nb):
            params, state = method.step(net, params, state, Xd[k], Yd[k])
        be.sync()
        return (time.perf_counter() - t) / nb

    return run


def floor_runner(be, sizes, n):
    """BP's matrix products alone, back to back, on matrices of the step's shapes:
    ``W F`` for every layer, ``dG Fᵀ`` for every layer, ``Wᵀ dG`` for all but the first.
    The time a BP step would take if everything else were free."""
    rng = np.random.default_rng(1)
    mats = []
    for i in range(len(sizes) - 1):
        m, d = sizes[i + 1], sizes[i]
        mats.append(
            tuple(be.put(rng.random(shape, dtype=np.float32)) for shape in ((m, d), (d, n), (m, n)))
        )

    def once():
        for i, (W, F, dG) in enumerate(mats):
            W @ F
            dG @ F.T
            if i > 0:
                W.T @ dG

    def run(nb):
        once()
        return timed(once, nb, be.sync)

    return run


def square_runner(be, size):
    A = be.put(np.random.default_rng(2).random((size, size), dtype=np.float32))

    def run(nb):
        A @ A
        return timed(lambda: A @ A, 3, be.sync)  # seconds per product

    return run


def torch_runner(sizes, X, Y, params0, args, nb_max, device="cpu"):
    """Plain SGD on the same net in PyTorch: samples as rows (PyTorch's own layout),
    ``x Wᵀ + b`` by ``torch.nn.functional.linear``, ReLU, mean cross-entropy,
    ``torch.optim.SGD``; same initial weights, same batches, same thread count."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    Xt = [
        torch.from_numpy(np.ascontiguousarray(X[k].T)).to(dev) for k in range(nb_max + args.warmup)
    ]
    yt = [torch.from_numpy(np.argmax(Y[k], axis=0)).to(dev) for k in range(len(Xt))]
    host = [(B.to_numpy(W), B.to_numpy(b)[:, 0]) for W, b in params0]
    L = len(host)

    def run(nb):
        ps = [torch.tensor(a, device=dev, requires_grad=True) for pair in host for a in pair]
        opt = torch.optim.SGD(ps, lr=0.1)

        def step(x, y):
            h = x
            for i in range(L):
                h = torch.nn.functional.linear(h, ps[2 * i], ps[2 * i + 1])
                if i < L - 1:
                    h = torch.relu(h)
            loss = torch.nn.functional.cross_entropy(h, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for k in range(args.warmup):
            step(Xt[k], yt[k])
        sync()
        t = time.perf_counter()
        for k in range(args.warmup, args.warmup + nb):
            step(Xt[k], yt[k])
        sync()
        return (time.perf_counter() - t) / nb

    info = {"threads": torch.get_num_threads(), "device": device, "version": torch.__version__}
    return run, info


def run_interleaved(runners, repeats, nb):
    """Call every runner once per repeat, in turn; a runner that raises is dropped."""
    times = {k: [] for k in runners}
    errors = {}
    for r in range(repeats):
        for key, run in list(runners.items()):
            try:
                times[key].append(run(nb))
            except Exception as exc:  # a method still being written must not stop the run
                errors[key] = f"{type(exc).__name__}: {exc}"
                del runners[key]
                times[key] = []
        print(
            f"  repeat {r + 1}/{repeats}: "
            + ", ".join(f"{k} {1e3 * v[-1]:.2f} ms" for k, v in times.items() if v),
            flush=True,
        )
    return times, errors


def median_ratio(a, b):
    """Median over repeats of ``a[r] / b[r]`` (both measured in the same repeat)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def child_memory(args):
    """Child mode: one full BP epoch of a 784-500-10 net; prints RSS figures as JSON."""
    import resource

    def status_kb(field):  # VmRSS: now; VmHWM: peak of this process image
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
        return 0

    be = Backend(args.backend)
    base = status_kb("VmRSS")
    sizes = NETS["table2"]
    X, Y = make_data(
        sizes, args.memory_samples, args.batch, source=args.data, data_dir=args.data_dir
    )
    net = MLP(sizes)
    params = net.init(seed=0, std=0.05, dtype="float32", xp=be.xp)
    data_b = X.nbytes + Y.nbytes
    param_b = sum(W.nbytes + b.nbytes for W, b in params)
    Xd, Yd = be.put(X), be.put(Y)
    method = sibp_ref.methods.bp.BP("sgd", lr=0.1)
    state = method.init(net, params)
    be.sync()
    t = time.perf_counter()
    for k in range(X.shape[0]):
        params, state = method.step(net, params, state, Xd[k], Yd[k])
    be.sync()
    epoch = time.perf_counter() - t
    # Not getrusage(...).ru_maxrss: Linux carries the parent's RSS at fork() through exec(),
    # so a child of a big parent reports the parent's size. VmHWM belongs to this image.
    peak = status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "samples": X.shape[0] * args.batch,
                "base_rss_kb": base,
                "peak_rss_kb": peak,
                "data_bytes": data_b,
                "param_bytes": param_b,
                "epoch_s": epoch,
            }
        )
    )


# --------------------------------------------------------------------------- main
def machine_info(be, threads):
    info = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "malloc_tuned": MALLOC_TUNED,
        "backend": be.name,
        "sibp_ref": sibp_ref.__version__,
    }
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(ln.split(":", 1)[1].strip() for ln in f if "model name" in ln)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:
        pass
    try:
        info["load_avg"] = os.getloadavg()
    except OSError:
        pass
    if be.name == "cupy":
        info["cupy"] = be.cp.__version__
        info["gpu"] = be.cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return info


def fmt_table(res, net_key):
    r = res["nets"][net_key]
    g, mach = r["gemm"], res["machine"]
    lines = [
        f"\n## {net_key}: {'-'.join(map(str, r['sizes']))}, batch {res['settings']['batch']}, "
        f"float32, {mach['backend']}, {mach['threads']} thread(s), "
        f"malloc {'tuned' if mach['malloc_tuned'] else 'default'}",
        f"float32 GEMM, {g['square_size']}² square: {g['square_gflops']:.1f} GFLOP/s; "
        f"BP's products alone: {g['floor_gflops']:.1f} GFLOP/s; per shape: "
        + ", ".join(f"L{s['layer']} {s['product']} {s['gflops']:.0f}" for s in g["shapes"][:6]),
        f"epoch = step time x {r['steps_per_epoch']} steps (timed {r['timed_batches']} batches "
        f"x {res['settings']['repeats']} repeats; medians; ratios are medians of per-repeat "
        "ratios)",
        "",
        "| method | step ms | epoch s | / BP | target | GFLOP/step | GFLOP/s | % square | "
        "% BP products |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, m in r["methods"].items():
        if "step_s" not in m:
            why = m.get("error", m["source"])[:80]
            lines.append(f"| {key} | skipped: {why} | | | | | | | |")
            continue
        tgt = f"<= {TARGETS[key]}" if key in TARGETS else ""
        lines.append(
            f"| {key} | {1e3 * m['step_s']:.2f} | {m['step_s'] * r['steps_per_epoch']:.2f} "
            f"| {m['over_bp']:.2f} | {tgt} | {m['flops'] / 1e9:.3f} | {m['gflops']:.1f} "
            f"| {100 * m['of_square']:.0f} | {100 * m['of_floor']:.0f} |"
        )
    if "torch" in r and "step_s" in r["torch"]:
        t = r["torch"]
        lines.append(
            f"| torch SGD ({t['device']}) | {1e3 * t['step_s']:.2f} "
            f"| {t['step_s'] * r['steps_per_epoch']:.2f} | {t['over_bp']:.2f} | | "
            f"{t['flops'] / 1e9:.3f} | {t['gflops']:.1f} | {100 * t['of_square']:.0f} "
            f"| {100 * t['of_floor']:.0f} |"
        )
        lines.append(f"\nBP / PyTorch = {1 / t['over_bp']:.3f} (target <= 1.15)")
    return "\n".join(lines)


def main(args):
    be = Backend(args.backend)
    threads = args.threads or os.cpu_count()
    res = {
        "machine": machine_info(be, threads),
        "settings": {k: v for k, v in vars(args).items() if k != "child_memory"},
        "nets": {},
    }
    keys = [k.strip() for k in args.methods.split(",") if k.strip()]
    for k in keys:
        if k not in METHODS:
            raise SystemExit(f"unknown method {k!r}; choose from {', '.join(METHODS)}")
    if "bp" not in keys:
        keys.insert(0, "bp")
    nets = ["table2", "deep"] if args.net == "both" else [args.net]
    for nk in nets:
        sizes = NETS[nk]
        nb = args.batches or (
            (20 if nk == "table2" else 4) if args.quick else (100 if nk == "table2" else 20)
        )
        print(f"[{nk}] {sizes}: data, GEMM rates per shape ...", flush=True)
        X, Y = make_data(
            sizes,
            (nb + args.warmup) * args.batch,
            args.batch,
            source=args.data,
            data_dir=args.data_dir,
        )
        net = MLP(sizes)
        params0 = net.init(seed=0, std=0.05, dtype="float32", xp=be.xp)
        Xd = [be.put(X[k]) for k in range(X.shape[0])]
        Yd = [be.put(Y[k]) for k in range(Y.shape[0])]
        bp_flops = flops_per_step("bp", sizes, args.batch)
        r = {
            "sizes": sizes,
            "timed_batches": nb,
            "steps_per_epoch": args.samples // args.batch,
            "gemm": gemm_rates(be, sizes, args.batch, 3),
            "bp_flops": bp_flops,
            "methods": {},
        }
        runners = {}
        for key in keys:
            m, src = make_method(key)
            r["methods"][key] = {"source": src}
            if m is not None:
                runners[key] = method_runner(be, net, m, params0, Xd, Yd, args.warmup)
        if not args.no_torch:
            try:
                runners["torch"], tinfo = torch_runner(
                    sizes, X, Y, params0, args, nb, "cuda" if be.name == "cupy" else "cpu"
                )
                r["torch"] = tinfo
            except ImportError as exc:
                r["torch"] = {"error": str(exc)}
        square = 2048 if be.name == "cupy" else 1024
        runners["_floor"] = floor_runner(be, sizes, args.batch)
        runners["_square"] = square_runner(be, square)
        print(f"[{nk}] timing {', '.join(runners)} interleaved ...", flush=True)
        times, errors = run_interleaved(runners, args.repeats, nb)
        sq, fl = times["_square"], times["_floor"]
        r["gemm"].update(
            square_size=square,
            square_gflops=2 * square**3 / statistics.median(sq) / 1e9,
            floor_s=statistics.median(fl),
            floor_gflops=bp_flops / statistics.median(fl) / 1e9,
        )
        entries = dict(r["methods"])
        if "torch" in r and "error" not in r["torch"]:
            entries["torch"] = r["torch"]
        for key, e in entries.items():
            e["flops"] = bp_flops if key == "torch" else flops_per_step(key, sizes, args.batch)
            if key in errors:
                e["error"] = errors[key]
            v = times.get(key)
            if not v or "bp" not in times or not times["bp"]:
                continue
            e.update(
                step_s=statistics.median(v), step_all_s=v, over_bp=median_ratio(v, times["bp"])
            )
            e["gflops"] = e["flops"] / e["step_s"] / 1e9
            e["of_square"] = statistics.median(
                (e["flops"] / t) / (2 * square**3 / q) for t, q in zip(v, sq, strict=True)
            )
            e["of_floor"] = median_ratio(fl, v) * e["flops"] / bp_flops
        res["nets"][nk] = r
        print(fmt_table(res, nk), flush=True)
    if not args.no_memory:
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--child-memory",
            "--backend",
            args.backend,
            "--samples",
            str(args.memory_samples),
            "--batch",
            str(args.batch),
            "--data",
            args.data,
            "--data-dir",
            args.data_dir,
        ]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        cmd += ["--malloc", args.malloc]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        mem = json.loads(out.strip().splitlines()[-1])
        need = mem["data_bytes"] + mem["param_bytes"]
        mem["peak_over_data_params"] = mem["peak_rss_kb"] * 1024 / need
        mem["extra_over_data_params"] = (mem["peak_rss_kb"] - mem["base_rss_kb"]) * 1024 / need
        res["memory"] = mem
        print(
            f"\nPeak memory, BP epoch of 784-500-10 on {mem['samples']} samples: max RSS "
            f"{mem['peak_rss_kb'] / 1024:.0f} MiB (interpreter + imports "
            f"{mem['base_rss_kb'] / 1024:.0f} MiB); data + params {need / 2**20:.0f} MiB; "
            f"ratio {mem['peak_over_data_params']:.2f} (above the imports: "
            f"{mem['extra_over_data_params']:.2f}; target <= 2). Full epoch "
            f"{mem['epoch_s']:.2f} s."
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1, default=str)
    return res


if __name__ == "__main__":
    if ARGS.child_memory:
        child_memory(ARGS)
    else:
        main(ARGS)
