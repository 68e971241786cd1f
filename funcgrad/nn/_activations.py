"""Layers without parameters (activations, ``Identity``, ``Flatten``) and ``PReLU``, whose slope is one.

torch's ``inplace=`` flags are accepted and ignored: JAX arrays are immutable, so every layer
returns a new array either way. Each activation is a frozen dataclass whose fields are torch's
constructor arguments, in torch's order; ``stateless`` passes them (``inplace`` aside) to the
functional of the same torch name as keywords, so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._init import default_dtype
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "Flatten",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "Identity",
    "LeakyReLU",
    "LogSigmoid",
    "LogSoftmax",
    "Mish",
    "PReLU",
    "RReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softmax2d",
    "Softmin",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
]


class _Stateless(Module):
    def init(self, key: jax.Array) -> Params:
        del key
        return {}


class _Activation(_Stateless):
    """A layer that is its functional: ``fn(x, **fields)``, ``inplace`` left out."""

    # The pure function this layer wraps; a staticmethod so it is not bound to the instance.
    fn: ClassVar[staticmethod[..., jax.Array]]

    def options(self) -> dict[str, Any]:
        """The functional's keyword arguments: the fields, ``inplace`` aside."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name != "inplace"
        }

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors(type(self).__name__):
            return self.fn(x, **self.options())


@dataclass(frozen=True)
class ReLU(_Activation):
    """``max(x, 0)`` as a layer; gradient 0 at 0 and passed through at NaN, as torch.

    Example:
        >>> import jax.numpy as jnp
        >>> ReLU().apply({}, jnp.array([-1.0, 1.0])).tolist()
        [0.0, 1.0]
    """

    inplace: bool = False
    fn = staticmethod(F.relu)


@dataclass(frozen=True)
class ReLU6(_Activation):
    """``min(max(x, 0), 6)`` (torch's ``Hardtanh(0, 6)``, with its slopes).

    Example:
        >>> import jax.numpy as jnp
        >>> ReLU6().apply({}, jnp.array([-1.0, 7.0])).tolist()
        [0.0, 6.0]
    """

    inplace: bool = False
    fn = staticmethod(F.relu6)


@dataclass(frozen=True)
class Tanh(_Activation):
    """``tanh(x)`` as a layer.

    Example:
        >>> import jax.numpy as jnp
        >>> float(Tanh().apply({}, jnp.array(0.0)))
        0.0
    """

    fn = staticmethod(F.tanh)


