"""The table of torch ops the converter knows: each fx ``call_function`` / ``call_method`` node as code.

A row is a template with torch's own signature (``input`` first, torch's argument names and defaults),
so fx's positional and keyword arguments bind exactly as torch binds them. The template gets each
argument as :class:`Code` (its source text, and the fx value it came from) and returns one Python
expression in ``jax.numpy`` (``jnp``) or ``funcgrad.nn.functional`` (``F``). Arguments left at
their torch default arrive as plain Python values, not ``Code``, so a template writes only what
the user wrote.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from funcgrad.interop._torch import import_torch

__all__ = ["TRAIN", "Code", "Context", "lookup", "render"]


class _Train:
    """The ``train=`` argument of the generated ``forward``, where torch had ``self.training``."""

    def __repr__(self) -> str:
        return "train"


TRAIN = _Train()


class Code(str):
    """The source of one argument, remembering the fx value it came from (``.value``).

    Example:
        >>> c = Code("(1, 2)", (1, 2))
        >>> c, c.value
        ('(1, 2)', (1, 2))
    """

    value: Any

    def __new__(cls, text: str, value: Any = None) -> Code:
        self = super().__new__(cls, text)
        self.value = value
        return self


@dataclass(frozen=True)
class Context:
    """What a template may need besides its arguments: the node's name (random ops fold it into
    the key) and the names of the other nodes (for values nested in an index)."""

    name: str
    name_of: Callable[[Any], str] = str


Template = Callable[..., str]

_FUNCTIONS: dict[Any, Template] = {}
_METHODS: dict[str, Template] = {}
_NAMES: dict[str, Template] = {}  # by the function's or method's bare name, for ATen's ops


def lookup(op: str, target: Any) -> Template | None:
    """The template for an fx node (``op`` is ``call_function`` or ``call_method``), or ``None``.

    Example:
        >>> import operator
        >>> lookup("call_function", operator.add)(Context("add"), Code("x"), Code("y"))
        'x + y'
        >>> lookup("call_method", "no_such_method") is None
        True
    """
    _register_all()
    table: dict[Any, Template] = _FUNCTIONS if op == "call_function" else _METHODS
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
    _register_all()
    return _NAMES.get(name)


def bind(template: Template, ctx: Context, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``template`` called with fx's arguments, bound by torch's signature; TypeError if they don't fit."""
    signature = inspect.signature(template)
    bound = signature.bind(ctx, *args, **kwargs)
    for name, value in bound.arguments.items():
        default = signature.parameters[name].default
        if _is_default(value, default):
            # torch's own wrappers fill in every default (F.max_pool2d): write only the others
            bound.arguments[name] = default
    return template(*bound.args, **bound.kwargs)


def _is_default(value: Any, default: Any) -> bool:
    if not isinstance(value, Code) or default is inspect.Parameter.empty:
        return False
    v = value.value
    simple = (bool, int, float, str, type(None))
    return isinstance(v, simple) and type(v) is type(default) and v == default


def render(value: Any, name_of: Callable[[Any], str]) -> Code:
    """Python source for an fx argument: nodes by name (``name_of``), constants as literals.

    Example:
        >>> render((1, slice(None, 2), None), str), render(float("inf"), str)
        ('(1, slice(None, 2, None), None)', 'float("inf")')
    """
    torch = import_torch()
    if value is TRAIN:
        return Code("train", value)
    if isinstance(value, torch.fx.Node):
        return Code(name_of(value), value)
    if isinstance(value, torch.dtype):
        return Code(_DTYPES.get(value, "None"), value)
    if isinstance(value, torch.Size):
        value = tuple(value)
    if isinstance(value, (tuple, list)):
        items = [render(v, name_of) for v in value]
        if isinstance(value, list):
            return Code(f"[{', '.join(items)}]", value)
        return Code(f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})", value)
    if isinstance(value, slice):
        parts = [render(getattr(value, a), name_of) for a in ("start", "stop", "step")]
        return Code(f"slice({', '.join(parts)})", value)
    if isinstance(value, float) and not math.isfinite(value):
        return Code(f'float("{value}")', value)
    if value is Ellipsis:
        return Code("...", value)
    if isinstance(value, (bool, int, float, str, type(None))):
        return Code(repr(value), value)
    raise TypeError(f"cannot write a {type(value).__name__} constant ({value!r}) as source")


