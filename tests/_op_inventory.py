"""The torch ops a model's glue uses, as ``convert`` meets them, and which of them its table lacks.

``convert`` keeps every ``torch.nn`` layer as a layer, so the ops that matter are the glue between
layers. They are collected the way the converter meets them:

* ``torch.fx``'s ``call_function`` / ``call_method`` nodes, with ``torch.nn`` modules as leaves;
* inside the functions a library marks as fx leaves (``torch.fx.wrap``: torchvision's
  ``stochastic_depth``, Swin's attention), the ATen ops of ``torch.export`` on the arguments they
  were called with when the model ran (the converter exports what fx cannot trace into);
* where fx cannot trace the model at all (Hugging Face models), ``torch.export``'s ATen ops of the
  whole model, less those inside ``torch.nn`` layers (``nn_module_stack`` says where each one ran).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any
from unittest import mock

import torch

from funcgrad.interop import _export_ops, _fx_ops

Op = tuple[str, Any]  # ("call_function" | "call_method" | "aten", target)


def _is_library_function(target: Any) -> bool:
    """A Python function of a model library's own (not torch's): an fx leaf if fx met it."""
    module = getattr(target, "__module__", "") or ""
    return isinstance(target, types.FunctionType) and module.split(".")[0] not in (
        "torch",
        "_operator",
    )


def name(op: Op) -> str:
    """``Tensor.chunk``, ``torch._assert``, ``aten.gather``: the names the converter's errors use."""
    kind, target = op
    if kind == "aten":
        return _export_ops.op_name(target)
    if kind == "call_method":
        return f"Tensor.{target}"
    module = getattr(target, "__module__", "") or "torch"
    module = "torch" if module.startswith("torch._C") else module.replace("_operator", "operator")
    return f"{module}.{getattr(target, '__name__', target)}"


def mapped(op: Op) -> bool:
    kind, target = op
    if kind == "aten":
        no_op = _export_ops._aten_name(target) in _export_ops._ALIASES
        return no_op or _export_ops.template(target) is not None
    return _fx_ops.lookup(kind, target) is not None


def fx_ops(
    model: torch.nn.Module, inputs: tuple[Any, ...], concrete_args: dict[str, Any] | None = None
) -> set[Op]:
    """The glue of ``model`` as fx records it (``concrete_args``: its Python arguments' values),
    the insides of its fx leaf functions as ATen's."""
    tracer = torch.fx.Tracer()
    tracer.proxy_buffer_attributes = True  # self.pe[: x.size(0)]: a buffer sliced by a shape
    graph = tracer.trace(model, concrete_args=concrete_args)
    found: set[Op] = set()
    leaves: dict[str, Callable[..., Any]] = {}
    for node in graph.nodes:
        if node.op == "call_function" and _is_library_function(node.target):
            leaves[name((node.op, node.target))] = node.target
        elif node.op in ("call_function", "call_method"):
            found.add((node.op, node.target))
    for fn in leaves.values():
        for args, kwargs in _calls(model, inputs, concrete_args or {}, fn):
            found |= _exported_call(fn, args, kwargs)
    return found


def _calls(
    model: torch.nn.Module,
    inputs: tuple[Any, ...],
    options: dict[str, Any],
    fn: Callable[..., Any],
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The arguments of every call of ``fn`` when ``model`` runs on ``inputs`` and ``options``."""
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def record(*args: Any, **kwargs: Any) -> Any:
        seen.append((args, kwargs))
        return fn(*args, **kwargs)

    with mock.patch.dict(fn.__globals__, {fn.__name__: record}), torch.no_grad():
        model(*inputs, **options)
    return seen


class _Call(torch.nn.Module):
    """``fn`` on the tensors given to ``forward``, its other arguments fixed."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs

    def forward(self, *tensors: torch.Tensor) -> Any:
        given = iter(tensors)
        args = [next(given) if isinstance(a, torch.Tensor) else a for a in self.args]
        kwargs = {
            k: next(given) if isinstance(v, torch.Tensor) else v for k, v in self.kwargs.items()
        }
        return self.fn(*args, **kwargs)


def _export(model: torch.nn.Module, inputs: tuple[Any, ...]) -> Any:
    """torch.export's program, functional where it writes in place (as the converter's)."""
    exported = torch.export.export(model, inputs, strict=False)
    nodes = exported.graph.nodes
    if any(_export_ops._writes_in_place(n.target) for n in nodes if n.op == "call_function"):
        exported = exported.run_decompositions({})
    return exported


def _exported_call(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> set[Op]:
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    exported = _export(_Call(fn, args, kwargs), tuple(tensors))
    return {
        ("aten" if hasattr(n.target, "overloadpacket") else "call_function", n.target)
        for n in exported.graph.nodes
        if n.op == "call_function"
    }


def export_ops(model: torch.nn.Module, inputs: tuple[Any, ...]) -> set[Op]:
    """The ATen ops of ``model`` outside its ``torch.nn`` layers (which convert keeps as layers)."""
    exported = _export(model, inputs)
    found: set[Op] = set()
    for node in exported.graph.nodes:
        if node.op != "call_function":
            continue
        stack = node.meta.get("nn_module_stack") or {}
        innermost = list(stack.values())[-1][1] if stack else ""
        if not str(innermost).startswith("torch.nn.modules."):
            aten = hasattr(node.target, "overloadpacket")  # else Python's (operator.getitem)
            found.add(("aten" if aten else "call_function", node.target))
    return found
