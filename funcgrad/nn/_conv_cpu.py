"""Fast 2-D convolutions on CPU: route them to XLA's Eigen kernels, not to its YNNPACK fusions.

Why: jaxlib 0.10 hands every CPU convolution to YNNPACK by default. On the notes' ConvNet
(batch 64, 28x28) those run at about 40 GFLOP/s, against about 170 GFLOP/s for XLA's own
(Eigen) convolution kernels on the same machine; the training step takes 2.5x longer than it
needs to, and its ~100 MB of scratch buffers are mapped afresh by glibc on every call (25,000
page faults per step). Turning the YNNPACK convolution fusion off with one XLA flag,

    --xla_cpu_experimental_ynn_fusion_type=-individual_convolution

makes the step 2.5x faster (plus a further 2x where the page faults were hurting), with the same
``lax.conv_general_dilated`` and the same numbers (the parity tests against PyTorch run on it).
Dots and element-wise fusions keep YNNPACK, where it is fast.

The flag only takes effect if it is in ``XLA_FLAGS`` before JAX starts its CPU backend, so
importing funcgrad adds it (:func:`use_eigen_convolutions`): import funcgrad before running any
JAX computation. Where that is too late, or the jaxlib version is not one this was measured on
(an unknown XLA flag aborts the process, so it is never guessed), the CPU path falls back to
:func:`tune_cpu_malloc`, which at least stops the page faults.

The arithmetic is plain ``lax.conv_general_dilated`` everywhere, so GPUs keep cuDNN. Measured
and rejected on this CPU: im2col (patches then one large matmul, in NCHW, CNHW and NHWC patch
layouts), shifted matmuls, and ``custom_vjp`` backward passes built from matmuls; once ``jax.vmap``
batched them they were 1.5-2.5x slower than XLA's convolution, mostly in building the patches.

``FUNCGRAD_CONV`` picks the path: ``auto`` (default: the CPU path on a CPU backend), ``cpu``, or
``lax`` (plain XLA defaults, for comparison; read at import for the flag, at trace time after).

Example:
    >>> import jax.numpy as jnp
    >>> conv_cpu(jnp.ones((1, 1, 3, 3)), jnp.ones((1, 1, 2, 2)), (1, 1), ((0, 0), (0, 0))).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
"""

from __future__ import annotations

import ctypes
import os
import sys

import jax
import jaxlib
from jax import lax

__all__ = [
    "XLA_CPU_CONV_FLAG",
    "conv_cpu",
    "conv_impl",
    "conv_lax",
    "tune_cpu_malloc",
    "use_eigen_convolutions",
]

XLA_CPU_CONV_FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
_MEASURED_JAXLIB = ("0.10.",)  # versions where the flag exists and was measured to help
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from (and go back to) the heap
_tuned: bool | None = None


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(getattr(xla_bridge, "_backends", {}))
    except ImportError:  # private module moved: assume the worst, the flag may be too late
        return True


def use_eigen_convolutions() -> bool:
    """Add :data:`XLA_CPU_CONV_FLAG` to ``XLA_FLAGS`` if it can still take effect; runs at import.

    Returns whether the flag is in force: ``False`` when ``FUNCGRAD_CONV=lax``, when JAX's backend
    already started, when ``XLA_FLAGS`` already chooses YNN fusion types, or on an untested jaxlib.

    Example:
        >>> isinstance(use_eigen_convolutions(), bool)
        True
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if XLA_CPU_CONV_FLAG in flags.split():
        return True
    if (
        os.environ.get("FUNCGRAD_CONV", "auto") == "lax"
        or "xla_cpu_experimental_ynn_fusion_type" in flags
        or not jaxlib.__version__.startswith(_MEASURED_JAXLIB)
        or _backend_started()
    ):
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {XLA_CPU_CONV_FLAG}".strip()
    return True


_EIGEN = use_eigen_convolutions()


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


def conv_impl() -> str:
    """The convolution path in use: ``"cpu"`` or ``"lax"`` (see ``FUNCGRAD_CONV``).

    Example:
        >>> conv_impl() in ("cpu", "lax")
        True
    """
    choice = os.environ.get("FUNCGRAD_CONV", "auto")
    if choice not in ("auto", "cpu", "lax"):
        raise ValueError(f"FUNCGRAD_CONV must be 'auto', 'cpu' or 'lax', got {choice!r}")
    if choice == "auto":
        return "cpu" if jax.default_backend() == "cpu" else "lax"
    return choice


def conv_lax(
    x: jax.Array,
    weight: jax.Array,
    strides: tuple[int, int],
    pads: tuple[tuple[int, int], tuple[int, int]],
) -> jax.Array:
    """NCHW x OIHW cross-correlation as XLA compiles it for the backend (cuDNN on a GPU)."""
    return lax.conv_general_dilated(
        x, weight, strides, pads, dimension_numbers=("NCHW", "OIHW", "NCHW")
    )


def conv_cpu(
    x: jax.Array,
    weight: jax.Array,
    strides: tuple[int, int],
    pads: tuple[tuple[int, int], tuple[int, int]],
) -> jax.Array:
    """The same convolution for the CPU, where the flag (or the allocator fallback) makes it fast."""
    if not _EIGEN:
        tune_cpu_malloc()  # fallback, at trace time: the executable's scratch then stays mapped
    return conv_lax(x, weight, strides, pads)
