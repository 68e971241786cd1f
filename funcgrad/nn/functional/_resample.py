"""Resampling as pure functions: torch's ``F.interpolate`` and its ``upsample`` aliases.

Every mode is separable: each spatial axis is resampled on its own by a small table of taps, for
each output position the input positions it reads and their weights (one tap for ``nearest``, two
for ``linear``, four for ``bicubic``, a whole bin for ``area`` and for antialiasing). The tables
are computed with NumPy when the function is traced (the sizes are static), by torch's own
formulas and in the input's precision (float32 for float32, as torch's CPU kernels), so the
indices agree with torch's at the boundaries. Applying a table is a gather and a weighted sum, so
the gradient is the matching scatter-add, as torch's.

``jax.image.resize`` is not used: it antialiases whenever it downsamples and has no
``align_corners`` (jax#11206).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]

Mode = Literal["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"]

# the modes that need one spatial rank (the others take 1, 2 or 3 spatial axes)
_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_CUBIC_A = -0.75  # torch's bicubic (Keys' kernel with A = -0.75); antialiasing uses -0.5 (PIL)

Taps = tuple[np.ndarray, np.ndarray | None]  # (out, K) input indices and weights (None: one tap)


def _scale(acc: type, n_in: int, n_out: int, align_corners: bool, scale: float | None) -> float:
    """torch's ``area_pixel_compute_scale``: the input step per output step."""
    if align_corners:
        return acc(n_in - 1) / acc(n_out - 1) if n_out > 1 else acc(0)
    return acc(1.0 / scale) if scale is not None and scale > 0 else acc(n_in) / acc(n_out)


def _source(acc: type, scale: float, n_out: int, align_corners: bool, cubic: bool) -> np.ndarray:
    """torch's ``area_pixel_compute_source_index`` for every output position."""
    dst: np.ndarray = np.arange(n_out, dtype=acc)
    if align_corners:
        return acc(scale) * dst
    src = acc(scale) * (dst + acc(0.5)) - acc(0.5)
    return src if cubic else np.maximum(src, acc(0))


def _floor_and_frac(src: np.ndarray, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's ``guard_index_and_lambda``: the index below (at most ``n_in - 1``), the fraction."""
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    return i0, np.clip(src - i0.astype(src.dtype), 0, 1)


def _nearest(acc: type, n_in: int, n_out: int, scale: float | None, exact: bool) -> Taps:
    s = _scale(acc, n_in, n_out, False, scale)
    if exact:  # round half up of the pixel centre: torch's nearest-exact
        src = np.floor(_source(acc, s, n_out, False, False) + acc(0.5))
    else:  # torch's legacy nearest: floor(dst * scale)
        src = np.floor(np.arange(n_out, dtype=acc) * acc(s))
    return np.minimum(src.astype(np.int64), n_in - 1)[:, None], None


def _linear(acc: type, n_in: int, n_out: int, scale: float | None, align: bool) -> Taps:
    if n_in == n_out:  # torch copies (whatever the scale factor says)
        return np.arange(n_out)[:, None], None
    i0, lam = _floor_and_frac(
        _source(acc, _scale(acc, n_in, n_out, align, scale), n_out, align, False), n_in
    )
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1], 1), np.stack([1 - lam, lam], 1)


def _cubic_weights(t: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution weights of the four taps around a point ``t`` past the second."""

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], 1)


def _cubic(acc: type, n_in: int, n_out: int, scale: float | None, align: bool) -> Taps:
    src = _source(acc, _scale(acc, n_in, n_out, align, scale), n_out, align, True)
    i0, t = _floor_and_frac(src, n_in)
    idx = np.clip(i0[:, None] + np.arange(-1, 3), 0, n_in - 1)  # border values repeat (clamped)
    return idx, _cubic_weights(t, acc(_CUBIC_A)).astype(acc)


def _area(n_in: int, n_out: int) -> Taps:
    """torch's adaptive average pooling bins: ``[floor(o n / m), ceil((o + 1) n / m))``."""
    o = np.arange(n_out)
    start, end = (o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)
    k = int((end - start).max())
    idx = np.minimum(start[:, None] + np.arange(k), n_in - 1)
    inside = np.arange(k) < (end - start)[:, None]
    return idx, np.where(inside, 1.0 / (end - start)[:, None], 0.0)


def _antialiased(
    acc: type, n_in: int, n_out: int, scale: float | None, align: bool, cubic: bool
) -> Taps:
    """torch's antialiased (PIL-style) taps: the filter stretched by the downsampling factor."""
    s = _scale(acc, n_in, n_out, align, scale)
    size = 4 if cubic else 2
    support = acc(size * 0.5) * s if s >= 1 else acc(size * 0.5)
    width = int(math.ceil(support)) * 2 + 1
    invscale = acc(1) / s if s >= 1 else acc(1)
    centre = s * (np.arange(n_out, dtype=acc) + acc(0.5))
    lo = np.maximum((centre - support + acc(0.5)).astype(np.int64), 0)  # C++ truncation
    count = np.clip(np.minimum((centre + support + acc(0.5)).astype(np.int64), n_in) - lo, 0, width)
    j = np.arange(width)
    x = np.abs((j + lo[:, None] - centre[:, None] + acc(0.5)) * invscale).astype(acc)
    if cubic:
        a = acc(-0.5)
        w = np.where(
            x < 1,
            ((a + 2) * x - (a + 3)) * x * x + 1,
            np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0),
        )
    else:
        w = np.maximum(1 - x, 0)
    w = np.where(j < count[:, None], w, 0).astype(acc)
    total = w.sum(1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), 0)
    return np.minimum(lo[:, None] + j, n_in - 1), w


