"""The pieces the converter's op table is made of: an argument as source (:class:`Code`), a row
(a *template*: torch's signature in, one Python expression out), and the helpers rows share.

A template has torch's own signature (``input`` first, torch's argument names and defaults), so
fx's positional and keyword arguments bind exactly as torch binds them (:func:`bind`). It gets
each argument as :class:`Code` (its source text, and the fx value it came from) and returns one
expression in ``jax.numpy`` (``jnp``), ``funcgrad.nn.functional`` (``F``) or ``fg.losses``.
Arguments left at their torch default arrive as plain Python values, not ``Code``, so a template
writes only what the user wrote.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from funcgrad.interop._torch import import_torch

__all__ = [
    "TRAIN",
    "Attribute",
    "Code",
    "Context",
    "SameNamed",
    "Template",
    "bind",
    "call",
    "dims",
    "entry",
    "given",
    "paren",
    "render",
    "subscript",
]


class _Train:
    """The ``train=`` argument of the generated ``forward``, where torch had ``self.training``."""

    def __repr__(self) -> str:
        return "train"


TRAIN = _Train()


class Attribute(float):
    """A float that torch's ``forward`` read off a child module (Hugging Face's
    ``dropout_p=self.attn_dropout.p if self.training else 0.0``): written as that attribute,
    so the converted model reads it from its own child as torch does.

    Example:
        >>> a = Attribute(0.1, "self.attn_dropout.p")
        >>> a == 0.1, render(a, str)
        (True, 'self.attn_dropout.p')
    """

    source: str

    def __new__(cls, value: float, source: str) -> Attribute:
        self = super().__new__(cls, value)
        self.source = source
        return self


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


def bind(template: Template, ctx: Context, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``template`` called with fx's arguments, bound by torch's signature; TypeError if they don't fit.

    Example:
        >>> t = entry("jnp.sum", ("input",), {"dim": None})
        >>> bind(t, Context("s"), (Code("x"),), {"dim": Code("None", None)})  # torch's default
        'jnp.sum(x)'
    """
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


@functools.cache
def _dtypes() -> dict[Any, str]:
    torch = import_torch()
    return {
        torch.float32: "jnp.float32",
        torch.float64: "jnp.float64",
        torch.float16: "jnp.float16",
        torch.bfloat16: "jnp.bfloat16",
        torch.int64: "jnp.int64",
        torch.int32: "jnp.int32",
        torch.bool: "jnp.bool_",
        torch.complex64: "jnp.complex64",
        torch.complex128: "jnp.complex128",
    }


def render(value: Any, name_of: Callable[[Any], str]) -> Code:
    """Python source for an fx argument: nodes by name (``name_of``), constants as literals.

    Example:
        >>> import torch
        >>> render((1, slice(None, 2), None), str), render(float("inf"), str)
        ('(1, slice(None, 2, None), None)', 'float("inf")')
        >>> render(torch.float64, str)
        'jnp.float64'
    """
    torch = import_torch()
    if value is TRAIN:
        return Code("train", value)
    if isinstance(value, Attribute):
        return Code(value.source, value)
    if isinstance(value, torch.fx.Node):
        return Code(name_of(value), value)
    if isinstance(value, torch.dtype):
        return Code(_dtypes().get(value, "None"), value)
    if isinstance(value, (torch.device, torch.layout, torch.memory_format)):
        return Code("None", value)  # where an array lives, and how, is JAX's business
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


def subscript(value: Any, name_of: Callable[[Any], str]) -> str:
    """An index as Python's subscript syntax: ``:, 1:2, None``.

    Example:
        >>> subscript((slice(None), slice(1, 2), None), str)
        ':, 1:2, None'
    """
    if isinstance(value, tuple):
        inner = ", ".join(subscript(v, name_of) for v in value)
        return inner + "," if len(value) == 1 else inner
    if isinstance(value, slice):
        start, stop, step = (
            "" if v is None else render(v, name_of) for v in (value.start, value.stop, value.step)
        )
        return f"{start}:{stop}" + (f":{step}" if step else "")
    return render(value, name_of)


def given(v: Any) -> bool:
    """Whether the user gave this argument (it is ``Code``, not torch's default)."""
    return isinstance(v, Code)


def call(fn: str, *args: Any, **kwargs: Any) -> str:
    """``fn(a, b, k=v)``: every positional argument, and the keywords the user gave (``Code``).

    Example:
        >>> call("F.elu", Code("x"), alpha=1.0), call("F.elu", Code("x"), alpha=Code("0.5", 0.5))
        ('F.elu(x)', 'F.elu(x, alpha=0.5)')
    """
    parts = [str(a) for a in args]
    parts += [f"{k}={v}" for k, v in kwargs.items() if isinstance(v, Code)]
    return f"{fn}({', '.join(parts)})"


