"""Writing the converted model's source: the torch layers as funcgrad constructors, one class per
torch class, the file around them, formatted by black's Python API (line length 100).

The file imports what every converted class shares from :mod:`funcgrad.interop.runtime`
(``Converted``, ``Children``), so each class is its children, as dataclass fields named as in
torch, and a ``forward`` that reads like torch's. The layers written as ``fg.nn.<Name>(...)`` are
the entries of ``fg.nn.LAYERS`` with ``convert == "leaf"``, and the loss modules of ``fg.nn.LOSSES``
(``self.criterion = nn.CrossEntropyLoss()`` becomes ``fg.nn.CrossEntropyLoss()``, a class weight a
tuple of numbers).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from funcgrad.interop._torch import import_torch
from funcgrad.nn._registry import LAYERS, LOSSES

__all__ = ["HEADER", "LEAVES", "ClassSource", "format_source", "leaf_code", "module_source"]

_LEAF_ENTRIES: dict[str, Any] = {
    **{name: e for name, e in LAYERS.items() if e.convert == "leaf"},
    **{name: e for name, e in LOSSES.items() if e.module is not None},  # losses: leaves too
}
LEAVES: tuple[str, ...] = tuple(_LEAF_ENTRIES)
"""torch's layers that funcgrad has, by name: the same name in ``fg.nn``, torch's signature."""

LINE_LENGTH = 100

# torch attributes that are not constructor arguments in funcgrad (or mean nothing in JAX).
_SKIP = {"inplace", "device", "dtype", "sparse"}
# Shape-like arguments torch stores as tuples: (5, 5) is written 5, as users write it.
_COLLAPSE = {"kernel_size", "stride", "padding", "dilation", "output_size"}

HEADER = '''\
"""{name}, converted from PyTorch ({origin}) by funcgrad.interop.convert.

Load torch's weights and run it (from_torch returns plain params for a model without buffers):

    params, buffers = fg.interop.from_torch(torch_model, like=model)
    y, buffers = model.apply(params, x, buffers=buffers, train=False)  # train=True: model.train()
