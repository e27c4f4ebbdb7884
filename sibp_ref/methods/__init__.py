"""The training methods: BP (§3.1), ProxBP (§3.2), BCD (§3.3), SIBP (§4), and their parts.

=============  ==========================================================
module         what it holds
=============  ==========================================================
base           the method interface and the check at the top of a step
bp             back propagation with an update rule
optimizers     the update rules SGD, momentum, Nesterov, Adam
schedules      step-size schedules ``k ↦ η_k`` (Theorem 4.2)
proxbp         proximal back propagation
bcd            block coordinate descent (dense networks, square loss)
sibp           semi-implicit back propagation, Algorithm 1
registry       the methods by name, with the paper's settings
=============  ==========================================================
"""

from .base import Method, check_step_inputs
from .bcd import BCD, BCDState
from .bp import BP, BPState
from .optimizers import SGD, Adam, Momentum, get_rule
from .proxbp import ProxBP, ProxBPState
from .registry import (
    MAIN_JOB,
    METHODS,
    MethodSpec,
    Preset,
    accepted_hyper,
    hyper_of,
    make_method,
    method_names,
    method_spec,
)
from .schedules import constant, inverse_power
from .sibp import SIBP, SIBPLayerTrace, SIBPState

__all__ = [
    "Method",
    "check_step_inputs",
    "BCD",
    "BCDState",
    "BP",
    "BPState",
    "SGD",
    "Adam",
    "Momentum",
    "get_rule",
    "ProxBP",
    "ProxBPState",
    "MAIN_JOB",
    "METHODS",
    "MethodSpec",
    "Preset",
    "accepted_hyper",
    "hyper_of",
    "make_method",
    "method_names",
    "method_spec",
    "constant",
    "inverse_power",
    "SIBP",
    "SIBPLayerTrace",
    "SIBPState",
]
