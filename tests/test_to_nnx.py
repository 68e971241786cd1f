"""fg.interop.to_nnx: every layer and the notes' models as flax.nnx modules, against live torch.

Each case builds the torch layer, perturbs its weights and running statistics off their init,
copies them into funcgrad with ``from_torch``, converts to nnx and compares the nnx output (eval
mode) with torch's and with funcgrad's. Train-mode BatchNorm is checked against one torch step.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _convert_zoo import ZOO
from _parity import assert_close, torch_dtype
from _torch_models import TorchConvNet, TorchMyNet, torch_lenet5
from flax import nnx
from torch import nn

import funcgrad as fg

# (layer name, constructor args, constructor kwargs, input shape); the same call builds both sides.
LAYERS = [
    ("Linear", (5, 3), {}, (4, 5)),
    ("Linear", (5, 3), {"bias": False}, (5,)),
    ("Conv1d", (2, 4, 3), {"stride": 2, "padding": 1, "dilation": 2}, (3, 2, 11)),
    ("Conv2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 9, 9)),
    ("Conv2d", (1, 2, 5), {"bias": False}, (1, 8, 8)),  # one unbatched image
    ("Conv2d", (3, 4, (3, 4)), {"padding": "same", "dilation": 2}, (2, 3, 8, 9)),
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 6, 6)),
    ("Conv2d", (2, 3, 3), {"padding": "same", "padding_mode": "circular"}, (2, 2, 6, 6)),
    ("Conv3d", (2, 3, (2, 3, 3)), {"stride": (1, 2, 1), "padding": 1}, (2, 2, 4, 5, 5)),
    ("ConvTranspose1d", (2, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 2, 5)),
    ("ConvTranspose2d", (4, 2, 4), {"stride": 2, "padding": 1}, (2, 4, 4, 4)),  # DCGAN
    ("ConvTranspose3d", (2, 3, 2), {"stride": 2, "dilation": 2}, (2, 3, 3, 3)),  # unbatched
    ("BatchNorm1d", (3,), {}, (4, 3)),
    ("BatchNorm1d", (3,), {}, (4, 3, 5)),
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), {"affine": False}, (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), {"bias": False}, (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), {"track_running_stats": False}, (4, 3, 5, 5)),
    ("BatchNorm3d", (3,), {}, (2, 3, 3, 4, 4)),
    ("LayerNorm", ([4, 5],), {}, (2, 3, 4, 5)),
    ("LayerNorm", (5,), {"bias": False}, (3, 5)),
    ("LayerNorm", (5,), {"elementwise_affine": False}, (3, 5)),
    ("GroupNorm", (2, 4), {}, (3, 4, 5, 5)),
    ("GroupNorm", (2, 4), {"affine": False}, (3, 4, 6)),
    ("Dropout", (0.3,), {}, (4, 5)),
    ("Dropout2d", (0.3,), {}, (2, 3, 4, 4)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1}, (3, 7, 7)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3, 2, 1), {"count_include_pad": False}, (2, 3, 7, 7)),
    ("AvgPool2d", (3, 2, 1), {}, (2, 3, 7, 7)),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 3, 7, 8)),
    ("ReLU", (), {}, (3, 4)),
    ("Tanh", (), {}, (3, 4)),
    ("Sigmoid", (), {}, (3, 4)),
    ("SiLU", (), {}, (3, 4)),
    ("GELU", (), {}, (3, 4)),
    ("GELU", ("tanh",), {}, (3, 4)),
    ("LeakyReLU", (0.2,), {}, (3, 4)),
    ("ELU", (0.5,), {}, (3, 4)),
    ("Softmax", (), {"dim": 1}, (3, 4)),
    ("LogSoftmax", (), {"dim": -1}, (3, 4)),
    ("Identity", (), {}, (3, 4)),
    ("Flatten", (), {}, (2, 3, 4)),
    ("Flatten", (0, 1), {}, (2, 3, 4)),
]


def _perturb(ref):
    """Weights and running statistics off torch's init (ones, zeros), so a lost one shows."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
        for name, b in ref.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.5 * torch.randn(b.shape, generator=g, dtype=b.dtype))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g, dtype=b.dtype))
    return ref


def _state(ref, model, dtype):
    """funcgrad's (params, buffers) for ``model`` from torch's ``ref``; buffers None if it has none."""
    got = fg.interop.from_torch(ref, like=model)
    return got if isinstance(got, tuple) else (got, None)


def _fg_out(model, params, buffers, x):
    # Compiled: one XLA program per case is faster than dispatching each op eagerly.
    if buffers is None:
        return jax.jit(model.apply)(params, x)
    return jax.jit(lambda p, b, x: model.apply(p, x, buffers=b)[0])(params, buffers, x)


