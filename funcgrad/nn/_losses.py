"""torch.nn's loss modules: frozen dataclasses over the functional forms of ``fg.losses``.

A loss module is a :class:`~funcgrad.nn.Module` like any layer, so a converted model's or a learner's
``self.criterion = nn.CrossEntropyLoss()`` has a counterpart::

    criterion = fg.nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion.apply({}, logits, labels)      # torch: criterion(logits, labels)

* The constructor is torch's, in torch's positional order, the deprecated ``size_average`` and
  ``reduce`` included: given, they set ``reduction`` by torch's legacy rule (as torch does).
* The params are ``{}`` and there are no buffers: torch keeps a class ``weight`` (``pos_weight``)
  as a buffer, funcgrad as a constructor argument (stored as nested tuples, so the module stays
  hashable and can be a static argument of ``jax.jit``; it is cast to the input's dtype).
* ``apply(params, input, target, ...)`` takes torch's ``forward`` inputs positionally, in torch's
  order (``CTCLoss``: ``log_probs, targets, input_lengths, target_lengths``), and calls the
  functional form with the constructor's options. ``train`` and ``key`` change nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad import losses as L
from funcgrad._typing import Buffers, Params
from funcgrad.nn._init import default_dtype, torch_uniform
from funcgrad.nn._module import ConfigError, Module, ModuleError

__all__ = [
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
    "LinearCrossEntropyLoss",
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
]

Weight = Any
"""A weight array (numpy, JAX or nested sequences), kept by the module as nested tuples."""

_LEGACY = ("size_average", "reduce")


def _legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """torch's ``_Reduction.legacy_get_string``: what the deprecated pair means as ``reduction``."""
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _as_tuple(value: Any) -> Any:
    """An array as nested tuples of Python numbers (hashable, and exact in float64)."""
    if value is None or callable(value) or not hasattr(value, "__len__") and np.ndim(value) == 0:
        return value
    listed = np.asarray(value).tolist()
    return tuple(_as_tuple(v) for v in listed) if isinstance(listed, list) else listed


def _check_reduction(module: Module, allowed: tuple[str, ...]) -> None:
    reduction = getattr(module, "reduction", "mean")
    if reduction not in allowed:
        raise ConfigError(
            f"{type(module).__name__}(reduction={reduction!r}): reduction must be 'mean', "
            "'sum' or 'none'"
        )


@dataclass(frozen=True)
class _Loss(Module):
    """Base of the loss modules: no params, no buffers; ``forward`` calls :attr:`functional`."""

    functional: ClassVar[Callable[..., jax.Array]]

    def __post_init__(self) -> None:
        given = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, value in given.items():
            object.__setattr__(self, name, _as_tuple(value))
        if any(given.get(n) is not None for n in _LEGACY):  # torch: they override reduction
            legacy = _legacy_reduction(given["size_average"], given["reduce"])
            object.__setattr__(self, "reduction", legacy)
        _check_reduction(self, ("mean", "sum", "none", "batchmean"))

    def init(self, key: jax.Array | None) -> Params:
        """No parameters: ``{}``."""
        del key
        return {}

    def options(self, dtype: Any) -> dict[str, Any]:
        """The functional's keyword arguments: the constructor's, weights as ``dtype`` arrays."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _LEGACY:
                continue
            if isinstance(value, tuple):
                value = jnp.asarray(value, dtype)
            out[f.name] = value
        return out

    def forward(
        self,
        params: Params,
        input: Any,
        *inputs: Any,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        """The loss of ``input`` against the further inputs (``target``, ...), in torch's order."""
        del params, train, key
        dtype = jnp.result_type(input)  # a weight takes the input's dtype, as torch's .to(dtype)
        return type(self).functional(input, *inputs, **self.options(dtype)), buffers


