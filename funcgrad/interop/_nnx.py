"""``to_nnx``: a funcgrad model and its weights as an equivalent ``flax.nnx`` module.

The way on from funcgrad to Flax NNX for larger projects: the same network, its weights in Flax's
layouts, as an ``nnx.Module`` that is called as ``module(x)`` on torch's layout (NCHW) and keeps
its state (``nnx.Param``, ``nnx.BatchStat``, ``nnx.Rngs``) inside, as nnx modules do.

flax is imported only when ``to_nnx`` runs (``import funcgrad`` stays as fast as it was).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from funcgrad._tree import flatten_dict
from funcgrad.interop._protocols import NamedLayers
from funcgrad.interop._state_dict import check_state_dict
from funcgrad.nn._module import Buffers, Module, ModuleError, Params, has_buffers

if TYPE_CHECKING:
    from flax import nnx

__all__ = ["NamedLayers", "nnx_routes", "to_nnx"]


def nnx_routes() -> frozenset[str]:
    """The names of ``to_nnx``'s native routes: the values ``fg.nn.LAYERS[...].nnx`` may take.

    A layer whose entry names one is rebuilt out of nnx's own layers; ``nnx=None`` (or a type that
    is not registered) runs the funcgrad layer itself inside ``FuncgradModule``. Imports flax.

    Example:
        >>> import funcgrad as fg
        >>> {"linear", "conv", "batch_norm", "relu"} <= fg.interop.nnx_routes()
        True
        >>> all(e.nnx in fg.interop.nnx_routes() for e in fg.nn.LAYERS.values() if e.nnx)
        True
    """
    from funcgrad.interop import _nnx_modules

    return frozenset(_nnx_modules.ROUTES)


def to_nnx(
    model: Module,
    params: Params,
    buffers: Buffers | None = None,
    *,
    rngs: nnx.Rngs | int = 0,
) -> nnx.Module:
    """An equivalent ``flax.nnx.Module`` of ``model`` holding ``params`` (and ``buffers``).

    The result takes torch's layout (``(N, C, H, W)``, or one ``(C, H, W)`` image where the
    funcgrad model takes one) and is called as ``module(x)``. Like every nnx module (and a fresh
    torch one) it starts in train mode: ``.eval()`` switches to eval mode (Dropout off, BatchNorm
    on its running statistics), ``.train()`` back.

    What each layer becomes (its route is the one its ``fg.nn.LAYERS`` entry names, see
    :func:`nnx_routes`; the type must match exactly, since a subclass may change ``forward``):

    * ``Linear`` -> ``nnx.Linear``, kernel ``weight.T`` ``(in, out)``. ``Embedding`` ->
      ``nnx.Embed``, same table.
    * ``Conv1d``/``Conv2d`` -> ``nnx.Conv`` with kernel ``(*kernel_size, in / groups, out)``,
      stride, padding (``'same'`` included), dilation and groups, inside ``ChannelsLast``, which
      moves torch's channel axis last and back around it. ``padding_mode`` ``'reflect'`` and
      ``'circular'`` map to nnx's ``'REFLECT'``/``'CIRCULAR'``, which pad by the ``'same'``
      amounts only; other paddings with them, and ``'replicate'``, raise.
    * ``MaxPool2d``/``AvgPool2d`` -> ``nnx.max_pool``/``nnx.avg_pool`` in ``ChannelsLast``
      (``dilation``, ``ceil_mode``, ``return_indices``, ``divisor_override`` raise).
      ``AdaptiveAvgPool2d`` -> funcgrad's ``F.adaptive_avg_pool2d`` (nnx has none).
    * ``BatchNorm1d``/``BatchNorm2d`` -> ``nnx.BatchNorm(axis=1)`` with the running statistics as
      ``nnx.BatchStat`` and flax's momentum ``1 - momentum`` (flax weighs the old average, torch
      the new batch); ``num_batches_tracked`` is dropped, ``momentum=None`` raises.
      ``track_running_stats=False`` normalises with batch statistics in both modes.
    * ``LayerNorm`` -> ``nnx.LayerNorm`` over the trailing ``normalized_shape`` (scale flattened);
      ``GroupNorm`` -> ``nnx.GroupNorm`` in ``ChannelsLast``.
    * ``Dropout`` -> ``nnx.Dropout``; ``Dropout2d`` -> ``nnx.Dropout(broadcast_dims=(2, 3))``
      (4-D input only), their masks drawn from ``rngs``.
    * Activations -> ``nnx.relu``, ``nnx.gelu``, ...; ``Flatten`` -> ``F.flatten``.
    * A module of named layers applied in order (the :class:`NamedLayers` protocol:
      ``Sequential``, ``MyNet``, ``ConvNet``, ``LeNet5``, or yours) -> ``nnx.Sequential`` when
      numbered (``layers[i]`` is torch's ``i``), else ``NamedSequential`` with one attribute per
      name. ``Batched`` -> ``nnx.vmap`` over the leading axis.
    * Anything else (a user's own ``forward``, a model from ``fg.interop.convert``, the notes'
      ``SingleLayer`` and ``LinearRegression``, a layer whose ``fg.nn.LAYERS`` entry has
      ``nnx=None``, a subclass of a registered layer) ->
      ``FuncgradModule``: its params become ``nnx.Param`` and its buffers ``nnx.BatchStat`` in
      funcgrad's own (torch's) layout, and each call runs ``model.apply``, so it agrees with
      funcgrad exactly, train mode included. The other paths rebuild the network out of nnx's
      own layers; this one keeps funcgrad's ``forward``, because custom glue has no nnx layer.

    Train mode and torch: outputs agree, and so do the running means; the running *variance*
    does not. nnx.BatchNorm moves it towards the biased batch variance (divided by ``n``), torch
    towards the unbiased one (``n - 1``), ``n`` being the values per channel in the batch. Eval
    mode uses whatever statistics are stored, and agrees with torch and funcgrad. Dropout masks
    come from nnx's random streams, not from funcgrad's keys. ``Embedding(padding_idx=...)``
    keeps its zero row, but nnx.Embed will train it.

    ``params`` (and ``buffers``) are checked against ``model`` first, key by key; a model with
    buffers needs them. A layer option nnx cannot express raises :class:`NnxConversionError`
    naming the layer's path and type.

    Args:
        model: the funcgrad module (a layer, a ``Sequential``, a model of ``fg.models`` or a
            converted model).
        params: its parameters, as ``model.init`` or ``fg.interop.from_torch`` returns them.
        buffers: its buffers (BatchNorm's running statistics); required when ``model`` has any.
        rngs: nnx's random streams for Dropout, or a seed for ``nnx.Rngs(seed)``.

    Returns:
        An ``nnx.Module`` in train mode that computes what ``model.apply`` computes.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> model = fg.nn.Sequential(fg.nn.Linear(3, 4), fg.nn.BatchNorm1d(4), fg.nn.ReLU())
        >>> params, buffers = model.init(jax.random.key(0)), model.init_buffers()
        >>> net = fg.interop.to_nnx(model, params, buffers)
        >>> net.eval()
        >>> x = jnp.ones((2, 3))
        >>> y, _ = model.apply(params, x, buffers=buffers)
        >>> bool(jnp.allclose(net(x), y, atol=1e-6))
        True
        >>> net.layers[0].kernel.shape, type(net.layers[1]).__name__
        ((3, 4), 'BatchNorm')
    """
    from flax import nnx

    from funcgrad.interop import _nnx_modules

    if not isinstance(model, Module):
        raise TypeError(
            f"to_nnx: expected a funcgrad Module, got {type(model).__name__}; for a torch model, "
            "convert it first: conv = fg.interop.convert(torch_model, x), then "
            "to_nnx(conv.model, conv.params, conv.buffers)"
        )
    if buffers is None and has_buffers(model):
        raise ModuleError(
            f"to_nnx: {type(model).__name__} has buffers (running statistics); pass them: "
            "to_nnx(model, params, buffers) (buffers = model.init_buffers() for fresh ones)"
        )
    buffers = buffers or {}
    flat: dict[str, Any] = {**flatten_dict(params), **flatten_dict(buffers)}
    check_state_dict(flat, model)
    if isinstance(rngs, int):
        rngs = nnx.Rngs(rngs)
    module = _nnx_modules.convert(model, params, buffers, _nnx_modules._Ctx("", rngs))
    if not isinstance(module, nnx.Module):  # a bare function (a ReLU alone): give it a module
        module = _nnx_modules.NamedSequential({type(model).__name__.lower(): module})
    return module
