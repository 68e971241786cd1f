"""fg.nn.Sequential: torch's state_dict keys, composition, and named layers."""

from collections import OrderedDict

import jax
import numpy as np
import pytest
import torch
from _parity import check_module
from jax.test_util import check_grads

import funcgrad as fg


def _pair():
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(48, 5),
        torch.nn.Tanh(),
        torch.nn.Linear(5, 2),
        torch.nn.Sigmoid(),
    )
    ours = fg.nn.Sequential(
        fg.nn.Conv2d(1, 3, 3), fg.nn.ReLU(), fg.nn.Flatten(), fg.nn.Linear(48, 5),
        fg.nn.Tanh(), fg.nn.Linear(5, 2), fg.nn.Sigmoid(),
    )  # fmt: skip
    return ref, ours


def test_keys_match_torch_state_dict():
    ref, ours = _pair()
    flat = fg.flatten_dict(ours.init(jax.random.PRNGKey(0)))
    assert {k: v.shape for k, v in flat.items()} == {
        k: tuple(v.shape) for k, v in ref.state_dict().items()
    }


def test_matches_torch(dtype):
    torch.manual_seed(0)
    ref, ours = _pair()
    check_module(ref, ours, np.random.default_rng(0).standard_normal((4, 1, 6, 6)), dtype)


def test_named_layers_like_torch_ordered_dict():
    ref = torch.nn.Sequential(OrderedDict(fc=torch.nn.Linear(3, 2), act=torch.nn.ReLU()))
    ours = fg.nn.Sequential({"fc": fg.nn.Linear(3, 2), "act": fg.nn.ReLU()})
    assert list(fg.flatten_dict(ours.init(jax.random.PRNGKey(0)))) == list(ref.state_dict())


def test_finite_differences(x64):
    net = fg.nn.Sequential(fg.nn.Linear(3, 4), fg.nn.Tanh(), fg.nn.Linear(4, 2))
    params = net.init(jax.random.PRNGKey(0))
    check_grads(jax.jit(net.apply), (params, np.ones((2, 3))), order=2, modes=("fwd", "rev"))


def test_rejects_non_module():
    with pytest.raises(TypeError, match="not a funcgrad Module"):
        fg.nn.Sequential(fg.nn.ReLU(), torch.nn.ReLU())


def test_init_folds_each_layers_key_from_its_name():
    """As apply does: adding a layer leaves the other layers' initial weights as they were."""
    key = jax.random.PRNGKey(0)
    small = fg.nn.Sequential({"a": fg.nn.Linear(3, 4), "b": fg.nn.Linear(4, 2)})
    grown = fg.nn.Sequential(
        {"a": fg.nn.Linear(3, 4), "new": fg.nn.Linear(4, 4), "b": fg.nn.Linear(4, 2)}
    )
    p_small, p_grown = small.init(key), grown.init(key)
    for name in ("a", "b"):
        want = fg.nn.Linear(*small.layers[small.names.index(name)].__dict__.values()).init(
            fg.nn.child_key(key, name)
        )
        for k in ("weight", "bias"):
            np.testing.assert_array_equal(p_small[name][k], p_grown[name][k])
            np.testing.assert_array_equal(p_small[name][k], want[k])
    assert not np.array_equal(p_small["a"]["bias"], p_grown["new"]["bias"][:4])
