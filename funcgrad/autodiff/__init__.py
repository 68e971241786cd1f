"""PyTorch's autograd ideas as functions: taps, VJPs, module Jacobians, by-hand backprop, checks.

=======================================  ==============================================
PyTorch                                  funcgrad / JAX
=======================================  ==============================================
``z.retain_grad(); z.grad``              ``tap(z, "z")`` + ``grad_with_taps(f)``
``y.backward(v); x.grad``                ``backward(f, x, v=v)`` (= ``jax.vjp``)
``loss.backward()`` on a non-scalar      ``grad`` raises ``NonScalarOutputError``
Jacobians per module (notes' backprop)   ``module_jacobians(layer, params, x)``
the multistage backward pass             ``backprop(layers, params, x, loss)``
``torch.autograd.gradcheck``             ``gradcheck(f, *args)``
``detach()`` / ``no_grad()``             ``detach(tree)`` / don't differentiate it
``requires_grad_(False)`` on a layer     ``freeze(optax_tx, "m0.*")``
``.grad`` accumulation, ``zero_()``      ``accumulate(g1, g2, ...)``; nothing to zero
per-sample gradients                     ``per_example_grads(loss, params, batch)``
=======================================  ==============================================

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> from funcgrad.autodiff import grad_with_taps, tap
    >>> def loss(w, x):
    ...     z = tap(x @ w, "z")
    ...     return (z**2).sum()
    >>> grads, taps = grad_with_taps(loss)(jnp.ones((2, 2)), jnp.array([1.0, 2.0]))
    >>> taps["z"].tolist()  # d loss / d z = 2 z
    [6.0, 6.0]
"""

from funcgrad.autodiff._accumulate import accumulate
from funcgrad.autodiff._backprop import BackpropResult, backprop
from funcgrad.autodiff._backward import NonScalarOutputError, backward, grad
from funcgrad.autodiff._freeze import detach, freeze, path_mask
from funcgrad.autodiff._gradcheck import GradcheckError, gradcheck
from funcgrad.autodiff._jacobians import module_jacobians
from funcgrad.autodiff._per_example import per_example_grads
from funcgrad.autodiff._taps import grad_with_taps, tap

__all__ = [
    "BackpropResult",
    "GradcheckError",
    "NonScalarOutputError",
    "accumulate",
    "backprop",
    "backward",
    "detach",
    "freeze",
    "grad",
    "grad_with_taps",
    "gradcheck",
    "module_jacobians",
    "path_mask",
    "per_example_grads",
    "tap",
]
