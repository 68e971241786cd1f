"""Property tests: LayerNorm, GroupNorm and BatchNorm against live torch, in train and eval mode.

Each case draws the normalised shape or the groups, the leading and spatial axes (batch sizes 0 and
1 included), the affine options, eps and the dtype; torch's parameters and running statistics are
randomised so every one enters the comparison. Values, gradients w.r.t. input and parameters, and
(BatchNorm) the returned running statistics are compared with torch's after the same call.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np
import torch
from _properties import (
    assert_both_raise,
    assert_close,
    batch_sizes,
    check_vjp,
    dtypes,
    property_test,
    randomise,
    seeds,
    torch_dtype,
    torch_params,
    x64,
)
from hypothesis import strategies as st

import funcgrad as fg

epsilons = st.sampled_from([1e-5, 1e-3, 0.1])


def _x(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape) * 2.0 + 0.5


@st.composite
def layer_norms(draw: st.DrawFn) -> tuple[Any, tuple[int, ...]]:
    """``normalized_shape`` (an int, list or tuple of the trailing axes) and the input shape."""
    normalized = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    lead = tuple(draw(st.lists(batch_sizes, max_size=2)))
    form = draw(
        st.sampled_from(["int", "list", "tuple"] if len(normalized) == 1 else ["list", "tuple"])
    )
    arg = {"int": normalized[0], "list": list(normalized), "tuple": normalized}[form]
    return arg, lead + normalized


@property_test(
    case=layer_norms(),
    affine=st.booleans(),
    bias=st.booleans(),
    eps=epsilons,
    dtype=dtypes,
    seed=seeds,
)
def test_layer_norm_matches_torch(
    case: tuple[Any, tuple[int, ...]], affine: bool, bias: bool, eps: float, dtype: type, seed: int
) -> None:
    """``fg.nn.LayerNorm`` over 1-3 trailing axes, 0-2 leading ones, with and without affine."""
    normalized, shape = case
    args = (normalized, eps, affine, bias)
    ref = randomise(torch.nn.LayerNorm(*args, dtype=torch_dtype(dtype)), seed)
    layer = fg.nn.LayerNorm(*args)
    _check_stateless(ref, layer, shape, seed, dtype)


def _check_stateless(ref: Any, layer: Any, shape: tuple[int, ...], seed: int, dtype: type) -> None:
    """Value and VJP (params and input) of a layer without buffers against its torch twin."""
    with x64(dtype):
        check_vjp(
            lambda p, x: torch.func.functional_call(ref, p, (x,)),
            layer.apply,
            [torch_params(ref), _x(shape, seed)],
            dtype,
            wrt=(0, 1),
        )


@st.composite
def group_norms(draw: st.DrawFn) -> tuple[int, int, tuple[int, ...]]:
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 3))
    n = draw(st.integers(0, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    if n * channels // groups * math.prod(spatial) == 1:
        n = 2  # torch refuses this one case, one value per group (funcgrad returns the bias)
    return groups, channels, (n, channels, *spatial)


@property_test(case=group_norms(), affine=st.booleans(), eps=epsilons, dtype=dtypes, seed=seeds)
def test_group_norm_matches_torch(
    case: tuple[int, int, tuple[int, ...]], affine: bool, eps: float, dtype: type, seed: int
) -> None:
    """``fg.nn.GroupNorm`` for every ``num_groups`` dividing the channels, 0-2 spatial axes."""
    groups, channels, shape = case
    ref = randomise(
        torch.nn.GroupNorm(groups, channels, eps, affine, dtype=torch_dtype(dtype)), seed
    )
    layer = fg.nn.GroupNorm(groups, channels, eps, affine)
    _check_stateless(ref, layer, shape, seed, dtype)


@st.composite
def batch_norms(draw: st.DrawFn) -> dict[str, Any]:
    name, spatial_dims = draw(
        st.sampled_from([("BatchNorm1d", 0), ("BatchNorm1d", 1), ("BatchNorm2d", 2)])
    )
    c = draw(st.integers(1, 4))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(spatial_dims))
    train, track = draw(st.booleans()), draw(st.booleans())
    batch_stats = train or not track
    # Batch statistics need more than one value per channel (both raise otherwise: see the invalid
    # test); an empty batch is fine.
    n = draw(batch_sizes)
    if batch_stats and n * math.prod(spatial) == 1:
        n = 2
    return {
        "name": name,
        "args": (
            c,
            draw(epsilons),
            draw(st.sampled_from([0.1, None, 0.5])),
            draw(st.booleans()),
            track,
        ),
        "bias": draw(st.booleans()),
        "train": train,
        "shape": (n, c, *spatial),
    }


@property_test(weight=1.5, case=batch_norms(), dtype=dtypes, seed=seeds)
def test_batch_norm_matches_torch(case: dict[str, Any], dtype: type, seed: int) -> None:
    """``fg.nn.BatchNorm1d``/``2d``: train and eval, momentum (``None`` too), affine, tracking."""
    ref = getattr(torch.nn, case["name"])(
        *case["args"], bias=case["bias"], dtype=torch_dtype(dtype)
    )
    ref = randomise(ref, seed).train(case["train"])
    if ref.num_batches_tracked is not None:  # momentum=None weighs the next batch 1 / (count + 1)
        ref.num_batches_tracked.fill_(seed % 5)
    layer = getattr(fg.nn, case["name"])(*case["args"], bias=case["bias"])
    buffers = {name: b.numpy().copy() for name, b in ref.named_buffers()}

    def torch_step(p: Any, x: torch.Tensor, b: Any) -> Any:
        out = torch.func.functional_call(ref, {**p, **b}, (x,))  # updates b in place
        return out, {name: t.numpy().copy() for name, t in b.items()}

    def fg_step(p: Any, x: Any, b: Any) -> Any:
        return layer.apply(p, x, buffers=b, train=case["train"])

    with x64(dtype):
        got, want = check_vjp(
            torch_step,
            fg_step,
            [torch_params(ref), _x(case["shape"], seed), buffers],
            dtype,
            wrt=(0, 1),
            has_aux=True,
        )
        assert sorted(got) == sorted(want), f"buffer names {sorted(got)} != {sorted(want)}"
        for name, b in want.items():
            if name == "num_batches_tracked":
                assert int(got[name]) == int(b), f"{name}: {got[name]} != {b}"
            else:
                assert got[name].dtype == dtype, f"{name} dtype {got[name].dtype}"
                assert_close(got[name], b, dtype, name)


def _invalid_norms(n: int, c: int) -> dict[str, tuple[Any, Any, tuple[int, ...], str]]:
    """What is wrong: torch's layer, funcgrad's, the input shape, the name funcgrad must use."""
    return {
        "num_groups": (
            lambda lib: lib.GroupNorm(c + 1, 2 * c + 1),
            None,
            (n, 2 * c + 1),
            "num_groups",
        ),
        "group_channels": (lambda lib: lib.GroupNorm(1, c), None, (n, c + 1), "num_channels"),
        "normalized_shape": (
            lambda lib: lib.LayerNorm([c, 2]),
            None,
            (n, c, 3),
            "normalized_shape",
        ),
        "too_few_axes": (lambda lib: lib.LayerNorm([n, c, 2]), None, (c, 2), "normalized_shape"),
        "num_features": (lambda lib: lib.BatchNorm1d(c), False, (n + 1, c + 1), "num_features"),
        "one_value_per_channel": (lambda lib: lib.BatchNorm1d(c), True, (1, c), "train"),
        "one_pixel_per_channel": (lambda lib: lib.BatchNorm2d(c), True, (1, c, 1, 1), "train"),
    }


@property_test(weight=0.5, n=st.integers(1, 3), c=st.integers(1, 4))
def test_invalid_norm_configs_raise_in_both(n: int, c: int) -> None:
    """Groups not dividing channels, shapes that do not match, one value per channel in training."""
    for kind, (make, train, shape, arg) in _invalid_norms(n, c).items():
        x = np.ones(shape, np.float32)

        def fg_call(make: Any = make, train: Any = train, x: np.ndarray = x) -> Any:
            layer = make(fg.nn)
            params = layer.init(None)
            if train is None:
                return layer.apply(params, jnp.asarray(x))
            return layer.apply(params, jnp.asarray(x), buffers=layer.init_buffers(), train=train)

        def torch_call(make: Any = make, train: Any = train, x: np.ndarray = x) -> Any:
            return make(torch.nn).train(bool(train))(torch.tensor(x))

        try:
            assert_both_raise(torch_call, fg_call, [arg])
        except AssertionError as e:
            raise AssertionError(f"{kind} (input {shape}): {e}") from None


def test_group_norm_on_an_empty_batch() -> None:
    layer = fg.nn.GroupNorm(1, 3)
    y = layer.apply(layer.init(None), jnp.zeros((0, 3, 2)))
    assert y.shape == tuple(torch.nn.GroupNorm(1, 3)(torch.zeros(0, 3, 2)).shape)


def test_batch_norm_trains_on_an_empty_batch() -> None:
    ref = torch.nn.BatchNorm1d(3).train()
    out = ref(torch.zeros(0, 3))
    layer = fg.nn.BatchNorm1d(3)
    y, buffers = layer.apply(
        layer.init(None), jnp.zeros((0, 3)), buffers=layer.init_buffers(), train=True
    )
    assert y.shape == tuple(out.shape)
    for name, b in ref.named_buffers():
        np.testing.assert_array_equal(np.asarray(buffers[name]), b.numpy(), err_msg=name)