def _index(value: Any, name_of: Callable[[Any], str]) -> str:
    """An index as Python's subscript syntax: ``:, 1:2, None``."""
    if isinstance(value, tuple):
        inner = ", ".join(_index(v, name_of) for v in value)
        return inner + "," if len(value) == 1 else inner
    if isinstance(value, slice):
        start, stop, step = (
            "" if v is None else render(v, name_of) for v in (value.start, value.stop, value.step)
        )
        return f"{start}:{stop}" + (f":{step}" if step else "")
    return render(value, name_of)


_DTYPES: dict[Any, str] = {}


def _given(v: Any) -> bool:
    return isinstance(v, Code)


def _call(fn: str, *args: Any, **kwargs: Any) -> str:
    """``fn(a, b, k=v)``: every positional argument, and the keywords the user gave (``Code``)."""
    parts = [str(a) for a in args]
    parts += [f"{k}={v}" for k, v in kwargs.items() if isinstance(v, Code)]
    return f"{fn}({', '.join(parts)})"


def entry(
    fn: str,
    required: tuple[str, ...],
    optional: dict[str, Any] | None = None,
    *,
    keyword: dict[str, Any] | None = None,
    rename: dict[str, str] | None = None,
    ignore: tuple[str, ...] = (),
) -> Template:
    """A row that writes ``fn(required..., name=value)``: torch's signature is ``required`` (no
    default), then ``optional`` and the keyword-only ``keyword`` (name: torch's default); of those,
    only what the user gave is written, under ``rename``'s name (``dim`` -> ``axis``), and
    ``ignore``'s names never (``inplace``).

    Example:
        >>> t = entry("jnp.mean", ("input",), {"dim": None, "keepdim": False},
        ...           rename={"dim": "axis", "keepdim": "keepdims"})
        >>> t(Context("mean"), Code("x"), Code("1", 1))
        'jnp.mean(x, axis=1)'
    """
    optional, keyword, rename = optional or {}, keyword or {}, rename or {}
    P = inspect.Parameter
    signature = inspect.Signature(
        [P("ctx", P.POSITIONAL_OR_KEYWORD)]
        + [P(n, P.POSITIONAL_OR_KEYWORD) for n in required]
        + [P(n, P.POSITIONAL_OR_KEYWORD, default=d) for n, d in optional.items()]
        + [P(n, P.KEYWORD_ONLY, default=d) for n, d in keyword.items()]
    )

    def template(*args: Any, **kwargs: Any) -> str:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        written = {rename.get(n, n): given[n] for n in (*optional, *keyword) if n not in ignore}
        return _call(fn, *(given[n] for n in required), **written)

    template.__signature__ = signature  # type: ignore[attr-defined]  # what bind() reads
    return template


def _dims(first: Code, rest: tuple[Code, ...]) -> str:
    """torch's ``view(2, 3)`` / ``view((2, 3))`` / ``permute(0, 2, 1)`` as one tuple."""
    if not rest and isinstance(first.value, (tuple, list)):
        return str(first)
    items = [first, *rest]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _register(
    functions: tuple[str, ...] = (), methods: tuple[str, ...] = ()
) -> Callable[[Template], Template]:
    """Add a template under fx targets: ``functions`` are dotted names in torch (``"nn.functional.relu"``
    or ``"operator.add"``), ``methods`` Tensor method names."""

    def add(template: Template) -> Template:
        torch = import_torch()
        for dotted in functions:
            root, _, rest = dotted.partition(".")
            obj: Any = {"operator": operator, "builtins": builtins}.get(root, torch)
            for part in (rest if root in ("operator", "builtins", "torch") else dotted).split("."):
                obj = getattr(obj, part, None)
            if obj is not None:
                _FUNCTIONS[obj] = template
                _NAMES[dotted.rpartition(".")[2]] = template
        for m in methods:
            _METHODS[m] = template
            _NAMES[m] = template
        return template

    return add