"""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

import funcgrad as fg
from funcgrad.interop.runtime import Children, Converted
from funcgrad.nn import functional as F
'''
"""The top of every generated file: its docstring and imports (the runtime is imported, not copied)."""


def _nested_tuple(value: Any) -> Any:
    return tuple(_nested_tuple(v) for v in value) if isinstance(value, list) else value


def _plain(name: str, value: Any) -> Any:
    torch = import_torch()
    if isinstance(value, torch.Size):
        value = tuple(value)
    if isinstance(value, torch.Tensor):  # a loss's class weight: nested tuples of numbers
        value = np.asarray(value.detach()).tolist()
        return _nested_tuple(value)
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, tuple) and value:
        if name in _COLLAPSE and all(v == value[0] for v in value):
            return value[0]
        if name == "normalized_shape" and len(value) == 1:
            return value[0]
    return value


def leaf_code(module: Any) -> str | None:
    """``fg.nn.X(...)`` for a torch layer funcgrad has (same name, torch's hyper-parameters), else None.

    Example:
        >>> import torch
        >>> leaf_code(torch.nn.Conv2d(1, 20, 5, padding=2)), leaf_code(torch.nn.Sequential())
        ('fg.nn.Conv2d(1, 20, 5, padding=2)', None)
        >>> leaf_code(torch.nn.LSTM(10, 20, num_layers=2, batch_first=True))
        'fg.nn.LSTM(10, 20, num_layers=2, batch_first=True)'
        >>> leaf_code(torch.nn.MaxPool2d(2)), leaf_code(torch.nn.LayerNorm(8))
        ('fg.nn.MaxPool2d(2)', 'fg.nn.LayerNorm(8)')
    """
    torch = import_torch()
    name = type(module).__name__
    if name not in LEAVES or type(module) is not getattr(torch.nn, name):
        return None
    cls: Any = _LEAF_ENTRIES[name].module  # a dataclass, as every funcgrad layer
    read = getattr(_LEAF_ENTRIES[name], "torch_args", None)
    given = dict(read(module)) if read is not None else {}
    positional: list[str] = []
    keywords: list[str] = []
    affine = getattr(module, "affine", getattr(module, "elementwise_affine", True))
    for f in dataclasses.fields(cls):
        if f.name in given:
            value = given[f.name]
        elif f.name.startswith("_") or f.name in _SKIP or not hasattr(module, f.name):
            continue
        else:
            value = getattr(module, f.name)
        if f.name == "bias" and (value is None or isinstance(value, torch.Tensor)):
            if not affine:
                continue
            value = value is not None
        value = _plain(f.name, value)
        if (
            f.name == "stride"
            and f.default is None
            and value == _plain("kernel_size", getattr(module, "kernel_size", 0))
        ):
            continue  # a pool: torch stores stride=kernel_size for the default stride=None
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and not keywords and not f.kw_only:
            positional.append(repr(value))
        elif required or value != f.default:
            keywords.append(f"{f.name}={value!r}")
    return f"fg.nn.{name}({', '.join(positional + keywords)})"


@dataclass(frozen=True)
class ClassSource:
    """One generated class: its name, children (``(name, constructor code, comment)``), own params
    and buffers (``(name, shape)`` / ``(name, shape, dtype)``), and ``forward``'s input and body."""

    name: str
    fields: tuple[tuple[str, str, str], ...]  # (name, constructor code, comment)
    own_params: tuple[tuple[str, tuple[int, ...]], ...]
    own_buffers: tuple[tuple[str, tuple[int, ...], str | None], ...]
    signature: str  # the forward's input argument
    body: tuple[str, ...]  # lines of forward, after the Children line, indented by 4 per level
    tied: tuple[tuple[str, str], ...] = ()  # (alias, param it is): torch's shared weights
    keywords: tuple[tuple[str, str], ...] = ()  # (name, default): forward's Python arguments
    renamed: tuple[tuple[str, str], ...] = ()  # (field, torch's child name) where not a name

    def text(self, doc: str) -> str:
        lines = ["@dataclasses.dataclass(frozen=True)", f"class {self.name}(Converted):"]
        lines.append(f'    """{doc}"""')
        lines.append("")
        for name, code, comment in self.fields:
            if comment:
                lines.append(f"    # {comment}")
            lines.append(f"    {name}: fg.nn.Module = {code}")
        if self.own_params:
            items = ", ".join(f"{n!r}: {s!r}" for n, s in self.own_params)
            lines.append(f"    own_params: ClassVar[dict] = {{{items}}}")
        if self.own_buffers:
            items = ", ".join(f"{n!r}: ({s!r}, {d!r})" for n, s, d in self.own_buffers)
            lines.append(f"    own_buffers: ClassVar[dict] = {{{items}}}")
        if self.tied:
            items = ", ".join(f"{a!r}: {n!r}" for a, n in self.tied)
            lines.append(f"    tied: ClassVar[dict] = {{{items}}}")
        if self.renamed:
            items = ", ".join(f"{f!r}: {n!r}" for f, n in self.renamed)
            lines.append(f"    renamed: ClassVar[dict] = {{{items}}}")
        lines.append("")
        extra = "".join(f", {n}={d}" for n, d in self.keywords)
        lines.append(
            f"    def forward(self, params, {self.signature}, *, buffers, train, key{extra}):"
        )
        lines.append("        call = Children(self, params, buffers, train, key)")
        lines += [f"        {line}" for line in self.body]
        return "\n".join(lines)


def module_source(
    name: str, origin: str, classes: Sequence[tuple[ClassSource, str]], model: str
) -> str:
    """The whole file: header, the classes (children first) and ``model = <root constructor>``."""
    parts = [HEADER.format(name=name, origin=origin)]
    parts += [cls.text(doc) for cls, doc in classes]
    parts.append(f"model = {model}\n")
    return "\n\n".join(parts)


def format_source(source: str) -> str:
    """``source`` formatted by black (line length 100), in this process: the same text whatever
    dev tools are installed.

    Example:
        >>> format_source("x  =  [1,2]\\n")
        'x = [1, 2]\\n'
    """
    import black  # a dependency of funcgrad; imported here as only the converter needs it

    return black.format_str(source, mode=black.Mode(line_length=LINE_LENGTH))
