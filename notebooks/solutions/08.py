"""Reference answers for the exercises of notebook 08, and a wrong answer for each (the tests run both)."""

import math

import jax
import jax.numpy as jnp


def _gru_step(params, h, x_t, reset_inside=True):
    gi = x_t @ params["weight_ih_l0"].T + params["bias_ih_l0"]
    gh = h @ params["weight_hh_l0"].T + params["bias_hh_l0"]
    i_r, i_z, i_n = jnp.split(gi, 3, axis=-1)  # torch's gate order: reset, update, new
    h_r, h_z, h_n = jnp.split(gh, 3, axis=-1)
    r = jax.nn.sigmoid(i_r + h_r)
    z = jax.nn.sigmoid(i_z + h_z)
    n = jnp.tanh(i_n + r * h_n) if reset_inside else jnp.tanh(i_n + h_n)
    h = (1 - z) * n + z * h
    return h, h


def _gru(params, xs, reset_inside):
    h0 = jnp.zeros((xs.shape[0], params["weight_hh_l0"].shape[1]), xs.dtype)
    h_n, out = jax.lax.scan(
        lambda h, x_t: _gru_step(params, h, x_t, reset_inside), h0, xs.swapaxes(0, 1)
    )
    return out.swapaxes(0, 1), h_n[None]


def gru(params, xs):
    """One GRU layer, batch first, as a scan over the time axis."""
    return _gru(params, xs, reset_inside=True)


def causal_attention(q, k, v):
    t = q.shape[-2]
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    scores = jnp.where(jnp.tril(jnp.ones((t, t), dtype=bool)), scores, -jnp.inf)
    return jax.nn.softmax(scores, axis=-1) @ v


def changed_positions():
    """Position 0 is seen by every later position; the last one by itself only."""
    return 8, 1


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_gru(params, xs):
    """Forgets the reset gate in the candidate: a different, simpler network."""
    return _gru(params, xs, reset_inside=False)


def wrong_causal_attention(q, k, v):
    """The mask transposed: each position sees the future, not the past."""
    t = q.shape[-2]
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    scores = jnp.where(jnp.triu(jnp.ones((t, t), dtype=bool)), scores, -jnp.inf)
    return jax.nn.softmax(scores, axis=-1) @ v


def wrong_changed_positions():
    """The intuition that an edit changes only its own position."""
    return 1, 1
