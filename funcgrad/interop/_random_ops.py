"""The converter's rows for random ops in ``forward``: drawn from ``apply``'s key, per module path.

``torch.randn_like(x)`` (a VAE's reparameterisation), ``torch.rand``/``randn``, ``bernoulli`` and
``torch.dropout`` become ``jax.random`` draws from ``fg.nn.child_key(key, "<node>")``: the key the
generated ``forward`` gets is already its module's (folded from its path, as ``Dropout``'s is), and
the node's name makes each draw in it its own. ``F.dropout`` in any form is the op table's own row.

Example:
    >>> import torch
    >>> from funcgrad.interop._templates import Code, Context, bind
    >>> bind(lookup("call_function", torch.randn_like), Context("eps"), (Code("std"),), {})
    'jax.random.normal(fg.nn.child_key(key, "eps"), std.shape, std.dtype)'
"""

from __future__ import annotations

import functools
from typing import Any

from funcgrad.interop._templates import Code, Context, Template, given, paren
from funcgrad.interop._torch import import_torch

__all__ = ["lookup"]

_PLACES = ("layout", "device", "pin_memory", "requires_grad", "memory_format", "generator")


def _key(ctx: Context) -> str:
    return f'fg.nn.child_key(key, "{ctx.name}")'


def _dtype(dtype: Any, fallback: str) -> str:
    return str(dtype) if given(dtype) and dtype.value is not None else fallback


def _like(draw: str) -> Template:
    def t(ctx: Context, input: Code, *, dtype: Any = None, **placement: Any) -> str:
        unknown = set(placement) - set(_PLACES)
        if unknown:
            raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
        x = paren(input)
        return f"{draw}({_key(ctx)}, {x}.shape, {_dtype(dtype, f'{x}.dtype')})"

    return t


def _sized(draw: str) -> Template:
    def t(ctx: Context, *size: Code, dtype: Any = None, out: Any = None, **placement: Any) -> str:
        unknown = set(placement) - set(_PLACES)
        if unknown or given(out):
            raise TypeError(f"unexpected keyword arguments {sorted(unknown) or ['out']}")
        if len(size) == 1 and not isinstance(size[0].value, int):
            shape = str(size[0])  # a tuple, a list or x.shape
        else:
            shape = f"({', '.join(size)}{',' if len(size) == 1 else ''})"
        # torch's default dtype, float32, where the user gave none
        return f"{draw}({_key(ctx)}, tuple({shape}), {_dtype(dtype, 'jnp.float32')})"

    return t


def _bernoulli(ctx: Context, input: Code, p: Any = None, *, generator: Any = None) -> str:
    x = paren(input)
    if given(p):
        return f"jax.random.bernoulli({_key(ctx)}, {p}, {x}.shape).astype({x}.dtype)"
    return f"jax.random.bernoulli({_key(ctx)}, {x}).astype({x}.dtype)"


def _torch_dropout(ctx: Context, input: Code, p: Code, train: Code) -> str:
    """``torch.dropout(x, p, train)`` (the builtin some models call): ``F.dropout``'s row."""
    return f"F.dropout({input}, {p}, {train}, key={_key(ctx)})"


def _stochastic_depth(ctx: Context, input: Code, p: Any, mode: Any, training: Any = True) -> str:
    """torchvision's ``stochastic_depth``: each example (``mode="row"``) or the whole batch
    (``"batch"``) dropped with probability ``p``, the kept scaled by ``1 / (1 - p)``."""
    x = paren(input)
    rate = p.value if given(p) else p
    if not isinstance(rate, float | int) or not given(mode):
        raise TypeError("p and mode must be constants")
    if (given(training) and training.value is False) or rate == 0.0:
        return str(input)
    shape = (
        f"({x}.shape[0],) + (1,) * ({x}.ndim - 1)" if mode.value == "row" else f"(1,) * {x}.ndim"
    )
    keep = 1.0 - rate
    mask = f"jax.random.bernoulli({_key(ctx)}, {keep!r}, {shape}).astype({x}.dtype)"
    drawn = f"{x} * {mask}" + (f" / {keep!r}" if keep > 0 else "")
    train = training if given(training) else "True"
    return f"({drawn} if {train} else {input})"


_FUNCTIONS: dict[str, Template] = {
    "randn_like": _like("jax.random.normal"),
    "rand_like": _like("jax.random.uniform"),
    "randn": _sized("jax.random.normal"),
    "rand": _sized("jax.random.uniform"),
    "bernoulli": _bernoulli,
    "dropout": _torch_dropout,
}
_METHODS: dict[str, Template] = {"bernoulli": _bernoulli}


@functools.cache
def _table() -> dict[Any, Template]:
    torch = import_torch()
    table = {getattr(torch, name): t for name, t in _FUNCTIONS.items()}
    import sys

    torchvision_ops = sys.modules.get("torchvision.ops.stochastic_depth")  # only if it is in use
    if torchvision_ops is not None:
        table[torchvision_ops.stochastic_depth] = _stochastic_depth
    return table


def lookup(op: str, target: Any) -> Template | None:
    """The template of an fx node that draws random numbers, or ``None``.

    Example:
        >>> import torch
        >>> lookup("call_method", "bernoulli") is not None, lookup("call_function", torch.relu)
        (True, None)
    """
    if op == "call_method":
        return _METHODS.get(target) if isinstance(target, str) else None
    try:
        return _table().get(target)
    except TypeError:  # an unhashable target
        return None