# -- regression ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class L1Loss(_Loss):
    """torch's ``nn.L1Loss``: :func:`fg.losses.l1_loss` as a module.

    Args:
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> float(fg.nn.L1Loss().apply({}, jnp.array([1.0, -3.0]), jnp.zeros(2)))
        2.0
    """

    functional = L.l1_loss
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class MSELoss(_Loss):
    """torch's ``nn.MSELoss``: :func:`fg.losses.mse_loss` as a module.

    Args:
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> float(fg.nn.MSELoss(reduction="sum").apply({}, jnp.array([1.0, 3.0]), jnp.zeros(2)))
        10.0
    """

    functional = L.mse_loss
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class HuberLoss(_Loss):
    """torch's ``nn.HuberLoss``: :func:`fg.losses.huber_loss` as a module.

    Args:
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.
        delta: torch's ``delta`` argument of ``nn.HuberLoss``, with its default.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> float(fg.nn.HuberLoss(delta=2.0).apply({}, jnp.array([3.0]), jnp.zeros(1)))
        4.0
    """

    functional = L.huber_loss
    reduction: str = "mean"
    delta: float = 1.0


@dataclass(frozen=True)
class SmoothL1Loss(_Loss):
    """torch's ``nn.SmoothL1Loss``: :func:`fg.losses.smooth_l1_loss` as a module.

    Args:
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.
        beta: torch's ``beta`` argument of ``nn.SmoothL1Loss``, with its default.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> float(fg.nn.SmoothL1Loss().apply({}, jnp.array([0.5]), jnp.zeros(1)))
        0.125
    """

    functional = L.smooth_l1_loss
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"
    beta: float = 1.0


# -- likelihood -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KLDivLoss(_Loss):
    """torch's ``nn.KLDivLoss``: :func:`fg.losses.kl_div` as a module (``reduction="batchmean"``
    is the divergence of the maths).

    Args:
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.
        log_target: torch's ``log_target`` argument of ``nn.KLDivLoss``, with its default.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> p = jnp.array([[0.5, 0.5]])
        >>> float(fg.nn.KLDivLoss(reduction="batchmean").apply({}, jnp.log(p), p))
        0.0
    """

    functional = L.kl_div
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"
    log_target: bool = False


@dataclass(frozen=True)
class PoissonNLLLoss(_Loss):
    """torch's ``nn.PoissonNLLLoss``: :func:`fg.losses.poisson_nll_loss` as a module.

    Args:
        log_input: torch's ``log_input`` argument of ``nn.PoissonNLLLoss``, with its default.
        full: torch's ``full`` argument of ``nn.PoissonNLLLoss``, with its default.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        eps: torch's ``eps`` argument of ``nn.PoissonNLLLoss``, with its default.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> float(fg.nn.PoissonNLLLoss().apply({}, jnp.array([0.0]), jnp.array([2.0])))
        1.0
    """

    functional = L.poisson_nll_loss
    log_input: bool = True
    full: bool = False
    size_average: bool | None = None
    eps: float = 1e-8
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True, kw_only=True)
class GaussianNLLLoss(_Loss):
    """torch's ``nn.GaussianNLLLoss``: :func:`fg.losses.gaussian_nll_loss` as a module, called as
    ``apply(params, input, target, var)``.

    Args:
        full: torch's ``full`` argument of ``nn.GaussianNLLLoss``, with its default.
        eps: torch's ``eps`` argument of ``nn.GaussianNLLLoss``, with its default.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> x, y, var = jnp.array([1.0]), jnp.array([3.0]), jnp.array([1.0])
        >>> float(fg.nn.GaussianNLLLoss().apply({}, x, y, var))
        2.0
    """

    functional = L.gaussian_nll_loss
    full: bool = False
    eps: float = 1e-6
    reduction: str = "mean"


# -- binary and class-index cross-entropies -------------------------------------------------------


