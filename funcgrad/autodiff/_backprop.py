"""Backprop by hand: chain each module's VJP from the loss back to the input.

This is the notes' multistage algorithm written out. Going forward, every module
``z_{k+1} = f_k(z_k, w_k)`` records its VJP (the product of a row vector with its two Jacobians,
never forming them). Going backward, starting from ``dc/dc = 1``::

    dc/dw_k = dc/dz_{k+1} . d f_k / d w_k        (the weights' gradient)
    dc/dz_k = dc/dz_{k+1} . d f_k / d z_k        (handed down to module k - 1)

The result equals ``jax.grad``: ``jax.grad`` runs the same chain, only automatically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from funcgrad._typing import Params
from funcgrad.autodiff._backward import check_scalar
from funcgrad.nn._module import Module
from funcgrad.nn._sequential import Sequential

__all__ = ["BackpropResult", "backprop"]


class BackpropResult(NamedTuple):
    """What :func:`backprop` returns: the params' gradients and the input's."""

    grads: Params
    """d loss / d params, with the structure of params (as ``jax.grad`` gives)."""
    input_grad: jax.Array
    """d loss / d x, the gradient that would flow into a module before the stack."""


def _stages(layers: Sequential | Sequence[Module] | Module) -> list[tuple[str, Module]]:
    if isinstance(layers, Sequential):
        return layers.named_layers()
    if hasattr(layers, "as_sequential"):  # MyNet, ConvNet: the same net as named stages
        return layers.as_sequential().named_layers()
    if isinstance(layers, Sequence) and all(isinstance(m, Module) for m in layers):
        return Sequential(*layers).named_layers()
    raise TypeError(
        f"backprop: layers must be an fg.nn.Sequential, a list of modules or a model with "
        f".as_sequential(), got {type(layers).__name__}"
    )


def backprop(
    layers: Sequential | Sequence[Module] | Module,
    params: Params,
    x: jax.Array,
    loss: Callable[[jax.Array], jax.Array],
) -> BackpropResult:
    """Gradients of ``loss(layers(x))`` by chaining each stage's VJP from the loss to the input.

    ``layers`` is an ``fg.nn.Sequential`` (params keyed by its names), a list of modules (keyed
    ``"0"``, ``"1"``, ...), or a model such as ``MyNet`` with ``.as_sequential()``. ``loss`` maps
    the last stage's output to a scalar. Returns ``(grads, input_grad)``; ``grads`` equals
    ``jax.grad(lambda p: loss(layers.apply(p, x)))(params)``.

    Args:
        layers: an ``fg.nn.Sequential``, a list of modules, or a model with ``.as_sequential()``.
        params: the stages' params, keyed as ``layers`` names its stages.
        x: the input of the first stage.
        loss: maps the last stage's output to a scalar.

    Returns:
        ``(grads, input_grad)``: the params' gradients and the gradient with respect to ``x``.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> net = fg.nn.Sequential(fg.nn.Linear(3, 4), fg.nn.ReLU(), fg.nn.Linear(4, 1))
        >>> params, x = net.init(jax.random.key(0)), jnp.ones(3)
        >>> loss = lambda out: (out**2).sum()
        >>> grads, dx = backprop(net, params, x, loss)
        >>> auto = jax.grad(lambda p: loss(net.apply(p, x)))(params)
        >>> bool(jnp.allclose(grads["0"]["weight"], auto["0"]["weight"])), dx.shape
        (True, (3,))
    """
    stages = _stages(layers)
    unknown = set(params) - {name for name, _ in stages}
    if unknown:
        raise ValueError(
            f"backprop: params have keys {sorted(unknown)} that name no stage; the stages are "
            f"{[name for name, _ in stages]}"
        )
    # Forward: run each stage and keep its VJP, the "saved tensors" of the backward pass.
    z, vjps = x, []
    for name, layer in stages:
        z, vjp = jax.vjp(layer.apply, params.get(name, {}), z)
        vjps.append((name, vjp))
    c, loss_vjp = jax.vjp(loss, z)
    check_scalar(c, "backprop: loss")
    # Backward: dc/dc = 1, then one VJP per stage, last to first.
    (dz,) = loss_vjp(jnp.ones_like(c))
    grads: Params = {}
    for name, vjp in reversed(vjps):
        d_params, dz = vjp(dz)
        if name in params:
            grads[name] = d_params
    return BackpropResult({name: grads[name] for name in params}, dz)
