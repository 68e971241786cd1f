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

import funcgrad as fg

LOSSES = list(fg.nn.LOSSES)


@pytest.mark.parametrize("name", LOSSES)
def test_constructor_signature_is_torchs(name: str) -> None:
    ours = inspect.signature(fg.nn.LOSSES[name].module).parameters
    theirs = inspect.signature(getattr(torch.nn, name).__init__).parameters
    theirs = {
        k: p
        for k, p in theirs.items()
        if k != "self" and (k in ours or k not in ("device", "dtype"))
    }
    assert list(ours) == list(theirs)
    for k, p in theirs.items():
        assert ours[k].kind == p.kind, k
        assert ours[k].default == p.default, k


def _numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return jnp.asarray(value.detach().numpy())
    if isinstance(value, list | tuple):
        return type(value)(_numpy(v) for v in value)
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    return value


MODULE_DB = [name for name in LOSSES if module_info(name) is not None]


@pytest.mark.parametrize("name", MODULE_DB)
def test_module_db_samples_through_the_module(x64: None, name: str) -> None:
    """``module_db``'s first sample (tests/test_layer_table.py runs every sample of the module and
    its functional), float64, eval mode, each input its own leaf."""
    samples = torch_samples(name, np.float64, train=False)[:1]
    for n, sample in enumerate(samples):
        ctor = sample.constructor_input
        torch.manual_seed(0)
        ref = getattr(torch.nn, name)(*ctor.args, **ctor.kwargs).double()
        bound = inspect.signature(ref.forward).bind(
            *sample.forward_input.args, **sample.forward_input.kwargs
        )
        # module_db may pass one tensor twice (KLDivLoss's input and target): torch's gradient
        # is then the total derivative. funcgrad takes them as separate arguments: so does torch
        # here, each input its own leaf.
        inputs = [
            a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor) else a
            for a in bound.args
        ]
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
        params = _numpy(dict(ref.named_parameters()))  # LinearCrossEntropyLoss's linear
        params = fg.unflatten_dict({k: p.astype(jnp.float64) for k, p in params.items()})
        args = [_numpy(a) for a in inputs]

        def f(
            *d: jax.Array,
            module: Any = module,
            params: Any = params,
            args: list[Any] = args,
            diff: Any = diff,
        ) -> jax.Array:
            full = list(args)
            for i, x in zip(diff, d, strict=True):
                full[i] = x
            return module.apply(params, *full)

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


