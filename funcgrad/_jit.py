"""``fg.jit``: ``jax.jit`` with funcgrad's CPU compiler options, for one program at a time.

jaxlib 0.10 hands CPU dots and convolutions to YNNPACK fusions by default, about 3x slower than
XLA's Eigen kernels on the notes' ConvNet (see :mod:`funcgrad._cpu_kernels`). ``fg.jit`` compiles
one program with :data:`~funcgrad._cpu_kernels.FAST_CPU_OPTIONS`, the option ``fit`` and
``funcgrad train`` compile every program with, so a library user's own step runs the same kernels.
It is the only difference from ``jax.jit``: nothing in the process changes, and it reads no
environment variable. (For a process-wide switch, ``fg.train.enable_fast_cpu_kernels()``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jaxlib

from funcgrad._cpu_kernels import FAST_CPU_OPTIONS

__all__ = ["jit", "options_valid"]

# The option exists in jaxlib 0.10.x and was measured to help there; elsewhere an unknown option is
# a compile error, so jit falls back to plain jax.jit.
_MEASURED_JAXLIB = "0.10."


def options_valid(jaxlib_version: str, backend: str) -> bool:
    """Whether :data:`~funcgrad._cpu_kernels.FAST_CPU_OPTIONS` apply to this jaxlib and backend.

    Example:
        >>> options_valid("0.10.2", "cpu"), options_valid("0.10.2", "gpu"), options_valid("0.11.0", "cpu")
        (True, False, False)
    """
    return jaxlib_version.startswith(_MEASURED_JAXLIB) and backend == "cpu"


def jit(fun: Callable[..., Any], /, **jit_kwargs: Any) -> Any:
    """``jax.jit(fun, compiler_options=FAST_CPU_OPTIONS, **jit_kwargs)``; your own options win.

    Takes every argument of ``jax.jit`` (``static_argnums``, ``donate_argnums``, ...) and returns
    what ``jax.jit`` returns (``.lower``, ``.trace`` work). Where the options do not apply (a
    jaxlib other than 0.10.x, a GPU or TPU backend) it is plain ``jax.jit``. A
    ``compiler_options=`` of your own replaces funcgrad's whole: add
    ``**funcgrad.train.FAST_CPU_OPTIONS`` to it to keep the fast kernels. Use it as a decorator
    too; ``functools.partial(fg.jit, static_argnums=...)`` for arguments.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> double = fg.jit(lambda x: x * 2)
        >>> float(double(jnp.array(1.5)))
        3.0
    """
    if options_valid(jaxlib.__version__, jax.default_backend()):
        jit_kwargs = {"compiler_options": FAST_CPU_OPTIONS} | jit_kwargs
    return jax.jit(fun, **jit_kwargs)
