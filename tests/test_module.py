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
    """A user's module written the plain way: apply(params, x) only."""

    def init(self, key):
        return {"s": jax.random.normal(key, ())}

    def apply(self, params, x):
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

    def apply(self, params, x):
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
