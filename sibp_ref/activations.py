"""Activation functions σ and their derivatives σ', side by side.

Each activation is a pair of functions of an array ``G`` (any array-API
backend): ``f(G) = σ(G)`` and ``df(G) = σ'(G)``. SIBP's Theorem 4.1 asks for
σ ∈ C² with σ' ≥ 0 (Assumption 4.2): sigmoid, tanh, softplus and the identity
satisfy it; ReLU and leaky ReLU are smooth only almost everywhere (Remark 4.3),
and their σ' at 0 is taken as 0 (ReLU) or the leak (leaky ReLU), as the
published codes do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .backend import namespace

__all__ = ["Activation", "ACTIVATIONS", "get_activation", "LEAKY_SLOPE"]

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """σ and σ' under one name. ``smooth`` says whether Assumption 4.2 holds."""

    name: str
    f: Callable[[Any], Any]
    df: Callable[[Any], Any]
    smooth: bool

    def __call__(self, G: Any) -> Any:
        return self.f(G)


# --- identity: σ(g) = g, σ'(g) = 1 -----------------------------------------
def identity(G):
    return G


def identity_d(G):
    return namespace(G).ones_like(G)


# --- ReLU: σ(g) = max(g, 0), σ'(g) = 1[g > 0] ------------------------------
def relu(G):
    xp = namespace(G)
    return xp.maximum(G, xp.zeros_like(G))


def relu_d(G):
    xp = namespace(G)
    return xp.astype(G > 0, G.dtype)


# --- leaky ReLU: σ(g) = max(g, a g), σ'(g) = 1 if g > 0 else a ---------------
def leaky_relu(G):
    xp = namespace(G)
    return xp.where(G > 0, G, LEAKY_SLOPE * G)


def leaky_relu_d(G):
    xp = namespace(G)
    return xp.where(G > 0, xp.ones_like(G), xp.full_like(G, LEAKY_SLOPE))


# --- sigmoid: σ(g) = 1/(1+e^{-g}), σ'(g) = σ(g)(1-σ(g)) ----------------------
def sigmoid(G):
    # e = exp(-|g|) never overflows; both branches are the same function.
    xp = namespace(G)
    e = xp.exp(-xp.abs(G))
    return xp.where(G >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_d(G):
    s = sigmoid(G)
    return s * (1.0 - s)


# --- tanh: σ'(g) = 1 - tanh(g)^2 ---------------------------------------------
def tanh(G):
    return namespace(G).tanh(G)


def tanh_d(G):
    t = namespace(G).tanh(G)
    return 1.0 - t * t


# --- softplus: σ(g) = log(1+e^g), σ'(g) = sigmoid(g) -------------------------
def softplus(G):
    xp = namespace(G)
    return xp.logaddexp(xp.zeros_like(G), G)


softplus_d = sigmoid


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", identity, identity_d, smooth=True),
    "relu": Activation("relu", relu, relu_d, smooth=False),
    "leaky_relu": Activation("leaky_relu", leaky_relu, leaky_relu_d, smooth=False),
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_d, smooth=True),
    "tanh": Activation("tanh", tanh, tanh_d, smooth=True),
    "softplus": Activation("softplus", softplus, softplus_d, smooth=True),
}


def get_activation(name: str | Activation) -> Activation:
    """Look up an activation by name (``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``,
    ``softplus``, ``identity``)."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None
