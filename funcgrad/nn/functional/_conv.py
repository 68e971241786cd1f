"""Convolutions, as ``torch.nn.functional.conv1d/2d/3d`` and ``conv_transpose1d/2d/3d`` (channels first).

One n-d implementation serves every rank: ``_conv`` (weight ``(O, I/groups, *k)``) and
``_conv_transpose`` (weight ``(I, O/groups, *k)``, torch's layout); the public functions only fix
``nd``. ``unfold`` / ``fold`` (im2col and its transpose) are here too: they cut and sum the same
windows a convolution slides.

Every convolution goes through one call of ``lax.conv_general_dilated``, so GPUs keep cuDNN and the
CPU gets whatever kernels the caller compiles with (see ``funcgrad._cpu_kernels``). Tracing reads
nothing else: no environment, no context variable, so the same arguments trace the same program.

A stride-1 convolution's input gradient is written as an explicit zero pad followed by an unpadded
convolution (``_conv_general_dilated``); XLA:CPU runs that 20-25% faster than the padded
convolution JAX's own transpose rule emits, about 8% of the ConvNet train step.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "fold",
    "unfold",
]

IntOrTuple = int | Sequence[int]
Padding = IntOrTuple | Literal["valid", "same"]
Pads = tuple[tuple[int, int], ...]

_DIMS: dict[int, tuple[str, str, str]] = {
    1: ("NCH", "OIH", "NCH"),
    2: ("NCHW", "OIHW", "NCHW"),
    3: ("NCDHW", "OIDHW", "NCDHW"),
}
_LAYOUT = {
    1: "(N, C, L) or (C, L)",
    2: "(N, C, H, W) or (C, H, W)",
    3: "(N, C, D, H, W) or (C, D, H, W)",
}


def check_rank(input: jax.Array, nd: int, where: str) -> None:
    """Raise a ValueError unless ``input`` is ``nd``-d data, batched or not (torch's layouts).

    Example:
        >>> check_rank(jnp.ones((2, 3)), 2, "conv2d")
        Traceback (most recent call last):
        ...
        ValueError: conv2d: expected input (N, C, H, W) or (C, H, W), got shape (2, 3)
    """
    if input.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{where}: expected input {_LAYOUT[nd]}, got shape {tuple(input.shape)}")


def ntuple(v: IntOrTuple, n: int, name: str, where: str, minimum: int = 0) -> tuple[int, ...]:
    """``v`` as ``n`` ints, each at least ``minimum`` (torch's ``_pair``); a ValueError names ``name``.

    Example:
        >>> ntuple(3, 2, "stride", "conv2d", minimum=1)
        (3, 3)
    """
    t = (v,) * n if isinstance(v, int) else tuple(v)
    t = t * n if len(t) == 1 else t  # torch's pooling reads (k,) as (k, k)
    if len(t) != n or not all(isinstance(p, int) and p >= minimum for p in t):
        kind = "positive" if minimum >= 1 else "non-negative"
        raise ValueError(f"{where}: {name} must be a {kind} int or {n} of them, got {v!r}")
    return t


def conv_pads(
    padding: Padding,
    kernel: Sequence[int],
    dilation: Sequence[int],
    strides: Sequence[int],
    where: str,
) -> Pads:
    """``(low, high)`` padding per spatial axis, as torch resolves ints, ``'valid'`` and ``'same'``.

    ``'same'`` pads ``dilation * (k - 1)`` in total, the odd extra pixel at the end, as torch does.

    Example:
        >>> conv_pads("same", (4,), (1,), (1,), "conv1d")
        ((1, 2),)
    """
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(
                f"{where}: padding must be 'valid', 'same' or ints, got {padding!r}; "
                "pass padding='same', 'valid' or an int"
            )
        if any(s != 1 for s in strides):
            raise ValueError(
                f"{where}: padding='same' needs stride=1, as in PyTorch; pad with ints"
            )
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in ntuple(padding, n, "padding", where))


def check_window_fits(
    spatial: Sequence[int], pads: Pads, kernel: Sequence[int], dilation: Sequence[int], where: str
) -> None:
    """Raise a ValueError when the (dilated) kernel is larger than the padded input.

    Example:
        >>> check_window_fits((2,), ((0, 0),), (3,), (1,), "conv1d")
        Traceback (most recent call last):
        ...
        ValueError: conv1d: padded input (2,) is smaller than the kernel (3,) (dilation (1,)); use a larger input, more padding or a smaller kernel_size
    """
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pads, strict=True))
    if any(p < d * (k - 1) + 1 for p, k, d in zip(padded, kernel, dilation, strict=True)):
        raise ValueError(
            f"{where}: padded input {padded} is smaller than the kernel {tuple(kernel)} "
            f"(dilation {tuple(dilation)}); use a larger input, more padding or a smaller kernel_size"
        )


def _lax_conv(
    input: jax.Array,
    weight: jax.Array,
    strides: Sequence[int],
    pads: Pads,
    dilations: Sequence[int],
    groups: int,
    dims: tuple[str, str, str],
) -> jax.Array:
    """The one call of ``lax.conv_general_dilated``."""
    return lax.conv_general_dilated(
        input,
        weight,
        tuple(strides),
        pads,
        rhs_dilation=tuple(dilations),
        feature_group_count=groups,
        dimension_numbers=dims,
    )


@partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5))
def _conv_general_dilated(
    input: jax.Array,
    weight: jax.Array,
    pads: Pads,
    dilations: tuple[int, ...],
    groups: int,
    dims: tuple[str, str, str],
) -> jax.Array:
    """A stride-1 convolution whose input gradient is a zero pad and an unpadded convolution."""
    return _lax_conv(input, weight, (1,) * len(pads), pads, dilations, groups, dims)


def _conv_jvp(
    pads: Pads,
    dilations: tuple[int, ...],
    groups: int,
    dims: tuple[str, str, str],
    primals: tuple[jax.Array, jax.Array],
    tangents: tuple[jax.Array | SymbolicZero, jax.Array | SymbolicZero],
) -> tuple[jax.Array, jax.Array]:
    input, weight = primals
    d_input, d_weight = tangents
    out = _conv_general_dilated(input, weight, pads, dilations, groups, dims)
    tangent = jnp.zeros_like(out)
    if not isinstance(d_weight, SymbolicZero):
        tangent = _conv_general_dilated(input, d_weight, pads, dilations, groups, dims)
    if isinstance(d_input, SymbolicZero):  # the input is data: no input gradient to compute
        return out, tangent
    # The input's tangent as the "full" convolution (padded by the dilated kernel's extent less
    # one) cropped to the output: JAX transposes a crop into a zero pad and a full convolution
    # into an unpadded one, so reverse mode gets pad + unpadded convolution. (Forward mode pays
    # for the full convolution's larger output; reverse mode never evaluates it.)
    extents = [d * (k - 1) for k, d in zip(weight.shape[2:], dilations, strict=True)]
    full = _lax_conv(
        d_input, weight, (1,) * len(pads), tuple((e, e) for e in extents), dilations, groups, dims
    )
    starts = (0, 0) + tuple(e - lo for e, (lo, _) in zip(extents, pads, strict=True))
    ends = tuple(s + n for s, n in zip(starts, out.shape, strict=True))
    return out, tangent + lax.slice(full, starts, ends)


# Symbolic zeros, so that an input that is data (the first layer's) costs no convolution at all.
_conv_general_dilated.defjvp(_conv_jvp, symbolic_zeros=True)


def _conv(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None,
    stride: IntOrTuple,
    padding: Padding,
    dilation: IntOrTuple,
    groups: int,
    nd: int,
) -> jax.Array:
    where = f"conv{nd}d"
    check_rank(input, nd, where)
    if input.ndim == nd + 1:  # one example: the bias goes on after the batch axis is dropped
        y = _conv(input[None], weight, None, stride, padding, dilation, groups, nd)[0]
        return y if bias is None else y + bias.reshape((-1,) + (1,) * nd)
    out_c, in_per_group, *kernel = weight.shape
    if not isinstance(groups, int) or groups < 1 or out_c % groups:
        raise ValueError(
            f"{where}: groups={groups!r} must be a positive int dividing the {out_c} output "
            "channels; pick groups that divides both channel counts"
        )
    if input.shape[1] != in_per_group * groups:
        raise ValueError(
            f"{where}: input has {input.shape[1]} channels (shape {tuple(input.shape)}) but weight "
            f"{tuple(weight.shape)} with groups={groups} expects {in_per_group * groups}; "
            f"build the layer with in_channels={input.shape[1]}"
        )
    strides = ntuple(stride, nd, "stride", where, minimum=1)
    dilations = ntuple(dilation, nd, "dilation", where, minimum=1)
    pads = conv_pads(padding, kernel, dilations, strides, where)
    check_window_fits(input.shape[2:], pads, kernel, dilations, where)
    extents = [d * (k - 1) for k, d in zip(kernel, dilations, strict=True)]
    if all(s == 1 for s in strides) and all(
        max(pad) <= e for e, pad in zip(extents, pads, strict=True)
    ):
        y = _conv_general_dilated(input, weight, pads, dilations, groups, _DIMS[nd])
    else:  # strided (or padded beyond the kernel): JAX's own transpose rule
        y = _lax_conv(input, weight, strides, pads, dilations, groups, _DIMS[nd])
    return y if bias is None else y + bias.reshape((1, out_c) + (1,) * nd)


def conv1d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> jax.Array:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d`` (``(N, C, L)`` or ``(C, L)``).

    Args:
        input: ``(N, C, L)`` or one unbatched ``(C, L)``.
        weight: ``(out_channels, C / groups, kL)``.
        bias: ``(out_channels,)``, or ``None``.
        stride: the kernel's step, an int or a tuple.
        padding: zeros added on each side, an int, a tuple, or ``'valid'`` / ``'same'``.
        dilation: the spacing between kernel taps.
        groups: how many channel groups are convolved separately.

    Returns:
        ``(N, out_channels, L_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> conv1d(jnp.ones((1, 2, 5)), jnp.ones((4, 2, 3)), padding="same").shape
        (1, 4, 5)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> jax.Array:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (NCHW input, OIHW weight).

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        weight: ``(out_channels, C / groups, kh, kw)``.
        bias: ``(out_channels,)``, or ``None``.
        stride: the kernel's step, an int or a tuple.
        padding: zeros added on each side, an int, a tuple, or ``'valid'`` / ``'same'``.
        dilation: the spacing between kernel taps.
        groups: how many channel groups are convolved separately.

    Returns:
        ``(N, out_channels, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> conv2d(jnp.ones((1, 3, 8, 8)), jnp.ones((4, 3, 3, 3)), stride=2, padding=1).shape
        (1, 4, 4, 4)
        >>> conv2d(jnp.ones((1, 4, 8, 8)), jnp.ones((6, 2, 3, 3)), dilation=2, groups=2).shape
        (1, 6, 4, 4)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> jax.Array:
    """3-D cross-correlation, as ``torch.nn.functional.conv3d`` (NCDHW input, OIDHW weight).

    Args:
        input: ``(N, C, D, H, W)`` or one unbatched ``(C, D, H, W)``.
        weight: ``(out_channels, C / groups, kd, kh, kw)``.
        bias: ``(out_channels,)``, or ``None``.
        stride: the kernel's step, an int or a tuple.
        padding: zeros added on each side, an int, a tuple, or ``'valid'`` / ``'same'``.
        dilation: the spacing between kernel taps.
        groups: how many channel groups are convolved separately.

    Returns:
        ``(N, out_channels, D_out, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> conv3d(jnp.ones((1, 2, 4, 5, 6)), jnp.ones((3, 2, 3, 3, 3)), padding=(1, 0, 1)).shape
        (1, 3, 4, 3, 6)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3)


# -- transposed convolutions -----------------------------------------------------------------------


def check_output_padding(
    output_padding: Sequence[int], strides: Sequence[int], dilations: Sequence[int], where: str
) -> None:
    """torch's rule: each ``output_padding`` is smaller than its stride or its dilation.

    Example:
        >>> check_output_padding((1,), (1,), (1,), "conv_transpose1d")
        Traceback (most recent call last):
        ...
        ValueError: conv_transpose1d: output_padding (1,) must be smaller than either stride (1,) or dilation (1,); use a smaller output_padding (or a larger stride)
    """
    triples = zip(output_padding, strides, dilations, strict=True)
    if any(op >= s and op >= d for op, s, d in triples):
        raise ValueError(
            f"{where}: output_padding {tuple(output_padding)} must be smaller than either stride "
            f"{tuple(strides)} or dilation {tuple(dilations)}; use a smaller output_padding "
            "(or a larger stride)"
        )


def transposed_sizes(
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
) -> tuple[int, ...]:
    """A transposed convolution's output size without ``output_padding``: ``(n - 1) s - 2 p +
    d (k - 1) + 1`` per axis (torch's smallest valid ``output_size``).

    Example:
        >>> transposed_sizes((4, 4), (4, 4), (2, 2), (1, 1), (1, 1))
        (8, 8)
    """
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + 1
        for n, k, s, p, d in zip(spatial, kernel, strides, pads, dilations, strict=True)
    )


def output_padding_for(
    output_size: Sequence[int],
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    where: str,
) -> tuple[int, ...]:
    """The ``output_padding`` that makes a transposed convolution ``output_size`` large, as torch's
    ``ConvTransposeNd.forward(input, output_size)`` resolves it (its batch and channel sizes may
    lead, and are dropped).

    Example:
        >>> output_padding_for((2, 4, 9, 8), (4, 4), (4, 4), (2, 2), (1, 1), (1, 1), "ConvTranspose2d")
        (1, 0)
    """
    nd = len(spatial)
    size = tuple(int(n) for n in output_size)
    lead = len(size) - nd
    if lead not in (0, 1, 2):
        raise ValueError(
            f"{where}: output_size must have {nd} entries (or the batch and channel sizes "
            f"first), got {tuple(output_size)}"
        )
    size = size[lead:]
    low = transposed_sizes(spatial, kernel, strides, pads, dilations)
    high = tuple(m + s - 1 for m, s in zip(low, strides, strict=True))
    if any(not lo <= n <= hi for n, lo, hi in zip(size, low, high, strict=True)):
        raise ValueError(
            f"{where}: requested an output size of {size}, but valid sizes range from {low} to "
            f"{high} (for an input of {tuple(spatial)}); ask for a size in that range"
        )
    return tuple(n - lo for n, lo in zip(size, low, strict=True))


def _conv_transpose(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    groups: int,
    dilation: IntOrTuple,
    nd: int,
) -> jax.Array:
    where = f"conv_transpose{nd}d"
    check_rank(input, nd, where)
    if input.ndim == nd + 1:  # one example
        y = _conv_transpose(
            input[None], weight, None, stride, padding, output_padding, groups, dilation, nd
        )[0]
        return y if bias is None else y + bias.reshape((-1,) + (1,) * nd)
    in_c, out_per_group, *kernel = weight.shape
    if not isinstance(groups, int) or groups < 1 or in_c % groups:
        raise ValueError(
            f"{where}: groups={groups!r} must be a positive int dividing the {in_c} input "
            "channels; pick groups that divides both channel counts"
        )
    if input.shape[1] != in_c:
        raise ValueError(
            f"{where}: input has {input.shape[1]} channels (shape {tuple(input.shape)}) but weight "
            f"{tuple(weight.shape)} expects {in_c}; build the layer with in_channels={input.shape[1]}"
        )
    strides = ntuple(stride, nd, "stride", where, minimum=1)
    dilations = ntuple(dilation, nd, "dilation", where, minimum=1)
    pads = ntuple(padding, nd, "padding", where)
    extra = ntuple(output_padding, nd, "output_padding", where)
    check_output_padding(extra, strides, dilations, where)
    spatial = input.shape[2:]
    sizes = tuple(
        n + op
        for n, op in zip(
            transposed_sizes(spatial, kernel, strides, pads, dilations), extra, strict=True
        )
    )
    if any(n < 1 for n in sizes):
        raise ValueError(
            f"{where}: the output size {sizes} is not positive (input {tuple(spatial)}, kernel "
            f"{tuple(kernel)}, padding {pads}): the padding crops more than the kernel adds; use "
            "less padding, a larger kernel_size or a larger input"
        )
    forward_pads = tuple((p, p - op) for p, op in zip(pads, extra, strict=True))
    y = _transposed(input, weight, strides, forward_pads, dilations, groups, sizes)
    return y if bias is None else y + bias.reshape((1, -1) + (1,) * nd)


@partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5, 6))
def _transposed(
    input: jax.Array,
    weight: jax.Array,
    strides: tuple[int, ...],
    pads: Pads,
    dilations: tuple[int, ...],
    groups: int,
    sizes: tuple[int, ...],
) -> jax.Array:
    """The transposed convolution as the forward convolution's linear transpose, taken from
    ``(N, out, *sizes)`` to the input's shape with torch's weight as it is (``(in, out / groups,
    *k)`` is the forward convolution's OI layout); ``pads`` (the high side less output_padding)
    make the forward convolution land exactly on the input's size. JAX transposes it into one
    lhs-dilated convolution: the numbers of ``lax.conv_transpose``, and the fastest forward of
    the formulations measured on XLA:CPU (see CHANGELOG: DCGAN layers)."""
    nd = len(strides)

    def forward(y: jax.Array) -> jax.Array:
        return _lax_conv(y, weight, strides, pads, dilations, groups, _DIMS[nd])

    out_per_group = weight.shape[1]
    out_shape = jax.ShapeDtypeStruct((input.shape[0], out_per_group * groups, *sizes), input.dtype)
    (y,) = jax.linear_transpose(forward, out_shape)(input)
    return y


