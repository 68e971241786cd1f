"""Pooling layers, as torch's: max, average and power-average pooling in 1-3 D, adaptive average and
max pooling, max-unpooling and fractional max pooling. Params ``{}``.

Each family is one class over its functional (``F.max_pool1d`` / ``2d`` / ``3d``); the 1-D, 2-D and
3-D layers differ only in the functional they call and their docstring example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params
from funcgrad.nn.functional._conv import IntOrTuple
from funcgrad.nn.functional._pool import MaybeIndices, OutputSize

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]


class _Pool(Module):
    functional: ClassVar[Callable[..., Any]]

    def init(self, key: jax.Array) -> Params:
        del key
        return {}


# -- max pooling -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MaxPoolNd(_Pool):
    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    dilation: IntOrTuple = 1
    return_indices: bool = False
    ceil_mode: bool = False

    def stateless(self, params: Params, x: jax.Array) -> MaybeIndices:
        with layer_errors(type(self).__name__):
            return self.functional(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                self.ceil_mode,
                self.return_indices,
            )


@dataclass(frozen=True)
class MaxPool1d(_MaxPoolNd):
    """Max over windows of ``(N, C, L)``, as ``torch.nn.MaxPool1d`` (torch 2.13's signature and order).

    With ``return_indices=True`` the layer returns ``(values, indices)``, the indices along ``L``
    (int64 under ``jax_enable_x64``, as torch's).

    Args:
        kernel_size: the window's length.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit ``-inf`` on each side, at most half of ``kernel_size``.
        dilation: the spacing between window entries.
        return_indices: also return each maximum's index along ``L``.
        ceil_mode: round the output length up instead of down.

    Example:
        >>> import jax.numpy as jnp
        >>> MaxPool1d(2, return_indices=True).apply({}, jnp.array([[1.0, 3.0, 2.0, 0.0]]))[1].tolist()
        [[1, 2]]
    """

    functional = staticmethod(F.max_pool1d)


@dataclass(frozen=True)
class MaxPool2d(_MaxPoolNd):
    """Max over windows, as ``torch.nn.MaxPool2d`` (torch 2.13's signature and order).

    ``stride`` defaults to ``kernel_size``. With ``return_indices=True`` the layer returns
    ``(values, indices)``, int64 flat indices into ``H * W`` as torch. The gradient goes to the first
    maximum of each window (row-major), as torch's does.

    Args:
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit ``-inf`` on each side, an int or ``(ph, pw)``.
        dilation: the spacing between window entries.
        return_indices: also return each maximum's flat index in its ``H * W`` plane (int64).
        ceil_mode: round the output size up instead of down.

    Example:
        >>> import jax.numpy as jnp
        >>> MaxPool2d(2).apply({}, jnp.ones((1, 6, 28, 28))).shape
        (1, 6, 14, 14)
    """

    functional = staticmethod(F.max_pool2d)


@dataclass(frozen=True)
class MaxPool3d(_MaxPoolNd):
    """Max over windows of ``(N, C, D, H, W)``, as ``torch.nn.MaxPool3d``.

    With ``return_indices=True`` the layer returns ``(values, indices)``, flat indices into
    ``D * H * W`` (int64 under ``jax_enable_x64``, as torch's).

    Args:
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit ``-inf`` on each side, an int or ``(pd, ph, pw)``.
        dilation: the spacing between window entries.
        return_indices: also return each maximum's flat index in its ``D * H * W`` volume.
        ceil_mode: round the output size up instead of down.

    Example:
        >>> import jax.numpy as jnp
        >>> MaxPool3d(2, ceil_mode=True).apply({}, jnp.ones((2, 5, 5, 5))).shape
        (2, 3, 3, 3)
    """

    functional = staticmethod(F.max_pool3d)


# -- average pooling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AvgPoolNd(_Pool):
    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    ceil_mode: bool = False
    count_include_pad: bool = True

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        # torch's 1-D form has no divisor_override
        divisor = getattr(self, "divisor_override", None)
        more = () if divisor is None else (divisor,)
        with layer_errors(type(self).__name__):
            return self.functional(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.ceil_mode,
                self.count_include_pad,
                *more,
            )


@dataclass(frozen=True)
class AvgPool1d(_AvgPoolNd):
    """Mean over windows of ``(N, C, L)``, as ``torch.nn.AvgPool1d`` (no ``divisor_override``).

    Args:
        kernel_size: the window's length.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit zeros on each side, at most half of ``kernel_size``.
        ceil_mode: round the output length up instead of down.
        count_include_pad: whether the padding zeros count in the divisor.

    Example:
        >>> import jax.numpy as jnp
        >>> AvgPool1d(2).apply({}, jnp.array([[1.0, 3.0, 2.0, 0.0]])).tolist()
        [[2.0, 1.0]]
    """

    functional = staticmethod(F.avg_pool1d)


@dataclass(frozen=True)
class AvgPool2d(_AvgPoolNd):
    """Mean over windows, as ``torch.nn.AvgPool2d`` (torch's divisor and ``ceil_mode`` rules).

    Args:
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit zeros on each side, an int or ``(ph, pw)``.
        ceil_mode: round the output size up instead of down.
        count_include_pad: whether the padding zeros count in the divisor.
        divisor_override: a fixed divisor instead of the window's size.

    Example:
        >>> import jax.numpy as jnp
        >>> AvgPool2d(3, stride=2, padding=1, count_include_pad=False).apply({}, jnp.ones((2, 5, 5))).shape
        (2, 3, 3)
    """

    divisor_override: int | None = None
    functional = staticmethod(F.avg_pool2d)


@dataclass(frozen=True)
class AvgPool3d(_AvgPoolNd):
    """Mean over windows of ``(N, C, D, H, W)``, as ``torch.nn.AvgPool3d``.

    Args:
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit zeros on each side, an int or ``(pd, ph, pw)``.
        ceil_mode: round the output size up instead of down.
        count_include_pad: whether the padding zeros count in the divisor.
        divisor_override: a fixed divisor instead of the window's size.

    Example:
        >>> import jax.numpy as jnp
        >>> AvgPool3d(2, divisor_override=1).apply({}, jnp.ones((1, 2, 2, 2))).tolist()
        [[[[8.0]]]]
    """

    divisor_override: int | None = None
    functional = staticmethod(F.avg_pool3d)


# -- power-average pooling -------------------------------------------------------------------------


@dataclass(frozen=True)
class _LPPoolNd(_Pool):
    norm_type: float
    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    ceil_mode: bool = False

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors(type(self).__name__):
            return self.functional(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


@dataclass(frozen=True)
class LPPool1d(_LPPoolNd):
    """``(sum x**p)**(1/p)`` over windows of ``(N, C, L)``, as ``torch.nn.LPPool1d``.

    Args:
        norm_type: the power ``p`` (``inf`` is max-pooling of ``|x|``).
        kernel_size: the window's length.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        ceil_mode: round the output length up instead of down.

    Example:
        >>> import jax.numpy as jnp
        >>> LPPool1d(2, 2).apply({}, jnp.array([[3.0, 4.0]])).tolist()
        [[5.0]]
    """

    functional = staticmethod(F.lp_pool1d)


@dataclass(frozen=True)
class LPPool2d(_LPPoolNd):
    """``(sum x**p)**(1/p)`` over windows of ``(N, C, H, W)``, as ``torch.nn.LPPool2d``.

    Args:
        norm_type: the power ``p`` (``inf`` is max-pooling of ``|x|``).
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        ceil_mode: round the output size up instead of down.

    Example:
        >>> import jax.numpy as jnp
        >>> LPPool2d(1, 2).apply({}, jnp.ones((1, 2, 2))).tolist()
        [[[4.0]]]
    """

    functional = staticmethod(F.lp_pool2d)


@dataclass(frozen=True)
class LPPool3d(_LPPoolNd):
    """``(sum x**p)**(1/p)`` over windows of ``(N, C, D, H, W)``, as ``torch.nn.LPPool3d``.

    Args:
        norm_type: the power ``p`` (``inf`` is max-pooling of ``|x|``).
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        ceil_mode: round the output size up instead of down.

    Example:
        >>> import jax.numpy as jnp
        >>> LPPool3d(1, 2).apply({}, jnp.ones((1, 2, 2, 2))).tolist()
        [[[[8.0]]]]
    """

    functional = staticmethod(F.lp_pool3d)


# -- adaptive pooling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _AdaptiveAvgPoolNd(_Pool):
    output_size: OutputSize

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors(type(self).__name__):
            return self.functional(x, self.output_size)


@dataclass(frozen=True)
class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average ``(N, C, L)`` to a fixed ``output_size`` over torch's windows, as torch.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveAvgPool1d(2).apply({}, jnp.array([[1.0, 2.0, 4.0]])).tolist()
        [[1.5, 3.0]]
    """

    functional = staticmethod(F.adaptive_avg_pool1d)


@dataclass(frozen=True)
class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average to a fixed ``output_size`` (an int, a pair, ``None`` keeps that axis), as torch.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveAvgPool2d((1, None)).apply({}, jnp.ones((2, 3, 7, 5))).shape
        (2, 3, 1, 5)
    """

    functional = staticmethod(F.adaptive_avg_pool2d)


@dataclass(frozen=True)
class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average ``(N, C, D, H, W)`` to a fixed ``output_size``, as ``torch.nn.AdaptiveAvgPool3d``.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveAvgPool3d((None, 2, 1)).apply({}, jnp.ones((1, 3, 5, 7))).shape
        (1, 3, 2, 1)
    """

    functional = staticmethod(F.adaptive_avg_pool3d)


@dataclass(frozen=True)
class _AdaptiveMaxPoolNd(_Pool):
    output_size: OutputSize
    return_indices: bool = False

    def stateless(self, params: Params, x: jax.Array) -> MaybeIndices:
        with layer_errors(type(self).__name__):
            return self.functional(x, self.output_size, self.return_indices)


@dataclass(frozen=True)
class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max of ``(N, C, L)`` over torch's adaptive windows, as ``torch.nn.AdaptiveMaxPool1d``.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveMaxPool1d(2).apply({}, jnp.array([[1.0, 5.0, 2.0]])).tolist()
        [[5.0, 5.0]]
    """

    functional = staticmethod(F.adaptive_max_pool1d)


@dataclass(frozen=True)
class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max over torch's adaptive windows to a fixed ``output_size``, as torch's layer.

    With ``return_indices=True`` it returns ``(values, indices)``, flat int64 indices into ``H * W``.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveMaxPool2d((2, None)).apply({}, jnp.ones((2, 3, 7, 5))).shape
        (2, 3, 2, 5)
    """

    functional = staticmethod(F.adaptive_max_pool2d)


@dataclass(frozen=True)
class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max of ``(N, C, D, H, W)`` over torch's adaptive windows, as ``torch.nn.AdaptiveMaxPool3d``.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveMaxPool3d(1).apply({}, jnp.arange(8.0).reshape(1, 2, 2, 2)).tolist()
        [[[[7.0]]]]
    """

    functional = staticmethod(F.adaptive_max_pool3d)


# -- max-unpooling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MaxUnpoolNd(_Pool):
    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0

    def forward(
        self,
        params: Params,
        x: jax.Array,
        indices: jax.Array | None = None,
        output_size: Sequence[int] | None = None,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        del train, key
        name = type(self).__name__
        if indices is None:
            raise ModuleError(
                f"{name} needs the pooling's indices: call apply(params, x, indices), with "
                "indices from the max pool's return_indices=True"
            )
        with layer_errors(name):
            y = self.functional(
                x, indices, self.kernel_size, self.stride, self.padding, output_size
            )
        return y, buffers


@dataclass(frozen=True)
class MaxUnpool1d(_MaxUnpoolNd):
    """Put each value back at its max-pooling index, zeros elsewhere, as ``torch.nn.MaxUnpool1d``.

    ``apply(params, x, indices, output_size=None)`` takes torch's ``forward`` arguments.

    Args:
        kernel_size: the pooling's kernel size.
        stride: the pooling's stride; ``None`` (the default) means ``kernel_size``.
        padding: the pooling's padding.

    Example:
        >>> import jax.numpy as jnp
        >>> MaxUnpool1d(2).apply({}, jnp.array([[3.0, 2.0]]), jnp.array([[1, 2]])).tolist()
        [[0.0, 3.0, 2.0, 0.0]]
    """

    functional = staticmethod(F.max_unpool1d)


@dataclass(frozen=True)
class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of :class:`MaxPool2d`, as ``torch.nn.MaxUnpool2d``.

    ``apply(params, x, indices, output_size=None)`` takes torch's ``forward`` arguments: each
    value goes back to its flat ``H * W`` index, zeros elsewhere.

    Args:
        kernel_size: the pooling's kernel size, an int or ``(kh, kw)``.
        stride: the pooling's stride; ``None`` (the default) means ``kernel_size``.
        padding: the pooling's padding, an int or ``(ph, pw)``.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.arange(16.0).reshape(1, 1, 4, 4)
        >>> values, indices = MaxPool2d(2, return_indices=True).apply({}, x)
        >>> MaxUnpool2d(2).apply({}, values, indices, output_size=(4, 4))[0, 0, 1].tolist()
        [0.0, 5.0, 0.0, 7.0]
    """

    functional = staticmethod(F.max_unpool2d)


@dataclass(frozen=True)
class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of :class:`MaxPool3d`, as ``torch.nn.MaxUnpool3d``.

    ``apply(params, x, indices, output_size=None)`` takes torch's ``forward`` arguments: each
    value goes back to its flat ``D * H * W`` index, zeros elsewhere.

    Args:
        kernel_size: the pooling's kernel size, an int or ``(kd, kh, kw)``.
        stride: the pooling's stride; ``None`` (the default) means ``kernel_size``.
        padding: the pooling's padding, an int or ``(pd, ph, pw)``.

    Example:
        >>> import jax.numpy as jnp
        >>> MaxUnpool3d(2).apply({}, jnp.ones((1, 1, 1, 1)), jnp.array([[[[7]]]])).shape
        (1, 2, 2, 2)
    """

    functional = staticmethod(F.max_unpool3d)


# -- fractional max pooling ------------------------------------------------------------------------


@dataclass(frozen=True)
class _FractionalMaxPoolNd(_Pool):
    kernel_size: IntOrTuple
    output_size: IntOrTuple | None = None
    output_ratio: float | Sequence[float] | None = None
    return_indices: bool = False
    _random_samples: Any = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        if (self.output_size is None) == (self.output_ratio is None):
            raise ConfigError(
                f"{name}: give exactly one of output_size and output_ratio, as in PyTorch"
            )
        ratio = self.output_ratio
        ratios = () if ratio is None else (ratio,) if isinstance(ratio, int | float) else ratio
        if not all(0 < r < 1 for r in ratios):
            raise ConfigError(f"{name}: output_ratio must be between 0 and 1, got {ratio!r}")
        if self._random_samples is not None:
            # Kept as nested tuples: the module stays hashable (a static argument of jax.jit).
            nested = np.asarray(self._random_samples, dtype=np.float64).tolist()
            object.__setattr__(self, "_random_samples", _tuples(nested))

    def init_buffers(self) -> Buffers:
        """torch's buffer ``_random_samples`` when it was given, else none."""
        if self._random_samples is None:
            return {}
        return {"_random_samples": jnp.asarray(self._random_samples)}

    def forward(
        self, params: Params, x: jax.Array, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[MaybeIndices, Buffers]:
        del train  # random in eval mode too, as torch's
        name = type(self).__name__
        samples = buffers.get("_random_samples")
        if samples is None and key is None:
            raise ModuleError(
                f"{name} draws random windows in train and eval mode, as torch's: pass "
                f"key=jax.random.key(...) to apply, or build it with _random_samples="
            )
        with layer_errors(name):
            y = self.functional(
                x,
                self.kernel_size,
                self.output_size,
                self.output_ratio,
                self.return_indices,
                samples,
                key=key,
            )
        return y, buffers


def _tuples(v: Any) -> Any:
    return tuple(_tuples(e) for e in v) if isinstance(v, list) else v


def fractional_torch_args(module: Any) -> dict[str, Any]:
    """The converter's reading of a torch fractional pool's ``_random_samples`` buffer: the samples
    as nested tuples (a literal in the generated code), or nothing when torch draws them.

    Example:
        >>> import torch
        >>> m = torch.nn.FractionalMaxPool2d(2, 3, _random_samples=torch.full((1, 1, 2), 0.5))
        >>> fractional_torch_args(m), fractional_torch_args(torch.nn.FractionalMaxPool2d(2, 3))
        ({'_random_samples': (((0.5, 0.5),),)}, {})
    """
    samples = getattr(module, "_random_samples", None)
    if samples is None:
        return {}
    return {"_random_samples": _tuples(samples.detach().cpu().double().numpy().tolist())}


@dataclass(frozen=True)
class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Max over randomly placed windows, as ``torch.nn.FractionalMaxPool2d``.

    The windows are drawn from ``apply``'s ``key`` (in eval mode too, as torch draws them), or
    fixed by torch's ``_random_samples`` (``(N, C, 2)``), which become the buffer of that name.

    Args:
        kernel_size: the window's size, an int or ``(kh, kw)``.
        output_size: the output's ``(H_out, W_out)``, or
        output_ratio: its size as a fraction of the input's, in ``(0, 1)``.
        return_indices: also return each maximum's flat index in its ``H * W`` plane.
        _random_samples: torch's uniform samples, one pair per ``(N, C)`` plane.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> pool = FractionalMaxPool2d(2, output_ratio=0.5)
        >>> pool.apply({}, jnp.ones((1, 3, 8, 8)), key=jax.random.key(0)).shape
        (1, 3, 4, 4)
    """

    functional = staticmethod(F.fractional_max_pool2d)


@dataclass(frozen=True)
class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Max over randomly placed 3-D windows, as ``torch.nn.FractionalMaxPool3d``.

    The windows are drawn from ``apply``'s ``key`` (in eval mode too, as torch draws them), or
    fixed by torch's ``_random_samples`` (``(N, C, 3)``), which become the buffer of that name.

    Args:
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        output_size: the output's ``(D_out, H_out, W_out)``, or
        output_ratio: its size as a fraction of the input's, in ``(0, 1)``.
        return_indices: also return each maximum's flat index in its ``D * H * W`` volume.
        _random_samples: torch's uniform samples, one triple per ``(N, C)`` volume.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> pool = FractionalMaxPool3d(2, output_size=(3, 2, 2))
        >>> pool.apply({}, jnp.ones((1, 6, 5, 5)), key=jax.random.key(0)).shape
        (1, 3, 2, 2)
    """

    functional = staticmethod(F.fractional_max_pool3d)
