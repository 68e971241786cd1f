"""Run the same computation in PyTorch and in funcgrad and compare values and gradients.

The reference is always PyTorch run live: weights are copied with ``fg.interop.from_torch`` and both
sides are differentiated through ``sum(out * v)`` for a random cotangent ``v``, which checks the whole
vector-Jacobian product and not just one direction.

The funcgrad side of every check runs under ``jax.jit`` (``chex.variants(with_jit=True)``), so a
bug that only shows when tracing (a Python branch on a traced value, a shape read too late, a dtype
lost in a constant) cannot pass; the first check of each layer or function in the process also runs
it eagerly (``without_jit=True``). Both run the same layer code and differ only in tracing, so one
eager configuration per layer keeps the eager path tested, and the jitted variant covers every
parametrisation at a fraction of the cost (eagerly, each operation dispatches on its own).
``FUNCGRAD_TEST_EAGER=all`` runs the eager variant on every check.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import torch

import funcgrad as fg

TOL = {np.float64: 1e-10, np.float32: 1e-5}

EAGER_ENV = "FUNCGRAD_TEST_EAGER"

Variant = Callable[[Callable[..., Any]], Callable[..., Any]]


# Layers and functions whose eager variant already ran in this process (see ``for_each_variant``).
_eager_done: set[str] = set()


def _funcgrad_name(obj: Any, depth: int = 4) -> str | None:
    """The funcgrad layer type or function that ``obj`` is, or that its closures reach, if any.

    A check's body is a closure over the module (``check_module``) or over a lambda around the
    function (``check_loss``, ``check_op_sample``): a few levels of ``__closure__`` find it.
    """
    if isinstance(obj, fg.nn.Module):
        return f"{type(obj).__module__}.{type(obj).__qualname__}"
    module, name = getattr(obj, "__module__", None) or "", getattr(obj, "__qualname__", "")
    if callable(obj) and module.startswith("funcgrad") and "<lambda>" not in name:
        return f"{module}.{name}"
    if depth == 0:
        return None
    for cell in getattr(obj, "__closure__", None) or ():
        try:
            found = _funcgrad_name(cell.cell_contents, depth - 1)
        except ValueError:  # an empty cell
            continue
        if found is not None:
            return found
    return None


def for_each_variant(
    body: Callable[[Variant], None], *, name: str | None = None, eager: bool | None = None
) -> None:
    """Run ``body(variant)`` under chex's variants: ``variant(f)`` is ``jax.jit(f)``, then ``f``.

    The eager variant (``f``) runs only the first time ``name`` is checked in this process, so each
    layer or function runs eagerly once, not once per parametrisation. ``name`` defaults to the
    funcgrad layer type or function that ``body``'s closures reach; when there is none, both
    variants always run. ``eager`` given decides instead (a caller that knows which of its cases
    is the one to run eagerly, the same under any split of the tests between pytest-xdist's
    processes). ``FUNCGRAD_TEST_EAGER=all`` runs both variants on every call.

    chex's ``variants`` decorator returns a generator of one test per variant (the form absltest's
    ``parameterized.TestCase`` unrolls); here the helper unrolls it itself, so plain pytest functions
    get the variants without being ``chex.TestCase`` methods. chex also fails a variant whose body
    never calls ``variant``, so a check cannot silently test only one side.
    """
    if eager is None:
        key = name if name is not None else _funcgrad_name(body)
        eager = key is None or key not in _eager_done
        if key is not None:
            _eager_done.add(key)
    eager = eager or os.environ.get(EAGER_ENV) == "all"

    def test(case: Any) -> None:
        body(case.variant)

    for variant_test in chex.variants(with_jit=True, without_jit=eager)(test):
        case = types.SimpleNamespace()
        try:
            variant_test(case)
        except AssertionError as e:
            raise AssertionError(f"[{case.variant.type.name.lower()}] {e}") from e


def _assert_array_close(
    actual: Any, expected: Any, dtype: type, what: str, equal_nan: bool
) -> None:
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    if not equal_nan:
        assert not np.isnan(a).any() and not np.isnan(e).any(), f"{what}: NaN in {a} or {e}"
    finite = e[np.isfinite(e)]
    scale = max(float(np.abs(finite).max(initial=0.0)), 1e-30)
    tol = TOL[dtype] * scale
    try:
        # chex (np.testing underneath) reports which entries differ; equal NaN/inf positions pass.
        chex.assert_trees_all_close(a, e, rtol=0.0, atol=tol, strict=True)
    except AssertionError as err:
        diff = np.abs(a - e)
        rel = float(np.nanmax(diff, initial=0.0)) / scale
        raise AssertionError(
            f"{what}: relative error {rel:.3g} > {TOL[dtype]:g} (of max |expected| {scale:.3g})\n{err}"
        ) from None


def assert_close(
    actual: Any, expected: Any, dtype: type, what: str, *, equal_nan: bool = False
) -> None:
    """Relative agreement per array: max |a - e| <= tol * max(|e|, tiny), tol from ``TOL[dtype]``.

    ``actual`` and ``expected`` are arrays or pytrees of the same structure (compared leaf by leaf,
    each with its own scale). NaN fails unless ``equal_nan``, and then only where both have it.
    """
    leaf = jax.tree.structure(0)
    if jax.tree.structure(actual) == leaf or jax.tree.structure(expected) == leaf:
        _assert_array_close(actual, expected, dtype, what, equal_nan)
        return
    chex.assert_trees_all_equal_structs(actual, expected)
    for (path, a), e in zip(
        jax.tree.leaves_with_path(actual), jax.tree.leaves(expected), strict=True
    ):
        _assert_array_close(a, e, dtype, f"{what}{jax.tree_util.keystr(path)}", equal_nan)


def torch_dtype(dtype: type) -> torch.dtype:
    return torch.float64 if dtype is np.float64 else torch.float32


def _cotangent(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.asarray(np.random.default_rng(0).standard_normal(shape), dtype=dtype)


def _value_and_vjp(
    f: Callable[..., jax.Array], v: np.ndarray, argnums: Sequence[int]
) -> Callable[..., tuple[jax.Array, tuple[Any, ...]]]:
    """``g(*args) -> (f(*args), VJP w.r.t. args[argnums] with cotangent v)``: one traceable call."""

    def g(*args: Any) -> tuple[jax.Array, tuple[Any, ...]]:
        def at(*diff: Any) -> jax.Array:
            a = list(args)
            for n, d in zip(argnums, diff, strict=True):
                a[n] = d
            return f(*a)

        out, pullback = jax.vjp(at, *(args[n] for n in argnums))
        return out, pullback(jnp.asarray(v, out.dtype))

    return g


def check_module(
    torch_module: torch.nn.Module,
    module: fg.nn.Module,
    x: np.ndarray,
    dtype: type,
    torch_forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> None:
    """Forward values and gradients w.r.t. every parameter and the input agree with PyTorch.

    The funcgrad side runs under ``jax.jit``, and eagerly the first time ``type(module)`` is
    checked (see ``for_each_variant``).
    """
    torch_module = torch_module.to(torch_dtype(dtype))
    x = x.astype(dtype)
    params = fg.interop.from_torch(torch_module, like=module)
    assert all(p.dtype == dtype for p in jax.tree.leaves(params))

    forward = torch_forward or torch_module
    xt = torch.tensor(x, requires_grad=True)
    out_t = forward(xt)
    v = _cotangent(tuple(out_t.shape), dtype)
    (out_t * torch.tensor(v)).sum().backward()
    named = dict(torch_module.named_parameters())
    flat_names = sorted(fg.flatten_dict(params))
    assert flat_names == sorted(named), f"param names {flat_names} != {sorted(named)}"
    expected_grads = fg.unflatten_dict({name: p.grad.numpy() for name, p in named.items()})

    def check(variant: Variant) -> None:
        run = variant(_value_and_vjp(module.apply, v, argnums=(0, 1)))
        out, (g_params, g_x) = run(params, jnp.asarray(x))
        assert out.dtype == dtype, f"output dtype {out.dtype}, expected {dtype}"
        assert_close(out, out_t.detach().numpy(), dtype, "forward")
        assert_close(g_x, xt.grad.numpy(), dtype, "grad wrt input")
        assert_close(g_params, expected_grads, dtype, "grad wrt params")

    for_each_variant(check, name=f"{type(module).__module__}.{type(module).__qualname__}")


def _is_float(a: Any) -> bool:
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


def check_loss(
    torch_loss: Callable[..., torch.Tensor],
    loss: Callable[..., jax.Array],
    args: Sequence[np.ndarray],
    dtype: type,
    *,
    wrt: Sequence[int] = (0,),
    equal_nan: bool = False,
    eager: bool | None = None,
    **kwargs: Any,
) -> None:
    """``loss(*args, **kwargs)`` and its VJP w.r.t. ``args[i]`` for ``i in wrt`` agree with torch.

    With ``equal_nan``, NaN passes where both sides have it (extremal inputs), and only there.
    ``eager`` is :func:`for_each_variant`'s (``None``: un-jitted once per function and process).

    Float arrays in ``args`` and ``kwargs`` (``weight``, ``pos_weight``) are cast to ``dtype``;
    integer arrays (class indices) keep theirs. Arrays are traced arguments of the jitted variant,
    other keyword values (``reduction``, ``ignore_index``, ...) are static. The cotangent is random
    for ``reduction="none"``.
    """
    cast = [a.astype(dtype) if _is_float(a) else a for a in args]
    arrays = {k: (v.astype(dtype) if _is_float(v) else v) for k, v in kwargs.items()}
    arrays = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray)}
    static = {k: v for k, v in kwargs.items() if k not in arrays}

    t_args = [torch.tensor(a, requires_grad=i in wrt) for i, a in enumerate(cast)]
    out_t = torch_loss(*t_args, **{k: torch.tensor(v) for k, v in arrays.items()}, **static)
    v = _cotangent(tuple(out_t.shape), dtype)
    if wrt:  # a sample whose tensors torch does not differentiate compares values only
        (out_t * torch.tensor(v)).sum().backward()
    expected_grads = [t_args[i].grad.numpy() for i in wrt]

    j_args = [jnp.asarray(a) for a in cast]
    j_kw = {k: jnp.asarray(a) for k, a in arrays.items()}

    j_diff = [j_args[i] for i in wrt]
    j_rest = [None if i in wrt else a for i, a in enumerate(j_args)]

    def value(diff: Sequence[jax.Array], rest: Sequence[Any], kw: Mapping[str, Any]) -> jax.Array:
        a = list(rest)
        for i, d in zip(wrt, diff, strict=True):
            a[i] = d
        return loss(*a, **kw, **static)

    def check(variant: Variant) -> None:
        out, (grads,) = variant(_value_and_vjp(value, v, argnums=(0,)))(j_diff, j_rest, j_kw)
        assert out.dtype == dtype, f"output dtype {out.dtype}, expected {dtype}"
        assert_close(out, out_t.detach().numpy(), dtype, "value", equal_nan=equal_nan)
        for i, g, expected in zip(wrt, grads, expected_grads, strict=True):
            assert_close(g, expected, dtype, f"grad wrt argument {i}", equal_nan=equal_nan)

    for_each_variant(check, eager=eager)
