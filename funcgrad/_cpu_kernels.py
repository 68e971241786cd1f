"""Which CPU kernels a compiled program gets: the constants, and a pure test for the slow path.

jaxlib 0.10 hands CPU dots and convolutions to YNNPACK fusions by default, which on the notes'
ConvNet are about 3x slower than XLA's own Eigen kernels. The library core changes nothing about
that and reads nothing about it: ``F.conv2d`` traces the same ``lax.conv_general_dilated`` whatever
the process holds. The choice belongs to whoever compiles, in one of two ways, both offered by
the application (``funcgrad.train``):

* per program, with ``jax.jit(..., compiler_options=FAST_CPU_OPTIONS)``; ``fit``, the CLI, the
  scripts and the benchmark compile their own programs this way (``funcgrad.train.fast_jit``);
* per process, with ``XLA_FLAGS`` holding :data:`FAST_CPU_FLAG` before JAX starts
  (``funcgrad.train.enable_fast_cpu_kernels()``).

:func:`slow_cpu_program` says, from the options and the flags it is given, whether a CPU program
would run on the slow path; the compiler (``fast_jit``) asks it once per program it builds and
warns with :class:`SlowConvolutionWarning`.

Example:
    >>> FAST_CPU_FLAG
    '--xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "FAST_CPU_FLAG",
    "FAST_CPU_OPTIONS",
    "SlowConvolutionWarning",
    "slow_cpu_program",
]

YNN_FUSION_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
FAST_CPU_FLAG = f"{YNN_FUSION_FLAG}=-individual_convolution,-individual_dot"
"""The ``XLA_FLAGS`` entry that sends CPU dots and convolutions to XLA's Eigen kernels."""
# The same choice as one program's compiler option. The option names the fusion kinds YNNPACK keeps;
# keeping only REDUCE compiles the same executable as the flag (checked on the optimized HLO of the
# ConvNet and MyNet steps); adding ELTWISE hands element-wise work to YNNPACK too, 2x slower.
YNN_FUSION_OPTION = "xla_cpu_experimental_ynn_fusion_type"
FAST_CPU_OPTIONS = {YNN_FUSION_OPTION: "LIBRARY_FUSION_TYPE_REDUCE"}
"""``FAST_CPU_FLAG`` for one program: ``jax.jit(f, compiler_options=FAST_CPU_OPTIONS)``."""


class SlowConvolutionWarning(UserWarning):
    """A CPU program is compiled on YNNPACK's path, about 3x slower on the notes' ConvNet."""

    __module__ = "funcgrad.nn"


def slow_cpu_program(compiler_options: Mapping[str, Any] | None, xla_flags: str) -> bool:
    """Whether a CPU program compiled with ``compiler_options`` under ``xla_flags`` gets YNNPACK's kernels.

    Pure: the caller passes what it compiles with (``os.environ.get("XLA_FLAGS", "")`` read once,
    where it compiles), so nothing here depends on the process. Either choice of YNN fusion
    types, the program's own or the process's, counts as the caller's and is respected.

    Example:
        >>> slow_cpu_program(None, ""), slow_cpu_program(FAST_CPU_OPTIONS, "")
        (True, False)
        >>> slow_cpu_program({}, FAST_CPU_FLAG)
        False
    """
    return YNN_FUSION_OPTION not in (compiler_options or {}) and YNN_FUSION_FLAG not in xla_flags