@dataclass(frozen=True)
class BCELoss(_Loss):
    """torch's ``nn.BCELoss``: :func:`fg.losses.binary_cross_entropy` as a module.

    Args:
        weight: a class (or element) weight, as torch's; kept as nested tuples.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> round(float(fg.nn.BCELoss().apply({}, jnp.array([0.5]), jnp.array([1.0]))), 4)
        0.6931
    """

    functional = L.binary_cross_entropy
    weight: Weight = None
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class BCEWithLogitsLoss(_Loss):
    """torch's ``nn.BCEWithLogitsLoss``: :func:`fg.losses.binary_cross_entropy_with_logits` as a
    module.

    Args:
        weight: a class (or element) weight, as torch's; kept as nested tuples.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.
        pos_weight: the positive class's weight per class, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> loss = fg.nn.BCEWithLogitsLoss(pos_weight=jnp.array([2.0]))
        >>> round(float(loss.apply({}, jnp.array([0.0]), jnp.array([1.0]))), 4)
        1.3863
    """

    functional = L.binary_cross_entropy_with_logits
    weight: Weight = None
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"
    pos_weight: Weight = None


@dataclass(frozen=True)
class NLLLoss(_Loss):
    """torch's ``nn.NLLLoss``: :func:`fg.losses.nll_loss` as a module.

    Args:
        weight: a class (or element) weight, as torch's; kept as nested tuples.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        ignore_index: a target class that contributes nothing, as torch's.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> logp = jax.nn.log_softmax(jnp.zeros((1, 2)))
        >>> round(float(fg.nn.NLLLoss().apply({}, logp, jnp.array([1]))), 4)
        0.6931
    """

    functional = L.nll_loss
    weight: Weight = None
    size_average: bool | None = None
    ignore_index: int = -100
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class CrossEntropyLoss(_Loss):
    """torch's ``nn.CrossEntropyLoss``: :func:`fg.losses.cross_entropy` as a module.

    Args:
        weight: a class (or element) weight, as torch's; kept as nested tuples.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        ignore_index: a target class that contributes nothing, as torch's.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.
        label_smoothing: the label smoothing in [0, 1], as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> criterion = fg.nn.CrossEntropyLoss(weight=jnp.array([1.0, 3.0]))
        >>> round(float(criterion.apply({}, jnp.zeros((2, 2)), jnp.array([0, 1]))), 4)
        0.6931
    """

    functional = L.cross_entropy
    weight: Weight = None
    size_average: bool | None = None
    ignore_index: int = -100
    reduce: bool | None = None
    reduction: str = "mean"
    label_smoothing: float = 0.0


