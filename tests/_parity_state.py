"""Parity against live torch for modules with buffers and a train/eval mode, over several steps.

torch mutates its module (running statistics, ``num_batches_tracked``) at each call; funcgrad returns
new buffers. ``check_steps`` runs the torch module over a list of inputs and, at every step, compares
the output, the VJP w.r.t. input and params (random cotangent) and the buffers after the step. The
funcgrad side runs eagerly and under ``jax.jit`` (``for_each_variant``), threading its own buffers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch
from _parity import assert_close, for_each_variant, torch_dtype

import funcgrad as fg


def _as_jax(a: np.ndarray, dtype: type) -> jax.Array:
    if np.issubdtype(a.dtype, np.floating):
        return jnp.asarray(a.astype(dtype))
    return jnp.asarray(a).astype(jnp.zeros((), dtype=int).dtype)  # int64 under x64, as torch


def torch_state(module: torch.nn.Module, dtype: type) -> tuple[fg.nn.Params, fg.nn.Buffers]:
    """torch's ``named_parameters()`` and ``named_buffers()`` as nested funcgrad dicts."""
    params = {n: _as_jax(p.detach().numpy(), dtype) for n, p in module.named_parameters()}
    buffers = {n: _as_jax(b.numpy(), dtype) for n, b in module.named_buffers()}
    return fg.unflatten_dict(params), fg.unflatten_dict(buffers)


def assert_buffers_equal(
    buffers: Any, expected: dict[str, np.ndarray], dtype: type, what: str
) -> None:
    """``buffers`` against torch's ``named_buffers()`` (as numpy): statistics within tolerance,
    integer counters exactly, float dtypes ``dtype`` and counters int64 under x64 (int32 without)."""
    flat = {n: np.asarray(b) for n, b in fg.flatten_dict(buffers).items()}
    assert sorted(flat) == sorted(expected), f"{what}: buffer names {sorted(flat)}"
    for name, e in expected.items():
        a = flat[name]
        if np.issubdtype(e.dtype, np.floating):
            assert a.dtype == dtype, f"{what}: {name} dtype {a.dtype}"
            assert_close(a, e, dtype, f"{what}: {name}")
        else:
            want = np.int64 if jax.config.jax_enable_x64 else np.int32
            assert a.dtype == want and a.shape == e.shape, f"{what}: {name} {a.dtype}{a.shape}"
            np.testing.assert_array_equal(a, e, err_msg=f"{what}: {name}")


def check_steps(
    torch_module: torch.nn.Module,
    module: fg.nn.Module,
    xs: Sequence[np.ndarray],
    dtype: type,
    *,
    train: bool,
) -> None:
    """Run ``xs`` through both, one call each in ``train`` or eval mode; compare after every step."""
    torch_module = torch_module.to(torch_dtype(dtype)).train(train)
    params, buffers = torch_state(torch_module, dtype)
    rng = np.random.default_rng(0)
    expected: list[dict[str, Any]] = []
    for x in xs:
        xt = torch.tensor(x.astype(dtype), requires_grad=True)
        torch_module.zero_grad()
        out = torch_module(xt)
        v = rng.standard_normal(tuple(out.shape)).astype(dtype)
        (out * torch.tensor(v)).sum().backward()
        grads = {n: p.grad.numpy().copy() for n, p in torch_module.named_parameters()}
        expected.append(
            {
                "out": out.detach().numpy().copy(),
                "v": v,
                "grad_x": xt.grad.numpy().copy(),
                "grads": fg.unflatten_dict(grads),
                "buffers": {n: b.numpy().copy() for n, b in torch_module.named_buffers()},
            }
        )

    def step(p: Any, x: jax.Array, b: Any, v: jax.Array) -> Any:
        def f(p: Any, x: jax.Array) -> Any:
            return module.apply(p, x, buffers=b, train=train)

        out, pullback, new_b = jax.vjp(f, p, x, has_aux=True)
        return out, pullback(v), new_b

    def check(variant: Any) -> None:
        run = variant(step)
        b = buffers
        for i, (x, e) in enumerate(zip(xs, expected, strict=True)):
            out, (g_p, g_x), b = run(params, jnp.asarray(x.astype(dtype)), b, jnp.asarray(e["v"]))
            assert out.dtype == dtype, f"step {i}: output dtype {out.dtype}"
            assert_close(out, e["out"], dtype, f"step {i}: forward")
            assert_close(g_x, e["grad_x"], dtype, f"step {i}: grad wrt input")
            assert_close(g_p, e["grads"], dtype, f"step {i}: grad wrt params")
            assert_buffers_equal(b, e["buffers"], dtype, f"step {i}")

    for_each_variant(check)
