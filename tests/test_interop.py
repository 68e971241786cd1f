"""fg.interop: exact round trips with torch state_dicts, and clear mismatch errors."""

import jax
import numpy as np
import pytest
import torch
from _notes_models import TorchConvNet, TorchMyNet

import funcgrad as fg


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
    assert list(back) == list(sd)
    for k in sd:
        assert back[k].dtype == sd[k].dtype and torch.equal(back[k], sd[k]), k


def test_dotted_keys_nest():
    params = fg.interop.from_torch(TorchMyNet(6, 4, 3, 2))
    assert params["m0"]["weight"].shape == (4, 6)
    assert sorted(params) == ["m0", "m1", "m2"]


def test_params_from_init_load_into_torch():
    net = fg.models.MyNet(6, 4, 3, 2)
    params = net.init(jax.random.PRNGKey(0))
    ref = TorchMyNet(6, 4, 3, 2)
    ref.load_state_dict(fg.interop.to_torch(params))  # strict: keys and shapes must match
    x = np.random.default_rng(0).standard_normal(6).astype(np.float32)
    np.testing.assert_allclose(
        ref(torch.tensor(x)).detach().numpy(), net.apply(params, x), rtol=1e-5, atol=1e-6
    )


def test_mismatch_lists_every_offending_key_and_shape():
    sd = TorchMyNet(6, 4, 3, 2).state_dict()
    sd["extra.weight"] = torch.zeros(2)
    del sd["m2.bias"]
    sd["m1.weight"] = torch.zeros(5, 5)
    with pytest.raises(fg.interop.StateDictMismatchError) as err:
        fg.interop.from_torch(sd, like=fg.models.MyNet(6, 4, 3, 2))
    msg = str(err.value)
    assert "missing m2.bias (2,)" in msg
    assert "unexpected extra.weight (2,)" in msg
    assert "m1.weight has shape (5, 5), expected (3, 4)" in msg
    assert "\n" not in msg


def test_like_accepts_params():
    params = fg.models.MyNet(6, 4, 3, 2).init(jax.random.PRNGKey(0))
    with pytest.raises(fg.interop.StateDictMismatchError, match="missing m0.weight"):
        fg.interop.from_torch({}, like=params)


def test_rejects_non_mapping():
    with pytest.raises(TypeError, match="state_dict mapping"):
        fg.interop.from_torch([1, 2, 3])