def paren(code: str) -> str:
    """``code`` in parentheses unless it is one operand already (a name, call, subscript, ...).

    Example:
        >>> paren("a + b"), paren("f(a + b)[0]"), paren("-1")
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


def dims(first: Code, rest: tuple[Code, ...]) -> str:
    """torch's ``view(2, 3)`` / ``view((2, 3))`` / ``permute(0, 2, 1)`` as one tuple.

    Example:
        >>> dims(Code("2", 2), (Code("3", 3),)), dims(Code("(2, 3)", (2, 3)), ())
        ('(2, 3)', '(2, 3)')
    """
    if not rest and isinstance(first.value, (tuple, list)):
        return str(first)
    if not rest and isinstance(first.value, import_torch().fx.Node):
        # a computed size (GPT-2's Conv1D: x.view(x.size()[:-1] + (n,))): a tuple, or an int,
        # which jnp.reshape takes as well
        return str(first)
    items = [first, *rest]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


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
        got = bound.arguments
        written = {rename.get(n, n): got[n] for n in (*optional, *keyword) if n not in ignore}
        return call(fn, *(got[n] for n in required), **written)

    template.__signature__ = signature  # type: ignore[attr-defined]  # what bind() reads
    return template


# torch-only arguments a funcgrad functional may drop: they change nothing a pure function returns.
_HARMLESS = frozenset({"inplace", "sparse"})


class SameNamed:
    """The row of a torch function that funcgrad has under the same name: torch's
    ``F.<name>(...)`` written as ``<code>(...)`` (``F.relu``, ``fg.losses.mse_loss``).

    Arguments bind by torch's signature where Python can read it (``torch.nn.functional``'s
    Python functions, whose wrappers pass every argument by keyword), else by the funcgrad
    functional's (torch's builtins: the same names and order). The funcgrad functional's
    required arguments are written positionally, the optional ones by keyword when the user gave
    them; a torch argument funcgrad lacks must be left at its default (``inplace`` aside, which
    is never written: a pure function has nothing to update in place).

    Example:
        >>> import funcgrad as fg
        >>> row = SameNamed("F.leaky_relu", fg.nn.functional.leaky_relu, "leaky_relu")
        >>> row(Context("r"), Code("x"), Code("0.2", 0.2), inplace=Code("True", True))
        'F.leaky_relu(x, negative_slope=0.2)'
        >>> str(inspect.signature(row))
        '(ctx, input, negative_slope=0.01, inplace=False)'
    """

    def __init__(self, code: str, functional: Callable[..., Any], torch_name: str) -> None:
        self.code, self.functional, self.torch_name = code, functional, torch_name
        P = inspect.Parameter
        ours = inspect.signature(functional).parameters.values()
        self.ours = {p.name: p for p in ours if p.kind is P.POSITIONAL_OR_KEYWORD}

    def __repr__(self) -> str:
        return f"SameNamed({self.code!r})"

    @functools.cached_property
    def __signature__(self) -> inspect.Signature:
        """What :func:`bind` reads: ``ctx``, then torch's parameters (or funcgrad's)."""
        P = inspect.Parameter
        params = list(self.ours.values())
        theirs = _torch_parameters(self.torch_name)
        if theirs is not None and self.ours.keys() <= {p.name for p in theirs}:
            params = theirs
        plain = [p.replace(annotation=P.empty) for p in params]
        return inspect.Signature([P("ctx", P.POSITIONAL_OR_KEYWORD), *plain])

    def __call__(self, ctx: Context, *args: Any, **kwargs: Any) -> str:
        bound = self.__signature__.bind(ctx, *args, **kwargs)
        bound.apply_defaults()
        got = dict(bound.arguments)
        del got["ctx"]
        for name, value in got.items():
            if name not in self.ours and given(value) and name not in _HARMLESS:
                raise NotImplementedError(
                    f"{self.torch_name}'s argument {name}={value} has no funcgrad counterpart"
                )
        required = [got[n] for n, p in self.ours.items() if p.default is inspect.Parameter.empty]
        optional = {
            n: got[n]
            for n, p in self.ours.items()
            if p.default is not p.empty and n not in _HARMLESS  # accepted only to be ignored
        }
        return call(self.code, *required, **optional)


def _torch_parameters(name: str) -> list[inspect.Parameter] | None:
    """The parameters of ``torch.nn.functional.<name>``, or ``None`` where Python cannot read
    them (a builtin) or they are ``(*args, **kwargs)`` (a boolean dispatch)."""
    torch = import_torch()
    fn = getattr(torch.nn.functional, name, None)
    try:
        params = list(inspect.signature(fn).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return params
