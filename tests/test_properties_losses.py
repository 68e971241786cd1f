"""Property tests: ``fg.losses`` against live torch, over random shapes, weights and reductions.

Each case draws the layout (``(N, C)``, ``(N, C, d)`` or one ``(C,)`` example, batch sizes 0 and 1
included), class weights, ``ignore_index``, ``label_smoothing``, ``reduction`` and the dtype, then
compares the loss and its gradient w.r.t. every argument torch differentiates. Invalid arguments
are drawn on purpose: both must refuse them, funcgrad naming the argument.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from _properties import (
    assert_both_raise,
    batch_sizes,
    check_vjp,
    dtypes,
    property_test,
    seeds,
    x64,
)
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import funcgrad as fg

reductions = st.sampled_from(["mean", "sum", "none"])
smoothings = st.sampled_from([0.0, 0.1, 0.5, 1.0])


@st.composite
def class_layouts(draw: st.DrawFn) -> tuple[tuple[int, ...], int]:
    """An input shape with a class axis, and that axis: ``(C,)``, ``(N, C)`` or ``(N, C, d)``."""
    c = draw(st.integers(1, 5))
    layout = draw(st.sampled_from(["unbatched", "batch", "spatial"]))
    if layout == "unbatched":
        return (c,), 0
    n = draw(batch_sizes)
    return ((n, c) if layout == "batch" else (n, c, draw(st.integers(1, 3)))), 1


def _without(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    return shape[:axis] + shape[axis + 1 :]


@property_test(
    weight=1.5,
    which=st.sampled_from(["cross_entropy", "nll_loss"]),
    layout=class_layouts(),
    weighted=st.booleans(),
    ignore=st.sampled_from(["default", "class", "negative"]),
    smoothing=smoothings,
    reduction=reductions,
    dtype=dtypes,
    seed=seeds,
)
def test_class_index_losses_match_torch(
    which: str,
    layout: tuple[tuple[int, ...], int],
    weighted: bool,
    ignore: str,
    smoothing: float,
    reduction: str,
    dtype: type,
    seed: int,
) -> None:
    """``cross_entropy``/``nll_loss`` with class indices: weights, ``ignore_index``, smoothing."""
    shape, axis = layout
    c = shape[axis]
    rng = np.random.default_rng(seed)
    target = rng.integers(0, c, _without(shape, axis))
    ignore_index = {"default": -100, "class": int(rng.integers(0, c)), "negative": -1}[ignore]
    target = np.where(rng.random(target.shape) < 0.3, ignore_index, target)
    weight = rng.uniform(0.2, 2.0, c) if weighted else None
    kw: dict[str, Any] = {"ignore_index": ignore_index, "reduction": reduction}
    if which == "cross_entropy":
        kw["label_smoothing"] = smoothing
    t_loss, f_loss = getattr(tF, which), getattr(fg.losses, which)
    with x64(dtype):
        check_vjp(
            lambda x, y, w: t_loss(x, y, w, **kw),
            lambda x, y, w: f_loss(x, y, w, **kw),
            [rng.standard_normal(shape) * 2, target, weight],
            dtype,
        )


@property_test(
    layout=class_layouts(),
    weighted=st.booleans(),
    smoothing=smoothings,
    reduction=reductions,
    dtype=dtypes,
    seed=seeds,
)
def test_cross_entropy_with_probabilities_matches_torch(
    layout: tuple[tuple[int, ...], int],
    weighted: bool,
    smoothing: float,
    reduction: str,
    dtype: type,
    seed: int,
) -> None:
    """``cross_entropy`` with probability targets: gradients w.r.t. logits, target and weight."""
    shape, axis = layout
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape) * 2
    target = np.exp(rng.standard_normal(shape))
    target /= target.sum(axis, keepdims=True)
    c = shape[axis]
    args = [logits, target] + ([rng.uniform(0.2, 2.0, c)] if weighted else [])
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    with x64(dtype):
        check_vjp(
            lambda *a: tF.cross_entropy(*a, **kw),
            lambda *a: fg.losses.cross_entropy(*a, **kw),
            args,
            dtype,
            wrt=range(len(args)),
        )


shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


@property_test(
    weight=1.5,
    which=st.sampled_from(["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]),
    shape=shapes,
    weighted=st.booleans(),
    param=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    reduction=reductions,
    dtype=dtypes,
    seed=seeds,
)
def test_regression_losses_match_torch(
    which: str,
    shape: tuple[int, ...],
    weighted: bool,
    param: float,
    reduction: str,
    dtype: type,
    seed: int,
) -> None:
    """mse / l1 / smooth_l1 (``beta``) / huber (``delta``), element weights, every reduction."""
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal(shape) * 2, rng.standard_normal(shape)]
    kw: dict[str, Any] = {"reduction": reduction}
    if which == "smooth_l1_loss":
        kw["beta"] = param
    elif which == "huber_loss":
        kw["delta"] = param or 1.5  # delta must be > 0
    if weighted and which != "smooth_l1_loss":  # torch's smooth_l1_loss takes no weight
        args.append(rng.uniform(0.1, 2.0, shape))
    t_loss, f_loss = getattr(tF, which), getattr(fg.losses, which)

    def call(loss: Any) -> Any:
        return lambda x, y, *w: loss(x, y, **kw, **({"weight": w[0]} if w else {}))

    with x64(dtype):
        check_vjp(call(t_loss), call(f_loss), args, dtype, wrt=range(len(args)))


@st.composite
def broadcast_weights(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """None, the input's shape, or its trailing axes (torch broadcasts weight and pos_weight)."""
    options: list[tuple[int, ...] | None] = [None, shape] + ([shape[-1:]] if shape else [])
    return draw(st.sampled_from(options))


