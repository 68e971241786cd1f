"""Padding, as ``torch.nn.functional.pad``: every mode, torch's pad-tuple order, negative pads crop.

The pad tuple names the last axis first, ``(left, right, top, bottom, front, back)``, as torch's.
``'constant'`` is one ``lax.pad`` (which crops where a pad is negative) and takes any number of
axes; ``'reflect'``, ``'replicate'`` and ``'circular'`` pad the last one to three axes of a
batched or unbatched input by one gather per axis, from the index each output reads in torch's
kernels, and refuse pads torch refuses (reflect: smaller than the axis; circular: at most it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["pad"]

PadMode = Literal["constant", "reflect", "replicate", "circular"]
# The largest pad each mode takes, given the axis's size: reflect mirrors without repeating the
# edge (pad < size); circular wraps once (pad <= size); replicate repeats the edge (any pad).
_LIMIT = {"reflect": lambda n: n - 1, "circular": lambda n: n, "replicate": lambda n: None}


def _pairs(pad: Sequence[int], ndim: int, where: str) -> list[tuple[int, int]]:
    """torch's pad tuple as ``(low, high)`` per padded axis, first axis first."""
    pads = tuple(pad)
    if not all(isinstance(p, int) for p in pads) or len(pads) % 2:
        raise ValueError(
            f"{where}: pad must be an even number of ints (left, right, top, bottom, ...), "
            f"got {pad!r}"
        )
    if len(pads) // 2 > ndim:
        raise ValueError(
            f"{where}: pad {pads} pads {len(pads) // 2} axes but the input has {ndim}; "
            "pass two ints per padded axis, last axis first"
        )
    return [(pads[i], pads[i + 1]) for i in range(0, len(pads), 2)][::-1]


def pad(
    input: jax.Array,
    pad: Sequence[int],
    mode: PadMode = "constant",
    value: float | None = None,
) -> jax.Array:
    """Pad (or crop, where negative) the trailing axes, as ``torch.nn.functional.pad``.

    Args:
        input: any array; ``'reflect'``, ``'replicate'`` and ``'circular'`` take ``(N, C, *s)``
            or ``(C, *s)`` with one to three spatial axes ``s``.
        pad: ``(left, right)`` for the last axis, then ``(top, bottom)`` for the one before, and
            so on; a negative entry crops.
        mode: ``'constant'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        value: the fill of ``'constant'`` (``None`` is 0); the other modes take none.

    Returns:
        ``input`` padded: each padded axis grows by its two pads.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.arange(4.0).reshape(1, 1, 4)
        >>> pad(x, (2, 1), mode="reflect").tolist()
        [[[2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0]]]
        >>> pad(x, (1, -2), value=9.0).tolist()
        [[[9.0, 0.0, 1.0]]]
    """
    pairs = _pairs(pad, input.ndim, "pad")
    lead = input.ndim - len(pairs)
    if mode == "constant":
        fill = jnp.asarray(0 if value is None else value, input.dtype)
        return lax.pad(input, fill, ((0, 0, 0),) * lead + tuple((lo, hi, 0) for lo, hi in pairs))
    if mode not in _SOURCE:
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if value is not None and value != 0:
        raise ValueError(f"pad: mode {mode!r} takes no value; drop value= or use mode='constant'")
    n = len(pairs)
    if not 1 <= n <= 3 or input.ndim not in (n + 1, n + 2):
        raise ValueError(
            f"pad: mode {mode!r} with {2 * n} pad values expects {n + 1}D or {n + 2}D input "
            f"(got {input.ndim}D input); pad 1 to 3 trailing axes of (N, C, *spatial) or (C, *spatial)"
        )
    spatial = input.shape[lead:]
    limit = _LIMIT[mode]
    for (lo, hi), size in zip(pairs, spatial, strict=True):
        most = limit(size)
        if most is not None and max(lo, hi) > most:
            raise ValueError(
                f"pad: mode {mode!r} pads at most {most} on an axis of size {size}, got "
                f"{(lo, hi)}; use less padding, a larger input or mode='replicate'"
            )
    x = input
    for axis, ((lo, hi), size) in enumerate(zip(pairs, spatial, strict=True), start=lead):
        x = jnp.take(x, _SOURCE[mode](size, lo, hi), axis=axis)
    return x


def _replicate(n: int, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.arange(n + lo + hi) - lo, 0, n - 1)


def _reflect(n: int, lo: int, hi: int) -> np.ndarray:
    j = np.abs(np.arange(n + lo + hi) - lo)
    return np.where(j >= n, 2 * (n - 1) - j, j)


def _circular(n: int, lo: int, hi: int) -> np.ndarray:
    # torch crops the negative pads first and wraps what is left
    first, kept = max(-lo, 0), n - max(-lo, 0) - max(-hi, 0)
    return first + (np.arange(n + lo + hi) - max(lo, 0)) % kept


# Which input index each output index of a padded axis reads, as torch's kernels compute it
# (static: one gather per axis, whose gradient adds the copies back up). A negative pad crops.
_SOURCE = {"replicate": _replicate, "reflect": _reflect, "circular": _circular}
