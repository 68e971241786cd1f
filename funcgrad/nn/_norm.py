"""Normalisation layers: torch's batch and instance norms (with buffers), ``LayerNorm``, ``GroupNorm``,
``RMSNorm`` and ``LocalResponseNorm``.

Batch norm is the one layer whose output for an example depends on the other examples of the batch.
Called on the batch, it works as torch's. Written for one example and ``vmap``-ed, it needs the
batch named, as in Flax and Equinox: build it with ``axis_name="batch"`` and call it under
``jax.vmap(f, axis_name="batch")``; the statistics are then summed over that axis (``lax.psum``).
In eval mode the running statistics need no batch, so it also runs on one example with no name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "LocalResponseNorm",
    "RMSNorm",
]

_NEEDS_BATCH = (
    "batch norm normalises each channel with statistics over the whole batch, so it needs the "
    "batch itself"
)


def _affine_params(shape: tuple[int, ...], weight: bool, bias: bool) -> Params:
    """torch's affine init: weight ones, bias zeros."""
    params: Params = {}
    if weight:
        params["weight"] = jnp.ones(shape)
    if bias:
        params["bias"] = jnp.zeros(shape)
    return params


@dataclass(frozen=True)
class _BatchNorm(Module):
    """The body of ``BatchNorm1d``/``2d``/``3d``; subclasses set the accepted input ranks."""

    num_features: int
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: bool = True
    track_running_stats: bool = True
    _: KW_ONLY
    bias: bool = True
    axis_name: Hashable | None = None

    _RANKS: ClassVar[tuple[int, ...]] = ()  # of a batch (N, C, *); one example has one axis less
    _SHAPES: ClassVar[str] = ""
    _EXAMPLE: ClassVar[str] = ""
    _OTHER: ClassVar[str] = ""

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not isinstance(self.num_features, int) or self.num_features < 0:
            raise ConfigError(
                f"{name}({self.num_features!r}): num_features is the channel count; "
                "give a non-negative int"
            )
        if self.momentum is not None and not 0.0 <= self.momentum <= 1.0:
            raise ConfigError(
                f"{name}(momentum={self.momentum!r}): momentum weighs the new batch in the "
                "running statistics; use 0 <= momentum <= 1, or None for a cumulative average"
            )
        if self.axis_name is not None and not isinstance(self.axis_name, Hashable):
            raise ConfigError(
                f"{name}(axis_name={self.axis_name!r}): an axis name is hashable; "
                'use the name given to jax.vmap (axis_name="batch")'
            )

    def init(self, key: jax.Array) -> Params:
        del key
        return _affine_params((self.num_features,), self.affine, self.affine and self.bias)

    def init_buffers(self) -> Buffers:
        if not self.track_running_stats:
            return {}
        return {
            "running_mean": jnp.zeros((self.num_features,)),
            "running_var": jnp.ones((self.num_features,)),
            "num_batches_tracked": jnp.zeros((), dtype=int),  # int64 under jax_enable_x64
        }

    def _one_example(self, x: jax.Array, train: bool) -> bool:
        """Whether ``x`` is one example ``(C, *)`` (else a batch ``(N, C, *)``); raise if neither."""
        name, examples = type(self).__name__, tuple(r - 1 for r in self._RANKS)
        if self.axis_name is not None:  # built for one example per call
            if x.ndim not in examples:
                raise ModuleError(
                    f"{name}(axis_name={self.axis_name!r}) takes one example {self._EXAMPLE} per "
                    f"call, got {x.shape}; call it under jax.vmap(f, axis_name="
                    f"{self.axis_name!r}) over the batch, or build it without axis_name"
                )
            return True
        if x.ndim in self._RANKS:
            return False
        if x.ndim in examples and train:
            raise ModuleError(
                f"{name} got one unbatched example of shape {x.shape}, but {_NEEDS_BATCH}; "
                f"pass a batch of shape {self._SHAPES}, or under jax.vmap build it with "
                f'axis_name="batch" and vmap with axis_name="batch"'
            )
        if x.ndim in examples:  # eval: the running statistics need no batch
            return True
        raise ModuleError(
            f"{name} expects input of shape {self._SHAPES}, got {x.shape}; {self._OTHER}"
        )

    def _check(self, x: jax.Array, buffers: Buffers) -> None:
        name = type(self).__name__
        if x.shape[1] != self.num_features:
            raise ModuleError(
                f"{name}({self.num_features}) got {x.shape[1]} channels (input {x.shape}); "
                f"build it with num_features={x.shape[1]}"
            )
        missing = sorted(set(self.init_buffers()) - set(buffers))
        if missing:
            raise ModuleError(
                f"{name} buffers lack {missing}; pass buffers=model.init_buffers() "
                "(or those returned by the previous call)"
            )

    def forward(
        self, params: Params, x: jax.Array, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[jax.Array, Buffers]:
        del key
        one = self._one_example(x, train)
        y, new = self._batch(params, x[None] if one else x, buffers, train)
        return (y[0] if one else y), new

    def _batch(
        self, params: Params, x: jax.Array, buffers: Buffers, train: bool
    ) -> tuple[jax.Array, Buffers]:
        """The layer on ``(N, C, *)``: the local batch, summed over ``axis_name`` if it has one."""
        self._check(x, buffers)
        w, b, name = params.get("weight"), params.get("bias"), type(self).__name__
        if not self.track_running_stats:
            with layer_errors(name), _named_axis(name, self.axis_name):
                y = F.batch_norm(x, None, None, w, b, True, 0.0, self.eps, axis_name=self.axis_name)
            return y, buffers
        mean, var = buffers["running_mean"], buffers["running_var"]
        if not train:  # eval: running statistics, buffers returned as they came
            with layer_errors(name):
                y = F.batch_norm(x, mean, var, w, b, eps=self.eps)
            return y, buffers
        count = buffers["num_batches_tracked"] + 1
        # momentum=None is torch's cumulative moving average: the n-th batch weighs 1/n.
        momentum = 1.0 / count if self.momentum is None else self.momentum
        with layer_errors(name), _named_axis(name, self.axis_name):
            y, mean, var = F.batch_norm_with_update(
                x, mean, var, w, b, True, momentum, self.eps, axis_name=self.axis_name
            )
        return y, {"running_mean": mean, "running_var": var, "num_batches_tracked": count}


@contextlib.contextmanager
def _named_axis(layer: str, axis_name: Hashable | None) -> Iterator[None]:
    """Turn JAX's ``unbound axis name`` into an error that shows the vmap to write."""
    try:
        yield
    except NameError as e:
        raise ModuleError(
            f"{layer}(axis_name={axis_name!r}) takes its batch statistics over the vmapped axis "
            f"{axis_name!r} ({e}); call it under jax.vmap(f, axis_name={axis_name!r})"
        ) from None


@dataclass(frozen=True)
class BatchNorm1d(_BatchNorm):
    """torch's ``nn.BatchNorm1d`` on ``(N, C)`` or ``(N, C, L)``; buffers as torch's ``named_buffers``.

    ``train=True`` normalises with the batch statistics and returns the running ones updated as
    torch does (momentum, unbiased variance, ``num_batches_tracked``); ``train=False`` uses the
    running statistics and returns the buffers unchanged.

    Args:
        num_features: the channel count ``C``.
        eps: added to the variance before the square root.
        momentum: the running statistics' update weight; ``None`` is a cumulative average.
        affine: whether there are learnable ``weight`` and ``bias`` params.
        track_running_stats: whether there are running-statistics buffers; without them both
            modes normalise with the batch's statistics.
        bias: with ``affine``, whether there is a learnable ``bias``.
        axis_name: the ``jax.vmap`` axis name of the batch, when each call sees one example
            ``(C,)`` or ``(C, L)``: training takes its statistics over that axis (Flax's and
            Equinox's ``axis_name``). ``None``: each call sees the batch ``(N, C, *)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> bn = BatchNorm1d(3)
        >>> params, buffers = bn.init(None), bn.init_buffers()
        >>> sorted(params), sorted(buffers)
        (['bias', 'weight'], ['num_batches_tracked', 'running_mean', 'running_var'])
        >>> y, buffers = bn.apply(params, jnp.ones((4, 3)), buffers=buffers, train=True)
        >>> y.shape, int(buffers["num_batches_tracked"])
        ((4, 3), 1)
        >>> named = BatchNorm1d(3, axis_name="batch")  # written for one example, then vmapped
        >>> one = lambda x: named.apply(params, x, buffers=buffers, train=True)
        >>> y, b = jax.vmap(one, out_axes=(0, None), axis_name="batch")(jnp.ones((4, 3)))
        >>> y.shape, int(b["num_batches_tracked"])
        ((4, 3), 2)
    """

    _RANKS: ClassVar[tuple[int, ...]] = (2, 3)
    _SHAPES: ClassVar[str] = "(N, C) or (N, C, L)"
    _EXAMPLE: ClassVar[str] = "(C,) or (C, L)"
    _OTHER: ClassVar[str] = "use BatchNorm2d for (N, C, H, W)"


@dataclass(frozen=True)
class BatchNorm2d(_BatchNorm):
    """torch's ``nn.BatchNorm2d`` on ``(N, C, H, W)``; see :class:`BatchNorm1d` for the modes.

    Args:
        num_features: the channel count ``C``.
        eps: added to the variance before the square root.
        momentum: the running statistics' update weight; ``None`` is a cumulative average.
        affine: whether there are learnable ``weight`` and ``bias`` params.
        track_running_stats: whether there are running-statistics buffers; without them both
            modes normalise with the batch's statistics.
        bias: with ``affine``, whether there is a learnable ``bias``.
        axis_name: the ``jax.vmap`` axis name of the batch, when each call sees one example
            ``(C, H, W)``; see :class:`BatchNorm1d`.

    Example:
        >>> import jax.numpy as jnp
        >>> bn = BatchNorm2d(2, affine=False)
        >>> y, b = bn.apply({}, jnp.arange(16.0).reshape(2, 2, 2, 2), buffers=bn.init_buffers())
        >>> y.shape, b["running_mean"].tolist()
        ((2, 2, 2, 2), [0.0, 0.0])
    """

    _RANKS: ClassVar[tuple[int, ...]] = (4,)
    _SHAPES: ClassVar[str] = "(N, C, H, W)"
    _EXAMPLE: ClassVar[str] = "(C, H, W)"
    _OTHER: ClassVar[str] = "use BatchNorm1d for (N, C) or (N, C, L), BatchNorm3d for 5-D"


@dataclass(frozen=True)
class BatchNorm3d(_BatchNorm):
    """torch's ``nn.BatchNorm3d`` on ``(N, C, D, H, W)``; see :class:`BatchNorm1d` for the modes.

    Args:
        num_features: the channel count ``C``.
        eps: added to the variance before the square root.
        momentum: the running statistics' update weight; ``None`` is a cumulative average.
        affine: whether there are learnable ``weight`` and ``bias`` params.
        track_running_stats: whether there are running-statistics buffers; without them both
            modes normalise with the batch's statistics.
        bias: with ``affine``, whether there is a learnable ``bias``.
        axis_name: the ``jax.vmap`` axis name of the batch, when each call sees one example
            ``(C, D, H, W)``; see :class:`BatchNorm1d`.

    Example:
        >>> import jax.numpy as jnp
        >>> bn = BatchNorm3d(2)
        >>> y, b = bn.apply(bn.init(None), jnp.ones((2, 2, 3, 3, 3)), buffers=bn.init_buffers())
        >>> y.shape, sorted(b)
        ((2, 2, 3, 3, 3), ['num_batches_tracked', 'running_mean', 'running_var'])
    """

    _RANKS: ClassVar[tuple[int, ...]] = (5,)
    _SHAPES: ClassVar[str] = "(N, C, D, H, W)"
    _EXAMPLE: ClassVar[str] = "(C, D, H, W)"
    _OTHER: ClassVar[str] = "use BatchNorm1d or BatchNorm2d for fewer axes"


@dataclass(frozen=True)
class _InstanceNorm(Module):
    """The body of ``InstanceNorm1d``/``2d``/``3d``; subclasses set the spatial rank."""

    num_features: int
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: bool = False
    track_running_stats: bool = False
    _: KW_ONLY
    bias: bool = True

    _SPATIAL: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if not isinstance(self.num_features, int) or self.num_features < 0:
            raise ConfigError(
                f"{type(self).__name__}({self.num_features!r}): num_features is the channel "
                "count; give a non-negative int"
            )

    def init(self, key: jax.Array) -> Params:
        del key
        return _affine_params((self.num_features,), self.affine, self.affine and self.bias)

    def init_buffers(self) -> Buffers:
        if not self.track_running_stats:
            return {}
        # num_batches_tracked is in torch's state_dict, but instance norm never counts it up
        return {
            "running_mean": jnp.zeros((self.num_features,)),
            "running_var": jnp.ones((self.num_features,)),
            "num_batches_tracked": jnp.zeros((), dtype=int),
        }

    def forward(
        self, params: Params, x: jax.Array, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[jax.Array, Buffers]:
        del key
        name, rank = type(self).__name__, self._SPATIAL + 1  # an unbatched example's rank
        if x.ndim not in (rank, rank + 1):
            raise ModuleError(
                f"{name} expected {rank}D or {rank + 1}D input (got {x.ndim}D input, shape "
                f"{x.shape}); give (N, C, *spatial) or one example (C, *spatial)"
            )
        one = x.ndim == rank
        batch = x[None] if one else x
        tracked = self.track_running_stats
        if batch.shape[1] != self.num_features and (self.affine or tracked):
            raise ModuleError(
                f"{name}: expected input's size at dim={x.ndim - rank} to match num_features "
                f"({self.num_features}), but got: {batch.shape[1]}; build it with "
                f"num_features={batch.shape[1]}"
            )
        mean, var = (buffers["running_mean"], buffers["running_var"]) if tracked else (None, None)
        with layer_errors(name):
            y, mean, var = F.instance_norm_with_update(
                batch,
                mean,
                var,
                params.get("weight"),
                params.get("bias"),
                train or not tracked,
                0.0 if self.momentum is None else self.momentum,  # torch's None here is 0
                self.eps,
            )
        if tracked and train:
            buffers = {**buffers, "running_mean": mean, "running_var": var}
        return (y[0] if one else y), buffers


@dataclass(frozen=True)
class InstanceNorm1d(_InstanceNorm):
    """torch's ``nn.InstanceNorm1d`` on ``(N, C, L)`` or ``(C, L)``: each instance's channels alone.

    Unlike batch norm, the statistics are per example and channel, over ``L``. With
    ``track_running_stats`` there are batch norm's buffers: training updates the running
    statistics (averaged over the batch) and eval normalises with them, as torch's.

    Args:
        num_features: the channel count ``C``.
        eps: added to the variance before the square root.
        momentum: the running statistics' update weight (``None`` is 0: no update, as torch).
        affine: whether there are learnable per-channel ``weight`` and ``bias`` params.
        track_running_stats: whether there are running-statistics buffers used in eval.
        bias: with ``affine``, whether there is a learnable ``bias``.

    Example:
        >>> import jax.numpy as jnp
        >>> norm = InstanceNorm1d(2)
        >>> norm.apply({}, jnp.array([[[1.0, 3.0], [0.0, 4.0]]]), train=True).round(3).tolist()
        [[[-1.0, 1.0], [-1.0, 1.0]]]
    """

    _SPATIAL: ClassVar[int] = 1


@dataclass(frozen=True)
class InstanceNorm2d(_InstanceNorm):
    """torch's ``nn.InstanceNorm2d`` on ``(N, C, H, W)`` or ``(C, H, W)``; see :class:`InstanceNorm1d`.

    Args:
        num_features: the channel count ``C``.
        eps: added to the variance before the square root.
        momentum: the running statistics' update weight (``None`` is 0: no update, as torch).
        affine: whether there are learnable per-channel ``weight`` and ``bias`` params.
        track_running_stats: whether there are running-statistics buffers used in eval.
        bias: with ``affine``, whether there is a learnable ``bias``.

    Example:
        >>> import jax.numpy as jnp
        >>> norm = InstanceNorm2d(3, affine=True, track_running_stats=True)
        >>> sorted(norm.init(None)), sorted(norm.init_buffers())
        (['bias', 'weight'], ['num_batches_tracked', 'running_mean', 'running_var'])
        >>> y, b = norm.apply(norm.init(None), jnp.ones((2, 3, 4, 4)), buffers=norm.init_buffers())
        >>> y.shape
        (2, 3, 4, 4)
    """

    _SPATIAL: ClassVar[int] = 2


@dataclass(frozen=True)
class InstanceNorm3d(_InstanceNorm):
    """torch's ``nn.InstanceNorm3d`` on ``(N, C, D, H, W)`` or ``(C, D, H, W)``; see :class:`InstanceNorm1d`.

    Args:
        num_features: the channel count ``C``.
        eps: added to the variance before the square root.
        momentum: the running statistics' update weight (``None`` is 0: no update, as torch).
        affine: whether there are learnable per-channel ``weight`` and ``bias`` params.
        track_running_stats: whether there are running-statistics buffers used in eval.
        bias: with ``affine``, whether there is a learnable ``bias``.

    Example:
        >>> import jax.numpy as jnp
        >>> InstanceNorm3d(2).apply({}, jnp.ones((2, 3, 3, 3))).shape
        (2, 3, 3, 3)
    """

    _SPATIAL: ClassVar[int] = 3


@dataclass(frozen=True)
class LocalResponseNorm(Module):
    """torch's ``nn.LocalResponseNorm``: divide each channel by its neighbours' energy.

    Args:
        size: how many neighbouring channels the window spans.
        alpha: the energy's multiplier.
        beta: the exponent.
        k: the additive constant.

    Example:
        >>> import jax.numpy as jnp
        >>> lrn = LocalResponseNorm(2)
        >>> lrn.apply({}, jnp.ones((1, 4, 3, 3))).shape
        (1, 4, 3, 3)
    """

    size: int
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("LocalResponseNorm"):
            return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)


def _store_shape_as_tuple(layer: LayerNorm | RMSNorm) -> None:
    """A list is not hashable: store ``normalized_shape`` as a tuple, so the layer stays a static
    value under ``jit``."""
    shape = layer.normalized_shape
    object.__setattr__(
        layer, "normalized_shape", (shape,) if isinstance(shape, int) else tuple(shape)
    )


@dataclass(frozen=True)
class LayerNorm(Module):
    """torch's ``nn.LayerNorm``: normalise over the trailing ``normalized_shape`` (int, list or tuple).

    Args:
        normalized_shape: the trailing shape to normalise over (an int, a list or a tuple).
        eps: added to the variance before the square root.
        elementwise_affine: whether there are learnable ``weight`` and ``bias`` params of shape
            ``normalized_shape``.
        bias: with ``elementwise_affine``, whether there is a learnable ``bias``.

    Example:
        >>> import jax.numpy as jnp
        >>> ln = LayerNorm([2, 3])
        >>> {k: v.shape for k, v in ln.init(None).items()}
        {'weight': (2, 3), 'bias': (2, 3)}
        >>> ln.apply(ln.init(None), jnp.ones((5, 2, 3))).shape
        (5, 2, 3)
    """

    normalized_shape: int | Sequence[int]
    eps: float = 1e-5
    elementwise_affine: bool = True
    bias: bool = True

    def __post_init__(self) -> None:
        _store_shape_as_tuple(self)

    def init(self, key: jax.Array) -> Params:
        del key
        shape = tuple(self.normalized_shape)  # type: ignore[arg-type]
        return _affine_params(shape, self.elementwise_affine, self.elementwise_affine and self.bias)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("LayerNorm"):
            return F.layer_norm(
                x, self.normalized_shape, params.get("weight"), params.get("bias"), self.eps
            )


@dataclass(frozen=True)
class GroupNorm(Module):
    """torch's ``nn.GroupNorm`` on ``(N, C, *)``: statistics per example and group of channels.

    Args:
        num_groups: how many groups the channels are split into; it divides ``num_channels``.
        num_channels: the channel count ``C``.
        eps: added to the variance before the square root.
        affine: whether there are learnable per-channel ``weight`` and ``bias`` params.
        bias: with ``affine``, whether there is a learnable ``bias``.

    Example:
        >>> import jax.numpy as jnp
        >>> gn = GroupNorm(2, 4)
        >>> gn.apply(gn.init(None), jnp.ones((3, 4, 5))).shape
        (3, 4, 5)
    """

    num_groups: int
    num_channels: int
    eps: float = 1e-5
    affine: bool = True
    _: KW_ONLY
    bias: bool = True

    def __post_init__(self) -> None:
        if self.num_groups <= 0 or self.num_channels % self.num_groups:
            raise ConfigError(
                f"GroupNorm({self.num_groups}, {self.num_channels}): num_channels must be "
                "divisible by num_groups; pick a positive num_groups that divides num_channels"
            )

    def init(self, key: jax.Array) -> Params:
        del key
        return _affine_params((self.num_channels,), self.affine, self.affine and self.bias)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ModuleError(
                f"GroupNorm expects (N, {self.num_channels}, *) input, got {x.shape}; "
                f"build it with num_channels={x.shape[1] if x.ndim >= 2 else '...'}"
            )
        with layer_errors("GroupNorm"):
            return F.group_norm(
                x, self.num_groups, params.get("weight"), params.get("bias"), self.eps
            )


@dataclass(frozen=True)
class RMSNorm(Module):
    """torch's ``nn.RMSNorm``: scale the trailing ``normalized_shape`` by its root mean square.

    Args:
        normalized_shape: the trailing shape to normalise over (an int, a list or a tuple).
        eps: added to the mean square; ``None`` is the input dtype's machine epsilon, as torch.
        elementwise_affine: whether there is a learnable ``weight`` of shape ``normalized_shape``
            (ones at init).

    Example:
        >>> import jax.numpy as jnp
        >>> norm = RMSNorm(3)
        >>> params = norm.init(None)
        >>> {k: v.shape for k, v in params.items()}
        {'weight': (3,)}
        >>> norm.apply(params, jnp.ones((2, 3))).round(3).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    normalized_shape: int | Sequence[int]
    eps: float | None = None
    elementwise_affine: bool = True

    def __post_init__(self) -> None:
        _store_shape_as_tuple(self)

    def init(self, key: jax.Array) -> Params:
        del key
        shape = tuple(self.normalized_shape)  # type: ignore[arg-type]
        return _affine_params(shape, self.elementwise_affine, False)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("RMSNorm"):
            return F.rms_norm(x, self.normalized_shape, params.get("weight"), self.eps)
