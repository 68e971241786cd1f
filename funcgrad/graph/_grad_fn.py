"""The ``grad_fn`` a PyTorch reader would see for each JAX primitive or funcgrad function.

PyTorch names every differentiable operation's backward node (``z.grad_fn`` prints
``<AddBackward0>``). JAX has primitives instead (``add``, ``dot_general``). These two tables, kept as
plain readable dicts in the spirit of HIPS/autograd's derivative table, translate one into the other:
the primitives' by hand, the functions' from the layer table ``fg.nn.LAYERS`` / ``fg.nn.LOSSES`` (plus
a few jax.numpy functions by hand). A value of ``None`` means the operation has no gradient (PyTorch
would not record it).
"""

from __future__ import annotations

from collections.abc import Sequence

from funcgrad.nn import LAYERS, LOSSES

__all__ = ["GRAD_FN_BY_FUNCTION", "GRAD_FN_BY_PRIMITIVE", "VIEW_GRAD_FNS", "grad_fn_name"]

GRAD_FN_BY_PRIMITIVE: dict[str, str | None] = {
    "abs": "AbsBackward0",
    "add": "AddBackward0",
    "add_any": "AddBackward0",
    "broadcast_in_dim": "ExpandBackward0",
    "clamp": "ClampBackward1",
    "concatenate": "CatBackward0",
    "conv_general_dilated": "ConvolutionBackward0",
    "convert_element_type": "ToCopyBackward0",
    "copy": "CloneBackward0",
    "cos": "CosBackward0",
    "cumsum": "CumsumBackward0",
    "div": "DivBackward0",
    "dot_general": "MmBackward0",
    "dynamic_slice": "SliceBackward0",
    "erf": "ErfBackward0",
    "exp": "ExpBackward0",
    "expand_dims": "UnsqueezeBackward0",
    "gather": "IndexBackward0",
    "integer_pow": "PowBackward0",
    "log": "LogBackward0",
    "log1p": "Log1PBackward0",
    "logistic": "SigmoidBackward0",
    "max": "MaximumBackward0",
    "min": "MinimumBackward0",
    "mul": "MulBackward0",
    "neg": "NegBackward0",
    "pow": "PowBackward1",
    "reduce_max": "MaxBackward1",
    "reduce_min": "MinBackward1",
    "reduce_sum": "SumBackward0",
    "reshape": "ViewBackward0",
    "rsqrt": "RsqrtBackward0",
    "select_n": "WhereBackward0",
    "sin": "SinBackward0",
    "slice": "SliceBackward0",
    "sqrt": "SqrtBackward0",
    "square": "PowBackward0",
    "squeeze": "SqueezeBackward0",
    "sub": "SubBackward0",
    "tanh": "TanhBackward0",
    "transpose": "PermuteBackward0",
    # No gradient flows through these.
    "argmax": None,
    "argmin": None,
    "eq": None,
    "ge": None,
    "gt": None,
    "iota": None,
    "le": None,
    "lt": None,
    "ne": None,
    "sign": None,
    "stop_gradient": None,
}
"""torch's ``grad_fn`` name for each JAX primitive (``None``: torch records no node for it)."""

# jax.numpy / jax.nn functions that appear as one call (a jit or custom_jvp named after them, or a
# scope of that name), kept by hand: the registry lists only funcgrad's layers, losses and their
# functionals (whose rows also name jax.nn's calls of the same name: relu, softmax, gelu, ...).
_JAX_FUNCTIONS: dict[str, str | None] = {
    "logaddexp": "LogAddExpBackward0",
    "logsumexp": "LogsumexpBackward0",
    "matmul": "MmBackward0",
    "mean": "MeanBackward0",
    "softplus": "SoftplusBackward0",
    "sum": "SumBackward0",
    "where": "WhereBackward0",
}


def _by_function() -> dict[str, str | None]:
    """Each layer by class name (the named scope its ``apply`` runs under), each loss and each
    layer's functional by function name, from ``fg.nn.LAYERS`` and ``fg.nn.LOSSES``; then
    :data:`_JAX_FUNCTIONS`. A name given two different labels is an error in the tables."""
    rows: dict[str, str | None] = {}

    def add(name: str, grad_fn: str | None) -> None:
        if rows.setdefault(name, grad_fn) != grad_fn:  # BatchNorm1d and 2d share batch_norm: fine
            raise ValueError(
                f"fg.graph: {name!r} is given grad_fn {rows[name]!r} and {grad_fn!r}; make the "
                "entries of fg.nn.LAYERS / fg.nn.LOSSES (and graph's _JAX_FUNCTIONS) agree"
            )

    for layer in LAYERS.values():
        add(layer.name, layer.grad_fn)
        if layer.functional is not None:
            add(layer.functional.__name__, layer.grad_fn)
    for loss in LOSSES.values():
        add(loss.functional.__name__, loss.grad_fn)
    for name, grad_fn in _JAX_FUNCTIONS.items():
        add(name, grad_fn)
    return rows


GRAD_FN_BY_FUNCTION: dict[str, str | None] = _by_function()
"""torch's ``grad_fn`` name for each funcgrad layer, loss or function that traces as one call.

The layer, loss and functional rows come from ``fg.nn.LAYERS`` and ``fg.nn.LOSSES`` (checked live
against torch in tests/test_graph_grad_fn.py); only the jax.numpy functions' rows are listed here.
"""

# Shape-only operations: PyTorch records them too, but they carry no arithmetic.
VIEW_GRAD_FNS = frozenset(
    {
        "ExpandBackward0",
        "PermuteBackward0",
        "SqueezeBackward0",
        "SqueezeBackward4",
        "TBackward0",
        "UnsqueezeBackward0",
        "ViewBackward0",
        "ToCopyBackward0",
    }
)


def grad_fn_name(function: str | None, primitives: Sequence[str]) -> str | None:
    """The PyTorch ``grad_fn`` name for a call of ``function`` made of ``primitives``.

    A known function wins; otherwise a single primitive (ignoring shape-only ones) names it.

    Example:
        >>> grad_fn_name(None, ["add"]), grad_fn_name("Linear", ["transpose", "dot_general", "add"])
        ('AddBackward0', 'AddmmBackward0')
        >>> grad_fn_name(None, ["transpose", "dot_general"])
        'MmBackward0'
    """
    if function is not None and function in GRAD_FN_BY_FUNCTION:
        return GRAD_FN_BY_FUNCTION[function]
    names = [GRAD_FN_BY_PRIMITIVE.get(p, f"{p.capitalize()}Backward") for p in primitives]
    arithmetic = [n for n in names if n is not None and n not in VIEW_GRAD_FNS]
    if len(arithmetic) == 1:
        return arithmetic[0]
    if not arithmetic and len(names) == 1:
        return names[0]
    return None
