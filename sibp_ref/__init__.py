"""sibp_ref: semi-implicit back propagation (Liu & Zhang, 2023) beside BP, ProxBP and BCD.

One code path for every array backend (NumPy, CuPy, ...) through the array API
standard; see :mod:`sibp_ref.backend`.
"""

from .activations import ACTIVATIONS, get_activation
from .backend import get_backend, to_numpy
from .data import DataError, Dataset, fetch, load_dataset, make_synthetic
from .layers import Conv2d, Dense, Flatten, MaxPool2d
from .losses import CrossEntropy, SquareLoss, get_loss, one_hot
from .methods import (
    BCD,
    BP,
    SGD,
    Adam,
    BCDState,
    BPState,
    Method,
    Momentum,
    ProxBP,
    ProxBPState,
    make_method,
    method_names,
)
from .methods.schedules import constant, inverse_power
from .methods.sibp import SIBP, SIBPLayerTrace, SIBPState
from .nets import lenet5, lenet_cifar
from .network import MLP, Network
from .run import History, RunConfig, read_log, run_grid
from .toy import iterations_to_halve, toy_problem
from .validation import ValidationTypeError

__version__ = "0.1.0"

__all__ = [
    "SIBP",
    "SIBPLayerTrace",
    "SIBPState",
    "constant",
    "inverse_power",
    "iterations_to_halve",
    "toy_problem",
    "DataError",
    "Dataset",
    "History",
    "RunConfig",
    "fetch",
    "load_dataset",
    "make_method",
    "make_synthetic",
    "method_names",
    "read_log",
    "run_grid",
    "ACTIVATIONS",
    "Adam",
    "BCD",
    "BCDState",
    "BP",
    "BPState",
    "CrossEntropy",
    "Conv2d",
    "Dense",
    "Flatten",
    "MaxPool2d",
    "lenet5",
    "lenet_cifar",
    "MLP",
    "Method",
    "Momentum",
    "Network",
    "ProxBP",
    "ProxBPState",
    "SGD",
    "SquareLoss",
    "ValidationTypeError",
    "get_activation",
    "get_backend",
    "get_loss",
    "one_hot",
    "to_numpy",
]
