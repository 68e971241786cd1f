"""The converter's fallback for a ``forward`` that ``torch.fx`` cannot follow: ``torch.export``.

Symbolic tracing stops at Python control flow on shapes (``if x.dim() == 4:``,
``for i in range(x.size(1)):``, ``len(x)``); ``torch.export`` runs ``forward`` on the example
input's shapes and records what happened. Exported with every child's call signature preserved and
unflattened, each child comes back as one ``call_module`` node (``call("fc1", x)`` in the generated
code), and the glue between them is ATen ops, mapped here to the same templates as ``torch.fx``'s
nodes (``aten.relu`` is ``torch.relu``, ``aten.view`` is ``Tensor.view``). The graph is then
specialised: shapes are the example's.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from funcgrad.interop import _fx_ops as ops
from funcgrad.interop import _torch_compat as compat
from funcgrad.interop._torch import import_torch

__all__ = ["export_graph", "op_name", "template"]

_END = 2**63 - 1  # aten.slice's end for `x[1:]`
# ATen's copies and asserts that are no operation in JAX: their input stands for them.
_ALIASES = {"lift_fresh_copy", "detach_", "alias", "clone", "contiguous", "_assert_tensor_metadata"}
# ... and the shape checks export has already made on the example (`assert x.shape[1] == 4`)
_ALIASES |= {"_assert_scalar"}


def export_graph(
    module: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    preserve: Any,
    child_inputs: dict[str, tuple[Any, Any]] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """``module.forward``'s graph from ``torch.export`` on ``args``/``kwargs``, and the tensor
    constants its ``get_attr`` nodes read: the children named in ``preserve`` are ``call_module``
    nodes, the rest ATen ops; pytree glue and ATen's no-op copies are folded away, and list
    arguments are tuples (as ``jax.numpy`` wants axes).

    ``child_inputs``, where given, receives what each preserved child is called with when the
    exported graph runs on the example: not always what eager ``forward`` passed (Hugging Face
    skips an attention mask in eager mode and builds it when traced)."""
    torch = import_torch()
    exported = torch.export.export(
        module, tuple(args), dict(kwargs), strict=False, preserve_module_call_signature=preserve
    )
    if any(_writes_in_place(n.target) for n in exported.graph.nodes if n.op == "call_function"):
        # x[:, 0] = 1, mask[h0:h1] = count, x.add_(1): torch.export's functional form of the same
        # graph writes new arrays instead (slice_scatter, select_scatter, add), as JAX does.
        exported = exported.run_decompositions({})
    flat = torch.export.unflatten(exported)
    if child_inputs is not None:
        _run_capturing(flat, args, kwargs, preserve, child_inputs)
    graph = flat.graph
    _fold_pytree_glue(flat, graph)
    output = next(n for n in graph.nodes if n.op == "output")
    # export returns a flat tuple; forward's own structure (one tensor, a tuple, ...) is its spec
    output.args = (compat.tree_unflatten(list(output.args[0]), exported.call_spec.out_spec),)
    for node in list(graph.nodes):
        if node.op == "call_function" and _aten_name(node.target) in _ALIASES:
            if node.args:
                node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
        elif node.op == "call_function":
            node.args = _tuples(node.args)
            node.kwargs = _tuples(node.kwargs)
    constants = {}
    for node in graph.nodes:
        if node.op == "get_attr":
            value = _get(flat, node.target)
            if isinstance(value, torch.Tensor):
                constants[node.target] = value
    return graph, constants


def _run_capturing(
    flat: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    paths: Any,
    inputs: dict[str, tuple[Any, Any]],
) -> None:
    """Run the unflattened export on the example, recording each preserved child's first call."""
    torch = import_torch()
    handles = []
    for path in paths:

        def hook(module: Any, a: Any, kw: Any, path: str = path) -> None:
            inputs.setdefault(path, (a, kw))

        child = flat.get_submodule(path)
        handles.append(child.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        with torch.no_grad():
            flat(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()


def _argument(value: Any) -> bool:
    """Whether fx can take ``value`` as an argument: nodes and Python constants, in tuples,
    lists and dicts."""
    torch = import_torch()
    if isinstance(value, (tuple, list)):
        return all(_argument(v) for v in value)
    if isinstance(value, dict):
        return all(_argument(v) for v in value.values())
    return value is None or isinstance(value, (bool, int, float, str, torch.fx.Node))


def _replace_with_constant(node: Any, value: Any) -> None:
    """Every use of ``node`` as the constant ``value``."""
    torch = import_torch()

    def swap(n: Any) -> Any:
        return value if n is node else n

    for user in list(node.users):
        user.args = torch.fx.node.map_arg(user.args, swap)
        user.kwargs = torch.fx.node.map_arg(user.kwargs, swap)


def _get(module: Any, target: str) -> Any:
    for part in target.split("."):
        module = getattr(module, part, None)
    return module


def _tuples(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class _LeafPaths:
    """A preserved child's output flattened by its pytree spec: leaf ``i`` is ``root`` indexed
    by ``paths[i]`` in turn."""

    root: Any
    paths: list[tuple[Any, ...]]


class _Leaf(int):
    """A numbered leaf, put into a spec to find where each leaf goes."""


def _leaf_paths(spec: Any) -> list[tuple[Any, ...]]:
    """The index path of each leaf of a pytree spec (tuples, lists and dicts: HF's
    ``ModelOutput`` is a dict), in the spec's leaf order."""
    tree = compat.tree_unflatten([_Leaf(i) for i in range(spec.num_leaves)], spec)
    paths: dict[int, tuple[Any, ...]] = {}

    def walk(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, _Leaf):
            paths[int(value)] = path
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, (*path, k))
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                walk(v, (*path, i))
        elif value is not None:
            raise NotImplementedError(f"a child's output of type {type(value).__name__}")

    walk(tree, ())
    return [paths[i] for i in range(spec.num_leaves)]


def _fold_pytree_glue(flat: Any, graph: Any) -> None:
    """Evaluate unflatten's ``tree_unflatten`` / ``tree_flatten_spec`` / ``getitem`` around each
    preserved call on the nodes themselves, so each child is called on the nodes it was given."""
    torch = import_torch()
    spec_type, flatten_spec = compat.tree_spec_type(), compat.tree_flatten_spec()
    values: dict[Any, Any] = {}
    for node in graph.nodes:
        if node.op == "get_attr" and spec_type and isinstance(_get(flat, node.target), spec_type):
            values[node] = _get(flat, node.target)
        elif node.op != "call_function":
            continue
        elif _is_tree_unflatten(node.target) and node.args[1] in values:
            leaves = [values.get(a, a) for a in node.args[0]]
            values[node] = compat.tree_unflatten(leaves, values[node.args[1]])
        elif node.target is flatten_spec and node.args[1] in values:
            spec, out = values[node.args[1]], values.get(node.args[0], node.args[0])
            # a child returning several values (a tuple, HF's ModelOutput): each leaf is an
            # index path into what it returned
            values[node] = [out] if spec.is_leaf() else _LeafPaths(out, _leaf_paths(spec))
        elif _name(node.target) == "getitem" and node.args[0] in values:
            got = values[node.args[0]]
            if isinstance(got, _LeafPaths):
                with graph.inserting_before(node):
                    value = got.root
                    for key in got.paths[node.args[1]]:
                        value = graph.call_function(operator.getitem, (value, key))
                values[node] = value
            else:
                values[node] = got[node.args[1]]
    for node in reversed(list(graph.nodes)):
        if node not in values:
            continue
        value = values[node]
        if isinstance(value, torch.fx.Node):
            node.replace_all_uses_with(value)
        elif _argument(value):
            # a Python argument of a preserved call (GPT-2's attention gets cache=None), or a
            # tuple of nodes (Llama's position_embeddings=(cos, sin))
            _replace_with_constant(node, value)
        if not node.users:
            graph.erase_node(node)


def _name(target: Any) -> str:
    return getattr(target, "__name__", "")


def _is_tree_unflatten(target: Any) -> bool:
    """torch's pytree ``tree_unflatten``, known by its name (its module is private)."""
    return _name(target) == "tree_unflatten" and "pytree" in getattr(target, "__module__", "")


def _writes_in_place(target: Any) -> bool:
    """ATen's in-place ops end in ``_`` (``add_``, ``fill_``, ``copy_``); those that are no
    operation in JAX aside."""
    name = _aten_name(target)
    return name.endswith("_") and not name.startswith("_") and name not in _ALIASES


def _aten_name(target: Any) -> str:
    packet = getattr(target, "overloadpacket", None)
    return getattr(packet, "__name__", "") if packet is not None else ""


def op_name(target: Any) -> str:
    """``aten.cumsum`` for ATen's ``cumsum.default``."""
    return f"aten.{_aten_name(target)}"


def template(target: Any) -> ops.Template | None:
    """The template for an ATen op: its own row below, else torch's function or Tensor method of
    the same name (ATen's signatures are torch's, with ``self`` for ``input``).

    Example:
        >>> import torch
        >>> aten = torch.ops.aten
        >>> template(aten.relu.default)(ops.Context("relu"), ops.Code("x"))
        'F.relu(x)'
        >>> x, one = ops.Code("x"), ops.Code("1", 1)
        >>> template(aten.slice.Tensor)(ops.Context("s"), x, one, one), template(aten.fft_fft.default)
        ('x[:, 1:]', None)
    """
    name = _aten_name(target)
    if not name:
        return None
    own = _ATEN.get(name)
    if own is not None:
        return own
    return ops.by_name(name)


def _slice(
    ctx: ops.Context,
    input: ops.Code,
    dim: Any = 0,
    start: Any = None,
    end: Any = None,
    step: Any = 1,
) -> str:
    return _at(input, dim, _range(start, end, step))


def _range(start: Any, end: Any, step: Any) -> str:
    """``a:b:c`` of ATen's ``slice`` arguments, each left out where it is the default."""
    lo = "" if not ops.given(start) or start.value in (None, 0) else str(start)
    hi = "" if not ops.given(end) or end.value in (None, _END) else str(end)
    st = f":{step}" if ops.given(step) and step.value != 1 else ""
    return f"{lo}:{hi}{st}"


def _select(ctx: ops.Context, input: ops.Code, dim: ops.Code, index: ops.Code) -> str:
    return _at(input, dim, str(index))


def _at(input: ops.Code, dim: Any, index: str) -> str:
    """``x[:, :, index]`` (``dim`` 2) or ``x[..., index, :]`` (``dim`` -2)."""
    d = dim.value if ops.given(dim) else 0
    parts = [":"] * d + [index] if d >= 0 else ["...", index] + [":"] * (-d - 1)
    return f"{ops.paren(input)}[{', '.join(parts)}]"


def _max_pool(
    ctx: ops.Context, input: ops.Code, kernel_size: ops.Code, stride: Any = (), *rest: Any
) -> str:
    if ops.given(stride) and not stride.value:
        stride = None  # ATen's empty stride is torch's default, the kernel size
    fx_row = ops.by_name("max_pool2d")
    assert fx_row is not None
    return fx_row(ctx, input, kernel_size, stride, *rest)


def _softmax(name: str) -> ops.Template:
    def t(ctx: ops.Context, input: ops.Code, dim: ops.Code, dtype: Any = None) -> str:
        if ops.given(dtype) and dtype.value is not None:
            input = ops.Code(f"{ops.paren(input)}.astype({dtype})")
        return f"F.{name}({input}, {dim})"

    return t


def _norm(name: str, second: str, flag: str) -> ops.Template:
    """ATen's ``layer_norm`` / ``group_norm``: torch's, with a cuDNN flag at the end."""
    affine = {"weight": None, "bias": None, "eps": 1e-5, flag: True}
    return ops.entry(f"F.{name}", ("input", second), affine, ignore=(flag,))


def _embedding(
    ctx: ops.Context,
    weight: ops.Code,
    indices: ops.Code,
    padding_idx: Any = -1,
    scale_grad_by_freq: Any = False,
    sparse: Any = False,
) -> str:
    return ops.call("F.embedding", indices, weight, padding_idx=padding_idx)


def _rsub(ctx: ops.Context, input: ops.Code, other: ops.Code, alpha: Any = 1) -> str:
    if ops.given(alpha):
        input = ops.Code(f"{ops.paren(alpha)} * {ops.paren(input)}")
    return f"{ops.paren(other)} - {ops.paren(input)}"


def _to_copy(ctx: ops.Context, input: ops.Code, *, dtype: Any = None, **_: Any) -> str:
    if ops.given(dtype) and dtype.value is not None:
        return f"{ops.paren(input)}.astype({dtype})"
    return str(input)


def _roll(ctx: ops.Context, input: ops.Code, shifts: ops.Code, dims: Any = ()) -> str:
    """ATen's ``roll``: no ``dims`` (``[]``) rolls the flattened tensor, as torch's ``None``."""
    if ops.given(dims) and not dims.value:
        dims = None
    fx_row = ops.by_name("roll")
    assert fx_row is not None
    return fx_row(ctx, input, shifts, dims)


def _expand(ctx: ops.Context, input: ops.Code, size: ops.Code, *, implicit: Any = False) -> str:
    fx_row = ops.by_name("expand")
    assert fx_row is not None
    return fx_row(ctx, input, size)


def _split_with_sizes(
    ctx: ops.Context, input: ops.Code, split_sizes: ops.Code, dim: Any = 0
) -> str:
    fx_row = ops.by_name("split")
    assert fx_row is not None
    return fx_row(ctx, input, split_sizes, dim)


def _index(ctx: ops.Context, input: ops.Code, indices: ops.Code) -> str:
    """ATen's ``index``: ``x[i, :, j]`` (``None`` for a dimension taken whole), numpy's rules."""
    parts = [":" if i is None else str(ops.render(i, ctx.name_of)) for i in indices.value]
    return f"{ops.paren(input)}[{', '.join(parts)}]"


def _unsafe_view(ctx: ops.Context, input: ops.Code, size: ops.Code) -> str:
    """The functional graph's ``view`` of a fresh result (``x.view`` for JAX alike)."""
    return f"jnp.reshape({input}, {size})"


def _fill(ctx: ops.Context, input: ops.Code, value: ops.Code) -> str:
    return f"jnp.full_like({input}, {value})"


def _copy(ctx: ops.Context, input: ops.Code, src: ops.Code, non_blocking: Any = False) -> str:
    """ATen's functional ``copy``: ``src`` in ``input``'s shape and dtype."""
    return f"jnp.broadcast_to({src}, {ops.paren(input)}.shape).astype({ops.paren(input)}.dtype)"


def _slice_scatter(
    ctx: ops.Context,
    input: ops.Code,
    src: ops.Code,
    dim: Any = 0,
    start: Any = None,
    end: Any = None,
    step: Any = 1,
) -> str:
    """``input`` with ``src`` written into ``input[..., start:end:step]`` (functionalised
    ``x[a:b] = src``)."""
    view = _at(ops.Code(f"{ops.paren(input)}.at"), dim, _range(start, end, step))
    return f"{view}.set({src})"


def _select_scatter(
    ctx: ops.Context, input: ops.Code, src: ops.Code, dim: ops.Code, index: ops.Code
) -> str:
    view = _at(ops.Code(f"{ops.paren(input)}.at"), dim, str(index))
    return f"{view}.set({src})"


def _index_put(
    ctx: ops.Context, input: ops.Code, indices: ops.Code, values: ops.Code, accumulate: Any = False
) -> str:
    """``x[i, j] = v`` (``accumulate``: ``x[i, j] += v``), functionalised; ``x[mask] = 0.5`` is
    ``jnp.where`` (a boolean index has no static shape under ``jax.jit``)."""
    add = ops.given(accumulate) and accumulate.value is True
    mask = indices.value[0] if len(indices.value) == 1 else None
    if (
        not add
        and _meta(mask, "dtype") == import_torch().bool
        and _meta(values.value, "numel") == 1
    ):
        extra = _meta(input.value, "ndim") - _meta(mask, "ndim")  # x[mask] with mask of x's prefix
        where = ops.render(mask, ctx.name_of) + (f"[...{', None' * extra}]" if extra else "")
        return f"jnp.where({where}, {values}, {input})"
    view = _index(ctx, ops.Code(f"{ops.paren(input)}.at"), indices)
    return f"{view}.{'add' if add else 'set'}({values})"


def _meta(node: Any, attribute: str, default: Any = None) -> Any:
    """An attribute of the example value torch.export recorded for ``node`` (its dtype, ndim)."""
    value = getattr(node, "meta", {}).get("val")
    found = getattr(value, attribute, default)
    return found() if callable(found) else found


def _conj(ctx: ops.Context, input: ops.Code) -> str:
    return f"jnp.conj({input})"


_ATEN: dict[str, ops.Template] = {
    "_conj": _conj,
    "index": _index,
    "fill": _fill,
    "_unsafe_view": _unsafe_view,
    "copy": _copy,
    "slice_scatter": _slice_scatter,
    "select_scatter": _select_scatter,
    "index_put": _index_put,
    "roll": _roll,
    "expand": _expand,
    "split_with_sizes": _split_with_sizes,
    "slice": _slice,
    "select": _select,
    "max_pool2d": _max_pool,
    "softmax": _softmax("softmax"),
    "log_softmax": _softmax("log_softmax"),
    "layer_norm": _norm("layer_norm", "normalized_shape", "cudnn_enable"),
    "group_norm": _norm("group_norm", "num_groups", "cudnn_enabled"),
    "embedding": _embedding,
    "rsub": _rsub,
    "_to_copy": _to_copy,
}
