"""Pooling, as ``torch.nn.functional``: max, average and power-average pooling in 1-3 D, adaptive
average and max pooling, max-unpooling and fractional max pooling.

Each kind has one n-d implementation; ``max_pool1d`` / ``max_pool2d`` / ``max_pool3d`` (and so on)
bind torch's signature to it. Window geometry follows torch exactly: ``ceil_mode`` adds a last
partial window only when it starts inside the input or the left padding; padding is at most half
the kernel. Max-pooling's gradient goes to the first maximum of each window in row-major order, as
torch's does (XLA's ``select_and_scatter`` keeps the first of equal values; ``tests/test_pool.py``
checks ties). Where indices are asked for, or the window is dilated, adaptive or fractional, every
window is gathered (one gather per call, from per-axis positions) and its ``argmax`` taken: the
indices are torch's flat indices into each ``(D,) H, W`` plane.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from funcgrad.nn.functional._conv import IntOrTuple, Pads, ntuple

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]

OutputSize = int | None | Sequence[int | None]
MaybeIndices = jax.Array | tuple[jax.Array, jax.Array]

_AXES = {1: "L", 2: "H, W", 3: "D, H, W"}


# -- shared: input rank, window geometry, gathered windows -----------------------------------------


def _batched(input: jax.Array, n: int, where: str) -> tuple[jax.Array, bool]:
    """``input`` with a batch axis, and whether it had none (torch takes one unbatched example)."""
    if input.ndim not in (n + 1, n + 2):
        raise ValueError(
            f"{where}: expected input (N, C, {_AXES[n]}) or (C, {_AXES[n]}), got shape "
            f"{tuple(input.shape)}; pass a {n + 2}-D batch or one {n + 1}-D example"
        )
    return (input[None], True) if input.ndim == n + 1 else (input, False)


def _unbatched(y: Any, unbatched: bool) -> Any:
    return jax.tree.map(lambda a: a[0], y) if unbatched else y


def _index_dtype() -> jnp.dtype:
    """torch's int64 indices (int32 without ``jax_enable_x64``)."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.int64))


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
    n = len(spatial)
    k = ntuple(kernel, n, "kernel_size", where, minimum=1)
    # torch: () is the default, as None is
    empty = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    s = k if empty or stride is None else ntuple(stride, n, "stride", where, minimum=1)
    p = ntuple(padding, n, "padding", where)
    d = ntuple(dilation, n, "dilation", where, minimum=1)
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


def _plane_windows(plane: jax.Array, positions: Sequence[jax.Array]) -> tuple[jax.Array, jax.Array]:
    """One plane's windows ``(*out, K)`` and their flat positions in the plane.

    ``positions[a]`` is ``(out_a, K_a)``: the window's positions along spatial axis ``a`` (clipped
    into the plane; the caller masks what lies outside). One gather reads every window.
    """
    n = len(positions)
    outs = tuple(p.shape[0] for p in positions)
    grids = []
    for a, pos in enumerate(positions):
        shape = [1] * (2 * n)
        shape[a], shape[n + a] = pos.shape
        grids.append(jnp.reshape(jnp.clip(pos, 0, plane.shape[a] - 1), shape))
    windows = plane[tuple(grids)]  # (*out, *K)
    strides = np.cumprod((1, *plane.shape[:0:-1]))[::-1]  # row-major strides of the plane
    flat = functools.reduce(jnp.add, [g * int(st) for g, st in zip(grids, strides, strict=True)])
    return jnp.reshape(windows, (*outs, -1)), jnp.reshape(flat, (*outs, -1))


def _max_of_windows(
    x: jax.Array, positions: Sequence[Any], valid: np.ndarray | None, per_plane: bool
) -> tuple[jax.Array, jax.Array]:
    """Each window's maximum and its flat index in its plane (the first maximum, row-major).

    ``positions`` are shared by every plane (``(out_a, K_a)`` each), or with ``per_plane`` given
    per ``(N, C)`` plane (``(N, C, out_a, K_a)``). ``valid`` (``(*out, K)``) marks positions inside
    the input; the rest count as ``-inf``. The gradient goes to the chosen element alone.
    """
    axes = 0 if per_plane else None
    gather = jax.vmap(jax.vmap(_plane_windows, (0, axes)), (0, axes))
    windows, flat = gather(x, [jnp.asarray(p) for p in positions])
    if valid is not None:
        mask = jnp.broadcast_to(jnp.asarray(valid), windows.shape)
        windows = jnp.where(mask, windows, jnp.asarray(-jnp.inf, windows.dtype))
    best = jnp.argmax(lax.stop_gradient(windows), axis=-1)[..., None]
    values = jnp.take_along_axis(windows, best, axis=-1)[..., 0]
    indices = jnp.take_along_axis(flat, best, axis=-1)[..., 0]
    return values, indices.astype(_index_dtype())


