"""Training: ``fit`` (the Python API behind ``funcgrad train``) and the pieces it is made of.

A jitted step from ``jax.value_and_grad`` and optax, shuffled minibatches from an explicit key,
an optional epoch fused with ``lax.scan``, evaluation, orbax checkpoints, ``metrics.jsonl`` and
``loss.png``.

Example:
    >>> import funcgrad.train as T
    >>> result = T.fit("mynet", "digits", epochs=1, progress="none")
    >>> sorted(result.final)
    ['epoch', 'examples_per_second', 'seconds', 'test_accuracy', 'test_loss', 'train_loss']
"""

from funcgrad.train._batches import epoch_batches, resolve_batch_size
from funcgrad.train._checkpoint import Checkpoints
from funcgrad.train._errors import DivergenceError, TrainError
from funcgrad.train._evaluate import make_evaluate
from funcgrad.train._fit import FitResult, fit
from funcgrad.train._setup import DEFAULTS, MODELS, OPTIMIZERS, build_model, make_optimizer
from funcgrad.train._state import TrainState
from funcgrad.train._step import batch_loss, make_epoch, make_step

__all__ = [
    "DEFAULTS",
    "MODELS",
    "OPTIMIZERS",
    "Checkpoints",
    "DivergenceError",
    "FitResult",
    "TrainError",
    "TrainState",
    "batch_loss",
    "build_model",
    "epoch_batches",
    "fit",
    "make_epoch",
    "make_evaluate",
    "make_optimizer",
    "make_step",
    "resolve_batch_size",
]
