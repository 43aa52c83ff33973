"""Q1, the theory essays: one module per essay, each with its config, a registered training function
(`@runs.trainer`) that stores everything the essay shows, and the essay's tables and figures.

    transfer        limits of transfer learning (MNIST -> shifted MNIST, 100 labelled target images; source
                    head vs new head, LP-FT, the number of steps chosen on validation)
    layers          fully connected vs convolutional layers (parameter counts, shifted digits)
    regularization  one regularizer at a time on a network that overfits 1,000 images (3 seeds)
    siamese         a Siamese CNN with a contrastive loss (2-D embedding; 4 held-out digits, 3 runs)
    activations     sigmoid (gain 1 and 4), tanh, ReLU, leaky ReLU, GELU (derivatives, gradient norms,
                    training over 3 seeds)

Each full run takes under two CPU minutes on one thread (measured 28-87 s); `hw3 train theory-<name>`
trains one.
"""

from __future__ import annotations

from .. import runs
from . import activations, layers, regularization, siamese, transfer
from .activations import ActivationsConfig
from .layers import LayersConfig
from .regularization import RegularizationConfig
from .siamese import SiameseConfig
from .transfer import TransferConfig

__all__ = ["ActivationsConfig", "LayersConfig", "RegularizationConfig", "SiameseConfig", "TransferConfig",
           "activations", "layers", "regularization", "report_configs", "siamese", "transfer"]


def report_configs() -> list[runs.RunConfig]:
    """Every run the five essays show, in essay order."""
    return [TransferConfig(), LayersConfig(), RegularizationConfig(), SiameseConfig(), ActivationsConfig()]
