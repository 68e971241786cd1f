"""fg.interop.runtime: the base class and child caller that every converted file imports.

Checked directly, on hand-written converted classes: params and buffers keyed as torch's state_dict,
keys folded by child name, children called by dotted path with their own buffers and keys, errors
named by path, and the numbers of a live torch module with the same weights.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import funcgrad as fg
from funcgrad.interop.runtime import Children, Converted


@dataclasses.dataclass(frozen=True)
class Block(Converted):
    fc: fg.nn.Module = fg.nn.Linear(3, 3)
    bn: fg.nn.Module = fg.nn.BatchNorm1d(3)
    own_params: ClassVar[dict] = {"scale": (3,)}

    def forward(self, params, x, *, buffers, train, key):
        call = Children(self, params, buffers, train, key)
        # (4, 3) * (3,): torch broadcasts ranks; the runtime allows it inside forward
        return call("bn", call("fc", x)) * params["scale"], call.buffers


@dataclasses.dataclass(frozen=True)
class Net(Converted):
    blocks: fg.nn.Module = fg.nn.Sequential(Block(), Block())
    drop: fg.nn.Module = fg.nn.Dropout(0.5)
    own_buffers: ClassVar[dict] = {"steps": ((), "int"), "offset": ((3,), None)}

    def forward(self, params, x, *, buffers, train, key):
        call = Children(self, params, buffers, train, key)
        h = call("blocks.0", x)
        h = call("blocks.1", h) + buffers["offset"]
        return call("drop", h), call.buffers


class TorchBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 3)
        self.bn = torch.nn.BatchNorm1d(3)
        self.scale = torch.nn.Parameter(torch.randn(3))

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([TorchBlock(), TorchBlock()])
        self.drop = torch.nn.Dropout(0.5)
        self.register_buffer("steps", torch.tensor(0))
        self.register_buffer("offset", torch.randn(3))

    def forward(self, x):
        return self.drop(self.blocks[1](self.blocks[0](x)) + self.offset)


def test_params_and_buffers_are_keyed_as_torchs_state_dict():
    model = Net()
    params, buffers = model.init(jax.random.PRNGKey(0)), model.init_buffers()
    keys = set(fg.flatten_dict(params)) | set(fg.flatten_dict(buffers))
    assert keys == set(TorchNet().state_dict())
    assert buffers["steps"].dtype.kind == "i" and buffers["offset"].dtype.kind == "f"
    assert params["blocks"]["0"]["scale"].shape == (3,)


def test_init_folds_each_childs_key_by_its_name():
    @dataclasses.dataclass(frozen=True)
    class Two(Converted):
        a: fg.nn.Module = fg.nn.Linear(3, 3)
        b: fg.nn.Module = fg.nn.Linear(3, 3)

    key = jax.random.PRNGKey(3)
    params = Two().init(key)
    for name in ("a", "b"):
        expected = fg.nn.Linear(3, 3).init(fg.nn.child_key(key, name))
        np.testing.assert_array_equal(params[name]["weight"], expected["weight"])
    # a child's draw depends on its name only: another child before it changes nothing
    swapped = dataclasses.make_dataclass(
        "Swapped", [("z", fg.nn.Module, fg.nn.Linear(2, 2))], bases=(Two,), frozen=True
    )
    np.testing.assert_array_equal(swapped().init(key)["b"]["weight"], params["b"]["weight"])


@pytest.mark.parametrize("train", [False, True])
def test_matches_torch_with_copied_weights(train):
    torch.manual_seed(0)
    tmodel = TorchNet()
    tmodel.drop.p = 0.0  # dropout's mask is random; the rest is compared
    x = torch.randn(4, 3)
    model = dataclasses.replace(Net(), drop=fg.nn.Dropout(0.0))
    params, buffers = fg.interop.from_torch(tmodel, like=model)
    tmodel.train(train)
    expected = tmodel(x).detach().numpy()
    y, new = model.apply(params, jnp.asarray(x.numpy()), buffers=buffers, train=train, key=None)
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-6)
    for path, b in fg.flatten_dict(new).items():
        np.testing.assert_allclose(np.asarray(b), tmodel.state_dict()[path].numpy(), rtol=1e-5)
    if not train:
        assert new is buffers or jax.tree.all(jax.tree.map(lambda a, b: a is b, new, buffers))


def test_a_child_called_twice_draws_fresh_randomness():
    @dataclasses.dataclass(frozen=True)
    class Twice(Converted):
        drop: fg.nn.Module = fg.nn.Dropout(0.5)

        def forward(self, params, x, *, buffers, train, key):
            call = Children(self, params, buffers, train, key)
            return (call("drop", x), call("drop", x)), call.buffers

    a, b = Twice().apply({}, jnp.ones(64), train=True, key=jax.random.PRNGKey(0))
    assert not np.array_equal(np.asarray(a), np.asarray(b))


def test_errors_name_the_childs_dotted_path():
    model = Net()
    params, buffers = model.init(jax.random.PRNGKey(0)), model.init_buffers()
    with pytest.raises(fg.nn.ModuleError) as info:
        model.apply(params, jnp.ones((4, 3)), buffers=buffers, train=True)  # dropout, no key
    assert info.value.path == "drop" and "drop" in str(info.value)

    @dataclasses.dataclass(frozen=True)
    class Outer(Converted):
        inner: fg.nn.Module = Net()

        def forward(self, params, x, *, buffers, train, key):
            call = Children(self, params, buffers, train, key)
            return call("inner.drop", x), call.buffers

    with pytest.raises(fg.nn.ModuleError) as info:
        Outer().apply({}, jnp.ones(3), buffers=Outer().init_buffers(), train=True)
    assert info.value.path == "inner.drop"


def test_traces_under_jit():
    model = Net()
    params, buffers = model.init(jax.random.PRNGKey(0)), model.init_buffers()
    y, _ = jax.jit(model.apply)(params, jnp.ones((4, 3)), buffers=buffers)
    assert y.shape == (4, 3)
