"""Which CPU kernels a compiled convolution gets, and one warning when it is the slow path.

jaxlib 0.10 hands CPU dots and convolutions to YNNPACK fusions by default, which on the notes'
ConvNet are about 3x slower than XLA's own Eigen kernels. The library core changes nothing about
that: it only reads the caller's choice. The choice is made in one of two ways, both by the
application (``funcgrad.train``):

* per program, with ``jax.jit(..., compiler_options=FAST_CPU_OPTIONS)``; ``fit``, the CLI, the
  scripts and the benchmark compile their own programs this way, inside :func:`fast_cpu_scope`;
* per process, with ``XLA_FLAGS`` holding :data:`FAST_CPU_FLAG` before JAX starts
  (``funcgrad.train.enable_fast_cpu_kernels()``).

When neither holds, tracing a convolution for a CPU warns once per process, with the fix.

Example:
    >>> FAST_CPU_FLAG
    '--xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot'
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import warnings
from collections.abc import Iterator

import jax

__all__ = [
    "FAST_CPU_FLAG",
    "FAST_CPU_OPTIONS",
    "SlowConvolutionWarning",
    "fast_cpu_scope",
    "note_cpu_convolution",
]

YNN_FUSION_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
FAST_CPU_FLAG = f"{YNN_FUSION_FLAG}=-individual_convolution,-individual_dot"
"""The ``XLA_FLAGS`` entry that sends CPU dots and convolutions to XLA's Eigen kernels."""
# The same choice as one program's compiler option. The option names the fusion kinds YNNPACK keeps;
# keeping only REDUCE compiles the same executable as the flag (checked on the optimized HLO of the
# ConvNet and MyNet steps); adding ELTWISE hands element-wise work to YNNPACK too, 2x slower.
FAST_CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE"}
"""``FAST_CPU_FLAG`` for one program: ``jax.jit(f, compiler_options=FAST_CPU_OPTIONS)``."""

_fast = contextvars.ContextVar("funcgrad_fast_cpu", default=False)


class SlowConvolutionWarning(UserWarning):
    """A CPU convolution is compiled on YNNPACK's path, about 3x slower on the notes' ConvNet."""

    __module__ = "funcgrad.nn"


@contextlib.contextmanager
def fast_cpu_scope() -> Iterator[None]:
    """Mark the tracing inside as compiled with :data:`FAST_CPU_OPTIONS` (no warning then)."""
    token = _fast.set(True)
    try:
        yield
    finally:
        _fast.reset(token)


def note_cpu_convolution() -> None:
    """Called while a convolution is traced: warn once if a CPU will run it on the slow path."""
    if _fast.get() or YNN_FUSION_FLAG in os.environ.get("XLA_FLAGS", ""):
        return
    if jax.default_backend() != "cpu":
        return
    warnings.warn(
        "funcgrad: this CPU convolution compiles on YNNPACK's kernels, about 3x slower than "
        "XLA's Eigen kernels for small convolutions; call "
        "funcgrad.train.enable_fast_cpu_kernels() before JAX starts, or compile with "
        "jax.jit(f, compiler_options=funcgrad.train.FAST_CPU_OPTIONS)",
        SlowConvolutionWarning,
        stacklevel=2,
    )
