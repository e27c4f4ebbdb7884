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
knows one name per setting, and :func:`hyper_of` writes every run's settings in one
normal form: aliases resolved (BP's ``eta`` is ``lr``, BCD's ``u_iters`` is ``iters``),
numbers as the type the method declares (``eta=10`` is ``10.0``), the defaults above filled.

This module is the one table of defaults: the classes' own defaults agree with it (a test
says so), ``sibp-ref list`` prints it, and the main job (``sibp-ref compare`` with no
arguments) is its named entry :data:`MAIN_JOB`, whose settings are laid over these.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any

from .bcd import BCD
from .bp import BP
from .optimizers import RULES
from .proxbp import PROXBP_SOLVERS, ProxBP
from .sibp import SIBP

__all__ = [
    "MethodSpec",
    "Preset",
    "METHODS",
    "MAIN_JOB",
    "make_method",
    "method_names",
    "method_spec",
    "hyper_of",
]


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


@dataclass(frozen=True)
class Preset:
    """A named job: the methods it runs, on which data set and in which floating ``dtype``,
    and the settings it lays over the registry's defaults (``hyper[method]``), with the
    reason for each in ``why``."""

    name: str
    methods: tuple
    dataset: str
    hyper: dict
    why: str = ""
    dtype: str = "float32"


#: The main job, ``sibp-ref compare`` with no arguments: SGD, Adam, ProxBP, BCD and SIBP on
#: the generated problem. BP's learning rates are the best of a sweep on this problem (20
#: epochs, seeds 0-4; SGD lr 1 diverges), so BP is not handicapped by a poor step; ProxBP
#: gets SIBP's effective step 2*lam*eta = 10 (both move W by about -2*lam*eta*grad J for
#: small steps), so the two implicit methods are compared at matched step sizes (ProxBP
#: eta=1 reaches 0.75, eta=10 reaches 0.90). It runs in float64 so that it prints the same
#: digits on any machine: in float32 a relative change of 1e-7 in the initial weights (the
#: size of one rounding, as another BLAS kernel makes) moves SGD's test accuracy from 0.834
#: to 0.850, and no smaller lr that trains is safe (float32 against float64: up to 0.01 at
#: lr 0.3, 0.0035 at lr 0.2); in float64 a change of 1e-15 leaves every printed digit of
#: every method as it was (figures/00_main_job.md). float64 costs about a third more CPU.
MAIN_JOB = Preset(
    "main",
    methods=("sgd", "adam", "proxbp", "bcd", "sibp"),
    dataset="synthetic",
    hyper={"sgd": {"lr": 0.5}, "adam": {"lr": 0.01}, "proxbp": {"eta": 10.0, "lam": 0.5}},
    why="BP at the best of a sweep on this problem; ProxBP at SIBP's effective step 2λη = 10; "
    "float64, so that rounding does not move the printed digits",
    dtype="float64",
)


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

    Raises ValueError for an unknown name or a hyper-parameter the method does not take;
    the method's own checks of the values run as it is made (the one place they are made).
    """
    spec = method_spec(name)
    names, varkw = accepted_hyper(spec)
    unknown = sorted(k for k in hyper if k not in names and k not in ALIASES.get(spec.cls, {}))
    if unknown and not varkw:
        near = difflib.get_close_matches(unknown[0], sorted(names), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(
            f"method {spec.name!r} does not take {', '.join(unknown)}{hint}; "
            f"it takes {', '.join(sorted(names))}"
        )
    return spec.cls(*spec.args, **hyper_of(spec.name, **hyper))


#: The inner solvers each class takes by name (``solver=...``).
SOLVERS = {SIBP: tuple(SIBP.solvers), ProxBP: PROXBP_SOLVERS}

#: Other names a class takes for one setting; the normal form uses the second.
ALIASES = {BP: {"eta": "lr"}, BCD: {"u_iters": "iters"}}


def _declared(spec: MethodSpec) -> dict[str, str]:
    """The annotation of each keyword ``make_method(spec.name, ...)`` takes, as text."""
    classes = [spec.cls] + ([RULES[spec.name]] if spec.cls is BP else [])
    out: dict[str, str] = {}
    for cls in classes:
        for p in inspect.signature(cls.__init__).parameters.values():
            out.setdefault(p.name, str(p.annotation))
    return out


def _as_declared(value: Any, declared: str) -> Any:
    """``value`` as the type its annotation names first (``10`` for ``float`` is ``10.0``);
    anything else (a string, a list of per-layer values) element by element or unchanged."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)):
        return [_as_declared(v, declared.split("[")[-1]) for v in value]
    if isinstance(value, int) and declared.startswith("float"):
        return float(value)
    if isinstance(value, float) and declared.startswith("int") and value.is_integer():
        return int(value)
    return value


def hyper_of(name: str, preset: Preset | None = None, **hyper: Any) -> dict:
    """The hyper-parameters a run of ``name`` uses, in normal form: the registry's defaults,
    then ``preset``'s settings for ``name``, then ``hyper``, each setting under one name
    (aliases resolved) and of its declared type, so that equal runs have equal settings."""
    spec = method_spec(name)
    declared = _declared(spec)
    alias = ALIASES.get(spec.cls, {})
    given = {}
    for k, v in hyper.items():
        key = alias.get(k, k)
        if key in given:
            other = {v: a for a, v in alias.items()}[key]
            raise ValueError(f"method {spec.name!r}: {other!r} is an alias of {key!r}; give one")
        given[key] = _as_declared(v, declared.get(k, ""))
    layered = preset.hyper.get(spec.name, {}) if preset is not None else {}
    return {**spec.defaults, **layered, **given}
