"""The fast CPU kernels for the programs the application compiles, and the process-wide switch.

The per-program choice is the core's :func:`funcgrad.jit` (``jax.jit`` with
:data:`~funcgrad._cpu_kernels.FAST_CPU_OPTIONS` where they are valid). ``fast_jit`` is ``fg.jit``
plus the application's check: it reads ``XLA_FLAGS`` once when it builds a program, and warns
(:class:`~funcgrad.nn.SlowConvolutionWarning`) when a caller's own ``compiler_options`` leave a CPU
program on YNNPACK's kernels; the core reads no environment. ``enable_fast_cpu_kernels()`` is the
one process-wide call, for code that keeps a plain ``jax.jit``; it must run before JAX starts.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jaxlib

from funcgrad import _compat
from funcgrad._cpu_kernels import (
    FAST_CPU_FLAG,
    FAST_CPU_OPTIONS,
    YNN_FUSION_FLAG,
    SlowConvolutionWarning,
    slow_cpu_program,
)
from funcgrad._jit import jit, options_valid
from funcgrad.train._errors import TrainError

__all__ = ["FAST_CPU_FLAG", "FAST_CPU_OPTIONS", "enable_fast_cpu_kernels", "fast_jit"]

_MEASURED_JAXLIB = "0.10."  # the flag exists there (elsewhere it aborts the process)


def fast_jit(f: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """:func:`funcgrad.jit` (``jax.jit`` with ``FAST_CPU_OPTIONS``; your own options win), and a warning.

    Where the options are not valid (another jaxlib, a GPU or TPU) it is ``jax.jit(f, ...)``. When
    your ``compiler_options`` leave a CPU program on YNNPACK's kernels (and ``XLA_FLAGS`` does not
    choose otherwise) it warns once, with the fix.

    Example:
        >>> import jax.numpy as jnp
        >>> float(fast_jit(lambda x: x * 2)(jnp.array(1.5)))
        3.0
    """
    options = jit_kwargs.get("compiler_options", FAST_CPU_OPTIONS)
    # Read once, here where the program is built; nothing reads it while f is traced.
    if options_valid(jaxlib.__version__, jax.default_backend()) and slow_cpu_program(
        options, os.environ.get("XLA_FLAGS", "")
    ):
        warnings.warn(
            "funcgrad: this CPU program's own compiler_options leave its convolutions and dots "
            "on YNNPACK's kernels, about 3x slower than XLA's Eigen kernels for small "
            "convolutions; compile with fg.jit and no compiler_options, include "
            "funcgrad.train.FAST_CPU_OPTIONS in yours, or call "
            "funcgrad.train.enable_fast_cpu_kernels() before JAX starts",
            SlowConvolutionWarning,
            stacklevel=2,
        )
    return jit(f, **jit_kwargs)


def enable_fast_cpu_kernels() -> str:
    """Give every CPU program of this process XLA's Eigen convolutions and dots; call before JAX starts.

    Adds :data:`~funcgrad._cpu_kernels.FAST_CPU_FLAG` to ``XLA_FLAGS`` (child processes inherit
    it) and returns the flag. Does nothing where ``XLA_FLAGS`` already chooses YNN fusion types
    (your choice wins) or on a jaxlib other than 0.10.x (the flag would abort the process there);
    then it returns ``""``. Raises :class:`TrainError` if JAX's backend already started, since
    XLA reads the flag only then.

    Example:
        >>> enable_fast_cpu_kernels()  # doctest: +SKIP
        '--xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot'
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if YNN_FUSION_FLAG in flags or not jaxlib.__version__.startswith(_MEASURED_JAXLIB):
        return ""
    if _compat.backend_started():
        raise TrainError(
            "enable_fast_cpu_kernels() came after JAX started its backend, so XLA would ignore "
            "it; call it first thing, before any JAX computation, or compile with "
            "funcgrad.jit(f) (jax.jit with funcgrad.train.FAST_CPU_OPTIONS)"
        )
    os.environ["XLA_FLAGS"] = f"{flags} {FAST_CPU_FLAG}".strip()
    return FAST_CPU_FLAG
