"""Writing the converted model's source: the torch layers as funcgrad constructors, one class per
torch class, the file around them, formatted with ruff when it is installed.

The file is self-contained: two small helpers at its top (``_Converted``, ``_Children``) hold what
every converted class shares, so each class is its children, as dataclass fields named as in torch,
and a ``forward`` that reads like torch's.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from funcgrad import nn as fgnn
from funcgrad.interop._torch import import_torch

__all__ = ["ClassSource", "HEADER", "format_source", "leaf_code", "module_source"]

# torch's layers that funcgrad has, by name: the same name in fg.nn, torch's signature.
LEAVES = (
    "Linear",
    "Conv1d",
    "Conv2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "GroupNorm",
    "Dropout",
    "Dropout2d",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "Embedding",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "GELU",
    "LeakyReLU",
    "ELU",
    "SiLU",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Flatten",
)

# torch attributes that are not constructor arguments in funcgrad (or mean nothing in JAX).
_SKIP = {"inplace", "device", "dtype", "sparse"}
# Shape-like arguments torch stores as tuples: (5, 5) is written 5, as users write it.
_COLLAPSE = {"kernel_size", "stride", "padding", "dilation", "output_size"}

HEADER = '''\
"""{name}, converted from PyTorch ({origin}) by funcgrad.interop.convert.

Load torch's weights and run it:

    params, buffers = fg.interop.from_torch(torch_model, like=model)   # plain params without buffers
    y, buffers = model.apply(params, x, buffers=buffers, train=False)  # train=True: model.train()
"""

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

import funcgrad as fg
from funcgrad.nn import functional as F


class _Converted(fg.nn.Module):
    """A module converted from torch: its children are its dataclass fields, named as in torch.

    ``own_params`` and ``own_buffers`` hold the shapes of torch's ``nn.Parameter`` and
    ``register_buffer`` entries on the module itself. torch broadcasts arrays of different ranks
    (``(N, 3) + (3,)``), so ``forward`` runs with JAX's rank promotion allowed.
    """

    own_params: ClassVar[dict] = {{}}
    own_buffers: ClassVar[dict] = {{}}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if forward is not None:

            def forward_as_torch(self, *args, **kwargs):
                with jax.numpy_rank_promotion("allow"):
                    return forward(self, *args, **kwargs)

            cls.forward = forward_as_torch

    def children(self):
        return {{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}

    def init(self, key):
        # torch's own initial values are not recorded here: load them with fg.interop.from_torch.
        params = {{name: jnp.zeros(shape) for name, shape in self.own_params.items()}}
        keys = jax.random.split(key, max(len(self.children()), 1))
        for (name, child), k in zip(self.children().items(), keys):
            if child_params := child.init(k):
                params[name] = child_params
        return params

    def init_buffers(self):
        buffers = {{n: jnp.zeros(s, dtype) for n, (s, dtype) in self.own_buffers.items()}}
        for name, child in self.children().items():
            if child_buffers := child.init_buffers():
                buffers[name] = child_buffers
        return buffers


class _Children:
    """``call("conv1", x)`` is torch's ``self.conv1(x)``; ``call("blocks.0", x)`` its ``self.blocks[0](x)``.

    Each child gets its params, its buffers and its own key (a child called twice draws fresh
    randomness), and the buffers it returns replace its old ones in ``self.buffers``.
    """

    def __init__(self, module, params, buffers, train, key):
        self.module, self.params, self.buffers = module, params, buffers
        self.train, self.key, self.calls = train, key, {{}}

    def __call__(self, path, x):
        *outer, name = path.split(".")
        module, params, buffers, key = self.module, self.params, self.buffers, self.key
        self.calls[path] = calls = self.calls.get(path, -1) + 1
        if calls:
            key = fg.nn.child_key(key, f"call {{calls}}")
        for part in outer:
            module = _child(module, part)
            params, buffers = params.get(part, {{}}), buffers.get(part, {{}})
            key = fg.nn.child_key(key, part)
        try:
            y, new = fg.nn.call_child(
                name, _child(module, name), params, x, buffers=buffers, train=self.train, key=key
            )
        except fg.nn.ModuleError as e:
            for part in reversed(outer):
                e = e.under(part)
            raise e from None
        if new:
            self.buffers = _replace(self.buffers, path.split("."), new)
        return y


def _child(module, name):
    if isinstance(module, _Converted):
        return getattr(module, name)
    # a torch Sequential, ModuleList or ModuleDict: held in an fg.nn.Sequential
    return dict(module.named_layers())[name]


def _replace(tree, names, value):
    first, *rest = names
    return {{**tree, first: _replace(tree.get(first, {{}}), rest, value) if rest else value}}
'''


def _plain(name: str, value: Any) -> Any:
    torch = import_torch()
    if isinstance(value, torch.Size):
        value = tuple(value)
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
        >>> leaf_code(torch.nn.Conv2d(1, 20, 5, padding=2)), leaf_code(torch.nn.LSTM(2, 3))
        ('fg.nn.Conv2d(1, 20, 5, padding=2)', None)
        >>> leaf_code(torch.nn.MaxPool2d(2)), leaf_code(torch.nn.LayerNorm(8))
        ('fg.nn.MaxPool2d(2)', 'fg.nn.LayerNorm(8)')
    """
    torch = import_torch()
    name = type(module).__name__
    if name not in LEAVES or type(module) is not getattr(torch.nn, name):
        return None
    cls = getattr(fgnn, name)
    positional: list[str] = []
    keywords: list[str] = []
    affine = getattr(module, "affine", getattr(module, "elementwise_affine", True))
    for f in dataclasses.fields(cls):
        if f.name.startswith("_") or f.name in _SKIP or not hasattr(module, f.name):
            continue
        value = getattr(module, f.name)
        if f.name == "bias" and (value is None or isinstance(value, torch.Tensor)):
            if not affine:
                continue
            value = value is not None
        value = _plain(f.name, value)
        if f.name == "stride" and value == _plain("kernel_size", getattr(module, "kernel_size", 0)):
            continue  # torch stores stride=kernel_size for the default stride=None
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
    body: tuple[str, ...]  # lines of forward, after the _Children line, indented by 4 per level

    def text(self, doc: str) -> str:
        lines = ["@dataclasses.dataclass(frozen=True)", f"class {self.name}(_Converted):"]
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
        lines.append("")
        lines.append(f"    def forward(self, params, {self.signature}, *, buffers, train, key):")
        lines.append("        call = _Children(self, params, buffers, train, key)")
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
    """``source`` formatted by ruff (``python -m ruff format``, line length 100), or as it is
    when ruff is not installed or fails.

    Example:
        >>> format_source("x  =  [1,2]\\n") in ("x = [1, 2]\\n", "x  =  [1,2]\\n")
        True
    """
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--isolated", "--line-length", "100", "-"],
            input=source,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return source
    return done.stdout if done.returncode == 0 and done.stdout else source
