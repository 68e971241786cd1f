"""``convert``'s check: torch and the converted model run on the example, or no model is returned.

Both run in eval mode and, where the model behaves differently in training (batch statistics), in
train mode with dropout off (``p = 0`` on both sides; a ``forward`` that draws random numbers of its
own is checked in eval mode only). Outputs are compared leaf by leaf, whatever their pytree shape.
On a difference the fault is located: each traced module's graph is run node by node in torch
and its generated ``forward`` line by line in funcgrad (``sys.settrace`` reads the locals), on
the inputs that module got from torch, and the first line whose value differs is named,
descending into the converted child that differs first. The localisation runs only on a failure.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad.interop._errors import ConversionError
from funcgrad.interop._torch import import_torch
from funcgrad.nn._module import Module

__all__ = ["Traced", "check", "difference", "leaves", "to_jax"]

# |funcgrad - torch| allowed, relative to max(1, max |torch|), by the compared dtype's width.
_TOL = {8: 1e-7, 4: 1e-4, 2: 1e-2}


@dataclass
class Traced:
    """One traced (custom) module: its path, generated class, and per mode (``True``: train) its
    fx graph, tensor constants and the variable each node's value is assigned to."""

    module: Any
    path: str
    cls: str
    graphs: dict[bool, Any] = field(default_factory=dict)
    constants: dict[bool, dict[str, Any]] = field(default_factory=dict)
    names: dict[bool, dict[str, str]] = field(default_factory=dict)
    placeholders: list[str] = field(default_factory=list)  # forward's traced (tensor) inputs
    concrete: tuple[str, ...] = ()  # forward's Python arguments, specialised at trace time


