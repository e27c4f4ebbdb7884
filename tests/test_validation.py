"""The validation module: every check accepts what it documents and names the argument
in every refusal, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref import backend as B
from sibp_ref.validation import (
    ValidationTypeError,
    check_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_number,
    check_per_layer,
    check_positive,
    check_same_dtype,
    check_same_namespace,
)


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "value",
    [0.5, 1, np.float32(0.5), np.float64(0.5), np.int64(2), np.asarray(0.5), np.asarray(3)],
    ids=["float", "int", "np.float32", "np.float64", "np.int64", "0-d float", "0-d int"],
)
def test_check_positive_accepts_python_numpy_and_0d_numbers(value):
    out = check_positive("lam", value)
    assert type(out) is float
    assert out == float(value)


def test_check_number_accepts_0d_arrays_of_every_backend(xp):
    assert check_number("lam", xp.asarray(0.25, dtype=xp.float32)) == 0.25
    assert check_number("lam", xp.asarray(0.25, dtype=xp.float64)) == 0.25
    assert check_int("iters", xp.asarray(3)) == 3


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", "'abc' (str)"),
        (None, "None (NoneType)"),
        (True, "True (bool)"),
        (np.bool_(True), "(bool"),
        (1j, "1j (complex)"),
        ([0.5], "[0.5] (list)"),
        (np.asarray([0.5]), "numpy array of shape (1,)"),
        (np.asarray(1 + 2j), "complex128"),
    ],
)
def test_check_positive_refuses_non_numbers_with_a_type_error_naming_the_argument(value, shown):
    with pytest.raises(TypeError, match=r"^lam must be a finite number > 0, got ") as info:
        check_positive("lam", value)
    assert shown in str(info.value)


def test_a_number_given_as_a_string_gets_the_fix():
    with pytest.raises(TypeError, match=r"got '0\.5' \(str\); pass the number 0\.5 itself"):
        check_positive("lam", "0.5")


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), np.float32("nan"), 10**400, 0, -1e-300]
)
def test_check_positive_refuses_bad_values_with_a_value_error(value):
    with pytest.raises(ValueError, match=r"^lam must be a finite number > 0, got "):
        check_positive("lam", value)


def test_check_nonnegative_accepts_zero_and_refuses_negatives():
    assert check_nonnegative("l1", 0) == 0.0
    with pytest.raises(ValueError, match=r"^l1 must be a finite number >= 0, got -0\.1 \(float\)"):
        check_nonnegative("l1", -0.1)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"low": 0, "high": 1}, "in [0, 1]"),
        ({"low": 0, "high": 1, "low_open": True, "high_open": True}, "in (0, 1)"),
        ({"high": 1, "high_open": True}, "< 1"),
        ({"high": 1}, "<= 1"),
    ],
)
def test_check_number_bounds_are_stated_in_the_message(kwargs, text):
    with pytest.raises(ValueError) as info:
        check_number("beta", 2.0, **kwargs)
    assert str(info.value) == f"beta must be a finite number {text}, got 2.0 (float)"


def test_check_number_open_and_closed_bounds():
    assert check_number("beta", 0.0, low=0.0) == 0.0
    assert check_number("beta", 1.0, high=1.0) == 1.0
    with pytest.raises(ValueError, match="beta"):
        check_number("beta", 0.0, low=0.0, low_open=True)
    with pytest.raises(ValueError, match="beta"):
        check_number("beta", 1.0, high=1.0, high_open=True)


@given(
    x=st.floats(-1e6, 1e6, allow_nan=False, width=64),
    low=st.floats(-1e6, 1e6, allow_nan=False, width=64),
    low_open=st.booleans(),
)
def test_check_number_returns_the_value_exactly_iff_it_is_within_the_bound(x, low, low_open):
    inside = x > low if low_open else x >= low
    if inside:
        assert check_number("t", x, low=low, low_open=low_open) == x
        assert check_number("t", np.float64(x), low=low, low_open=low_open) == x
    else:
        with pytest.raises(ValueError, match=r"^t must be a finite number [>]"):
            check_number("t", x, low=low, low_open=low_open)


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.asarray(3, dtype=np.int16)])
def test_check_int_accepts_python_and_numpy_integers(value):
    out = check_int("iters", value, 1)
    assert type(out) is int
    assert out == 3


@pytest.mark.parametrize(
    ("value", "shown"), [(3.0, "3.0 (float)"), (True, "True (bool)"), ("3", "'3' (str)")]
)
def test_check_int_refuses_floats_bools_and_strings(value, shown):
    with pytest.raises(TypeError) as info:
        check_int("iters", value, 1)
    assert str(info.value) == f"iters must be an integer >= 1, got {shown}"


def test_check_int_bounds():
    assert check_int("k", -5) == -5
    assert check_int("k", 7, 0, 7) == 7
    with pytest.raises(ValueError, match=r"^k must be an integer in \[0, 7\], got 8 \(int\)$"):
        check_int("k", 8, 0, 7)
    with pytest.raises(
        ValueError, match=r"^iters must be an integer >= 1, got np\.int64\(0\) \(int64\)$"
    ):
        check_int("iters", np.int64(0), 1)


# ---------------------------------------------------------------- choices
def test_check_choice_returns_a_valid_choice():
    assert check_choice("solver", "exact", ("exact", "cg")) == "exact"


def test_check_choice_lists_the_choices_and_the_nearest():
    with pytest.raises(ValueError) as info:
        check_choice("activation", "rleu", ["relu", "sigmoid", "tanh"])
    assert str(info.value) == (
        "activation must be one of 'relu', 'sigmoid', 'tanh', got 'rleu'; did you mean 'relu'?"
    )


def test_check_choice_without_a_near_match_only_lists():
    with pytest.raises(ValueError) as info:
        check_choice("solver", "zzzzzz", ["exact", "cg"])
    assert str(info.value) == "solver must be one of 'exact', 'cg', got 'zzzzzz'"


def test_check_choice_refuses_non_strings():
    with pytest.raises(TypeError, match=r"^solver must be one of 'exact', 'cg', got None"):
        check_choice("solver", None, ["exact", "cg"])


# -------------------------------------------------------------- per layer
def test_check_per_layer_repeats_a_scalar_and_checks_each_entry(xp):
    assert check_per_layer("lam", np.float32(0.5), 3) == [0.5, 0.5, 0.5]
    assert check_per_layer("lam", [1, 2.5], 2) == [1.0, 2.5]
    assert check_per_layer("lam", (1, 2), 2) == [1.0, 2.0]
    assert check_per_layer("lam", xp.asarray([1.0, 2.0]), 2) == [1.0, 2.0]
    assert check_per_layer("l1", 0, 2, check=check_nonnegative) == [0.0, 0.0]


def test_check_per_layer_names_the_bad_entry():
    with pytest.raises(ValueError, match=r"^lam\[1\] must be a finite number > 0, got -1"):
        check_per_layer("lam", [1.0, -1.0], 2)


def test_check_per_layer_counts_entries():
    with pytest.raises(ValueError, match="lam has 3 entries but the network has 2 layers"):
        check_per_layer("lam", [1.0, 1.0, 1.0], 2)


@pytest.mark.parametrize(("value", "shown"), [("0.5", "'0.5' (str)"), (None, "None (NoneType)")])
def test_check_per_layer_refuses_strings_and_none_naming_the_argument(value, shown):
    # a string is not iterated over character by character
    with pytest.raises(TypeError) as info:
        check_per_layer("lam", value, 3)
    msg = str(info.value)
    assert msg.startswith("lam must be a number or a list of 3 numbers (one per layer), got ")
    assert shown in msg


# ----------------------------------------------------------------- arrays
def test_check_array_returns_the_array_itself(xp):
    X = xp.ones((3, 4), dtype=xp.float32)
    assert check_array("X", X, ndim=2, dtype="float") is X


def test_check_array_refuses_a_list_with_the_fix():
    with pytest.raises(TypeError) as info:
        check_array("X", [[1.0, 2.0]])
    assert str(info.value) == (
        "X must be an array (NumPy, CuPy, torch or array-api-strict), got a list; "
        "convert it first, e.g. numpy.asarray(X)"
    )


@pytest.mark.parametrize("value", [None, 1.5, np.float64(1.5), "X"])
def test_check_array_refuses_non_arrays(value):
    with pytest.raises(TypeError, match=r"^X must be an array, got "):
        check_array("X", value)


def test_check_array_ndim(xp):
    with pytest.raises(ValueError, match=r"^X must be a 2-d array, got shape \(3,\)$"):
        check_array("X", xp.ones(3), ndim=2)
    with pytest.raises(ValueError, match=r"^b must be a 1-d or 2-d array, got shape \(\)$"):
        check_array("b", xp.asarray(1.0), ndim=(1, 2))


def test_check_array_float_dtype_only_float32_and_float64(xp):
    check_array("X", xp.ones(2, dtype=xp.float64), dtype="float")
    with pytest.raises(TypeError, match=r"^X must have dtype float32 or float64, got int64$"):
        check_array("X", xp.ones(2, dtype=xp.int64), dtype="float")
    with pytest.raises(TypeError, match=r"^X must have dtype float32 or float64, got float16$"):
        check_array("X", np.ones(2, dtype=np.float16), dtype="float")


def test_check_array_integer_dtype(xp):
    check_array("labels", xp.asarray([0, 2, 1]), dtype="integer")
    with pytest.raises(TypeError, match=r"^labels must have an integer dtype, got float"):
        check_array("labels", xp.asarray([0.0, 2.0]), dtype="integer")


def test_check_array_names_the_first_nonfinite_position(xp):
    a = np.zeros((5, 20))
    a[3, 17] = np.nan
    a[4, 0] = np.inf
    with pytest.raises(ValueError) as info:
        check_array("X", B.asarray(a, xp))
    assert str(info.value) == "X contains NaN at [3, 17] (2 non-finite entries in all)"
    b = np.zeros((2, 3))
    b[1, 2] = -np.inf
    with pytest.raises(ValueError) as info:
        check_array("Y", B.asarray(b, xp))
    assert str(info.value) == "Y contains -inf at [1, 2]"


def test_check_array_finite_false_lets_nonfinite_through(xp):
    X = xp.asarray([float("nan")])
    assert check_array("X", X, finite=False) is X


# ----------------------------------------------------- namespace and dtype
def test_check_same_namespace_returns_the_shared_namespace(xp):
    X = xp.ones((2, 3))
    params = [(xp.ones((4, 2)), None), (xp.ones((1, 4)), xp.ones((1, 1)))]
    out = check_same_namespace(X=X, params=params)
    assert B.backend_name(out) == B.backend_name(xp)


def test_check_same_namespace_names_both_sides():
    strict = B.get_backend("array_api_strict")
    with pytest.raises(TypeError) as info:
        check_same_namespace(X=np.ones(2), params=[(strict.ones(2), None)])
    assert str(info.value).startswith(
        "params are array_api_strict arrays but X is a numpy array; put them on one backend"
    )


def test_check_same_namespace_refuses_non_arrays_by_name():
    with pytest.raises(TypeError, match=r"^params must be an array, got 'W' \(str\)"):
        check_same_namespace(X=np.ones(2), params=[("W", None)])


def test_check_same_dtype_returns_the_shared_dtype(xp):
    out = check_same_dtype(X=xp.ones(2, dtype=xp.float32), params=[(xp.ones(2, dtype=xp.float32),)])
    assert out == xp.float32


def test_check_same_dtype_refuses_a_mixed_pair_with_the_fix(xp):
    params = [(xp.ones((2, 2), dtype=xp.float32), None)]
    with pytest.raises(TypeError) as info:
        check_same_dtype(params=params, X=xp.ones((2, 3), dtype=xp.float64))
    assert str(info.value) == (
        "X has dtype float64 but params have dtype float32; parameters and data "
        "must share one floating dtype: convert X to float32"
    )


def test_check_same_dtype_refuses_float16_and_integers():
    with pytest.raises(TypeError, match=r"^params must have dtype float32 or float64, got float16"):
        check_same_dtype(params=[(np.ones(2, dtype=np.float16), None)])
    with pytest.raises(TypeError, match=r"^Y must have dtype float32 or float64, got int64"):
        check_same_dtype(X=np.ones(2), Y=np.ones(2, dtype=np.int64))


def test_messages_never_show_array_entries():
    big = np.full((100, 100), 7.0)
    with pytest.raises(TypeError) as info:
        check_positive("lam", big)
    assert "7." not in str(info.value)


def test_a_wrong_kind_is_a_type_error_that_old_value_error_handlers_still_catch():
    with pytest.raises(ValidationTypeError) as info:
        check_positive("lr", "0.1")
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ValueError)
