"""The table of torch ops the converter knows: each fx ``call_function`` / ``call_method`` node as code.

One row per op: the torch functions (by their dotted names) and Tensor methods it covers, and its
template (:mod:`funcgrad.interop._templates`), which takes torch's arguments as source and
returns one expression. The rows of the layers' and losses' functional forms are not listed here:
they are derived from ``fg.nn.LAYERS`` / ``fg.nn.LOSSES`` (``torch.nn.functional.relu`` is
``F.relu(...)``, ``torch.nn.functional.mse_loss`` is ``fg.losses.mse_loss(...)``). The rows below
are the ones that are not a call of the same name.

Torch is imported only when a lookup runs: the names are resolved to torch's objects then, once.
"""

from __future__ import annotations

import builtins
import functools
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from funcgrad.interop import _torch_compat as compat
from funcgrad.interop._templates import (
    TRAIN,
    Attribute,
    Code,
    Context,
    SameNamed,
    Template,
    bind,
    call,
    dims,
    entry,
    given,
    paren,
    render,
    subscript,
)
from funcgrad.interop._torch import import_torch
from funcgrad.nn import functional as F
from funcgrad.nn._recurrent import PACKED_SEQUENCE_ADVICE
from funcgrad.nn._registry import LAYERS, LOSSES

__all__ = [
    "LAYER_ROWS",
    "Attribute",
    "LOSS_ROWS",
    "REFUSED",
    "ROWS",
    "TRAIN",
    "Code",
    "Context",
    "Row",
    "Template",
    "bind",
    "by_name",
    "call",
    "dims",
    "entry",
    "given",
    "lookup",
    "paren",
    "render",
    "subscript",
]


class Row(NamedTuple):
    """Torch's functions (dotted names: ``torch.add``, ``operator.add``) and Tensor methods
    (``add``) that one template writes."""

    functions: tuple[str, ...]
    methods: tuple[str, ...]
    template: Template


# torch functions the converter refuses by name, with what to write instead. fx traces into them
# (they are Python), so the converter finds them on the failed trace's stack.
REFUSED: Mapping[str, str] = {
    f"torch.nn.utils.rnn.{fn}": PACKED_SEQUENCE_ADVICE
    for fn in ("pack_padded_sequence", "pack_sequence", "pad_packed_sequence")
}


# -- derived: the functional forms of fg.nn.LAYERS and fg.nn.LOSSES ----------------------------

# Layers whose torch functional is not a call of the same name in funcgrad (hand rows below).
_NOT_SAME_NAMED = {
    "dropout": "needs a key, folded from the node's name",
    "dropout2d": "needs a key, folded from the node's name",
    "dropout1d": "needs a key, folded from the node's name",
    "dropout3d": "needs a key, folded from the node's name",
    "alpha_dropout": "needs a key, folded from the node's name",
    "feature_alpha_dropout": "needs a key, folded from the node's name",
    "unflatten": "not in torch.nn.functional; torch.unflatten and x.unflatten(1, (2, 3))",
    "softmax": "torch's dtype= is a cast of the input",
    "log_softmax": "torch's dtype= is a cast of the input",
    "softmin": "torch's dtype= is a cast of the input",
    "rrelu": "needs a key in training, folded from the node's name",
    "batch_norm": "torch updates the running statistics in place; F.batch_norm_with_update "
    "returns them",
    "flatten": "not in torch.nn.functional; torch.flatten and x.flatten(1) write the dims given",
}


def _unary(functional: Callable[..., Any]) -> bool:
    """Whether ``functional`` takes its input alone (then ``torch.<name>(x)`` and ``x.<name>()``
    are the same op as ``F.<name>(x)``)."""
    # inplace is accepted and ignored (torch's F.relu(x, inplace=False) is still torch.relu(x))
    return [n for n in SameNamed("", functional, "").ours if n != "inplace"] == ["input"]


# Functionals torch has as torch.<name> only, not in torch.nn.functional (the recurrent cells).
_TORCH_ONLY = {"rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"}


def _layer_rows() -> Iterator[tuple[str, Row]]:
    for entry_ in LAYERS.values():
        fn = entry_.functional
        if fn is None or fn.__name__ in _NOT_SAME_NAMED:
            continue
        name = fn.__name__
        alias = (f"torch.{name}",) if _unary(fn) or name in _TORCH_ONLY else ()
        methods = (name,) if _unary(fn) else ()
        template = SameNamed(f"F.{name}", fn, name)
        yield name, Row((f"torch.nn.functional.{name}", *alias), methods, template)


LAYER_ROWS: Mapping[str, Row] = dict(_layer_rows())
"""``torch.nn.functional.<name>`` as ``F.<name>(...)``, per layer functional of ``fg.nn.LAYERS``
(and ``torch.<name>`` / ``Tensor.<name>`` for the one-input ones: ``torch.relu``, ``x.tanh()``)."""

LOSS_ROWS: Mapping[str, Row] = {
    e.functional.__name__: Row(
        (f"torch.nn.functional.{e.functional.__name__}",),
        (),
        SameNamed(f"fg.losses.{e.functional.__name__}", e.functional, e.functional.__name__),
    )
    for e in LOSSES.values()
}
"""``torch.nn.functional.<loss>`` as ``fg.losses.<loss>(...)``, per entry of ``fg.nn.LOSSES``.
(torch's ``torch.<loss>`` builtins take ``reduction`` as an integer: no alias.)"""


