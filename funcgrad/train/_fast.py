"""The fast CPU kernels for the programs funcgrad compiles itself, and the switch for user code.

``fast_jit`` is ``jax.jit`` with :data:`~funcgrad._cpu_kernels.FAST_CPU_OPTIONS` as compiler
options, where they are valid (jaxlib 0.10.x, CPU backend; an unknown option is a compile error,
so elsewhere it is plain ``jax.jit``). It scopes the choice to one program: nothing in the process
changes. ``enable_fast_cpu_kernels()`` is the one process-wide call, for a user's own ``jax.jit``
code; it must run before JAX starts.

The slow-path warning lives here, where programs are compiled, not in the traced core: ``fast_jit``
reads ``XLA_FLAGS`` once when it builds a program, and warns
(:class:`~funcgrad.nn.SlowConvolutionWarning`) when a caller's own ``compiler_options`` leave a
CPU program on YNNPACK's kernels.
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
from funcgrad.train._errors import TrainError

__all__ = ["FAST_CPU_FLAG", "FAST_CPU_OPTIONS", "enable_fast_cpu_kernels", "fast_jit"]

_MEASURED_JAXLIB = "0.10."  # the option and the flag exist there, and were measured to help


def _options_valid() -> bool:
    return jaxlib.__version__.startswith(_MEASURED_JAXLIB) and jax.default_backend() == "cpu"


def fast_jit(f: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit(f, compiler_options=FAST_CPU_OPTIONS, **jit_kwargs)``; your own options win.

    Where the options are not valid (another jaxlib, a GPU or TPU) it is ``jax.jit(f, ...)``. When
    your ``compiler_options`` leave a CPU program on YNNPACK's kernels (and ``XLA_FLAGS`` does not
    choose otherwise) it warns once, with the fix.

    Example:
        >>> import jax.numpy as jnp
        >>> float(fast_jit(lambda x: x * 2)(jnp.array(1.5)))
        3.0
    """
    if _options_valid():
        jit_kwargs = {"compiler_options": FAST_CPU_OPTIONS} | jit_kwargs
        # Read once, here where the program is built; nothing reads it while f is traced.
        if slow_cpu_program(jit_kwargs["compiler_options"], os.environ.get("XLA_FLAGS", "")):
            warnings.warn(
                "funcgrad: fast_jit compiles this CPU program with compiler_options that leave "
                "its convolutions and dots on YNNPACK's kernels, about 3x slower than XLA's "
                "Eigen kernels for small convolutions; include funcgrad.train.FAST_CPU_OPTIONS "
                "in your compiler_options, or call funcgrad.train.enable_fast_cpu_kernels() "
                "before JAX starts",
                SlowConvolutionWarning,
                stacklevel=2,
            )
    return jax.jit(f, **jit_kwargs)


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
            "jax.jit(f, compiler_options=funcgrad.train.FAST_CPU_OPTIONS)"
        )
    os.environ["XLA_FLAGS"] = f"{flags} {FAST_CPU_FLAG}".strip()
    return FAST_CPU_FLAG