# -- margins ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarginRankingLoss(_Loss):
    """torch's ``nn.MarginRankingLoss``: :func:`fg.losses.margin_ranking_loss` as a module, called
    as ``apply(params, input1, input2, target)``.

    Args:
        margin: torch's ``margin`` argument of ``nn.MarginRankingLoss``, with its default.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> x1, x2, y = jnp.array([0.0]), jnp.array([1.0]), jnp.array([1.0])
        >>> float(fg.nn.MarginRankingLoss(margin=0.5).apply({}, x1, x2, y))
        1.5
    """

    functional = L.margin_ranking_loss
    margin: float = 0.0
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class HingeEmbeddingLoss(_Loss):
    """torch's ``nn.HingeEmbeddingLoss``: :func:`fg.losses.hinge_embedding_loss` as a module.

    Args:
        margin: torch's ``margin`` argument of ``nn.HingeEmbeddingLoss``, with its default.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> float(fg.nn.HingeEmbeddingLoss().apply({}, jnp.array([0.25]), jnp.array([-1.0])))
        0.75
    """

    functional = L.hinge_embedding_loss
    margin: float = 1.0
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class SoftMarginLoss(_Loss):
    """torch's ``nn.SoftMarginLoss``: :func:`fg.losses.soft_margin_loss` as a module.

    Args:
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> round(float(fg.nn.SoftMarginLoss().apply({}, jnp.zeros(1), jnp.ones(1))), 4)
        0.6931
    """

    functional = L.soft_margin_loss
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class MultiLabelSoftMarginLoss(_Loss):
    """torch's ``nn.MultiLabelSoftMarginLoss``: :func:`fg.losses.multilabel_soft_margin_loss` as a
    module.

    Args:
        weight: a class (or element) weight, as torch's; kept as nested tuples.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> loss = fg.nn.MultiLabelSoftMarginLoss()
        >>> round(float(loss.apply({}, jnp.zeros((1, 3)), jnp.array([[1.0, 0.0, 1.0]]))), 4)
        0.6931
    """

    functional = L.multilabel_soft_margin_loss
    weight: Weight = None
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class MultiLabelMarginLoss(_Loss):
    """torch's ``nn.MultiLabelMarginLoss``: :func:`fg.losses.multilabel_margin_loss` as a module.

    Args:
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> x, y = jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([[3, 0, -1, 1]])
        >>> round(float(fg.nn.MultiLabelMarginLoss().apply({}, x, y)), 4)
        0.85
    """

    functional = L.multilabel_margin_loss
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class MultiMarginLoss(_Loss):
    """torch's ``nn.MultiMarginLoss``: :func:`fg.losses.multi_margin_loss` as a module.

    Args:
        p: torch's ``p`` argument of ``nn.MultiMarginLoss``, with its default.
        margin: torch's ``margin`` argument of ``nn.MultiMarginLoss``, with its default.
        weight: a class (or element) weight, as torch's; kept as nested tuples.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
        >>> round(float(fg.nn.MultiMarginLoss().apply({}, x, jnp.array([3]))), 4)
        0.325
    """

    functional = L.multi_margin_loss
    p: int = 1
    margin: float = 1.0
    weight: Weight = None
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True)
class CosineEmbeddingLoss(_Loss):
    """torch's ``nn.CosineEmbeddingLoss``: :func:`fg.losses.cosine_embedding_loss` as a module,
    called as ``apply(params, input1, input2, target)``.

    Args:
        margin: torch's ``margin`` argument of ``nn.CosineEmbeddingLoss``, with its default.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> a, b = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])
        >>> float(fg.nn.CosineEmbeddingLoss().apply({}, a, b, jnp.array([1.0])))
        1.0
    """

    functional = L.cosine_embedding_loss
    margin: float = 0.0
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


# -- triplets and sequences ------------------------------------------------------------------------


@dataclass(frozen=True)
class TripletMarginLoss(_Loss):
    """torch's ``nn.TripletMarginLoss``: :func:`fg.losses.triplet_margin_loss` as a module, called
    as ``apply(params, anchor, positive, negative)``.

    Args:
        margin: torch's ``margin`` argument of ``nn.TripletMarginLoss``, with its default.
        p: torch's ``p`` argument of ``nn.TripletMarginLoss``, with its default.
        eps: torch's ``eps`` argument of ``nn.TripletMarginLoss``, with its default.
        swap: torch's ``swap`` argument of ``nn.TripletMarginLoss``, with its default.
        size_average: torch's deprecated flag; with ``reduce``, read as ``reduction`` by torch's rule.
        reduce: torch's deprecated flag; with ``size_average``, read as ``reduction`` by torch's rule.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> a, pos, neg = jnp.zeros((1, 2)), jnp.zeros((1, 2)), jnp.array([[3.0, 4.0]])
        >>> float(fg.nn.TripletMarginLoss(margin=6.0, eps=0.0).apply({}, a, pos, neg))
        1.0
    """

    functional = L.triplet_margin_loss
    margin: float = 1.0
    p: float = 2.0
    eps: float = 1e-6
    swap: bool = False
    size_average: bool | None = None
    reduce: bool | None = None
    reduction: str = "mean"


