"""Every activation's value and derivative at its kinks, at 0, at +-inf and at NaN, against torch.

torch is run one point at a time (a one-element tensor): its CPU kernels' scalar loop, which
follows the written formula. (On longer tensors torch's vectorised loop gives NaN or 0 instead at
NaN for the ELUs, hardswish, hardtanh and the shrinks: see ``funcgrad.nn.functional._activation``.)
funcgrad's derivative is ``jax.grad`` of the functional at every point at once (``vmap``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from funcgrad.nn import functional as F

INF, NAN = math.inf, math.nan
COMMON = [NAN, -INF, INF, 0.0, -0.0, 1.0, -1.0, 30.0, -30.0]

# (name, torch's function, funcgrad's, the kinks: where the derivative jumps or torch's rule picks)
ACTIVATIONS: list[tuple[str, Callable[..., Any], Callable[..., Any], list[float]]] = [
    ("relu", TF.relu, F.relu, []),
    ("relu6", TF.relu6, F.relu6, [6.0]),
    (
        "hardtanh",
        lambda x: TF.hardtanh(x, -2.0, 0.5),
        lambda x: F.hardtanh(x, -2.0, 0.5),
        [-2, 0.5],
    ),
    ("hardsigmoid", TF.hardsigmoid, F.hardsigmoid, [-3.0, 3.0]),
    ("hardswish", TF.hardswish, F.hardswish, [-3.0, 3.0]),
    ("hardshrink", TF.hardshrink, F.hardshrink, [-0.5, 0.5]),
    (
        "softshrink",
        lambda x: TF.softshrink(x, 0.25),
        lambda x: F.softshrink(x, 0.25),
        [-0.25, 0.25],
    ),
    ("threshold", lambda x: TF.threshold(x, 0.5, -2.0), lambda x: F.threshold(x, 0.5, -2.0), [0.5]),
    ("leaky_relu", lambda x: TF.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2), []),
    ("elu", lambda x: TF.elu(x, 0.7), lambda x: F.elu(x, 0.7), [-600.0]),
    ("celu", lambda x: TF.celu(x, 0.7), lambda x: F.celu(x, 0.7), [-600.0]),
    ("selu", TF.selu, F.selu, [-600.0]),
    ("rrelu eval", lambda x: TF.rrelu(x, 0.1, 0.3), lambda x: F.rrelu(x, 0.1, 0.3), []),
    (
        "prelu",
        lambda x: TF.prelu(x, torch.tensor([0.3], dtype=x.dtype)),
        lambda x: F.prelu(x, jnp.array([0.3], x.dtype)),
        [],
    ),
    ("gelu", TF.gelu, F.gelu, []),
    ("gelu tanh", lambda x: TF.gelu(x, approximate="tanh"), lambda x: F.gelu(x, "tanh"), []),
    ("silu", TF.silu, F.silu, []),
    ("mish", TF.mish, F.mish, []),
    ("softplus", lambda x: TF.softplus(x, 2.0, 10.0), lambda x: F.softplus(x, 2.0, 10.0), [5.0]),
    ("logsigmoid", TF.logsigmoid, F.logsigmoid, []),
    ("softsign", TF.softsign, F.softsign, []),
    ("tanhshrink", TF.tanhshrink, F.tanhshrink, []),
    ("sigmoid", torch.sigmoid, F.sigmoid, []),
    ("tanh", torch.tanh, F.tanh, []),
]


def _torch_at_each_point(fn: Callable[..., Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, grads = [], []
    for point in x:
        xt = torch.tensor([point], requires_grad=True)
        y = fn(xt)
        y.backward(torch.ones_like(y))
        values.append(y.item())
        grads.append(xt.grad.item())
    return np.array(values, x.dtype), np.array(grads, x.dtype)


@pytest.mark.parametrize(
    ("name", "torch_fn", "fn", "kinks"), ACTIVATIONS, ids=lambda v: v if isinstance(v, str) else ""
)
@pytest.mark.parametrize("dtype", [np.float32], ids=["float32"])
def test_value_and_derivative_at_kinks_zero_inf_and_nan(name, torch_fn, fn, kinks, dtype):
    x = np.array(COMMON + kinks + [k + d for k in kinks for d in (-1e-3, 1e-3)], dtype)
    expected_y, expected_g = _torch_at_each_point(torch_fn, x)
    y = np.asarray(jax.jit(jax.vmap(fn))(jnp.asarray(x)))
    g = np.asarray(jax.jit(jax.vmap(jax.grad(fn)))(jnp.asarray(x)))
    for what, got, want in (("value", y, expected_y), ("derivative", g, expected_g)):
        np.testing.assert_allclose(
            got, want, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=f"{name} {what} at {x}"
        )
