"""The input checks every entry point of the package uses.

One function per kind of argument, so that the same mistake gets the same
message wherever it is made. Every message names the argument, says what was
expected and what was given, and the fix when there is an obvious one::

    lam must be a finite number > 0, got 'abc' (str)
    X contains NaN at [3, 17]
    X is a numpy array but params are cupy arrays

A wrong *kind* of value (a string where a number belongs, a list where an
array belongs, an integer array where a floating one belongs) raises
:class:`ValidationTypeError`, a ``TypeError`` that is also a ``ValueError`` so
that code written to catch the ``ValueError`` these checks used to raise still
catches it; a value of the right kind that is out of range, not finite or of the
wrong shape raises ``ValueError``.

Numbers are accepted as Python numbers, NumPy scalars (``np.float32(0.5)``,
``np.int64(3)``) and 0-d arrays of any supported backend; ``bool``, ``None``,
strings and complex numbers are refused. Arrays must share one namespace, one
device and one floating dtype, float32 or float64 (docs/conventions.md §7).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import array_api_compat

from . import backend as B

__all__ = [
    "ValidationTypeError",
    "check_number",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_choice",
    "check_per_layer",
    "check_array",
    "check_same_namespace",
    "check_same_dtype",
    "describe",
]

_FLOAT_DTYPES = ("float32", "float64")


class ValidationTypeError(TypeError, ValueError):
    """An argument of the wrong kind: a ``TypeError``, and a ``ValueError`` for old callers."""


def describe(value: Any) -> str:
    """How a message shows a given value: its repr (shortened) and its type.

    Arrays are shown by backend, shape and dtype, never by their entries.
    """
    if _is_array(value):
        return (
            f"{_a(_backend_of(value))} array of shape {tuple(value.shape)} "
            f"and dtype {_dtype_name(value.dtype)}"
        )
    text = repr(value)
    if len(text) > 60:
        text = text[:45] + "..." + text[-10:]
    return f"{text} ({type(value).__name__})"


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


# ---------------------------------------------------------------- numbers
def _is_array(x: Any) -> bool:
    return array_api_compat.is_array_api_obj(x) and not B.is_host_scalar(x)


def _dtype_name(dtype: Any) -> str:
    name = str(dtype).removeprefix("<class '").removesuffix("'>")
    return name.rsplit(".", 1)[-1]  # numpy.float32, torch.float32, array_api_strict.float32


def _backend_of(x: Any) -> str:
    try:
        return B.backend_name(B.namespace(x))
    except TypeError:
        return type(x).__module__.split(".")[0]


def _real_scalar(value: Any) -> Any:
    """``value`` as a Python ``int``/``float`` when it is a real scalar, else ``None``."""
    if isinstance(value, bool) or (B.is_host_scalar(value) and value.dtype.kind == "b"):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if _is_array(value) and len(value.shape) == 0:
        xp = B.namespace(value)
        if xp.isdtype(value.dtype, "integral"):
            return int(value)
        if xp.isdtype(value.dtype, "real floating"):
            return float(value)
    return None


def _bounds_text(low: Any, high: Any, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def _in_bounds(x: float, low: Any, high: Any, low_open: bool, high_open: bool) -> bool:
    if low is not None and (x <= low if low_open else x < low):
        return False
    return not (high is not None and (x >= high if high_open else x > high))


def _string_hint(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f"; pass the number {value} itself, not a string"
    return ""


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite Python ``float`` within the given bounds.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : real scalar
        A Python or NumPy real number, or a 0-d real array of any backend.
    low, high : float, optional
        Bounds; ``low_open``/``high_open`` make them strict.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        ``value`` is not a real number (``bool``, ``str``, ``None``, complex, an array
        with entries).
    ValueError
        ``value`` is NaN, infinite or out of bounds.
    """
    expected = "a finite number" + _bounds_text(low, high, low_open, high_open)
    x = _real_scalar(value)
    if x is None:
        raise ValidationTypeError(
            f"{name} must be {expected}, got {describe(value)}{_string_hint(value)}"
        )
    try:
        x = float(x)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x) or not _in_bounds(x, low, high, low_open, high_open):
        raise ValueError(f"{name} must be {expected}, got {describe(value)}")
    return x


def check_positive(name: str, value: Any) -> float:
    """``value`` as a finite ``float > 0`` (see :func:`check_number`)."""
    return check_number(name, value, low=0, low_open=True)


