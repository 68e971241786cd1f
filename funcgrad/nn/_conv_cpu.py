"""The 2-D convolution paths: one for CPUs, and XLA's default for every backend.

Both compute with ``lax.conv_general_dilated``, so GPUs keep cuDNN and the numbers are the same.
On a CPU, what makes convolutions fast is the XLA flag ``import funcgrad`` sets (see
``funcgrad._xla_cpu``: it sends them to XLA's Eigen kernels instead of YNNPACK, 5x faster on the
notes' ConvNet). Where that flag is not in force, the CPU path falls back to keeping XLA's large
scratch buffers mapped (``tune_cpu_malloc``), which stops about 25,000 page faults per step.

Measured and rejected on this CPU: im2col (patches then one large matmul, in NCHW, CNHW and NHWC
patch layouts), shifted matmuls, and ``custom_vjp`` backward passes built from matmuls; once
``jax.vmap`` batched them they were 1.5-2.5x slower than XLA's convolution, mostly in building the
patches.

``FUNCGRAD_CONV`` picks the path: ``auto`` (default: the CPU path on a CPU backend), ``cpu``, or
``lax`` (plain XLA defaults, for comparison; read at import for the flag, at trace time after).

Example:
    >>> import jax.numpy as jnp
    >>> conv_cpu(jnp.ones((1, 1, 3, 3)), jnp.ones((1, 1, 2, 2)), (1, 1), ((0, 0), (0, 0))).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
"""

from __future__ import annotations

import os

import jax
from jax import lax

from funcgrad._xla_cpu import eigen_convolutions, tune_cpu_malloc

__all__ = ["conv_cpu", "conv_impl", "conv_lax"]


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
    if not eigen_convolutions():
        tune_cpu_malloc()  # fallback, at trace time: the executable's scratch then stays mapped
    return conv_lax(x, weight, strides, pads)
