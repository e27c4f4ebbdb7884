"""The one place that knows which array library is in use.

Every algorithm in ``sibp_ref`` is written against the Python array API
standard: it asks the arrays it was given for their namespace
(:func:`namespace`) and calls ``xp.matmul``, ``xp.exp`` and so on. Nothing else
in the package imports NumPy or CuPy for computation. This module supplies
what the standard leaves out:

- choosing a backend by name (``"numpy"``, ``"cupy"``, ``"array_api_strict"``,
  ``"torch"``) and a device;
- random numbers with a seed (drawn by NumPy on the host, then moved, so the
  same seed gives the same network on every backend);
- symmetric positive definite solves (Cholesky), one implementation per
  backend, with the standard's ``linalg.solve`` as the fallback;
- moving results to NumPy for printing and plotting.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "BACKENDS",
    "namespace",
    "get_backend",
    "backend_name",
    "resolve_dtype",
    "asarray",
    "normal",
    "uniform",
    "permutation",
    "to_numpy",
    "to_float",
    "solve_spd",
    "try_solve_spd",
    "LinAlgError",
    "device_of",
    "is_finite",
    "is_host_scalar",
]

BACKENDS = ("numpy", "cupy", "array_api_strict", "torch")


class BackendError(ValueError):
    """A backend was asked for that is unknown or not usable on this machine."""


def namespace(*arrays: Any) -> ModuleType:
    """The array-API namespace of ``arrays`` (``None`` entries are ignored)."""
    return array_api_compat.array_namespace(*[a for a in arrays if a is not None])


def get_backend(name: str | ModuleType = "numpy") -> ModuleType:
    """Array-API namespace for a backend name, or the namespace itself if given one.

    ``"numpy"`` gives ``array_api_compat.numpy``; ``"cupy"`` needs CuPy and a CUDA
    device; ``"array_api_strict"`` is the strict reference implementation used by
    the tests to prove the code is not NumPy-only.
    """
    if not isinstance(name, str):
        if name is np:
            return importlib.import_module("array_api_compat.numpy")
        return name
    key = name.lower().replace("-", "_")
    if key == "numpy":
        return importlib.import_module("array_api_compat.numpy")
    if key == "cupy":
        try:
            import cupy
        except ImportError as exc:
            raise BackendError(
                "backend 'cupy' needs CuPy: pip install 'sibp_ref[cuda12]' (or [cuda13]) "
                "on a machine with an NVIDIA GPU, or use --backend numpy"
            ) from exc
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise BackendError(f"backend 'cupy': no usable CUDA device ({exc})") from exc
        if n < 1:
            raise BackendError("backend 'cupy': CuPy is installed but no CUDA device was found")
        return importlib.import_module("array_api_compat.cupy")
    if key == "array_api_strict":
        try:
            return importlib.import_module("array_api_strict")
        except ImportError as exc:
            raise BackendError(
                "backend 'array_api_strict' needs: pip install array-api-strict"
            ) from exc
    if key == "torch":
        try:
            return importlib.import_module("array_api_compat.torch")
        except ImportError as exc:
            raise BackendError("backend 'torch' needs PyTorch installed") from exc
    raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


def backend_name(xp: ModuleType) -> str:
    """Short name of a namespace: ``numpy``, ``cupy``, ``array_api_strict`` or ``torch``."""
    name = xp.__name__
    for b in BACKENDS:
        if name.endswith(b) or name.startswith(b):
            return b
    return name


def resolve_dtype(dtype: Any, xp: ModuleType) -> Any:
    """``"float32"``/``"float64"`` (or a dtype object) as a dtype of ``xp``."""
    if isinstance(dtype, str):
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        return getattr(xp, dtype)
    return dtype


def device_of(x: Any) -> Any:
    """The device an array lives on."""
    return array_api_compat.device(x)


def asarray(x: Any, xp: ModuleType, dtype: Any = None, device: Any = None) -> Any:
    """Move host data (NumPy array, list, scalar) onto backend ``xp`` (a namespace or name)."""
    xp = get_backend(xp)
    dt = resolve_dtype(dtype, xp) if dtype is not None else None
    if backend_name(xp) == "array_api_strict" and isinstance(x, np.ndarray):
        x = x.tolist() if x.ndim == 0 else x  # strict accepts buffers; keep it simple
    if device is None:
        return xp.asarray(x, dtype=dt)
    return xp.asarray(x, dtype=dt, device=device)


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def normal(
    shape: tuple[int, ...],
    *,
    mean: float = 0.0,
    std: float = 1.0,
    seed: int | np.random.Generator | None = 0,
    xp: ModuleType | str,
    dtype: Any = "float64",
    device: Any = None,
) -> Any:
    """Draw ``N(mean, std)`` (``std`` is a standard deviation) and place it on ``xp``.

    Drawn in float64 by NumPy so that a seed gives the same numbers on every backend.
    """
    a = _rng(seed).normal(mean, std, size=shape)
    return asarray(a, xp, dtype=dtype, device=device)


def uniform(
    shape: tuple[int, ...],
    *,
    low: float = 0.0,
    high: float = 1.0,
    seed: int | np.random.Generator | None = 0,
    xp: ModuleType | str,
    dtype: Any = "float64",
    device: Any = None,
) -> Any:
    """Draw ``U(low, high)`` on the host and place it on ``xp``."""
    a = _rng(seed).uniform(low, high, size=shape)
    return asarray(a, xp, dtype=dtype, device=device)


def permutation(n: int, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """A host-side permutation of ``range(n)`` (used for shuffling mini-batches)."""
    return _rng(seed).permutation(n)


def is_host_scalar(x: Any) -> bool:
    """True for a NumPy scalar such as ``np.float32(0.5)``: a number, not an array."""
    return isinstance(x, np.generic)


def to_numpy(x: Any) -> np.ndarray:
    """Copy any backend's array to a NumPy array (for printing and plotting)."""
    if isinstance(x, np.ndarray):
        return x
    if x is None:
        return None
    mod = type(x).__module__
    if mod.startswith("cupy"):
        return x.get()
    if mod.startswith("torch"):
        return x.detach().cpu().numpy()
    try:
        return np.from_dlpack(x)
    except Exception:
        return np.asarray(x)


