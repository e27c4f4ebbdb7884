"""The methods by name, with the settings the paper's experiments used.

``make_method("sibp")`` gives ``SIBP(eta=10.0, lam=0.5)``; any hyper-parameter can be
overridden (``make_method("sgd", lr=1.0)``). The modules are imported only when a
method is made, so a missing optional module fails for that method alone.

Defaults, and where they come from (784-500-10 of Table 2, batch 100, mean loss):

=========  =============================================  =======================================
name       default                                        source
=========  =============================================  =======================================
sgd        ``BP("sgd", lr=0.1)``                          Table 2's stable range of lr
momentum   ``BP("momentum", lr=0.01, momentum=0.9)``      common practice
nesterov   ``BP("nesterov", lr=0.01, momentum=0.9)``      common practice
adam       ``BP("adam", lr=1e-3)``                        Kingma & Ba; the paper's Adam runs
proxbp     ``ProxBP(eta=1.0, lam=0.5)``                   ProxProp: explicit step 1 on G, τ_θ = 1
                                                          (λ = τ_θ/2, SPEC §1), 5 CG steps there
bcd        ``BCD(gamma=1.0, rho=1.0, alpha=1.0)``         Zeng et al.'s code: γ = ρ = 1, α = 1;
                                                          full batch, square loss
sibp       ``SIBP(eta=10.0, lam=0.5)``                    the authors' code: η_c = 0.1 summed
                                                          loss, batch 100 → η = 10; λ_c = 1 →
                                                          λ = 1/(2λ_c) = 0.5; 5 NCG steps
=========  =============================================  =======================================
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MethodSpec",
    "MethodUnavailable",
    "METHODS",
    "make_method",
    "method_names",
    "method_spec",
]


class MethodUnavailable(ImportError):
    """The module that implements a method is not installed / not written yet."""


@dataclass(frozen=True)
class MethodSpec:
    """How to build one method: ``module.cls(*args, **defaults)``, and what it needs.

    ``full_batch``: every step must see the whole training set (BCD).
    ``loss``: the loss the network must use with it (``"square"`` for BCD), or None.
    """

    name: str
    module: str
    cls: str
    defaults: dict = field(default_factory=dict)
    args: tuple = ()
    full_batch: bool = False
    loss: str | None = None
    label: str = ""

    def load(self) -> type:
        try:
            mod = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name != self.module:
                raise
            raise MethodUnavailable(
                f"method {self.name!r} is not available: module {self.module} is missing"
            ) from exc
        return getattr(mod, self.cls)


METHODS: dict[str, MethodSpec] = {
    "sgd": MethodSpec("sgd", "sibp_ref.bp", "BP", {"lr": 0.1}, ("sgd",), label="SGD"),
    "momentum": MethodSpec(
        "momentum",
        "sibp_ref.bp",
        "BP",
        {"lr": 0.01, "momentum": 0.9},
        ("momentum",),
        label="Momentum",
    ),
    "nesterov": MethodSpec(
        "nesterov",
        "sibp_ref.bp",
        "BP",
        {"lr": 0.01, "momentum": 0.9},
        ("nesterov",),
        label="Nesterov",
    ),
    "adam": MethodSpec("adam", "sibp_ref.bp", "BP", {"lr": 1e-3}, ("adam",), label="Adam"),
    "proxbp": MethodSpec(
        "proxbp", "sibp_ref.proxbp", "ProxBP", {"eta": 1.0, "lam": 0.5}, label="ProxBP"
    ),
    "bcd": MethodSpec(
        "bcd",
        "sibp_ref.bcd",
        "BCD",
        {"gamma": 1.0, "rho": 1.0, "alpha": 1.0},
        full_batch=True,
        loss="square",
        label="BCD",
    ),
    "sibp": MethodSpec("sibp", "sibp_ref.sibp", "SIBP", {"eta": 10.0, "lam": 0.5}, label="SIBP"),
}


def method_names() -> list[str]:
    """The names :func:`make_method` accepts."""
    return list(METHODS)


def method_spec(name: str) -> MethodSpec:
    """The :class:`MethodSpec` of ``name``; ValueError listing the valid names otherwise."""
    key = str(name).lower()
    if key not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[key]


def _accepted(cls: type) -> tuple[set[str], bool]:
    sig = inspect.signature(cls.__init__)
    names = {
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    }
    varkw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, varkw


def make_method(name: str, **hyper: Any) -> Any:
    """A method by name with the defaults above, ``hyper`` overriding them.

    Raises ValueError for an unknown name or a hyper-parameter the method does not take,
    and :class:`MethodUnavailable` when its module is missing.
    """
    spec = method_spec(name)
    cls = spec.load()
    names, varkw = _accepted(cls)
    if spec.cls == "BP":
        names.discard("rule")
        # BP forwards its extra keywords to the rule; those of the rule are known
        from .optimizers import RULES

        rule_names, _ = _accepted(RULES[spec.name])
        names |= rule_names
        varkw = False
    unknown = sorted(k for k in hyper if k not in names)
    if unknown and not varkw:
        raise ValueError(
            f"method {spec.name!r} does not take {', '.join(unknown)}; "
            f"it takes {', '.join(sorted(names))}"
        )
    kwargs = {**spec.defaults, **hyper}
    return cls(*spec.args, **kwargs)


def hyper_of(name: str, **hyper: Any) -> dict:
    """The full hyper-parameters a run of ``name`` uses (defaults merged with ``hyper``)."""
    return {**method_spec(name).defaults, **hyper}
