"""Run the same computation in PyTorch and in funcgrad and compare values and gradients.

The reference is always PyTorch run live: weights are copied with ``fg.interop.from_torch`` and both
sides are differentiated through ``sum(out * v)`` for a random cotangent ``v``, which checks the whole
vector-Jacobian product and not just one direction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch

import funcgrad as fg

TOL = {np.float64: 1e-10, np.float32: 1e-5}


def assert_close(actual: Any, expected: Any, dtype: type, what: str) -> None:
    """Relative agreement: max |a - e| <= tol * max(|e|, tiny), per array."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    scale = max(float(np.abs(e).max(initial=0.0)), 1e-30)
    err = float(np.abs(a - e).max(initial=0.0)) / scale
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]:g}"


def torch_dtype(dtype: type) -> torch.dtype:
    return torch.float64 if dtype is np.float64 else torch.float32


def check_module(
    torch_module: torch.nn.Module,
    module: fg.nn.Module,
    x: np.ndarray,
    dtype: type,
    torch_forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> None:
    """Forward values and gradients w.r.t. every parameter and the input agree with PyTorch."""
    torch_module = torch_module.to(torch_dtype(dtype))
    x = x.astype(dtype)
    params = fg.interop.from_torch(torch_module, like=module)
    assert all(p.dtype == dtype for p in jax.tree.leaves(params))

    forward = torch_forward or torch_module
    xt = torch.tensor(x, requires_grad=True)
    out_t = forward(xt)
    v = np.random.default_rng(0).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(v)).sum().backward()

    out = module.apply(params, jnp.asarray(x))
    assert out.dtype == dtype, f"output dtype {out.dtype}, expected {dtype}"
    assert_close(out, out_t.detach().numpy(), dtype, "forward")
    g_params, g_x = jax.grad(lambda p, x: jnp.sum(module.apply(p, x) * v), argnums=(0, 1))(
        params, jnp.asarray(x)
    )
    assert_close(g_x, xt.grad.numpy(), dtype, "grad wrt input")
    flat = fg.flatten_dict(g_params)
    named = dict(torch_module.named_parameters())
    assert sorted(flat) == sorted(named), f"param names {sorted(flat)} != {sorted(named)}"
    for name, p in named.items():
        assert_close(flat[name], p.grad.numpy(), dtype, f"grad wrt {name}")