def _register_all() -> None:
    """Fill the tables (once, on first use: torch is imported only then)."""
    if _FUNCTIONS:
        return
    torch = import_torch()
    _DTYPES.update(
        {
            torch.float32: "jnp.float32",
            torch.float64: "jnp.float64",
            torch.float16: "jnp.float16",
            torch.bfloat16: "jnp.bfloat16",
            torch.int64: "jnp.int64",
            torch.int32: "jnp.int32",
            torch.bool: "jnp.bool_",
        }
    )
    reg = _register

    # -- activations: funcgrad.nn.functional, torch's names -------------------------------------
    def unary_f(name: str) -> None:
        @reg((f"nn.functional.{name}", f"torch.{name}"), (name,))
        def t(ctx: Context, input: Code, inplace: Any = False) -> str:
            return f"F.{name}({input})"

    for name in ("relu", "tanh", "sigmoid", "silu"):
        unary_f(name)

    reg(("nn.functional.gelu",), ("gelu",))(entry("F.gelu", ("input",), {"approximate": "none"}))

    @reg(("nn.functional.leaky_relu",))
    def _leaky(ctx: Context, input: Code, negative_slope: Any = 0.01, inplace: Any = False) -> str:
        return _call("F.leaky_relu", input, negative_slope)

    @reg(("nn.functional.elu",))
    def _elu(ctx: Context, input: Code, alpha: Any = 1.0, inplace: Any = False) -> str:
        return _call("F.elu", input, alpha)

    for name in ("softmax", "log_softmax"):

        def soft(name: str) -> None:
            @reg((f"nn.functional.{name}", f"torch.{name}"), (name,))
            def t(
                ctx: Context,
                input: Code,
                dim: Any = None,
                _stacklevel: Any = 3,
                dtype: Any = None,
            ) -> str:
                if _given(dtype):
                    input = Code(f"{input}.astype({dtype})")
                return _call(f"F.{name}", input, dim)

        soft(name)

    # -- the functional layers ------------------------------------------------------------------
    @reg(("nn.functional.linear",))
    def _linear(ctx: Context, input: Code, weight: Code, bias: Any = None) -> str:
        return _call("F.linear", input, weight, bias)

    for nd in (1, 2):

        def conv(nd: int) -> None:
            @reg((f"nn.functional.conv{nd}d", f"torch.conv{nd}d"))
            def t(
                ctx: Context,
                input: Code,
                weight: Code,
                bias: Any = None,
                stride: Any = 1,
                padding: Any = 0,
                dilation: Any = 1,
                groups: Any = 1,
            ) -> str:
                return _call(
                    f"F.conv{nd}d",
                    input,
                    weight,
                    bias if _given(bias) else "None",
                    stride=stride,
                    padding=padding,
                    dilation=dilation,
                    groups=groups,
                )

        conv(nd)

    window = {"stride": None, "padding": 0}
    _max_pool = entry(
        "F.max_pool2d",
        ("input", "kernel_size"),
        {**window, "dilation": 1, "ceil_mode": False, "return_indices": False},
    )
    reg(("nn.functional._max_pool2d", "nn.functional.max_pool2d", "max_pool2d"))(_max_pool)

    @reg(("nn.functional.max_pool2d_with_indices",))
    def _max_pool_idx(ctx: Context, input: Code, kernel_size: Code, *args: Any, **kw: Any) -> str:
        return _max_pool(ctx, input, kernel_size, *args, **{**kw, "return_indices": Code("True")})

    avg = {**window, "ceil_mode": False, "count_include_pad": True, "divisor_override": None}
    reg(("nn.functional.avg_pool2d", "avg_pool2d"))(
        entry("F.avg_pool2d", ("input", "kernel_size"), avg)
    )
    reg(("nn.functional.adaptive_avg_pool2d",))(
        entry("F.adaptive_avg_pool2d", ("input", "output_size"))
    )

    for name in ("dropout", "dropout2d"):

        def drop(name: str) -> None:
            @reg((f"nn.functional.{name}",))
            def t(
                ctx: Context, input: Code, p: Any = 0.5, training: Any = True, inplace: Any = False
            ) -> str:
                # torch's default is training=True (even in eval); only a literal False needs no key.
                off = _given(training) and training.value is False
                if off:
                    return f"{input}"
                p_code = p if _given(p) else repr(p)
                train = training if _given(training) else "True"
                key = f'fg.nn.child_key(key, "{ctx.name}")'
                return f"F.{name}({input}, {p_code}, {train}, key={key})"

        drop(name)

    affine = {"weight": None, "bias": None, "eps": 1e-5}
    for name, second in (("layer_norm", "normalized_shape"), ("group_norm", "num_groups")):
        reg((f"nn.functional.{name}",))(entry(f"F.{name}", ("input", second), affine))

    @reg(("nn.functional.embedding",))
    def _embedding(
        ctx: Context,
        input: Code,
        weight: Code,
        padding_idx: Any = None,
        max_norm: Any = None,
        norm_type: Any = 2.0,
        scale_grad_by_freq: Any = False,
        sparse: Any = False,
    ) -> str:
        if _given(max_norm) and max_norm.value is not None:
            raise NotImplementedError("F.embedding(max_norm=...) has no funcgrad counterpart")
        return _call("F.embedding", input, weight, padding_idx=padding_idx)

    # -- arithmetic -----------------------------------------------------------------------------
    def infix(symbol: str, functions: tuple[str, ...], methods: tuple[str, ...]) -> None:
        @reg(functions, methods)
        def t(ctx: Context, input: Code, other: Code) -> str:
            return f"{_paren(input)} {symbol} {_paren(other)}"

    infix("-", ("operator.sub",), ("__sub__",))
    infix("/", ("operator.truediv",), ("__truediv__",))
    infix("//", ("operator.floordiv",), ())
    infix("%", ("operator.mod",), ())
    infix("**", ("operator.pow", "torch.pow"), ("pow",))
    infix(
        "@", ("operator.matmul", "torch.matmul", "torch.mm", "torch.bmm"), ("matmul", "mm", "bmm")
    )
    infix("*", ("operator.mul", "torch.mul"), ("mul",))
    for sym, name in (("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge"), ("==", "eq")):
        infix(sym, (f"operator.{name}", f"torch.{name}"), (name,))
    infix("!=", ("operator.ne", "torch.ne"), ("ne",))
    infix("&", ("operator.and_",), ())
    infix("|", ("operator.or_",), ())

    @reg(("operator.add", "torch.add"), ("add",))
    def _add(ctx: Context, input: Code, other: Code, *, alpha: Any = 1) -> str:
        if _given(alpha):
            other = Code(f"{_paren(alpha)} * {_paren(other)}")
        return f"{_paren(input)} + {_paren(other)}"

    @reg(("torch.sub",), ("sub",))
    def _sub(ctx: Context, input: Code, other: Code, *, alpha: Any = 1) -> str:
        if _given(alpha):
            other = Code(f"{_paren(alpha)} * {_paren(other)}")
        return f"{_paren(input)} - {_paren(other)}"

    @reg(("torch.div",), ("div",))
    def _div(ctx: Context, input: Code, other: Code, *, rounding_mode: Any = None) -> str:
        mode = rounding_mode.value if _given(rounding_mode) else None
        if mode == "floor":
            return f"{_paren(input)} // {_paren(other)}"
        if mode == "trunc":
            return f"jnp.trunc({input} / {_paren(other)})"
        return f"{_paren(input)} / {_paren(other)}"

    @reg(("operator.neg", "torch.neg"), ("neg", "__neg__"))
    def _neg(ctx: Context, input: Code) -> str:
        return f"-{_paren(input)}"

    for name, jnp_name in (
        ("exp", "exp"),
        ("log", "log"),
        ("sqrt", "sqrt"),
        ("abs", "abs"),
        ("sin", "sin"),
        ("cos", "cos"),
        ("square", "square"),
        ("log1p", "log1p"),
        ("expm1", "expm1"),
        ("sign", "sign"),
        ("floor", "floor"),
        ("ceil", "ceil"),
        ("rsqrt", "lax.rsqrt"),
        ("reciprocal", "reciprocal"),
    ):

        def unary(name: str, jnp_name: str) -> None:
            fn = "jax.lax.rsqrt" if name == "rsqrt" else f"jnp.{jnp_name}"

            @reg((f"torch.{name}",), (name,))
            def t(ctx: Context, input: Code) -> str:
                return f"{fn}({input})"

        unary(name, jnp_name)

    for name in ("maximum", "minimum"):

        def binary(name: str) -> None:
            @reg((f"torch.{name}",), (name,))
            def t(ctx: Context, input: Code, other: Code) -> str:
                return f"jnp.{name}({input}, {other})"

        binary(name)

    @reg(("torch.clamp", "torch.clip"), ("clamp", "clip"))
    def _clamp(ctx: Context, input: Code, min: Any = None, max: Any = None) -> str:
        return _call("jnp.clip", input, min if _given(min) else "None", max=max)

    @reg(("torch.where",), ())
    def _where(ctx: Context, condition: Code, input: Code, other: Code) -> str:
        return f"jnp.where({condition}, {input}, {other})"

    @reg((), ("masked_fill",))
    def _masked_fill(ctx: Context, input: Code, mask: Code, value: Code) -> str:
        return f"jnp.where({mask}, {value}, {input})"

    @reg(("torch.einsum",))
    def _einsum(ctx: Context, equation: Code, *operands: Code) -> str:
        if len(operands) == 1 and isinstance(operands[0].value, (tuple, list)):
            operands = tuple(Code(s) for s in operands[0][1:-1].split(", "))
        return f"jnp.einsum({equation}, {', '.join(operands)})"

    # -- shapes ---------------------------------------------------------------------------------
    @reg((), ("view", "reshape"))
    def _view(ctx: Context, input: Code, shape: Code, *more: Code) -> str:
        return f"jnp.reshape({input}, {_dims(shape, more)})"

    @reg(("torch.reshape",))
    def _reshape(ctx: Context, input: Code, shape: Code) -> str:
        return f"jnp.reshape({input}, {shape})"

    @reg(("torch.flatten",), ("flatten",))
    def _flatten(ctx: Context, input: Code, start_dim: Any = 0, end_dim: Any = -1) -> str:
        given = [d for d in (start_dim, end_dim) if _given(d)]
        return _call("F.flatten", input, *([start_dim, end_dim] if _given(end_dim) else given))

    @reg(("torch.permute",), ("permute",))
    def _permute(ctx: Context, input: Code, dims: Code, *more: Code) -> str:
        return f"jnp.transpose({input}, {_dims(dims, more)})"

    @reg(("torch.transpose", "torch.swapaxes"), ("transpose", "swapaxes"))
    def _transpose(ctx: Context, input: Code, dim0: Code, dim1: Code) -> str:
        return f"jnp.swapaxes({input}, {dim0}, {dim1})"

    @reg(("torch.t",), ("t",))
    def _t(ctx: Context, input: Code) -> str:
        return f"{_paren(input)}.T"

    @reg(("torch.unsqueeze",), ("unsqueeze",))
    def _unsqueeze(ctx: Context, input: Code, dim: Code) -> str:
        return f"jnp.expand_dims({input}, {dim})"

    @reg(("torch.squeeze",), ("squeeze",))
    def _squeeze(ctx: Context, input: Code, dim: Any = None) -> str:
        if not _given(dim):
            return f"jnp.squeeze({input})"
        # torch leaves an axis of size > 1 alone; jnp.squeeze would raise.
        return f"{input} if {input}.shape[{dim}] != 1 else jnp.squeeze({input}, {dim})"

    along = {"dim": "axis", "keepdim": "keepdims"}
    for fn, names in (("concatenate", ("cat", "concat", "concatenate")), ("stack", ("stack",))):
        functions = tuple(f"torch.{n}" for n in names)
        reg(functions)(entry(f"jnp.{fn}", ("tensors",), {"dim": 0}, rename=along))

    @reg((), ("expand",))
    def _expand(ctx: Context, input: Code, size: Code, *more: Code) -> str:
        sizes = list(size.value) if not more and isinstance(size.value, (tuple, list)) else None
        items = [render(v, ctx.name_of) for v in sizes] if sizes is not None else [size, *more]
        # torch's -1 keeps that axis; sizes align with the input's axes from the right.
        k = len(items)
        dims = [
            f"{_paren(input)}.shape[{i - k}]" if d.value == -1 else d for i, d in enumerate(items)
        ]
        return f"jnp.broadcast_to({input}, ({', '.join(dims)}{',' if k == 1 else ''}))"

    @reg((), ("expand_as",))
    def _expand_as(ctx: Context, input: Code, other: Code) -> str:
        return f"jnp.broadcast_to({input}, {other}.shape)"

    @reg((), ("repeat",))
    def _repeat(ctx: Context, input: Code, repeats: Code, *more: Code) -> str:
        return f"jnp.tile({input}, {_dims(repeats, more)})"

    @reg((), ("size",))
    def _size(ctx: Context, input: Code, dim: Any = None) -> str:
        return f"{_paren(input)}.shape" + (f"[{dim}]" if _given(dim) else "")

    @reg((), ("dim",))
    def _dim(ctx: Context, input: Code) -> str:
        return f"{_paren(input)}.ndim"

    @reg(("torch.numel",), ("numel",))
    def _numel(ctx: Context, input: Code) -> str:
        return f"{_paren(input)}.size"

    @reg(("builtins.getattr",))
    def _getattr(ctx: Context, obj: Code, name: Code) -> str:
        attr = {"shape": "shape", "T": "T", "ndim": "ndim", "mT": "mT", "dtype": "dtype"}
        if name.value not in attr:
            raise NotImplementedError(f"Tensor attribute .{name.value} has no jax counterpart")
        return f"{_paren(obj)}.{attr[name.value]}"

    @reg(("operator.getitem",))
    def _getitem(ctx: Context, obj: Code, index: Code) -> str:
        return f"{_paren(obj)}[{_index(index.value, ctx.name_of)}]"

    @reg((), ("contiguous", "clone"))
    def _same(ctx: Context, input: Code, *, memory_format: Any = None) -> str:
        return str(input)

    @reg(("torch.detach",), ("detach",))
    def _detach(ctx: Context, input: Code) -> str:
        return f"jax.lax.stop_gradient({input})"

    # -- reductions -----------------------------------------------------------------------------
    reduced = {"dim": None, "keepdim": False}
    for name in ("mean", "sum", "prod", "amax", "amin", "logsumexp", "argmax", "argmin"):
        fn = {"amax": "jnp.max", "amin": "jnp.min", "logsumexp": "jax.nn.logsumexp"}.get(
            name, f"jnp.{name}"
        )
        typed = {} if name.startswith("arg") else {"dtype": None}
        row = entry(fn, ("input",), reduced, keyword=typed, rename=along)
        reg((f"torch.{name}",), (name,))(row)

    for name in ("max", "min"):

        def extreme(name: str) -> None:
            @reg((f"torch.{name}",), (name,))
            def t(ctx: Context, input: Code, dim: Any = None, keepdim: Any = False) -> str:
                if _given(dim) and dim.value is not None and not isinstance(dim.value, int):
                    return f"jnp.{name}imum({input}, {dim})"  # torch.max(a, b): elementwise
                if not _given(dim):
                    return f"jnp.{name}({input})"
                # torch.max(x, dim) returns (values, indices)
                return (
                    f"({_call(f'jnp.{name}', input, axis=dim, keepdims=keepdim)}, "
                    f"{_call(f'jnp.arg{name}', input, axis=dim, keepdims=keepdim)})"
                )

        extreme(name)

    for name in ("var", "std"):

        def spread(name: str) -> None:
            @reg((f"torch.{name}",), (name,))
            def t(
                ctx: Context,
                input: Code,
                dim: Any = None,
                unbiased: Any = None,
                keepdim: Any = False,
                *,
                correction: Any = None,
            ) -> str:
                if _given(unbiased) and isinstance(unbiased.value, bool):
                    ddof = "1" if unbiased.value else "0"
                elif _given(correction):
                    ddof = str(correction)
                else:
                    ddof = "1"  # torch's default: the unbiased estimate
                return _call(f"jnp.{name}", input, axis=dim, ddof=Code(ddof), keepdims=keepdim)

        spread(name)

    # -- dtypes and constructors ----------------------------------------------------------------
    for method, dtype in (
        ("float", "jnp.float32"),
        ("double", "jnp.float64"),
        ("long", "jnp.int64"),
        ("int", "jnp.int32"),
        ("bool", "jnp.bool_"),
    ):

        def cast(method: str, dtype: str) -> None:
            @reg((), (method,))
            def t(ctx: Context, input: Code) -> str:
                return f"{_paren(input)}.astype({dtype})"

        cast(method, dtype)

    @reg((), ("to", "type"))
    def _to(ctx: Context, input: Code, *args: Code, **kwargs: Code) -> str:
        dtypes = [a for a in (*args, *kwargs.values()) if isinstance(a.value, torch.dtype)]
        return f"{_paren(input)}.astype({dtypes[0]})" if dtypes else str(input)

    @reg((), ("type_as",))
    def _type_as(ctx: Context, input: Code, other: Code) -> str:
        return f"{_paren(input)}.astype({other}.dtype)"

    for name in ("zeros_like", "ones_like"):
        placement = {"layout": None, "device": None, "pin_memory": False, "memory_format": None}
        row = entry(
            f"jnp.{name}",
            ("input",),
            keyword={"dtype": None, **placement, "requires_grad": False},
            ignore=(*placement, "requires_grad"),
        )
        reg((f"torch.{name}",))(row)


def _paren(code: str) -> str:
    """``code`` in parentheses unless it is one operand already (a name, call, subscript, ...).

    Example:
        >>> _paren("a + b"), _paren("f(a + b)[0]"), _paren("-1")
        ('(a + b)', 'f(a + b)[0]', '(-1)')
    """
    text = str(code)
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return f"({text})"
    atoms = (ast.Name, ast.Call, ast.Subscript, ast.Attribute, ast.List, ast.Tuple, ast.Constant)
    if isinstance(tree, ast.Tuple) and not text.startswith("("):
        return f"({text})"
    return text if isinstance(tree, atoms) else f"({text})"


# For the ATen rows of _export_ops, which build on the same pieces.
given, call, paren = _given, _call, _paren