def check_nonnegative(name: str, value: Any) -> float:
    """``value`` as a finite ``float >= 0`` (see :func:`check_number`)."""
    return check_number(name, value, low=0)


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python ``int`` in ``[minimum, maximum]``.

    Python and NumPy integers and 0-d integer arrays are accepted; ``bool`` and
    floats (even integral ones such as ``3.0``) are refused with a ``TypeError``.
    """
    expected = "an integer" + _bounds_text(minimum, maximum, False, False)
    x = _real_scalar(value)
    if not isinstance(x, int):
        raise ValidationTypeError(f"{name} must be {expected}, got {describe(value)}")
    if not _in_bounds(x, minimum, maximum, False, False):
        raise ValueError(f"{name} must be {expected}, got {describe(value)}")
    return x


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` when it is one of ``choices``; else a message listing them and the nearest.

    >>> check_choice("activation", "relus", ["relu", "sigmoid"])
    Traceback (most recent call last):
    ValueError: activation must be one of 'relu', 'sigmoid', got 'relus'; did you mean 'relu'?
    """
    choices = list(choices)
    listed = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise ValidationTypeError(f"{name} must be one of {listed}, got {describe(value)}")
    if value in choices:
        return value
    near = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise ValueError(f"{name} must be one of {listed}, got {value!r}{hint}")


def check_per_layer(
    name: str,
    value: Any,
    num_layers: int,
    check: Callable[[str, Any], Any] = check_positive,
) -> list:
    """One checked value for every layer: ``value`` itself repeated, or one entry per layer.

    ``value`` is a scalar (used for all ``num_layers`` layers) or a list, tuple or
    1-d array with ``num_layers`` entries; entry ``i`` is checked as ``name[i]``.
    """
    if _real_scalar(value) is not None:
        return [check(name, value)] * num_layers
    if isinstance(value, (list, tuple)):
        entries = list(value)
    elif _is_array(value) and len(value.shape) == 1:
        entries = [value[i] for i in range(value.shape[0])]
    else:
        raise ValidationTypeError(
            f"{name} must be a number or a list of {num_layers} numbers (one per layer), "
            f"got {describe(value)}{_string_hint(value)}"
        )
    if len(entries) != num_layers:
        raise ValueError(
            f"{name} has {len(entries)} entries but the network has {num_layers} layers; "
            f"give one value per layer or a single number"
        )
    return [check(f"{name}[{i}]", v) for i, v in enumerate(entries)]


# ----------------------------------------------------------------- arrays
def _require_array(name: str, x: Any) -> None:
    if isinstance(x, (list, tuple)):
        raise ValidationTypeError(
            f"{name} must be an array (NumPy, CuPy, torch or array-api-strict), got a "
            f"{type(x).__name__}; convert it first, e.g. numpy.asarray({name})"
        )
    if not _is_array(x):
        raise ValidationTypeError(f"{name} must be an array, got {describe(x)}")
    try:
        B.namespace(x)
    except TypeError as exc:
        raise ValidationTypeError(
            f"{name} is an array of an unsupported library: {describe(x)}"
        ) from exc


def _check_ndim(name: str, x: Any, ndim: int | Sequence[int]) -> None:
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if len(x.shape) not in allowed:
        want = " or ".join(f"{d}-d" for d in allowed)
        raise ValueError(f"{name} must be a {want} array, got shape {tuple(x.shape)}")


def _check_dtype(name: str, x: Any, dtype: Any) -> None:
    xp = B.namespace(x)
    if dtype == "float":
        ok = _dtype_name(x.dtype) in _FLOAT_DTYPES
        want = "dtype float32 or float64"
    elif dtype == "integer":
        ok = xp.isdtype(x.dtype, "integral")
        want = "an integer dtype"
    else:
        ok = x.dtype == dtype
        want = f"dtype {_dtype_name(dtype)}"
    if not ok:
        raise ValidationTypeError(f"{name} must have {want}, got {_dtype_name(x.dtype)}")


def _first_nonfinite(name: str, x: Any) -> str:
    """The message for an array known to hold a non-finite entry: its first one (row-major)."""
    xp = B.namespace(x)
    flat = xp.reshape(x, (-1,))
    bad = xp.astype(~xp.isfinite(flat), xp.int32)
    count = int(xp.sum(bad))
    idx = int(xp.argmax(bad))
    v = float(flat[idx])
    what = "NaN" if math.isnan(v) else ("+inf" if v > 0 else "-inf")
    pos = []
    for size in reversed(tuple(x.shape)):
        idx, r = divmod(idx, size)
        pos.insert(0, r)
    where = f" at {pos}" if pos else ""
    more = f" ({count} non-finite entries in all)" if count > 1 else ""
    return f"{name} contains {what}{where}{more}"