def _strided_positions(
    k: Sequence[int],
    s: Sequence[int],
    d: Sequence[int],
    pads: Pads,
    outs: Sequence[int],
    spatial: Sequence[int],
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-axis window positions ``(out_a, k_a)`` of a strided pool, and the mask of real ones."""
    positions, masks = [], []
    for ki, si, di, (lo, _), out, size in zip(k, s, d, pads, outs, spatial, strict=True):
        pos = np.arange(out)[:, None] * si - lo + np.arange(ki)[None, :] * di
        positions.append(pos)
        masks.append((pos >= 0) & (pos < size))
    return positions, _outer_mask(masks)


def _outer_mask(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Per-axis ``(out_a, K_a)`` masks as one ``(*out, prod K)`` mask (window axes row-major)."""
    n = len(masks)
    full = np.ones((), dtype=bool)
    for a, m in enumerate(masks):
        shape = [1] * (2 * n)
        shape[a], shape[n + a] = m.shape
        full = full & m.reshape(shape)
    outs = tuple(m.shape[0] for m in masks)
    return np.broadcast_to(full, (*outs, *(m.shape[1] for m in masks))).reshape(*outs, -1)


# -- max pooling -----------------------------------------------------------------------------------


def _max_pool(
    where: str,
    n: int,
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
    return_indices: bool,
) -> MaybeIndices:
    x, unbatched = _batched(input, n, where)
    spatial = x.shape[2:]
    k, s, d, pads, outs = _geometry(
        where, spatial, kernel_size, stride, padding, dilation, ceil_mode
    )
    dilated = any(di > 1 for di in d)
    if not dilated:
        # reduce_window's VJP (select_and_scatter) is XLA's fast max-pool backward.
        values = lax.reduce_window(
            x, -jnp.inf, lax.max, (1, 1, *k), (1, 1, *s), ((0, 0), (0, 0), *pads)
        )
        if not return_indices:
            return _unbatched(values, unbatched)
    # XLA has no VJP for a dilated max window: pick each window's first maximum explicitly.
    positions, valid = _strided_positions(k, s, d, pads, outs, spatial)
    source = x if dilated else lax.stop_gradient(x)
    picked, indices = _max_of_windows(source, positions, valid, per_plane=False)
    values = picked if dilated else values
    return _unbatched((values, indices) if return_indices else values, unbatched)


def max_pool1d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> MaybeIndices:
    """Max over each window of ``(N, C, L)`` or ``(C, L)``, as ``torch.nn.functional.max_pool1d``.

    Padding counts as ``-inf``; the gradient goes to the first maximum of each window.

    Args:
        input: ``(N, C, L)`` or one unbatched ``(C, L)``.
        kernel_size: the window's length, an int or a one-element tuple.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit ``-inf`` on each side, at most half of ``kernel_size``.
        dilation: the spacing between window entries.
        ceil_mode: round the output length up instead of down.
        return_indices: also return each maximum's index along ``L``.

    Returns:
        The maxima, ``(N, C, L_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax.numpy as jnp
        >>> values, indices = max_pool1d(jnp.array([[1.0, 3.0, 2.0, 0.0]]), 2, return_indices=True)
        >>> values.tolist(), indices.tolist()
        ([[3.0, 2.0]], [[1, 2]])
    """
    return _max_pool(
        "max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> MaybeIndices:
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
        The maxima, ``(N, C, H_out, W_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.arange(16.0).reshape(1, 1, 4, 4)
        >>> values, indices = max_pool2d(x, 2, return_indices=True)
        >>> values.tolist(), indices.tolist()
        ([[[[5.0, 7.0], [13.0, 15.0]]]], [[[[5, 7], [13, 15]]]])
    """
    return _max_pool(
        "max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> MaybeIndices:
    """Max over each window of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's ``max_pool3d``.

    Padding counts as ``-inf``; the gradient goes to the first maximum of each window (row-major).

    Args:
        input: ``(N, C, D, H, W)`` or one unbatched ``(C, D, H, W)``.
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit ``-inf`` on each side, an int or ``(pd, ph, pw)``.
        dilation: the spacing between window entries.
        ceil_mode: round the output size up instead of down.
        return_indices: also return each maximum's flat index in its ``D * H * W`` volume.

    Returns:
        The maxima, ``(N, C, D_out, H_out, W_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax.numpy as jnp
        >>> max_pool3d(jnp.arange(8.0).reshape(1, 2, 2, 2), 2, return_indices=True)[1].tolist()
        [[[[7]]]]
    """
    return _max_pool(
        "max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


# -- average and power-average pooling -------------------------------------------------------------


def _window_counts(
    size: int, k: int, s: int, pad: int, out: int, count_include_pad: bool
) -> np.ndarray:
    # torch's divisor along one axis: the window clipped to the padded input (or, without
    # count_include_pad, to the input itself); ceil_mode's extra padding never counts.
    start = np.arange(out) * s - pad
    end = np.minimum(start + k, size + pad)
    if not count_include_pad:
        start, end = np.maximum(start, 0), np.minimum(end, size)
    return end - start


def _avg_pool(
    where: str,
    n: int,
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> jax.Array:
    x, unbatched = _batched(input, n, where)
    k, s, _, pads, outs = _geometry(where, x.shape[2:], kernel_size, stride, padding, 1, ceil_mode)
    sums = lax.reduce_window(x, 0.0, lax.add, (1, 1, *k), (1, 1, *s), ((0, 0), (0, 0), *pads))
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or divisor_override == 0:
            raise ValueError(
                f"{where}: divisor_override must be a non-zero int, got {divisor_override!r}"
            )
        y = sums / divisor_override
    else:
        counts = [
            _window_counts(size, ki, si, lo, out, count_include_pad)
            for size, ki, si, (lo, _), out in zip(x.shape[2:], k, s, pads, outs, strict=True)
        ]
        divisor = functools.reduce(np.multiply.outer, counts)
        y = sums / jnp.asarray(divisor, dtype=x.dtype)[None, None]
    return _unbatched(y, unbatched)


def avg_pool1d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> jax.Array:
    """Mean over each window of ``(N, C, L)`` or ``(C, L)``, as ``torch.nn.functional.avg_pool1d``.

    torch's 1-D form has no ``divisor_override``.

    Args:
        input: ``(N, C, L)`` or one unbatched ``(C, L)``.
        kernel_size: the window's length, an int or a one-element tuple.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit zeros on each side, at most half of ``kernel_size``.
        ceil_mode: round the output length up instead of down.
        count_include_pad: whether the padding zeros count in the divisor.

    Returns:
        The means, ``(N, C, L_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> avg_pool1d(jnp.array([[1.0, 3.0, 2.0]]), 2, 1, 1, count_include_pad=False).tolist()
        [[1.0, 2.0, 2.5, 2.0]]
    """
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


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
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def avg_pool3d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> jax.Array:
    """Mean over each window of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's ``avg_pool3d``.

    Args:
        input: ``(N, C, D, H, W)`` or one unbatched ``(C, D, H, W)``.
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit zeros on each side, an int or ``(pd, ph, pw)``.
        ceil_mode: round the output size up instead of down.
        count_include_pad: whether the padding zeros count in the divisor.
        divisor_override: a fixed divisor instead of the window's size.

    Returns:
        The means, ``(N, C, D_out, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> avg_pool3d(jnp.arange(8.0).reshape(1, 2, 2, 2), 2).tolist()
        [[[[3.5]]]]
    """
    return _avg_pool(
        "avg_pool3d",
        3,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _lp_pool(
    where: str,
    n: int,
    input: jax.Array,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    ceil_mode: bool,
) -> jax.Array:
    if norm_type == math.inf:
        return _max_pool(where, n, jnp.abs(input), kernel_size, stride, 0, 1, ceil_mode, False)  # type: ignore[return-value]
    if norm_type == -math.inf:
        return -_max_pool(where, n, -jnp.abs(input), kernel_size, stride, 0, 1, ceil_mode, False)  # type: ignore[operator]
    out = _avg_pool(where, n, input**norm_type, kernel_size, stride, 0, ceil_mode, True, None)
    size = math.prod(ntuple(kernel_size, n, "kernel_size", where, minimum=1))
    # torch's formula, sign and abs included: the mean times the window's full size, to 1/p. Its
    # relu zeroes the gradient only where the result is <= 0, so a NaN window passes NaN back.
    magnitude = jnp.abs(out)
    magnitude = jnp.where(magnitude <= 0, jnp.zeros_like(magnitude), magnitude)
    return ((jnp.sign(out) * magnitude) * size) ** (1.0 / norm_type)


def lp_pool1d(
    input: jax.Array,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> jax.Array:
    """Power-average pooling ``(sum x**p)**(1/p)`` over windows, as ``torch.nn.functional.lp_pool1d``.

    Computed as torch does, from ``avg_pool1d(x**p)`` times the kernel size (so a ``ceil_mode``
    window that runs past the input is scaled as a full one); ``p = inf`` is max-pooling of ``|x|``.

    Args:
        input: ``(N, C, L)`` or one unbatched ``(C, L)``.
        norm_type: the power ``p``.
        kernel_size: the window's length, an int or a one-element tuple.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        ceil_mode: round the output length up instead of down.

    Returns:
        ``(N, C, L_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> lp_pool1d(jnp.array([[3.0, 4.0]]), 2, 2).tolist()
        [[5.0]]
    """
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(
    input: jax.Array,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> jax.Array:
    """Power-average pooling over ``(N, C, H, W)`` windows, as ``torch.nn.functional.lp_pool2d``.

    ``(sum x**p)**(1/p)`` over each window, computed as :func:`lp_pool1d` describes.

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        norm_type: the power ``p``.
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        ceil_mode: round the output size up instead of down.

    Returns:
        ``(N, C, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> lp_pool2d(jnp.ones((1, 2, 2)), 1, 2).tolist()
        [[[4.0]]]
    """
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(
    input: jax.Array,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> jax.Array:
    """Power-average pooling over ``(N, C, D, H, W)`` windows, as ``torch.nn.functional.lp_pool3d``.

    ``(sum x**p)**(1/p)`` over each window, computed as :func:`lp_pool1d` describes.

    Args:
        input: ``(N, C, D, H, W)`` or one unbatched ``(C, D, H, W)``.
        norm_type: the power ``p``.
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        ceil_mode: round the output size up instead of down.

    Returns:
        ``(N, C, D_out, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> lp_pool3d(jnp.ones((1, 2, 2, 2)), 1, 2).tolist()
        [[[[8.0]]]]
    """
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


# -- adaptive pooling ------------------------------------------------------------------------------


def _adaptive_sizes(output_size: OutputSize, spatial: Sequence[int], where: str) -> tuple[int, ...]:
    """torch's output size: an int for every axis, or one per axis, ``None`` keeping that axis."""
    n = len(spatial)
    sizes = (
        (output_size,) * n
        if output_size is None or isinstance(output_size, int)
        else tuple(output_size)
    )
    if len(sizes) != n or not all(o is None or (isinstance(o, int) and o >= 0) for o in sizes):
        raise ValueError(
            f"{where}: output_size must be a non-negative int, None or {n} of them, "
            f"got {output_size!r}"
        )
    return tuple(size if o is None else o for size, o in zip(spatial, sizes, strict=True))


def _adaptive_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    # torch's window i: [floor(i * size / out), ceil((i + 1) * size / out))
    i = np.arange(out)
    return (i * size) // out, -(-(i + 1) * size // out)


def _adaptive_avg_pool(where: str, n: int, input: jax.Array, output_size: OutputSize) -> jax.Array:
    x, unbatched = _batched(input, n, where)
    spatial = x.shape[2:]
    masks = []
    for size, out in zip(spatial, _adaptive_sizes(output_size, spatial, where), strict=True):
        start, end = _adaptive_bounds(size, out)
        i = np.arange(size)
        masks.append((i >= start[:, None]) & (i < end[:, None]))  # (out, size): window i's inputs
    # Sum each window (one contraction per axis), then divide by its size, as torch does.
    letters = "defg"[:n]
    sums = jnp.einsum(
        f"nc{letters}," + ",".join(f"{a.upper()}{a}" for a in letters) + f"->nc{letters.upper()}",
        x,
        *(jnp.asarray(m, dtype=x.dtype) for m in masks),
        precision=lax.Precision.HIGHEST,
    )
    counts = functools.reduce(np.multiply.outer, [m.sum(1) for m in masks])
    return _unbatched(sums / jnp.asarray(counts, dtype=x.dtype)[None, None], unbatched)


def adaptive_avg_pool1d(input: jax.Array, output_size: OutputSize) -> jax.Array:
    """Average over torch's adaptive windows of ``(N, C, L)``, as ``F.adaptive_avg_pool1d``.

    Window ``i`` of ``o`` covers ``[floor(i*L/o), ceil((i+1)*L/o))``, so windows overlap when ``o``
    does not divide ``L``.

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_avg_pool1d(jnp.array([[1.0, 2.0, 4.0]]), 2).tolist()
        [[1.5, 3.0]]
    """
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: jax.Array, output_size: OutputSize) -> jax.Array:
    """Average over torch's adaptive windows ``[floor(i*H/o), ceil((i+1)*H/o))``; ``None`` keeps a size.

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_avg_pool2d(jnp.arange(12.0).reshape(1, 3, 4), (1, None)).tolist()
        [[[4.0, 5.0, 6.0, 7.0]]]
    """
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: jax.Array, output_size: OutputSize) -> jax.Array:
    """Average over torch's adaptive windows of ``(N, C, D, H, W)``, as ``F.adaptive_avg_pool3d``.

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_avg_pool3d(jnp.arange(8.0).reshape(1, 2, 2, 2), (1, None, 1)).tolist()
        [[[[2.5], [4.5]]]]
    """
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max_pool(
    where: str, n: int, input: jax.Array, output_size: OutputSize, return_indices: bool
) -> MaybeIndices:
    x, unbatched = _batched(input, n, where)
    spatial = x.shape[2:]
    positions, masks = [], []
    for size, out in zip(spatial, _adaptive_sizes(output_size, spatial, where), strict=True):
        start, end = _adaptive_bounds(size, out)
        width = int(np.max(end - start, initial=1))  # the widest window; narrower ones are masked
        pos = start[:, None] + np.arange(width)[None, :]
        positions.append(pos)
        masks.append(pos < end[:, None])
    values, indices = _max_of_windows(x, positions, _outer_mask(masks), per_plane=False)
    return _unbatched((values, indices) if return_indices else values, unbatched)


def adaptive_max_pool1d(
    input: jax.Array, output_size: OutputSize, return_indices: bool = False
) -> MaybeIndices:
    """Max over torch's adaptive windows of ``(N, C, L)``, as ``F.adaptive_max_pool1d``.

    Window ``i`` of ``o`` covers ``[floor(i*L/o), ceil((i+1)*L/o))``.

    Args:
        input: ``(N, C, L)`` or one unbatched ``(C, L)``.
        output_size: the output length ``L_out`` (``None`` keeps ``L``).
        return_indices: also return each maximum's index along ``L``.

    Returns:
        The maxima, ``(N, C, L_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax.numpy as jnp
        >>> values, indices = adaptive_max_pool1d(jnp.array([[1.0, 5.0, 2.0]]), 2, True)
        >>> values.tolist(), indices.tolist()
        ([[5.0, 5.0]], [[1, 1]])
    """
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(
    input: jax.Array, output_size: OutputSize, return_indices: bool = False
) -> MaybeIndices:
    """Max over torch's adaptive windows of ``(N, C, H, W)``, as ``F.adaptive_max_pool2d``.

    With ``return_indices``, also each maximum's flat index in its ``H * W`` plane (int64 under
    ``jax_enable_x64``); the gradient goes to that element, the first maximum in row-major order.

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        output_size: ``(H_out, W_out)``, or one int for both; ``None`` keeps that axis's size.
        return_indices: also return each maximum's flat index in its ``H * W`` plane.

    Returns:
        The maxima, ``(N, C, H_out, W_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_max_pool2d(jnp.arange(9.0).reshape(1, 3, 3), (2, None)).tolist()
        [[[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]
    """
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(
    input: jax.Array, output_size: OutputSize, return_indices: bool = False
) -> MaybeIndices:
    """Max over torch's adaptive windows of ``(N, C, D, H, W)``, as ``F.adaptive_max_pool3d``.

    Args:
        input: ``(N, C, D, H, W)`` or one unbatched ``(C, D, H, W)``.
        output_size: ``(D_out, H_out, W_out)``, or one int for all; ``None`` keeps that axis's
            size.
        return_indices: also return each maximum's flat index in its ``D * H * W`` volume.

    Returns:
        The maxima, ``(N, C, D_out, H_out, W_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_max_pool3d(jnp.arange(8.0).reshape(1, 2, 2, 2), 1, True)[1].tolist()
        [[[[7]]]]
    """
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


# -- max-unpooling ---------------------------------------------------------------------------------


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _scatter_planes(values: jax.Array, index: jax.Array, size: int) -> jax.Array:
    """``(B, M)`` values written at their ``(B, M)`` indices into zero ``(B, size)`` planes."""
    rows = jnp.arange(values.shape[0])[:, None]
    zeros = jnp.zeros((values.shape[0], size), values.dtype)
    return zeros.at[rows, index].set(values, mode="drop")


def _scatter_fwd(values: jax.Array, index: jax.Array, size: int) -> tuple[jax.Array, jax.Array]:
    return _scatter_planes(values, index, size), index


def _scatter_bwd(size: int, index: jax.Array, g: jax.Array) -> tuple[jax.Array, None]:
    # torch's backward reads the gradient at each index, also where two inputs share one
    # (JAX's own scatter rule would give it to one of them only).
    return jnp.take_along_axis(g, index, axis=1, mode="clip"), None


_scatter_planes.defvjp(_scatter_fwd, _scatter_bwd)


def _max_unpool(
    where: str,
    n: int,
    input: jax.Array,
    indices: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    output_size: Sequence[int] | None,
) -> jax.Array:
    x, unbatched = _batched(input, n, where)
    if tuple(indices.shape) != tuple(input.shape):
        raise ValueError(
            f"{where}: expected shape of indices to be the input's {tuple(input.shape)}, got "
            f"{tuple(indices.shape)}; pass the indices max_pool{n}d(..., return_indices=True) made"
        )
    k = ntuple(kernel_size, n, "kernel_size", where, minimum=1)
    s = k if stride is None else ntuple(stride, n, "stride", where, minimum=1)
    p = ntuple(padding, n, "padding", where)
    default = [
        (i - 1) * si + ki - 2 * pi for i, si, ki, pi in zip(x.shape[2:], s, k, p, strict=True)
    ]
    if output_size is None:
        sizes = default
    else:
        sizes = [int(o) for o in output_size]
        sizes = sizes[2:] if len(sizes) == n + 2 else sizes
        if len(sizes) != n:
            raise ValueError(
                f"{where}: output_size should have {n} or {n + 2} elements, got {output_size!r}"
            )
        for a, (o, dflt, si) in enumerate(zip(sizes, default, s, strict=True)):
            if not dflt - si < o < dflt + si:
                raise ValueError(
                    f"{where}: invalid output_size {tuple(output_size)} (dim {a} must be between "
                    f"{dflt - si} and {dflt + si}, exclusive); use a size max_pool{n}d maps "
                    "to this input"
                )
    planes = x.shape[0] * x.shape[1]
    flat = _scatter_planes(
        jnp.reshape(x, (planes, -1)), jnp.reshape(indices, (planes, -1)), math.prod(sizes)
    )
    return _unbatched(jnp.reshape(flat, (*x.shape[:2], *sizes)), unbatched)


def max_unpool1d(
    input: jax.Array,
    indices: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> jax.Array:
    """The partial inverse of :func:`max_pool1d`, as ``torch.nn.functional.max_unpool1d``.

    Each value goes back to its index, zeros elsewhere; the gradient of each input is the output
    gradient at its index.

    Args:
        input: the pooled ``(N, C, L)`` or ``(C, L)``.
        indices: the indices along the unpooled ``L`` that
            ``max_pool1d(..., return_indices=True)`` gave, of ``input``'s shape.
        kernel_size: the pooling's kernel size.
        stride: the pooling's stride; ``None`` means ``kernel_size``.
        padding: the pooling's padding.
        output_size: the unpooled length (``(L,)``, or with ``N, C`` in front), within a stride
            of the default ``(L_in - 1) * stride + kernel_size - 2 * padding``.

    Returns:
        ``(N, C, L)`` (no ``N`` for an unbatched input), zero except at ``indices``.

    Example:
        >>> import jax.numpy as jnp
        >>> max_unpool1d(jnp.array([[3.0, 2.0]]), jnp.array([[1, 2]]), 2).tolist()
        [[0.0, 3.0, 2.0, 0.0]]
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: jax.Array,
    indices: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> jax.Array:
    """The partial inverse of :func:`max_pool2d`: each value back at its index, zeros elsewhere.

    As ``torch.nn.functional.max_unpool2d``; the gradient of each input is the output gradient at
    its index.

    Args:
        input: the pooled ``(N, C, H, W)`` or ``(C, H, W)``.
        indices: the flat ``H_out * W_out`` indices ``max_pool2d(..., return_indices=True)`` gave.
        kernel_size: the pooling's kernel size.
        stride: the pooling's stride; ``None`` means ``kernel_size``.
        padding: the pooling's padding.
        output_size: the unpooled size (``(H, W)``, or with ``N, C`` in front), within a stride of
            the default ``(H - 1) * stride + kernel_size - 2 * padding``.

    Returns:
        ``(N, C, H_out, W_out)`` (no ``N`` for an unbatched input), zero except at ``indices``.

    Example:
        >>> import jax.numpy as jnp
        >>> max_unpool2d(jnp.array([[[5.0]]]), jnp.array([[[3]]]), 2).tolist()
        [[[0.0, 0.0], [0.0, 5.0]]]
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: jax.Array,
    indices: jax.Array,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> jax.Array:
    """The partial inverse of :func:`max_pool3d`, as ``torch.nn.functional.max_unpool3d``.

    Each value goes back to its index, zeros elsewhere; the gradient of each input is the output
    gradient at its index.

    Args:
        input: the pooled ``(N, C, D, H, W)`` or ``(C, D, H, W)``.
        indices: the flat ``D_out * H_out * W_out`` indices
            ``max_pool3d(..., return_indices=True)`` gave, of ``input``'s shape.
        kernel_size: the pooling's kernel size.
        stride: the pooling's stride; ``None`` means ``kernel_size``.
        padding: the pooling's padding.
        output_size: the unpooled size (``(D, H, W)``, or with ``N, C`` in front), within a
            stride of the default ``(D - 1) * stride + kernel_size - 2 * padding`` per axis.

    Returns:
        ``(N, C, D_out, H_out, W_out)`` (no ``N`` for an unbatched input), zero except at
        ``indices``.

    Example:
        >>> import jax.numpy as jnp
        >>> max_unpool3d(jnp.ones((1, 1, 1, 1)), jnp.array([[[[7]]]]), 2).sum().item()
        1.0
    """
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


# -- fractional max pooling ------------------------------------------------------------------------


def _intervals(u: jax.Array, size: int, out: int, k: int) -> jax.Array:
    """torch's window starts along one axis from one uniform sample per plane (``(N, C)``),
    computed in the input's dtype as torch computes them in ``scalar_t``."""
    last = jnp.full((*u.shape, 1), size - k, dtype=jnp.int32)
    if out == 1:
        return last
    alpha = jnp.asarray(size - k, u.dtype) / jnp.asarray(out - 1, u.dtype)
    i = jnp.reshape(jnp.arange(out - 1, dtype=u.dtype), (1,) * u.ndim + (-1,))
    starts = ((i + u[..., None]) * alpha).astype(jnp.int32) - (u * alpha).astype(jnp.int32)[
        ..., None
    ]
    return jnp.concatenate([starts, last], axis=-1)


def _fractional_max_pool(
    where: str,
    n: int,
    input: jax.Array,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple | None,
    output_ratio: float | Sequence[float] | None,
    return_indices: bool,
    _random_samples: jax.Array | None,
    key: jax.Array | None,
) -> MaybeIndices:
    x, unbatched = _batched(input, n, where)
    spatial = x.shape[2:]
    k = ntuple(kernel_size, n, "kernel_size", where, minimum=1)
    if output_size is not None:
        outs = ntuple(output_size, n, "output_size", where, minimum=1)
    elif output_ratio is not None:
        ratio = (
            (output_ratio,) * n if isinstance(output_ratio, int | float) else tuple(output_ratio)
        )
        ratio = ratio * n if len(ratio) == 1 else ratio
        if len(ratio) != n:
            raise ValueError(f"{where}: output_ratio must be a float or {n} of them")
        outs = tuple(int(size * r) for size, r in zip(spatial, ratio, strict=True))
    else:
        raise ValueError(
            f"{where} requires specifying either an output_size or an output_ratio; pass one"
        )
    for size, ki, out in zip(spatial, k, outs, strict=True):
        if out + ki - 1 > size or out < 1:
            raise ValueError(
                f"{where}: output size {outs} with kernel_size {k} needs an input of at least "
                f"{tuple(o + kk - 1 for o, kk in zip(outs, k, strict=True))}, got {tuple(spatial)}; "
                "use a smaller output_size or kernel_size"
            )
    shape = (x.shape[0], x.shape[1], n)
    if _random_samples is not None:
        samples = jnp.asarray(_random_samples, x.dtype)
        # torch reads the first N rows (one for an unbatched input) and refuses fewer
        if samples.ndim != 3 or samples.shape[0] < shape[0] or samples.shape[1:] != shape[1:]:
            raise ValueError(
                f"{where}: _random_samples must have shape (at least N, C, {n}) with N, C = "
                f"{shape[:2]}, got {tuple(samples.shape)}"
            )
        samples = samples[: shape[0]]
    elif key is not None:
        samples = jax.random.uniform(key, shape, x.dtype)
    else:
        raise ValueError(
            f"{where} is random: pass key= (a jax.random key) or torch's _random_samples="
        )
    samples = lax.stop_gradient(samples)
    # torch's sample order: (W, H) for 2-D, (T, H, W) for 3-D.
    order = (1, 0) if n == 2 else (0, 1, 2)
    positions = [
        _intervals(samples[..., j], size, out, ki)[..., None] + jnp.arange(ki).reshape(1, 1, 1, -1)
        for j, size, out, ki in zip(order, spatial, outs, k, strict=True)
    ]
    values, indices = _max_of_windows(x, positions, None, per_plane=True)
    return _unbatched((values, indices) if return_indices else values, unbatched)


def fractional_max_pool2d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    _random_samples: jax.Array | None = None,
    *,
    key: jax.Array | None = None,
) -> MaybeIndices:
    """Max over randomly placed windows, as ``torch.nn.functional.fractional_max_pool2d``.

    Each ``(N, C)`` plane's window starts come from uniform samples in ``[0, 1)``: torch's own
    ``_random_samples`` (``(N, C, 2)``, the exact same windows as torch), or drawn from ``key``.

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        kernel_size: the window's size, an int or ``(kh, kw)``.
        output_size: the output's ``(H_out, W_out)`` (or one int for both).
        output_ratio: or the output's size as a fraction of the input's (``int(H * ratio)``).
        return_indices: also return each maximum's flat index in its ``H * W`` plane.
        _random_samples: torch's samples, ``(N, C, 2)`` (``N`` is 1 for an unbatched input).
        key: where the samples are drawn from when ``_random_samples`` is not given.

    Returns:
        The maxima, ``(N, C, H_out, W_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.arange(25.0).reshape(1, 1, 5, 5)
        >>> fractional_max_pool2d(x, 2, output_size=2, key=jax.random.key(0)).shape
        (1, 1, 2, 2)
        >>> u = jnp.zeros((1, 1, 2))
        >>> fractional_max_pool2d(x, 2, output_size=2, _random_samples=u).tolist()
        [[[[6.0, 9.0], [21.0, 24.0]]]]
    """
    return _fractional_max_pool(
        "fractional_max_pool2d",
        2,
        input,
        kernel_size,
        output_size,
        output_ratio,
        return_indices,
        _random_samples,
        key,
    )


def fractional_max_pool3d(
    input: jax.Array,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple | None = None,
    output_ratio: float | Sequence[float] | None = None,
    return_indices: bool = False,
    _random_samples: jax.Array | None = None,
    *,
    key: jax.Array | None = None,
) -> MaybeIndices:
    """Max over randomly placed 3-D windows, as ``torch.nn.functional.fractional_max_pool3d``.

    Each ``(N, C)`` volume's window starts come from uniform samples in ``[0, 1)``: torch's own
    ``_random_samples`` (``(N, C, 3)``, the exact same windows as torch), or drawn from ``key``.

    Args:
        input: ``(N, C, D, H, W)`` or one unbatched ``(C, D, H, W)``.
        kernel_size: the window's size, an int or ``(kd, kh, kw)``.
        output_size: the output's ``(D_out, H_out, W_out)`` (or one int for all).
        output_ratio: or the output's size as a fraction of the input's (``int(D * ratio)``...).
        return_indices: also return each maximum's flat index in its ``D * H * W`` volume.
        _random_samples: torch's samples, ``(N, C, 3)`` (``N`` is 1 for an unbatched input).
        key: where the samples are drawn from when ``_random_samples`` is not given.

    Returns:
        The maxima, ``(N, C, D_out, H_out, W_out)`` (no ``N`` for an unbatched input); with
        ``return_indices``, ``(maxima, indices)``, the indices of the same shape (int64 under
        ``jax_enable_x64``, int32 otherwise).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.ones((1, 4, 4, 4))
        >>> fractional_max_pool3d(x, 2, output_ratio=0.5, key=jax.random.key(0)).shape
        (1, 2, 2, 2)
    """
    return _fractional_max_pool(
        "fractional_max_pool3d",
        3,
        input,
        kernel_size,
        output_size,
        output_ratio,
        return_indices,
        _random_samples,
        key,
    )
