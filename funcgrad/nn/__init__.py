"""Layers as ``(init, apply)`` pairs with PyTorch's names, layouts and default initialisation.

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> net = fg.nn.Sequential(fg.nn.Linear(4, 8), fg.nn.ReLU(), fg.nn.Linear(8, 1))
    >>> params = net.init(jax.random.PRNGKey(0))
    >>> net.apply(params, jnp.ones((2, 4))).shape
    (2, 1)
"""

from funcgrad._cpu_kernels import SlowConvolutionWarning
from funcgrad.nn import functional
from funcgrad.nn._activations import (
    ELU,
    GELU,
    Flatten,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from funcgrad.nn._conv import Conv1d, Conv2d
from funcgrad.nn._dropout import Dropout, Dropout2d
from funcgrad.nn._embedding import Embedding
from funcgrad.nn._linear import Linear
from funcgrad.nn._losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    CTCLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)
from funcgrad.nn._module import (
    Batched,
    Buffers,
    ConfigError,
    Module,
    ModuleError,
    Params,
    call_child,
    child_key,
)
from funcgrad.nn._norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm
from funcgrad.nn._pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from funcgrad.nn._registry import LAYERS, LOSSES, LayerEntry, LossEntry
from funcgrad.nn._sequential import Sequential

__all__ = [
    # loss modules (fg.nn.LOSSES)
    "BCELoss",
    "BCEWithLogitsLoss",
    "CTCLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "ELU",
    "GELU",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Batched",
    "Buffers",
    "ConfigError",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "GroupNorm",
    "Identity",
    "LAYERS",
    "LOSSES",
    "LayerEntry",
    "LossEntry",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "Module",
    "ModuleError",
    "Params",
    "RMSNorm",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SlowConvolutionWarning",
    "Softmax",
    "Tanh",
    "call_child",
    "child_key",
    "functional",
]