def check_array(
    name: str,
    x: Any,
    *,
    ndim: int | Sequence[int] | None = None,
    dtype: Any = None,
    finite: bool = True,
) -> Any:
    """``x`` itself, once it is an array of a supported backend with the asked properties.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    x : array
        A NumPy, CuPy, torch or array-api-strict array (a Python list is refused).
    ndim : int or sequence of int, optional
        The allowed numbers of dimensions.
    dtype : {None, "float", "integer"} or a dtype, optional
        ``"float"``: float32 or float64 only; ``"integer"``: any integer dtype.
    finite : bool
        Refuse NaN and infinities, naming the first bad position (one host sync).

    Raises
    ------
    TypeError
        Not an array of a supported backend, or the wrong dtype.
    ValueError
        The wrong number of dimensions, or a non-finite entry.
    """
    _require_array(name, x)
    if ndim is not None:
        _check_ndim(name, x, ndim)
    if dtype is not None:
        _check_dtype(name, x, dtype)
    xp = B.namespace(x)
    if finite and xp.isdtype(x.dtype, "real floating"):
        if not bool(xp.all(xp.isfinite(x))):
            raise ValueError(_first_nonfinite(name, x))
    return x


def _arrays_in(value: Any) -> list:
    """The arrays in ``value``: an array, or a (nested) list/tuple of arrays and ``None``."""
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays_in(v)]
    return [] if value is None else [value]


def _grouped(arrays: dict) -> list[tuple[str, Any, bool]]:
    """``(name, first array, plural)`` per keyword; every entry is checked to be an array."""
    out = []
    for name, value in arrays.items():
        found = _arrays_in(value)
        for a in found:
            _require_array(name, a)
        if found:
            out.append((name, found, isinstance(value, (list, tuple))))
    return out


def _is_are(name: str, plural: bool, what: str) -> str:
    return f"{name} are {what}s" if plural else f"{name} is {_a(what)}"


def _has(plural: bool) -> str:
    return "have" if plural else "has"


def check_same_namespace(**arrays: Any) -> Any:
    """The one array namespace shared by all ``arrays`` (keyword = the name in messages).

    A value may be an array or a (nested) list of arrays such as ``params``;
    ``None`` entries are skipped. All arrays must come from one backend and sit
    on one device.

    >>> check_same_namespace(X=X, params=params)  # doctest: +SKIP
    TypeError: X is a numpy array but params are cupy arrays; ...
    """
    groups = _grouped(arrays)
    if not groups:
        raise ValidationTypeError("check_same_namespace needs at least one array")
    ref_name, ref, ref_plural = groups[0]
    ref_b, ref_dev = _backend_of(ref[0]), B.device_of(ref[0])
    for name, found, plural in groups:
        for a in found:
            b = _backend_of(a)
            if b != ref_b:
                raise ValidationTypeError(
                    f"{_is_are(name, plural, b + ' array')} but "
                    f"{_is_are(ref_name, ref_plural, ref_b + ' array')}; "
                    f"put them on one backend (sibp_ref.backend.asarray)"
                )
            dev = B.device_of(a)
            if dev != ref_dev:
                raise ValueError(
                    f"{name} is on device {dev} but {ref_name} is on device {ref_dev}; "
                    "move them to one device"
                )
    return B.namespace(ref[0])


def check_same_dtype(**arrays: Any) -> Any:
    """The one floating dtype (float32 or float64) shared by all ``arrays``.

    The dtype rule (docs/conventions.md §7): parameters and data share one
    floating dtype, so nothing is promoted silently. Values as in
    :func:`check_same_namespace`.
    """
    groups = _grouped(arrays)
    if not groups:
        raise ValidationTypeError("check_same_dtype needs at least one array")
    ref_name, ref, ref_plural = groups[0]
    for name, found, plural in groups:
        for a in found:
            got = _dtype_name(a.dtype)
            if got not in _FLOAT_DTYPES:
                raise ValidationTypeError(
                    f"{name} must have dtype float32 or float64, got {got}; "
                    "parameters and data share one floating dtype"
                )
            want = _dtype_name(ref[0].dtype)
            if got != want:
                raise ValidationTypeError(
                    f"{name} {_has(plural)} dtype {got} but {ref_name} "
                    f"{_has(ref_plural)} dtype {want}; parameters and data "
                    f"must share one floating dtype: convert {name} to {want}"
                )
    return ref[0].dtype
