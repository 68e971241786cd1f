"""torch's own ``module_db`` samples for every entry of the layer table, checked against funcgrad.

One sample is one torch module built from ``constructor_input`` and called on ``forward_input``.
The funcgrad twin is built from the same arguments (``fg.nn.<Name>``), or, for a loss without
params, its functional form is called with the module's constructor arguments
(``F.cross_entropy(input, target, weight=..., reduction=...)``). Both are differentiated through ``sum(out * v)`` for a random cotangent ``v``:
outputs, the full VJP with respect to the float inputs and the params, and the buffers after the call
(train mode updates them, eval returns them unchanged).
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import unittest
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch
from _parity import _is_float, assert_close, for_each_variant, torch_dtype
from _parity_state import assert_buffers_equal, torch_state

import funcgrad as fg

try:
    import expecttest  # noqa: F401
except ImportError:
    sys.modules["expecttest"] = types.SimpleNamespace(TestCase=unittest.TestCase)  # type: ignore[assignment]

from torch.testing._internal.common_modules import module_db  # noqa: E402

Entry = Any  # fg.nn.LayerEntry | fg.nn.LossEntry


@functools.cache
def module_info(name: str) -> Any:
    """``module_db``'s ModuleInfo for ``torch.nn.<name>``, or ``None``."""
    found = [m for m in module_db if m.module_cls.__name__ == name]
    return found[0] if found else None


@functools.cache  # CrossEntropyLoss's and NLLLoss's take about a second to build; read-only here
def torch_samples(name: str, dtype: type, train: bool) -> list[Any]:
    """``module_db``'s ModuleInputs for ``torch.nn.<name>``, drawn the same way every time."""
    info = module_info(name)
    torch.manual_seed(0)  # torch draws the sample tensors from its global generator
    return list(
        info.module_inputs_func(
            info, device="cpu", dtype=torch_dtype(dtype), requires_grad=True, training=train
        )
    )


@dataclass(frozen=True)
class Case:
    """One parity case: the entry's name, the mode, and the sample's index in ``module_db``."""

    name: str
    train: bool
    index: int

    def __str__(self) -> str:
        return f"{self.name}-{'train' if self.train else 'eval'}-{self.index}"


def cases(table: dict[str, Entry]) -> list[Case]:
    """Every eval sample of every entry with ``module_db`` samples, and train mode where torch's
    modes differ (every sample) or not (the first sample: the modes must agree there too)."""
    out = []
    for name, entry in table.items():
        if not entry.module_db:
            continue
        info = module_info(name)
        n = len(torch_samples(name, np.float64, train=False))
        out += [Case(name, False, i) for i in range(n)]
        n_train = len(torch_samples(name, np.float64, train=True))
        out += [Case(name, True, i) for i in range(n_train if info.train_and_eval_differ else 1)]
    return out


def _numpy(value: Any, dtype: type) -> Any:
    """A torch argument as funcgrad takes it: float tensors as ``dtype`` arrays, ints as int."""
    if isinstance(value, torch.Tensor):
        a = value.detach().numpy()
        return a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a
    if isinstance(value, list | tuple):
        return type(value)(_numpy(v, dtype) for v in value)
    return value


def _with(args: Any, wrt: list[int], diff: Any) -> list[Any]:
    """``args`` with the differentiated ones (positions ``wrt``) replaced by ``diff``."""
    full = list(args)
    for i, d in zip(wrt, diff, strict=True):
        full[i] = d
    return full


def _torch_leaves(out: Any) -> list[torch.Tensor]:
    return [t for t in jax.tree.leaves(out, is_leaf=lambda t: isinstance(t, torch.Tensor))]


