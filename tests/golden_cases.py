"""The fixed set of steps behind ``test_golden_iterates.py``: every method and inner solver,
three steps each, on small float64 problems built from a seeded NumPy generator alone.

``python tests/golden_cases.py`` rewrote ``tests/data/golden_iterates.npz`` once, from the
code as it stood before the package was reorganised; the test checks that today's code gives
the same iterates (relative 1e-12), so a refactor that claims "behaviour unchanged" is held
to it. Do not regenerate the file to make the test pass: a difference is a change of
behaviour, to be explained in a commit message and only then re-recorded.
"""

from __future__ import annotations

import numpy as np

#: (case name, method name for make_method, hyper-parameters, activation, loss)
CASES = [
    ("sgd", "sgd", {"lr": 0.1}, "tanh", "cross_entropy"),
    ("momentum", "momentum", {"lr": 0.05, "momentum": 0.9}, "tanh", "cross_entropy"),
    ("nesterov", "nesterov", {"lr": 0.05, "momentum": 0.9}, "relu", "cross_entropy"),
    ("adam", "adam", {"lr": 0.01}, "relu", "cross_entropy"),
    ("proxbp_exact", "proxbp", {"eta": 1.0, "lam": 0.5}, "relu", "cross_entropy"),
    (
        "proxbp_cg",
        "proxbp",
        {"eta": 1.0, "lam": 0.5, "solver": "cg", "iters": 3},
        "tanh",
        "cross_entropy",
    ),
    (
        "proxbp_lastgrad",
        "proxbp",
        {"eta": 1.0, "lam": 0.5, "last_layer": "gradient", "last_lr": 0.1},
        "tanh",
        "cross_entropy",
    ),
    ("bcd", "bcd", {"gamma": 1.0, "rho": 1.0, "alpha": 1.0}, "relu", "square"),
    ("sibp_ncg", "sibp", {"eta": 10.0, "lam": 0.5}, "relu", "cross_entropy"),
    ("sibp_ncg_tanh", "sibp", {"eta": 10.0, "lam": 0.5, "iters": 3}, "tanh", "cross_entropy"),
    ("sibp_pr", "sibp", {"eta": 10.0, "lam": 0.5, "solver": "ncg_pr"}, "sigmoid", "cross_entropy"),
    ("sibp_exact", "sibp", {"eta": 1.0, "lam": 0.5, "solver": "exact"}, "tanh", "cross_entropy"),
    ("sibp_l1", "sibp", {"eta": 10.0, "lam": 0.5, "l1": 1e-3}, "relu", "cross_entropy"),
    (
        "sibp_lamb",
        "sibp",
        {"eta": 5.0, "lam": [0.5, 0.2, 0.1], "lam_b": 0.3},
        "softplus",
        "cross_entropy",
    ),
]

SIZES = [12, 10, 8, 3]
N = 16
STEPS = 3


def problem(seed: int = 20261201):
    """X, Y (one-hot columns) and parameters, float64, from NumPy's generator only."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(SIZES[0], N))
    labels = rng.integers(0, SIZES[-1], N)
    Y = np.zeros((SIZES[-1], N))
    Y[labels, np.arange(N)] = 1.0
    params = [
        (rng.normal(0, 0.4, (d_out, d_in)), rng.normal(0, 0.1, (d_out, 1)))
        for d_in, d_out in zip(SIZES[:-1], SIZES[1:], strict=True)
    ]
    return X, Y, params


def iterates(make_method, MLP, case) -> list[np.ndarray]:
    """The flattened (W, b) of every layer after each of ``STEPS`` steps of ``case``."""
    _, name, hyper, activation, loss = case
    X, Y, params = problem()
    net = MLP(SIZES, activation=activation, loss=loss)
    method = make_method(name, **hyper)
    state = method.init(net, params)
    out = []
    for _ in range(STEPS):
        params, state = method.step(net, params, state, X, Y)
        out.append(np.concatenate([np.ravel(np.asarray(a)) for pair in params for a in pair]))
    return out


if __name__ == "__main__":
    from pathlib import Path

    from sibp_ref import MLP, make_method

    arrays = {}
    for case in CASES:
        for s, v in enumerate(iterates(make_method, MLP, case)):
            arrays[f"{case[0]}/{s}"] = v
    path = Path(__file__).parent / "data" / "golden_iterates.npz"
    np.savez(path, **arrays)
    print(f"wrote {len(arrays)} arrays to {path}")