# -- hand rows: the layers' functionals that are not the same call --------------------------------


def _softmax(fn: str) -> Template:
    def t(
        ctx: Context, input: Code, dim: Any = None, _stacklevel: Any = 3, dtype: Any = None
    ) -> str:
        if given(dtype):
            input = Code(f"{paren(input)}.astype({dtype})")
        return call(fn, input, dim)

    return t


def _dropout(fn: str, default: bool = True) -> Template:
    def t(
        ctx: Context, input: Code, p: Any = 0.5, training: Any = default, inplace: Any = False
    ) -> str:
        # torch's default is training=True (even in eval; alpha dropout's is False): only a
        # literal False needs no key.
        if (given(training) and training.value is False) or (not given(training) and not default):
            return f"{input}"
        p_code = p if given(p) else repr(p)
        train = training if given(training) else "True"
        return f'{fn}({input}, {p_code}, {train}, key=fg.nn.child_key(key, "{ctx.name}"))'

    return t


def _rrelu(
    ctx: Context,
    input: Code,
    lower: Any = 1.0 / 8,
    upper: Any = 1.0 / 3,
    training: Any = False,
    inplace: Any = False,
) -> str:
    bounds = ", ".join(str(b) if given(b) else repr(b) for b in (lower, upper))
    if not given(training) or training.value is False:  # eval: the mean slope, no key
        return f"F.rrelu({input}, {bounds})"
    return f'F.rrelu({input}, {bounds}, {training}, key=fg.nn.child_key(key, "{ctx.name}"))'


def _max_pool_with_indices(ctx: Context, input: Code, kernel_size: Code, *a: Any, **kw: Any) -> str:
    max_pool = LAYER_ROWS["max_pool2d"].template
    return max_pool(ctx, input, kernel_size, *a, **{**kw, "return_indices": Code("True", True)})


def _flatten(ctx: Context, input: Code, start_dim: Any = 0, end_dim: Any = -1) -> str:
    written = [d for d in (start_dim, end_dim) if given(d)]
    return call("F.flatten", input, *([start_dim, end_dim] if given(end_dim) else written))


# -- hand rows: arithmetic ------------------------------------------------------------------------


def _infix(symbol: str) -> Template:
    def t(ctx: Context, input: Code, other: Code) -> str:
        return f"{paren(input)} {symbol} {paren(other)}"

    return t


def _with_alpha(symbol: str) -> Template:
    """torch's ``add`` / ``sub``: ``input + alpha * other``."""

    def t(ctx: Context, input: Code, other: Code, *, alpha: Any = 1) -> str:
        if given(alpha):
            other = Code(f"{paren(alpha)} * {paren(other)}")
        return f"{paren(input)} {symbol} {paren(other)}"

    return t


def _div(ctx: Context, input: Code, other: Code, *, rounding_mode: Any = None) -> str:
    mode = rounding_mode.value if given(rounding_mode) else None
    if mode == "floor":
        return f"{paren(input)} // {paren(other)}"
    if mode == "trunc":
        return f"jnp.trunc({input} / {paren(other)})"
    return f"{paren(input)} / {paren(other)}"


def _neg(ctx: Context, input: Code) -> str:
    return f"-{paren(input)}"


def _fn1(fn: str) -> Template:
    """``fn(input)``."""

    def t(ctx: Context, input: Code) -> str:
        return f"{fn}({input})"

    return t


def _fn2(fn: str) -> Template:
    """``fn(input, other)``."""

    def t(ctx: Context, input: Code, other: Code) -> str:
        return f"{fn}({input}, {other})"

    return t


def _clamp(ctx: Context, input: Code, min: Any = None, max: Any = None) -> str:
    return call("jnp.clip", input, min if given(min) else "None", max=max)


def _where(ctx: Context, condition: Code, input: Code, other: Code) -> str:
    return f"jnp.where({condition}, {input}, {other})"


def _where_method(ctx: Context, input: Code, condition: Code, other: Code) -> str:
    """``x.where(condition, y)``: torch's ``where(condition, x, y)``."""
    return f"jnp.where({condition}, {input}, {other})"


def _masked_fill(ctx: Context, input: Code, mask: Code, value: Code) -> str:
    return f"jnp.where({mask}, {value}, {input})"


def _einsum(ctx: Context, equation: Code, *operands: Code, path: Any = None) -> str:
    """``torch.einsum("ij,jk", a, b)`` or ``(..., [a, b])`` (ATen's form); ``path`` is an
    optimisation hint of torch's."""
    if len(operands) == 1 and isinstance(operands[0].value, (tuple, list)):
        operands = tuple(render(v, ctx.name_of) for v in operands[0].value)
    return f"jnp.einsum({equation}, {', '.join(operands)})"


# -- hand rows: shapes ----------------------------------------------------------------------------


def _view(ctx: Context, input: Code, shape: Code, *more: Code) -> str:
    return f"jnp.reshape({input}, {dims(shape, more)})"


