"""PyTorch as the tests' independent oracle: optional, so its tests skip and the others run.

``torch`` is the module or ``None``; ``needs_torch`` marks a test that compares with it;
``TORCH_ACTIVATIONS`` are the package's activations as PyTorch computes them (empty without
PyTorch), so that a test's reference forward pass shares no code with ``sibp_ref``.
"""

from __future__ import annotations

import pytest

from sibp_ref.activations import LEAKY_SLOPE

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="needs PyTorch as an independent oracle: pip install torch"
)

TORCH_ACTIVATIONS = (
    {}
    if torch is None
    else {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "identity": lambda u: u,
        "leaky_relu": lambda u: torch.nn.functional.leaky_relu(u, LEAKY_SLOPE),
    }
)
