"""The flax.nnx side of ``fg.interop.to_nnx``: the native routes, in one table keyed by name.

A layer's route is the one its entry in ``fg.nn.LAYERS`` names (``LayerEntry.nnx``: ``"linear"``,
``"conv"``, ...); nothing here lists funcgrad's classes. Containers are recognised by what they
offer: the :class:`~funcgrad.interop.NamedLayers` protocol (``named_layers()``), and
``fg.nn.Batched``. Everything else runs in :class:`FuncgradModule`.

Each route takes the funcgrad layer and its params (and buffers) and returns the ``flax.nnx``
layer that computes the same function on torch's layout. Where nnx has the layer and the layout
agrees, the result is nnx's own (``nnx.Linear``, ``nnx.BatchNorm(axis=1)``, ``nnx.LayerNorm``,
``nnx.Embed``, ``nnx.Dropout``, ``nnx.Sequential``, ``nnx.relu``). Where nnx works channels-last
(``nnx.Conv``, ``nnx.max_pool``, ``nnx.avg_pool``, ``nnx.GroupNorm``), :class:`ChannelsLast` moves
torch's channel axis last around the layer and back. The few modules nnx lacks are written here:
:class:`NamedSequential`, :class:`Batched`, :class:`BatchStatsNorm` and :class:`FuncgradModule`.

Weights change layout on the way: a Linear kernel is ``weight.T`` ``(in, out)``; a Conv kernel is
``(*kernel_size, in / groups, out)``; a LayerNorm scale is the weight flattened. Importing this
module imports flax, which is why ``to_nnx`` imports it only when called.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
from flax import nnx

from funcgrad._tree import flatten_dict
from funcgrad.interop._errors import NnxConversionError
from funcgrad.interop._protocols import NamedLayers
from funcgrad.nn import LAYERS
from funcgrad.nn import functional as F
from funcgrad.nn._conv import _ConvNd, _ConvTransposeNd
from funcgrad.nn._dropout import Dropout, Dropout2d
from funcgrad.nn._embedding import Embedding
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import Batched as FgBatched
from funcgrad.nn._module import Buffers, Module, Params
from funcgrad.nn._norm import GroupNorm, LayerNorm, _BatchNorm
from funcgrad.nn._pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from funcgrad.nn.functional._conv import conv_pads, ntuple

__all__ = [
    "ROUTES",
    "Batched",
    "BatchStatsNorm",
    "ChannelsLast",
    "FuncgradModule",
    "NamedSequential",
    "convert",
]

Layer = Any  # an nnx.Module or a plain function of one array
M = TypeVar("M", bound=nnx.Module)


# -- the modules nnx lacks -------------------------------------------------------------------------


class ChannelsLast(nnx.Module):
    """Run a channels-last nnx layer on torch's channels-first input: move the channel axis last,
    call ``layer``, move it back.

    ``channel_axis`` is where torch keeps the channels: ``-3`` for ``(N, C, H, W)`` or one
    ``(C, H, W)`` image, ``-2`` for ``(N, C, L)``, ``1`` for GroupNorm's ``(N, C, *)``.

    Example:
        >>> import functools, jax.numpy as jnp
        >>> from flax import nnx
        >>> pool = ChannelsLast(functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2)), -3)
        >>> pool(jnp.ones((2, 3, 10, 10))).shape
        (2, 3, 5, 5)
    """

    def __init__(self, layer: Layer, channel_axis: int) -> None:
        self.layer = layer
        self.channel_axis = channel_axis

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.layer(jnp.moveaxis(x, self.channel_axis, -1))
        return jnp.moveaxis(y, -1, self.channel_axis)


class NamedSequential(nnx.Module):
    """Layers applied in order, each an attribute under its torch name (``model.conv1.kernel``).

    The counterpart of a ``Sequential`` of named layers (``LeNet5``'s ``conv1``, ``bn1``, ...);
    numbered ones become ``nnx.Sequential``, whose ``layers[i]`` is torch's ``i``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> net = NamedSequential({"fc": nnx.Linear(2, 3, rngs=nnx.Rngs(0)), "act": nnx.relu})
        >>> net(jnp.ones((4, 2))).shape, net.names
        ((4, 3), ('fc', 'act'))
    """

    def __init__(self, layers: dict[str, Layer]) -> None:
        self.names = tuple(layers)
        for name, layer in layers.items():
            setattr(self, name, layer)

    def __call__(self, x: Any) -> Any:
        for name in self.names:
            x = getattr(self, name)(x)
        return x


class Batched(nnx.Module):
    """``fg.nn.Batched``: map a one-example module over the leading axis with ``nnx.vmap``.

    Parameters and batch statistics are shared across the batch; random streams are split, so
    each example draws its own dropout mask.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> Batched(nnx.Linear(3, 2, rngs=nnx.Rngs(0)))(jnp.ones((5, 3))).shape
        (5, 2)
    """

    def __init__(self, module: Layer) -> None:
        self.module = module

    def __call__(self, x: jax.Array) -> jax.Array:
        @nnx.split_rngs(splits=x.shape[0])
        @nnx.vmap(in_axes=(nnx.StateAxes({nnx.RngState: 0, ...: None}), 0))  # type: ignore[arg-type]
        def one(module: Layer, xi: jax.Array) -> jax.Array:
            return module(xi)

        return one(self.module, x)


class BatchStatsNorm(nnx.Module):
    """BatchNorm with ``track_running_stats=False``: batch statistics in train and eval mode alike.

    torch keeps no running statistics then, so neither does this module (``nnx.BatchNorm``
    always would); ``scale`` and ``bias`` are ``nnx.Param`` over axis 1, as torch's.

    Example:
        >>> import jax.numpy as jnp
        >>> bn = BatchStatsNorm(None, None, 1e-5)
        >>> bn.eval()
        >>> bn(jnp.arange(4.0).reshape(2, 2)).round(3).tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
    """

    def __init__(self, scale: jax.Array | None, bias: jax.Array | None, epsilon: float) -> None:
        self.scale = nnx.data(None) if scale is None else nnx.Param(scale)
        self.bias = nnx.data(None) if bias is None else nnx.Param(bias)
        self.epsilon = epsilon

    def __call__(self, x: jax.Array) -> jax.Array:
        axes = (0, *range(2, x.ndim))
        mean = x.mean(axes, keepdims=True)
        var = jnp.square(x - mean).mean(axes, keepdims=True)  # biased, as torch normalises
        y = (x - mean) * jax.lax.rsqrt(var + self.epsilon)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        if self.scale is not None:
            y = y * self.scale[...].reshape(shape)
        if self.bias is not None:
            y = y + self.bias[...].reshape(shape)
        return y


def _values(tree: Any) -> Any:
    return jax.tree.map(lambda v: v[...], tree, is_leaf=lambda v: isinstance(v, nnx.Variable))


class FuncgradModule(nnx.Module):
    """Any other funcgrad module, run by its own ``apply`` inside an nnx module.

    For a module that is not a tree of known layers (a user's own ``forward``, a model made by
    ``fg.interop.convert``): its params become ``nnx.Param`` and its buffers ``nnx.BatchStat``,
    *in funcgrad's (torch's) layout*, since funcgrad's ``forward`` reads them, and each call runs
    ``model.apply``. Outputs and buffer updates are therefore funcgrad's exactly, train mode
    included (torch's unbiased running variance, ``num_batches_tracked``). ``.train()`` and
    ``.eval()`` set ``deterministic``; in train mode the dropout key comes from nnx's ``dropout``
    stream.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> from flax import nnx
        >>> model = fg.models.LinearRegression()
        >>> m = FuncgradModule(model, {"w": jnp.array(2.0)}, None, nnx.Rngs(0))
        >>> m(jnp.array([1.0, 3.0])).tolist()
        [2.0, 6.0]
    """

    def __init__(
        self, model: Module, params: Params, buffers: Buffers | None, rngs: nnx.Rngs
    ) -> None:
        self.model = model
        self.params = nnx.data(jax.tree.map(nnx.Param, params))
        self.buffers = nnx.data(None if buffers is None else jax.tree.map(nnx.BatchStat, buffers))
        self.deterministic = False
        self.rngs = rngs["dropout"].fork()

    def __call__(self, x: Any) -> Any:
        train = not self.deterministic
        key = self.rngs() if train else None
        params = _values(self.params)
        if self.buffers is None:
            return self.model.apply(params, x, train=train, key=key)
        y, new = self.model.apply(params, x, buffers=_values(self.buffers), train=train, key=key)
        if train:
            stats, values = flatten_dict(self.buffers), flatten_dict(new)
            for name, var in stats.items():
                var[...] = values[name]
        return y


# -- the native routes, one per kind of layer ------------------------------------------------------


class _Ctx:
    """What every converter needs besides the layer: its path (for errors), the random streams."""

    def __init__(self, path: str, rngs: nnx.Rngs) -> None:
        self.path, self.rngs = path, rngs

    def child(self, name: str) -> _Ctx:
        return _Ctx(f"{self.path}.{name}" if self.path else name, self.rngs)

    def refuse(self, layer: Module, problem: str, fix: str) -> NnxConversionError:
        where = f"{self.path} ({type(layer).__name__})" if self.path else type(layer).__name__
        return NnxConversionError(f"to_nnx: {where}: {problem} has no flax.nnx counterpart; {fix}")


def _abstract(make: Callable[[], M]) -> M:
    """The nnx layer built from shapes only (no random init): its weights are set right after."""
    return nnx.eval_shape(make)


def _with_params(params: Params, make: Callable[..., M], *args: Any, **kwargs: Any) -> M:
    """``make(*args, **kwargs)`` built from shapes only, in the params' dtype, then holding
    ``params`` (attribute -> array; ``None`` keeps nnx's own) as ``nnx.Param``."""
    dtype = next(v for v in params.values() if v is not None).dtype
    m = _abstract(lambda: make(*args, **kwargs, param_dtype=dtype, rngs=nnx.Rngs(0)))
    for name, value in params.items():
        if value is not None:
            setattr(m, name, nnx.Param(value))
    return m


def _linear(layer: Linear, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    params = {"kernel": p["weight"].T, "bias": p.get("bias")}  # torch (out, in) -> flax (in, out)
    sizes = layer.in_features, layer.out_features
    return _with_params(params, nnx.Linear, *sizes, use_bias=layer.bias)


def _conv(layer: _ConvNd, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    nd, name = layer.nd, type(layer).__name__
    kernel = layer.kernel
    strides = ntuple(layer.stride, nd, "stride", name)
    dilation = ntuple(layer.dilation, nd, "dilation", name)
    pads = conv_pads(layer.padding, kernel, dilation, strides, name)
    padding: Any = list(pads)
    if layer.padding_mode != "zeros":
        # nnx pads 'REFLECT'/'CIRCULAR' by the 'same' amounts only: (k_dilated - 1) split low first.
        same = tuple(
            ((d * (k - 1)) // 2, d * (k - 1) - (d * (k - 1)) // 2)
            for k, d in zip(kernel, dilation, strict=True)
        )
        nnx_mode = {"reflect": "REFLECT", "circular": "CIRCULAR"}.get(layer.padding_mode)
        if nnx_mode is None or pads != same:
            raise ctx.refuse(
                layer,
                f"padding_mode={layer.padding_mode!r} with padding={layer.padding!r}",
                "nnx.Conv pads 'reflect' and 'circular' only by the 'same' amounts (padding='same' "
                "or (k - 1) // 2 for an odd kernel), and has no 'replicate'",
            )
        padding = nnx_mode
    w = p["weight"]
    conv = _abstract(
        lambda: nnx.Conv(
            layer.in_channels,
            layer.out_channels,
            kernel,
            strides,
            padding=padding,
            kernel_dilation=dilation,
            feature_group_count=layer.groups,
            use_bias=layer.bias,
            param_dtype=w.dtype,
            rngs=nnx.Rngs(0),
        )
    )
    # torch (out, in / groups, *k) -> flax (*k, in / groups, out)
    conv.kernel = nnx.Param(jnp.transpose(w, (*range(2, 2 + nd), 1, 0)))
    if layer.bias:
        conv.bias = nnx.Param(p["bias"])
    return ChannelsLast(conv, -(nd + 1))


def _batch_norm(layer: _BatchNorm, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    if layer.axis_name is not None:
        raise ctx.refuse(
            layer,
            f"axis_name={layer.axis_name!r} (one example per call under vmap)",
            "nnx.BatchNorm normalises over the batch axis it is given: build it without axis_name",
        )
    if not layer.track_running_stats:
        return BatchStatsNorm(p.get("weight"), p.get("bias"), layer.eps)
    momentum = layer.momentum
    if momentum is None:
        raise ctx.refuse(
            layer,
            "momentum=None (torch's cumulative average)",
            "nnx.BatchNorm keeps an exponential average only: give a momentum such as 0.1",
        )
    norm = _abstract(
        lambda: nnx.BatchNorm(
            layer.num_features,
            axis=1,  # torch's channel axis: no transpose needed
            momentum=1.0 - momentum,  # flax weighs the old average, torch the new batch
            epsilon=layer.eps,
            use_bias=layer.affine and layer.bias,
            use_scale=layer.affine,
            use_fast_variance=False,  # E[(x - mean)^2], as torch computes it
            param_dtype=b["running_mean"].dtype,
            rngs=nnx.Rngs(0),
        )
    )
    norm.mean = nnx.BatchStat(b["running_mean"])
    norm.var = nnx.BatchStat(b["running_var"])
    if layer.affine:
        norm.scale = nnx.Param(p["weight"])
        if layer.bias:
            norm.bias = nnx.Param(p["bias"])
    return norm


def _layer_norm(layer: LayerNorm, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    shape = tuple(layer.normalized_shape)  # type: ignore[arg-type]
    axes = tuple(range(-len(shape), 0))
    affine = layer.elementwise_affine
    norm = _abstract(
        lambda: nnx.LayerNorm(
            math.prod(shape),
            epsilon=layer.eps,
            use_bias=affine and layer.bias,
            use_scale=affine,
            reduction_axes=axes,
            feature_axes=axes,
            use_fast_variance=False,
            param_dtype=p["weight"].dtype if affine else jnp.float32,
            rngs=nnx.Rngs(0),
        )
    )
    if affine:  # nnx keeps a flat (prod(shape),) scale and reshapes it when called
        norm.scale = nnx.Param(p["weight"].reshape(-1))
        if layer.bias:
            norm.bias = nnx.Param(p["bias"].reshape(-1))
    return norm


def _group_norm(layer: GroupNorm, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    norm = _abstract(
        lambda: nnx.GroupNorm(
            layer.num_channels,
            num_groups=layer.num_groups,
            epsilon=layer.eps,
            use_bias=layer.affine and layer.bias,
            use_scale=layer.affine,
            use_fast_variance=False,
            param_dtype=p["weight"].dtype if layer.affine else jnp.float32,
            rngs=nnx.Rngs(0),
        )
    )
    if layer.affine:
        norm.scale = nnx.Param(p["weight"])
        if layer.bias:
            norm.bias = nnx.Param(p["bias"])
    return ChannelsLast(norm, 1)


def _max_pool(layer: MaxPool2d, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    for option, default in (("dilation", 1), ("ceil_mode", False), ("return_indices", False)):
        value = getattr(layer, option)
        if value not in (default, (default, default)):
            raise ctx.refuse(
                layer, f"{option}={value!r}", f"nnx.max_pool has no {option}: leave it {default!r}"
            )
    return ChannelsLast(functools.partial(nnx.max_pool, **_window(layer)), -3)


def _avg_pool(layer: AvgPool2d, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    for option, default in (("ceil_mode", False), ("divisor_override", None)):
        value = getattr(layer, option)
        if value != default:
            raise ctx.refuse(
                layer, f"{option}={value!r}", f"nnx.avg_pool has no {option}: leave it {default!r}"
            )
    pool = functools.partial(
        nnx.avg_pool, **_window(layer), count_include_pad=layer.count_include_pad
    )
    return ChannelsLast(pool, -3)


def _window(layer: MaxPool2d | AvgPool2d) -> dict[str, Any]:
    name = type(layer).__name__
    window = ntuple(layer.kernel_size, 2, "kernel_size", name)
    strides = window if layer.stride is None else ntuple(layer.stride, 2, "stride", name)
    pads = ntuple(layer.padding, 2, "padding", name)
    return {"window_shape": window, "strides": strides, "padding": tuple((q, q) for q in pads)}


def _adaptive_avg_pool(layer: AdaptiveAvgPool2d, p: Params, b: Buffers, ctx: _Ctx) -> Layer:
    # nnx has no adaptive pooling: torch's windows depend on the input size, so funcgrad's
    # functional (plain jax.numpy on NCHW) does it.
    return functools.partial(F.adaptive_avg_pool2d, output_size=layer.output_size)


def _dropout(layer: Dropout, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    return nnx.Dropout(layer.p, rngs=ctx.rngs)


def _dropout2d(layer: Dropout2d, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    # One draw per (example, channel), shared over H and W: torch's whole-channel dropout.
    return nnx.Dropout(layer.p, broadcast_dims=(2, 3), rngs=ctx.rngs)


def _embedding(layer: Embedding, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    w = p["weight"]  # (num_embeddings, dim): the same layout in both
    sizes = layer.num_embeddings, layer.embedding_dim
    return _with_params({"embedding": w}, nnx.Embed, *sizes, dtype=w.dtype)


def identity(x: Any) -> Any:
    """Return ``x``: funcgrad's ``Identity``."""
    return x


def _conv_transpose(layer: _ConvTransposeNd, p: Params, b: Buffers, ctx: _Ctx) -> Layer:
    """``nnx.ConvTranspose`` with torch's numbers: the kernel flipped, the padding converted.

    nnx (``lax.conv_transpose`` without ``transpose_kernel``) correlates the stride-dilated input,
    padded as given, with the kernel as it is; torch's transposed convolution is that with the
    kernel flipped in space and ``dilation * (k - 1) - padding`` on each side, plus
    ``output_padding`` on the high one. nnx has no ``feature_group_count`` here: grouped layers
    run in the generic wrapper.
    """
    if layer.groups != 1:
        return FuncgradModule(layer, p, None, ctx.rngs)
    nd, name = layer.nd, type(layer).__name__
    kernel = layer.kernel
    strides = ntuple(layer.stride, nd, "stride", name)
    dilation = ntuple(layer.dilation, nd, "dilation", name)
    pads = ntuple(layer.padding, nd, "padding", name)
    extra = ntuple(layer.output_padding, nd, "output_padding", name)
    padding = [
        (d * (k - 1) - q, d * (k - 1) - q + op)
        for k, d, q, op in zip(kernel, dilation, pads, extra, strict=True)
    ]
    w = p["weight"]
    conv = _abstract(
        lambda: nnx.ConvTranspose(
            layer.in_channels,
            layer.out_channels,
            kernel,
            strides,
            padding=padding,
            kernel_dilation=dilation,
            use_bias=layer.bias,
            param_dtype=w.dtype,
            rngs=nnx.Rngs(0),
        )
    )
    # torch (in, out, *k) -> flax (*k, in, out), flipped in space
    spatial = tuple(range(2, 2 + nd))
    conv.kernel = nnx.Param(jnp.transpose(jnp.flip(w, spatial), (*spatial, 0, 1)))
    if layer.bias:
        conv.bias = nnx.Param(p["bias"])
    return ChannelsLast(conv, -(nd + 1))


Route = Callable[[Any, Params, Buffers, "_Ctx"], Layer]
"""A native route: ``(layer, params, buffers, ctx) -> `` the nnx layer (or plain function)."""


def _fn(make: Callable[[Any], Layer]) -> Route:
    """The route of a layer without params: a function of the layer's options only."""
    return lambda layer, p, b, ctx: make(layer)


def _softmax(nnx_fn: Callable[..., Any], fg_fn: Callable[..., Any]) -> Route:
    # dim=None is torch's implicit dim, which depends on the input's rank: funcgrad picks it.
    return _fn(lambda m: fg_fn if m.dim is None else functools.partial(nnx_fn, axis=m.dim))


ROUTES: Mapping[str, Route] = MappingProxyType(
    {
        "linear": _linear,
        "embedding": _embedding,
        "conv": _conv,
        "conv_transpose": _conv_transpose,
        "batch_norm": _batch_norm,
        "layer_norm": _layer_norm,
        "group_norm": _group_norm,
        "max_pool": _max_pool,
        "avg_pool": _avg_pool,
        "adaptive_avg_pool": _adaptive_avg_pool,
        "dropout": _dropout,
        "dropout2d": _dropout2d,
        "relu": _fn(lambda m: nnx.relu),
        "tanh": _fn(lambda m: nnx.tanh),
        "sigmoid": _fn(lambda m: nnx.sigmoid),
        "silu": _fn(lambda m: nnx.silu),
        "gelu": _fn(lambda m: functools.partial(nnx.gelu, approximate=m.approximate == "tanh")),
        "leaky_relu": _fn(
            lambda m: functools.partial(nnx.leaky_relu, negative_slope=m.negative_slope)
        ),
        "elu": _fn(lambda m: functools.partial(nnx.elu, alpha=m.alpha)),
        "softmax": _softmax(nnx.softmax, F.softmax),
        "log_softmax": _softmax(nnx.log_softmax, F.log_softmax),
        "flatten": _fn(
            lambda m: functools.partial(F.flatten, start_dim=m.start_dim, end_dim=m.end_dim)
        ),
        "identity": _fn(lambda m: identity),
    }
)
"""The native routes by the names ``fg.nn.LAYERS[...].nnx`` gives (``fg.interop.nnx_routes()``)."""

_ENTRY_BY_TYPE = {entry.module: entry for entry in LAYERS.values()}


def _sequential(
    layer: Module, layers: Sequence[tuple[str, Module]], p: Params, b: Buffers, ctx: _Ctx
) -> nnx.Module:
    children = {
        name: convert(child, p.get(name, {}), b.get(name, {}), ctx.child(name))
        for name, child in layers
    }
    if list(children) == [str(i) for i in range(len(children))]:
        return nnx.Sequential(*children.values())
    clash = [n for n in children if n == "names" or hasattr(nnx.Module, n)]
    if clash:
        raise ctx.refuse(
            layer,
            f"a layer named {clash[0]!r} (an nnx.Module attribute)",
            "rename that layer of the Sequential",
        )
    return NamedSequential(children)


def _batched(layer: FgBatched, p: Params, b: Buffers, ctx: _Ctx) -> nnx.Module:
    return Batched(convert(layer.module, p, b, ctx))


def convert(layer: Module, params: Params, buffers: Buffers, ctx: _Ctx) -> Layer:
    """The nnx counterpart of ``layer`` with ``params`` and ``buffers`` (see the module docstring).

    In this order: a layer of ``fg.nn.LAYERS`` takes the native route its entry names (the type
    matched exactly, not by ``isinstance``: a subclass may change ``forward``); ``fg.nn.Batched``
    becomes :class:`Batched`; a module made of named layers applied in order (the
    :class:`~funcgrad.interop.NamedLayers` protocol: ``Sequential``, the notes' models) becomes
    ``nnx.Sequential`` or :class:`NamedSequential` of its layers, each converted the same way; any
    other module, and a registered layer without a route, runs in :class:`FuncgradModule`.
    """
    entry = _ENTRY_BY_TYPE.get(type(layer))
    if entry is not None and entry.nnx is not None:
        route = ROUTES.get(entry.nnx)
        if route is None:
            raise NnxConversionError(
                f"to_nnx: fg.nn.LAYERS[{entry.name!r}].nnx is {entry.nnx!r}, which names no route; "
                f"give one of {sorted(ROUTES)}, or None for the generic FuncgradModule"
            )
        return route(layer, params, buffers, ctx)
    if not isinstance(layer, Module):
        where = ctx.path or "the model"
        raise NnxConversionError(
            f"to_nnx: {where} is a {type(layer).__name__}, not a funcgrad Module; pass fg.nn "
            "layers or models"
        )
    if entry is None and type(layer) is FgBatched:  # exact: a subclass may map differently
        return _batched(layer, params, buffers, ctx)
    if entry is None and isinstance(layer, NamedLayers):
        return _sequential(layer, layer.named_layers(), params, buffers, ctx)
    return FuncgradModule(layer, params, buffers or None, ctx.rngs)
