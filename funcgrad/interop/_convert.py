"""``convert``: a torch ``nn.Module`` as readable funcgrad source, its model, params and buffers.

How it works: each custom torch module (a class of the user's) is traced with ``torch.fx``, one
instance at a time, with every submodule kept as a leaf. The graph's nodes become one line each of
``forward``: a torch layer funcgrad has becomes the funcgrad layer of the same name at the same
attribute path (``call("conv1", x)``), a custom submodule becomes a class of its own (a class used
three times is written once), and the glue between them (``view``, ``+``, ``F.relu``, ``x[:, 0]``,
``x.shape``) becomes ``jax.numpy`` or ``funcgrad.nn.functional`` from the table in ``_fx_ops``.

``self.training``: fx runs ``forward`` in Python, so ``if self.training:`` reads a concrete bool.
Each module is traced twice, in train and in eval mode. Where the two graphs differ only in
``True``/``False`` constants (``F.dropout(x, training=self.training)``), those become ``train``;
where they differ in their operations, ``forward`` gets both, under ``if train:``. The user's
module is left as it came in: its mode, and whatever its ``forward`` assigns to ``self`` (the word
language model tutorial caches ``self.src_mask``), put back after each run (``_untouched``).

``len(x)`` of an input of ``forward`` is the example's ``x.size(0)``, and the generated
``forward`` says in a comment that it is specialised to it; other Python control flow on shapes
falls back to ``torch.export`` for that one module, specialised to the example's shapes likewise.

Nothing is written: the source is built and run in memory, and ``model`` is built from that same
source, so what the user reads is what runs.
"""

from __future__ import annotations

import ast
import functools
import inspect
import keyword
import linecache
import os
import re
import sys
import traceback
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from funcgrad import nn as fgnn
from funcgrad.interop import _fx_ops as ops
from funcgrad.interop import _random_ops as random_ops
from funcgrad.interop import _torch_compat as compat
from funcgrad.interop._codegen import ClassSource, format_source, leaf_code, module_source
from funcgrad.interop._errors import ConversionError
from funcgrad.interop._export_ops import export_graph, op_name
from funcgrad.interop._export_ops import template as export_template
from funcgrad.interop._inplace import Write, write_of
from funcgrad.interop._torch import import_torch
from funcgrad.interop._untouched import attributes_restored
from funcgrad.interop._verify import Traced, check, leaves
from funcgrad.nn._module import Buffers, Module, Params

__all__ = ["Conversion", "ConversionError", "convert"]

# Names the generated forward and file use; a node of the same name gets a trailing underscore.
_RESERVED = {
    "self",
    "params",
    "buffers",
    "train",
    "key",
    "call",
    "F",
    "jnp",
    "jax",
    "fg",
    "dataclasses",
    "ClassVar",
    "Children",
    "Converted",
    "inputs",
    "model",
}
_BASE_ATTRS = {
    "own_params",
    "own_buffers",
    "children",
    "init",
    "init_buffers",
    "forward",
    "apply",
    "stateless",
}
_MAX_CONSTANT = 256  # elements of a tensor constant written into the source


@dataclass(frozen=True)
class Conversion:
    """What :func:`convert` returns: the funcgrad model, its weights and its source.

    Attributes:
        model: the funcgrad ``Module``, built from ``source``; ``(init, apply)`` like any other.
        params: torch's parameters, nested by their ``state_dict`` paths (``"fc.weight"`` is
            ``params["fc"]["weight"]``), with torch's values and dtypes.
        buffers: torch's buffers (BatchNorm's running statistics), nested the same way; ``{}``
            when torch has none.
        source: the complete, formatted Python module that defines ``model``.

    Example:
        >>> import torch, funcgrad as fg
        >>> conv = fg.interop.convert(torch.nn.Sequential(torch.nn.Linear(3, 2)), torch.ones(1, 3))
        >>> sorted(conv.params["0"]), conv.buffers
        (['bias', 'weight'], {})
    """

    model: Module
    params: Params
    buffers: Buffers
    source: str


def convert(
    torch_model: Any,
    example_input: Any = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    verify: bool = True,
) -> Conversion:
    """Convert ``torch_model`` into a funcgrad module, its weights, and the module's source.

    ``example_input`` is an input the torch model accepts (a tensor, or a tuple for several
    arguments). The torch model may be in train or eval mode; the funcgrad model's mode is
    ``apply``'s ``train=``. ``conv.source`` is a complete Python module (it imports funcgrad and
    ``jax.numpy``, never torch) with a class named like the torch class and an instance ``model``.

    ``kwargs`` are keyword arguments of the torch model's ``forward`` for the example (Python
    values such as ``has_mask=False`` are specialised at trace time). With ``verify`` (the
    default), torch and the converted model both run on the example, in eval mode and, where the
    model behaves differently in training, in train mode with dropout off; if their outputs
    differ, a :class:`ConversionError` gives the largest difference and the first line of the
    generated source whose value differs from torch's. ``verify=False`` skips this (a model too
    large to run twice).

    Args:
        torch_model: the ``torch.nn.Module`` to convert (left in the mode it was given in).
        example_input: an input its ``forward`` accepts: a tensor, or a tuple for several
            arguments; ``None`` for a model that takes none.
        kwargs: keyword arguments of ``forward`` for the example; Python values are specialised.
        verify: run both models on the example and refuse a conversion whose outputs differ.

    Returns:
        A :class:`Conversion`: ``model`` (the funcgrad module), ``params``, ``buffers`` and
        ``source`` (the module's Python source).

    Raises:
        ConversionError: an op, module or construct the converter cannot write, or (with
            ``verify``) outputs that differ from torch's, naming the first differing line.

    Example:
        >>> import torch, jax.numpy as jnp, funcgrad as fg
        >>> class Net(torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = torch.nn.Linear(4, 2)
        ...     def forward(self, x):
        ...         return torch.relu(self.fc(x.flatten(1))) * 2
        >>> conv = fg.interop.convert(Net(), torch.ones(3, 2, 2))
        >>> conv.model.apply(conv.params, jnp.ones((3, 2, 2))).shape
        (3, 2)
        >>> print(conv.source.split("    def forward(")[-1].strip())  # doctest: +NORMALIZE_WHITESPACE
        self, params, x, *, buffers, train, key):
            call = Children(self, params, buffers, train, key)
            flatten = F.flatten(x, 1)
            fc = call("fc", flatten)
            relu = F.relu(fc)
            mul = relu * 2
            return mul, call.buffers
        model = Net()
    """
    torch = import_torch()
    if not isinstance(torch_model, torch.nn.Module):
        raise TypeError(
            f"convert: expected a torch.nn.Module, got {type(torch_model).__name__}; pass the "
            "model object (build it first, e.g. convert(Net(), torch.ones(1, 3)))"
        )
    # the model is left as it came: its modes, and whatever its forward assigns to self (the
    # tutorial's self.src_mask = mask) when it is traced, run on the example and verified
    with attributes_restored(*torch_model.modules()):
        return _converted(torch_model, example_input, kwargs, verify)


