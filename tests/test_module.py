"""The module contract itself: plain apply, buffers, keys by name, error paths, scopes, Batched."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import funcgrad as fg


def test_batched_is_vmap_over_examples():
    net = fg.models.MyNet(12, 5, 4, 3)
    params = net.init(jax.random.PRNGKey(0))
    xs = jax.random.normal(jax.random.PRNGKey(1), (6, 3, 4))
    batched = fg.nn.Batched(net).apply(params, xs)
    one_by_one = jnp.stack([net.apply(params, x) for x in xs])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-6)


def test_modules_are_hashable_static_values():
    assert hash(fg.nn.Linear(3, 2)) == hash(fg.nn.Linear(3, 2))
    f = jax.jit(lambda m, p, x: m.apply(p, x), static_argnums=0)
    layer = fg.nn.Linear(3, 2)
    params = layer.init(jax.random.PRNGKey(0))
    np.testing.assert_allclose(
        f(layer, params, jnp.ones(3)), layer.apply(params, jnp.ones(3)), rtol=1e-6
    )


# The contract itself, on user-defined modules (what funcgrad promises a module author).


@dataclasses.dataclass(frozen=True)
class Scale(fg.nn.Module):
    """A user's module written the plain way: stateless(params, x) only."""

    def init(self, key):
        return {"s": jax.random.normal(key, ())}

    def stateless(self, params, x):
        return params["s"] * x


@dataclasses.dataclass(frozen=True)
class Counter(fg.nn.Module):
    """A user's module with a buffer: counts training calls, as num_batches_tracked does."""

    def init(self, key):
        return {}

    def init_buffers(self):
        return {"count": jnp.zeros((), jnp.int32)}

    def forward(self, params, x, *, buffers, train, key):
        return x, {"count": buffers["count"] + int(train)}


@dataclasses.dataclass(frozen=True)
class Noise(fg.nn.Module):
    """Records one draw from its own key under ``tag``, so a test can see which key it got."""

    tag: str

    def init(self, key):
        return {}

    def forward(self, params, x, *, buffers, train, key):
        return {**x, self.tag: jax.random.normal(key, ())}, buffers


@dataclasses.dataclass(frozen=True)
class Picky(fg.nn.Module):
    """Raises the layer error of the contract on any input."""

    def init(self, key):
        return {}

    def stateless(self, params, x):
        raise fg.nn.ModuleError("expected 4-D input; add a batch axis")


def test_plain_apply_accepts_buffers_train_and_key():
    m = Scale()
    params = m.init(jax.random.PRNGKey(0))
    x = jnp.arange(3.0)
    expected = params["s"] * x
    np.testing.assert_array_equal(m.apply(params, x), expected)
    y, buffers = m.apply(params, x, buffers={}, train=True, key=jax.random.PRNGKey(1))
    np.testing.assert_array_equal(y, expected)
    assert buffers == {}
    assert m.init_buffers() == {}


def test_module_with_buffers_needs_buffers_and_shows_the_call():
    m = Counter()
    with pytest.raises(fg.nn.ModuleError, match=r"buffers=buffers.*init_buffers\(\)") as e:
        m.apply({}, jnp.ones(2))
    assert type(e.value).__module__ == "funcgrad.nn"
    b = m.init_buffers()
    _, b = m.apply({}, jnp.ones(2), buffers=b, train=True)
    _, b = m.apply({}, jnp.ones(2), buffers=b, train=True)
    _, same = m.apply({}, jnp.ones(2), buffers=b, train=False)
    assert int(b["count"]) == 2 and int(same["count"]) == 2
    # Inside a Sequential the buffers are keyed by the layer's name, as torch's named_buffers().
    net = fg.nn.Sequential(Scale(), Counter())
    assert list(net.init_buffers()) == ["1"]
    with pytest.raises(fg.nn.ModuleError, match="has buffers"):
        net.apply(net.init(jax.random.PRNGKey(0)), jnp.ones(2))


def test_child_keys_are_folded_by_name_not_split_by_position():
    """Adding a layer leaves every other layer's key (so its dropout mask) as it was."""
    key = jax.random.PRNGKey(0)
    small = fg.nn.Sequential({"a": Noise("a"), "b": Noise("b")})
    grown = fg.nn.Sequential({"a": Noise("a"), "new": Noise("new"), "b": Noise("b")})
    y_small = small.apply({}, {}, key=key)
    y_grown = grown.apply({}, {}, key=key)
    assert float(y_small["a"]) == float(y_grown["a"])
    assert float(y_small["b"]) == float(y_grown["b"])
    assert len({float(v) for v in y_grown.values()}) == 3  # each layer its own key
    other = fg.nn.Sequential({"a": Noise("a"), "b": Noise("b")}).apply(
        {}, {}, key=jax.random.PRNGKey(1)
    )
    assert float(other["a"]) != float(y_small["a"])


def test_module_error_path_is_prefixed_through_nested_sequentials():
    inner = fg.nn.Sequential(fg.nn.ReLU(), Picky())
    net = fg.nn.Sequential({"features": fg.nn.Sequential(fg.nn.Identity(), inner)})
    with pytest.raises(fg.nn.ModuleError) as e:
        net.apply({}, jnp.ones(3))
    assert str(e.value) == "features.1.1: expected 4-D input; add a batch axis"
    assert e.value.path == "features.1.1"


def test_apply_and_children_run_in_named_scopes():
    net = fg.nn.Sequential({"body": fg.nn.Sequential(Scale())})
    params = net.init(jax.random.PRNGKey(0))
    jaxpr = jax.make_jaxpr(net.apply)(params, jnp.ones(2))
    assert {str(e.source_info.name_stack) for e in jaxpr.jaxpr.eqns} == {
        "Sequential/body/Sequential/0/Scale"
    }


