"""Activations, as in ``torch.nn.functional``, with torch's derivatives at the kinks.

Where torch's backward is a formula of its own (``hardswish_backward``, ``elu_backward``, ...), the
function here carries that same formula as its derivative (:func:`_with_slope`): the slope table is
data, read off torch's ``derivatives.yaml`` and its CPU kernels, so the gradient at a kink, at 0, at
``inf`` and at NaN is torch's and not whatever the autodiff of the forward expression gives. Where
torch's backward is the autodiff of its forward (``softsign``, ``tanhshrink``, ``glu``, ``prelu``),
the forward is written the same way and JAX differentiates it.

``relu`` is written as a ``where(input <= 0, ...)`` select rather than ``jax.nn.relu``: torch's
ReLU passes the incoming gradient at NaN (``x <= 0`` is false there). ``inplace=`` is accepted for
torch's signatures and ignored: JAX arrays are immutable.

At NaN, torch 2.13's CPU kernels for ``elu``/``celu``/``selu``, ``hardswish``, ``hardtanh``/
``relu6``, ``hardshrink`` and ``softshrink`` disagree with themselves: the scalar loop (a tensor
smaller than one SIMD vector, or the tail after the last full vector) follows the written formula
(a comparison with NaN is false, so ``elu``'s slope is ``scale`` and ``hardtanh``'s is 1), while
the vectorised body gives NaN (the ELUs, hardswish) or 0 (the others). funcgrad follows the
formula: the scalar rule, the same for every element and every machine.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "rrelu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]

Fn = Callable[[jax.Array], jax.Array]

_ONE_SIXTH_F32 = float(np.float32(1.0) / np.float32(6.0))

# torch's SELU constants (aten/src/ATen/native/Activation.cpp).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _with_slope(name: str, value: Fn, slope: Fn) -> Fn:
    """``value``, whose derivative is ``slope(x) * tangent``: torch's backward formula, as data.

    The function is named ``name`` (torch's), so ``fg.graph`` labels the call with its grad_fn.
    """

    def fn(x: jax.Array) -> jax.Array:
        return value(x)

    fn.__name__ = fn.__qualname__ = name
    wrapped = jax.custom_jvp(fn)

    def jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
        (x,), (t,) = primals, tangents
        return value(x), slope(x) * t

    wrapped.defjvp(jvp)
    return wrapped


def relu(input: jax.Array, inplace: bool = False) -> jax.Array:
    """``max(input, 0)``; the derivative is 0 at 0 and 1 at NaN (NaN passes through), as in torch.

    Example:
        >>> import jax
        >>> relu(jnp.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
        >>> jax.grad(lambda x: relu(x).sum())(jnp.array([0.0, jnp.nan])).tolist()
        [0.0, 1.0]
    """
    del inplace
    return jnp.where(input <= 0, jnp.zeros_like(input), input)


def threshold(input: jax.Array, threshold: float, value: float, inplace: bool = False) -> jax.Array:
    """``value`` where ``input <= threshold``, else ``input``; slope 0 at the threshold, as torch.

    Args:
        input: any shape.
        threshold: the value at or below which an element is replaced.
        value: what replaces it.
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> threshold(jnp.array([0.5, 1.0, 2.0]), 1.0, -3.0).tolist()
        [-3.0, -3.0, 2.0]
    """
    del inplace
    low = lambda x: x <= threshold  # noqa: E731
    return _with_slope(
        "threshold",
        lambda x: jnp.where(low(x), jnp.asarray(value, x.dtype), x),
        lambda x: jnp.where(low(x), 0.0, 1.0).astype(x.dtype),
    )(input)


def hardtanh(
    input: jax.Array, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> jax.Array:
    """``clip(input, min_val, max_val)``; slope 0 at both ends, 1 inside and at NaN (see the module).

    Args:
        input: any shape.
        min_val: the lower bound; ``min_val > max_val`` raises ``ValueError``.
        max_val: the upper bound.
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> hardtanh(jnp.array([-2.0, 0.5, 2.0])).tolist()
        [-1.0, 0.5, 1.0]
    """
    del inplace
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val={min_val} cannot be greater than max_val={max_val}")
    return _with_slope(
        "hardtanh",
        lambda x: jnp.clip(x, min_val, max_val),
        lambda x: jnp.where((x <= min_val) | (x >= max_val), 0.0, 1.0).astype(x.dtype),
    )(input)


def relu6(input: jax.Array, inplace: bool = False) -> jax.Array:
    """``min(max(input, 0), 6)``: torch's ``hardtanh(input, 0, 6)``, with its slopes.

    Example:
        >>> relu6(jnp.array([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    del inplace
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: jax.Array, inplace: bool = False) -> jax.Array:
    """``clip(input + 3, 0, 6) / 6``; slope ``1/6`` strictly inside ``(-3, 3)``, else 0.

    Example:
        >>> hardsigmoid(jnp.array([-4.0, 0.0, 4.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    del inplace
    return _with_slope(
        "hardsigmoid",
        lambda x: jnp.clip(x + 3, 0, 6) / 6,
        # torch's slope is one_sixth = 1.0f / 6.0f: a float32 constant, in every dtype
        lambda x: jnp.where((x > -3) & (x < 3), _ONE_SIXTH_F32, 0.0).astype(x.dtype),
    )(input)


def hardswish(input: jax.Array, inplace: bool = False) -> jax.Array:
    """``input * clip(input + 3, 0, 6) / 6``; torch's slopes: 0 up to -3, ``x/3 + 1/2`` strictly
    between, 1 from 3 and at NaN.

    Example:
        >>> hardswish(jnp.array([-4.0, 0.0, 4.0])).tolist()
        [-0.0, 0.0, 4.0]
    """
    del inplace
    return _with_slope(
        "hardswish",
        lambda x: x * jnp.clip(x + 3, 0, 6) / 6,
        lambda x: jnp.where(x <= -3, 0.0, jnp.where(x < 3, x / 3 + 0.5, 1.0)).astype(x.dtype),
    )(input)


def hardshrink(input: jax.Array, lambd: float = 0.5) -> jax.Array:
    """``input`` outside ``[-lambd, lambd]``, 0 inside (slope 0 inside, 1 outside and at NaN).

    Example:
        >>> hardshrink(jnp.array([-1.0, 0.5, 1.0])).tolist()
        [-1.0, 0.0, 1.0]
    """
    inside = lambda x: (x >= -lambd) & (x <= lambd)  # noqa: E731
    return _with_slope(
        "hardshrink",
        lambda x: jnp.where(inside(x), jnp.zeros_like(x), x),
        lambda x: _outside(x, lambd),
    )(input)


def _outside(x: jax.Array, lambd: float) -> jax.Array:
    """The shrinks' slope: 0 on ``[-lambd, lambd]``, 1 outside and at NaN (torch's scalar rule)."""
    return jnp.where((x >= -lambd) & (x <= lambd), 0.0, 1.0).astype(x.dtype)


def softshrink(input: jax.Array, lambd: float = 0.5) -> jax.Array:
    """``input - lambd`` above ``lambd``, ``input + lambd`` below ``-lambd``, 0 between.

    Example:
        >>> softshrink(jnp.array([-1.0, 0.25, 1.0])).tolist()
        [-0.5, 0.0, 0.5]
    """
    if lambd < 0:
        raise ValueError(f"softshrink: lambda must be greater or equal to 0, but found {lambd}")
    return _with_slope(
        "softshrink",
        lambda x: jnp.where(x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, x * 0)),
        lambda x: _outside(x, lambd),
    )(input)


def leaky_relu(input: jax.Array, negative_slope: float = 0.01, inplace: bool = False) -> jax.Array:
    """``input`` where positive, ``negative_slope * input`` elsewhere (slope at 0, as torch).

    Args:
        input: any shape.
        negative_slope: the factor for ``input <= 0``.
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> leaky_relu(jnp.array([-2.0, 3.0]), 0.5).tolist()
        [-1.0, 3.0]
    """
    del inplace
    return jnp.where(input > 0, input, input * negative_slope)


def prelu(input: jax.Array, weight: jax.Array) -> jax.Array:
    """``leaky_relu`` with a learned slope: one for all channels, or one per channel (axis 1).

    Args:
        input: any shape; its channels are axis 1 (axis 0 of a 1-D input).
        weight: the slopes, one value or ``C`` values (1-D).

    Example:
        >>> prelu(jnp.array([[-2.0, 3.0]]), jnp.array([0.25, 0.5])).tolist()
        [[-0.5, 3.0]]
    """
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be 0-D or 1-D, got {weight.ndim}-D")
    if weight.size != 1:
        if input.ndim == 0:
            raise ValueError("prelu: Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.size != channels:
            raise ValueError(
                f"prelu: Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {weight.size} and channel size = {channels}."
            )
    if weight.ndim == 1 and input.ndim >= 2:  # per channel: broadcast along axis 1
        w = jnp.reshape(weight, (1, -1) + (1,) * (input.ndim - 2))
    else:
        w = jnp.reshape(weight, (1,) * input.ndim) if weight.size == 1 else weight
    return jnp.where(input > 0, input, w * input)


def rrelu(
    input: jax.Array,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
    *,
    key: jax.Array | None = None,
) -> jax.Array:
    """Randomised leaky ReLU: in training each ``input <= 0`` gets a slope drawn from ``U(lower, upper)``.

    In eval it is ``leaky_relu(input, (lower + upper) / 2)``, as torch's. The slopes are drawn from
    ``key`` (the same key, the same slopes), and the gradient uses them too (torch's noise buffer).

    Args:
        input: any shape.
        lower: the least slope.
        upper: the greatest slope.
        training: draw random slopes when ``True``; the mean slope when ``False``.
        inplace: accepted for torch's signature and ignored.
        key: the random key; needed when ``training``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> import jax
        >>> rrelu(jnp.array([-2.0, 3.0]), 0.25, 0.75).tolist()
        [-1.0, 3.0]
        >>> y = rrelu(jnp.array([-1.0]), 0.25, 0.75, training=True, key=jax.random.key(0))
        >>> bool(-0.75 <= y[0] <= -0.25)
        True
    """
    del inplace
    if not 0 <= lower <= upper:
        raise ValueError(f"rrelu: need 0 <= lower <= upper, got lower={lower}, upper={upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    if key is None:
        raise ValueError("rrelu: training draws random slopes and needs a random key; pass key=")
    slope = jax.random.uniform(key, input.shape, input.dtype, lower, upper)
    # torch's rrelu_with_noise: x <= 0 takes the slope (so 0 does), NaN keeps slope 1.
    return jnp.where(input <= 0, input * slope, input)


def _elu(
    x: jax.Array,
    alpha: float,
    scale: float,
    input_scale: float,
    name: str,
    backward_input_scale: float | None = None,
) -> jax.Array:
    """torch's ``elu`` kernel: ``scale * x`` above 0, ``alpha * scale * expm1(input_scale * x)``
    at and below; its derivative is ``elu_backward``'s (``alpha * scale * input_scale`` at 0,
    0 at ``-inf``, ``scale`` at NaN)."""
    neg, iscale = alpha * scale, input_scale
    b_iscale = input_scale if backward_input_scale is None else backward_input_scale
    return _with_slope(
        name,
        lambda x: jnp.where(x <= 0, jnp.expm1(x * iscale) * neg, x * scale),
        lambda x: jnp.where(x <= 0, b_iscale * neg * jnp.exp(x * b_iscale), scale).astype(x.dtype),
    )(x)


def elu(input: jax.Array, alpha: float = 1.0, inplace: bool = False) -> jax.Array:
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere (torch's slopes).

    Args:
        input: any shape.
        alpha: the scale of the negative part (its limit at ``-inf`` is ``-alpha``).
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> elu(jnp.array([0.0, 1.0])).tolist()
        [0.0, 1.0]
    """
    del inplace
    return _elu(input, alpha, 1.0, 1.0, "elu")


def celu(input: jax.Array, alpha: float = 1.0, inplace: bool = False) -> jax.Array:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Args:
        input: any shape.
        alpha: the scale of the negative part; 0 raises ``ValueError`` (it divides the input).
        inplace: accepted for torch's signature and ignored (JAX arrays are immutable).

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> celu(jnp.array([0.0, 2.0]), 2.0).tolist()
        [0.0, 2.0]
    """
    del inplace
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError: alpha cannot be 0 (it divides the input)")
    # torch's celu backward takes input_scale = 1.0 / alpha.toFloat(): alpha rounded to float32
    return _elu(input, alpha, 1.0, 1.0 / alpha, "celu", 1.0 / float(np.float32(alpha)))


def selu(input: jax.Array, inplace: bool = False) -> jax.Array:
    """``scale * elu(input, alpha)`` with torch's self-normalising constants.

    Example:
        >>> round(float(selu(jnp.array(1.0))), 6)
        1.050701
    """
    del inplace
    return _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0, "selu")


def gelu(input: jax.Array, approximate: Literal["none", "tanh"] = "none") -> jax.Array:
    """``input * Phi(input)`` (erf form), or torch's tanh approximation with ``approximate="tanh"``.

    Example:
        >>> float(gelu(jnp.array(0.0))), float(gelu(jnp.array(0.0), approximate="tanh"))
        (0.0, 0.0)
    """
    if approximate == "none":
        return _with_slope("gelu", _gelu_erf, _gelu_erf_slope)(input)
    if approximate == "tanh":
        return _with_slope("gelu", _gelu_tanh, _gelu_tanh_slope)(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


_GELU_BETA = math.sqrt(2.0) * (2.0 / math.sqrt(math.pi)) * 0.5  # sqrt(2 / pi)
_GELU_KAPPA = 0.044715


def _gelu_erf(x: jax.Array) -> jax.Array:
    return x * 0.5 * (1 + jax.lax.erf(x * math.sqrt(0.5)))


def _gelu_erf_slope(x: jax.Array) -> jax.Array:
    cdf = 0.5 * (1 + jax.lax.erf(x * math.sqrt(0.5)))
    pdf = jnp.exp(-0.5 * x * x) * (2.0 / math.sqrt(math.pi) * math.sqrt(0.5) * 0.5)
    return cdf + x * pdf


def _gelu_tanh(x: jax.Array) -> jax.Array:
    inner = _GELU_BETA * (x + _GELU_KAPPA * (x * x * x))
    return 0.5 * x * (1 + jnp.tanh(inner))


def _gelu_tanh_slope(x: jax.Array) -> jax.Array:
    t = jnp.tanh(_GELU_BETA * (x + _GELU_KAPPA * (x * x * x)))
    inner_slope = _GELU_BETA * (1 + 3 * _GELU_KAPPA * (x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_slope


def silu(input: jax.Array, inplace: bool = False) -> jax.Array:
    """``input * sigmoid(input)`` (swish), with torch's ``silu_backward``.

    Example:
        >>> float(silu(jnp.array(0.0)))
        0.0
    """
    del inplace

    def slope(x: jax.Array) -> jax.Array:
        s = 1 / (1 + jnp.exp(-x))
        return s * (1 + x * (1 - s))

    return _with_slope("silu", lambda x: x / (1 + jnp.exp(-x)), slope)(input)


def mish(input: jax.Array, inplace: bool = False) -> jax.Array:
    """``input * tanh(softplus(input))``, with torch's ``mish_backward``.

    Example:
        >>> float(mish(jnp.array(0.0)))
        0.0
    """
    del inplace

    def slope(x: jax.Array) -> jax.Array:
        s = 1 / (1 + jnp.exp(-x))
        t = jnp.tanh(jnp.log1p(jnp.exp(x)))
        return t + x * s * (1 - t * t)

    return _with_slope("mish", lambda x: x * jnp.tanh(jnp.log1p(jnp.exp(x))), slope)(input)


def softplus(input: jax.Array, beta: float = 1.0, threshold: float = 20.0) -> jax.Array:
    """``log(1 + exp(beta * input)) / beta``, and ``input`` itself where ``beta * input > threshold``.

    Args:
        input: any shape.
        beta: the sharpness; larger is closer to ``relu``.
        threshold: where ``beta * input`` exceeds it, the result is ``input`` itself (for
            numerical stability).

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> softplus(jnp.array([30.0])).tolist()
        [30.0]
    """
    linear = lambda x: x * beta > threshold  # noqa: E731

    def slope(x: jax.Array) -> jax.Array:
        z = jnp.exp(x * beta)
        return jnp.where(linear(x), 1.0, z / (z + 1)).astype(x.dtype)

    return _with_slope(
        "softplus", lambda x: jnp.where(linear(x), x, jnp.log1p(jnp.exp(x * beta)) / beta), slope
    )(input)


def logsigmoid(input: jax.Array) -> jax.Array:
    """``log(sigmoid(input))``, computed stably as torch does: ``min(0, x) - log1p(exp(-|x|))``.

    Example:
        >>> round(float(logsigmoid(jnp.array(0.0))), 6)
        -0.693147
    """

    def slope(x: jax.Array) -> jax.Array:  # torch's log_sigmoid_backward
        negative = x < 0
        z = jnp.exp(-jnp.abs(x))
        return jnp.where(negative, 1.0, 0.0) - jnp.where(negative, 1.0, -1.0) * (z / (1 + z))

    return _with_slope(
        "logsigmoid", lambda x: jnp.minimum(0, x) - jnp.log1p(jnp.exp(-jnp.abs(x))), slope
    )(input)


def softsign(input: jax.Array) -> jax.Array:
    """``input / (1 + |input|)``; its derivative is computed as ``1 / (1 + |input|)**2``.

    torch differentiates its composition ``input / (|input| + 1)`` term by term, two terms that
    nearly cancel for large ``|input|``; the closed form here is the same number without the
    cancellation (they agree to float64's precision; in float32 torch's is the noisier one). At
    ``+-inf`` it is NaN, as torch's.

    Example:
        >>> softsign(jnp.array([-1.0, 3.0])).tolist()
        [-0.5, 0.75]
    """

    def slope(x: jax.Array) -> jax.Array:  # torch's composition gives inf / inf at +-inf
        return jnp.where(jnp.isinf(x), jnp.nan, 1 / jnp.square(jnp.abs(x) + 1)).astype(x.dtype)

    return _with_slope("softsign", lambda x: x / (jnp.abs(x) + 1), slope)(input)


def tanhshrink(input: jax.Array) -> jax.Array:
    """``input - tanh(input)``.

    Example:
        >>> float(tanhshrink(jnp.array(0.0)))
        0.0
    """
    return input - jnp.tanh(input)


def glu(input: jax.Array, dim: int = -1) -> jax.Array:
    """Gated linear unit: split ``input`` in halves ``a, b`` along ``dim``; ``a * sigmoid(b)``.

    Example:
        >>> glu(jnp.array([[1.0, 0.0]])).tolist()
        [[0.5]]
    """
    if input.ndim == 0:
        raise ValueError("glu does not support scalars because halving size must be even")
    axis = dim % input.ndim if -input.ndim <= dim < input.ndim else dim
    if not 0 <= axis < input.ndim:
        raise ValueError(f"glu: dim {dim} is out of range for a {input.ndim}-D input")
    if input.shape[axis] % 2:
        raise ValueError(
            f"Halving dimension must be even, but dimension {axis} is size {input.shape[axis]}"
        )
    a, b = jnp.split(input, 2, axis=axis)
    return a * jax.nn.sigmoid(b)


def implicit_dim(ndim: int, where: str) -> int:
    """torch's deprecated choice for ``dim=None``: 0 for 0-, 1- and 3-D input, else 1 (warns).

    The warning's text is torch's, word for word.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     implicit_dim(4, "softmax")
        1
    """
    warnings.warn(
        f"Implicit dimension choice for {where} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_like(
    input: jax.Array, dim: int | None, dtype: Any, name: str, fn: Callable[..., jax.Array]
) -> jax.Array:
    """``fn`` over ``dim`` (torch's implicit dim when ``None``), after casting to ``dtype``."""
    if dtype is not None:  # torch casts the input first, so the computation runs in ``dtype``
        input = input.astype(dtype)
    axis = implicit_dim(input.ndim, name) if dim is None else dim
    if input.ndim == 0:  # torch takes dim 0 or -1 of a scalar as its only element
        if axis not in (0, -1):
            raise ValueError(f"{name}: dim {axis} is out of range for a 0-D input (use 0 or -1)")
        return fn(input[None], axis=0)[0]
    return fn(input, axis=axis)


def softmax(
    input: jax.Array, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> jax.Array:
    """``exp(input) / sum(exp(input), dim)``; ``dim=None`` picks torch's implicit dim with its warning.

    Args:
        input: any shape.
        dim: the axis to normalise over; ``None`` is torch's deprecated implicit choice.
        _stacklevel: accepted for torch's signature (it places torch's warning); ignored.
        dtype: cast the input to this dtype first, as torch's ``dtype=`` does.

    Returns:
        An array of ``input``'s shape (and of ``dtype`` if given), summing to 1 along ``dim``.

    Example:
        >>> softmax(jnp.zeros((2, 2)), dim=1).tolist()
        [[0.5, 0.5], [0.5, 0.5]]
    """
    del _stacklevel
    return _softmax_like(input, dim, dtype, "softmax", jax.nn.softmax)


def softmin(
    input: jax.Array, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> jax.Array:
    """``softmax(-input, dim)``; ``dim`` and ``dtype`` as in :func:`softmax`.

    Args:
        input: any shape.
        dim: the axis to normalise over; ``None`` is torch's deprecated implicit choice.
        _stacklevel: accepted for torch's signature (it places torch's warning); ignored.
        dtype: cast the input to this dtype first, as torch's ``dtype=`` does.

    Returns:
        An array of ``input``'s shape (and of ``dtype`` if given), summing to 1 along ``dim``.

    Example:
        >>> softmin(jnp.array([0.0, 0.0]), dim=0).tolist()
        [0.5, 0.5]
    """
    del _stacklevel
    return _softmax_like(input, dim, dtype, "softmin", lambda x, axis: jax.nn.softmax(-x, axis))


def log_softmax(
    input: jax.Array, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> jax.Array:
    """``input - logsumexp(input, dim)``; ``dim`` and ``dtype`` as in :func:`softmax`.

    Args:
        input: any shape.
        dim: the axis to normalise over; ``None`` is torch's deprecated implicit choice.
        _stacklevel: accepted for torch's signature (it places torch's warning); ignored.
        dtype: cast the input to this dtype first, as torch's ``dtype=`` does.

    Returns:
        An array of ``input``'s shape (and of ``dtype`` if given): the log-probabilities along
        ``dim``.

    Example:
        >>> log_softmax(jnp.zeros(2), dim=0).tolist() == [float(-jnp.log(2.0))] * 2
        True
    """
    del _stacklevel
    return _softmax_like(input, dim, dtype, "log_softmax", jax.nn.log_softmax)


def tanh(input: jax.Array) -> jax.Array:
    """Hyperbolic tangent.

    Example:
        >>> float(tanh(jnp.array(0.0)))
        0.0
    """
    return jnp.tanh(input)


def sigmoid(input: jax.Array) -> jax.Array:
    """Logistic sigmoid ``1 / (1 + exp(-input))``.

    Example:
        >>> float(sigmoid(jnp.array(0.0)))
        0.5
    """
    return jax.nn.sigmoid(input)