def to_jax(value: Any) -> Any:
    """torch tensors (in any nesting of tuples, lists and dicts) as JAX arrays; the rest as is."""
    torch = import_torch()
    if isinstance(value, torch.Tensor):
        return jnp.asarray(value.detach().cpu().resolve_conj().resolve_neg().numpy())
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(to_jax(v) for v in value)
    if isinstance(value, list):
        return [to_jax(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_jax(v) for k, v in value.items()}
    return value


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, leaf)`` of an output of any pytree shape: tuples, lists, dicts (HF's ``ModelOutput``
    is one), dataclasses, named tuples; ``None`` entries are leaves too.

    Example:
        >>> list(leaves({"logits": 1, "past": (2, None)}))
        [("['logits']", 1), ("['past'][0]", 2), ("['past'][1]", None)]
    """
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from leaves(v, f"{path}[{k!r}]")
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from leaves(getattr(value, f.name), f"{path}.{f.name}")
    else:
        yield path, value


def difference(got: Any, expected: Any) -> float | None:
    """``max |got - expected| / max(1, max |expected|)`` of two arrays (``inf`` if their shapes
    differ), or ``None`` where ``expected`` is not an array (nothing to compare).

    Example:
        >>> import numpy as np
        >>> difference(np.array([1.0, 4.0]), np.array([1.0, 2.0])), difference("a", "b")
        (1.0, None)
    """
    torch = import_torch()
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().cpu().resolve_conj().resolve_neg().numpy()
    if not isinstance(expected, np.ndarray | np.generic):
        if isinstance(expected, bool | int | float) and isinstance(got, bool | int | float):
            return abs(float(got) - float(expected)) / max(1.0, abs(float(expected)))
        return None
    try:
        a = np.asarray(got)
    except Exception:
        return float("inf")
    if a.shape != expected.shape:
        return float("inf")
    if expected.size == 0:
        return 0.0
    wide = np.complex128 if np.iscomplexobj(expected) or np.iscomplexobj(a) else np.float64
    a, e = np.asarray(a, wide), np.asarray(expected, wide)
    both_nan = np.isnan(a) & np.isnan(e)
    with np.errstate(invalid="ignore"):  # inf - inf: NaN here, zeroed below where both agree
        err = np.where(both_nan, 0.0, np.abs(a - e))
    same_inf = np.isinf(e) & (a == e)
    err = np.where(same_inf, 0.0, err)
    scale = max(1.0, float(np.abs(np.where(np.isfinite(e), e, 0)).max()))
    return float(np.nan_to_num(err, nan=np.inf).max()) / scale


def _tolerance(got: Any) -> float:
    dtype = np.asarray(got).dtype
    if not np.issubdtype(dtype, np.inexact):
        return 0.0
    width = dtype.itemsize // (2 if np.issubdtype(dtype, np.complexfloating) else 1)
    return _TOL.get(width, 1e-2)


def _changed(a: Any, b: Any) -> set[str]:
    """The paths of the leaves of two runs that differ (the random outputs)."""
    other = dict(leaves(b))
    return {p for p, v in leaves(a) if difference(other.get(p), v) not in (0.0, None)}


def _compare(
    got: Any, expected: Any, skip: set[str] | frozenset[str] = frozenset()
) -> tuple[str, float, float] | None:
    """The worst leaf that differs beyond tolerance, ``(path, difference, tolerance)``, or ``None``;
    a structure that differs is ``("<structure>", inf, 0)``."""
    want = dict(leaves(expected))
    have = dict(leaves(got))
    if want.keys() != have.keys():
        return ("(the output's structure)", float("inf"), 0.0)
    worst = None
    for path, e in want.items():
        if path in skip:
            continue
        if e is None:
            if have[path] is not None:
                return (path or "(output)", float("inf"), 0.0)
            continue
        d = difference(have[path], e)
        if d is None:
            continue
        tol = _tolerance(have[path])
        if d > tol and (worst is None or d > worst[1]):
            worst = (path or "(output)", d, tol)
    return worst


# -- the two runs -----------------------------------------------------------------------------


@dataclass
class _Run:
    torch_model: Any
    model: Module
    params: Any
    buffers: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    traced: dict[int, Traced]
    source: str
    filename: str
    fg_args: tuple[Any, ...]  # what the converted model takes: the tensor inputs...
    fg_kwargs: dict[str, Any]  # ...and the Python arguments, as keywords
    node_line: Callable[[Any], str]  # where the user's forward made an fx node


def check(
    torch_model: Any,
    model: Module,
    params: Any,
    buffers: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    traced: dict[int, Traced],
    source: str,
    filename: str,
    train_too: bool,
    draws: bool,
    fg_inputs: tuple[tuple[Any, ...], dict[str, Any]],
    eval_outputs: Any = None,
    node_line: Callable[[Any], str] = lambda node: "",
) -> None:
    """Raise a :class:`ConversionError` (``op="verification"``) if the converted model's outputs differ from torch's on ``args``
    (eval mode, and train mode with dropout off when ``train_too``). Where ``forward`` ``draws``
    random numbers, each side runs twice (two torch seeds, two keys) and the outputs that change
    are left out: the deterministic ones are compared. ``eval_outputs`` are torch's, where the
    caller has them already."""
    run = _Run(
        torch_model,
        model,
        params,
        buffers,
        args,
        kwargs,
        traced,
        source,
        filename,
        *fg_inputs,
        node_line,
    )
    for train in (False, True) if train_too else (False,):
        # a layer may draw in train mode only, inside a child the source calls (RReLU's slopes)
        drawing = draws or train
        reuse = eval_outputs is not None and not train and not draws
        expected = eval_outputs if reuse else _torch_outputs(run, train, 0)
        got = _funcgrad_outputs(run, train, 0 if drawing else None)
        random: set[str] = set()
        if drawing:
            random = _changed(expected, _torch_outputs(run, train, 1))
            random |= _changed(got, _funcgrad_outputs(run, train, 1))
        worst = _compare(got, expected, random)
        if worst is None:
            continue
        where, d, tol = worst
        mode = "train mode (dropout off)" if train else "eval mode"
        located = _locate(run, train)
        found = f"; the first generated line that differs: {located[0]}" if located else ""
        raise ConversionError(
            f"the converted model's output {where} differs from torch's in {mode} by {d:.3g} "
            f"(relative to max(1, |torch|); allowed {tol:.0e}){found}",
            op="verification",
            line=located[1] if located else "",
        )


def _inputs(run: _Run) -> tuple[Any, dict[str, Any]]:
    args = tuple(to_jax(a) for a in run.fg_args)
    x: Any = args[0] if len(args) == 1 else args
    return x, {k: to_jax(v) for k, v in run.fg_kwargs.items()}


class _TorchMode:
    """The torch model in ``train`` mode (dropout off), its buffers restored on exit; set on every
    submodule directly (a model's own ``train`` method is never called)."""

    def __init__(self, root: Any, train: bool) -> None:
        self.root, self.train = root, train

    def __enter__(self) -> None:
        torch = import_torch()
        modules = list(self.root.modules())
        self.modes = {m: m.training for m in modules}
        self.saved = [(b, b.detach().clone()) for b in self.root.buffers()]
        self.p: list[tuple[Any, str, Any]] = []
        for m in modules:
            m.training = self.train
            if not self.train:
                continue
            for attr in ("p", "dropout"):  # Dropout's p; RNN and MultiheadAttention's dropout
                value = getattr(m, attr, None)
                is_dropout = attr == "dropout" or type(m).__name__.endswith("Dropout")
                if is_dropout and isinstance(value, float) and value != 0:
                    self.p.append((m, attr, value))
                    setattr(m, attr, 0.0)
        self.grad = torch.is_grad_enabled()
        torch.set_grad_enabled(False)

    def __exit__(self, *exc: Any) -> None:
        torch = import_torch()
        torch.set_grad_enabled(self.grad)
        for m, attr, value in self.p:
            setattr(m, attr, value)
        for m, mode in self.modes.items():
            m.training = mode
        with torch.no_grad():
            for b, saved in self.saved:
                b.copy_(saved)


def _torch_outputs(run: _Run, train: bool, seed: int) -> Any:
    torch = import_torch()
    with _TorchMode(run.torch_model, train), torch.random.fork_rng():
        torch.manual_seed(seed)
        return run.torch_model(*run.args, **run.kwargs)


def without_dropout(module: Module) -> Module:
    """``module`` with every dropout probability of its layers set to 0 (dataclass fields ``p``
    of the dropout layers and ``dropout`` of the recurrent and attention layers)."""
    from funcgrad.nn import Sequential
    from funcgrad.nn._dropout import _Dropout

    if isinstance(module, Sequential):
        return Sequential({n: without_dropout(m) for n, m in module.named_layers()})
    if not dataclasses.is_dataclass(module):
        return module
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(module):
        if not f.init:
            continue
        value = getattr(module, f.name)
        if isinstance(value, Module):
            new = without_dropout(value)
            if new is not value:
                changes[f.name] = new
        elif (
            isinstance(value, float)
            and value
            and (f.name == "dropout" or (f.name == "p" and isinstance(module, _Dropout)))
        ):
            changes[f.name] = 0.0
    return dataclasses.replace(module, **changes) if changes else module


def _funcgrad_outputs(run: _Run, train: bool, seed: int | None) -> Any:
    x, kw = _inputs(run)
    model = without_dropout(run.model) if train else run.model
    key = None if seed is None else jax.random.PRNGKey(seed)

    def forward(params: Any, x: Any, buffers: Any, key: Any) -> Any:
        y, _ = model.apply(params, x, buffers=buffers, train=train, key=key, **kw)
        return y

    # one compilation of the whole model: far cheaper than running its layers one by one
    try:
        return jax.jit(forward)(run.params, x, run.buffers, key)
    except Exception as e:
        mode = "train mode (dropout off)" if train else "eval mode"
        text = " ".join(str(e).split("\n")[0].split())
        raise ConversionError(
            f"the converted model fails on the example in {mode} ({type(e).__name__}: {text})",
            op="verification",
        ) from None


# -- locating the first line that differs -----------------------------------------------------


def _locate(run: _Run, train: bool) -> tuple[str, str] | None:
    """``(description, line)`` of the first generated line whose value differs, or ``None``."""
    try:
        return _locate_in(run, train)
    except Exception:  # the localisation is a courtesy: the mismatch itself is reported anyway
        return None


def _captured(run: _Run, train: bool) -> dict[int, tuple[tuple[Any, ...], dict[str, Any]]]:
    """The inputs of each module's first call when torch runs on the example."""
    inputs: dict[int, tuple[tuple[Any, ...], dict[str, Any]]] = {}

    def hook(module: Any, args: Any, kwargs: Any) -> None:
        inputs.setdefault(id(module), (args, kwargs))

    handles = [
        m.register_forward_pre_hook(hook, with_kwargs=True) for m in run.torch_model.modules()
    ]
    try:
        with _TorchMode(run.torch_model, train):
            run.torch_model(*run.args, **run.kwargs)
    finally:
        for h in handles:
            h.remove()
    return inputs


def _locate_in(run: _Run, train: bool) -> tuple[str, str] | None:
    captured = _captured(run, train)
    current = run.traced.get(id(run.torch_model))
    found = None
    while current is not None and id(current.module) in captured:
        args, kwargs = captured[id(current.module)]
        with _TorchMode(run.torch_model, train):
            expected = _interpret(current, train, args, kwargs)
        got = _record(run, current, train, args, kwargs)
        names = current.names[train]
        nxt = None
        for node in current.graphs[train].nodes:
            if node.op in ("placeholder", "output") or node not in expected:
                continue
            var = names.get(node.name)
            if var is None or var not in got:
                continue
            worst = _compare(got[var], expected[node])
            if worst is None:
                continue
            found = (current, node, var, worst[1])
            if node.op == "call_module":
                child = current.module.get_submodule(str(node.target))
                nxt = run.traced.get(id(child))
            break
        current = nxt
    if found is None:
        return None
    traced, node, var, d = found
    number, text = _source_line(run.source, traced.cls, var)
    user = run.node_line(node)
    where = f" at {traced.path}" if traced.path else ""
    torch_line = f" (torch: {user})" if user else ""
    return (
        f"line {number} of the source, in {traced.cls}.forward{where}: {text} "
        f"(differs by {d:.3g}){torch_line}",
        text,
    )


def _source_line(source: str, cls: str, var: str) -> tuple[int, str]:
    lines = source.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"class {cls}(")), 0)
    pattern = re.compile(rf"\s+{re.escape(var)} = ")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1, lines[i].strip()
    return 0, var


