"""Shared fixtures: one ``xp`` fixture runs a test on every backend available here.

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

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

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