def check_case(
    table: dict[str, Entry],
    case: Case,
    dtype: type,
    *,
    gradcheck: bool = False,
    eager: bool = False,
) -> None:
    """Run one ``module_db`` sample through torch and funcgrad and compare (see the module doc).

    With ``gradcheck``, check funcgrad's derivatives against finite differences instead
    (``fg.autodiff.gradcheck``, float64, forward and reverse mode). With ``eager``, funcgrad runs
    un-jitted too, op by op.
    """
    entry = table[case.name]
    sample = torch_samples(case.name, dtype, case.train)[case.index]
    ctor_args = _numpy(tuple(sample.constructor_input.args), dtype)
    ctor_kwargs = {k: _numpy(v, dtype) for k, v in sample.constructor_input.kwargs.items()}
    torch.manual_seed(0)
    ref = getattr(torch.nn, case.name)(
        *sample.constructor_input.args, **sample.constructor_input.kwargs
    )
    ref = ref.to(torch_dtype(dtype)).train(case.train)
    # torch's forward(input=...) keywords become positional: funcgrad's apply names its input x.
    bound = inspect.signature(ref.forward).bind(
        *sample.forward_input.args, **sample.forward_input.kwargs
    )
    # The inputs' leaves: an LSTM's hx is a tuple (h_0, c_0), each differentiated like the input.
    inputs, tree = jax.tree.flatten([_numpy(a, dtype) for a in bound.args])
    kw = {k: _numpy(v, dtype) for k, v in bound.kwargs.items()}
    wrt = [i for i, a in enumerate(inputs) if _is_float(a)]
    params, buffers = torch_state(ref, dtype)  # before torch's call updates its buffers in place

    # torch: the outputs, a random cotangent on the float ones, the gradients, the buffers after.
    t_inputs = [
        torch.tensor(a, requires_grad=i in wrt) if isinstance(a, np.ndarray) else a
        for i, a in enumerate(inputs)
    ]
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out_t = ref(*jax.tree.unflatten(tree, t_inputs), **t_kw)
    rng = np.random.default_rng(0)
    leaves_t = _torch_leaves(out_t)
    vs = [
        rng.standard_normal(tuple(t.shape)).astype(dtype) if t.is_floating_point() else None
        for t in leaves_t
    ]
    total = sum(
        (t * torch.tensor(v)).sum() for t, v in zip(leaves_t, vs, strict=True) if v is not None
    )
    total.backward()
    expected_out = [t.detach().numpy() for t in leaves_t]
    expected_g_in = [t_inputs[i].grad.numpy() for i in wrt]
    named = dict(ref.named_parameters())
    expected_g_p = fg.unflatten_dict(
        {
            n: p.grad.numpy() if p.grad is not None else np.zeros(p.shape, dtype)
            for n, p in named.items()
        }
    )
    expected_buffers = {n: b.numpy().copy() for n, b in ref.named_buffers()}
    if isinstance(entry, fg.nn.LossEntry):
        # a loss's class weight is a buffer in torch, an argument here
        buffers = expected_buffers = {}

    if isinstance(entry, fg.nn.LossEntry) and not named:  # a loss with params runs as a layer

        def run(p: Any, *args: Any) -> tuple[Any, Any]:
            return entry.functional(*args, *ctor_args, **ctor_kwargs, **kw), {}

    else:
        module = entry.module(*ctor_args, **ctor_kwargs)

        def run(p: Any, *args: Any) -> tuple[Any, Any]:
            key = jax.random.key(0) if case.train else None
            return module.apply(p, *args, buffers=buffers, train=case.train, key=key, **kw)

    if gradcheck:
        args = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in inputs]

        def f(p: Any, *diff: Any) -> Any:
            full = jax.tree.unflatten(tree, _with(args, wrt, diff))
            return [
                leaf
                for leaf in jax.tree.leaves(run(p, *full))
                if jnp.issubdtype(leaf.dtype, jnp.floating)
            ]

        fg.autodiff.gradcheck(f, params, *(args[i] for i in wrt))
        return

    def step(p: Any, *args: Any) -> Any:
        def f(p: Any, *diff: Any) -> Any:
            out, new_b = run(p, *jax.tree.unflatten(tree, _with(args, wrt, diff)))
            leaves = jax.tree.leaves(out)
            total = sum(
                (leaf * v).sum() for leaf, v in zip(leaves, vs, strict=True) if v is not None
            )
            return total, (leaves, new_b)

        (_, (leaves, new_b)), grads = jax.value_and_grad(
            f, argnums=tuple(range(len(wrt) + 1)), has_aux=True
        )(p, *(args[i] for i in wrt))
        return leaves, grads, new_b

    def check(variant: Callable[..., Any]) -> None:
        args = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in inputs]
        leaves, (g_p, *g_in), new_b = variant(step)(params, *args)
        assert len(leaves) == len(expected_out), f"{len(leaves)} outputs, torch {len(expected_out)}"
        for n, (a, e) in enumerate(zip(leaves, expected_out, strict=True)):
            if np.issubdtype(e.dtype, np.floating):
                assert a.dtype == dtype, f"output {n} dtype {a.dtype}, expected {dtype}"
                assert_close(a, e, dtype, f"output {n}", equal_nan=True)
            else:
                np.testing.assert_array_equal(np.asarray(a), e, err_msg=f"output {n}")
        for i, g, e in zip(wrt, g_in, expected_g_in, strict=True):
            assert_close(g, e, dtype, f"grad wrt input {i}", equal_nan=True)
        if named:
            assert_close(g_p, expected_g_p, dtype, "grad wrt params", equal_nan=True)
        assert_buffers_equal(new_b, expected_buffers, dtype, "buffers")

    for_each_variant(check, eager=eager)


