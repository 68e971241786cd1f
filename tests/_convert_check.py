"""The acceptance check of a converted model, shared by the torchvision, timm and Hugging Face
tests: ``convert`` (which verifies itself), then the generated source run with ``import torch``
refused, and outputs and parameter gradients (one vector-Jacobian product) against torch's."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch

import funcgrad as fg


def _no_torch_import(name: str, *args: Any, **kwargs: Any) -> Any:
    if name == "torch" or name.startswith("torch."):
        raise ImportError(f"the generated source imports {name}")
    return builtins.__import__(name, *args, **kwargs)


def run_without_torch(source: str, filename: str) -> dict[str, Any]:
    """The namespace of ``source`` executed where ``import torch`` fails."""
    namespace: dict[str, Any] = {"__builtins__": {**vars(builtins), "__import__": _no_torch_import}}
    exec(compile(source, filename, "exec", dont_inherit=True), namespace)
    return namespace


def check_conversion(
    model: torch.nn.Module,
    inputs: tuple[torch.Tensor, ...],
    *,
    pick: Callable[[Any], Any] = lambda y: y,
    tol: float = 1e-9,
) -> Any:
    """Convert ``model`` (float64) on ``inputs``, and check the source, the eval outputs and the
    parameter gradients of ``pick(output)`` against torch's (to ``tol``, relative to the largest
    gradient for those); returns the conversion."""
    conv = fg.interop.convert(model, inputs if len(inputs) > 1 else inputs[0])
    namespace = run_without_torch(conv.source, f"<{type(model).__name__}>")
    assert type(namespace["model"]).__name__ == type(model).__name__

    model.eval()
    out_t = pick(model(*inputs))
    v = torch.randn(out_t.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    model.zero_grad()
    (out_t * v).sum().backward()
    grads_t = {k: p.grad for k, p in model.named_parameters() if p.grad is not None}
    xs = tuple(jnp.asarray(x.numpy()) for x in inputs)

    def f(params: Any) -> Any:
        y, _ = conv.model.apply(params, *xs, buffers=conv.buffers)
        return pick(y)

    y, pull = jax.vjp(jax.jit(f), conv.params)
    np.testing.assert_allclose(np.asarray(y), out_t.detach().numpy(), rtol=tol, atol=tol)
    (grads,) = pull(jnp.asarray(v.numpy()))
    flat = fg.flatten_dict(grads)
    for k, g in grads_t.items():
        scale = max(1.0, float(g.abs().max()))
        np.testing.assert_allclose(
            np.asarray(flat[k]), g.numpy(), rtol=0, atol=tol * scale, err_msg=k
        )
    return conv