def _converted(
    torch_model: Any, example_input: Any, kwargs: Mapping[str, Any] | None, verify: bool
) -> Conversion:
    """:func:`convert`'s work, on a model whose attributes the caller restores."""
    writer = _Writer(torch_model, example_input, dict(kwargs or {}))
    source = format_source(writer.source())
    name = type(torch_model).__name__
    model = _run_source(source, name)
    from funcgrad.interop._state_dict import from_torch

    got = from_torch(torch_model, like=model)
    params, buffers = got if isinstance(got, tuple) else (got, {})
    if verify and example_input is not None:
        args = example_input if isinstance(example_input, tuple) else (example_input,)
        bodies = [line for cls, _ in writer.classes for line in cls.body]
        # the example, and each branch of a Python argument on its own value
        tensors, python = writer.root_inputs()
        given = dict(kwargs or {})
        variants = [(given, (tensors, python), writer.outputs)]
        variants += [
            ({**given, arg: value}, (tensors, {**python, arg: value}), None)
            for arg, value in writer.branches.items()
        ]
        try:
            for call_kwargs, fg_inputs, outputs in variants:
                check(
                    torch_model,
                    model,
                    params,
                    buffers,
                    args,
                    call_kwargs,
                    writer.traced,
                    source,
                    _filename(name),
                    train_too=_trains(torch_model, bodies),
                    draws=any(re.search(r"\bkey\b", line) for line in bodies),
                    fg_inputs=fg_inputs,
                    eval_outputs=outputs,
                    node_line=_node_line,
                )
        except ConversionError as e:
            if e.op != "verification":
                raise
            raise ConversionError(
                f"{name} was converted, but {e}; this is a bug in funcgrad's converter, please "
                "report it with the torch model (convert(..., verify=False) returns the model "
                "anyway)",
                op="verification",
                line=e.line,
            ) from None
    return Conversion(model=model, params=params, buffers=buffers, source=source)


_TRAIN_LAYERS = re.compile(r"BatchNorm|InstanceNorm|RReLU")


def _trains(torch_model: Any, bodies: list[str]) -> bool:
    """Whether the model computes differently in train mode, dropout aside: a generated line reads
    ``train``, or a layer uses batch statistics in training (BatchNorm) or draws its slope (RReLU)."""
    if any(re.search(r"\btrain\b", line) for line in bodies):
        return True
    return any(_TRAIN_LAYERS.search(type(m).__name__) for m in torch_model.modules())


def _filename(name: str) -> str:
    return f"<converted {name}>"


def _run_source(source: str, name: str) -> Module:
    """The ``model`` of ``source``, executed in a namespace of its own (nothing is imported or
    registered globally)."""
    namespace: dict[str, Any] = {"__name__": f"funcgrad_converted_{name}"}
    try:
        # dont_inherit: this file's `from __future__ import annotations` must not leak into it
        exec(compile(source, _filename(name), "exec", dont_inherit=True), namespace)
    except Exception as e:  # a converter bug, not the user's: say so
        raise ConversionError(
            f"the source generated for {name} does not run ({type(e).__name__}: {e}); this is a "
            "bug in funcgrad's converter, please report it with the torch model"
        ) from e
    return namespace["model"]


# -- where in the user's code ---------------------------------------------------------------------


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    torch = import_torch()
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # funcgrad/
    return (os.path.dirname(os.path.abspath(str(torch.__file__))) + os.sep, package + os.sep)


def _user_frame(frames: list[traceback.FrameSummary]) -> str:
    """``file.py:12: source text`` of the last frame outside torch and funcgrad, or ``""``."""
    libs = _library_dirs()
    for f in reversed(frames):
        if not os.path.abspath(f.filename).startswith(libs) and not f.filename.startswith("<"):
            text = (f.line or "").strip()
            return f"{os.path.basename(f.filename)}:{f.lineno}" + (f": {text}" if text else "")
    return ""


def _node_line(node: Any) -> str:
    """Where the user's ``forward`` made ``node`` (fx's recorded stack trace)."""
    stack = node.meta.get("stack_trace") if node is not None else None
    if not stack:
        return ""
    frames: list[traceback.FrameSummary] = []
    lines = stack.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        if text.startswith('File "'):
            filename, _, rest = text[6:].partition('", line ')
            lineno, _, func = rest.partition(", in ")
            src = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if lineno.isdigit():
                frames.append(
                    traceback.FrameSummary(filename, int(lineno), func, line=src, lookup_line=False)
                )
    return _user_frame(frames)


def _failed_assert(e: AssertionError, root: Any) -> ConversionError:
    """The refusal of an example that an assert of the model fails on (``torch._assert``, or
    Python's ``assert`` on shapes, as timm's layers check their input): its message, its module
    and its line, rather than a trace's error about the same line."""
    torch = import_torch()
    frames = traceback.extract_tb(e.__traceback__)
    in_torch = bool(frames) and os.path.abspath(frames[-1].filename).startswith(_library_dirs()[0])
    op = "torch._assert" if in_torch and frames[-1].name == "_assert" else "assert"
    module, tb = root, e.__traceback__
    while tb is not None:  # the innermost module whose forward was running
        owner = tb.tb_frame.f_locals.get("self")
        module = owner if isinstance(owner, torch.nn.Module) else module
        tb = tb.tb_next
    path = next((n for n, m in root.named_modules() if m is module), "")
    message = " ".join(str(e).split())
    return _error(
        f"{type(root).__name__} on this example input",
        f"{op} fails on it" + (f" ({message})" if message else "") + "; pass an example input "
        "the torch model accepts",
        op=op,
        path=path,
        cls=type(module).__name__,
        line=_user_frame(frames),
    )


def _op_name(node: Any) -> str:
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    if hasattr(target, "overloadpacket"):  # an ATen op, from torch.export's graph
        return op_name(target)
    module = getattr(target, "__module__", None) or "torch"
    name = getattr(target, "__name__", repr(target))
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    return f"{compat.public_module(module)}.{name}"


def _error(what: str, fix: str, *, op: str, path: str, cls: str, line: str) -> ConversionError:
    where = f"at {path}" if path else "at the top level"
    at = f" ({line})" if line else ""
    return ConversionError(
        f"cannot convert {what} {where} in {cls}.forward{at}: {fix}", op=op, path=path, line=line
    )


# -- tracing --------------------------------------------------------------------------------------