def _weighted_net() -> torch.nn.Module:
    """A model keeping its criteria, each with a class weight torch holds as a buffer."""

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)
            self.criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5]))
            self.bce = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0, 1.0, 0.5]))
            self.head = torch.nn.LinearCrossEntropyLoss(
                4,
                3,
                out_features=(2,),
                bias=True,
                weight=torch.tensor([0.5, 1.0, 2.0]),
                options=torch.nn.LinearCrossEntropyOptions(),
            )

        def forward(self, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            z = self.fc(x)
            return self.criterion(z, y) + self.bce(z, t) + self.head(x, y[:, None].repeat(1, 2))

    torch.manual_seed(0)
    return Net().double()


def test_a_converted_model_with_class_weights_agrees_with_torch(x64: None) -> None:
    """torch keeps a loss's ``weight`` / ``pos_weight`` as a buffer, the converted source as a
    constructor argument: the state_dict split skips them, and outputs and gradients agree."""
    net = _weighted_net()
    torch.manual_seed(1)
    x, y = torch.randn(5, 4, dtype=torch.float64, requires_grad=True), torch.tensor([0, 2, 1, 1, 0])
    t = torch.rand(5, 3, dtype=torch.float64)
    conv = fg.interop.convert(net, (x, y, t))
    assert "fg.nn.BCEWithLogitsLoss(pos_weight=(3.0, 1.0, 0.5))" in conv.source
    assert conv.model.criterion == fg.nn.CrossEntropyLoss(weight=(1.0, 2.0, 0.5))
    assert conv.model.head == fg.nn.LinearCrossEntropyLoss(
        4, 3, out_features=(2,), bias=True, weight=(0.5, 1.0, 2.0)
    )
    assert conv.buffers == {}
    assert fg.flatten_dict(conv.params).keys() == dict(net.named_parameters()).keys()
    params = fg.interop.from_torch(net, like=conv.model)  # as a user loads torch's weights
    assert fg.flatten_dict(params).keys() == fg.flatten_dict(conv.params).keys()

    out_t = net(x, y, t)
    out_t.backward()
    inputs = (jnp.asarray(y.numpy()), jnp.asarray(t.numpy()))
    out, (g_p, g_x) = jax.value_and_grad(
        lambda p, x: conv.model.apply(p, (x, *inputs)), argnums=(0, 1)
    )(params, jnp.asarray(x.detach().numpy()))
    assert_close(out, out_t.detach().numpy(), np.float64, "loss")
    assert_close(g_x, x.grad.numpy(), np.float64, "grad wrt x")
    for name, p in net.named_parameters():
        assert_close(fg.flatten_dict(g_p)[name], p.grad.numpy(), np.float64, f"grad wrt {name}")


@pytest.mark.parametrize(
    ("args", "kwargs"), [((16, 50), {}), ((8, 5), {"out_features": (4, 3), "bias": True})]
)
def test_linear_cross_entropy_loss_params_are_torchs(args: Any, kwargs: Any) -> None:
    """torch's state_dict names and shapes, and its Linear's U(-1/sqrt(in), 1/sqrt(in))."""
    ref = torch.nn.LinearCrossEntropyLoss(*args, **kwargs)
    params = fg.nn.LinearCrossEntropyLoss(*args, **kwargs).init(jax.random.key(0))
    flat = fg.flatten_dict(params)
    assert {k: tuple(v.shape) for k, v in flat.items()} == {
        k: tuple(v.shape) for k, v in ref.state_dict().items()
    }
    bound = 1 / np.sqrt(args[0])
    for name, value in flat.items():
        w = np.asarray(value)
        assert w.dtype == np.float32 and np.abs(w).max() <= bound, name
        assert w.max() > 0.9 * bound and w.min() < -0.9 * bound, name  # fills the interval
        assert abs(w.std() - bound / np.sqrt(3)) < 0.15 * bound, name  # a uniform's spread
    assert not np.array_equal(flat["linear.weight"][0], flat["linear.weight"][1])


def test_linear_cross_entropy_loss_takes_torchs_dtype_and_jits(x64: None) -> None:
    loss = fg.nn.LinearCrossEntropyLoss(
        3, 4, dtype=torch.float64, options=torch.nn.LinearCrossEntropyOptions()
    )
    params = loss.init(jax.random.key(0))
    assert params["linear"]["weight"].dtype == jnp.float64
    x, y = jnp.ones((2, 3)), jnp.array([0, 3])
    step = jax.jit(lambda m, p, x, y: m.apply(p, x, y), static_argnums=0)
    assert np.allclose(step(loss, params, x, y), loss.apply(params, x, y))
    out, buffers = loss.apply(params, x, y, buffers={}, train=True)
    assert buffers == {} and loss.init_buffers() == {}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weight": np.ones(3)}, "weight must have one entry per class"),
        ({"label_smoothing": 1.5}, "label_smoothing must lie in"),
        ({"reduction": "avg"}, "reduction must be"),
    ],
)
def test_linear_cross_entropy_loss_refuses_what_torch_refuses(kwargs: Any, match: str) -> None:
    with pytest.raises((RuntimeError, ValueError)):
        torch.nn.LinearCrossEntropyLoss(
            3, 4, **{k: torch.tensor(v) if k == "weight" else v for k, v in kwargs.items()}
        )(torch.ones(2, 3), torch.tensor([0, 1]))
    with pytest.raises(fg.nn.ConfigError, match=rf"^LinearCrossEntropyLoss\(.*{match}"):
        fg.nn.LinearCrossEntropyLoss(3, 4, **kwargs)


@pytest.mark.parametrize(
    ("shapes", "kwargs", "match"),
    [
        (((2, 2, 3), (4, 3), (2, 2)), {}, "input must be"),
        (((2, 3), (4, 5), (2,)), {}, "features"),
        (((2, 3), (4, 3), (2,)), {"linear_bias": (3,)}, "linear_bias must have shape"),
        (((3,), (4, 2, 3), (2,)), {}, "needs a batched input"),
        (((2, 3), (4, 3), (2, 4)), {"ignore_index": 1}, "ignore_index cannot be given"),
    ],
)
def test_linear_cross_entropy_refuses_what_torch_refuses(
    shapes: Any, kwargs: Any, match: str
) -> None:
    x, w, t = (np.random.default_rng(0).standard_normal(s).astype(np.float32) for s in shapes)
    t = t if t.shape == (2, 4) else np.zeros(t.shape, np.int64)  # probabilities or indices
    bias = {k: np.ones(v, np.float32) for k, v in kwargs.items() if k == "linear_bias"}
    rest = {k: v for k, v in kwargs.items() if k != "linear_bias"}
    with pytest.raises(RuntimeError):
        torch_bias = {k: torch.tensor(v) for k, v in bias.items()}
        torch.nn.functional.linear_cross_entropy(
            torch.tensor(x), torch.tensor(w), torch.tensor(t), **torch_bias, **rest
        )
    with pytest.raises(ValueError, match=rf"^linear_cross_entropy: .*{match}"):
        fg.losses.linear_cross_entropy(
            jnp.asarray(x), jnp.asarray(w), jnp.asarray(t), **bias, **rest
        )
