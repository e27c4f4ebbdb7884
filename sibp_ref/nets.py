"""Networks by name: the convolutional networks of the paper's §5.3 and Remark 4.1.

Image batches are columns ``(c·h·w, n)``, rows in the order ``(c, h, w)``
(:mod:`sibp_ref.layers`), so MNIST's ``X`` of shape ``(784, n)`` and CIFAR-10's
``(3072, n)`` (channel-major, as in its binary files) go in unchanged.

- :func:`lenet5` (MNIST, Remark 4.1's pruning experiment, Fig. 12):
  ``Conv[6*28*28] → ReLU → Pool[6*14*14] → Conv[16*10*10] → ReLU → Pool[16*5*5] →
  FC 120 → ReLU → FC 84 → ReLU → FC 10``; the first convolution pads ("same") so that
  28×28 images give the classic 32×32-input LeNet-5 sizes.
- :func:`lenet_cifar` (§5.3, Fig. 9): ``Conv[16*32*32] → ReLU → Pool[16*16*16] →
  Conv[20*16*16] → ReLU → Pool[20*8*8] → Conv[20*8*8] → ReLU → Pool[20*4*4] →
  FC + Softmax[10]``. Every convolution is 5×5 with "same" padding: the paper's sizes
  (a 32×32 output of the first 5×5 convolution on 32×32 images, 16×16 after the second)
  are those of "same" padding and not of "valid" (which would give 28×28).

The softmax of the output layer is in the loss (``"cross_entropy"``), as for the MLPs.
"""

from __future__ import annotations

from typing import Any

from .layers import Conv2d, Dense, Flatten, MaxPool2d
from .losses import Loss
from .network import Network

__all__ = ["NETS", "get_net", "lenet5", "lenet_cifar"]


def _conv_relu_pool(c_in: int, c_out: int, size: int, padding: str) -> tuple[list, int]:
    """``Conv2d(c_in → c_out, 5×5) → ReLU → MaxPool2d(2)`` on ``size × size`` images;
    returns the layers and the side of the pooled output."""
    conv = Conv2d(c_in, c_out, 5, padding, height=size, width=size, activation="relu")
    pool = MaxPool2d(2, channels=c_out, height=conv.out_height, width=conv.out_width)
    return [conv, pool], pool.out_height


def lenet5(loss: str | Loss = "cross_entropy", *, classes: int = 10) -> Network:
    """LeNet-5 for 28×28 one-channel images (MNIST, Fashion-MNIST): module docstring."""
    first, s1 = _conv_relu_pool(1, 6, 28, "same")
    second, s2 = _conv_relu_pool(6, 16, s1, "valid")
    d = 16 * s2 * s2
    dense = [Dense(d, 120, "relu"), Dense(120, 84, "relu"), Dense(84, classes)]
    return Network([*first, *second, Flatten(channels=16, height=s2, width=s2), *dense], loss)


def lenet_cifar(loss: str | Loss = "cross_entropy", *, classes: int = 10) -> Network:
    """The CIFAR-10 LeNet of §5.3 for 32×32 RGB images: module docstring."""
    layers: list[Any] = []
    c_in, size = 3, 32
    for c_out in (16, 20, 20):
        block, size = _conv_relu_pool(c_in, c_out, size, "same")
        layers += block
        c_in = c_out
    layers.append(Flatten(channels=c_in, height=size, width=size))
    layers.append(Dense(c_in * size * size, classes))
    return Network(layers, loss)


#: The networks by name (the ``--net`` choices).
NETS = {"lenet5": lenet5, "lenet-cifar": lenet_cifar}


def get_net(name: str, loss: str | Loss = "cross_entropy") -> Network:
    """The network called ``name`` (one of :data:`NETS`)."""
    if name not in NETS:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(sorted(NETS))}")
    return NETS[name](loss)