def to_float(x: Any) -> float:
    """A 0-d array as a Python float. On a GPU this synchronises: keep it out of inner loops."""
    return float(to_numpy(x))


def is_finite(x: Any) -> bool:
    """True when every entry of ``x`` is finite (one host sync)."""
    xp = namespace(x)
    return bool(xp.all(xp.isfinite(x)))


def solve_spd(A: Any, B: Any, *, side: str = "left") -> Any:
    """Solve with a symmetric positive definite ``A``.

    ``side="left"`` returns ``A^{-1} B``; ``side="right"`` returns ``B A^{-1}``
    (the form the ridge problems ``θ M = R`` take, with ``M`` symmetric).
    CuPy uses its Cholesky and triangular solves. NumPy (and any other namespace) uses
    ``xp.linalg.solve``: for NumPy that is the LAPACK of NumPy's own OpenBLAS, the pool its
    matrix products run on. SciPy's wheel brings a second OpenBLAS pool, and a Cholesky
    solve there between two NumPy products made the two pools spin against each other at
    the default threads (BENCHMARKS.md, "BLAS threads"); the systems here are batch-sized
    (``n × n``), so LU instead of Cholesky costs nothing that shows.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    xp = namespace(A, B)
    if side == "right":
        return solve_spd(A, B.T, side="left").T  # B A^{-1} = (A^{-1} B^T)^T as A = A^T
    name = backend_name(xp)
    if name == "cupy":
        import cupy
        import cupyx.scipy.linalg as cla

        L = cupy.linalg.cholesky(A)
        Z = cla.solve_triangular(L, B, lower=True)
        return cla.solve_triangular(L.T, Z, lower=False)
    return xp.linalg.solve(A, B)


#: What a failed factorisation raises on NumPy, and what this package raises for one.
LinAlgError = np.linalg.LinAlgError


def try_solve_spd(A: Any, B: Any, *, side: str = "left") -> Any | None:
    """:func:`solve_spd`, or None where the factorisation fails in floating point.

    A matrix that is SPD in exact arithmetic, ``c·I + (Gram matrix)``, stops being so in
    floating point once the Gram part is ``1/eps`` times larger than ``c`` (``≈ 10⁷`` in
    float32) and two of its samples are equal: NumPy's LU then raises ``LinAlgError`` and
    CuPy's Cholesky returns NaN without a word. Both come back here as None (one host
    sync for the finiteness check), so the caller can solve its problem another way. A
    non-finite result from non-finite ``A`` or ``B`` is returned as it is: that is the
    data's divergence, for the training loop to report, not the solver's failure.
    """
    xp = namespace(A, B)
    errors: tuple[type[BaseException], ...] = (LinAlgError,)
    if backend_name(xp) == "torch":
        import torch

        errors += (torch.linalg.LinAlgError,)
    try:
        X = solve_spd(A, B, side=side)
    except errors:
        return None
    if is_finite(X) or not (is_finite(A) and is_finite(B)):
        return X  # a NaN or inf in the data is not a failure of the solve: it goes on
    return None
