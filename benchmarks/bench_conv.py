"""Time one LeNet-5 training step: BP-SGD, SIBP-NCG5 and ProxBP-CG5 against PyTorch.

Issue 13, item 6. One step on a batch of 100 MNIST-sized images (1×28×28, random pixels in
``[0, 1]``, random labels), float32, on the CPU, for

- ``bp``: :class:`sibp_ref.BP` with plain SGD (``lr = 0.1``);
- ``sibp-ncg5``: SIBP (Remark 5.1) with 5 NCG steps per layer (``eta = 10, lam = 0.5``,
  the paper's settings in our symbols, docs/conventions.md §4);
- ``proxbp-cg5``: ProxBP with 5 CG steps on each layer's proximal least squares
  (``eta = 1, lam = 0.5``);
- ``torch``: the same LeNet-5 in PyTorch (``torch.nn``, SGD ``lr = 0.1``, same threads),
  skipped when torch is absent.

All methods are timed in one process, interleaved inside every repeat (each repeat times
``--steps`` consecutive steps on distinct batches after ``--warmup`` untimed ones), so the
ratios stay meaningful on a shared machine even when absolute times drift. Reported: the
median time of a step, the ratio to our BP, and BP against PyTorch, with issue 13's targets
(BP ≤ 2.5× PyTorch; SIBP-NCG5 ≤ 6× our BP; ProxBP-CG5 ≤ 5× our BP).

Run ``python benchmarks/bench_conv.py --threads 1``; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

METHODS = {
    "bp": ("sgd", dict(lr=0.1)),
    "sibp-ncg5": ("sibp", dict(eta=10.0, lam=0.5, solver="ncg", iters=5)),
    "proxbp-cg5": ("proxbp", dict(eta=1.0, lam=0.5, solver="cg", iters=5)),
}
TARGETS = {"sibp-ncg5": 6.0, "proxbp-cg5": 5.0}  # step time over our BP's
TORCH_TARGET = 2.5  # our BP over PyTorch's


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=10, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps before each timing")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 repeats of 2 steps")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    a = p.parse_args(argv)
    if a.quick:
        a.repeats, a.steps, a.warmup = 2, 2, 1
    return a


ARGS = parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # before NumPy / torch start their pools

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sibp_ref  # noqa: E402


def make_batches(batch, count, seed=0):
    """``count`` float32 batches ``(X (784, batch), Y one-hot (10, batch), labels)``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        X = rng.uniform(0.0, 1.0, size=(784, batch)).astype(np.float32)
        labels = rng.integers(0, 10, size=batch)
        out.append((X, np.eye(10, dtype=np.float32)[:, labels], labels))
    return out


def our_stepper(key, net, params):
    """A function doing one step of method ``key`` on a batch (state kept inside)."""
    name, hyper = METHODS[key]
    method = sibp_ref.make_method(name, **hyper)
    box = {"p": params, "s": method.init(net, params)}

    def step(batch):
        X, Y, _ = batch
        box["p"], box["s"] = method.step(net, box["p"], box["s"], X, Y)

    return step


def torch_stepper(params):
    """One SGD step of the same LeNet-5 in PyTorch, from the same initial parameters."""
    import torch

    torch.set_num_threads(ARGS.threads)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip
    with torch.no_grad():
        mods = [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
        for m, (W, b) in zip(mods, params, strict=True):
            m.weight.copy_(torch.from_numpy(W).reshape(m.weight.shape))
            m.bias.copy_(torch.from_numpy(b[:, 0]))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(batch):
        X, _, labels = batch
        x = torch.from_numpy(np.ascontiguousarray(X.T)).reshape(-1, 1, 28, 28)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), torch.from_numpy(labels)).backward()
        opt.step()

    return step, torch.__version__


def time_all(steppers, batches):
    """Per stepper, the median over repeats of (time of ``--steps`` steps) / steps."""
    times = {k: [] for k in steppers}
    n = len(batches)
    for r in range(ARGS.repeats):
        for k, step in steppers.items():
            for j in range(ARGS.warmup):
                step(batches[j % n])
            t0 = time.perf_counter()
            for j in range(ARGS.steps):
                step(batches[(r * ARGS.steps + j) % n])
            times[k].append((time.perf_counter() - t0) / ARGS.steps)
    return {k: statistics.median(v) for k, v in times.items()}


def machine():
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sibp_ref": sibp_ref.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "threads": ARGS.threads,
        "load_1min": os.getloadavg()[0],
    }
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        info["cpu"] = names[0] if names else info["cpu"]
    except OSError:
        pass
    return info


def report(med, info):
    bp = med["bp"]
    lines = [
        f"LeNet-5 step, batch {ARGS.batch}, float32, {ARGS.threads} thread(s); "
        f"median of {ARGS.repeats} repeats x {ARGS.steps} steps",
        f"{'method':<12} {'ms/step':>9} {'x our BP':>9} {'target':>8} {'met':>4}",
    ]
    for k, t in med.items():
        ratio = t / bp
        target = TARGETS.get(k)
        tgt = f"<= {target:g}" if target else ""
        met = "" if target is None else ("yes" if ratio <= target else "no")
        lines.append(f"{k:<12} {1e3 * t:9.2f} {ratio:9.2f} {tgt:>8} {met:>4}")
    if "torch" in med:
        r = bp / med["torch"]
        met = "yes" if r <= TORCH_TARGET else "no"
        lines.append(f"our BP / PyTorch: {r:.2f} (target <= {TORCH_TARGET:g}: {met})")
    lines.append(json.dumps(info))
    return "\n".join(lines)


def main():
    net = sibp_ref.lenet5()
    params = net.init(seed=0, std=0.1, dtype="float32")
    batches = make_batches(ARGS.batch, 8)
    steppers = {k: our_stepper(k, net, params) for k in METHODS}
    info = machine()
    if not ARGS.no_torch:
        try:
            steppers["torch"], info["torch"] = torch_stepper(params)
        except ImportError:
            print("torch not installed: PyTorch baseline skipped", file=sys.stderr)
    med = time_all(steppers, batches)
    print(report(med, info))
    if ARGS.out:
        with open(ARGS.out, "w", encoding="utf-8") as f:
            json.dump({"median_s": med, "machine": info, "args": vars(ARGS)}, f, indent=1)


if __name__ == "__main__":
    main()
