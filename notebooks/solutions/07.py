"""Reference answers for the exercises of notebook 07, and a wrong answer for each (the tests run both)."""

import jax
import jax.numpy as jnp


def hvp(f, x, v):
    """Forward over reverse: the JVP of the gradient is H v."""
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def make_safe_log1pexp():
    @jax.custom_vjp
    def log1pexp(x):
        return jnp.log1p(jnp.exp(x))  # the naive forward pass; only the rule changes

    def fwd(x):
        return log1pexp(x), x

    def bwd(x, g):
        return (g * jax.nn.sigmoid(x),)

    log1pexp.defvjp(fwd, bwd)
    return log1pexp


def dropout_masks(key, n, shape):
    keys = jax.random.split(key, n)
    return jax.vmap(lambda k: jax.random.bernoulli(k, 0.5, shape))(keys)


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_hvp(f, x, v):
    """The gradient times v, elementwise: not a Hessian-vector product."""
    return jax.grad(f)(x) * v


def wrong_make_safe_log1pexp():
    """The naive function with no custom rule: its gradient at 100 is nan."""
    return lambda x: jnp.log1p(jnp.exp(x))


def wrong_dropout_masks(key, n, shape):
    """Reuses the key: n identical masks."""
    return jnp.stack([jax.random.bernoulli(key, 0.5, shape) for _ in range(n)])
