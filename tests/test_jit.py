"""``fg.jit``: a user's own step compiles with the same CPU options as ``fit``'s programs.

The check is on the options and the compiled executables, never on timings: a spy on ``jax.jit``
records what ``fit`` (``funcgrad train``'s engine) and ``fg.jit`` hand it, and the serialized
executables of one ConvNet step compiled both ways are compared byte for byte.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np
import optax
import pytest

import funcgrad as fg
from funcgrad.data import Dataset
from funcgrad.loop import make_step, step_key

on_fast_cpu = pytest.mark.skipif(
    not (jaxlib.__version__.startswith("0.10.") and jax.default_backend() == "cpu"),
    reason="the fast-kernel options exist on jaxlib 0.10's CPU backend only",
)
MODEL = fg.nn.Batched(fg.models.ConvNet(10, (12, 12)))


class Spy:
    """Records the keyword arguments of every ``jax.jit`` call, and compiles as jax.jit does."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, fun, **kwargs):
        self.calls.append((getattr(fun, "__name__", repr(fun)), kwargs))
        return self.real(fun, **kwargs)


@pytest.fixture
def spy(monkeypatch):
    recorder = Spy(jax.jit)
    monkeypatch.setattr(jax, "jit", recorder)
    return recorder


def _data(n=96):
    kx, ky = jax.random.split(jax.random.PRNGKey(1))
    x = np.asarray(jax.random.normal(kx, (n, 1, 12, 12)), np.float32)
    y = np.asarray(jax.random.randint(ky, (n,), 0, 10))
    return Dataset("tiny-images", x[:64], y[:64], x[64:], y[64:], num_classes=10)


def _users_step():
    """A library user's train step, as they would write it without fit."""
    opt = optax.adam(1e-3)

    def step(params, opt_state, x, y):
        def loss(p):
            return fg.losses.cross_entropy(MODEL.apply(p, x), y)

        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = opt.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state, value

    params = MODEL.init(jax.random.PRNGKey(0))
    x, y = jnp.ones((8, 1, 12, 12)), jnp.zeros(8, jnp.int32)
    return step, (params, opt.init(params), x, y)


def test_fg_jit_is_jax_jit_with_the_same_numbers():
    step, args = _users_step()
    got, want = fg.jit(step)(*args), jax.jit(step)(*args)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    # jax.jit's own arguments and methods pass through
    scaled = fg.jit(lambda x, n: x * n, static_argnums=(1,))
    assert float(scaled(jnp.array(2.0), 3)) == 6.0
    assert scaled.lower(jnp.array(2.0), 3).compile() is not None
    assert fg.jit(step).__name__ == "step"


@on_fast_cpu
def test_a_users_convnet_step_gets_the_options_of_funcgrad_train(spy):
    # fit with a loss of its own, so that its compiled programs are built (not cached) under the spy
    fg.train.fit(
        MODEL,
        _data(),
        loss=lambda out, y: fg.losses.cross_entropy(out, y),
        optimizer=optax.adam(1e-3),
        epochs=1,
        batch_size=32,
        progress="none",
    )
    fits = {
        kw.get("compiler_options") is not None and str(kw["compiler_options"])
        for _, kw in spy.calls
    }
    assert fits == {str(fg.train.FAST_CPU_OPTIONS)}, spy.calls  # every program fit compiles
    fit_options = spy.calls[0][1]["compiler_options"]

    spy.calls.clear()
    step, args = _users_step()
    users = fg.jit(step)
    assert [kw for _, kw in spy.calls] == [{"compiler_options": fit_options}]

    # The options reach the compiler: the same executable as jax.jit with fit's options, and not
    # the executable plain jax.jit builds.
    def executable(jitted):
        return jitted.lower(*args).compile().runtime_executable().serialize()

    mine = executable(users)
    assert mine == executable(spy.real(step, compiler_options=fit_options))
    assert mine != executable(spy.real(step))


@on_fast_cpu
def test_the_step_funcgrad_train_compiles_is_built_by_fg_jit(spy):
    # make_step with jit=fg.jit is fit's step program: the same options reach jax.jit
    step = make_step(MODEL, fg.losses.cross_entropy, optax.sgd(0.1), jit=fg.jit)
    assert spy.calls[-1][1] == {"compiler_options": fg.train.FAST_CPU_OPTIONS}
    params = MODEL.init(jax.random.PRNGKey(0))
    x, y = jnp.ones((8, 1, 12, 12)), jnp.zeros(8, jnp.int32)
    out = step(
        params,
        {},
        optax.sgd(0.1).init(params),
        x,
        y,
        jnp.arange(4),
        step_key(jax.random.PRNGKey(0), 0),
    )
    assert np.isfinite(float(out[-1]))


def test_own_options_win_and_fg_jit_reads_no_environment(spy, monkeypatch):
    fg.jit(lambda x: x, compiler_options={})
    assert spy.calls[-1][1] == {"compiler_options": {}}
    # XLA_FLAGS is the process's business: fg.jit gives the same arguments whatever it holds
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    fg.jit(lambda x: x)
    first = spy.calls[-1][1]
    monkeypatch.delenv("XLA_FLAGS")
    fg.jit(lambda x: x)
    assert spy.calls[-1][1] == first


def test_fast_jit_is_fg_jit_plus_the_applications_warning(spy):
    fg.train.fast_jit(lambda x: x)
    via_fast = spy.calls[-1][1]
    fg.jit(lambda x: x)
    assert spy.calls[-1][1] == via_fast
