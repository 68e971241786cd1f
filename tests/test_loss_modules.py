"""The loss modules of ``fg.nn`` (``fg.nn.CrossEntropyLoss``, ...) against torch's.

* Each has torch's constructor signature (names, order, keyword-only-ness, defaults).
* Each runs torch's ``module_db`` samples as a module: built from the sample's constructor
  arguments (positional ones in torch's order), called with its forward inputs, value and VJP with
  respect to every float input torch differentiates (the functional forms run every sample in
  tests/test_layer_table.py; this checks the module wrapping, and the losses whose targets torch
  does not differentiate).
* The Module contract (no params or buffers, ``buffers=`` returns ``(y, {})``, hashable under
  ``jax.jit``), torch's legacy ``size_average``/``reduce``, and a converted model's criterion.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _layer_samples import module_info, torch_samples
from _parity import assert_close
from _torch_samples import every_kth

import funcgrad as fg

LOSSES = list(fg.nn.LOSSES)


@pytest.mark.parametrize("name", LOSSES)
def test_constructor_signature_is_torchs(name: str) -> None:
    ours = inspect.signature(fg.nn.LOSSES[name].module).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    theirs = {k: p for k, p in theirs.items() if k not in ("self", "device", "dtype")}
    assert list(ours) == list(theirs)
    for k, p in theirs.items():
        assert ours[k].kind == p.kind, k
        assert ours[k].default == p.default, k


def _numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return jnp.asarray(value.detach().numpy())
    if isinstance(value, list | tuple):
        return type(value)(_numpy(v) for v in value)
    return value


MODULE_DB = [name for name in LOSSES if module_info(name) is not None]


@pytest.mark.parametrize("name", MODULE_DB)
def test_module_db_samples_through_the_module(x64: None, name: str) -> None:
    """Every (at most 8, evenly spread) ``module_db`` sample, float64, eval mode."""
    samples = every_kth(torch_samples(name, np.float64, train=False), 8)
    for n, sample in enumerate(samples):
        ctor = sample.constructor_input
        torch.manual_seed(0)
        ref = getattr(torch.nn, name)(*ctor.args, **ctor.kwargs).double()
        bound = inspect.signature(ref.forward).bind(
            *sample.forward_input.args, **sample.forward_input.kwargs
        )
        inputs = list(bound.args)
        out_t = ref(*inputs)
        diff = [
            i
            for i, a in enumerate(inputs)
            if isinstance(a, torch.Tensor) and a.requires_grad and a.is_floating_point()
        ]
        v = np.random.default_rng(n).standard_normal(tuple(out_t.shape))
        grads_t = torch.autograd.grad(
            (out_t * torch.tensor(v)).sum(), [inputs[i] for i in diff], allow_unused=True
        )
        module = fg.nn.LOSSES[name].module(*_numpy(ctor.args), **_numpy(ctor.kwargs))
        args = [_numpy(a) for a in inputs]

        def f(
            *d: jax.Array, module: Any = module, args: list[Any] = args, diff: Any = diff
        ) -> jax.Array:
            full = list(args)
            for i, x in zip(diff, d, strict=True):
                full[i] = x
            return module.apply({}, *full)

        out, pullback = jax.vjp(f, *(args[i] for i in diff))
        assert_close(out, out_t.detach().numpy(), np.float64, f"sample {n}: value", equal_nan=True)
        for i, g, g_t in zip(diff, pullback(jnp.asarray(v)), grads_t, strict=True):
            if g_t is not None:
                assert_close(g, g_t.numpy(), np.float64, f"sample {n}: grad {i}", equal_nan=True)


@pytest.mark.parametrize(
    ("size_average", "reduce"),
    [(None, None), (True, None), (False, None), (None, False), (False, True), (True, False)],
)
def test_legacy_size_average_and_reduce_set_the_reduction_as_torch(
    size_average: bool | None, reduce: bool | None
) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that the pair is deprecated
        expected = torch.nn.MSELoss(size_average, reduce, reduction="sum").reduction
    ours = fg.nn.MSELoss(size_average, reduce, reduction="sum")
    assert ours.reduction == expected
    x = jnp.array([1.0, 2.0])
    out = ours.apply({}, x, jnp.zeros(2))
    assert np.allclose(out, {"mean": 2.5, "sum": 5.0, "none": [1.0, 4.0]}[expected])


def test_a_loss_module_follows_the_module_contract() -> None:
    criterion = fg.nn.CrossEntropyLoss(weight=np.array([1.0, 2.0]), label_smoothing=0.1)
    assert criterion.init(jax.random.key(0)) == {} and criterion.init_buffers() == {}
    x, y = jnp.array([[1.0, -1.0], [0.5, 0.2]]), jnp.array([0, 1])
    out, buffers = criterion.apply({}, x, y, buffers={}, train=True)
    assert buffers == {}
    expected = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0]), label_smoothing=0.1)
    assert np.allclose(
        out, expected(torch.tensor(np.asarray(x)), torch.tensor(np.asarray(y)).long())
    )
    # hashable: a static argument of jit, and equal modules are one compiled program
    step = jax.jit(lambda m, x, y: m.apply({}, x, y), static_argnums=0)
    assert np.allclose(step(criterion, x, y), out)
    assert hash(criterion) == hash(
        fg.nn.CrossEntropyLoss(weight=jnp.array([1.0, 2.0]), label_smoothing=0.1)
    )


def test_a_bad_reduction_is_refused_by_the_constructor() -> None:
    with pytest.raises(fg.nn.ConfigError, match=r"^L1Loss\(reduction='avg'\)"):
        fg.nn.L1Loss(reduction="avg")


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"])
def test_an_out_of_range_class_under_jit_is_nan(name: str) -> None:
    """Labels are traced under jit, so they cannot be checked: the loss is NaN, never a number."""
    criterion = getattr(fg.nn, name)()
    x = jax.nn.log_softmax(jnp.array([[1.0, 2.0, 0.5], [0.1, 0.2, 0.3]]))
    good = jax.jit(criterion.apply)({}, x, jnp.array([0, 2]))
    bad = jax.jit(criterion.apply)({}, x, jnp.array([0, 3]))
    assert np.isfinite(good) and np.isnan(bad)
    with pytest.raises(IndexError, match="out of"):
        criterion.apply({}, x, jnp.array([0, 3]))


def test_a_converted_model_keeps_its_criterion() -> None:
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)
            self.criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.criterion(self.fc(x), y)

    torch.manual_seed(0)
    net, x, y = Net(), torch.randn(5, 4), torch.tensor([0, 2, 1, 1, 0])
    conv = fg.interop.convert(net, (x, y))
    assert "fg.nn.CrossEntropyLoss(label_smoothing=0.1)" in conv.source
    out = conv.model.apply(conv.params, (jnp.asarray(x.numpy()), jnp.asarray(y.numpy())))
    assert np.allclose(out, net(x, y).detach().numpy(), atol=1e-6)
