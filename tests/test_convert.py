"""fg.interop.convert: torch models converted to funcgrad source, checked against live torch.

Every zoo model (tests/_convert_zoo.py) is converted and run against the torch original: outputs and
the full VJP (w.r.t. params and a float input) in eval mode, buffers and weights after SGD steps in
train mode (dropout off), and the generated source imported in a fresh interpreter.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _convert_zoo import ZOO, RecurrentRows
from torch import nn

import funcgrad as fg

TOL = {np.float64: 1e-9, np.float32: 1e-5}
HERE = Path(__file__).parent


def _close(actual, expected, dtype, what):
    """Leaf by leaf, |a - e| <= tol * max|e| (tol from TOL)."""
    for (path, a), e in zip(
        jax.tree.leaves_with_path(actual), jax.tree.leaves(expected), strict=True
    ):
        a, e = np.asarray(a, np.float64), np.asarray(e, np.float64)
        scale = max(float(np.abs(e).max(initial=0.0)), 1e-30)
        chex.assert_trees_all_close(a, e, rtol=0.0, atol=TOL[dtype] * scale)
        assert a.shape == e.shape, f"{what}{jax.tree_util.keystr(path)}"


def _torch_dtype(dtype):
    return torch.float64 if dtype is np.float64 else torch.float32


def _example(name, dtype, p=0.5):
    entry = ZOO[name]
    torch.manual_seed(0)
    model = entry.build(p).to(_torch_dtype(dtype))
    x = entry.input(torch.Generator().manual_seed(1))
    return entry, model, x.to(_torch_dtype(dtype)) if entry.float_input else x


def _apply(conv, train=False, key=None):
    """``(params, buffers, x) -> (y, buffers)`` whether or not the model has buffers."""

    def f(params, buffers, x):
        return conv.model.apply(params, x, buffers=buffers, train=train, key=key)

    return f


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_eval_outputs_and_gradients_match_torch(name, dtype):
    with jax.enable_x64(dtype is np.float64):
        entry, model, x = _example(name, dtype)
        model.train()  # converted from train mode; compared in eval mode (train=False)
        conv = fg.interop.convert(model, x)
        assert model.training, "convert must leave the torch model in its mode"
        assert bool(conv.buffers) == entry.has_buffers
        model.eval()

        xt = x.clone().requires_grad_(entry.float_input)
        out_t = model(xt)
        v = np.random.default_rng(0).standard_normal(tuple(out_t.shape)).astype(dtype)
        (out_t * torch.tensor(v)).sum().backward()
        grads_t = fg.unflatten_dict({k: p.grad.numpy() for k, p in model.named_parameters()})

        xj = jnp.asarray(x.numpy())

        @jax.jit
        def vjp(params, x):
            if entry.float_input:
                out, pull = jax.vjp(lambda p, x: _apply(conv)(p, conv.buffers, x)[0], params, x)
                return out, pull(jnp.asarray(v))
            out, pull = jax.vjp(lambda p: _apply(conv)(p, conv.buffers, x)[0], params)
            return out, (*pull(jnp.asarray(v)), None)

        out, (g_params, g_x) = vjp(conv.params, xj)
        assert out.dtype == dtype
        _close(out, out_t.detach().numpy(), dtype, "output")
        _close(g_params, grads_t, dtype, "grad params")
        if entry.float_input:
            _close(g_x, xt.grad.numpy(), dtype, "grad input")


@pytest.mark.parametrize(
    ("name", "dtype"), [("lenet", np.float64), ("resnet", np.float32), ("functional", np.float64)]
)
def test_zoo_train_mode_steps_match_torch(name, dtype):
    """Train mode with dropout off (p=0): batch statistics, running buffers and SGD steps agree.

    (The ResNet runs in float32 only: XLA's CPU float64 convolution gradients compile slowly.)
    """
    with jax.enable_x64(dtype is np.float64):
        _train_steps(name, dtype)


def _train_steps(name, dtype):
    entry, model, x = _example(name, dtype, p=0.0)
    conv = fg.interop.convert(model, x)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()

    @jax.jit
    def step(params, buffers, x):
        def loss(p):
            y, b = _apply(conv, train=True, key=jax.random.PRNGKey(0))(p, buffers, x)
            return jnp.mean(y**2), b

        grads, buffers = jax.grad(loss, has_aux=True)(params)
        return jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), buffers

    params, buffers = conv.params, conv.buffers
    for _ in range(3):
        params, buffers = step(params, buffers, jnp.asarray(x.numpy()))
    expected = fg.interop.from_torch(model, like=conv.model)
    expected_params, expected_buffers = expected if entry.has_buffers else (expected, {})
    _close(params, expected_params, dtype, "params")
    _close(buffers, expected_buffers, dtype, "buffers")
    counts = [b for k, b in fg.flatten_dict(buffers).items() if k.endswith("num_batches_tracked")]
    if counts:
        assert all(int(c) == 3 for c in counts)


_ROUND_TRIP = r"""
import json, sys
sys.modules["torch"] = None  # any `import torch` in the generated source fails
import funcgrad.train
funcgrad.train.enable_fast_cpu_kernels()  # before JAX starts, as the suite's conftest does
import jax, numpy as np
import funcgrad as fg
results = {}
for name in sys.argv[2:]:
    folder = sys.argv[1]
    ns = {"__name__": name}
    exec(open(f"{folder}/{name}.py").read(), ns)
    data = np.load(f"{folder}/{name}.npz")
    params = fg.unflatten_dict({k[2:]: data[k] for k in data.files if k.startswith("p:")})
    buffers = fg.unflatten_dict({k[2:]: data[k] for k in data.files if k.startswith("b:")})
    y, _ = jax.jit(ns["model"].apply)(params, data["x"], buffers=buffers)
    results[name] = float(np.abs(np.asarray(y) - data["y"]).max() / np.abs(data["y"]).max())
print(json.dumps(results))
"""


def test_zoo_source_round_trip_in_a_fresh_interpreter(tmp_path):
    """Every zoo model's source, imported with no torch in sight, gives torch's numbers (float32)."""
    for name in ZOO:
        _, model, x = _example(name, np.float32)
        conv = fg.interop.convert(model.eval(), x)
        assert not re.search(r"^\s*(import|from) torch", conv.source, re.M)
        assert f"\nmodel = {type(model).__name__}()" in conv.source
        (tmp_path / f"{name}.py").write_text(conv.source)
        arrays = {f"p:{k}": np.asarray(v) for k, v in fg.flatten_dict(conv.params).items()}
        arrays |= {f"b:{k}": np.asarray(v) for k, v in fg.flatten_dict(conv.buffers).items()}
        with torch.no_grad():
            y = model(x).numpy()
        np.savez(tmp_path / f"{name}.npz", x=x.numpy(), y=y, **arrays)
    done = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIP, str(tmp_path), *ZOO],
        capture_output=True,
        text=True,
        timeout=120,
        env={"OMP_NUM_THREADS": "1", "PATH": "", "JAX_PLATFORMS": "cpu"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(errors) == sorted(ZOO)
    assert all(e < 1e-5 for e in errors.values()), errors


def test_a_class_used_three_times_is_written_once():
    _, model, x = _example("resnet", np.float32)
    source = fg.interop.convert(model, x).source
    # two blocks of one shape share a class; the downsampling one differs in its forward
    assert source.count("class BasicBlock(") == 1 and source.count("class BasicBlock2(") == 1
    assert source.count("BasicBlock(") == 3  # the class, and its two uses
    assert 'call("layers", relu)' in source


def test_self_training_branch_becomes_if_train():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            y = self.fc(x)
            if self.training:
                y = y * 2.0
            return torch.relu(y)

    model = Branchy()
    x = torch.randn(4, 3)
    conv = fg.interop.convert(model, x)
    assert "if train:" in conv.source
    for train in (True, False):
        model.train(train)
        expected = model(x).detach().numpy()
        got = conv.model.apply(conv.params, jnp.asarray(x.numpy()), train=train)
        _close(got, expected, np.float32, f"train={train}")


def test_dropout_follows_train_and_needs_a_key():
    _, model, x = _example("functional", np.float32, p=0.5)
    conv = fg.interop.convert(model, x)
    assert "F.dropout(reshape, 0.5, train, key=" in conv.source
    xj = jnp.asarray(x.numpy())
    a = conv.model.apply(conv.params, xj, train=True, key=jax.random.PRNGKey(0))
    b = conv.model.apply(conv.params, xj, train=True, key=jax.random.PRNGKey(1))
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="key"):
        conv.model.apply(conv.params, xj, train=True)


class _Rows(nn.Module):
    """fx follows this forward; its child RecurrentRows needs torch.export."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Linear(4, 4)
        self.rows = RecurrentRows()

    def forward(self, x):
        return self.rows(torch.relu(self.pre(x)))


def test_shape_dependent_forward_goes_through_torch_export_where_it_sits():
    """A nested module fx cannot follow is exported on the input that reached it, on its own."""
    torch.manual_seed(0)
    model, x = _Rows(), torch.randn(2, 3, 4)
    with pytest.raises(fg.interop.ConversionError, match="pass an example input"):
        fg.interop.convert(model)
    conv = fg.interop.convert(model, x)
    assert conv.source.count("# traced by torch.export: specialised to the example's shapes") == 1
    rows = conv.source.split("class RecurrentRows(")[1].split("class _Rows(")[0]
    assert "(2, 3, 4)" in rows and 'call("cell", tanh)' in rows
    assert 'rows = call("rows", relu)' in conv.source  # the outer forward is fx's, as before
    expected = model(x).detach().numpy()
    _close(conv.model.apply(conv.params, jnp.asarray(x.numpy())), expected, np.float32, "output")


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNNBase("LSTM", 3, 4)  # torch's base class: no funcgrad layer

    def forward(self, x):
        y, _ = self.rnn(x)
        return y


class _WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = _Encoder()

    def forward(self, x):
        return self.encoder(x)


class _DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return x


class _UnknownOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Linear(3, 3))

    def forward(self, x):
        return torch.special.i0(self.head(x))