def _transposed_jvp(
    strides: tuple[int, ...],
    pads: Pads,
    dilations: tuple[int, ...],
    groups: int,
    sizes: tuple[int, ...],
    primals: tuple[jax.Array, jax.Array],
    tangents: tuple[jax.Array | SymbolicZero, jax.Array | SymbolicZero],
) -> tuple[jax.Array, jax.Array]:
    input, weight = primals
    d_input, d_weight = tangents
    geometry = (strides, pads, dilations, groups, sizes)
    out = _transposed(input, weight, *geometry)
    tangent = jnp.zeros_like(out)
    if not isinstance(d_input, SymbolicZero):  # reverse mode: one strided forward convolution
        tangent = tangent + _transposed(d_input, weight, *geometry)
    if not isinstance(d_weight, SymbolicZero):
        tangent = tangent + _weight_tangent(
            input, d_weight, strides, pads, dilations, groups, sizes
        )
    return out, tangent


_transposed.defjvp(_transposed_jvp, symbolic_zeros=True)


def _weight_tangent(
    input: jax.Array,
    d_weight: jax.Array,
    strides: tuple[int, ...],
    pads: Pads,
    dilations: tuple[int, ...],
    groups: int,
    sizes: tuple[int, ...],
) -> jax.Array:
    """The output's tangent along the weight, as one dot and a scatter of the kernel's taps.

    JAX's own transpose of the lhs-dilated convolution along the weight is a convolution with
    window dilation that XLA:CPU runs on a slow path (20-40x the forward's time on the DCGAN
    generator's layers). Written as ``cols = x . dW`` (every input position times every kernel
    tap) summed into the output tap by tap (the transpose of ``unfold``'s strided slices),
    reverse mode gets ``unfold(g)`` and one dot instead: the weight gradient as im2col.
    """
    n, c, *spatial = input.shape
    _, out_per_group, *kernel = d_weight.shape
    nd = len(kernel)
    x = input.reshape(n, groups, c // groups, *spatial)
    w = d_weight.reshape(groups, c // groups, out_per_group, *kernel)
    # cols[n, g, o, taps..., positions...]: the dot over each group's input channels
    cols = jnp.einsum(x, [0, 1, 2, *range(3, 3 + nd)], w, [1, 2, 10, *range(11, 11 + nd)],
                      [0, 1, 10, *range(11, 11 + nd), *range(3, 3 + nd)])  # fmt: skip
    cols = cols.reshape(n, groups * out_per_group, *kernel, *spatial)

    def unfold(g: jax.Array) -> jax.Array:
        """``g``'s value under each (tap, input position): strided slices of the padded output."""
        padded = lax.pad(
            g, jnp.zeros((), g.dtype), ((0, 0, 0), (0, 0, 0), *((lo, hi, 0) for lo, hi in pads))
        )
        return _window_taps(padded, kernel, dilations, strides, spatial).reshape(cols.shape)

    out_shape = jax.ShapeDtypeStruct((n, groups * out_per_group, *sizes), input.dtype)
    (tangent,) = jax.linear_transpose(unfold, out_shape)(cols)
    return tangent


def conv_transpose1d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> jax.Array:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    The gradient of ``conv1d`` with respect to its input: each input value spreads the kernel over
    the output, ``stride`` apart. Output length ``(L - 1) * stride - 2 * padding + dilation *
    (k - 1) + output_padding + 1``.

    Args:
        input: ``(N, C, L)`` or one unbatched ``(C, L)``.
        weight: ``(C, out_channels / groups, kL)``, torch's layout.
        bias: ``(out_channels,)``, or ``None``.
        stride: the spacing of the input's values in the output.
        padding: ``dilation * (k - 1) - padding`` zeros added on each side of the input.
        output_padding: extra size on the high side (smaller than ``stride`` or ``dilation``).
        groups: how many channel groups are convolved separately.
        dilation: the spacing between kernel taps.

    Returns:
        ``(N, out_channels, L_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> conv_transpose1d(jnp.ones((1, 2, 5)), jnp.ones((2, 3, 3)), stride=2).shape
        (1, 3, 11)
    """
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 1
    )


def conv_transpose2d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> jax.Array:
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d`` (NCHW).

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        weight: ``(C, out_channels / groups, kh, kw)``, torch's layout.
        bias: ``(out_channels,)``, or ``None``.
        stride: the spacing of the input's values in the output.
        padding: ``dilation * (k - 1) - padding`` zeros added on each side of the input.
        output_padding: extra size on the high side (smaller than ``stride`` or ``dilation``).
        groups: how many channel groups are convolved separately.
        dilation: the spacing between kernel taps.

    Returns:
        ``(N, out_channels, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.ones((1, 8, 4, 4))  # DCGAN: 4x4 -> 8x8
        >>> conv_transpose2d(x, jnp.ones((8, 4, 4, 4)), stride=2, padding=1).shape
        (1, 4, 8, 8)
    """
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 2
    )


def conv_transpose3d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> jax.Array:
    """3-D transposed convolution, as ``torch.nn.functional.conv_transpose3d`` (NCDHW).

    Args:
        input: ``(N, C, D, H, W)`` or one unbatched ``(C, D, H, W)``.
        weight: ``(C, out_channels / groups, kd, kh, kw)``, torch's layout.
        bias: ``(out_channels,)``, or ``None``.
        stride: the spacing of the input's values in the output.
        padding: ``dilation * (k - 1) - padding`` zeros added on each side of the input.
        output_padding: extra size on the high side (smaller than ``stride`` or ``dilation``).
        groups: how many channel groups are convolved separately.
        dilation: the spacing between kernel taps.

    Returns:
        ``(N, out_channels, D_out, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.ones((2, 4, 3, 3, 3))
        >>> conv_transpose3d(x, jnp.ones((4, 1, 2, 2, 2)), stride=2, output_padding=1, groups=2).shape
        (2, 2, 7, 7, 7)
    """
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 3
    )


# -- unfold and fold (im2col and col2im) -------------------------------------------------------


def _window_geometry(
    spatial: Sequence[int],
    kernel_size: IntOrTuple,
    dilation: IntOrTuple,
    padding: IntOrTuple,
    stride: IntOrTuple,
    where: str,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """``(kernel, dilations, pads, strides, blocks)``: the sliding windows over ``spatial``."""
    nd = len(spatial)
    kernel = ntuple(kernel_size, nd, "kernel_size", where, minimum=1)
    dilations = ntuple(dilation, nd, "dilation", where, minimum=1)
    pads = ntuple(padding, nd, "padding", where)
    strides = ntuple(stride, nd, "stride", where, minimum=1)
    check_window_fits(spatial, tuple((p, p) for p in pads), kernel, dilations, where)
    blocks = tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, d, p, s in zip(spatial, kernel, dilations, pads, strides, strict=True)
    )
    return kernel, dilations, pads, strides, blocks


def unfold(
    input: jax.Array,
    kernel_size: IntOrTuple,
    dilation: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    stride: IntOrTuple = 1,
) -> jax.Array:
    """Sliding local blocks as columns, as ``torch.nn.functional.unfold`` (im2col).

    Each kernel tap is one strided slice of the zero-padded input (exact: no multiplication), and
    the columns are ordered as torch's: channel first, then the kernel's taps row by row.

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        kernel_size: the block's size, an int or a pair.
        dilation: the spacing between a block's taps.
        padding: zeros added on each side.
        stride: the step between blocks.

    Returns:
        ``(N, C * kh * kw, L)`` with ``L`` the number of blocks (no ``N`` when unbatched).

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.arange(9.0).reshape(1, 1, 3, 3)
        >>> unfold(x, 2)[0].tolist()
        [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    check_rank(input, 2, "unfold")
    if input.ndim == 3:
        return unfold(input[None], kernel_size, dilation, padding, stride)[0]
    n, c, *spatial = input.shape
    kernel, dilations, pads, strides, blocks = _window_geometry(
        spatial, kernel_size, dilation, padding, stride, "unfold"
    )
    zero = jnp.zeros((), input.dtype)
    x = lax.pad(input, zero, ((0, 0, 0), (0, 0, 0), *((p, p, 0) for p in pads)))
    taps = _window_taps(x, kernel, dilations, strides, blocks)
    return taps.reshape(n, c * math.prod(kernel), math.prod(blocks))


def _window_taps(
    x: jax.Array,
    kernel: Sequence[int],
    dilations: Sequence[int],
    strides: Sequence[int],
    blocks: Sequence[int],
) -> jax.Array:
    """``(N, C, taps, *blocks)``: each kernel tap's strided slice of the (padded) ``x``, the taps
    in row-major order (exact: no multiplication). ``unfold``'s columns and the transposed
    convolution's weight gradient both read the windows this way."""
    n, c = x.shape[:2]
    taps = []
    for offsets in itertools.product(*(range(k) for k in kernel)):  # the kernel's taps, static
        starts = tuple(t * d for t, d in zip(offsets, dilations, strict=True))
        ends = tuple(a + (b - 1) * s + 1 for a, b, s in zip(starts, blocks, strides, strict=True))
        taps.append(lax.slice(x, (0, 0, *starts), (n, c, *ends), (1, 1, *strides)))
    return jnp.stack(taps, axis=2)


def fold(
    input: jax.Array,
    output_size: IntOrTuple,
    kernel_size: IntOrTuple,
    dilation: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    stride: IntOrTuple = 1,
) -> jax.Array:
    """Sum columns of sliding blocks back into an image, as ``torch.nn.functional.fold`` (col2im).

    The transpose of :func:`unfold`: overlapping blocks add up. Each kernel tap's values are
    spread ``stride`` apart by one interior pad, and the taps are summed.

    Args:
        input: ``(N, C * kh * kw, L)`` or one unbatched ``(C * kh * kw, L)``.
        output_size: the image's spatial size ``(H, W)``.
        kernel_size: the block's size, an int or a pair.
        dilation: the spacing between a block's taps.
        padding: the zeros :func:`unfold` would add on each side (cropped off here).
        stride: the step between blocks.

    Returns:
        ``(N, C, H, W)`` (no ``N`` when unbatched).

    Example:
        >>> import jax.numpy as jnp
        >>> fold(jnp.ones((1, 4, 4)), (3, 3), 2)[0, 0].tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    if input.ndim not in (2, 3):
        raise ValueError(
            f"fold: expected input (N, C * kh * kw, L) or (C * kh * kw, L), got shape "
            f"{tuple(input.shape)}"
        )
    if input.ndim == 2:
        return fold(input[None], output_size, kernel_size, dilation, padding, stride)[0]
    size = ntuple(output_size, 2, "output_size", "fold", minimum=1)
    kernel, dilations, pads, strides, blocks = _window_geometry(
        size, kernel_size, dilation, padding, stride, "fold"
    )
    n, ck, length = input.shape
    taps = math.prod(kernel)
    if ck % taps or length != math.prod(blocks):
        raise ValueError(
            f"fold: input {tuple(input.shape)} must be (N, C * {taps}, {math.prod(blocks)}): "
            f"kernel_size {kernel} makes {blocks} blocks of output_size {size}; pass the "
            "arguments unfold was called with"
        )
    cols = input.reshape(n, ck // taps, *kernel, *blocks)
    padded = tuple(s + 2 * p for s, p in zip(size, pads, strict=True))
    zero = jnp.zeros((), input.dtype)
    out = jnp.zeros((n, ck // taps, *padded), input.dtype)
    for offsets in itertools.product(*(range(k) for k in kernel)):  # the kernel's taps, static
        place = tuple(
            (t * d, m - t * d - (b - 1) * s - 1, s - 1)
            for t, d, m, b, s in zip(offsets, dilations, padded, blocks, strides, strict=True)
        )
        out = out + lax.pad(
            cols[(slice(None), slice(None), *offsets)], zero, ((0, 0, 0),) * 2 + place
        )
    return lax.slice(
        out, (0, 0, *pads), (n, ck // taps, *(p + s for p, s in zip(pads, size, strict=True)))
    )