def _reshape(ctx: Context, input: Code, shape: Code) -> str:
    return f"jnp.reshape({input}, {shape})"


def _permute(ctx: Context, input: Code, dims_: Code, *more: Code) -> str:
    return f"jnp.transpose({input}, {dims(dims_, more)})"


def _transpose(ctx: Context, input: Code, dim0: Code, dim1: Code) -> str:
    return f"jnp.swapaxes({input}, {dim0}, {dim1})"


def _t(ctx: Context, input: Code) -> str:
    return f"{paren(input)}.T"


def _unsqueeze(ctx: Context, input: Code, dim: Code) -> str:
    return f"jnp.expand_dims({input}, {dim})"


def _squeeze(ctx: Context, input: Code, dim: Any = None) -> str:
    if not given(dim):
        return f"jnp.squeeze({input})"
    # torch leaves an axis of size > 1 alone; jnp.squeeze would raise.
    return f"{input} if {input}.shape[{dim}] != 1 else jnp.squeeze({input}, {dim})"


def _expand(ctx: Context, input: Code, size: Code, *more: Code) -> str:
    sizes = list(size.value) if not more and isinstance(size.value, (tuple, list)) else None
    items = [render(v, ctx.name_of) for v in sizes] if sizes is not None else [size, *more]
    # torch's -1 keeps that axis; sizes align with the input's axes from the right.
    k = len(items)
    shape = [f"{paren(input)}.shape[{i - k}]" if d.value == -1 else d for i, d in enumerate(items)]
    return f"jnp.broadcast_to({input}, ({', '.join(shape)}{',' if k == 1 else ''}))"


def _expand_as(ctx: Context, input: Code, other: Code) -> str:
    return f"jnp.broadcast_to({input}, {other}.shape)"


def _repeat(ctx: Context, input: Code, repeats: Code, *more: Code) -> str:
    return f"jnp.tile({input}, {dims(repeats, more)})"


def _split(ctx: Context, tensor: Code, split_size_or_sections: Code, dim: Any = 0) -> str:
    """torch's ``split``: pieces of ``split_size`` along ``dim`` (the last may be shorter), or
    of the listed sizes; ``jnp.split`` takes the offsets where each piece starts."""
    axis = dim if given(dim) else "0"
    sizes = split_size_or_sections.value
    if isinstance(sizes, (tuple, list)):
        starts = [sum(sizes[:i]) for i in range(1, len(sizes))]
        return f"tuple(jnp.split({tensor}, {starts!r}, axis={axis}))"
    size = paren(split_size_or_sections)
    every = f"range({size}, {paren(tensor)}.shape[{axis}], {size})"
    return f"tuple(jnp.split({tensor}, list({every}), axis={axis}))"


def _chunk(ctx: Context, input: Code, chunks: Code, dim: Any = 0) -> str:
    """torch's ``chunk``: pieces of ``ceil(n / chunks)`` along ``dim`` (the last may be shorter,
    and there may be fewer than ``chunks``), which is ``split`` by that size."""
    axis = dim if given(dim) else Code("0", 0)
    size = f"-(-{paren(input)}.shape[{axis}] // {paren(chunks)})"  # ceil division
    return _split(ctx, input, Code(size), axis)


def _unbind(ctx: Context, input: Code, dim: Any = 0) -> str:
    return call("tuple", Code(call("jnp.unstack", input, axis=dim)))


def _torch_assert(ctx: Context, condition: Code, message: Any = None) -> str:
    """``torch._assert``: the same ``assert`` in the generated ``forward``. Its condition is on
    shapes (``x.shape[1] == 224``), Python values under ``jax.jit`` as in fx's trace, so it is
    checked whenever the model is traced; the line is ``None`` and the ``assert`` statement."""
    text = f", {_message(ctx, condition, message)}" if given(message) else ""
    return f"None; assert {condition}{text}"


def _message(ctx: Context, condition: Code, message: Code) -> str:
    """The assert's message; a value fx formatted into it (timm's ``f"height ({H})"`` reads
    ``Proxy(getitem_2)``) becomes that value in an f-string."""
    text = message.value
    graph = getattr(condition.value, "graph", None)
    if not isinstance(text, str) or graph is None or "Proxy(" not in text:
        return str(message)
    nodes = {n.name: n for n in graph.nodes}

    def value(found: re.Match[str]) -> str:
        try:
            return "{" + ctx.name_of(nodes[found.group(1)]) + "}"
        except KeyError:  # not a value of this forward's: left as fx wrote it
            return found.group(0)

    escaped = text.replace("{", "{{").replace("}", "}}")
    return "f" + repr(re.sub(r"Proxy\((\w+)\)", value, escaped))


def _roll(ctx: Context, input: Code, shifts: Code, dims: Any = None) -> str:
    return call("jnp.roll", input, shifts, axis=dims)


def _diagonal_part(fn: str) -> Template:
    """``tril`` / ``triu``: torch's ``diagonal`` is numpy's ``k``."""

    def t(ctx: Context, input: Code, diagonal: Any = 0) -> str:
        return call(fn, input, k=diagonal)

    return t


def _flip(ctx: Context, input: Code, dims_: Code, *more: Code) -> str:
    return f"jnp.flip({input}, {dims(dims_, more)})"