def _normal(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _pooled(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``MaxUnpool<n>d``'s inputs: torch's max-pool values and indices on a random batch."""
    values, indices = getattr(torch.nn.functional, f"max_pool{n}d")(
        torch.from_numpy(_normal(2, 3, *(4,) * n)), 2, return_indices=True
    )
    return values.numpy(), indices.numpy()


# Layers module_db has no samples for that need constructor arguments or more than one input:
# (args, kwargs, inputs) of an example, which first_sample gives instead.
NO_MODULE_DB: dict[str, Callable[[], tuple[tuple[Any, ...], dict[str, Any], tuple[Any, ...]]]] = {
    "Unfold": lambda: (((2, 3),), {"stride": (1, 2)}, (_normal(2, 3, 5, 6),)),
    # 3 x 3 blocks of 2 channels x 2 x 3 taps
    "Fold": lambda: (((4, 5), (2, 3)), {}, (_normal(2, 12, 9),)),
    **{f"MaxUnpool{n}d": functools.partial(lambda n: ((2,), {}, _pooled(n)), n) for n in (1, 2, 3)},
    "CosineSimilarity": lambda: ((), {}, (_normal(3, 4), _normal(3, 4))),
    "PairwiseDistance": lambda: ((), {}, (_normal(3, 4), _normal(3, 4))),
    # (target, memory), sequence-first: the decoder stack has no module_db entry of its own
    "TransformerDecoder": lambda: (
        (torch.nn.TransformerDecoderLayer(4, 2, 8, dropout=0.0), 2),
        {},
        (_normal(3, 2, 4), _normal(5, 2, 4)),
    ),
}


def first_sample(name: str) -> tuple[tuple[Any, ...], dict[str, Any], tuple[Any, ...]]:
    """Constructor arguments and inputs of ``module_db``'s first eval sample of ``torch.nn.<name>``
    (float32): an example any test can build a new layer from and call, with no table of its own.
    ``inputs`` are every positional input of torch's ``forward`` (an LSTM cell's ``(x, hx)``,
    attention's query, key and value). A layer of ``NO_MODULE_DB`` gives its example there."""
    if name in NO_MODULE_DB:
        return NO_MODULE_DB[name]()
    sample = torch_samples(name, np.float32, train=False)[0]
    ref = getattr(torch.nn, name)(*sample.constructor_input.args, **sample.constructor_input.kwargs)
    bound = inspect.signature(ref.forward).bind(
        *sample.forward_input.args, **sample.forward_input.kwargs
    )
    ctor = sample.constructor_input
    inputs = [_numpy(a, np.float32) for a in bound.args]
    while inputs and inputs[-1] is None:  # masks left at their default, bound positionally
        inputs.pop()
    # float tensors among the constructor's keywords in the sample's dtype (module_db builds
    # fractional pooling's _random_samples in float64 whatever the sample's dtype)
    kwargs = {
        k: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
        for k, v in ctor.kwargs.items()
    }
    return _numpy(tuple(ctor.args), np.float32), kwargs, tuple(inputs)