def _interpret(
    traced: Traced, train: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[Any, Any]:
    """torch's value of every node of ``traced``'s graph in this mode."""
    torch = import_torch()
    m = traced.module
    values: dict[Any, Any] = {}
    bound = dict(inspect.signature(m.forward).bind(*args, **kwargs).arguments)

    def value(a: Any) -> Any:
        return torch.fx.node.map_arg(a, lambda n: values[n])

    for node in traced.graphs[train].nodes:
        if node.op == "placeholder":
            name = str(node.target).lstrip("*")
            values[node] = bound[name] if name in bound else (node.args[0] if node.args else None)
        elif node.op == "get_attr":
            target = str(node.target)
            consts = traced.constants[train]
            if target in consts:
                values[node] = consts[target]
            else:
                owner, _, leaf = target.rpartition(".")
                values[node] = getattr(m.get_submodule(owner) if owner else m, leaf)
        elif node.op == "call_function":
            values[node] = node.target(*value(node.args), **value(node.kwargs))
        elif node.op == "call_method":
            self_, *rest = value(node.args)
            values[node] = getattr(self_, node.target)(*rest, **value(node.kwargs))
        elif node.op == "call_module":
            child = m.get_submodule(str(node.target))
            values[node] = child(*value(node.args), **value(node.kwargs))
    return values


def _submodule(run: _Run, path: str) -> tuple[Module, Any, Any]:
    from funcgrad.interop.runtime import _child

    module, params, buffers = run.model, run.params, run.buffers
    for part in path.split(".") if path else ():
        module = _child(module, part)
        params, buffers = params.get(part, {}), buffers.get(part, {})
    return module, params, buffers


def _record(
    run: _Run, traced: Traced, train: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The locals of the generated ``forward`` of ``traced``'s module, run on torch's inputs."""
    module, params, buffers = _submodule(run, traced.path)
    if train:
        module = without_dropout(module)
    bound = inspect.signature(traced.module.forward).bind(*args, **kwargs).arguments
    jargs = tuple(to_jax(bound[n]) for n in traced.placeholders if n in bound)
    x: Any = jargs[0] if len(jargs) == 1 else jargs
    kw = {k: bound[k] for k in traced.concrete if k in bound}
    record: dict[str, Any] = {}
    outer: list[FrameType] = []

    def local(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        for k, v in frame.f_locals.items():
            record.setdefault(k, v)
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if frame.f_code.co_filename != run.filename or frame.f_code.co_name != "forward":
            return None
        if not outer:
            outer.append(frame)
        return local if frame is outer[0] else None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        module.apply(params, x, buffers=buffers, train=train, **kw)
    finally:
        sys.settrace(old)
    return record