def _cumsum(ctx: Context, input: Code, dim: Code, *, dtype: Any = None) -> str:
    return call("jnp.cumsum", input, axis=dim, dtype=dtype)


def _gather(ctx: Context, input: Code, dim: Code, index: Code, *, sparse_grad: Any = False) -> str:
    """``take_along_axis``: for an ``index`` of the input's shape off ``dim`` (torch also takes
    a smaller one, reading its corner; JAX broadcasts, and verification tells them apart)."""
    return f"jnp.take_along_axis({input}, {index}, axis={dim})"


def _scatter(
    ctx: Context,
    input: Code,
    dim: Code,
    index: Code,
    src: Any = None,
    *,
    value: Any = None,
    reduce: Any = None,
) -> str:
    """torch's out-of-place ``scatter`` (``src`` a tensor or, as ``value``, a number)."""
    if given(reduce):
        raise NotImplementedError(f"scatter's reduce={reduce} (write scatter_add or index_add)")
    values = src if given(src) else value
    return f"jnp.put_along_axis({input}, {index}, {values}, axis={dim}, inplace=False)"


def _topk(
    ctx: Context,
    input: Code,
    k: Code,
    dim: Any = -1,
    largest: Any = True,
    sorted: Any = True,
) -> str:
    """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``: ``jax.lax.top_k``
    works on the last axis, largest first (always sorted, which ``sorted=False`` allows)."""
    last = not given(dim) or dim.value == -1
    x = str(input) if last else f"jnp.moveaxis({input}, {dim}, -1)"
    smallest = given(largest) and largest.value is False
    found = f"jax.lax.top_k({'-' + paren(x) if smallest else x}, {k})"
    if last and not smallest:
        return found
    value = "-v" if smallest else "v"
    if not last:
        value, index = f"jnp.moveaxis({value}, -1, {dim})", f"jnp.moveaxis(i, -1, {dim})"
    else:
        index = "i"
    return f"(lambda v, i: ({value}, {index}))(*{found})"


def _repeat_interleave(
    ctx: Context, input: Code, repeats: Any = None, dim: Any = None, *, output_size: Any = None
) -> str:
    if not given(repeats):  # torch.repeat_interleave(counts): indices, as many as counts sum to
        raise NotImplementedError("repeat_interleave of counts alone has a data-dependent length")
    return call("jnp.repeat", input, repeats, axis=dim, total_repeat_length=output_size)


def _baddbmm(
    ctx: Context, input: Code, batch1: Code, batch2: Code, *, beta: Any = 1, alpha: Any = 1
) -> str:
    """``beta * input + alpha * (batch1 @ batch2)`` (``addmm`` too); torch ignores ``input``
    when ``beta`` is 0, NaN included."""
    product = f"{paren(batch1)} @ {paren(batch2)}"
    if given(alpha):
        product = f"{paren(alpha)} * ({product})"
    if given(beta) and beta.value == 0:
        return product
    added = f"{paren(beta)} * {paren(input)}" if given(beta) else paren(input)
    return f"{added} + {product}"


# -- hand rows: complex numbers -------------------------------------------------------------------


def _view_as_complex(ctx: Context, input: Code) -> str:
    return f"jax.lax.complex({paren(input)}[..., 0], {paren(input)}[..., 1])"


def _view_as_real(ctx: Context, input: Code) -> str:
    return f"jnp.stack([jnp.real({input}), jnp.imag({input})], axis=-1)"


def _polar(ctx: Context, abs: Code, angle: Code) -> str:
    return f"jax.lax.complex({paren(abs)} * jnp.cos({angle}), {paren(abs)} * jnp.sin({angle}))"


def _arange(ctx: Context, start: Code, end: Any = None, step: Any = None, **kw: Code) -> str:
    """``torch.arange(end)`` / ``(start, end[, step])``; ``device`` and ``layout`` are JAX's."""
    bounds = [start, *(b for b in (end, step) if given(b))]
    return call("jnp.arange", *bounds, dtype=kw.get("dtype"))


def _sdpa(
    ctx: Context,
    query: Code,
    key: Code,
    value: Code,
    attn_mask: Any = None,
    dropout_p: Any = 0.0,
    is_causal: Any = False,
    scale: Any = None,
    enable_gqa: Any = False,
) -> str:
    """``F.scaled_dot_product_attention``, its dropout drawn from a key folded from the node's name
    (torch applies ``dropout_p`` whenever it is given, as funcgrad does)."""
    drops = given(dropout_p) and dropout_p.value != 0
    return call(
        "F.scaled_dot_product_attention",
        query,
        key,
        value,
        attn_mask=attn_mask,
        dropout_p=dropout_p if drops else None,
        is_causal=is_causal,
        scale=scale,
        enable_gqa=enable_gqa,
        dropout_key=Code(f'fg.nn.child_key(key, "{ctx.name}")') if drops else None,
    )


def _size(ctx: Context, input: Code, dim: Any = None) -> str:
    return f"{paren(input)}.shape" + (f"[{dim}]" if given(dim) else "")


def _dim(ctx: Context, input: Code) -> str:
    return f"{paren(input)}.ndim"


def _numel(ctx: Context, input: Code) -> str:
    return f"{paren(input)}.size"


