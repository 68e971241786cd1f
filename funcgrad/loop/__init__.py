"""The pieces to write your own training loop: a step, a fused epoch, evaluation and the state.

This is library core: nothing here writes files, prints, or sets process-global state. ``fit`` in
:mod:`funcgrad.train` (the application layer) is built from these pieces alone.

The builders apply the model to whole batches (as torch does), thread its buffers
(``model.apply(params, x, buffers=..., train=True, key=step_key)``) and take ``jit`` (default
``jax.jit``) so that an application can pass its own compile options.

Example:
    >>> import jax, jax.numpy as jnp, optax, funcgrad as fg
    >>> model, opt = fg.nn.Linear(3, 1), optax.sgd(0.1)
    >>> params = model.init(jax.random.key(0))
    >>> step = fg.loop.make_step(model, fg.losses.mse_loss, opt)
    >>> x, y = jnp.ones((4, 3)), jnp.ones((4, 1))
    >>> params, buffers, opt_state, loss = step(params, {}, opt.init(params), x, y,
    ...                                         jnp.arange(4), jax.random.key(1))
    >>> loss.shape
    ()
"""

from funcgrad.loop._batches import epoch_batches, step_key
from funcgrad.loop._evaluate import make_evaluate
from funcgrad.loop._state import TrainState
from funcgrad.loop._step import batch_loss, make_epoch, make_step

__all__ = [
    "TrainState",
    "batch_loss",
    "epoch_batches",
    "make_epoch",
    "make_evaluate",
    "make_step",
    "step_key",
]
