"""XLA's CPU compiler flags that funcgrad sets at import, and the allocator fallback.

Why: jaxlib 0.10 hands every CPU dot and convolution to YNNPACK fusions by default. On the notes'
models those are the slow path on the CPUs measured here (2-core AVX-512, jaxlib 0.10.2):

- **Convolutions.** ConvNet's (batch 64, 28x28) run at about 40 GFLOP/s in YNNPACK, against
  about 95-170 in XLA's own Eigen kernels; the training step is 5x slower, and its ~100 MB of
  scratch buffers are mapped afresh by glibc on every call (25,000 page faults per step).
- **Dots.** MyNet's small matmuls (64x600 by 600x60 and smaller) pay a per-call cost in YNNPACK
  that Eigen does not: a whole epoch fused in ``lax.scan`` runs 1.5x faster on Eigen (103 to about
  69 microseconds a step), a single jitted step 1.2x faster.

One flag takes both away from YNNPACK (element-wise and reduce fusions keep it):

    --xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot

The arithmetic is the same ``lax.dot_general`` and ``lax.conv_general_dilated``, so the parity
tests against PyTorch run on it and GPUs keep cuBLAS and cuDNN.

The flag only acts if it is in ``XLA_FLAGS`` before JAX starts its CPU backend, so importing
funcgrad adds it (:func:`set_xla_cpu_flags`): import funcgrad before running any JAX computation.
It is never added when it is too late, on a jaxlib it was not measured on (an unknown XLA flag
aborts the process, so it is never guessed), or when ``XLA_FLAGS`` already picks YNN fusion types
(the user's choice wins). Where the convolution part is not in force, the CPU convolution path
falls back to :func:`tune_cpu_malloc`, which at least stops the page faults.

Switches, read at import: ``FUNCGRAD_XLA_FLAGS=0`` sets no flag at all; ``FUNCGRAD_CONV=lax``
leaves convolutions to XLA's defaults (the flag then keeps only ``-individual_dot``);
``FUNCGRAD_CPU_MALLOC=0`` turns the allocator fallback off.

Example:
    >>> cpu_flag()
    '--xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot'
    >>> cpu_flag(convolutions=False)
    '--xla_cpu_experimental_ynn_fusion_type=-individual_dot'
"""

from __future__ import annotations

import ctypes
import os
import sys

import jaxlib

__all__ = [
    "ACTIVE_FLAG",
    "XLA_CPU_FLAG",
    "YNN_FUSION_FLAG",
    "cpu_flag",
    "eigen_convolutions",
    "set_xla_cpu_flags",
    "tune_cpu_malloc",
]

YNN_FUSION_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
_CONV_OFF, _DOT_OFF = "-individual_convolution", "-individual_dot"
_MEASURED_JAXLIB = ("0.10.",)  # versions where the flag exists and was measured to help
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from (and go back to) the heap
_tuned: bool | None = None


def cpu_flag(convolutions: bool = True) -> str:
    """The XLA flag funcgrad sets; ``convolutions=False`` leaves convolutions to YNNPACK.

    Example:
        >>> cpu_flag().startswith(YNN_FUSION_FLAG)
        True
    """
    return f"{YNN_FUSION_FLAG}={_CONV_OFF + ',' if convolutions else ''}{_DOT_OFF}"


XLA_CPU_FLAG = cpu_flag()


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(getattr(xla_bridge, "_backends", {}))
    except ImportError:  # private module moved: assume the worst, the flag may be too late
        return True


def set_xla_cpu_flags() -> str:
    """Add funcgrad's flag to ``XLA_FLAGS`` if it can still take effect; runs at import.

    Returns the flag in force (funcgrad's, added now or earlier), or ``""`` where none is: with
    ``FUNCGRAD_XLA_FLAGS=0``, after JAX's backend started, when ``XLA_FLAGS`` already picks YNN
    fusion types, or on an untested jaxlib.

    Example:
        >>> set_xla_cpu_flags() in (cpu_flag(), cpu_flag(convolutions=False), "")
        True
    """
    flags = os.environ.get("XLA_FLAGS", "")
    wanted = cpu_flag(convolutions=os.environ.get("FUNCGRAD_CONV", "auto") != "lax")
    if wanted in flags.split():
        return wanted
    if (
        os.environ.get("FUNCGRAD_XLA_FLAGS", "1") == "0"
        or YNN_FUSION_FLAG in flags
        or not jaxlib.__version__.startswith(_MEASURED_JAXLIB)
        or _backend_started()
    ):
        return ""
    os.environ["XLA_FLAGS"] = f"{flags} {wanted}".strip()
    return wanted


ACTIVE_FLAG = set_xla_cpu_flags()


def eigen_convolutions() -> bool:
    """Whether this process compiles CPU convolutions with XLA's Eigen kernels (funcgrad's flag).

    Example:
        >>> isinstance(eigen_convolutions(), bool)
        True
    """
    return _CONV_OFF in ACTIVE_FLAG


def tune_cpu_malloc() -> bool:
    """Make glibc keep freed large blocks for reuse instead of unmapping them; once per process.

    Returns whether the setting is in force: ``False`` where the C library is not glibc (macOS,
    musl) or ``FUNCGRAD_CPU_MALLOC=0`` opts out. The cost is memory: the process keeps up to its
    peak heap instead of handing freed scratch space back to the system.

    Example:
        >>> isinstance(tune_cpu_malloc(), bool)
        True
    """
    global _tuned
    if _tuned is None:
        _tuned = False
        if sys.platform.startswith("linux") and os.environ.get("FUNCGRAD_CPU_MALLOC", "1") != "0":
            try:
                libc = ctypes.CDLL("libc.so.6")
                _tuned = bool(libc.mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(
                    libc.mallopt(_M_TRIM_THRESHOLD, _THRESHOLD)
                )
            except (OSError, AttributeError):  # not glibc: nothing to tune
                _tuned = False
    return _tuned