_ATTRIBUTES = {"shape", "T", "ndim", "mT", "dtype", "real", "imag"}  # jax arrays have them too
# Device queries on one device: where an array lives is JAX's business (x.device is only ever
# passed on, torch.arange(n, device=x.device)), and no array is a CUDA tensor.
_DEVICE = {"device": "None", "is_cuda": "False"}
# torch.topk / torch.max(x, dim) return (values, indices) as a named tuple; ours is a tuple
_FIELDS = {"values": "[0]", "indices": "[1]"}


def _getattr(ctx: Context, obj: Code, name: Code) -> str:
    if name.value in _DEVICE:
        return _DEVICE[name.value]
    if name.value in _FIELDS:
        return f"{paren(obj)}{_FIELDS[name.value]}"
    if name.value not in _ATTRIBUTES:
        raise NotImplementedError(f"Tensor attribute .{name.value} has no jax counterpart")
    return f"{paren(obj)}.{name.value}"


def _getitem(ctx: Context, obj: Code, index: Code) -> str:
    return f"{paren(obj)}[{subscript(index.value, ctx.name_of)}]"


def _same(ctx: Context, input: Code, *, memory_format: Any = None) -> str:
    return str(input)


def _detach(ctx: Context, input: Code) -> str:
    return f"jax.lax.stop_gradient({input})"


# -- hand rows: reductions ------------------------------------------------------------------------

_ALONG = {"dim": "axis", "keepdim": "keepdims"}


def _reduce(fn: str, *, typed: bool = True) -> Template:
    """``fn(input, axis=dim, keepdims=keepdim)``; ``typed``: torch's keyword ``dtype=`` too."""
    keyword = {"dtype": None} if typed else {}
    return entry(fn, ("input",), {"dim": None, "keepdim": False}, keyword=keyword, rename=_ALONG)


def _extreme(name: str) -> Template:
    """torch's ``max``/``min``: of all elements, elementwise of two, or ``(values, indices)``."""

    def t(ctx: Context, input: Code, dim: Any = None, keepdim: Any = False) -> str:
        if given(dim) and dim.value is not None and not isinstance(dim.value, int):
            return f"jnp.{name}imum({input}, {dim})"  # torch.max(a, b): elementwise
        if not given(dim):
            return f"jnp.{name}({input})"
        values = call(f"jnp.{name}", input, axis=dim, keepdims=keepdim)
        return f"({values}, {call(f'jnp.arg{name}', input, axis=dim, keepdims=keepdim)})"

    return t


def _spread(name: str) -> Template:
    """torch's ``var``/``std``, with its default Bessel correction (``ddof=1``)."""

    def t(
        ctx: Context,
        input: Code,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: Any = False,
        *,
        correction: Any = None,
    ) -> str:
        if given(unbiased) and isinstance(unbiased.value, bool):
            ddof = "1" if unbiased.value else "0"
        elif given(correction):
            ddof = str(correction)
        else:
            ddof = "1"  # torch's default: the unbiased estimate
        return call(f"jnp.{name}", input, axis=dim, ddof=Code(ddof), keepdims=keepdim)

    return t


# -- hand rows: dtypes and constructors -----------------------------------------------------------


def _cast(dtype: str) -> Template:
    def t(ctx: Context, input: Code) -> str:
        return f"{paren(input)}.astype({dtype})"

    return t


def _to(ctx: Context, input: Code, *args: Code, **kwargs: Code) -> str:
    """``x.to(dtype)``, ``x.to(device, dtype)``, ``x.to(other)``: the dtype cast alone (devices
    are JAX's); ``non_blocking`` / ``copy`` change nothing a pure function returns."""
    torch = import_torch()
    dtypes = [
        a
        for a in (*args, *kwargs.values())
        if isinstance(a.value, torch.dtype) or _is_attribute(a.value, ("dtype",))
    ]
    if dtypes:  # a dtype, or a tensor's (Llama's RMSNorm: x.to(input_dtype))
        return f"{paren(input)}.astype({dtypes[0]})"
    like = [a for a in args if isinstance(a.value, torch.fx.Node) and not _is_device(a.value)]
    return f"{paren(input)}.astype({like[0]}.dtype)" if like else str(input)


def _is_device(node: Any) -> bool:
    """Whether an fx node is ``x.device`` (an argument of ``.to`` naming a place, not a tensor)."""
    return _is_attribute(node, _DEVICE)


def _is_attribute(node: Any, names: Any) -> bool:
    """Whether ``node`` is an fx node reading one of the attributes ``names`` (``x.dtype``)."""
    torch = import_torch()
    return (
        isinstance(node, torch.fx.Node)
        and node.op == "call_function"
        and node.target is builtins.getattr
        and node.args[1] in names
    )


def _is_type(kind: str) -> Template:
    """``x.is_floating_point()`` / ``x.is_complex()``: a question about the dtype."""

    def t(ctx: Context, input: Code) -> str:
        return f"jnp.issubdtype({paren(input)}.dtype, jnp.{kind})"

    return t


def _type_as(ctx: Context, input: Code, other: Code) -> str:
    return f"{paren(input)}.astype({other}.dtype)"


_PLACEMENT = {"layout": None, "device": None, "pin_memory": False, "memory_format": None}


