"""The ``grad_fn`` a PyTorch reader would see for each JAX primitive or funcgrad function.

PyTorch names every differentiable operation's backward node (``z.grad_fn`` prints
``<AddBackward0>``). JAX has primitives instead (``add``, ``dot_general``). These two tables, kept as
plain readable dicts in the spirit of HIPS/autograd's derivative table, translate one into the other.
A value of ``None`` means the operation has no gradient (PyTorch would not record it).
"""

from __future__ import annotations

from collections.abc import Sequence

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

# funcgrad layers and functions, and jax.numpy / jax.nn functions that appear as one call.
# funcgrad layers (by class name, as the named scope of their ``apply`` reads), losses and
# functions (by function name), checked live against torch's ``grad_fn`` in tests/test_graph_grad_fn.py.
GRAD_FN_BY_FUNCTION: dict[str, str | None] = {
    # layers
    "AdaptiveAvgPool2d": "AdaptiveAvgPool2DBackward0",  # torch shows MeanBackward1 for output 1x1
    "AvgPool2d": "AvgPool2DBackward0",
    "BatchNorm1d": "NativeBatchNormBackward0",
    "BatchNorm2d": "NativeBatchNormBackward0",
    "Conv1d": "ConvolutionBackward0",
    "Conv2d": "ConvolutionBackward0",
    "Dropout": "MulBackward0",  # train mode on CPU: input * mask / (1 - p); eval: no node
    "ELU": "EluBackward0",
    "Embedding": "EmbeddingBackward0",
    "Flatten": "ViewBackward0",
    "GELU": "GeluBackward0",
    "GroupNorm": "NativeGroupNormBackward0",
    "LayerNorm": "NativeLayerNormBackward0",
    "LeakyReLU": "LeakyReluBackward0",
    "Linear": "AddmmBackward0",
    "LogSoftmax": "LogSoftmaxBackward0",
    "MaxPool2d": "MaxPool2DWithIndicesBackward0",
    "ReLU": "ReluBackward0",
    "SiLU": "SiluBackward0",
    "Sigmoid": "SigmoidBackward0",
    "Softmax": "SoftmaxBackward0",
    "Tanh": "TanhBackward0",
    # losses (torch.nn.functional names)
    "binary_cross_entropy": "BinaryCrossEntropyBackward0",
    "binary_cross_entropy_with_logits": "BinaryCrossEntropyWithLogitsBackward0",
    "cross_entropy": "NllLossBackward0",
    "huber_loss": "HuberLossBackward0",
    "l1_loss": "MeanBackward0",  # torch computes abs(input - target).mean(): the last is Mean
    "mse_loss": "MseLossBackward0",
    "nll_loss": "NllLossBackward0",
    "smooth_l1_loss": "SmoothL1LossBackward0",
    # functions
    "conv2d": "ConvolutionBackward0",
    "flatten": "ViewBackward0",
    "linear": "AddmmBackward0",
    "log_softmax": "LogSoftmaxBackward0",
    "logaddexp": "LogAddExpBackward0",
    "logsumexp": "LogsumexpBackward0",
    "matmul": "MmBackward0",
    "mean": "MeanBackward0",
    "relu": "ReluBackward0",
    "sigmoid": "SigmoidBackward0",
    "softmax": "SoftmaxBackward0",
    "softplus": "SoftplusBackward0",
    "sum": "SumBackward0",
    "tanh": "TanhBackward0",
    "where": "WhereBackward0",
}
"""torch's ``grad_fn`` name for each funcgrad layer, loss or function that traces as one call."""

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