def _trace(
    module: Any,
    training: bool,
    path: str,
    concrete: Mapping[str, Any] | None = None,
    example: Mapping[str, Any] | None = None,
) -> tuple[Any, dict[str, Any], list[Specialised]]:
    """fx's graph of ``module.forward`` with every submodule a leaf, in train or eval mode, the
    tensor constants its ``get_attr`` nodes read, and each place the trace was specialised to the
    example's shapes (``_length_checks`` writes a comment and a check for each). ``concrete`` are
    ``forward``'s Python arguments: fx specialises the trace to them (their placeholders and
    guards are dropped; the generated ``forward`` takes them as keywords and checks them).
    ``example`` is what the example passed ``forward``, by argument name: ``isinstance(x,
    Tensor)`` is false of an input passed as something else (DenseNet's list of features), and
    ``len(src)`` of an input tensor is the example's ``src.size(0)`` (the word language model
    tutorial sizes its mask so)."""
    torch = import_torch()
    proxy_type = _tensor_proxy()
    given: Mapping[str, Any] = example or {}
    notes: list[Specialised] = []

    class Tracer(torch.fx.Tracer):  # type: ignore[name-defined]  # torch is imported lazily
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return m is not module

        def proxy(self, node: Any) -> Any:
            p = proxy_type(node, self)
            passed = node.op == "placeholder" and str(node.target) in given
            if passed and not isinstance(given[str(node.target)], torch.Tensor):
                p.__dict__["_fg_not_tensor"] = True
            return p

        def create_arg(self, a: Any) -> Any:
            if isinstance(a, torch.fx.Proxy):  # before torch.Tensor: a proxy claims to be one
                return a.node
            return super().create_arg(a)

        def length(self, p: Any) -> int | None:
            """``len()`` of an input: the example's, noted in the source; ``None`` otherwise."""
            value = given.get(str(p.node.target)) if p.node.op == "placeholder" else None
            if not isinstance(value, torch.Tensor) or value.dim() == 0:
                return None
            where = _user_frame(traceback.extract_stack()).split(": ", 1)[0]
            notes.append(Specialised(str(p.node.target), len(value), where))
            return len(value)

    before = set(vars(module))
    try:
        # forward may assign to self (the tutorial's self.src_mask = mask): an fx proxy must not
        # stay on the user's module
        with attributes_restored(module):
            module.training = training
            try:
                with compat.fx_wraps_traced_into(_lookup):
                    graph = _trace_buffers_written(module, Tracer, concrete)
            finally:
                # fx stores tensors made in forward on the module (_tensor_constant0): keep them
                constants = {k: vars(module)[k] for k in set(vars(module)) - before}
        if concrete:
            _drop_specialised(graph)
    except Exception as e:
        cls = type(module).__name__
        line = _user_frame(traceback.extract_tb(e.__traceback__))
        refused = _refused_function(e.__traceback__)
        if refused is not None:
            raise _error(
                refused, ops.REFUSED[refused], op=refused, path=path, cls=cls, line=line
            ) from None
        if isinstance(e, torch.fx.proxy.TraceError):
            raise _error(
                "data-dependent Python control flow (an if/while on a tensor's value)",
                "symbolic tracing sees shapes, not values; compute both branches and pick with "
                "torch.where (jnp.where in funcgrad), or write this module in funcgrad by hand",
                op="control flow",
                path=path,
                cls=cls,
                line=line,
            ) from None
        raise _error(
            f"{cls} ({type(e).__name__}: {' '.join(str(e).split())})",
            "torch.fx cannot trace this forward; rewrite that line with tensor operations",
            op=type(e).__name__,
            path=path,
            cls=cls,
            line=line,
        ) from None
    return graph, constants, list(dict.fromkeys(notes))  # a second trace notes each place again


def _trace_buffers_written(module: Any, tracer_type: type, concrete: Any) -> Any:
    """fx's trace; where ``forward`` wrote one of the buffers in place (timm's
    ``self.num_batches_tracked.add_(1)``: fx reads buffers as plain tensors, so the write ran on
    the user's model and is missing from the graph), the buffers are put back and the trace is
    taken again with buffers as graph values, so the write is in the graph."""
    torch = import_torch()
    kept = {n: b.clone() for n, b in module.named_buffers()}
    for proxy_buffers in (False, True):
        tracer = tracer_type()
        tracer.record_stack_traces = True
        tracer.proxy_buffer_attributes = proxy_buffers
        try:
            graph = tracer.trace(module, concrete_args=dict(concrete) if concrete else None)
        finally:
            written = [b for n, b in module.named_buffers() if not torch.equal(b, kept[n])]
            with torch.no_grad():
                for n, b in module.named_buffers():
                    b.copy_(kept[n])
        if not written:
            break
    return graph


_DEVICE_QUERIES: dict[str, Callable[[Any], Any]] = {
    "is_cuda": lambda torch: False,
    "is_cpu": lambda torch: True,
    "is_mps": lambda torch: False,
    "is_xpu": lambda torch: False,
    "is_meta": lambda torch: False,
    "is_sparse": lambda torch: False,
    "is_quantized": lambda torch: False,
    "is_nested": lambda torch: False,
}
"""Tensor attributes that are constants on JAX's one device: ``if x.is_cuda and self.ngpu > 1``
(the DCGAN tutorial) reads ``False``. (``x.device`` stays a node: the op table writes
``device=x.device`` arguments as JAX's business.)"""


@functools.cache
def _tensor_proxy() -> type:
    """fx's ``Proxy`` as a tensor: ``isinstance(x, torch.Tensor)`` is true of it (torchvision's
    DenseNet tests its input so), the device queries are this device's constants, and ``len()``
    of an input is the example's."""
    torch = import_torch()

    class TensorProxy(torch.fx.Proxy):  # type: ignore[name-defined]
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            # isinstance() consults __class__ after type(). torch's C++ argument parser does too,
            # and would read a proxy as a tensor's memory: only a Python isinstance() on the
            # calling line, outside torch, sees a tensor (nn.Module.__setattr__'s
            # isinstance(value, Parameter) would read the proxy's _is_param, a proxy, as a bool).
            frame = sys._getframe(1)
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
            user = not os.path.abspath(frame.f_code.co_filename).startswith(_library_dirs()[0])
            tensor = user and "isinstance(" in line and not self.__dict__.get("_fg_not_tensor")
            return torch.Tensor if tensor else type(self)

        def __getattr__(self, k: str) -> Any:
            query = _DEVICE_QUERIES.get(k)
            return query(torch) if query is not None else super().__getattr__(k)

        def __len__(self) -> int:
            # an input's length is the example's (the converter's tracer knows it); fx's own
            # error for anything else
            length = getattr(self.tracer, "length", None)
            n = length(self) if length is not None else None
            return super().__len__() if n is None else n

    return TensorProxy