def _filled(fn: str) -> Template:
    """``torch.zeros(2, 3)`` / ``torch.ones((2, 3), dtype=...)``: torch's default dtype is
    float32, written out (``jnp``'s follows ``jax_enable_x64``)."""

    def t(ctx: Context, size: Code, *more: Code, dtype: Any = None, **_: Any) -> str:
        kind = dtype if given(dtype) and dtype.value is not None else Code("jnp.float32")
        return call(fn, Code(dims(size, more)), dtype=kind)

    return t


def _full(ctx: Context, size: Code, fill_value: Code, *, dtype: Any = None, **_: Any) -> str:
    """``torch.full``: its dtype, where not given, is the fill value's (as ``jnp.full``'s)."""
    return call("jnp.full", size, fill_value, dtype=dtype)


def _dtype_of(input: Code, dtype: Any) -> Code:
    return dtype if given(dtype) and dtype.value is not None else Code(f"{paren(input)}.dtype")


def _new(fn: str) -> Template:
    """``x.new_zeros(size)`` and kin: the dtype is ``x``'s unless given."""

    def t(ctx: Context, input: Code, size: Code, *more: Code, dtype: Any = None, **_: Any) -> str:
        return call(fn, Code(dims(size, more)), dtype=_dtype_of(input, dtype))

    return t


def _new_full(
    ctx: Context, input: Code, size: Code, fill_value: Code, *, dtype: Any = None, **_: Any
) -> str:
    return call("jnp.full", size, fill_value, dtype=_dtype_of(input, dtype))


def _scalar_tensor(ctx: Context, s: Code, *, dtype: Any = None, **_: Any) -> str:
    return call("jnp.asarray", s, dtype=dtype if given(dtype) else Code("jnp.float32"))


def _diff(
    ctx: Context, input: Code, n: Any = 1, dim: Any = -1, prepend: Any = None, append: Any = None
) -> str:
    return call("jnp.diff", input, n=n, axis=dim, prepend=prepend, append=append)


def _like(fn: str) -> Template:
    """``torch.zeros_like`` and kin: the dtype is kept, where the array lives is JAX's business."""
    keyword = {"dtype": None, **_PLACEMENT, "requires_grad": False}
    return entry(fn, ("input",), keyword=keyword, ignore=(*_PLACEMENT, "requires_grad"))


def _addmm(
    ctx: Context, input: Code, mat1: Code, mat2: Code, *, beta: Any = 1, alpha: Any = 1
) -> str:
    return _baddbmm(ctx, input, mat1, mat2, beta=beta, alpha=alpha)


def _cmp(symbol: str, name: str) -> Row:
    return Row((f"operator.{name}", f"torch.{name}"), (name,), _infix(symbol))


def _jnp(name: str, fn: str = "") -> Row:
    return Row((f"torch.{name}",), (name,), _fn1(fn or f"jnp.{name}"))


