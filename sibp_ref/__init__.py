"""sibp_ref: semi-implicit back propagation (Liu & Zhang, 2023) beside BP, ProxBP and BCD.

One code path for every array backend (NumPy, CuPy, ...) through the array API
standard; see :mod:`sibp_ref.backend`.
"""

from .activations import ACTIVATIONS, get_activation
from .backend import get_backend, to_numpy
from .base import Method
from .bcd import BCD
from .bp import BP
from .datasets import DataError, Dataset, fetch, load_dataset, make_synthetic
from .losses import CrossEntropy, SquareLoss, get_loss, one_hot
from .methods import make_method, method_names
from .network import MLP, normal_init
from .optimizers import SGD, Adam, Momentum
from .proxbp import ProxBP
from .run import History, RunConfig, read_log, run_grid
from .schedules import constant, inverse_power
from .sibp import SIBP, SIBPState
from .toy import iterations_to_halve, toy_problem

__version__ = "0.1.0"

__all__ = [
    "SIBP",
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
    "BP",
    "CrossEntropy",
    "MLP",
    "Method",
    "Momentum",
    "ProxBP",
    "SGD",
    "SquareLoss",
    "get_activation",
    "get_backend",
    "get_loss",
    "normal_init",
    "one_hot",
    "to_numpy",
]
