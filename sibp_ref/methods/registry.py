"""The methods by name, with the settings the paper's experiments used.

``make_method("sibp")`` gives ``SIBP(eta=10.0, lam=0.5)``; any hyper-parameter can be
overridden (``make_method("sgd", lr=1.0)``). The registry maps a name to a class and
its hyper-parameters only; what a method needs (a full batch, a loss) is said by the
class itself (``full_batch``, ``required_loss``).

Defaults, and where they come from (784-500-10 of Table 2, batch 100, mean loss):

=========  =============================================  =======================================
name       default                                        source
=========  =============================================  =======================================
sgd        ``BP("sgd", lr=0.1)``                          Table 2's stable range of lr
momentum   ``BP("momentum", lr=0.01, momentum=0.9)``      common practice
nesterov   ``BP("nesterov", lr=0.01, momentum=0.9)``      common practice
adam       ``BP("adam", lr=1e-3)``                        Kingma & Ba; the paper's Adam runs
proxbp     ``ProxBP(eta=1.0, lam=0.5)``                   ProxProp: explicit step 1 on G, τ_θ = 1
                                                          (λ = τ_θ/2, docs/conventions.md §4),
                                                          5 CG steps there
bcd        ``BCD(gamma=1.0, rho=1.0, alpha=1.0)``         Zeng et al.'s code: γ = ρ = 1, α = 1;
                                                          full batch, square loss
sibp       ``SIBP(eta=10.0, lam=0.5)``                    the authors' code: η_c = 0.1 summed
                                                          loss, batch 100 → η = 10; λ_c = 1 →
                                                          λ = 1/(2λ_c) = 0.5; 5 NCG steps
=========  =============================================  =======================================

The BP methods' step size is ``lr`` here (``BP`` itself also takes ``eta``): the
hyper-parameters of a run are its identity (run keys hash them), so the registry
knows one name per setting.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any

from .bcd import BCD
from .bp import BP
from .optimizers import RULES
from .proxbp import ProxBP
from .sibp import SIBP

__all__ = [
    "MethodSpec",
    "MethodUnavailable",
    "METHODS",
    "make_method",
    "method_names",
    "method_spec",
    "hyper_of",
]


class MethodUnavailable(ImportError):
    """A method cannot be built on this machine (every registered method can, here)."""


@dataclass(frozen=True)
class MethodSpec:
    """How to build one method: ``cls(*args, **defaults)``, under a display ``label``.

    ``full_batch`` and ``loss`` read the class's ``full_batch`` and ``required_loss``.
    """

    name: str
    cls: type
    defaults: dict = field(default_factory=dict)
    args: tuple = ()
    label: str = ""

    @property
    def full_batch(self) -> bool:
        """Every step must see the whole training set (BCD)."""
        return bool(getattr(self.cls, "full_batch", False))

    @property
    def loss(self) -> str | None:
        """The loss the network must use with this method (``"square"`` for BCD), or None."""
        return getattr(self.cls, "required_loss", None)


METHODS: dict[str, MethodSpec] = {
    "sgd": MethodSpec("sgd", BP, {"lr": 0.1}, ("sgd",), label="SGD"),
    "momentum": MethodSpec(
        "momentum", BP, {"lr": 0.01, "momentum": 0.9}, ("momentum",), label="Momentum"
    ),
    "nesterov": MethodSpec(
        "nesterov", BP, {"lr": 0.01, "momentum": 0.9}, ("nesterov",), label="Nesterov"
    ),
    "adam": MethodSpec("adam", BP, {"lr": 1e-3}, ("adam",), label="Adam"),
    "proxbp": MethodSpec("proxbp", ProxBP, {"eta": 1.0, "lam": 0.5}, label="ProxBP"),
    "bcd": MethodSpec("bcd", BCD, {"gamma": 1.0, "rho": 1.0, "alpha": 1.0}, label="BCD"),
    "sibp": MethodSpec("sibp", SIBP, {"eta": 10.0, "lam": 0.5}, label="SIBP"),
}


def method_names() -> list[str]:
    """The names :func:`make_method` accepts."""
    return list(METHODS)


def method_spec(name: str) -> MethodSpec:
    """The :class:`MethodSpec` of ``name``; ValueError listing the valid names otherwise."""
    key = str(name).lower()
    if key not in METHODS:
        near = difflib.get_close_matches(key, METHODS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}{hint}")
    return METHODS[key]


def _accepted(cls: type) -> tuple[set[str], bool]:
    """The keyword names ``cls(...)`` takes, and whether it takes ``**kwargs``."""
    sig = inspect.signature(cls.__init__)
    names = {
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    }
    varkw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, varkw


def accepted_hyper(spec: MethodSpec) -> tuple[set[str], bool]:
    """The hyper-parameter names ``make_method(spec.name, ...)`` takes (and ``**kwargs``)."""
    names, varkw = _accepted(spec.cls)
    if spec.cls is BP:
        # BP forwards its extra keywords to the rule, whose names are known; its step
        # size is ``lr`` in the registry (module docstring), not the alias ``eta``
        names -= {"rule", "eta"}
        names |= _accepted(RULES[spec.name])[0]
        varkw = False
    return names, varkw


def make_method(name: str, **hyper: Any) -> Any:
    """A method by name with the defaults above, ``hyper`` overriding them.

    Raises ValueError for an unknown name or a hyper-parameter the method does not take.
    """
    spec = method_spec(name)
    names, varkw = accepted_hyper(spec)
    unknown = sorted(k for k in hyper if k not in names)
    if unknown and not varkw:
        raise ValueError(
            f"method {spec.name!r} does not take {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(names))}"
        )
    kwargs = {**spec.defaults, **hyper}
    return spec.cls(*spec.args, **kwargs)


def hyper_of(name: str, **hyper: Any) -> dict:
    """The full hyper-parameters a run of ``name`` uses (defaults merged with ``hyper``)."""
    return {**method_spec(name).defaults, **hyper}
