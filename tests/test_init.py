"""init draws from PyTorch's default distribution U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

The expected range and variance come from closed form (a uniform on [-b, b] has variance b^2/3), and
PyTorch's own initialiser is sampled live as a second reference.
"""

import math

import jax
import numpy as np
import pytest
import torch

import funcgrad as fg

N_DRAWS = 50


def _draws(layer, n: int) -> dict[str, np.ndarray]:
    keys = jax.random.split(jax.random.PRNGKey(0), n)
    params = jax.vmap(layer.init)(keys)
    return {k: np.asarray(v).ravel() for k, v in params.items()}


def _torch_draws(make, n: int) -> dict[str, np.ndarray]:
    torch.manual_seed(0)
    sds = [make().state_dict() for _ in range(n)]
    return {k: np.concatenate([sd[k].numpy().ravel() for sd in sds]) for k in sds[0]}


@pytest.mark.parametrize(
    "layer, make, fan_in",
    [
        (fg.nn.Linear(64, 32), lambda: torch.nn.Linear(64, 32), 64),
        (fg.nn.Linear(7, 200), lambda: torch.nn.Linear(7, 200), 7),
        (fg.nn.Conv2d(3, 16, 5), lambda: torch.nn.Conv2d(3, 16, 5), 75),
        # fan_in = in_channels / groups * prod(kernel_size)
        (fg.nn.Conv2d(8, 16, 3, groups=4), lambda: torch.nn.Conv2d(8, 16, 3, groups=4), 18),
        (fg.nn.Conv1d(6, 12, 4, groups=3), lambda: torch.nn.Conv1d(6, 12, 4, groups=3), 8),
    ],
)
def test_matches_torch_distribution(layer, make, fan_in):
    bound = 1 / math.sqrt(fan_in)
    ours, theirs = _draws(layer, N_DRAWS * 4), _torch_draws(make, N_DRAWS)
    for name, values in ours.items():
        n = values.size
        # Range: inside [-b, b], and reaching close to both ends.
        assert values.min() >= -bound and values.max() <= bound, name
        assert values.min() < -0.98 * bound and values.max() > 0.98 * bound, name
        # Mean 0 and variance b^2/3, each within 5 standard errors.
        var = bound**2 / 3
        assert abs(values.mean()) < 5 * math.sqrt(var / n), name
        se_var = math.sqrt((bound**4 / 5 - var**2) / n)
        assert abs(values.var() - var) < 5 * se_var, name
        # PyTorch's own draws have the same variance and range.
        assert abs(values.var() - theirs[name].var()) < 5 * (se_var + 2 * var / math.sqrt(n)), name
        assert np.abs(theirs[name]).max() <= bound + 1e-7, name


def test_same_key_same_params_different_key_different_params():
    layer = fg.nn.Linear(4, 3)
    a, b = layer.init(jax.random.PRNGKey(1)), layer.init(jax.random.PRNGKey(1))
    c = layer.init(jax.random.PRNGKey(2))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["weight"], c["weight"])


def test_float64_under_x64(x64):
    params = fg.models.MyNet(6, 4, 3, 2).init(jax.random.PRNGKey(0))
    assert {p.dtype for p in jax.tree.leaves(params)} == {np.dtype("float64")}
