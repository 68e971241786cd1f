"""fg.interop.from_torch on checkpoints: NumPy state_dicts, .pt/.pth and .safetensors files.

The files are written here by torch (``torch.save``) and by safetensors' torch API, from live torch
modules, and what comes back is compared bit for bit with ``from_torch(module)``. The torch-free
paths run in a fresh interpreter where ``import torch`` fails.
"""

import json
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch
from torch import nn

import funcgrad as fg


def torch_lenet():
    torch.manual_seed(0)
    ref = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(6 * 14 * 14, 10),
    )  # fmt: skip
    ref(torch.randn(4, 1, 28, 28))  # train mode: the running statistics move off their init
    return ref


FG_LENET = fg.nn.Sequential(
    fg.nn.Conv2d(1, 6, 5, padding=2), fg.nn.BatchNorm2d(6), fg.nn.ReLU(), fg.nn.MaxPool2d(2),
    fg.nn.Flatten(), fg.nn.Linear(6 * 14 * 14, 10),
)  # fmt: skip


def assert_same(got, want):
    """Same nested keys in the same order, same dtypes, same bits."""
    assert list(fg.flatten_dict(got)) == list(fg.flatten_dict(want))
    for k, v in fg.flatten_dict(want).items():
        g = fg.flatten_dict(got)[k]
        assert g.dtype == v.dtype, k
        np.testing.assert_array_equal(np.asarray(g), np.asarray(v), err_msg=k)


def one_line(err):
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("from_torch: ")
    return msg


# -- every source gives what the live module gives ------------------------------------------------


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".safetensors"])
def test_file_gives_the_modules_params_and_buffers(tmp_path, suffix):
    ref = torch_lenet()
    path = tmp_path / f"lenet{suffix}"
    if suffix == ".safetensors":
        safetensors.torch.save_file(ref.state_dict(), path)
    else:
        torch.save(ref.state_dict(), path)
    want = fg.interop.from_torch(ref, like=FG_LENET)
    for source in (path, str(path)):
        params, buffers = fg.interop.from_torch(source, like=FG_LENET)
        assert_same(params, want[0])
        assert_same(buffers, want[1])
    # like's order, so the state_dict written back reads as torch's (safetensors sorts by name)
    assert list(fg.interop.to_torch(params, buffers)) == list(ref.state_dict())


def test_numpy_state_dict(tmp_path):
    ref = torch_lenet()
    sd = {k: v.numpy() for k, v in ref.state_dict().items()}
    params, buffers = fg.interop.from_torch(sd, like=FG_LENET)
    want = fg.interop.from_torch(ref, like=FG_LENET)
    assert_same(params, want[0])
    assert_same(buffers, want[1])


def test_safetensors_bfloat16(tmp_path):
    sd = nn.Linear(3, 2).to(torch.bfloat16).state_dict()
    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file(sd, path)
    params = fg.interop.from_torch(path, like=fg.nn.Linear(3, 2))
    assert params["weight"].dtype == jnp.bfloat16
    assert_same(params, fg.interop.from_torch(sd))


def test_file_without_like_is_all_params(tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors.numpy.save_file({"fc.weight": np.ones((2, 3), np.float32)}, path)
    assert fg.interop.from_torch(path)["fc"]["weight"].shape == (2, 3)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_mismatch_in_a_file_lists_every_entry(tmp_path, suffix):
    sd = dict(torch_lenet().state_dict())
    del sd["5.bias"]
    sd["extra"] = torch.zeros(2)
    path = tmp_path / f"bad{suffix}"
    (safetensors.torch.save_file if suffix == ".safetensors" else torch.save)(sd, path)
    with pytest.raises(fg.interop.StateDictMismatchError) as err:
        fg.interop.from_torch(
            path, like=fg.nn.Sequential(*FG_LENET.layers[:5], fg.nn.Linear(5, 10))
        )
    msg = str(err.value)
    assert "missing parameter 5.bias (10,)" in msg
    assert "unexpected extra (2,)" in msg
    assert "parameter 5.weight has shape (10, 1176), expected (10, 5)" in msg
    assert "\n" not in msg


def test_pickled_module_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(nn.Linear(3, 2), path)
    with pytest.raises(ValueError) as err:
        fg.interop.from_torch(path, like=fg.nn.Linear(3, 2))
    msg = one_line(err)
    assert "torch.nn.modules.linear.Linear" in msg and "torch.save(model.state_dict(), path)" in msg


def test_training_checkpoint_points_at_the_state_dict_inside(tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save({"epoch": 3, "model": nn.Linear(3, 2).state_dict()}, path)
    with pytest.raises(ValueError) as err:
        fg.interop.from_torch(path)
    assert "weights_only=True)['model']" in one_line(err)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        fg.interop.from_torch(tmp_path / "nope.safetensors")
    assert "does not exist; check the path" in one_line(err)
    (tmp_path / "dir.pt").mkdir()
    with pytest.raises(FileNotFoundError) as err:
        fg.interop.from_torch(tmp_path / "dir.pt")
    assert "is a directory" in one_line(err)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_corrupt_file(tmp_path, suffix):
    path = tmp_path / f"corrupt{suffix}"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError) as err:
        fg.interop.from_torch(path)
    msg = one_line(err)
    assert "is not a" in msg and "re-save it with" in msg


def test_unknown_suffix(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, weight=np.ones(2))
    with pytest.raises(ValueError) as err:
        fg.interop.from_torch(path)
    assert "suffix '.npz'" in one_line(err) and ".safetensors" in str(err.value)


# -- without PyTorch ------------------------------------------------------------------------------

_NO_TORCH = """
import json, sys
sys.modules["torch"] = None  # `import torch` now raises ImportError, as where it is not installed
import numpy as np, safetensors.numpy, funcgrad as fg

sd = {"weight": np.arange(6.0, dtype=np.float32).reshape(2, 3), "bias": np.ones(2, np.float32)}
params = fg.interop.from_torch(sd, like=fg.nn.Linear(3, 2))
bn = {"weight": np.ones(3, np.float32), "bias": np.zeros(3, np.float32),
      "running_mean": np.full(3, 0.5, np.float32), "running_var": np.ones(3, np.float32),
      "num_batches_tracked": np.array(4)}
_, buffers = fg.interop.from_torch(bn, like=fg.nn.BatchNorm1d(3))
safetensors.numpy.save_file(sd, sys.argv[1] + "/w.safetensors")
from_file = fg.interop.from_torch(sys.argv[1] + "/w.safetensors", like=fg.nn.Linear(3, 2))
open(sys.argv[1] + "/w.pt", "wb").write(b"")
try:
    fg.interop.from_torch(sys.argv[1] + "/w.pt")
    pt_error = None
except ImportError as e:
    pt_error = str(e)
print(json.dumps({
    "weight": params["weight"].tolist(), "from_file": from_file["weight"].tolist(),
    "order": list(from_file), "count": int(buffers["num_batches_tracked"]),
    "torch_loaded": sys.modules["torch"] is not None, "pt_error": pt_error,
}))
"""


def test_numpy_and_safetensors_work_without_torch(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_NO_TORCH), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    weight = np.arange(6.0).reshape(2, 3).tolist()
    assert got["weight"] == weight and got["from_file"] == weight
    assert got["order"] == ["weight", "bias"] and got["count"] == 4
    assert not got["torch_loaded"]
    assert "needs PyTorch" in got["pt_error"] and ".safetensors" in got["pt_error"]
    assert "\n" not in got["pt_error"]