def _lookup(op: str, target: Any) -> Any:
    """The op table's template for an fx node, or the random ops' (drawn from the key)."""
    return ops.lookup(op, target) or random_ops.lookup(op, target)


def _drop_specialised(graph: Any) -> None:
    """Remove fx's placeholders of the ``concrete_args`` and their guards (``x == v``/``_assert``,
    ``_assert_is_none``): the values are constants in the graph, and the generated ``forward``
    checks them itself."""
    for p in _concrete_nodes(graph):
        for user in list(p.users):
            for guard in list(user.users):
                graph.erase_node(guard)
            graph.erase_node(user)
        graph.erase_node(p)


def _concrete_nodes(graph: Any) -> list[Any]:
    """The placeholders fx made for concrete arguments: those with a guard as their only users."""
    found = []
    for n in graph.nodes:
        if n.op != "placeholder" or not n.users:
            continue
        guarded = all(
            getattr(u.target, "__name__", "") in ("eq", "_assert_is_none") for u in n.users
        )
        if guarded and all(
            getattr(g.target, "__name__", "") == "_assert"
            for u in n.users
            if getattr(u.target, "__name__", "") == "eq"
            for g in u.users
        ):
            found.append(n)
    return found


def _refused_function(tb: types.TracebackType | None) -> str | None:
    """The outermost function of ``ops.REFUSED`` that the failed trace was inside, if any."""
    while tb is not None:
        frame = tb.tb_frame
        name = f"{frame.f_globals.get('__name__', '')}.{frame.f_code.co_name}"
        if name in ops.REFUSED:
            return name
        tb = tb.tb_next
    return None


_FAIL = object()


def _merge(a: Any, b: Any) -> Any:
    """``a`` (from the train graph) with the ``True``-vs-``False`` places of ``b`` (eval) as
    ``TRAIN``; ``_FAIL`` where they differ otherwise."""
    torch = import_torch()
    if isinstance(a, torch.fx.Node) or isinstance(b, torch.fx.Node):
        same = isinstance(a, torch.fx.Node) and isinstance(b, torch.fx.Node) and a.name == b.name
        return a if same else _FAIL
    if a is True and b is False:
        return ops.TRAIN
    if type(a) is not type(b):
        return _FAIL
    if isinstance(a, (tuple, list)):
        if len(a) != len(b):
            return _FAIL
        items = [_merge(x, y) for x, y in zip(a, b, strict=True)]
        return _FAIL if any(i is _FAIL for i in items) else type(a)(items)
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return _FAIL
        merged = {k: _merge(a[k], b[k]) for k in a}
        return _FAIL if any(v is _FAIL for v in merged.values()) else merged
    if isinstance(a, slice):
        parts = _merge((a.start, a.stop, a.step), (b.start, b.stop, b.step))
        return _FAIL if parts is _FAIL else slice(*parts)
    try:
        return a if bool(a == b) else _FAIL
    except Exception:
        return _FAIL


def _merge_graphs(train: Any, eval_: Any) -> dict[Any, tuple[Any, Any]] | None:
    """Per node of ``train``, its merged ``(args, kwargs)``; ``None`` if the graphs differ in
    more than ``self.training``'s value."""
    a_nodes, b_nodes = list(train.nodes), list(eval_.nodes)
    if len(a_nodes) != len(b_nodes):
        return None
    merged = {}
    for a, b in zip(a_nodes, b_nodes, strict=True):
        if (a.op, a.name) != (b.op, b.name) or a.target != b.target:
            return None
        args, kwargs = _merge(a.args, b.args), _merge(a.kwargs, b.kwargs)
        if args is _FAIL or kwargs is _FAIL:
            return None
        merged[a] = (args, kwargs)
    return merged


# -- writing --------------------------------------------------------------------------------------


@dataclass
class _Variant:
    name: str
    defaults: dict[str, str]


