"""Shared machinery of the hypothesis property tests (``tests/test_properties_*.py``) against torch.

Profiles: ``ci`` (the default) runs a few derandomized examples per property, so CI is reproducible
and fast; ``thorough`` explores many more, with a fresh seed each run. Pick one with
``FUNCGRAD_HYPOTHESIS_PROFILE=thorough``. Neither keeps an example database (nothing is written into
the checkout); a failure prints the falsifying example, and under ``thorough`` also the
``@reproduce_failure`` blob.

Each case builds one random but valid configuration, runs it in torch and in funcgrad, and compares
the value and the vector-Jacobian product (random cotangent) with respect to the inputs and the
parameters. The funcgrad side is one ``jax.jit`` of value plus VJP: a new shape costs one compile,
which is several times cheaper than compiling each primitive of an eager call separately.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
import torch
from _property_counts import COUNT_KEY, PROFILE_ENV
from hypothesis import given, settings
from hypothesis import strategies as st

settings.register_profile(
    "ci", max_examples=10, deadline=None, derandomize=True, database=None, print_blob=False
)
settings.register_profile("thorough", max_examples=300, deadline=None, database=None)
PROFILE = os.environ.get(PROFILE_ENV, "ci")
SETTINGS = settings.get_profile(PROFILE)

# Relative to the largest |expected| of each array: float32 sums of a few hundred terms stay well
# inside 1e-4, float64 inside 1e-9.
TOL = {np.float32: 1e-4, np.float64: 1e-9}
# Absolute slack for results that cancel to 0 (inputs are O(1)): far below TOL at that scale.
FLOOR = {np.float32: 1e-6, np.float64: 1e-12}

dtypes = st.sampled_from([np.float32, np.float64])
seeds = st.integers(0, 2**32 - 1)
# Batch sizes: empty and single batches are where shape bugs hide.
batch_sizes = st.sampled_from([0, 1, 2, 3])


def property_test(weight: float = 1.0, **strategies: st.SearchStrategy[Any]) -> Callable[..., Any]:
    """Turn ``body(**drawn)`` into a pytest test that runs it under hypothesis and counts the cases.

    ``weight`` scales the profile's ``max_examples`` (cheap properties run more). The count goes to
    ``record_property`` (the summary of ``_property_counts``, junit XML) and to stdout (``-rA``, ``-s``).
    """

    def decorate(body: Callable[..., None]) -> Callable[..., None]:
        count = 0

        @functools.wraps(body)  # hypothesis derandomizes from body's source, one seed per property
        def counted(**drawn: Any) -> None:
            nonlocal count
            body(**drawn)
            count += 1

        examples = max(1, round(SETTINGS.max_examples * weight))
        run = settings(SETTINGS, max_examples=examples)(given(**strategies)(counted))

        def test(record_property: Callable[[str, object], None]) -> None:
            nonlocal count
            count = 0
            run()
            record_property(COUNT_KEY, count)
            print(f"{body.__name__}: {count} hypothesis cases (profile {PROFILE!r})")

        test.__name__ = test.__qualname__ = body.__name__
        test.__doc__, test.__module__ = body.__doc__, body.__module__
        return test

    return decorate


def x64(dtype: type) -> Any:
    """``jax.enable_x64`` for float64 cases, as ``tests/conftest.py``'s ``dtype`` fixture does."""
    return jax.enable_x64(dtype is np.float64)


def torch_dtype(dtype: type) -> torch.dtype:
    return torch.float64 if dtype is np.float64 else torch.float32


def _cast(a: Any, dtype: type) -> Any:
    a = np.asarray(a)
    return a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a


def _array_close(actual: Any, expected: Any, dtype: type, what: str, reference: Any = None) -> None:
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    assert (np.isnan(a) == np.isnan(e)).all(), (
        f"{what}: NaN where torch has none (or not)\n{a}\n{e}"
    )
    slack, target = 0.0, e
    if reference is not None:  # float32: judge against torch in float64, allowing torch's own error
        target = np.asarray(reference, dtype=np.float64)
        both = np.isfinite(e) & np.isfinite(target)
        slack = 4.0 * float(np.abs(e - target)[both].max(initial=0.0))
        a = np.where(np.isnan(a), target, a)
    scale = max(float(np.abs(target[np.isfinite(target)]).max(initial=0.0)), 1e-30)
    # A result that cancels to exactly 0 on one side (d/dw of sum(w e) / sum(w) for one element,
    # x - mean(x) over one element, amplified by 1 / sqrt(eps)) is rounding noise on the other.
    floor = FLOOR[dtype]
    try:
        chex.assert_trees_all_close(a, target, rtol=0.0, atol=TOL[dtype] * scale + slack + floor)
    except AssertionError as err:
        rel = float(np.nanmax(np.abs(a - target), initial=0.0)) / scale
        raise AssertionError(
            f"{what}: relative error {rel:.3g} > {TOL[dtype]:g} + torch's own "
            f"{slack / 4 / scale:.3g} (x4)\n{err}"
        ) from None


def assert_close(actual: Any, expected: Any, dtype: type, what: str, reference: Any = None) -> None:
    """Per array (leaf by leaf for pytrees): ``|a - e| <= TOL * max|e|``, NaN and inf where torch's.

    With ``reference`` (torch's result in float64 for a float32 case) the error is measured against
    it instead, and may also reach 4 times torch's own float32 error: an ill-conditioned case (the
    gradient of a 2-element normalisation, all cancellation) then passes exactly when funcgrad is
    about as accurate as torch.
    """
    chex.assert_trees_all_equal_structs(actual, expected)
    refs = jax.tree.leaves(expected) if reference is None else jax.tree.leaves(reference)
    for (path, a), e, r in zip(
        jax.tree.leaves_with_path(actual), jax.tree.leaves(expected), refs, strict=True
    ):
        _array_close(
            a, e, dtype, f"{what}{jax.tree_util.keystr(path)}", None if reference is None else r
        )