def run(net, x):
    """``net(x)``, compiled: nnx's split/merge around ``jax.jit``; the state is not written back."""
    graph, state = nnx.split(net)
    return jax.jit(lambda state, x: nnx.merge(graph, state)(x))(state, x)


def check_eval(ref, model, x, dtype, what):
    """nnx in eval mode against torch in eval mode and funcgrad (train=False)."""
    ref.eval()
    params, buffers = _state(ref, model, dtype)
    net = fg.interop.to_nnx(model, params, buffers)
    assert isinstance(net, nnx.Module)
    net.eval()
    xj = jnp.asarray(x)
    y = run(net, xj)
    assert_close(
        y, ref(torch.from_numpy(np.asarray(x))).detach().numpy(), dtype, f"{what} vs torch"
    )
    assert_close(y, _fg_out(model, params, buffers, xj), dtype, f"{what} vs funcgrad")
    return net


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), LAYERS, ids=lambda v: str(v))
def test_layer_matches_torch_and_funcgrad(name, args, kwargs, shape, dtype):
    torch.manual_seed(0)
    ref = _perturb(getattr(nn, name)(*args, **kwargs).to(torch_dtype(dtype)))
    model = getattr(fg.nn, name)(*args, **kwargs)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    check_eval(ref, model, x, dtype, name)


def test_embedding(dtype):
    torch.manual_seed(0)
    ref = nn.Embedding(10, 4, padding_idx=0).to(torch_dtype(dtype))
    model = fg.nn.Embedding(10, 4, padding_idx=0)
    params = fg.interop.from_torch(ref, like=model)
    net = fg.interop.to_nnx(model, params)
    assert isinstance(net, nnx.Embed) and net.embedding.shape == (10, 4)
    idx = np.array([[0, 3, 9], [2, 2, 1]])
    want = ref(torch.from_numpy(idx)).detach().numpy()
    assert_close(run(net, jnp.asarray(idx)), want, dtype, "embedding")


def test_layouts_are_flaxs():
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Conv2d(3, 8, (3, 5)), nn.Flatten(), nn.Linear(4, 2))
    seq = fg.nn.Sequential(fg.nn.Conv2d(3, 8, (3, 5)), fg.nn.Flatten(), fg.nn.Linear(4, 2))
    params = fg.interop.from_torch(ref, like=seq)
    net = fg.interop.to_nnx(seq, params)
    assert isinstance(net, nnx.Sequential)
    conv, fc = net.layers[0].layer, net.layers[2]
    assert isinstance(conv, nnx.Conv) and conv.kernel.shape == (3, 5, 3, 8)
    np.testing.assert_array_equal(conv.kernel[...][1, 2, 0], params["0"]["weight"][:, 0, 1, 2])
    np.testing.assert_array_equal(fc.kernel[...], params["2"]["weight"].T)


def test_gradients_match_funcgrads_transposed():
    """nnx.grad through the converted net is funcgrad's jax.grad, in Flax's layouts."""
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    model = fg.nn.Sequential(
        fg.nn.Conv2d(2, 3, 3), fg.nn.Tanh(), fg.nn.Flatten(), fg.nn.Linear(3 * 4 * 4, 2)
    )
    params = fg.interop.from_torch(ref, like=model)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32))
    net = fg.interop.to_nnx(model, params)
    g_nnx = nnx.jit(nnx.grad(lambda m: (m(x) ** 2).sum()))(net)
    g_fg = jax.jit(jax.grad(lambda p: (model.apply(p, x) ** 2).sum()))(params)
    conv, fc = g_nnx.layers[0].layer, g_nnx.layers[3]
    want_conv = jnp.transpose(g_fg["0"]["weight"], (2, 3, 1, 0))
    assert_close(conv.kernel[...], want_conv, np.float32, "conv kernel grad")
    assert_close(conv.bias[...], g_fg["0"]["bias"], np.float32, "conv bias grad")
    assert_close(fc.kernel[...], g_fg["3"]["weight"].T, np.float32, "linear kernel grad")


def test_a_lone_activation_is_wrapped_in_a_module():
    net = fg.interop.to_nnx(fg.nn.ReLU(), {})
    assert isinstance(net, nnx.Module)
    np.testing.assert_array_equal(net(jnp.array([-1.0, 2.0])), jnp.array([0.0, 2.0]))


# -- the notes' models and composites -------------------------------------------------------------


