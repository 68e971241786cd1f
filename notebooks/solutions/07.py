"""Reference answers for the exercises of notebook 07 (its check cells import them)."""

import jax
import jax.numpy as jnp


def hvp(f, x, v):
    """Forward over reverse: the JVP of the gradient is H v."""
    return jax.jvp(jax.grad(f), (x,), (v,))[1]


def make_safe_log1pexp():
    @jax.custom_vjp
    def log1pexp(x):
        return jnp.logaddexp(0.0, x)

    def fwd(x):
        return log1pexp(x), x

    def bwd(x, g):
        return (g * jax.nn.sigmoid(x),)

    log1pexp.defvjp(fwd, bwd)
    return log1pexp


def dropout_masks(key, n, shape):
    keys = jax.random.split(key, n)
    return jax.vmap(lambda k: jax.random.bernoulli(k, 0.5, shape))(keys)