def _along(x: jax.Array, axis: int, taps: Taps) -> jax.Array:
    """Resample ``x`` along ``axis``: gather the taps, weigh them, sum them."""
    idx, w = taps
    n_out, k = idx.shape
    gathered = jnp.take(x, jnp.asarray(idx.reshape(-1)), axis=axis, mode="clip")
    if w is None:
        return gathered
    gathered = gathered.reshape(x.shape[:axis] + (n_out, k) + x.shape[axis + 1 :])
    weights = jnp.asarray(w.reshape((1,) * axis + (n_out, k) + (1,) * (x.ndim - axis - 1)), x.dtype)
    return jnp.sum(gathered * weights, axis=axis + 1)


def _per_axis(value: object, dim: int, what: str, input: jax.Array) -> list:
    if isinstance(value, list | tuple):
        if len(value) != dim:
            raise ValueError(
                f"interpolate: input and {what} must have the same number of spatial dimensions, "
                f"but got input with spatial dimensions of {list(input.shape[2:])} and {what} of "
                f"{list(value)}; give (N, C, d1, ..., dK) input and K values"
            )
        return list(value)
    return [value] * dim


def _checked(
    input: jax.Array,
    size: int | Sequence[int] | None,
    scale_factor: float | Sequence[float] | None,
    mode: str,
    align_corners: bool | None,
    recompute_scale_factor: bool | None,
    antialias: bool,
) -> tuple[list[int], list[float | None], bool]:
    """torch's argument rules: the output sizes, the scales the kernels see, ``align_corners``."""
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode {mode!r} is not one of {', '.join(_MODES)}")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            f"linear | bilinear | bicubic | trilinear (got mode {mode!r}); leave it None"
        )
    if input.ndim not in (3, 4, 5) or _RANK.get(mode, input.ndim - 2) != input.ndim - 2:
        want = f"{_RANK[mode] + 2}D" if mode in _RANK else "3D, 4D or 5D"
        raise ValueError(
            f"interpolate: mode {mode!r} needs {want} input (N, C, *spatial), got {input.ndim}D "
            f"input of shape {input.shape}; reshape it, or pick the mode for its rank (linear "
            "1-D, bilinear/bicubic 2-D, trilinear 3-D)"
        )
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError(
            "interpolate: only one of size or scale_factor should be defined; give one of them"
        )
    if size is None and scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined; give one")
    if recompute_scale_factor and size is not None:
        raise ValueError(
            "interpolate: recompute_scale_factor is not meaningful with an explicit size; "
            "leave it None"
        )
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError(
            "interpolate: anti-alias option is restricted to bilinear and bicubic modes and "
            "requires a 4-D tensor as input; pass antialias=False"
        )
    n_in = list(input.shape[2:])
    if size is not None:
        out = [int(s) for s in _per_axis(size, dim, "output size", input)]
        scales: list[float | None] = [None] * dim
    else:
        factors = [float(f) for f in _per_axis(scale_factor, dim, "scale_factor", input)]
        out = [math.floor(n * f) for n, f in zip(n_in, factors, strict=True)]
        # torch's kernels use the given scale for coordinates, unless recomputed (area always is)
        recompute = recompute_scale_factor or mode == "area"
        scales = [None] * dim if recompute else list(factors)
    if min(n_in + out) <= 0:
        raise ValueError(
            f"interpolate: input and output sizes should be greater than 0, but got input "
            f"{tuple(n_in)} and output {tuple(out)}; give a larger size or scale_factor"
        )
    return out, scales, bool(align_corners)


