"""Shared fixtures: one ``xp`` fixture runs a test on every backend available here.

- ``xp_dtype``: the same backends crossed with float32 and float64 (the dtype axis);
- ``make_problem``: the one builder of a small classification or regression problem
  ``(net, params, X, Y)``.


- ``numpy`` (through array-api-compat) and ``array_api_strict`` always: the strict
  namespace rejects anything outside the standard, which proves the code is not
  NumPy-only;
- ``torch`` (CPU tensors through array-api-compat) when PyTorch is installed;
- ``cupy`` when CuPy and a CUDA device are present.

Hypothesis: ``CI=true`` selects the derandomised ``ci`` profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from sibp_ref import MLP
from sibp_ref import backend as B

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev")


def _available(name: str) -> str | None:
    """None when the backend can run here, else the reason it cannot."""
    try:
        B.get_backend(name)
    except Exception as exc:  # BackendError, ImportError
        return str(exc)
    return None


BACKEND_PARAMS = []
for _name in ("numpy", "array_api_strict", "torch", "cupy"):
    _why = _available(_name)
    marks = [pytest.mark.skip(reason=f"{_name} unavailable: {_why}")] if _why else []
    if _name == "cupy":
        marks.append(pytest.mark.gpu)
    BACKEND_PARAMS.append(pytest.param(_name, marks=marks, id=_name))


@pytest.fixture(params=BACKEND_PARAMS)
def xp(request):
    """The array-API namespace of one backend."""
    return B.get_backend(request.param)


DTYPES = ("float32", "float64")


XP_DTYPE_PARAMS = [
    pytest.param((p.values[0], d), marks=p.marks, id=f"{p.id}-{d}")
    for p in BACKEND_PARAMS
    for d in DTYPES
]


@pytest.fixture(params=XP_DTYPE_PARAMS)
def xp_dtype(request):
    """``(xp, dtype)``: every backend here crossed with float32 and float64."""
    backend, dtype = request.param
    return B.get_backend(backend), dtype


class Problem(NamedTuple):
    """A network, its parameters and one batch (samples are columns)."""

    net: Any
    params: list
    X: Any
    Y: Any


def build_problem(
    sizes,
    n,
    *,
    act="tanh",
    loss="cross_entropy",
    bias=True,
    seed=0,
    std=0.5,
    xp=None,
    dtype="float64",
) -> Problem:
    """``MLP(sizes, act, loss, bias)`` with ``init(seed, std)``, ``X ~ N(0, 1)`` of shape
    ``(sizes[0], n)`` and ``Y`` one-hot columns (cross-entropy) or ``N(0, 1)`` (square),
    drawn from ``default_rng(seed)``. NumPy arrays, or on ``xp`` in ``dtype`` when given."""
    rng = np.random.default_rng(seed)
    net = MLP(sizes, act, loss, bias=bias)
    params = [
        (B.to_numpy(W), None if b is None else B.to_numpy(b))
        for W, b in net.init(seed=seed, std=std)
    ]
    X = rng.normal(size=(sizes[0], n))
    if loss == "cross_entropy":
        Y = np.eye(sizes[-1])[:, rng.integers(0, sizes[-1], size=n)]
    else:
        Y = rng.normal(size=(sizes[-1], n))
    if xp is None:
        return Problem(net, params, X, Y)

    def move(a):
        return None if a is None else B.asarray(a, xp, dtype=dtype)

    params = [(move(W), move(b)) for W, b in params]
    return Problem(net, params, move(X), move(Y))


@pytest.fixture(scope="session")
def make_problem():
    """:func:`build_problem`: the one problem builder of the test files."""
    return build_problem


@pytest.fixture
def data_dir() -> Path:
    """Where MNIST / Fashion-MNIST live (``SIBP_REF_DATA``); skips when absent."""
    d = os.environ.get("SIBP_REF_DATA")
    if not d or not Path(d).is_dir():
        pytest.skip(
            "real data not available: set SIBP_REF_DATA to a folder holding "
            "mnist/ and fashion-mnist/ IDX files (CI points it at ../shared/data)"
        )
    return Path(d)


class CountingMatmul(np.ndarray):
    """An ndarray that counts the matrix products it takes part in (the product counts of
    docs/conventions.md §6)."""

    count = 0

    def __matmul__(self, other):
        CountingMatmul.count += 1
        return np.asarray(self) @ np.asarray(other)

    def __rmatmul__(self, other):
        CountingMatmul.count += 1
        return np.asarray(other) @ np.asarray(self)


@pytest.fixture
def counting_matmul():
    """:class:`CountingMatmul` with its counter at zero; ``A.view(counting_matmul)`` counts."""
    CountingMatmul.count = 0
    return CountingMatmul
