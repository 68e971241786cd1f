"""Training, the application layer: ``fit`` (the Python API behind ``funcgrad train``) and its parts.

``fit`` trains any funcgrad Module with any loss and optax optimiser, built only from the core
pieces in :mod:`funcgrad.loop`; around them it adds what an application does: the registry of
built-in models with their defaults, run folders, ``config.json``, ``metrics.jsonl``,
``loss.png``, progress output, orbax checkpoints with bitwise resume, and the fast CPU kernels
(``fast_jit``, the core's :func:`funcgrad.jit` with a slow-path warning; ``enable_fast_cpu_kernels``).

Example:
    >>> import funcgrad.train as T
    >>> result = T.fit("mynet", "digits", epochs=1, progress="none")
    >>> sorted(result.final)
    ['epoch', 'examples_per_second', 'seconds', 'test_accuracy', 'test_loss', 'train_loss']
"""

from funcgrad.train._batches import resolve_batch_size
from funcgrad.train._checkpoint import Checkpoints
from funcgrad.train._distributed import initialize
from funcgrad.train._errors import DivergenceError, TrainError
from funcgrad.train._fast import FAST_CPU_FLAG, FAST_CPU_OPTIONS, enable_fast_cpu_kernels, fast_jit
from funcgrad.train._fit import FitResult, fit
from funcgrad.train._setup import DEFAULTS, MODELS, OPTIMIZERS, build_model, make_optimizer

__all__ = [
    "DEFAULTS",
    "FAST_CPU_FLAG",
    "FAST_CPU_OPTIONS",
    "MODELS",
    "OPTIMIZERS",
    "Checkpoints",
    "DivergenceError",
    "FitResult",
    "TrainError",
    "build_model",
    "enable_fast_cpu_kernels",
    "fast_jit",
    "fit",
    "initialize",
    "make_optimizer",
    "resolve_batch_size",
]