def interpolate(
    input: jax.Array,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: Mode = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> jax.Array:
    """torch's ``F.interpolate`` on ``(N, C, *spatial)`` with 1, 2 or 3 spatial axes.

    Modes: ``nearest`` (torch's legacy ``floor(dst * scale)``), ``nearest-exact`` (pixel centres),
    ``linear`` / ``bilinear`` / ``trilinear``, ``bicubic`` (``A = -0.75``, borders clamped) and
    ``area`` (adaptive average pooling). ``align_corners=True`` maps the corner pixels' centres
    onto each other. With ``scale_factor`` the output size is ``floor(size * scale_factor)`` and
    the coordinates use the given factor, unless ``recompute_scale_factor=True`` (then they use
    the sizes' ratio, as with ``size``). ``antialias=True`` (bilinear or bicubic, 4-D) widens the
    filter when downsampling, as torch's (and PIL's).

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size: the output's spatial size (an int for every axis, or one per axis).
        scale_factor: the spatial multiplier (a float for every axis, or one per axis).
        mode: the interpolation mode.
        align_corners: for the interpolating modes, whether corner pixels' centres align
            (``None`` is ``False``); must be ``None`` for ``nearest``, ``nearest-exact``, ``area``.
        recompute_scale_factor: compute the coordinates from the output size, not
            ``scale_factor``.
        antialias: antialias when downsampling (bilinear and bicubic modes, 4-D input).

    Returns:
        ``(N, C, *size)`` of ``input``'s dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.array([[[0.0, 1.0]]])
        >>> interpolate(x, scale_factor=2).tolist()
        [[[0.0, 0.0, 1.0, 1.0]]]
        >>> interpolate(x, size=4, mode="linear").tolist()
        [[[0.0, 0.25, 0.75, 1.0]]]
        >>> interpolate(x, size=3, mode="linear", align_corners=True).tolist()
        [[[0.0, 0.5, 1.0]]]
    """
    out, scales, align = _checked(
        input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias
    )
    acc = np.float32 if input.dtype in (jnp.float32, jnp.float16, jnp.bfloat16) else np.float64
    cubic = mode == "bicubic"

    def taps(n_in: int, n_out: int, scale: float | None) -> Taps:
        if mode == "area":
            return _area(n_in, n_out)
        if mode in ("nearest", "nearest-exact"):
            return _nearest(acc, n_in, n_out, scale, mode == "nearest-exact")
        if antialias:
            return _antialiased(acc, n_in, n_out, scale, align, cubic)
        table: Callable[..., Taps] = _cubic if cubic else _linear
        return table(acc, n_in, n_out, scale, align)

    y = input
    for axis, (n_out, scale) in enumerate(zip(out, scales, strict=True), start=2):
        y = _along(y, axis, taps(input.shape[axis], n_out, scale))
    return y


def upsample(
    input: jax.Array,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: Mode = "nearest",
    align_corners: bool | None = None,
) -> jax.Array:
    """torch's ``F.upsample`` (deprecated there): :func:`interpolate` under its old name.

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size: the output's spatial size (an int for every axis, or one per axis).
        scale_factor: or the spatial multiplier (a float for every axis, or one per axis).
        mode: the interpolation mode, as :func:`interpolate`'s.
        align_corners: for the interpolating modes, whether corner pixels' centres align
            (``None`` is ``False``); must be ``None`` for ``nearest``, ``nearest-exact``, ``area``.

    Returns:
        ``(N, C, *size)`` of ``input``'s dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> upsample(jnp.ones((1, 1, 2, 2)), scale_factor=2).shape
        (1, 1, 4, 4)
    """
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(
    input: jax.Array,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> jax.Array:
    """torch's ``F.upsample_nearest``: :func:`interpolate` with ``mode="nearest"``.

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size: the output's spatial size (an int for every axis, or one per axis).
        scale_factor: or the spatial multiplier (a float for every axis, or one per axis).

    Returns:
        ``(N, C, *size)`` of ``input``'s dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> upsample_nearest(jnp.array([[[1.0, 2.0]]]), size=4).tolist()
        [[[1.0, 1.0, 2.0, 2.0]]]
    """
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(
    input: jax.Array,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> jax.Array:
    """torch's ``F.upsample_bilinear``: :func:`interpolate` with ``mode="bilinear"`` and
    ``align_corners=True`` on ``(N, C, H, W)``.

    Args:
        input: ``(N, C, H, W)``.
        size: the output's ``(H_out, W_out)``, or one int for both.
        scale_factor: or the spatial multiplier (one float for both axes, or one per axis).

    Returns:
        ``(N, C, H_out, W_out)`` of ``input``'s dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> upsample_bilinear(jnp.array([[[[0.0, 2.0]]]]), size=(1, 3)).tolist()
        [[[[0.0, 1.0, 2.0]]]]
    """
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
