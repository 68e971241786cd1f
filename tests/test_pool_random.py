"""FractionalMaxPool2d / 3d: exactly torch's windows given torch's samples, statistically torch's
distribution of windows when drawn from a key."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _layer_samples import _numpy
from _torch_samples import check_op_sample, op_info, op_samples

import funcgrad as fg
from funcgrad.nn import functional as F

OPS = ["nn.functional.fractional_max_pool2d", "nn.functional.fractional_max_pool3d"]


# Every sample compiles alone (about 2 s each): `make test` runs the first four of a spread of
# sixteen, `make test-exhaustive` the rest (tests/conftest.py marks the part "rest").
PARTS = {"first": slice(0, 4), "rest": slice(4, 16)}


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("op", OPS)
def test_every_op_db_sample_matches_torch_given_its_samples(dtype, op, part):
    """op_db's samples draw their windows in torch; here the same uniform draws go to both sides,
    so values, indices and the VJP must agree exactly (not only in distribution)."""
    n = int(op[-2])
    fn = getattr(F, op.rsplit(".", 1)[1])
    samples = op_samples(op, dtype, limit=16)
    assert len(samples) >= 12
    for i, sample in list(enumerate(samples))[PARTS[part]]:
        x = sample.input
        if "_random_samples" not in sample.kwargs:
            batch = 1 if x.dim() == n + 1 else x.shape[0]
            torch.manual_seed(i)
            u = torch.rand(batch, x.shape[-n - 1], n, dtype=x.dtype)
            sample.kwargs = {**sample.kwargs, "_random_samples": u}
        check_op_sample(op_info(op).op, fn, sample, dtype)


def _start_means(values: np.ndarray, n_planes: int) -> np.ndarray:
    return values.reshape(n_planes, -1).mean(0)


@pytest.mark.parametrize("n", [2, 3])
def test_windows_drawn_from_a_key_follow_torchs_distribution(n):
    """With ``x = arange`` each window's maximum is its last element, so the indices give the
    windows' starts: their mean per output position matches torch's own random draws."""
    planes, size, out = 4000, 9, 4
    shape = (planes, 1) + (size,) * n
    x = np.broadcast_to(np.arange(size**n, dtype=np.float32).reshape((size,) * n), shape)
    fn = getattr(F, f"fractional_max_pool{n}d")
    _, ours = fn(jnp.asarray(x), 2, output_size=out, return_indices=True, key=jax.random.key(0))
    _, theirs = getattr(torch.nn.functional, f"fractional_max_pool{n}d")(
        torch.tensor(x), 2, output_size=out, return_indices=True
    )
    ours, theirs = np.asarray(ours).astype(np.float64), theirs.numpy().astype(np.float64)
    spread = theirs.reshape(planes, -1).std(0)
    bound = 6 * np.sqrt(2.0 / planes) * np.maximum(spread, 1e-9)  # six standard errors
    assert (np.abs(_start_means(ours, planes) - _start_means(theirs, planes)) <= bound).all()
    assert spread.max() > 0  # the windows do move


def test_same_key_same_windows_and_the_gradient_follows_them():
    layer = fg.nn.FractionalMaxPool2d(2, output_ratio=0.5, return_indices=True)
    # 11 -> 5 windows of 2: starts spaced 9/4 apart, so they move with the draw (10 -> 5 would
    # space them exactly 2 apart, the same windows for every draw)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 3, 11, 11)), jnp.float32)
    k = jax.random.key(3)
    (v1, i1), (v2, i2) = layer.apply({}, x, key=k), jax.jit(layer.apply)({}, x, key=k)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(i1, i2)
    assert not np.array_equal(i1, layer.apply({}, x, key=jax.random.key(4))[1])
    g = jax.grad(lambda x: layer.apply({}, x, key=k)[0].sum())(x)
    flat = np.zeros((2, 3, 121))
    np.put_along_axis(flat, np.asarray(i1).reshape(2, 3, -1), 1.0, axis=-1)
    np.testing.assert_array_equal(np.asarray(g).reshape(2, 3, -1), flat)


def test_a_torch_module_with_samples_keeps_them_as_its_buffer():
    u = torch.rand(1, 3, 2, dtype=torch.float64)
    ref = torch.nn.FractionalMaxPool2d(2, output_size=(4, 3), _random_samples=u)
    layer = fg.nn.FractionalMaxPool2d(2, output_size=(4, 3), _random_samples=_numpy(u, np.float64))
    hash(layer)  # still a static argument for jax.jit
    with jax.enable_x64(True):
        buffers = layer.init_buffers()
        np.testing.assert_array_equal(np.asarray(buffers["_random_samples"]), u.numpy())
        x = np.random.default_rng(0).standard_normal((1, 3, 7, 6))
        y, new = layer.apply({}, jnp.asarray(x), buffers=buffers)
        np.testing.assert_array_equal(np.asarray(y), ref(torch.tensor(x)).numpy())
        assert new is buffers


def test_no_key_and_no_samples_is_refused_in_eval_too():
    with pytest.raises(fg.nn.ModuleError, match="FractionalMaxPool3d draws random windows"):
        fg.nn.FractionalMaxPool3d(2, output_size=2).apply({}, jnp.ones((1, 1, 4, 4, 4)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of output_size and output_ratio"),
        ({"output_size": 2, "output_ratio": 0.5}, "exactly one of output_size and output_ratio"),
        ({"output_ratio": 1.5}, "between 0 and 1"),
    ],
)
def test_constructor_errors_as_torch(kwargs, message):
    with pytest.raises(ValueError):
        torch.nn.FractionalMaxPool2d(2, **kwargs)
    with pytest.raises(fg.nn.ConfigError, match=f"FractionalMaxPool2d: .*{message}"):
        fg.nn.FractionalMaxPool2d(2, **kwargs)


def test_an_output_too_large_for_the_input_is_refused():
    with pytest.raises(RuntimeError):
        torch.nn.functional.fractional_max_pool2d(torch.ones(1, 1, 5, 5), 3, output_size=4)
    with pytest.raises(fg.nn.ModuleError, match="FractionalMaxPool2d: .*use a smaller output_size"):
        fg.nn.FractionalMaxPool2d(3, output_size=4).apply(
            {}, jnp.ones((1, 1, 5, 5)), key=jax.random.key(0)
        )
