"""fg.graph's grad_fn table vs the grad_fn torch really records, live, for each layer and loss.

The cases come from the layer table (``fg.nn.LAYERS``, ``fg.nn.LOSSES``): a new layer is checked
as soon as it is registered. Layers built with no arguments on an ``(N, D)`` input need no line
here; the others say their constructor arguments and input below.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _layer_samples import NO_MODULE_DB, first_sample

import funcgrad as fg
from funcgrad.graph import GRAD_FN_BY_FUNCTION

N, C, H, D = 2, 4, 8, 6

# torch class name -> (constructor args, input shape; None: the integer input (1, 2)) for the
# layers that need more than ``Layer()`` on an ``(N, D)`` input. The same call builds both sides.
CASES: dict[str, tuple[tuple, tuple[int, ...] | None]] = {
    "AdaptiveAvgPool2d": ((3,), (N, C, H, H)),
    "AvgPool2d": ((2,), (N, C, H, H)),
    "BatchNorm1d": ((D,), (N, D)),
    "BatchNorm2d": ((C,), (N, C, H, H)),
    "Conv1d": ((C, 3, 3), (N, C, H)),
    "Conv2d": ((C, 3, 3), (N, C, H, H)),
    "Dropout": ((0.5,), (N, D)),
    "Dropout2d": ((0.5,), (N, C, H, H)),
    "Embedding": ((10, 3), None),
    "Softmax2d": ((), (N, C, H, H)),
    "Flatten": ((), (N, C, H)),  # on (N, D) torch returns the input itself: no node
    "GroupNorm": ((2, C), (N, C, H, H)),
    "LayerNorm": ((D,), (N, D)),
    "Linear": ((D, 3), (N, D)),
    "LogSoftmax": ((-1,), (N, D)),
    "MaxPool2d": ((2,), (N, C, H, H)),
    "Softmax": ((-1,), (N, D)),
    "Dropout1d": ((0.5,), (N, C, H)),  # on (N, D), one example (C, L): torch squeezes last
    "Dropout3d": ((0.5,), (N, C, 2, 2, 2)),
    "Upsample": ((None, 2.0), (N, C, H, H)),
    "UpsamplingNearest2d": ((None, 2.0), (N, C, H, H)),
    "UpsamplingBilinear2d": ((None, 2.0), (N, C, H, H)),
    "Unflatten": ((1, (2, 3)), (N, D)),
    "PixelShuffle": ((2,), (N, C, H, H)),
    "PixelUnshuffle": ((2,), (N, C, H, H)),
    "ChannelShuffle": ((2,), (N, C, H, H)),
    # recurrent: batched (an unbatched input's output is squeezed: SqueezeBackward1)
    "RNN": ((D, 3), (5, N, D)),
    "LSTM": ((D, 3), (5, N, D)),
    "GRU": ((D, 3), (5, N, D)),
    "RNNCell": ((D, 3), (N, D)),
    "LSTMCell": ((D, 3), (N, D)),
    "GRUCell": ((D, 3), (N, D)),
}


# Layers of several inputs whose first module_db sample is unbatched (torch squeezes its output):
# (constructor args, inputs) of a batched call.
_R = np.random.default_rng(0)
INPUTS = {
    "MultiheadAttention": (
        (4, 2),
        tuple(_R.standard_normal((3, N, 4)).astype(np.float32) for _ in range(3)),
    ),
}


def _one_input(name):
    """Whether torch's ``forward`` of the layer needs one input (Transformer's needs two)."""
    params = list(inspect.signature(getattr(torch.nn, name).forward).parameters.values())[1:]
    return sum(p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD for p in params) == 1


def _builds_bare(name):
    try:
        getattr(torch.nn, name)()
    except TypeError:  # a required constructor argument
        return False
    return True


def _example(name):
    """(constructor args, kwargs, funcgrad inputs, torch inputs) of the layer's case."""
    if name in INPUTS:
        args, inputs = INPUTS[name]
        t_inputs = tuple(torch.tensor(a, requires_grad=True) for a in inputs)
        return args, {}, tuple(map(jnp.asarray, inputs)), t_inputs
    if name in CASES or (name not in NO_MODULE_DB and _builds_bare(name) and _one_input(name)):
        args, shape = CASES.get(name, ((), (N, D)))
        if shape is None:
            return args, {}, (jnp.array([1, 2]),), (torch.tensor([1, 2]),)
        return args, {}, (jnp.ones(shape),), (torch.randn(*shape, requires_grad=True),)
    args, kwargs, inputs = first_sample(name)  # torch's first module_db sample: every input

    def to_torch(a):
        if np.issubdtype(a.dtype, np.floating):
            return torch.tensor(a, requires_grad=True)
        return torch.tensor(a)

    return args, kwargs, jax.tree.map(jnp.asarray, inputs), jax.tree.map(to_torch, inputs)


def _torch_grad_fn(name, args, kwargs, inputs):
    """The grad_fn torch records for the layer's output, in train mode (None: no node)."""
    torch.manual_seed(0)
    y = getattr(torch.nn, name)(*args, **kwargs).float().train()(*inputs)
    y = y[0] if isinstance(y, tuple) else y  # recurrent layers, attention: the output
    return None if y.grad_fn is None else type(y.grad_fn).__name__


# Layers made of layers: fg.graph draws their children's operations, torch's output carries the
# last one's grad_fn.
COMPOSITE = {
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerDecoder",
    "Transformer",
}