# fmt: off
ROWS: tuple[Row, ...] = (
    # -- layers' functionals that are not the same call ---------------------------------------
    Row(("torch.nn.functional.softmax", "torch.softmax"), ("softmax",), _softmax("F.softmax")),
    Row(("torch.nn.functional.log_softmax", "torch.log_softmax"), ("log_softmax",),
        _softmax("F.log_softmax")),
    Row(("torch.nn.functional.softmin",), (), _softmax("F.softmin")),
    Row(("torch.nn.functional.rrelu",), (), _rrelu),
    Row(("torch.nn.functional.max_pool2d_with_indices",), (), _max_pool_with_indices),
    # F.batch_norm's pure form; in training with running stats, _inplace writes the update
    Row(("torch.nn.functional.batch_norm",), (),
        SameNamed("F.batch_norm", F.batch_norm, "batch_norm")),
    Row(("torch.nn.functional.dropout",), (), _dropout("F.dropout")),
    Row(("torch.nn.functional.dropout2d",), (), _dropout("F.dropout2d")),
    Row(("torch.nn.functional.dropout1d",), (), _dropout("F.dropout1d")),
    Row(("torch.nn.functional.dropout3d",), (), _dropout("F.dropout3d")),
    Row(("torch.nn.functional.alpha_dropout",), (), _dropout("F.alpha_dropout", False)),
    Row(("torch.nn.functional.feature_alpha_dropout",), (),
        _dropout("F.feature_alpha_dropout", False)),
    Row(("torch.unflatten",), ("unflatten",),
        SameNamed("F.unflatten", F.unflatten, "unflatten")),
    Row(("torch.flatten",), ("flatten",), _flatten),
    # -- arithmetic ------------------------------------------------------------------------------
    Row(("operator.add", "torch.add"), ("add",), _with_alpha("+")),
    Row(("torch.sub",), ("sub",), _with_alpha("-")),
    Row(("operator.sub",), ("__sub__",), _infix("-")),
    Row(("operator.mul", "torch.mul"), ("mul",), _infix("*")),
    Row(("operator.truediv",), ("__truediv__",), _infix("/")),
    Row(("torch.div",), ("div",), _div),
    Row(("operator.floordiv",), (), _infix("//")),
    Row(("operator.mod",), (), _infix("%")),
    Row(("operator.pow", "torch.pow"), ("pow",), _infix("**")),
    Row(("operator.matmul", "torch.matmul", "torch.mm", "torch.bmm"), ("matmul", "mm", "bmm"),
        _infix("@")),
    Row(("operator.neg", "torch.neg"), ("neg", "__neg__"), _neg),
    Row(("operator.and_", "torch.bitwise_and"), ("__and__", "bitwise_and"), _infix("&")),
    Row(("operator.or_", "torch.bitwise_or"), ("__or__", "bitwise_or"), _infix("|")),
    Row(("operator.xor", "torch.bitwise_xor"), ("__xor__", "bitwise_xor"), _infix("^")),
    Row(("operator.invert", "torch.bitwise_not"), ("__invert__", "bitwise_not"), _fn1("~")),
    Row(("torch.logical_and",), ("logical_and",), _fn2("jnp.logical_and")),
    Row(("torch.logical_or",), ("logical_or",), _fn2("jnp.logical_or")),
    Row(("torch.logical_not",), ("logical_not",), _fn1("jnp.logical_not")),
    _cmp("<", "lt"), _cmp("<=", "le"), _cmp(">", "gt"), _cmp(">=", "ge"),
    _cmp("==", "eq"), _cmp("!=", "ne"),
    _jnp("exp"), _jnp("log"), _jnp("sqrt"), _jnp("abs"), _jnp("sin"), _jnp("cos"),
    _jnp("square"), _jnp("log1p"), _jnp("expm1"), _jnp("sign"), _jnp("floor"), _jnp("ceil"),
    _jnp("reciprocal"), _jnp("rsqrt", "jax.lax.rsqrt"),
    Row(("torch.maximum",), ("maximum",), _fn2("jnp.maximum")),
    Row(("torch.minimum",), ("minimum",), _fn2("jnp.minimum")),
    Row(("torch.clamp", "torch.clip"), ("clamp", "clip"), _clamp),
    Row(("torch.where",), (), _where),
    Row((), ("where",), _where_method),
    Row(("torch.masked_fill",), ("masked_fill",), _masked_fill),
    Row(("torch.einsum",), (), _einsum),
    Row(("torch.tril",), ("tril",), _diagonal_part("jnp.tril")),
    Row(("torch.triu",), ("triu",), _diagonal_part("jnp.triu")),
    Row(("torch.cumsum",), ("cumsum",), _cumsum),
    Row(("torch.diff",), ("diff",), _diff),
    Row(("torch.baddbmm",), ("baddbmm",), _baddbmm),
    Row(("torch.addmm",), ("addmm",), _addmm),
    Row(("torch.outer", "torch.ger"), ("outer", "ger"), _fn2("jnp.outer")),
    # -- complex numbers -------------------------------------------------------------------------
    Row(("torch.view_as_complex",), (), _view_as_complex),
    Row(("torch.view_as_real",), (), _view_as_real),
    Row(("torch.polar",), (), _polar),
    Row(("torch.complex",), (), _fn2("jax.lax.complex")),
    Row(("torch.real",), (), _fn1("jnp.real")),
    Row(("torch.imag",), (), _fn1("jnp.imag")),
    Row(("torch.conj", "torch.conj_physical"), ("conj",), _fn1("jnp.conj")),
    Row(("torch.angle",), ("angle",), _fn1("jnp.angle")),
    # -- shapes ----------------------------------------------------------------------------------
    Row((), ("view", "reshape"), _view),
    Row(("torch.reshape",), (), _reshape),
    Row(("torch.permute",), ("permute",), _permute),
    Row(("torch.transpose", "torch.swapaxes"), ("transpose", "swapaxes"), _transpose),
    Row(("torch.t",), ("t",), _t),
    Row(("torch.unsqueeze",), ("unsqueeze",), _unsqueeze),
    Row(("torch.squeeze",), ("squeeze",), _squeeze),
    Row(("torch.cat", "torch.concat", "torch.concatenate"), (),
        entry("jnp.concatenate", ("tensors",), {"dim": 0}, rename=_ALONG)),
    Row(("torch.stack",), (), entry("jnp.stack", ("tensors",), {"dim": 0}, rename=_ALONG)),
    Row((), ("expand",), _expand),
    Row((), ("expand_as",), _expand_as),
    Row((), ("repeat",), _repeat),
    Row(("torch.split",), ("split",), _split),
    Row(("torch.chunk",), ("chunk",), _chunk),
    Row(("torch.unbind",), ("unbind",), _unbind),
    Row(("torch.roll",), ("roll",), _roll),
    Row(("torch.flip",), ("flip",), _flip),
    Row(("torch.gather",), ("gather",), _gather),
    Row(("torch.scatter",), ("scatter",), _scatter),
    Row(("torch.topk",), ("topk",), _topk),
    Row(("torch.repeat_interleave",), ("repeat_interleave",), _repeat_interleave),
    Row(("torch._assert",), (), _torch_assert),
    Row(("torch.arange",), (), _arange),
    Row(("torch.nn.functional.scaled_dot_product_attention",), (), _sdpa),
    Row((), ("size",), _size),
    Row((), ("dim",), _dim),
    Row(("torch.numel",), ("numel",), _numel),
    Row(("builtins.getattr",), (), _getattr),
    Row(("operator.getitem",), (), _getitem),
    Row((), ("contiguous", "clone"), _same),
    Row(("torch.detach",), ("detach",), _detach),
    # -- reductions ------------------------------------------------------------------------------
    Row(("torch.mean",), ("mean",), _reduce("jnp.mean")),
    Row(("torch.sum",), ("sum",), _reduce("jnp.sum")),
    Row(("torch.prod",), ("prod",), _reduce("jnp.prod")),
    Row(("torch.amax",), ("amax",), _reduce("jnp.max")),
    Row(("torch.amin",), ("amin",), _reduce("jnp.min")),
    Row(("torch.logsumexp",), ("logsumexp",), _reduce("jax.nn.logsumexp")),
    Row(("torch.argmax",), ("argmax",), _reduce("jnp.argmax", typed=False)),
    Row(("torch.argmin",), ("argmin",), _reduce("jnp.argmin", typed=False)),
    Row(("torch.max",), ("max",), _extreme("max")),
    Row(("torch.min",), ("min",), _extreme("min")),
    Row(("torch.var",), ("var",), _spread("var")),
    Row(("torch.std",), ("std",), _spread("std")),
    # -- dtypes and constructors -----------------------------------------------------------------
    Row((), ("float",), _cast("jnp.float32")),
    Row((), ("double",), _cast("jnp.float64")),
    Row((), ("long",), _cast("jnp.int64")),
    Row((), ("int",), _cast("jnp.int32")),
    Row((), ("bool",), _cast("jnp.bool_")),
    Row((), ("to", "type"), _to),
    Row((), ("type_as",), _type_as),
    Row((), ("half",), _cast("jnp.float16")),
    Row((), ("bfloat16",), _cast("jnp.bfloat16")),
    Row(("torch.is_floating_point",), ("is_floating_point",), _is_type("floating")),
    Row(("torch.is_complex",), ("is_complex",), _is_type("complexfloating")),
    Row(("torch.zeros_like",), (), _like("jnp.zeros_like")),
    Row(("torch.zeros",), (), _filled("jnp.zeros")),
    Row(("torch.ones",), (), _filled("jnp.ones")),
    Row(("torch.full",), (), _full),
    Row(("torch.scalar_tensor",), (), _scalar_tensor),
    Row((), ("new_zeros", "new_empty"), _new("jnp.zeros")),
    Row((), ("new_ones",), _new("jnp.ones")),
    Row((), ("new_full",), _new_full),
    Row(("torch.ones_like",), (), _like("jnp.ones_like")),
)
"""The ops that are not a layer's or loss's functional of the same name, one row each."""
# fmt: on