class _UnknownOpAfterExport(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        if x.dim() == 2:  # fx cannot follow this; torch.export can, and meets special_i0
            x = torch.special.i0(self.fc(x))
        return x


@pytest.mark.parametrize(
    ("model", "op", "path", "line"),
    [
        (_WithLSTM(), "RNNBase", "encoder.rnn", "y, _ = self.rnn(x)"),
        (_DataDependent(), "control flow", "", "if x.sum() > 0:"),
        (_UnknownOp(), "torch.special_i0", "", "return torch.special.i0(self.head(x))"),
        (_UnknownOpAfterExport(), "aten.special_i0", "", "x = torch.special.i0(self.fc(x))"),
    ],
    ids=["unknown-submodule", "data-dependent-control-flow", "unknown-op", "unknown-aten-op"],
)
def test_unconvertible_models_name_type_path_and_line(model, op, path, line):
    with pytest.raises(fg.interop.ConversionError) as info:
        fg.interop.convert(model, torch.ones(2, 3))
    e = info.value
    message = str(e)
    assert type(e).__module__ == "funcgrad.interop"
    assert op in message and op in e.op
    assert e.path == path and (path in message if path else "at the top level" in message)
    assert e.line.startswith("test_convert.py:") and e.line.endswith(line)
    assert e.line in message and "\n" not in message


def test_model_has_no_buffers_and_traces_under_jit():
    _, model, x = _example("mynet", np.float32)
    conv = fg.interop.convert(model, x)
    assert conv.buffers == {}
    y = jax.jit(conv.model.apply)(conv.params, jnp.asarray(x.numpy()))
    _close(y, model(x).detach().numpy(), np.float32, "jit")


def test_not_a_module_is_a_type_error():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        fg.interop.convert(lambda x: x, None)


class _Spread(nn.Module):
    def forward(self, x):
        return torch.var(x, dim=1) + torch.std(x, dim=0, unbiased=False) + x.var()


def test_var_and_std_keep_torch_bessel_correction():
    """torch's var/std default to the unbiased estimate: the converted code must say ddof=1."""
    x = torch.randn(5, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    conv = fg.interop.convert(_Spread(), x)
    with jax.enable_x64(True):
        y = conv.model.apply(conv.params, jnp.asarray(x.numpy()))
    np.testing.assert_allclose(np.asarray(y), _Spread()(x).numpy(), rtol=1e-12)