# No rewrite: Module.apply is never replaced; hooks that cannot be honoured are refused up front.


@dataclasses.dataclass(frozen=True)
class Recorder(fg.nn.Module):
    """A user's apply with **kwargs: it sees exactly what the caller passed."""

    def init(self, key):
        return {}

    def apply(self, params, x, **kwargs):
        return x, kwargs


def test_full_apply_is_called_exactly_as_written():
    assert Recorder.apply is not fg.nn.Module.apply
    key = jax.random.PRNGKey(0)
    _, seen = Recorder().apply({}, 1.0, buffers={"a": 1}, train=True, key=key)
    assert seen["buffers"] == {"a": 1} and seen["train"] is True and seen["key"] is key
    # through a container, with the child's buffers and its own folded key
    net = fg.nn.Sequential({"rec": Recorder()})
    # (Recorder's "buffers" are the keywords it got, so the container hands them back.)
    y, new = net.apply({}, 1.0, buffers={"rec": {"n": 2}}, train=True, key=key)
    seen = new["rec"]
    assert y == 1.0 and seen["buffers"] == {"n": 2} and seen["train"] is True
    assert bool((seen["key"] == fg.nn.child_key(key, "rec")).all())
    assert Scale.apply is fg.nn.Module.apply  # a stateless module keeps the base apply


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("def apply(self, params, x): return x", r"rename it to stateless\(self, params, x\)"),
        ("def apply(self, params, x, *, buffers, train, key): return x", "accept buffers=None"),
        ("def apply(self, params, buffers=None, train=False, key=None): return 0", "cannot be"),
        (
            "def stateless(self, params, x): return x\n"
            "    def forward(self, params, x, *, buffers, train, key): return x, buffers",
            "both stateless and forward",
        ),
    ],
)
def test_hooks_that_cannot_be_honoured_are_refused_at_class_creation(body, match):
    source = f"class Bad(fg.nn.Module):\n    def init(self, key): return {{}}\n    {body}\n"
    with pytest.raises(TypeError, match=match) as e:
        exec(source, {"fg": fg})
    assert "\n" not in str(e.value)


def test_stateless_under_a_base_forward_is_refused():
    with pytest.raises(TypeError, match="stateless would never run.*override forward"):

        class Quiet(fg.nn.Dropout):
            def stateless(self, params, x):
                return x


def test_neither_hook_names_both():
    @dataclasses.dataclass(frozen=True)
    class Empty(fg.nn.Module):
        def init(self, key):
            return {}

    with pytest.raises(NotImplementedError, match="neither stateless.*nor forward"):
        Empty().apply({}, jnp.ones(2))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: fg.nn.Linear(-1, 2), r"^Linear\(-1, 2\): .*in_features >= 0"),
        (lambda: fg.nn.Conv2d(4, 4, 3, groups=3), r"^Conv2d: .*pick groups"),
        (lambda: fg.nn.Conv2d(1, 1, 0), r"^Conv2d: .*kernel_size"),
        (lambda: fg.nn.Dropout(1.5), r"^Dropout\(p=1.5\): .*use 0 <= p <= 1"),
        (lambda: fg.nn.Embedding(3, 2, sparse=True, scale_grad_by_freq=True), r"Embedding"),
        (lambda: fg.nn.GroupNorm(4, 6), r"^GroupNorm\(4, 6\): .*divides num_channels"),
        (lambda: fg.nn.BatchNorm2d(3, momentum=2.0), r"^BatchNorm2d\(momentum=2.0\): .*use 0 <="),
        (lambda: fg.nn.Sequential({"a.b": fg.nn.ReLU()}), r"^Sequential: .*rename it"),
        (lambda: fg.models.MyNet(4, 0, 2, 1), r"^MyNet\(4, 0, 2, 1\): .*positive ints"),
        (lambda: fg.models.SingleLayer(-2, 1), r"^SingleLayer\(-2, 1\): .*>= 0"),
        (lambda: fg.models.ConvNet(num_classes=3), r"^ConvNet: give both"),
        (lambda: fg.models.LeNet5(image_size=(8, 8)), r"^LeNet5: .*use at least 12x12"),
    ],
)
def test_bad_hyper_parameters_raise_config_error(make, match):
    with pytest.raises(fg.nn.ConfigError, match=match) as e:
        make()
    assert isinstance(e.value, ValueError) and type(e.value).__module__ == "funcgrad.nn"
    assert "\n" not in str(e.value)


def test_apply_passes_further_inputs_and_flags_to_forward():
    # torch's LSTM(x, hx) and attention(q, k, v, need_weights=...): more inputs than x, as torch.
    @dataclasses.dataclass(frozen=True)
    class Mix(fg.nn.Module):
        def init(self, key):
            return {}

        def forward(self, params, x, y=None, *, buffers, train, key, scale=1.0):
            return scale * (x + (0.0 if y is None else y)), buffers

    m = Mix()
    x = jnp.arange(3.0)
    np.testing.assert_allclose(m.apply({}, x, x, scale=2.0), 4 * x)
    y, b = m.apply({}, x, 10.0, buffers={}, train=True)
    np.testing.assert_allclose(y, x + 10.0)
    assert b == {}
    with pytest.raises(TypeError):
        fg.nn.Linear(3, 2).apply(fg.nn.Linear(3, 2).init(jax.random.PRNGKey(0)), x, x)