def test_mynet_one_example_and_batched(dtype):
    torch.manual_seed(0)
    ref = TorchMyNet(60, 8, 6, 4).to(torch_dtype(dtype))
    model = fg.models.MyNet(60, 8, 6, 4)
    x = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(dtype)
    net = check_eval(ref, model, x, dtype, "MyNet")
    assert net.m0.kernel.shape == (60, 8)
    xs = np.random.default_rng(1).standard_normal((5, 3, 4, 5)).astype(dtype)
    params = fg.interop.from_torch(ref, like=model)
    batched = fg.interop.to_nnx(fg.nn.Batched(model), params)
    want = TorchMyNet(60, 8, 6, 4, batched=True).to(torch_dtype(dtype))
    want.load_state_dict(ref.state_dict())
    assert_close(
        run(batched, jnp.asarray(xs)), want(torch.from_numpy(xs)).detach().numpy(), dtype, "B"
    )


def test_convnet(dtype):
    torch.manual_seed(0)
    ref = TorchConvNet(3, (12, 12)).to(torch_dtype(dtype))
    model = fg.models.ConvNet(num_classes=3, image_size=(12, 12))
    x = np.random.default_rng(0).standard_normal((1, 12, 12)).astype(dtype)
    check_eval(ref, model, x, dtype, "ConvNet")


def test_lenet5_eval_and_jit(dtype):
    torch.manual_seed(0)
    ref = _perturb(torch_lenet5()).to(torch_dtype(dtype))
    model = fg.models.LeNet5(dropout=0.0)
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(dtype)
    net = check_eval(ref, model, x, dtype, "LeNet5")
    assert isinstance(net.bn1, nnx.BatchNorm) and net.bn1.mean.shape == (6,)
    # a plain nnx module: its state splits into Param and BatchStat (and the dropout streams)
    _, params, stats, _ = nnx.split(net, nnx.Param, nnx.BatchStat, ...)
    assert len(jax.tree.leaves(stats)) == 4 and len(jax.tree.leaves(params)) == 14


def test_single_layer_and_linear_regression(dtype):
    """Not made of named layers: each runs its own apply, its params in the notes' layout."""
    rng = np.random.default_rng(0)
    w, b, x = (rng.standard_normal(s).astype(dtype) for s in [(5, 3), (3,), (4, 5)])
    net = fg.interop.to_nnx(fg.models.SingleLayer(5, 3), {"w": jnp.asarray(w), "b": jnp.asarray(b)})
    assert isinstance(net.params["w"], nnx.Param) and net.params["w"].shape == (5, 3)
    want = (torch.from_numpy(x) @ torch.from_numpy(w) + torch.from_numpy(b)).numpy()
    assert_close(net(jnp.asarray(x)), want, dtype, "SingleLayer")
    net.eval()
    assert_close(run(net, jnp.asarray(x)), want, dtype, "SingleLayer, eval, jit")
    reg = fg.interop.to_nnx(fg.models.LinearRegression(), {"w": jnp.asarray(dtype(1.5))})
    assert_close(reg(jnp.asarray(x)), 1.5 * x, dtype, "LinearRegression")


# -- dispatch: the layer table's routes, the NamedLayers protocol -----------------------------------


def test_every_route_the_layer_table_names_exists():
    routes = fg.interop.nnx_routes()
    missing = {e.name: e.nnx for e in fg.nn.LAYERS.values() if e.nnx and e.nnx not in routes}
    assert not missing, f"fg.nn.LAYERS names nnx routes that to_nnx lacks: {missing}"
    assert {"linear", "conv", "batch_norm", "relu"} <= routes
    # and each layer with a native route has a case above (Embedding: its own test)
    checked = {name for name, *_ in LAYERS} | {"Embedding"}
    unchecked = {e.name for e in fg.nn.LAYERS.values() if e.nnx} - checked
    assert not unchecked, f"add a case to LAYERS for {sorted(unchecked)}"


class Doubled(fg.nn.ReLU):
    """A subclass of a registered layer with its own forward: the exact type decides the route."""

    def forward(self, params, x, *, buffers, train, key):
        return 2 * jax.nn.relu(x), buffers


def test_a_subclass_of_a_registered_layer_keeps_its_forward():
    x = jnp.array([-1.0, 0.5, 2.0])
    net = fg.interop.to_nnx(fg.nn.Sequential(Doubled(), fg.nn.ReLU()), {})
    np.testing.assert_array_equal(net(x), jnp.array([0.0, 1.0, 4.0]))