@pytest.mark.parametrize("name", sorted(fg.nn.LAYERS))
def test_layer_grad_fn_is_torchs(name):
    entry = fg.nn.LAYERS[name]
    args, kwargs, inputs, t_inputs = _example(name)
    want = _torch_grad_fn(name, args, kwargs, t_inputs)
    assert GRAD_FN_BY_FUNCTION[name] == want == entry.grad_fn
    layer = entry.module(*args, **kwargs)
    params = layer.init(jax.random.PRNGKey(0))

    def run(params, x):
        buffers = layer.init_buffers()
        y, _ = layer.apply(params, *x, buffers=buffers, train=True, key=jax.random.PRNGKey(1))
        return y[0] if isinstance(y, tuple) else y

    floats = any(jnp.issubdtype(a.dtype, jnp.floating) for a in jax.tree.leaves(inputs))
    wrt = [w for w, has in [("params", jax.tree.leaves(params)), ("x", floats)] if has]
    g = trace(run, params, inputs, wrt=tuple(wrt))
    if name in COMPOSITE:
        assert g.grad_fns[-1:] == [want], g.table()
    else:
        assert g.grad_fns == ([] if want is None else [want]), g.table()


# Inputs and targets of each loss, where the default (input: ones (N, D) in funcgrad, randn in
# torch; target: zeros (N, D)) does not fit: probabilities, log-probabilities, class indices.
_CLASSES = np.array([0, 1])
LOSS_INPUTS = {
    "binary_cross_entropy": (lambda x: torch.sigmoid(x), 0.25, None),
    "cross_entropy": (None, None, _CLASSES),
    "nll_loss": (lambda x: torch.log_softmax(x, -1), None, _CLASSES),
    "multi_margin_loss": (None, None, _CLASSES),
    "multilabel_margin_loss": (None, None, np.array([[1, 0, -1, 0, 0, 0], [2, -1, 0, 0, 0, 0]])),
}

# Losses of more inputs than (input, target): one call written for both libraries, given the
# functional namespace, the input and ``t`` (torch.tensor or jnp.asarray).
_ONES = np.ones((N, D), np.float32)
LOSS_CALLS = {
    "cosine_embedding_loss": lambda L, x, t: L.cosine_embedding_loss(x, t(_ONES), t(_ONES[:, 0])),
    "gaussian_nll_loss": lambda L, x, t: L.gaussian_nll_loss(x, t(0 * _ONES), t(_ONES)),
    "margin_ranking_loss": lambda L, x, t: L.margin_ranking_loss(x, t(0 * _ONES), t(_ONES)),
    "triplet_margin_loss": lambda L, x, t: L.triplet_margin_loss(x, t(0 * _ONES), t(_ONES)),
    "triplet_margin_with_distance_loss": lambda L, x, t: L.triplet_margin_with_distance_loss(
        x, t(0 * _ONES), t(_ONES)
    ),
    "linear_cross_entropy": lambda L, x, t: L.linear_cross_entropy(
        x, t(np.ones((3, D), np.float32)), t(_CLASSES)
    ),
    # (T, C) log-probabilities of one sequence: N frames, D classes
    "ctc_loss": lambda L, x, t: L.ctc_loss(x, t(np.array([1])), t(np.array(N)), t(np.array(1))),
}


@pytest.mark.parametrize("name", sorted(e.functional.__name__ for e in fg.nn.LOSSES.values()))
def test_loss_grad_fn_is_torchs(name):
    (entry,) = [e for e in fg.nn.LOSSES.values() if e.functional.__name__ == name]
    prepare, fill, classes = LOSS_INPUTS.get(name, (None, None, None))
    x = torch.randn(N, D)
    x = (prepare(x) if prepare else x).detach().requires_grad_(True)
    if name in LOSS_CALLS:
        out = LOSS_CALLS[name](torch.nn.functional, x, torch.tensor)
        assert GRAD_FN_BY_FUNCTION[name] == type(out.grad_fn).__name__ == entry.grad_fn
        g = trace(lambda input: LOSS_CALLS[name](fg.losses, input, jnp.asarray), jnp.ones((N, D)))
        assert g.grad_fns == [GRAD_FN_BY_FUNCTION[name]], g.table()
        return
    t_target = torch.zeros(N, D) if classes is None else torch.from_numpy(classes)
    out = getattr(torch.nn.functional, name)(x, t_target)
    assert GRAD_FN_BY_FUNCTION[name] == type(out.grad_fn).__name__ == entry.grad_fn
    target = jnp.zeros((N, D)) if classes is None else jnp.asarray(classes)
    inp = jnp.full((N, D), 1.0 if fill is None else fill)
    g = trace(lambda input: entry.functional(input, target), inp)
    assert g.grad_fns == [GRAD_FN_BY_FUNCTION[name]], g.table()


def test_a_functional_is_labelled_as_its_layer():
    """A jitted functional is one call named after it, labelled as its layer (from the registry)."""
    F = fg.nn.functional
    x = jnp.ones((N, C, H, H))
    g = trace(lambda x: jax.jit(F.gelu)(jax.jit(F.conv2d)(x, jnp.ones((3, C, 3, 3)))), x)
    assert g.grad_fns == ["ConvolutionBackward0", "GeluBackward0"], g.table()
    for entry in fg.nn.LAYERS.values():
        if entry.functional is not None:
            assert GRAD_FN_BY_FUNCTION[entry.functional.__name__] == entry.grad_fn, entry.name


trace = fg.graph.trace
