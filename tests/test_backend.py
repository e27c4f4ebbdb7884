"""The backend layer: names → namespaces, seeded draws, SPD solves, moving to NumPy; and
the rule that algorithm modules never import NumPy or CuPy themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from sibp_ref import backend as B

PACKAGE = Path(B.__file__).parent


def test_unknown_backend_name_is_a_clear_error():
    with pytest.raises(B.BackendError, match="unknown backend 'jax'.*numpy.*cupy"):
        B.get_backend("jax")
    assert issubclass(B.BackendError, ValueError)


def _gpu_present() -> bool:
    try:
        import cupy
    except ImportError:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@pytest.mark.skipif(_gpu_present(), reason="a CUDA GPU is present: cupy is usable here")
def test_cupy_without_a_gpu_is_a_clear_backend_error():
    with pytest.raises(B.BackendError, match="cupy"):
        B.get_backend("cupy")


def test_backend_names_and_aliases():
    assert B.get_backend("NumPy") is B.get_backend("numpy")
    assert B.get_backend(np) is B.get_backend("numpy")
    strict = B.get_backend("array-api-strict")
    assert B.get_backend(strict) is strict
    for name in ("numpy", "array_api_strict"):
        assert B.backend_name(B.get_backend(name)) == name


def test_backend_name_round_trips(xp):
    assert B.get_backend(B.backend_name(xp)) is xp
    x = B.asarray([1.0, 2.0], xp)
    assert B.namespace(x, None) is xp


def test_to_numpy_and_to_float_from_each_backend(xp):
    a = np.arange(6.0).reshape(2, 3) / 7
    x = B.asarray(a, xp)
    got = B.to_numpy(x)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, a)
    assert B.to_float(xp.sum(x)) == pytest.approx(a.sum(), rel=1e-15)
    assert B.to_numpy(None) is None


def test_same_seed_same_draws_on_every_backend(xp):
    ref = np.random.default_rng(5).normal(0.3, 2.0, size=(4, 3))
    x = B.normal((4, 3), mean=0.3, std=2.0, seed=5, xp=xp)
    assert x.dtype == xp.float64
    np.testing.assert_array_equal(B.to_numpy(x), ref)
    u = B.to_numpy(B.uniform((50,), low=-1.0, high=2.0, seed=1, xp=xp, dtype="float32"))
    assert u.dtype == np.float32 and u.min() >= -1.0 and u.max() <= 2.0
    assert sorted(B.permutation(5, seed=2)) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("side", ["left", "right"])
def test_solve_spd_equals_dense_solve(xp, side):
    rng = np.random.default_rng(0)
    Q = rng.standard_normal((5, 5))
    A = Q @ Q.T + 5 * np.eye(5)
    Bm = rng.standard_normal((5, 3)) if side == "left" else rng.standard_normal((3, 5))
    got = B.to_numpy(B.solve_spd(B.asarray(A, xp), B.asarray(Bm, xp), side=side))
    want = np.linalg.solve(A, Bm) if side == "left" else np.linalg.solve(A, Bm.T).T
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_solve_spd_bad_side_and_resolve_dtype_bad_name():
    with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
        B.solve_spd(np.eye(2), np.eye(2), side="both")
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        B.resolve_dtype("float16", B.get_backend("numpy"))


def test_is_finite(xp):
    assert B.is_finite(B.asarray([1.0, -2.0], xp))
    assert not B.is_finite(B.asarray([1.0, float("nan")], xp))
    assert not B.is_finite(B.asarray([float("-inf"), 0.0], xp))


EXEMPT = (
    "backend",
    "datasets",
    "data",
    "cli",
    "train",
    "run",
    "plotting",
    "plots",
    "report",
    "__main__",
)


def _is_exempt(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    return any(part.removesuffix(".py").startswith(EXEMPT) for part in rel.parts)


def test_algorithm_modules_never_import_numpy_or_cupy():
    """Only backend.py (and the data, command-line, training-loop and plotting modules)
    may import NumPy/CuPy; every algorithm goes through ``xp``."""
    offenders = []
    scanned = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        if _is_exempt(path):
            continue
        scanned += 1
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.split(".")[0] in ("numpy", "cupy", "cupyx"):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {name}")
    assert scanned >= 8  # the scan saw the foundation modules
    assert not offenders, offenders