# -- lookups --------------------------------------------------------------------------------------


class _Index(NamedTuple):
    functions: dict[Any, Template]  # torch's function objects
    methods: dict[str, Template]  # Tensor method names
    names: dict[
        str, Template
    ]  # bare names, for ATen's ops (losses aside: ATen's reduction is an int)


def _resolve(dotted: str) -> Any:
    """``torch.nn.functional.relu`` / ``operator.add`` as the object, or ``None``."""
    torch = import_torch()
    root, *parts = dotted.split(".")
    obj: Any = {"torch": torch, "operator": operator, "builtins": builtins}[root]
    for part in parts:
        obj = getattr(obj, part, None)
    return obj


@functools.cache
def _index() -> _Index:
    """The table by torch's objects, built once on first use (torch is imported only then)."""
    index = _Index({}, {}, {})
    for rows, named in ((LAYER_ROWS.values(), True), (LOSS_ROWS.values(), False), (ROWS, True)):
        for row in rows:
            for dotted in row.functions:
                obj = _resolve(dotted)
                if obj is not None:
                    index.functions[obj] = row.template
                if named:
                    index.names[dotted.rpartition(".")[2]] = row.template
            for method in row.methods:
                index.methods[method] = row.template
                if named:  # a function of the same name wins (x.where(c, y) is where(c, x, y))
                    index.names.setdefault(method, row.template)
    # F.max_pool2d is a boolean dispatch: fx records the branch it took, a private function
    without_indices = compat.max_pool2d_without_indices()
    if without_indices is not None:
        index.functions[without_indices] = LAYER_ROWS["max_pool2d"].template
    return index


def lookup(op: str, target: Any) -> Template | None:
    """The template for an fx node (``op`` is ``call_function`` or ``call_method``), or ``None``.

    Example:
        >>> import operator, torch
        >>> lookup("call_function", operator.add)(Context("add"), Code("x"), Code("y"))
        'x + y'
        >>> lookup("call_function", torch.nn.functional.mse_loss)
        SameNamed('fg.losses.mse_loss')
        >>> lookup("call_method", "no_such_method") is None
        True
    """
    index = _index()
    table: dict[Any, Template] = index.functions if op == "call_function" else index.methods
    try:
        found = table.get(target)
    except TypeError:  # an unhashable target
        return None
    return found


def by_name(name: str) -> Template | None:
    """The template of the torch function or Tensor method called ``name`` (``"relu"``), or ``None``.

    Example:
        >>> by_name("relu")(Context("relu"), Code("x"))
        'F.relu(x)'
    """
    return _index().names.get(name)