@st.composite
def binary_cases(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(shapes)
    logits = draw(st.booleans())
    return {
        "logits": logits,
        "shape": shape,
        "weight": draw(broadcast_weights(shape)),
        "pos_weight": draw(broadcast_weights(shape)) if logits else None,
        "hard": draw(st.booleans()),  # 0/1 targets or soft ones
        "scale": draw(st.sampled_from([1.0, 30.0])),  # large logits: the stable form matters
    }


@property_test(weight=1.5, case=binary_cases(), reduction=reductions, dtype=dtypes, seed=seeds)
def test_binary_cross_entropies_match_torch(
    case: dict[str, Any], reduction: str, dtype: type, seed: int
) -> None:
    """``binary_cross_entropy`` and ``..._with_logits`` (``weight``, ``pos_weight``, big logits)."""
    rng = np.random.default_rng(seed)
    shape = case["shape"]
    target = rng.random(shape)
    target = np.round(target) if case["hard"] else target
    weight = None if case["weight"] is None else rng.uniform(0.1, 2.0, case["weight"])
    if case["logits"]:
        x = rng.standard_normal(shape) * case["scale"]
        pos = None if case["pos_weight"] is None else rng.uniform(0.1, 3.0, case["pos_weight"])
        args = [x, target, weight, pos]
        t_loss = tF.binary_cross_entropy_with_logits
        f_loss = fg.losses.binary_cross_entropy_with_logits
    else:
        args = [rng.uniform(0.02, 0.98, shape), target, weight]
        t_loss, f_loss = tF.binary_cross_entropy, fg.losses.binary_cross_entropy
    with x64(dtype):
        check_vjp(
            lambda x, y, *rest: t_loss(x, y, rest[0], None, None, reduction, *rest[1:]),
            lambda x, y, *rest: f_loss(x, y, rest[0], reduction, *rest[1:]),
            args,
            dtype,
            wrt=(0, 1),
        )


def _invalid_losses(n: int, c: int) -> dict[str, tuple[str, tuple[Any, ...], dict[str, Any], str]]:
    """What is wrong: the loss, its args, kwargs, and the name funcgrad's message must use."""
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((n, c)), rng.integers(0, c, n)
    probs, same = np.full((n, c), 1.0 / c), rng.standard_normal((n, c))
    return {
        "reduction": ("cross_entropy", (x, labels), {"reduction": "avg"}, "reduction"),
        "nll_reduction": ("nll_loss", (x, labels), {"reduction": "batchmean"}, "reduction"),
        "mse_reduction": ("mse_loss", (x, same), {"reduction": "avg"}, "reduction"),
        "bce_reduction": (
            "binary_cross_entropy_with_logits",
            (x, probs),
            {"reduction": "elementwise"},
            "reduction",
        ),
        "class_weight": ("cross_entropy", (x, labels), {"weight": np.ones(c + 1)}, "weight"),
        "nll_weight": ("nll_loss", (x, labels), {"weight": np.ones(c + 2)}, "weight"),
        "label_smoothing": (
            "cross_entropy",
            (x, labels),
            {"label_smoothing": 1.5},
            "label_smoothing",
        ),
        "label_too_big": ("cross_entropy", (x, labels + c), {}, "target"),
        "label_negative": ("nll_loss", (x, labels - c - 1), {}, "target"),
        "target_shape": ("cross_entropy", (x, labels[:, None, None]), {}, "target"),
        "delta": ("huber_loss", (x, same), {"delta": 0.0}, "delta"),
        "beta": ("smooth_l1_loss", (x, same), {"beta": -1.0}, "beta"),
        "pos_weight": (
            "binary_cross_entropy_with_logits",
            (x, probs),
            {"pos_weight": np.ones(c + 1)},
            "pos_weight",
        ),
        "bce_weight": (
            "binary_cross_entropy",
            (probs, probs),
            {"weight": np.ones(c + 1)},
            "weight",
        ),
    }


# Not here: a negative label_smoothing, which torch 2.13 accepts (it only rejects > 1) and
# funcgrad refuses.
@property_test(weight=0.5, n=st.integers(1, 3), c=st.integers(1, 4))
def test_invalid_loss_arguments_raise_in_both(n: int, c: int) -> None:
    """Bad reductions, weights, labels, smoothing, delta, beta: both refuse, funcgrad names it."""
    for kind, (name, args, kwargs, arg) in _invalid_losses(n, c).items():

        def on(lib: Any, convert: Any, name: str = name, args: Any = args, kw: Any = kwargs) -> Any:
            kw = {k: convert(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
            return getattr(lib, name)(*map(convert, args), **kw)

        try:
            assert_both_raise(
                lambda on=on: on(tF, torch.tensor), lambda on=on: on(fg.losses, jnp.asarray), [arg]
            )
        except AssertionError as e:
            raise AssertionError(f"{kind}: {name} {kwargs}: {e}") from None


@pytest.mark.parametrize("which", ["cross_entropy", "nll_loss"])
def test_all_ignored_mean_gradient_is_zero(which: str) -> None:
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    target = np.full(3, -100)
    xt = torch.tensor(x, requires_grad=True)
    getattr(tF, which)(xt, torch.tensor(target)).backward()
    grad = jax.grad(lambda x: getattr(fg.losses, which)(x, jnp.asarray(target)))(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(grad), xt.grad.numpy())
