"""PyTorch's own test inputs (``module_db`` and ``op_db``) run against funcgrad.

torch's ``common_utils`` imports ``expecttest`` (a test-only package of torch's, not installed here)
for its ``TestCase`` base only; the sample-input generators never use it, so a stand-in module is
registered when the real one is missing.

Samples are taken deterministically: every k-th one when there are more than ``limit``.
"""

from __future__ import annotations

import sys
import types
import unittest
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch
from _parity import check_loss, check_module, torch_dtype

import funcgrad as fg

try:
    import expecttest  # noqa: F401
except ImportError:
    sys.modules["expecttest"] = types.SimpleNamespace(TestCase=unittest.TestCase)  # type: ignore[assignment]

from torch.testing._internal.common_modules import module_db  # noqa: E402


def every_kth(samples: Sequence[Any], limit: int) -> list[Any]:
    """At most ``limit`` samples, evenly spread and always the same ones."""
    step = max(1, -(-len(samples) // limit))
    return list(samples)[::step]


def module_samples(name: str, dtype: type) -> list[Any]:
    """``module_db``'s ModuleInputs for ``torch.nn.<name>`` (eval mode)."""
    (info,) = [m for m in module_db if m.module_cls.__name__ == name]
    torch.manual_seed(0)  # torch draws the sample tensors from its global generator
    return list(
        info.module_inputs_func(
            info, device="cpu", dtype=torch_dtype(dtype), requires_grad=True, training=False
        )
    )


def check_module_sample(name: str, sample: Any, dtype: type) -> None:
    """Build ``torch.nn.<name>`` and ``fg.nn.<name>`` from the sample's arguments and compare them."""
    args, kwargs = sample.constructor_input.args, sample.constructor_input.kwargs
    fwd = sample.forward_input
    (x,) = list(fwd.args) + list(fwd.kwargs.values())
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    check_module(ref, getattr(fg.nn, name)(*args, **kwargs), x.detach().numpy(), dtype)


def op_info(name: str, variant: str = "") -> Any:
    """``op_db``'s OpInfo for the op ``name`` (``"nn.functional.conv2d"``, ``"softmax"``); a
    variant may follow the name after a slash (``"nn.functional.pad/reflect"``)."""
    from torch.testing._internal.common_methods_invocations import op_db

    name, _, given = name.partition("/")
    variant = given or variant
    (info,) = [o for o in op_db if o.name == name and o.variant_test_name == variant]
    return info


def op_samples(
    name: str,
    dtype: type,
    variant: str = "",
    limit: int = 40,
    keep: Callable[[Any], bool] = lambda sample: True,
) -> list[Any]:
    """``op_db``'s SampleInputs for the op ``name`` passing ``keep`` (a fixed subset of ``limit``).

    They are the op's ``reference_inputs``: its samples, then (where the OpInfo has them) the
    extremal ones (``inf``, NaN, 0, huge and empty inputs).
    """
    info = op_info(name, variant)
    torch.manual_seed(0)
    samples = info.reference_inputs("cpu", torch_dtype(dtype), requires_grad=True)
    return every_kth([s for s in samples if keep(s)], limit)


def check_op_sample(
    torch_fn: Callable[..., torch.Tensor],
    fn: Callable[..., Any],
    sample: Any,
    dtype: type,
    *,
    eager: bool | None = None,
) -> None:
    """``fn`` against ``torch_fn`` on one SampleInput: values and the VJP w.r.t. its float tensors.

    Tensor arguments are traced, the rest (kernel sizes, strides, modes) stay static. ``eager``
    says whether to run un-jitted as well (``for_each_variant``'s argument: ``None``, once per
    function and process).
    """
    positional = [sample.input, *sample.args]
    is_tensor = [isinstance(a, torch.Tensor) for a in positional]
    tensors = [a for a, t in zip(positional, is_tensor, strict=True) if t]
    arrays = [a.detach().numpy() for a in tensors]
    # the float tensors the sample differentiates (batch_norm's running statistics are not)
    wrt = [
        i
        for i, (a, t) in enumerate(zip(arrays, tensors, strict=True))
        if np.issubdtype(a.dtype, np.floating) and t.requires_grad
    ]
    kwargs = {
        k: v.detach().numpy() if isinstance(v, torch.Tensor) else v
        for k, v in sample.kwargs.items()
    }

    def merge(tensors: Sequence[Any]) -> list[Any]:
        it = iter(tensors)
        return [next(it) if t else a for a, t in zip(positional, is_tensor, strict=True)]

    first = _check_tuple_output(torch_fn, fn, merge, arrays, kwargs, dtype)
    check_loss(
        lambda *ts, **kw: first(torch_fn(*merge(ts), **kw)),
        lambda *xs, **kw: first(fn(*merge(xs), **kw)),
        arrays,
        dtype,
        wrt=wrt,
        equal_nan=True,  # reference inputs hold NaN: it must come out where torch's does
        eager=eager,
        **kwargs,
    )


def _check_tuple_output(
    torch_fn: Callable[..., Any],
    fn: Callable[..., Any],
    merge: Callable[[Sequence[Any]], list[Any]],
    arrays: Sequence[np.ndarray],
    kwargs: dict[str, Any],
    dtype: type,
) -> Callable[[Any], Any]:
    """For a function returning ``(values, indices)`` (``return_indices=True``): the integer
    outputs must equal torch's exactly (int64 under x64, int32 without), and the values go on to
    the VJP check; the returned function picks them. Otherwise the output as it is."""
    cast = [a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a for a in arrays]
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    expected = torch_fn(*merge([torch.tensor(a) for a in cast]), **t_kw)
    if not isinstance(expected, tuple):
        return lambda out: out
    j_kw = {k: jnp.asarray(v) for k, v in kwargs.items() if isinstance(v, np.ndarray)}
    static = {k: v for k, v in kwargs.items() if k not in j_kw}
    # compiled: un-jitted, each of its operations would compile alone (seconds for a max-pool)
    actual = jax.jit(lambda xs, kw: fn(*merge(xs), **kw, **static))(
        [jnp.asarray(a) for a in cast], j_kw
    )
    assert isinstance(actual, tuple) and len(actual) == len(expected), "outputs differ in number"
    index_dtype = np.int64 if jax.config.jax_enable_x64 else np.int32
    for n, (a, e) in enumerate(zip(actual, expected, strict=True)):
        if not e.is_floating_point():
            assert a.dtype == index_dtype, f"output {n} dtype {a.dtype}, expected {index_dtype}"
            np.testing.assert_array_equal(np.asarray(a), e.numpy(), err_msg=f"output {n}")
    return lambda out: out[0]