class Stack(fg.nn.Module):
    """A user's own module of named layers applied in order: it offers ``named_layers()``."""

    def named_layers(self):
        return [("fc", fg.nn.Linear(3, 4)), ("bn", fg.nn.BatchNorm1d(4)), ("act", fg.nn.Tanh())]

    def _seq(self):
        return fg.nn.Sequential(dict(self.named_layers()))

    def init(self, key):
        return self._seq().init(key)

    def init_buffers(self):
        return self._seq().init_buffers()

    def forward(self, params, x, *, buffers, train, key):
        return self._seq().forward(params, x, buffers=buffers, train=train, key=key)


def test_named_layers_protocol_is_rebuilt_out_of_nnx_layers():
    model = Stack()
    assert isinstance(model, fg.interop.NamedLayers)
    assert isinstance(fg.models.LeNet5(), fg.interop.NamedLayers)
    params, buffers = model.init(jax.random.PRNGKey(0)), model.init_buffers()
    net = fg.interop.to_nnx(model, params, buffers)
    assert isinstance(net.fc, nnx.Linear) and isinstance(net.bn, nnx.BatchNorm)
    net.eval()
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 3))
    assert_close(run(net, x), _fg_out(model, params, buffers, x), np.float32, "Stack")


# -- train mode -----------------------------------------------------------------------------------


def test_batch_norm_train_step_against_torch(dtype):
    """Outputs and running means as torch's; running_var moves towards the *biased* batch variance."""
    torch.manual_seed(0)
    m = 0.3
    ref = _perturb(nn.BatchNorm2d(3, momentum=m).to(torch_dtype(dtype)))
    model = fg.nn.BatchNorm2d(3, momentum=m)
    params, buffers = _state(ref, model, dtype)
    net = fg.interop.to_nnx(model, params, buffers)
    assert net.momentum == pytest.approx(1 - m)
    old_var = ref.running_var.clone()
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(dtype)
    y_ref = ref.train()(torch.from_numpy(x)).detach().numpy()  # torch updates its buffers
    # nnx modules start in train mode, as torch's do; nnx.jit writes the new statistics back
    y = nnx.jit(lambda net, x: net(x))(net, jnp.asarray(x))
    assert_close(y, y_ref, dtype, "train output")
    assert_close(net.mean[...], ref.running_mean.numpy(), dtype, "running_mean")
    n = x.size // 3
    unbiased = (ref.running_var - (1 - m) * old_var) / m  # torch's batch variance, recovered
    want_var = (1 - m) * old_var + m * unbiased * (n - 1) / n
    assert_close(net.var[...], want_var.numpy(), dtype, "running_var")
    net.eval()  # and now, from the same statistics, eval agrees with torch exactly
    with torch.no_grad():
        ref.running_var.copy_(torch.from_numpy(np.array(net.var[...])))
    y_eval = ref.eval()(torch.from_numpy(x)).detach().numpy()
    assert_close(net(jnp.asarray(x)), y_eval, dtype, "eval after the step")


def test_dropout_train_and_eval():
    net = fg.interop.to_nnx(fg.nn.Sequential(fg.nn.Dropout(0.5), fg.nn.Dropout2d(0.5)), {}, rngs=3)
    x = jnp.ones((8, 16, 3, 3))
    call = nnx.jit(lambda m, x: m(x))
    y1, y2 = call(net, x), call(net, x)
    assert set(np.unique(np.asarray(y1)).tolist()) <= {0.0, 2.0, 4.0}
    assert not np.array_equal(y1, y2)  # the random stream moves on
    y = call(net.layers[1], x)  # Dropout2d: whole channels
    assert bool((y.min(axis=(2, 3)) == y.max(axis=(2, 3))).all())
    net.eval()
    np.testing.assert_array_equal(call(net, x), x)


# -- the generic path: a module with its own forward -------------------------------------------------


class Residual(fg.nn.Module):
    """``x + fc(drop(bn(x)))``: glue that no nnx layer names."""

    bn = fg.nn.BatchNorm1d(4)
    fc = fg.nn.Linear(4, 4)
    drop = fg.nn.Dropout(0.0)

    def init(self, key):
        return {"bn": self.bn.init(key), "fc": self.fc.init(key)}

    def init_buffers(self):
        return {"bn": self.bn.init_buffers()}

    def forward(self, params, x, *, buffers, train, key):
        h, b = fg.nn.call_child("bn", self.bn, params, x, buffers=buffers, train=train, key=key)
        h, _ = fg.nn.call_child("drop", self.drop, params, h, buffers={}, train=train, key=key)
        h, _ = fg.nn.call_child("fc", self.fc, params, h, buffers={}, train=train, key=key)
        return x + h, {"bn": b}