def _torch_vjp(
    torch_fn: Callable[..., Any],
    args: Sequence[Any],
    wrt: tuple[int, ...],
    dtype: type,
    has_aux: bool,
) -> tuple[np.ndarray, list[Any], Any, np.ndarray]:
    """torch's output, VJP w.r.t. ``args[i]`` for ``i in wrt`` (numpy pytrees), aux, cotangent.

    The cotangent is random, drawn in ``dtype`` from a fixed seed (the same values for a float32
    case and its float64 reference).
    """

    def tensor(a: np.ndarray, grad: bool) -> torch.Tensor:
        return torch.tensor(a, requires_grad=grad and np.issubdtype(a.dtype, np.floating))

    t_args = [jax.tree.map(lambda a, g=i in wrt: tensor(a, g), a) for i, a in enumerate(args)]
    out = torch_fn(*t_args)
    out, aux = out if has_aux else (out, None)
    v = np.random.default_rng(0).standard_normal(tuple(out.shape)).astype(dtype)
    leaves = [leaf for i in wrt for leaf in jax.tree.leaves(t_args[i])]
    if out.requires_grad:
        flat = torch.autograd.grad(
            (out * torch.tensor(v)).sum(), leaves, allow_unused=True, materialize_grads=True
        )
    else:  # e.g. an empty output that autograd never connected
        flat = [torch.zeros_like(leaf) for leaf in leaves]
    flat_np = iter([g.numpy() for g in flat])
    grads = [jax.tree.map(lambda _: next(flat_np), args[i]) for i in wrt]
    return out.detach().numpy(), grads, aux, v


def check_vjp(
    torch_fn: Callable[..., Any],
    fg_fn: Callable[..., Any],
    args: Sequence[Any],
    dtype: type,
    *,
    wrt: Iterable[int] = (0,),
    has_aux: bool = False,
) -> tuple[Any, Any]:
    """``fg_fn(*args)`` and its VJP w.r.t. ``args[i]`` for ``i`` in ``wrt`` against torch's.

    ``args`` are numpy arrays or dicts of them (parameters); float ones are cast to ``dtype``, integer
    ones (labels) kept. ``torch_fn`` must follow the dtype of its arguments (modules get their
    parameters and buffers through ``torch.func.functional_call``): a float32 case also runs it in
    float64 on the same values, as the reference of :func:`assert_close`. With ``has_aux`` both
    functions return ``(output, aux)``: the output is compared and differentiated, and
    ``(aux_funcgrad, aux_torch)`` is returned to compare further.
    """
    wrt = tuple(wrt)
    args = [jax.tree.map(lambda a: _cast(a, dtype), a) for a in args]
    out_t, expected, aux_t, v = _torch_vjp(torch_fn, args, wrt, dtype, has_aux)
    out_64 = grads_64 = None
    if dtype is np.float32:
        args_64 = [jax.tree.map(lambda a: _cast(a, np.float64), a) for a in args]
        out_64, grads_64, _, _ = _torch_vjp(torch_fn, args_64, wrt, dtype, has_aux)

    def value_and_vjp(*all_args: Any) -> Any:
        def f(*diff: Any) -> Any:
            a = list(all_args)
            for i, d in zip(wrt, diff, strict=True):
                a[i] = d
            return fg_fn(*a)

        out, pullback, *aux = jax.vjp(f, *(all_args[i] for i in wrt), has_aux=has_aux)
        return out, pullback(jnp.asarray(v, out.dtype)), aux

    j_args = [jax.tree.map(jnp.asarray, a) for a in args]
    out, grads, aux = jax.jit(value_and_vjp)(*j_args)
    assert out.dtype == dtype, f"output dtype {out.dtype}, expected {np.dtype(dtype)}"
    assert_close(out, out_t, dtype, "value", out_64)
    for n, (i, g, e) in enumerate(zip(wrt, grads, expected, strict=True)):
        assert_close(
            g, e, dtype, f"grad wrt argument {i}", None if grads_64 is None else grads_64[n]
        )
    return (aux[0] if has_aux else None), aux_t


def torch_params(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """``named_parameters()`` as numpy, keyed by torch's dotted names."""
    return {name: p.detach().numpy().copy() for name, p in module.named_parameters()}


def randomise(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial parameters and running statistics, so each one enters the comparison."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
        for b in module.buffers():
            if b.is_floating_point():
                b.copy_(torch.rand(b.shape, generator=g, dtype=b.dtype) + 0.5)
    return module


def assert_both_raise(
    torch_call: Callable[[], object], fg_call: Callable[[], object], names: Sequence[str]
) -> str:
    """Both calls raise; funcgrad's message names one of ``names`` (the offending argument)."""
    try:
        with warnings.catch_warnings():  # torch warns on some bad configs before it raises
            warnings.simplefilter("ignore")
            torch_call()
    except (RuntimeError, ValueError, IndexError, TypeError):
        pass
    else:
        raise AssertionError("torch accepts it: not an invalid configuration")
    try:
        fg_call()
    except (ValueError, IndexError, TypeError) as e:
        message = str(e)
    else:
        raise AssertionError("torch raises but funcgrad accepts it")
    assert any(n in message for n in names), f"funcgrad's error names none of {names}: {message}"
    return message