@dataclass(frozen=True, kw_only=True)
class TripletMarginWithDistanceLoss(_Loss):
    """torch's ``nn.TripletMarginWithDistanceLoss``:
    :func:`fg.losses.triplet_margin_with_distance_loss` as a module (``distance_function`` is a
    pure function of two arrays).

    Args:
        distance_function: torch's ``distance_function`` argument of ``nn.TripletMarginWithDistanceLoss``, with its default.
        margin: torch's ``margin`` argument of ``nn.TripletMarginWithDistanceLoss``, with its default.
        swap: torch's ``swap`` argument of ``nn.TripletMarginWithDistanceLoss``, with its default.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> l1 = lambda x, y: jnp.abs(x - y).sum(-1)
        >>> loss = fg.nn.TripletMarginWithDistanceLoss(distance_function=l1, margin=8.0)
        >>> a, pos, neg = jnp.zeros((1, 2)), jnp.zeros((1, 2)), jnp.array([[3.0, 4.0]])
        >>> float(loss.apply({}, a, pos, neg))
        1.0
    """

    functional = L.triplet_margin_with_distance_loss
    distance_function: Callable[[jax.Array, jax.Array], jax.Array] | None = None
    margin: float = 1.0
    swap: bool = False
    reduction: str = "mean"


@dataclass(frozen=True)
class CTCLoss(_Loss):
    """torch's ``nn.CTCLoss``: :func:`fg.losses.ctc_loss` as a module, called as
    ``apply(params, log_probs, targets, input_lengths, target_lengths)``.

    Args:
        blank: torch's ``blank`` argument of ``nn.CTCLoss``, with its default.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.
        zero_infinity: torch's ``zero_infinity`` argument of ``nn.CTCLoss``, with its default.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> log_probs = jnp.log(jnp.full((2, 1, 2), 0.5))
        >>> loss = fg.nn.CTCLoss(reduction="sum")
        >>> round(float(loss.apply({}, log_probs, jnp.array([[1]]), [2], [1])), 4)
        0.2877
    """

    functional = L.ctc_loss
    blank: int = 0
    reduction: str = "mean"
    zero_infinity: bool = False


# -- a loss with parameters -------------------------------------------------------------------------


def _param_dtype(dtype: Any) -> Any:
    """A constructor's ``dtype`` (a JAX/NumPy dtype, or torch's ``torch.float64`` by its name) as
    the params' dtype: the default float dtype when ``None``."""
    if dtype is None:
        return default_dtype()
    return jax.dtypes.canonicalize_dtype(np.dtype(str(dtype).removeprefix("torch.")))