@dataclass(frozen=True)
class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))`` as a layer.

    Example:
        >>> import jax.numpy as jnp
        >>> float(Sigmoid().apply({}, jnp.array(0.0)))
        0.5
    """

    fn = staticmethod(F.sigmoid)


@dataclass(frozen=True)
class SiLU(_Activation):
    """``x * sigmoid(x)`` as a layer (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> float(SiLU().apply({}, jnp.array(0.0)))
        0.0
    """

    inplace: bool = False
    fn = staticmethod(F.silu)


@dataclass(frozen=True)
class Mish(_Activation):
    """``x * tanh(softplus(x))`` (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> float(Mish().apply({}, jnp.array(0.0)))
        0.0
    """

    inplace: bool = False
    fn = staticmethod(F.mish)


@dataclass(frozen=True)
class GELU(_Activation):
    """``x * Phi(x)``; ``approximate="tanh"`` is torch's tanh approximation.

    Example:
        >>> import jax.numpy as jnp
        >>> float(GELU("tanh").apply({}, jnp.array(0.0)))
        0.0
    """

    approximate: Literal["none", "tanh"] = "none"
    fn = staticmethod(F.gelu)


@dataclass(frozen=True)
class LeakyReLU(_Activation):
    """``x`` where positive, ``negative_slope * x`` elsewhere (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> LeakyReLU(0.1).apply({}, jnp.array([-10.0, 1.0])).tolist()
        [-1.0, 1.0]
    """

    negative_slope: float = 0.01
    inplace: bool = False
    fn = staticmethod(F.leaky_relu)


@dataclass(frozen=True)
class ELU(_Activation):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> ELU().apply({}, jnp.array([0.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    alpha: float = 1.0
    inplace: bool = False
    fn = staticmethod(F.elu)


@dataclass(frozen=True)
class CELU(_Activation):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> CELU(2.0).apply({}, jnp.array([0.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    alpha: float = 1.0
    inplace: bool = False
    fn = staticmethod(F.celu)


@dataclass(frozen=True)
class SELU(_Activation):
    """``scale * elu(x, alpha)`` with torch's constants (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(SELU().apply({}, jnp.array(1.0))), 6)
        1.050701
    """

    inplace: bool = False
    fn = staticmethod(F.selu)


@dataclass(frozen=True)
class GLU(_Activation):
    """Gated linear unit: halves ``a, b`` of ``x`` along ``dim``, ``a * sigmoid(b)``.

    Example:
        >>> import jax.numpy as jnp
        >>> GLU().apply({}, jnp.ones((2, 4))).shape
        (2, 2)
    """

    dim: int = -1
    fn = staticmethod(F.glu)


@dataclass(frozen=True)
class Hardshrink(_Activation):
    """``x`` outside ``[-lambd, lambd]``, 0 inside.

    Example:
        >>> import jax.numpy as jnp
        >>> Hardshrink().apply({}, jnp.array([-1.0, 0.2])).tolist()
        [-1.0, 0.0]
    """

    lambd: float = 0.5
    fn = staticmethod(F.hardshrink)


@dataclass(frozen=True)
class Softshrink(_Activation):
    """``x`` shrunk towards 0 by ``lambd``, 0 inside ``[-lambd, lambd]``.

    Example:
        >>> import jax.numpy as jnp
        >>> Softshrink().apply({}, jnp.array([-1.0, 0.2])).tolist()
        [-0.5, 0.0]
    """

    lambd: float = 0.5
    fn = staticmethod(F.softshrink)


@dataclass(frozen=True)
class Hardsigmoid(_Activation):
    """``clip(x + 3, 0, 6) / 6`` (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> Hardsigmoid().apply({}, jnp.array([0.0])).tolist()
        [0.5]
    """

    inplace: bool = False
    fn = staticmethod(F.hardsigmoid)


@dataclass(frozen=True)
class Hardswish(_Activation):
    """``x * clip(x + 3, 0, 6) / 6`` (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> Hardswish().apply({}, jnp.array([4.0])).tolist()
        [4.0]
    """

    inplace: bool = False
    fn = staticmethod(F.hardswish)


@dataclass(frozen=True)
class LogSigmoid(_Activation):
    """``log(sigmoid(x))``, computed stably.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(LogSigmoid().apply({}, jnp.array(0.0))), 6)
        -0.693147
    """

    fn = staticmethod(F.logsigmoid)


@dataclass(frozen=True)
class Softplus(_Activation):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.

    Example:
        >>> import jax.numpy as jnp
        >>> Softplus(2.0, 1.0).apply({}, jnp.array([5.0])).tolist()
        [5.0]
    """

    beta: float = 1.0
    threshold: float = 20.0
    fn = staticmethod(F.softplus)


@dataclass(frozen=True)
class Softsign(_Activation):
    """``x / (1 + |x|)``.

    Example:
        >>> import jax.numpy as jnp
        >>> Softsign().apply({}, jnp.array([1.0])).tolist()
        [0.5]
    """

    fn = staticmethod(F.softsign)


@dataclass(frozen=True)
class Tanhshrink(_Activation):
    """``x - tanh(x)``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(Tanhshrink().apply({}, jnp.array(0.0)))
        0.0
    """

    fn = staticmethod(F.tanhshrink)


@dataclass(frozen=True)
class Threshold(_Activation):
    """``value`` where ``x <= threshold``, else ``x`` (``inplace`` is ignored).

    Args:
        threshold: the value at or below which an element is replaced.
        value: what replaces it.
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).

    Example:
        >>> import jax.numpy as jnp
        >>> Threshold(0.5, -1.0).apply({}, jnp.array([0.0, 1.0])).tolist()
        [-1.0, 1.0]
    """

    threshold: float
    value: float
    inplace: bool = False
    fn = staticmethod(F.threshold)


@dataclass(frozen=True)
class Softmax(_Activation):
    """Softmax over ``dim``; ``dim=None`` follows torch's implicit (deprecated) choice and warns.

    Example:
        >>> import jax.numpy as jnp
        >>> Softmax(dim=-1).apply({}, jnp.zeros((1, 4))).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """

    dim: int | None = None
    fn = staticmethod(F.softmax)


@dataclass(frozen=True)
class Softmin(_Activation):
    """Softmax of ``-x`` over ``dim``; ``dim=None`` as :class:`Softmax`.

    Example:
        >>> import jax.numpy as jnp
        >>> Softmin(dim=0).apply({}, jnp.zeros(2)).tolist()
        [0.5, 0.5]
    """

    dim: int | None = None
    fn = staticmethod(F.softmin)


@dataclass(frozen=True)
class LogSoftmax(_Activation):
    """Log of the softmax over ``dim`` (computed stably); ``dim=None`` as :class:`Softmax`.

    Example:
        >>> import jax.numpy as jnp
        >>> LogSoftmax(dim=1).apply({}, jnp.zeros((1, 1))).tolist()
        [[0.0]]
    """

    dim: int | None = None
    fn = staticmethod(F.log_softmax)


@dataclass(frozen=True)
class Hardtanh(_Activation):
    """``clip(x, min_val, max_val)``; slope 0 at both ends, as torch (``inplace`` is ignored).

    ``min_value`` and ``max_value`` are torch's deprecated spellings: given, they replace
    ``min_val`` and ``max_val`` with torch's ``FutureWarning``.

    Args:
        min_val: the lower bound; it must be less than ``max_val``.
        max_val: the upper bound.
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).
        min_value: torch's deprecated name for ``min_val``; ``None`` unless given.
        max_value: torch's deprecated name for ``max_val``; ``None`` unless given.

    Example:
        >>> import jax.numpy as jnp
        >>> Hardtanh(-2.0, 2.0).apply({}, jnp.array([-3.0, 1.0, 3.0])).tolist()
        [-2.0, 1.0, 2.0]
    """

    min_val: float = -1.0
    max_val: float = 1.0
    inplace: bool = False
    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        for old, new in (("min_value", "min_val"), ("max_value", "max_val")):
            if getattr(self, old) is not None:
                warnings.warn(
                    f"keyword argument `{old}` is deprecated and rename to `{new}`",
                    FutureWarning,
                    stacklevel=3,
                )
                object.__setattr__(self, new, getattr(self, old))
                object.__setattr__(self, old, None)
        if not self.max_val > self.min_val:
            raise ConfigError(
                f"Hardtanh(min_val={self.min_val}, max_val={self.max_val}): "
                "max_val must be greater than min_val"
            )

    fn = staticmethod(F.hardtanh)

    def options(self) -> dict[str, Any]:
        return {"min_val": self.min_val, "max_val": self.max_val}


@dataclass(frozen=True)
class Softmax2d(_Stateless):
    """Softmax over the channels (axis -3) of a ``(N, C, H, W)`` or ``(C, H, W)`` input.

    Example:
        >>> import jax.numpy as jnp
        >>> Softmax2d().apply({}, jnp.zeros((1, 2, 1, 1))).ravel().tolist()
        [0.5, 0.5]
    """

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        if x.ndim not in (3, 4):
            raise ModuleError(f"Softmax2d: expected input to be 3D or 4D, got {x.ndim}D instead")
        return F.softmax(x, -3)


class _SlopeInit(float):
    """PReLU's ``init``: torch's initial slope, a float, that is also the contract's ``init(key)``.

    torch names the constructor argument ``init``, the name every funcgrad module gives its
    initialiser; this float calls its layer's initialiser, so both read as they should.
    """

    layer: PReLU

    def __call__(self, key: jax.Array) -> Params:
        return self.layer.init_params(key)


@dataclass(frozen=True)
class PReLU(Module):
    """``x`` where positive, ``weight * x`` elsewhere, with a learned slope per channel (axis 1).

    ``init(key)`` fills ``weight`` (``(num_parameters,)``) with the constructor's ``init``, as
    torch does (``layer.init`` is that number too: ``float(layer.init)``). A ``num_parameters``
    above 1 must equal the input's channel count.

    Args:
        num_parameters: 1 (one slope shared by every channel) or the number of channels.
        init: the slopes' initial value.
        device: accepted for torch's signature; place params with ``jax.device_put``.
        dtype: the params' dtype (the default float dtype when ``None``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = PReLU(2)
        >>> params = layer.init(jax.random.key(0))
        >>> params["weight"].tolist(), layer.apply(params, jnp.array([[-4.0, 4.0]])).tolist()
        ([0.25, 0.25], [[-1.0, 4.0]])
    """

    num_parameters: int = 1
    init: float = 0.25  # type: ignore[assignment]  # torch's name; callable, see _SlopeInit
    device: Any = None
    dtype: Any = None

    def __post_init__(self) -> None:
        if self.num_parameters < 1:
            raise ConfigError(
                f"PReLU(num_parameters={self.num_parameters}): use num_parameters >= 1"
            )
        slope = _SlopeInit(float(self.init))
        slope.layer = self
        object.__setattr__(self, "init", slope)

    def init_params(self, key: jax.Array) -> Params:
        """``{"weight": full((num_parameters,), init)}``; ``key`` is unused (no randomness)."""
        del key
        dtype = default_dtype() if self.dtype is None else self.dtype
        return {"weight": jnp.full((self.num_parameters,), float(self.init), dtype=dtype)}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("PReLU"):
            return F.prelu(x, params["weight"])


@dataclass(frozen=True)
class RReLU(_Stateless):
    """Randomised leaky ReLU: random slopes in ``[lower, upper]`` in training, their mean in eval.

    In training the slopes are drawn from ``key`` (so ``apply(..., train=True)`` needs one); in
    eval it is ``LeakyReLU((lower + upper) / 2)`` (``inplace`` is ignored).

    Args:
        lower: the least slope, at least 0.
        upper: the greatest slope, at least ``lower``.
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> RReLU(0.25, 0.75).apply({}, jnp.array([-2.0, 3.0])).tolist()
        [-1.0, 3.0]
        >>> y = RReLU().apply({}, -jnp.ones(4), train=True, key=jax.random.key(0))
        >>> bool(((y <= -1 / 8) & (y >= -1 / 3)).all())
        True
    """

    lower: float = 1.0 / 8
    upper: float = 1.0 / 3
    inplace: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.lower <= self.upper:
            raise ConfigError(
                f"RReLU(lower={self.lower}, upper={self.upper}): use 0 <= lower <= upper"
            )

    def forward(
        self, params: Params, x: jax.Array, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[jax.Array, Buffers]:
        if train and key is None:
            raise ModuleError(
                "RReLU: train=True draws random slopes and needs a key; pass key= to apply"
            )
        with layer_errors("RReLU"):
            return F.rrelu(x, self.lower, self.upper, train, key=key), buffers


@dataclass(frozen=True, init=False)
class Identity(_Stateless):
    """Returns its input; like torch's, it accepts and ignores any constructor arguments.

    Example:
        >>> import jax.numpy as jnp
        >>> Identity(54, unused="x").apply({}, jnp.ones(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return x


@dataclass(frozen=True)
class Flatten(_Stateless):
    """Merge axes ``start_dim..end_dim``; the default keeps axis 0 as the batch, as in torch.

    Example:
        >>> import jax.numpy as jnp
        >>> Flatten().apply({}, jnp.ones((2, 3, 4))).shape
        (2, 12)
    """

    start_dim: int = 1
    end_dim: int = -1

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.flatten(x, self.start_dim, self.end_dim)