def test_custom_forward_runs_funcgrads_apply():
    model = Residual()
    params, buffers = jax.jit(model.init)(jax.random.PRNGKey(0)), model.init_buffers()
    net = fg.interop.to_nnx(fg.nn.Sequential(model, fg.nn.ReLU()), {"0": params}, {"0": buffers})
    x = jax.random.normal(jax.random.PRNGKey(1), (6, 4))
    apply = jax.jit(
        lambda b, train: model.apply(params, x, buffers=b, train=train), static_argnums=1
    )
    call = nnx.jit(lambda m, x: m(x))
    y, new = apply(buffers, True)
    np.testing.assert_allclose(call(net, x), jax.nn.relu(y), rtol=1e-6)  # train mode first
    stats = jax.tree.map(
        lambda v: v[...], net.layers[0].buffers, is_leaf=lambda v: isinstance(v, nnx.Variable)
    )
    # torch's update (unbiased variance, the step count), compiled apart: rounding may differ
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), stats, new)
    net.eval()
    np.testing.assert_allclose(call(net, x), jax.nn.relu(apply(new, False)[0]), rtol=1e-6)


def test_converted_model():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 4)

        def forward(self, x):
            return x + self.fc2(torch.relu(self.fc1(x))) * 0.5

    torch.manual_seed(0)
    ref = Net().eval()
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    conv = fg.interop.convert(ref, torch.from_numpy(x))
    net = fg.interop.to_nnx(conv.model, conv.params, conv.buffers or None)
    net.eval()
    assert_close(net(jnp.asarray(x)), ref(torch.from_numpy(x)).detach().numpy(), np.float32, "conv")


@pytest.mark.parametrize("name", list(ZOO))
def test_converted_zoo_matches_torch(name):
    """Every model of the converter's zoo, converted, then carried to nnx: eval mode as torch's."""
    entry = ZOO[name]
    torch.manual_seed(0)
    ref = entry.build(0.5)
    x = entry.input(torch.Generator().manual_seed(1))
    x = x.float() if entry.float_input else x
    ref.train()
    with torch.no_grad():  # move BatchNorm's running statistics away from their init
        ref(x)
    ref.eval()
    conv = fg.interop.convert(ref, x)
    net = fg.interop.to_nnx(conv.model, conv.params, conv.buffers or None)
    net.eval()
    expected = ref(x).detach().numpy()
    assert_close(net(jnp.asarray(x.numpy())), expected, np.float32, name)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "words"),
    [
        (fg.nn.Conv2d(2, 2, 3, padding=1, padding_mode="replicate"), "padding_mode='replicate'"),
        (
            fg.nn.Conv2d(2, 2, 3, padding=2, padding_mode="reflect"),
            "padding_mode='reflect' with padding=2",
        ),
        (fg.nn.MaxPool2d(2, ceil_mode=True), "ceil_mode=True"),
        (fg.nn.MaxPool2d(2, return_indices=True), "return_indices=True"),
        (fg.nn.AvgPool2d(2, divisor_override=3), "divisor_override=3"),
        (fg.nn.BatchNorm2d(2, momentum=None), "momentum=None"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, fg.nn.Module) else "",
)
def test_unsupported_option_names_path_type_and_option(layer, words):
    model = fg.nn.Sequential({"features": fg.nn.Sequential(fg.nn.Identity(), layer)})
    params = jax.eval_shape(model.init, jax.random.PRNGKey(0))  # refused before any value is read
    with pytest.raises(fg.interop.NnxConversionError) as err:
        fg.interop.to_nnx(model, params, model.init_buffers())
    msg = str(err.value)
    assert msg.startswith(f"to_nnx: features.1 ({type(layer).__name__}): {words}")
    assert "\n" not in msg and "no flax.nnx counterpart" in msg


def test_missing_buffers_and_mismatched_params():
    model = fg.nn.BatchNorm2d(3)
    with pytest.raises(fg.nn.ModuleError, match="pass them: to_nnx"):
        fg.interop.to_nnx(model, model.init(None))
    with pytest.raises(fg.interop.StateDictMismatchError, match="weight has shape"):
        fg.interop.to_nnx(fg.nn.Linear(3, 2), {"weight": jnp.ones((2, 4)), "bias": jnp.ones(2)})
    with pytest.raises(TypeError, match="fg.interop.convert"):
        fg.interop.to_nnx(nn.Linear(3, 2), {})
    assert fg.interop.NnxConversionError.__module__ == "funcgrad.interop"


def test_batch_norm_with_an_axis_name_is_refused():
    bn = fg.nn.BatchNorm2d(3, axis_name="batch")
    with pytest.raises(fg.interop.NnxConversionError, match="axis_name='batch'"):
        fg.interop.to_nnx(bn, bn.init(jax.random.key(0)), bn.init_buffers())
