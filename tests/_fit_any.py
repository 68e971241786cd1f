"""A user's own model, loss and optimiser for ``fit`` (shared by test_fit_any_model.py and its kill run)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

import funcgrad as fg

EPOCHS, BATCH = 6, 64  # 22 steps an epoch on the digits' 1438 training images

NET = fg.nn.Sequential(
    fg.nn.Conv2d(1, 8, 3), fg.nn.ReLU(), fg.nn.Flatten(), fg.nn.Linear(8 * 6 * 6, 10)
)
# One optimiser object for every run of a process: fit then compiles its programs once.
OPTIMIZER = optax.adamw(3e-3, weight_decay=1e-4)


def digit_images() -> fg.data.Dataset:
    """The bundled digits as (1, 8, 8) images: a 3x3 conv needs no upsampling."""
    return fg.data.as_images(fg.data.load_digits(), min_size=3)


def smoothed_cross_entropy(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """A user's own loss: cross-entropy with label smoothing 0.05, written out by hand."""
    logp = jax.nn.log_softmax(outputs, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[:, None], axis=1)[:, 0]
    return jnp.mean(0.95 * nll - 0.05 * jnp.mean(logp, axis=-1))


def fit_digits(
    net: fg.nn.Module = NET, optimizer: optax.GradientTransformation = OPTIMIZER, **settings
) -> fg.train.FitResult:
    """``fit`` ``net`` on :func:`digit_images` with the loss above; ``settings`` override the rest."""
    settings = {
        "loss": smoothed_cross_entropy,
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "key": 0,
        "progress": "none",
    } | settings
    return fg.train.fit(net, digit_images(), optimizer=optimizer, **settings)
