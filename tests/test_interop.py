"""fg.interop: exact round trips with torch state_dicts, buffers apart from params, clear errors.

The torch side is always live torch: state_dicts, their key order and their dtypes come from torch
modules built here, and the buffers after training steps from running torch's own forward.
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, torch_dtype
from _torch_models import TorchConvNet, TorchMyNet
from torch import nn

import funcgrad as fg

# -- a user's own modules with buffers, and their torch twins (register_buffer) ----------------


@dataclass(frozen=True)
class Tracker(fg.nn.Module):
    """Scales by a weight; in training keeps a running mean of its input and counts its steps."""

    n: int

    def init(self, key):
        return {"weight": jax.random.normal(key, (self.n,))}

    def init_buffers(self):
        return {"running_mean": jnp.zeros(self.n), "steps": jnp.zeros((), int)}

    def forward(self, params, x, *, buffers, train, key):
        if train:
            mean = 0.9 * buffers["running_mean"] + 0.1 * x.mean(0)
            buffers = {"running_mean": mean, "steps": buffers["steps"] + 1}
        return x * params["weight"][None, :], buffers


class TorchTracker(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))
        self.register_buffer("running_mean", torch.zeros(n))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        if self.training:
            with torch.no_grad():
                self.running_mean.mul_(0.9).add_(0.1 * x.mean(0))
                self.steps += 1
        return x * self.weight


@dataclass(frozen=True)
class Stats(fg.nn.Module):
    """Buffers and no params, like ``BatchNorm(affine=False)``."""

    n: int

    def init(self, key):
        return {}

    def init_buffers(self):
        return {"running_max": jnp.zeros(self.n), "seen": jnp.zeros((), int)}

    def forward(self, params, x, *, buffers, train, key):
        return x, buffers


class TorchStats(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer("running_max", torch.zeros(n))
        self.register_buffer("seen", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        return x


@dataclass(frozen=True)
class Block(fg.nn.Module):
    """Own param and buffer plus children; its dicts list children first, unlike torch."""

    def init(self, key):
        k = jax.random.split(key, 2)
        return {
            "fc": fg.nn.Linear(3, 3).init(k[0]),
            "out": fg.nn.Linear(3, 2).init(k[1]),
            "scale": jnp.ones(3),
        }

    def init_buffers(self):
        return {"stats": Stats(3).init_buffers(), "count": jnp.zeros((), int)}

    def stateless(self, params, x):  # not called: these tests are about names and values
        raise NotImplementedError


class TorchBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))
        # A buffers-only child after the children with params: two dicts alone cannot say where
        # torch registered a named one (to_torch's docstring), numbered ones they can.
        self.fc, self.out, self.stats = nn.Linear(3, 3), nn.Linear(3, 2), TorchStats(3)


def tracker_nets(dtype):
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Linear(4, 3), TorchTracker(3), nn.ReLU(), TorchTracker(3))
    model = fg.nn.Sequential(fg.nn.Linear(4, 3), Tracker(3), fg.nn.ReLU(), Tracker(3))
    return ref.to(torch_dtype(dtype)), model


def train_both(ref, model, params, buffers, xs, dtype):
    """Train-mode steps in torch and funcgrad; outputs agree, and so do the state_dicts after."""
    for x in xs.astype(dtype):
        y_ref = ref(torch.from_numpy(x))
        y, buffers = model.apply(params, jnp.asarray(x), buffers=buffers, train=True)
        assert_close(y, y_ref.detach().numpy(), dtype, "output")
    back = fg.interop.to_torch(params, buffers)
    for k, v in ref.state_dict().items():
        assert back[k].dtype == v.dtype, k
        assert_close(back[k].numpy(), v.numpy(), dtype, k)
    return back


def assert_same_state_dict(actual, expected):
    assert list(actual) == list(expected)
    for k, v in expected.items():
        assert actual[k].dtype == v.dtype and torch.equal(actual[k], v), k


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda: TorchMyNet(600, 60, 40, 10), lambda: TorchConvNet(10, (28, 28))],
)
@pytest.mark.parametrize("tdtype", [torch.float32, torch.float64])
def test_round_trip_is_exact(make, tdtype):
    with jax.enable_x64(tdtype == torch.float64):
        torch.manual_seed(0)
        sd = make().to(tdtype).state_dict()
        back = fg.interop.to_torch(fg.interop.from_torch(sd))
    assert_same_state_dict(back, sd)


def test_model_with_buffers_round_trips_bit_for_bit(dtype):
    ref, model = tracker_nets(dtype)
    ref(torch.randn(5, 4, dtype=torch_dtype(dtype)))  # running means and step counts move off 0
    params, buffers = fg.interop.from_torch(ref, like=model)
    assert sorted(params) == ["0", "1", "3"] and sorted(buffers) == ["1", "3"]
    assert buffers["1"]["running_mean"].dtype == dtype
    # torch's int64 counter: int64 under x64; JAX's int32 otherwise (exact below 2**31)
    assert buffers["3"]["steps"].dtype == jnp.zeros((), int).dtype
    assert int(buffers["3"]["steps"]) == 1
    assert_same_state_dict(fg.interop.to_torch(params, buffers), ref.state_dict())


def test_buffers_after_training_steps_match_torch(dtype):
    ref, model = tracker_nets(dtype)
    params, buffers = fg.interop.from_torch(ref, like=model)
    xs = np.random.default_rng(0).standard_normal((3, 5, 4))
    back = train_both(ref, model, params, buffers, xs, dtype)
    assert int(back["1.steps"]) == 3
    fresh = tracker_nets(dtype)[0]
    fresh.load_state_dict(back)  # strict: every name, shape and buffer fits


@pytest.mark.skipif(not hasattr(fg.nn, "BatchNorm2d"), reason="fg.nn.BatchNorm2d not there yet")
def test_batch_norm_model_round_trips_and_trains_like_torch(dtype):
    """fg.nn layers against torch's: buffers split out, torch's order, training steps agree."""
    torch.manual_seed(0)
    ref = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.BatchNorm2d(6, affine=False), nn.Flatten(), nn.Linear(6 * 7 * 7, 10),
    ).to(torch_dtype(dtype))  # fmt: skip
    model = fg.nn.Sequential(
        fg.nn.Conv2d(1, 6, 5, padding=2), fg.nn.BatchNorm2d(6), fg.nn.ReLU(), fg.nn.MaxPool2d(2),
        fg.nn.BatchNorm2d(6, affine=False), fg.nn.Flatten(), fg.nn.Linear(6 * 7 * 7, 10),
    )  # fmt: skip
    params, buffers = fg.interop.from_torch(ref, like=model)
    assert sorted(params) == ["0", "1", "6"] and sorted(buffers) == ["1", "4"]
    assert list(fg.interop.to_torch(params, buffers)) == list(ref.state_dict())
    assert_same_state_dict(fg.interop.to_torch(params, buffers), ref.state_dict())
    xs = np.random.default_rng(0).standard_normal((2, 4, 1, 14, 14))
    back = train_both(ref, model, params, buffers, xs, dtype)  # batch statistics, running ones move
    assert int(back["1.num_batches_tracked"]) == 2


def test_key_order_is_torchs():
    """Own parameters, own buffers, then children; numbered children in number order."""
    ref = TorchBlock()
    params, buffers = fg.interop.from_torch(ref, like=Block())
    assert list(fg.interop.to_torch(params, buffers)) == list(ref.state_dict())
    ref = nn.Sequential(nn.Linear(2, 2), TorchStats(2), nn.Linear(2, 1), TorchStats(1))
    model = fg.nn.Sequential(fg.nn.Linear(2, 2), Stats(2), fg.nn.Linear(2, 1), Stats(1))
    params, buffers = fg.interop.from_torch(ref, like=model)
    assert list(fg.interop.to_torch(params, buffers)) == list(ref.state_dict())
    # ... and for funcgrad's own fresh init, not only for what came from torch
    fg_sd = fg.interop.to_torch(model.init(jax.random.PRNGKey(0)), model.init_buffers())
    assert list(fg_sd) == list(ref.state_dict())
    ref.load_state_dict(fg_sd)


def test_from_init_loads_into_torch():
    net = fg.models.MyNet(6, 4, 3, 2)
    params = net.init(jax.random.PRNGKey(0))
    ref = TorchMyNet(6, 4, 3, 2)
    ref.load_state_dict(fg.interop.to_torch(params))  # strict: keys and shapes must match
    x = np.random.default_rng(0).standard_normal(6).astype(np.float32)
    np.testing.assert_allclose(
        ref(torch.tensor(x)).detach().numpy(), net.apply(params, x), rtol=1e-5, atol=1e-6
    )


def test_dotted_keys_nest():
    params = fg.interop.from_torch(TorchMyNet(6, 4, 3, 2))
    assert params["m0"]["weight"].shape == (4, 6)
    assert sorted(params) == ["m0", "m1", "m2"]


def test_bfloat16_round_trips():
    sd = nn.Linear(3, 2).to(torch.bfloat16).state_dict()
    params = fg.interop.from_torch(sd, like=fg.nn.Linear(3, 2))
    assert params["weight"].dtype == jnp.bfloat16
    assert_same_state_dict(fg.interop.to_torch(params), sd)


def test_params_do_not_alias_torch_tensors():
    ref = nn.Linear(3, 2)
    params = fg.interop.from_torch(ref)
    before = np.array(params["weight"])
    with torch.no_grad():
        ref.weight.add_(1.0)  # what optimizer.step() does
    np.testing.assert_array_equal(np.array(params["weight"]), before)
    sd = fg.interop.to_torch(params)
    sd["weight"].add_(1.0)
    np.testing.assert_array_equal(np.array(params["weight"]), before)


# -- what from_torch returns ---------------------------------------------------------------------


def test_params_only_model_returns_plain_params():
    params = fg.interop.from_torch(TorchMyNet(6, 4, 3, 2), like=fg.models.MyNet(6, 4, 3, 2))
    assert isinstance(params, dict) and sorted(params) == ["m0", "m1", "m2"]


def test_like_accepts_params_or_params_and_buffers():
    ref, model = tracker_nets(np.float32)
    params, buffers = model.init(jax.random.PRNGKey(0)), model.init_buffers()
    got_params, got_buffers = fg.interop.from_torch(ref, like=(params, buffers))
    assert sorted(got_buffers["1"]) == ["running_mean", "steps"]
    assert "running_mean" not in got_params["1"]
    with pytest.raises(fg.interop.StateDictMismatchError, match="unexpected buffer 1.steps"):
        fg.interop.from_torch(ref, like=params)
    with pytest.raises(fg.interop.StateDictMismatchError, match="missing parameter m0.weight"):
        fg.interop.from_torch({}, like=fg.models.MyNet(6, 4, 3, 2).init(jax.random.PRNGKey(0)))


def test_without_like_torch_module_splits_by_its_buffers():
    ref, _ = tracker_nets(np.float32)
    params, buffers = fg.interop.from_torch(ref)
    assert sorted(fg.flatten_dict(buffers)) == sorted(n for n, _ in ref.named_buffers())
    assert sorted(fg.flatten_dict(params)) == sorted(n for n, _ in ref.named_parameters())
    # a bare state_dict cannot tell buffers from parameters: all of it is params
    assert sorted(fg.flatten_dict(fg.interop.from_torch(ref.state_dict()))) == sorted(
        ref.state_dict()
    )


# -- errors --------------------------------------------------------------------------------------


def test_mismatch_lists_every_offending_entry_and_its_kind():
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Linear(4, 3), TorchTracker(3), TorchStats(2))
    model = fg.nn.Sequential(fg.nn.Linear(4, 3), Tracker(4), fg.nn.Linear(3, 1), Tracker(2))
    with pytest.raises(fg.interop.StateDictMismatchError) as err:
        fg.interop.from_torch(ref, like=model)
    msg = str(err.value)
    for problem in [
        "parameter 1.weight has shape (3,), expected (4,)",
        "buffer 1.running_mean has shape (3,), expected (4,)",
        "missing parameter 2.weight (1, 3)",
        "missing parameter 2.bias (1,)",
        "missing parameter 3.weight (2,)",
        "missing buffer 3.running_mean (2,)",
        "missing buffer 3.steps ()",
        "unexpected buffer 2.running_max (2,)",
        "unexpected buffer 2.seen ()",
    ]:
        assert problem in msg
    assert msg.count(";") == 8 and "\n" not in msg


def test_mismatch_in_a_bare_state_dict():
    sd = TorchMyNet(6, 4, 3, 2).state_dict()
    sd["extra.weight"] = torch.zeros(2)
    del sd["m2.bias"]
    sd["m1.weight"] = torch.zeros(5, 5)
    with pytest.raises(fg.interop.StateDictMismatchError) as err:
        fg.interop.from_torch(sd, like=fg.models.MyNet(6, 4, 3, 2))
    msg = str(err.value)
    assert "missing parameter m2.bias (2,)" in msg
    assert "unexpected extra.weight (2,)" in msg
    assert "parameter m1.weight has shape (5, 5), expected (3, 4)" in msg
    assert "\n" not in msg


def test_error_lives_in_the_public_module():
    assert fg.interop.StateDictMismatchError.__module__ == "funcgrad.interop"
    assert issubclass(fg.interop.StateDictMismatchError, ValueError)


def test_integer_beyond_int32_needs_x64():
    sd = {"running_mean": torch.zeros(3), "steps": torch.tensor(2**31, dtype=torch.long)}
    like = ({}, {"running_mean": jnp.zeros(3), "steps": jnp.zeros((), int)})
    with jax.enable_x64(False), pytest.raises(ValueError, match="jax_enable_x64"):
        fg.interop.from_torch(sd, like=like)
    with jax.enable_x64(True):
        _, buffers = fg.interop.from_torch(sd, like=like)
        assert buffers["steps"].dtype == jnp.int64 and int(buffers["steps"]) == 2**31
        assert_same_state_dict(fg.interop.to_torch({}, buffers), sd)


def test_to_torch_refuses_a_name_in_both_dicts():
    with pytest.raises(ValueError, match="0.weight are in both params and buffers"):
        fg.interop.to_torch({"0": {"weight": jnp.ones(2)}}, {"0": {"weight": jnp.ones(2)}})


def test_rejects_non_mapping():
    with pytest.raises(TypeError, match="state_dict mapping"):
        fg.interop.from_torch([1, 2, 3])
