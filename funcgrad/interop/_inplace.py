"""torch's in-place writes as new arrays: ``self.count.add_(1)``, and ``F.batch_norm``'s running
statistics in training (timm's ``BatchNormAct2d`` is torch's ``BatchNorm2d.forward`` copied).

A pure function cannot write a tensor in place. The generated line computes the new value; later
lines read it wherever torch's code reads the written tensor (the converter renames it), and a
buffer's new value goes into ``call.buffers`` (``call.set_buffer("num_batches_tracked", new)``),
which ``forward`` returns, as torch's module holds it after the call.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from funcgrad.interop import _fx_ops as ops
from funcgrad.interop._templates import SameNamed, Template
from funcgrad.interop._torch import import_torch
from funcgrad.nn import functional as F

__all__ = ["Write", "write_of"]


@dataclass(frozen=True)
class Write:
    """An op that overwrites some of its tensor arguments: the template of its out-of-place form,
    and the argument nodes it overwrites. With ``returns_all`` the template's result is a tuple:
    the op's own output, then each written tensor's new value in order; otherwise the result is
    the one written tensor's new value."""

    template: Template
    written: tuple[Any, ...]
    returns_all: bool = False


_BATCH_NORM_UPDATE = SameNamed("F.batch_norm_with_update", F.batch_norm_with_update, "batch_norm")


def write_of(op: str, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Write | None:
    """The in-place write an fx node makes, or ``None`` where it writes nothing.

    ``x.add_(y)`` is ``x.add(y)`` written back to ``x`` (any Tensor method whose out-of-place
    form the op table has); ``F.batch_norm`` with ``training`` not ``False`` and running
    statistics given updates them, as ``F.batch_norm_with_update`` returns them.

    Example:
        >>> import torch
        >>> w = write_of("call_method", "add_", ("x", 1), {})
        >>> w.written, w.returns_all
        (('x',), False)
        >>> write_of("call_method", "add", ("x", 1), {}) is None
        True
    """
    if op == "call_method" and isinstance(target, str):
        if target.endswith("_") and not target.startswith("_") and args:
            template = ops.lookup("call_method", target[:-1])
            if template is not None:
                return Write(template, (args[0],))
        return None
    torch = import_torch()
    if op == "call_function" and target is torch.nn.functional.batch_norm:
        try:
            bound = inspect.signature(target).bind(*args, **kwargs).arguments
        except TypeError:
            return None
        stats = (bound.get("running_mean"), bound.get("running_var"))
        if bound.get("training", False) is not False and all(
            isinstance(s, torch.fx.Node) for s in stats
        ):
            return Write(_BATCH_NORM_UPDATE, stats, returns_all=True)
    return None