class _Writer:
    """Walks the torch model and collects one class per torch class (and structure)."""

    def __init__(self, root: Any, example_input: Any, kwargs: dict[str, Any]) -> None:
        self.root = root
        self.example_input = example_input
        self.kwargs = kwargs
        self.classes: list[tuple[ClassSource, str]] = []
        self.variants: dict[Any, _Variant] = {}
        self.names: set[str] = set()
        self.inputs: dict[int, tuple[Any, Any]] | None = None  # per module, its first call's inputs
        self.traced: dict[int, Traced] = {}  # per custom module, what verification replays
        self.outputs: Any = None  # torch's eval outputs on the example, from _captured's run
        self.branches: dict[str, Any] = {}  # the root's Python arguments with a branch each

    def source(self) -> str:
        root = self.root
        model = self.module_code(root, "", None, type(root).__name__)
        try:
            origin = os.path.basename(inspect.getsourcefile(type(root)) or "")
        except (TypeError, OSError):  # a class defined in a notebook or a REPL has no file
            origin = ""
        origin = f"{type(root).__qualname__} in {origin}" if origin else type(root).__qualname__
        return module_source(type(root).__name__, origin, self.classes, model)

    # A module as a constructor expression.
    def module_code(self, m: Any, path: str, call_node: Any, parent: str) -> str:
        torch = import_torch()
        code = leaf_code(m)
        if code is not None:
            self._check_leaf(code, m, path, call_node, parent)
            return code
        containers = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
        # a subclass with a forward of its own (torchvision's _DenseBlock) is a custom module
        plain = type(m).forward in (torch.nn.Sequential.forward, torch.nn.Module.forward)
        if isinstance(m, containers) and plain:
            items = [
                (name, self.module_code(c, _join(path, name), call_node, parent))
                for name, c in m.named_children()
            ]
            if [n for n, _ in items] == [str(i) for i in range(len(items))]:
                return f"fg.nn.Sequential({', '.join(c for _, c in items)})"
            inner = ", ".join(f"{n!r}: {c}" for n, c in items)
            return f"fg.nn.Sequential({{{inner}}})"
        if type(m).__module__.startswith("torch."):
            name = type(m).__name__
            raise _error(
                f"torch.nn.{name}" if hasattr(torch.nn, name) else f"{type(m).__module__}.{name}",
                f"funcgrad has no {name} layer; replace it with layers funcgrad has "
                "(Linear, Conv2d, BatchNorm2d, LayerNorm, Embedding, ...) or write that part "
                "in funcgrad by hand",
                op=name,
                path=path,
                cls=parent,
                line=_node_line(call_node),
            )
        return self.custom(m, path)

    def _check_leaf(self, code: str, m: Any, path: str, call_node: Any, parent: str) -> None:
        try:
            eval(code, {"fg": types.SimpleNamespace(nn=fgnn)})  # leaf code reads fg.nn.<Layer>(...)
        except Exception as e:
            raise _error(
                f"torch.nn.{type(m).__name__}",
                f"funcgrad's {type(m).__name__} does not take these settings ({e})",
                op=type(m).__name__,
                path=path,
                cls=parent,
                line=_node_line(call_node),
            ) from None

    # A user's module: traced, written as a class, and constructed.
    def custom(self, m: Any, path: str) -> str:
        torch = import_torch()
        cls = type(m).__name__
        note = []
        concrete = self._concrete(m)
        example = self._example(m)
        try:
            traces = tuple(_trace(m, mode, path, concrete, example) for mode in (True, False))
        except ConversionError as e:
            if e.op in ops.REFUSED:  # refused by name: torch.export would not make it convertible
                raise
            (train_graph, constants), (eval_graph, eval_constants), shapes = self.exported(m, e)
            traces = ((train_graph, constants, []), (eval_graph, eval_constants, []))
            note = [f"# traced by torch.export: specialised to the example's shapes, {shapes}"]
            # export specialises every Python argument: each is a keyword, as fx's concrete ones
            concrete = _python_arguments(m, self._captured()[id(m)], (train_graph, eval_graph))
        (train_graph, constants, _), (eval_graph, eval_constants, _) = traces
        calls = [n for n in train_graph.nodes if n.op == "call_module"]

        fields = []
        renamed = []
        for name, child in m.named_children():
            field_name = name
            if not name.isidentifier() or keyword.iskeyword(name):
                # torchvision's IntermediateLayerGetter holds children "0", "1", ...: a field
                # m_0 stands for the child "0" (params and call paths keep torch's name)
                field_name = f"m_{name}".replace(".", "_")
                renamed.append((field_name, name))
            if name in _BASE_ATTRS or not field_name.isidentifier():
                raise _error(
                    f"the child {name!r} of {cls}",
                    "rename it: the converted class needs it as an attribute name",
                    op=cls,
                    path=_join(path, name),
                    cls=cls,
                    line="",
                )
            node = next(
                (n for n in calls if n.target == name or n.target.startswith(name + ".")), None
            )
            code = self.module_code(child, _join(path, name), node, cls)
            comment = ""
            if isinstance(child, (torch.nn.ModuleList, torch.nn.ModuleDict)):
                comment = f"torch's {type(child).__name__}: forward calls its children by path"
            fields.append((field_name, code, comment))

        own_params = tuple((n, tuple(p.shape)) for n, p in m.named_parameters(recurse=False))
        tied = _tied(m) if m is self.root else ()
        scratch = compat.non_persistent_buffers(m)
        persistent = [(n, b) for n, b in m.named_buffers(recurse=False) if n not in scratch]
        own_buffers = tuple(
            (n, tuple(b.shape), None if b.is_floating_point() else "int") for n, b in persistent
        )

        signature, body, train_names, eval_names = self._modes_body(m, traces, path)
        branches = self._branches(m, path, concrete, example, body) if not note else {}
        keywords = tuple(
            (k, repr(branches[k][0] if k in branches else v))
            for k, v in concrete.items()
            if _literal(v)
        )
        guarded = tuple((k, v) for k, v in keywords if k not in branches)
        body = [*note, *_guards(cls, guarded), *_dispatch(cls, concrete, branches, body)]

        key = (
            type(m),
            tuple(n for n, _, _ in fields),
            tuple(body),
            signature,
            own_params,
            own_buffers,
            tied,
            keywords,
            tuple(renamed),
        )
        variant = self.variants.get(key)
        if variant is None:
            name = self._class_name(cls)
            variant = self.variants[key] = _Variant(name, {n: c for n, c, _ in fields})
            src = ClassSource(
                name,
                tuple(fields),
                own_params,
                own_buffers,
                signature,
                tuple(body),
                tied,
                keywords,
                tuple(renamed),
            )
            self.classes.append((src, f"torch's {type(m).__qualname__}, converted."))
        self.traced[id(m)] = Traced(
            m,
            path,
            variant.name,
            {True: train_graph, False: eval_graph},
            {True: constants, False: eval_constants},
            {True: train_names, False: eval_names},
            [str(n.target) for n in train_graph.nodes if n.op == "placeholder"],
            tuple(concrete),
        )
        changed = [f"{n}={c}" for n, c, _ in fields if variant.defaults[n] != c]
        return f"{variant.name}({', '.join(changed)})"

    def _modes_body(
        self,
        m: Any,
        traces: tuple[tuple[Any, dict[str, Any], list[Specialised]], ...],
        path: str,
    ) -> tuple[str, list[str], dict[str, str], dict[str, str]]:
        """``forward``'s input and lines from the train and eval traces (one body where they
        differ only in ``self.training``'s value, else both under ``if train:``), and each
        mode's variable per node. The body starts with what the traces specialised to the
        example's shapes: a comment and a check each."""
        (train_graph, constants, train_notes), (eval_graph, eval_constants, eval_notes) = traces
        specialised = list(dict.fromkeys(train_notes + eval_notes))
        merged = _merge_graphs(train_graph, eval_graph)
        if merged is not None:
            signature, body, train_names = self.body(m, train_graph, constants, merged, path)
            checks = _length_checks(type(m).__name__, specialised, train_names)
            return signature, [*checks, *body], train_names, train_names  # the same nodes
        signature, train_body, train_names = self.body(m, train_graph, constants, None, path)
        _, eval_body, eval_names = self.body(m, eval_graph, eval_constants, None, path)
        checks = _length_checks(type(m).__name__, specialised, train_names)
        body = [*checks, "if train:", *[f"    {line}" for line in train_body], *eval_body]
        return signature, body, train_names, eval_names

    def _branches(
        self,
        m: Any,
        path: str,
        concrete: dict[str, Any],
        example: dict[str, Any],
        body: list[str],
    ) -> dict[str, tuple[Any, list[str]]]:
        """The root's Python arguments that change its graph: per argument given a value other
        than its default (``kwargs={"has_mask": False}``), the default and ``forward``'s lines
        traced with it. One the graph does not depend on is left out; so is a value fx cannot
        trace (that value stays refused by the guard)."""
        if m is not self.root:  # a child gets the value its parent's code passes: one value
            return {}
        found = {}
        for name, default in _defaults(m).items():
            if name not in concrete or not _literal(default) or concrete[name] == default:
                continue
            other = {**concrete, name: default}
            try:
                traces = tuple(_trace(m, mode, path, other, example) for mode in (True, False))
            except ConversionError:
                continue
            _, other_body, _, _ = self._modes_body(m, traces, path)
            if other_body != body:
                found[name] = (default, other_body)
                self.branches[name] = default
        return found

    # The fallback: torch.export on the input that reached m when the root ran on the example.
    def exported(
        self, m: Any, fx_error: ConversionError
    ) -> tuple[tuple[Any, dict[str, Any]], tuple[Any, dict[str, Any]], str]:
        """``m``'s train and eval graphs from ``torch.export``, and its input shapes; ``fx_error``
        (torch.fx's) where export cannot follow ``forward`` either (control flow on values)."""
        if self.example_input is None:
            raise ConversionError(
                f"{fx_error} (if it depends only on shapes, pass an example input, "
                "convert(model, example_input), and torch.export follows it)",
                op=fx_error.op,
                path=fx_error.path,
                line=fx_error.line,
            ) from None
        got = self._captured().get(id(m))
        if got is None:  # m did not run on the example
            raise fx_error
        args, kwargs = got
        graphs = []
        children: dict[str, tuple[Any, Any]] = {}
        try:
            for training in (True, False):
                _set_mode(m, training)
                preserve = self._called_children(m)
                graphs.append(
                    export_graph(m, args, kwargs, preserve, None if training else children)
                )
        except Exception:
            raise fx_error from None
        for child_path, got in children.items():  # each child converts for what it gets here
            self.inputs[id(m.get_submodule(child_path))] = got  # type: ignore[index]
        torch = import_torch()
        shapes = [tuple(a.shape) for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        return graphs[0], graphs[1], ", ".join(map(str, shapes))

    def _captured(self) -> dict[int, tuple[Any, Any]]:
        """What each module was called with when the root ran once on the example (eval mode,
        no gradients: nothing of the user's changes)."""
        if self.inputs is not None:
            return self.inputs
        torch = import_torch()
        inputs: dict[int, tuple[Any, Any]] = {}

        def hook(module: Any, args: Any, kwargs: Any) -> None:
            inputs.setdefault(id(module), (args, kwargs))

        handles = [m.register_forward_pre_hook(hook, with_kwargs=True) for m in self.root.modules()]
        x = self.example_input
        try:
            _set_mode(self.root, False)
            # the trace starts from the user's model: what forward assigns to self is undone
            with torch.no_grad(), attributes_restored(*self.root.modules()):
                self.outputs = self.root(*(x if isinstance(x, tuple) else (x,)), **self.kwargs)
        except AssertionError as e:  # the model's own check refuses the example: say so now
            raise _failed_assert(e, self.root) from None
        except Exception:
            inputs = {}
        finally:
            for h in handles:
                h.remove()
        self.inputs = inputs
        return inputs

    def _called_children(self, m: Any) -> tuple[str, ...]:
        """The paths below ``m`` whose modules were called, outermost only: export keeps each one
        as one call (``fc1``, ``blocks.0``) instead of inlining its ops."""
        called = self._captured()
        paths: list[str] = []

        def walk(module: Any, prefix: str) -> None:
            for name, child in module.named_children():
                path = _join(prefix, name)
                if id(child) in called:
                    paths.append(path)
                else:
                    walk(child, path)

        walk(m, "")
        return tuple(paths)

    def root_inputs(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The example as the converted root takes it: its tensor inputs in ``forward``'s order,
        and its Python arguments (specialised at trace time) as keywords."""
        x = self.example_input
        args = x if isinstance(x, tuple) else (x,)
        traced = self.traced.get(id(self.root))
        if traced is None:
            return args, dict(self.kwargs)
        bound = _bind(self.root, args, self.kwargs)
        if bound is None:
            return args, dict(self.kwargs)
        flat = _with_leaves(bound)
        tensors = tuple(flat[n] for n in traced.placeholders if n in flat)
        python = {k: bound[k] for k in traced.concrete if k in bound}
        return tensors, python

    def _concrete(self, m: Any) -> dict[str, Any]:
        """The arguments of ``m.forward`` that are Python values (``has_mask=True``, an omitted
        ``targets=None``), as the example called it, or its defaults: fx's ``concrete_args``."""
        torch = import_torch()
        try:
            signature = inspect.signature(m.forward)
        except (TypeError, ValueError):
            return {}
        got = self._captured().get(id(m)) if self.example_input is not None else None
        bound = _bind(m, *got) if got is not None else None
        # a None passed positionally stays an input (the model takes (x, None), as before)
        positional = list(signature.parameters)[: len(got[0])] if got is not None else []
        concrete: dict[str, Any] = {}
        for p in signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if bound is not None and p.name in bound:
                value = bound[p.name]
                if value is None and p.name in positional:
                    continue
            elif p.default is not p.empty:
                value = p.default
            else:
                continue
            if not any(isinstance(v, torch.Tensor) for _, v in leaves(value)) and _literal(value):
                concrete[p.name] = value
        return concrete

    def _example(self, m: Any) -> dict[str, Any]:
        """What ``m.forward`` got when the root ran on the example, by argument name."""
        got = self._captured().get(id(m)) if self.example_input is not None else None
        bound = _bind(m, *got) if got is not None else None
        return bound or {}

    def _child_inputs(
        self, child: Any, args: Any, kwargs: Any, name_of: Callable[[Any], str]
    ) -> tuple[list[str] | None, list[tuple[str, str]]]:
        """A custom child's call: its traced inputs positionally, its Python arguments (which it
        was specialised to) as keywords; ``None`` where they cannot be told apart."""
        rendered = [str(ops.render(a, name_of)) for a in args]
        if not kwargs and not getattr(self.traced.get(id(child)), "concrete", ()):
            return rendered, []
        traced = self.traced.get(id(child))
        bound = _bind(child, args, kwargs)
        if bound is None or traced is None:
            return None, []
        flat = _with_leaves(bound)
        inputs = [str(ops.render(flat[n], name_of)) for n in traced.placeholders if n in flat]
        options = [(k, str(ops.render(bound[k], name_of))) for k in traced.concrete if k in bound]
        return inputs, options

    def _class_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.names or name in _RESERVED or name.startswith("_"):
            n += 1
            name = f"{base.lstrip('_') or 'Module'}{n}"
        self.names.add(name)
        return name

    # The lines of forward.
    def body(
        self,
        m: Any,
        graph: Any,
        constants: dict[str, Any],
        merged: dict[Any, tuple[Any, Any]] | None,
        path: str,
    ) -> tuple[str, list[str], dict[str, str]]:
        """``forward``'s input, its lines, and the variable of each node (by node name)."""
        torch = import_torch()
        cls = type(m).__name__
        names: dict[Any, str] = {}
        used = set(_RESERVED)
        placeholders: list[str] = []
        lines: list[str] = []

        def fresh(name: str) -> str:
            while name in used:
                name += "_"
            used.add(name)
            return name

        def var(node: Any) -> str:
            names[node] = name = fresh(node.name)
            return name

        def name_of(node: Any) -> str:
            return names[node]

        def fail(node: Any, what: str, fix: str) -> ConversionError:
            return _error(what, fix, op=what, path=path, cls=cls, line=_node_line(node))

        buffer_of: dict[Any, str] = {}  # get_attr nodes of buffers: their dotted names
        probabilities = _dropout_probabilities(m)
        rewritten: dict[str, str] = {}  # buffers written in place: the variable of the new value

        for node in graph.nodes:
            args, kwargs = merged[node] if merged is not None else (node.args, node.kwargs)
            if node.op == "placeholder":
                placeholders.append(var(node))
            elif node.op == "get_attr":
                if str(node.target) in rewritten:  # a buffer written earlier in this forward
                    names[node] = rewritten[str(node.target)]
                    continue
                code = self._attribute(m, node, constants, fail)
                if code.startswith("buffers["):
                    buffer_of[node] = str(node.target)
                lines.append(f"{var(node)} = {code}")
            elif node.op == "call_module":
                rendered = [ops.render(a, name_of) for a in args]
                if leaf_code(m.get_submodule(str(node.target))) is not None:
                    # a funcgrad layer takes torch's inputs and keyword flags as torch's forward
                    parts = [
                        *rendered,
                        *(f"{k}={ops.render(v, name_of)}" for k, v in kwargs.items()),
                    ]
                    lines.append(f'{var(node)} = call("{node.target}", {", ".join(parts)})')
                    continue
                child = m.get_submodule(str(node.target))
                inputs, options = self._child_inputs(child, args, kwargs, name_of)
                if inputs is None:
                    raise fail(
                        node,
                        f"a keyword argument to self.{node.target}(...)",
                        "pass the child's inputs positionally",
                    )
                arg = inputs[0] if len(inputs) == 1 else f"({', '.join(inputs)})"
                extra = "".join(f", {k}={v}" for k, v in options)
                lines.append(f'{var(node)} = call("{node.target}", {arg}{extra})')
            elif node.op in ("call_function", "call_method"):
                if probabilities and re.search("dropout|attention", _op_name(node)):
                    args, kwargs = _read_off_children((args, kwargs), probabilities)
                write = write_of(node.op, node.target, args, kwargs)
                template: ops.Template | None
                if write is not None:
                    template = write.template
                elif node.op == "call_function" and hasattr(node.target, "overloadpacket"):
                    template = export_template(node.target)  # an ATen op, from torch.export
                else:
                    template = _lookup(node.op, node.target)
                op = _op_name(node)
                if template is None:
                    raise fail(
                        node,
                        op,
                        "funcgrad's converter has no rule for this op; rewrite it with ops it "
                        "knows (see docs/convert.md) or write this module in funcgrad by hand",
                    )
                try:
                    code = ops.bind(
                        template,
                        ops.Context(node.name, name_of),
                        tuple(ops.render(a, name_of) for a in args),
                        {k: ops.render(v, name_of) for k, v in kwargs.items()},
                    )
                except (TypeError, NotImplementedError) as e:
                    raise fail(node, op, f"not converted with these arguments ({e})") from None
                if write is not None:
                    lines += self._write_back(
                        node, write, code, var, fresh, names, buffer_of, rewritten
                    )
                elif code in names.values():  # an alias (x.contiguous()): no line of its own
                    names[node] = code
                else:
                    lines.append(f"{var(node)} = {code}")
            elif node.op == "output":
                lines.append(f"return {_render_output(args[0], name_of)}, call.buffers")
        del torch
        by_name = {n.name: v for n, v in names.items()}
        if len(placeholders) == 1:
            return placeholders[0], lines, by_name
        unpack = f"{', '.join(placeholders)}{',' if len(placeholders) == 1 else ''} = inputs"
        return "inputs", [unpack, *lines] if placeholders else lines, by_name

    @staticmethod
    def _write_back(
        node: Any,
        write: Write,
        code: str,
        var: Callable[[Any], str],
        fresh: Callable[[str], str],
        names: dict[Any, str],
        buffer_of: dict[Any, str],
        rewritten: dict[str, str],
    ) -> list[str]:
        """The lines of an in-place op: its out-of-place value, read from then on wherever
        torch's code reads the written tensor, and a written buffer's new value in
        ``call.buffers``."""
        out = var(node)
        if write.returns_all:
            new = [fresh(f"new_{names[target]}") for target in write.written]
            lines = [f"{out}, {', '.join(new)} = {code}"]
        else:
            new, lines = [out], [f"{out} = {code}"]
        for target, value in zip(write.written, new, strict=True):
            names[target] = value
            if target in buffer_of:
                rewritten[buffer_of[target]] = value
                lines.append(f'call.set_buffer("{buffer_of[target]}", {value})')
        return lines

    def _attribute(
        self,
        m: Any,
        node: Any,
        constants: dict[str, Any],
        fail: Callable[[Any, str, str], ConversionError],
    ) -> str:
        """``params["w"]`` / ``buffers["fc"]["b"]`` for fx's get_attr, or a constant's literal."""
        torch = import_torch()
        target = node.target
        parts = target.split(".")
        index = "".join(f'["{p}"]' for p in parts)
        owner = m.get_submodule(".".join(parts[:-1])) if len(parts) > 1 else m
        leaf = parts[-1]
        if leaf in dict(owner.named_parameters(recurse=False)):
            return f"params{index}"
        if leaf in dict(owner.named_buffers(recurse=False)) and (
            leaf not in compat.non_persistent_buffers(owner)
        ):
            return f"buffers{index}"
        value = constants.get(target, getattr(owner, leaf, None))
        if isinstance(value, torch.Tensor) and value.numel() <= _MAX_CONSTANT:
            dtype = ops.render(value.dtype, str)
            items = repr(value.tolist())
            if not bool(value.isfinite().all()):  # inf and nan as Python writes them
                items = re.sub(r"\b(-?)(inf|nan)\b", r'\1float("\2")', items)
            return f"jnp.asarray({items}, dtype={dtype})"
        raise fail(
            node,
            f"the tensor attribute {target}",
            "it is neither a parameter nor a buffer; register it with register_buffer so that "
            "it travels with the state_dict",
        )


def _render_output(value: Any, name_of: Callable[[Any], str]) -> str:
    """``forward``'s result as source, whatever its pytree shape: tuples, lists, dicts (an
    ``OrderedDict`` or Hugging Face's ``ModelOutput`` becomes a dict of its fields), ``None``."""
    if isinstance(value, Mapping):
        items = ", ".join(f"{k!r}: {_render_output(v, name_of)}" for k, v in value.items())
        return f"{{{items}}}"
    if isinstance(value, list):
        return f"[{', '.join(_render_output(v, name_of) for v in value)}]"
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        inner = ", ".join(_render_output(v, name_of) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return str(ops.render(value, name_of))


def _tied(m: Any) -> tuple[tuple[str, str], ...]:
    """``(alias, name)`` for each parameter torch shares under a second name (nanoGPT's
    ``lm_head.weight``, which *is* ``transformer.wte.weight``); the first name keeps it."""
    first: dict[int, str] = {}
    tied = []
    for name, p in m.named_parameters(remove_duplicate=False):
        if id(p) in first:
            tied.append((name, first[id(p)]))
        else:
            first[id(p)] = name
    return tuple(tied)


def _dropout_probabilities(m: Any) -> dict[float, str]:
    """``self.<child>.p`` of ``m``'s dropout children, by value: a dropout probability a graph
    holds as a constant is read from there (torch's code read it so)."""
    found: dict[float, str] = {}
    for name, child in m.named_children():
        p = getattr(child, "p", None)
        if not (type(child).__name__.endswith("Dropout") and isinstance(p, float) and 0 < p < 1):
            continue
        if name.isidentifier() and not keyword.iskeyword(name):
            found.setdefault(p, f"self.{name}.p")
    return found


def _read_off_children(value: Any, probabilities: dict[float, str]) -> Any:
    """``value`` (a node's arguments) with each float that is a dropout child's probability as
    an :class:`~funcgrad.interop._templates.Attribute` of that child."""
    if isinstance(value, float) and value in probabilities:
        return ops.Attribute(value, probabilities[value])
    if isinstance(value, (tuple, list)):
        return type(value)(_read_off_children(v, probabilities) for v in value)
    if isinstance(value, dict):
        return {k: _read_off_children(v, probabilities) for k, v in value.items()}
    return value


def _python_arguments(m: Any, call: tuple[Any, Any], graphs: tuple[Any, ...]) -> dict[str, Any]:
    """The arguments of ``m``'s call that are Python values (``None``, ``use_cache=False``),
    which torch.export specialised: their unused placeholders are dropped from ``graphs``."""
    torch = import_torch()
    bound = _bind(m, *call) or {}
    python = {
        k: v
        for k, v in bound.items()
        if not any(isinstance(x, torch.Tensor) for _, x in leaves(v)) and _literal(v)
    }
    for graph in graphs:
        for node in list(graph.nodes):
            if node.op == "placeholder" and str(node.target) in python and not node.users:
                graph.erase_node(node)
    return python


def _with_leaves(bound: dict[str, Any]) -> dict[str, Any]:
    """``bound`` and, for each tuple, list or dict argument, its items under torch.export's
    placeholder names (``position_embeddings=(cos, sin)`` is ``position_embeddings_0`` and
    ``position_embeddings_1``)."""
    flat = dict(bound)
    for name, value in bound.items():
        if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
            items = {f"{name}_{i}": v for i, v in enumerate(value)}
        elif isinstance(value, dict):
            items = {f"{name}_{k}": v for k, v in value.items()}
        else:
            continue
        flat.update(_with_leaves(items))
    return flat


def _bind(m: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """``forward``'s arguments by name; those a ``**kwargs`` took are named on their own (Hugging
    Face passes ``position_ids`` so), as fx's and export's placeholders are."""
    try:
        signature = inspect.signature(m.forward)
        bound = dict(signature.bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return None
    for p in signature.parameters.values():
        if p.kind is p.VAR_KEYWORD and p.name in bound:
            bound.update(bound.pop(p.name))
    return bound


def _literal(value: Any) -> bool:
    """Whether ``value`` is written as source by its ``repr`` (a bool, number, string, None, or
    a tuple of them)."""
    try:
        return bool(ast.literal_eval(repr(value)) == value) or value is None
    except (ValueError, SyntaxError, TypeError):
        return False


def _defaults(m: Any) -> dict[str, Any]:
    """``m.forward``'s arguments that have defaults, and the defaults."""
    try:
        parameters = inspect.signature(m.forward).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not p.empty}


def _test(name: str, value: Any) -> str:
    """Python's test that the argument ``name`` is ``value``."""
    if value is True:
        return name
    if value is False:
        return f"not {name}"
    if value is None:
        return f"{name} is None"
    return f"{name} == {value!r}"


def _dispatch(
    cls: str,
    concrete: dict[str, Any],
    branches: dict[str, tuple[Any, list[str]]],
    body: list[str],
) -> list[str]:
    """``body`` alone, or with one branch per value seen of each argument that changes the graph
    (the example's, then each default's), and a refusal of any other value."""
    if not branches:
        return body
    lines = []
    seen = {name: (concrete[name], default) for name, (default, _) in branches.items()}
    example = " and ".join(_test(n, concrete[n]) for n in branches)
    lines += [f"if {example}:", *(f"    {line}" for line in body)]
    for name, (default, other) in branches.items():
        # traced with this one argument at its default, the others as in the example
        test = " and ".join(_test(n, default if n == name else concrete[n]) for n in branches)
        lines += [f"if {test}:", *(f"    {line}" for line in other)]
    values = ", ".join(f"{n} in ({a!r}, {b!r})" for n, (a, b) in seen.items())
    message = f"{cls}: converted for {values}; convert again with kwargs={{...}} for another value"
    return [*lines, f"raise ValueError({message!r})"]


class Specialised(NamedTuple):
    """A ``len()`` of an input of ``forward`` that the trace answered with the example's."""

    arg: str  # the argument of forward
    length: int  # the example's len()
    where: str  # the user's line that asked, "file.py:83" (empty where not found)


def _length_checks(cls: str, found: list[Specialised], names: dict[str, str]) -> list[str]:
    """A comment and a check per ``len()`` the trace specialised: another length is refused by
    name, not left to fail as a shape mismatch somewhere downstream."""
    lines = []
    for arg, length, where in found:
        note = f"# specialised to the example's shapes: len({arg}) is {length}"
        message = (
            f"{cls}: converted for len({arg}) == {length}, the example's; convert again with an "
            "example of the length you pass"
        )
        variable = names.get(arg, arg)
        lines += [
            f"{note} ({where})" if where else note,
            f"if {variable}.shape[0] != {length}:",
            f"    raise ValueError({message!r})",
        ]
    return lines


def _guards(cls: str, keywords: tuple[tuple[str, str], ...]) -> list[str]:
    """The lines that refuse a Python argument other than the one ``forward`` was specialised to."""
    lines = []
    for name, value in keywords:
        test = f"{name} is not None" if value == "None" else f"{name} != {value}"
        message = (
            f"{cls}: converted with {name}={value}; convert again with "
            f"kwargs={{{name!r}: ...}} for another value"
        )
        lines += [f"if {test}:", f"    raise ValueError({message!r})"]
    return lines


def _set_mode(m: Any, training: bool) -> None:
    """torch's ``m.train(training)``, without calling a ``train`` method the model may define as
    something else (the forward-forward example's ``train(self, x_pos, x_neg)``)."""
    for module in m.modules():
        module.training = training


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