@dataclass(frozen=True)
class LinearCrossEntropyLoss(Module):
    """torch's ``nn.LinearCrossEntropyLoss``: a linear projection to ``num_classes`` logits (per
    position of ``out_features``) and the cross-entropy against ``target``, in one module:
    :func:`fg.losses.linear_cross_entropy` as a module, called as ``apply(params, input, target)``.

    Unlike the other losses it has parameters, keyed as torch's ``state_dict``:
    ``{"linear": {"weight": (C * prod(out_features), in_features), "bias": (...,)}}`` (the bias
    only with ``bias=True``), drawn as ``fg.nn.Linear`` draws them (``U(-1/sqrt(in),
    1/sqrt(in))``, torch's default). As torch does, the flat weight is viewed as
    ``(C, *out_features, in_features)`` in ``apply``. The class ``weight`` is a constructor
    argument (torch keeps it as a buffer, see the module docstring); ``options`` (torch's chunking
    strategy, memory only) is accepted and ignored; ``device`` is accepted for torch's signature
    (place params with ``jax.device_put``) and ``dtype`` sets the params' dtype.

    Args:
        in_features: torch's ``in_features`` argument of ``nn.LinearCrossEntropyLoss``, with its default.
        num_classes: torch's ``num_classes`` argument of ``nn.LinearCrossEntropyLoss``, with its default.
        out_features: torch's ``out_features`` argument of ``nn.LinearCrossEntropyLoss``, with its default.
        bias: torch's ``bias`` argument of ``nn.LinearCrossEntropyLoss``, with its default.
        device: torch's ``device`` argument of ``nn.LinearCrossEntropyLoss``, with its default.
        dtype: torch's ``dtype`` argument of ``nn.LinearCrossEntropyLoss``, with its default.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``, as torch's.
        weight: a class (or element) weight, as torch's; kept as nested tuples.
        ignore_index: a target class that contributes nothing, as torch's.
        label_smoothing: the label smoothing in [0, 1], as torch's.
        options: torch's ``options`` argument of ``nn.LinearCrossEntropyLoss``, with its default.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> loss = fg.nn.LinearCrossEntropyLoss(5, 10, out_features=(4, 3), bias=True)
        >>> params = loss.init(jax.random.key(0))
        >>> params["linear"]["weight"].shape, params["linear"]["bias"].shape
        ((120, 5), (120,))
        >>> x, y = jnp.ones((2, 5)), jnp.zeros((2, 4, 3), int)
        >>> loss.apply(params, x, y).shape, loss.apply(params, x, y).dtype
        ((), dtype('float32'))
    """

    in_features: int
    num_classes: int
    _: KW_ONLY
    out_features: tuple[int, ...] = ()
    bias: bool = False
    device: Any = None
    dtype: Any = None
    reduction: str = "mean"
    weight: Weight = None
    ignore_index: int | None = None
    label_smoothing: float = 0.0
    options: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_features", tuple(self.out_features))
        object.__setattr__(self, "weight", _as_tuple(self.weight))  # hashable, as the others'
        _check_reduction(self, ("mean", "sum", "none"))
        name = f"LinearCrossEntropyLoss({self.in_features}, {self.num_classes})"
        if self.in_features < 0 or self.num_classes < 0 or min(self.out_features, default=0) < 0:
            raise ConfigError(f"{name}: sizes must be non-negative")
        if self.weight is not None and np.shape(self.weight) != (self.num_classes,):
            raise ConfigError(
                f"{name}: weight must have one entry per class, shape ({self.num_classes},), "
                f"got {np.shape(self.weight)}"
            )
        if not 0.0 <= self.label_smoothing <= 1.0:
            raise ConfigError(
                f"{name}: label_smoothing must lie in [0, 1], got {self.label_smoothing}"
            )

    @property
    def _logits(self) -> tuple[int, ...]:
        """The logits of one example: ``(C, *out_features)``."""
        return (self.num_classes, *self.out_features)

    def init(self, key: jax.Array) -> Params:
        """torch's ``linear.weight`` (and ``linear.bias``), flat: ``(C * prod(out_features), in)``."""
        size, dtype = math.prod(self._logits), _param_dtype(self.dtype)
        kw, kb = jax.random.split(key)  # as fg.nn.Linear draws them
        linear = {"weight": torch_uniform(kw, (size, self.in_features), self.in_features, dtype)}
        if self.bias:
            linear["bias"] = torch_uniform(kb, (size,), self.in_features, dtype)
        return {"linear": linear}

    def forward(
        self,
        params: Params,
        input: jax.Array,
        target: jax.Array | None = None,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        """The loss of ``input`` (``(in_features,)`` or ``(N, in_features)``) against ``target``."""
        del train, key
        if target is None:
            raise ModuleError(
                "LinearCrossEntropyLoss takes two inputs; call it as apply(params, input, target)"
            )
        linear = params["linear"]
        bias = linear.get("bias")
        weight = None if self.weight is None else jnp.asarray(self.weight, jnp.result_type(input))
        loss = L.linear_cross_entropy(
            input,
            linear["weight"].reshape((*self._logits, self.in_features)),
            target,
            linear_bias=None if bias is None else bias.reshape(self._logits),
            weight=weight,
            reduction=self.reduction,  # type: ignore[arg-type]
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            options=self.options,
        )
        return loss, buffers
