"""Pooling, as ``torch.nn.functional``: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``.

Window geometry follows torch exactly: ``ceil_mode`` adds a last partial window only when it starts
inside the input or the left padding; padding is at most half the kernel. Max-pooling's gradient
goes to the first maximum of each window in row-major order, as torch's does (XLA's
``select_and_scatter`` keeps the first of equal values; ``tests/test_pool.py`` checks ties).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from funcgrad.nn.functional._conv import IntOrTuple, Pads, ntuple

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "max_pool2d"]


def _geometry(
    where: str,
    spatial: Sequence[int],
    kernel: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], Pads, tuple[int, ...]]:
    """Kernel, strides, dilation, pads (per axis ``(lo, hi)``, ``hi`` growing for ceil_mode), out."""
    k = ntuple(kernel, 2, "kernel_size", where, minimum=1)
    # torch: () is the default, as None is
    empty = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    s = k if empty or stride is None else ntuple(stride, 2, "stride", where, minimum=1)
    p = ntuple(padding, 2, "padding", where)
    d = ntuple(dilation, 2, "dilation", where, minimum=1)
    pads: list[tuple[int, int]] = []
    outs: list[int] = []
    for size, ki, si, pi, di in zip(spatial, k, s, p, d, strict=True):
        if pi > ki // 2:
            raise ValueError(
                f"{where}: padding {pi} should be at most half of kernel_size {ki}, as in PyTorch; "
                "use less padding"
            )
        span = di * (ki - 1) + 1
        num = size + 2 * pi - span + (si - 1 if ceil_mode else 0)
        out = num // si + 1
        if ceil_mode and (out - 1) * si >= size + pi:
            out -= 1  # torch: the last window must start inside the input or the left padding
        if num < 0 or out < 1:
            raise ValueError(
                f"{where}: input size {tuple(spatial)} padded by {p} is smaller than the kernel "
                f"{k} (dilation {d}); use a larger input, more padding or a smaller kernel_size"
            )
        pads.append((pi, max(pi, (out - 1) * si + span - size - pi)))
        outs.append(out)
    return k, s, d, tuple(pads), tuple(outs)


def _batched(input: jax.Array, where: str) -> tuple[jax.Array, bool]:
    if input.ndim not in (3, 4):
        raise ValueError(
            f"{where}: expected input (N, C, H, W) or (C, H, W), got shape {tuple(input.shape)}"
        )
    return (input[None], True) if input.ndim == 3 else (input, False)


def max_pool2d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """Max over each window, as ``torch.nn.functional.max_pool2d`` (padding counts as ``-inf``).

    With ``return_indices``, also the flat index into ``H * W`` of each maximum (int64 under
    ``jax_enable_x64``, as torch), the first in row-major order where several are equal.

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit ``-inf`` on each side, an int or ``(ph, pw)``.
        dilation: the spacing between window entries.
        ceil_mode: round the output size up instead of down.
        return_indices: also return each maximum's flat index in its ``H * W`` plane.

    Returns:
        The maxima, ``(N, C, H_out, W_out)``; with ``return_indices``, ``(maxima, indices)`` with
        indices (int64 under ``jax_enable_x64``).

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.arange(16.0).reshape(1, 1, 4, 4)
        >>> values, indices = max_pool2d(x, 2, return_indices=True)
        >>> values.tolist(), indices.tolist()
        ([[[[5.0, 7.0], [13.0, 15.0]]]], [[[[5, 7], [13, 15]]]])
    """
    x, unbatched = _batched(input, "max_pool2d")
    k, s, d, pads, outs = _geometry(
        "max_pool2d", x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode
    )
    if any(di > 1 for di in d):
        # XLA has no VJP for a dilated max window: pick each window's first maximum explicitly.
        windows = _windows(x, k, s, d, pads, outs)
        best = jnp.argmax(lax.stop_gradient(windows), axis=-1)
        values = jnp.take_along_axis(windows, best[..., None], axis=-1)[..., 0]
    else:
        values = lax.reduce_window(
            x, -jnp.inf, lax.max, (1, 1, *k), (1, 1, *s), ((0, 0), (0, 0), *pads)
        )
        if return_indices:
            best = jnp.argmax(_windows(lax.stop_gradient(x), k, s, d, pads, outs), axis=-1)
    if not return_indices:
        return values[0] if unbatched else values
    indices = _flat_indices(best, k, s, d, pads, outs, x.shape[3])
    return (values[0], indices[0]) if unbatched else (values, indices)


def _windows(
    x: jax.Array,
    k: Sequence[int],
    s: Sequence[int],
    d: Sequence[int],
    pads: Sequence[tuple[int, int]],
    outs: Sequence[int],
) -> jax.Array:
    # Every window's elements along a last axis of size kh * kw (row-major), padding as -inf.
    xp = jnp.pad(x, ((0, 0), (0, 0), *pads), constant_values=-jnp.inf)
    windows = [
        xp[:, :, i * d[0] :: s[0], j * d[1] :: s[1]][:, :, : outs[0], : outs[1]]
        for i in range(k[0])
        for j in range(k[1])
    ]
    return jnp.stack(windows, axis=-1)


def _flat_indices(
    best: jax.Array,
    k: Sequence[int],
    s: Sequence[int],
    d: Sequence[int],
    pads: Sequence[tuple[int, int]],
    outs: Sequence[int],
    width: int,
) -> jax.Array:
    # torch's indices: row * W + col of the chosen element in the unpadded input.
    rows = jnp.arange(outs[0]).reshape(1, 1, -1, 1) * s[0] - pads[0][0] + (best // k[1]) * d[0]
    cols = jnp.arange(outs[1]).reshape(1, 1, 1, -1) * s[1] - pads[1][0] + (best % k[1]) * d[1]
    index = jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.int64))
    return (rows * width + cols).astype(index)


def _window_counts(
    size: int, k: int, s: int, pad: int, out: int, count_include_pad: bool
) -> np.ndarray:
    # torch's avg_pool2d divisor along one axis: the window clipped to the padded input (or, without
    # count_include_pad, to the input itself); ceil_mode's extra padding never counts.
    start = np.arange(out) * s - pad
    end = np.minimum(start + k, size + pad)
    if not count_include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return end - start


def avg_pool2d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> jax.Array:
    """Mean over each window, as ``torch.nn.functional.avg_pool2d`` (same divisor rules).

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit zeros on each side, an int or ``(ph, pw)``.
        ceil_mode: round the output size up instead of down.
        count_include_pad: whether the padding zeros count in the divisor.
        divisor_override: a fixed divisor instead of the window's size.

    Returns:
        The means, ``(N, C, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> avg_pool2d(jnp.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x, unbatched = _batched(input, "avg_pool2d")
    k, s, d, pads, outs = _geometry(
        "avg_pool2d", x.shape[2:], kernel_size, stride, padding, 1, ceil_mode
    )
    sums = lax.reduce_window(x, 0.0, lax.add, (1, 1, *k), (1, 1, *s), ((0, 0), (0, 0), *pads))
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or divisor_override == 0:
            raise ValueError(
                f"avg_pool2d: divisor_override must be a non-zero int, got {divisor_override!r}"
            )
        y = sums / divisor_override
    else:
        h, w = (
            _window_counts(size, ki, si, lo, out, count_include_pad)
            for size, ki, si, (lo, _), out in zip(x.shape[2:], k, s, pads, outs, strict=True)
        )
        y = sums / jnp.asarray(np.outer(h, w), dtype=x.dtype)[None, None]
    return y[0] if unbatched else y


def adaptive_avg_pool2d(
    input: jax.Array, output_size: int | None | Sequence[int | None]
) -> jax.Array:
    """Average over torch's adaptive windows ``[floor(i*H/o), ceil((i+1)*H/o))``; ``None`` keeps a size.

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_avg_pool2d(jnp.arange(12.0).reshape(1, 3, 4), (1, None)).tolist()
        [[[4.0, 5.0, 6.0, 7.0]]]
    """
    x, unbatched = _batched(input, "adaptive_avg_pool2d")
    sizes = (
        (output_size, output_size)
        if output_size is None or isinstance(output_size, int)
        else tuple(output_size)
    )
    if len(sizes) != 2 or not all(o is None or (isinstance(o, int) and o >= 1) for o in sizes):
        raise ValueError(
            "adaptive_avg_pool2d: output_size must be a positive int, None or a pair of them, "
            f"got {output_size!r}"
        )
    h, w = (
        _window_masks(n, n if o is None else o) for n, o in zip(x.shape[2:], sizes, strict=True)
    )
    # Sum each window, then divide by its size, as torch does (exact for integer-valued input).
    sums = jnp.einsum(
        "nchw,ih,jw->ncij",
        x,
        jnp.asarray(h, dtype=x.dtype),
        jnp.asarray(w, dtype=x.dtype),
        precision=lax.Precision.HIGHEST,
    )
    y = sums / jnp.asarray(np.outer(h.sum(1), w.sum(1)), dtype=x.dtype)[None, None]
    return y[0] if unbatched else y


def _window_masks(size: int, out: int) -> np.ndarray:
    # Row i marks torch's adaptive window [floor(i*size/out), ceil((i+1)*size/out)).
    m = np.zeros((out, size))
    for i in range(out):
        m[i, (i * size) // out : -(-(i + 1) * size // out)] = 1.0
    return m
