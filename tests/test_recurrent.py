"""Recurrent layers beyond torch's ``module_db`` samples (which are all unbatched, and which
tests/test_layer_table.py runs): batched and ``batch_first`` inputs, initial states, projections,
the scan's compiled size, dropout between layers, errors, and conversion of torch models."""

from __future__ import annotations

from typing import Any

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close

import funcgrad as fg

F64 = np.float64


def _tree_numpy(tree: Any) -> Any:
    return jax.tree.map(
        lambda t: t.detach().numpy(), tree, is_leaf=lambda t: isinstance(t, torch.Tensor)
    )


def _parity(
    torch_layer: torch.nn.Module, layer: fg.nn.Module, *inputs: Any, spread: bool = False
) -> None:
    """Outputs and the full VJP (float inputs, initial states, params) against torch, in float64,
    through ``sum(out * v)`` for a random cotangent ``v`` on every output. With ``spread``, torch
    takes the one tuple of inputs as separate arguments (a converted model takes the tuple)."""
    torch_layer = torch_layer.double()
    torch_layer.zero_grad(set_to_none=True)
    leaves, tree = jax.tree.flatten(inputs)  # hx = (h_0, c_0) is two leaves
    wrt = [i for i, a in enumerate(leaves) if np.issubdtype(a.dtype, np.floating)]
    t_leaves = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True) if i in wrt else torch.tensor(a)
        for i, a in enumerate(leaves)
    ]
    t_inputs = jax.tree.unflatten(tree, t_leaves)
    out_t = torch_layer(*(t_inputs[0] if spread else t_inputs))
    outs = jax.tree.leaves(out_t, is_leaf=lambda t: isinstance(t, torch.Tensor))
    rng = np.random.default_rng(0)
    vs = [rng.standard_normal(tuple(t.shape)) for t in outs]
    sum((t * torch.tensor(v)).sum() for t, v in zip(outs, vs, strict=True)).backward()
    expected_g_p = fg.unflatten_dict({n: p.grad.numpy() for n, p in torch_layer.named_parameters()})

    with jax.enable_x64(True):
        params = fg.interop.from_torch(torch_layer, like=layer)
        args = [jnp.asarray(a, F64) if i in wrt else jnp.asarray(a) for i, a in enumerate(leaves)]

        def loss(p: Any, *diff: Any) -> Any:
            full = list(args)
            for i, d in zip(wrt, diff, strict=True):
                full[i] = d
            got = jax.tree.leaves(layer.apply(p, *jax.tree.unflatten(tree, full)))
            return sum((o * v).sum() for o, v in zip(got, vs, strict=True)), got

        (_, got), grads = jax.jit(
            jax.value_and_grad(loss, argnums=tuple(range(len(wrt) + 1)), has_aux=True)
        )(params, *(args[i] for i in wrt))
        assert len(got) == len(outs)
        for n, (a, e) in enumerate(zip(got, outs, strict=True)):
            assert_close(a, e.detach().numpy(), F64, f"output {n}")
        assert_close(grads[0], expected_g_p, F64, "grad wrt params")
        for i, g in zip(wrt, grads[1:], strict=True):
            assert_close(g, t_leaves[i].grad.numpy(), F64, f"grad wrt input leaf {i}")


def _randn(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).standard_normal(shape)


# (torch class, constructor kwargs): every option at least once, batched, with and without hx
CONFIGS = [
    ("RNN", dict(num_layers=2, nonlinearity="relu")),
    ("RNN", dict(num_layers=2, bidirectional=True, batch_first=True, bias=False)),
    ("GRU", dict(num_layers=2, bidirectional=True)),
    ("GRU", dict(batch_first=True)),
    ("LSTM", dict(num_layers=2, batch_first=True)),
    ("LSTM", dict(num_layers=2, proj_size=3, bidirectional=True)),
    ("LSTM", dict(num_layers=3, proj_size=2, batch_first=True, bias=False)),
]
T, N, IN, H = 5, 3, 4, 6


@pytest.mark.parametrize("with_hx", [False, True], ids=["no-hx", "hx"])
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=lambda v: str(v))
def test_batched_layers_match_torch(name: str, kwargs: dict[str, Any], with_hx: bool) -> None:
    torch.manual_seed(0)
    torch_layer = getattr(torch.nn, name)(IN, H, **kwargs)
    layer = getattr(fg.nn, name)(IN, H, **kwargs)
    x = _randn(N, T, IN) if kwargs.get("batch_first") else _randn(T, N, IN)
    inputs: list[Any] = [x]
    if with_hx:
        n = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
        h0 = _randn(n, N, kwargs.get("proj_size") or H)
        inputs.append((h0, _randn(n, N, H)) if name == "LSTM" else h0)
    _parity(torch_layer, layer, *inputs)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_batched_cells_and_their_functionals_match_torch(name: str) -> None:
    torch.manual_seed(0)
    kwargs = {"nonlinearity": "relu"} if name == "RNNCell" else {}
    torch_cell = getattr(torch.nn, name)(IN, H, **kwargs)
    cell = getattr(fg.nn, name)(IN, H, **kwargs)
    h = _randn(N, H)
    _parity(torch_cell, cell, _randn(N, IN), (h, _randn(N, H) + 1) if name == "LSTMCell" else h)
    _parity(torch_cell, cell, _randn(N, IN))  # hx defaults to zeros
    # the functional forms are torch's torch.<mode>_cell, same arguments
    fn = {"RNNCell": "rnn_relu_cell", "LSTMCell": "lstm_cell", "GRUCell": "gru_cell"}[name]
    ws = [p.detach().float() for p in torch_cell.parameters()]
    x = torch.tensor(_randn(N, IN), dtype=torch.float32)
    hx = (torch.zeros(N, H), torch.ones(N, H)) if name == "LSTMCell" else torch.ones(N, H)
    expected = _tree_numpy(getattr(torch, fn)(x, hx, *ws))
    got = getattr(fg.nn.functional, fn)(
        jnp.asarray(x.numpy()),
        jax.tree.map(lambda t: jnp.asarray(t.numpy()), hx),
        *map(jnp.asarray, ws),
    )
    assert_close(got, expected, np.float32, fn)


@pytest.mark.parametrize(
    "layer",
    [
        fg.nn.RNN(5, 7, num_layers=2, bidirectional=True, bias=False),
        fg.nn.LSTM(5, 7, num_layers=3, proj_size=4, bidirectional=True),
        fg.nn.GRU(5, 7, batch_first=True),
        fg.nn.LSTMCell(5, 7),
        fg.nn.RNNCell(5, 7, bias=False),
    ],
    ids=lambda m: type(m).__name__,
)
def test_init_has_torchs_names_shapes_and_bounds(layer: fg.nn.Module) -> None:
    ctor = {f: getattr(layer, f) for f in layer.__dataclass_fields__}
    torch_layer = getattr(torch.nn, type(layer).__name__)(**ctor)
    params = layer.init(jax.random.PRNGKey(0))
    want = {n: tuple(p.shape) for n, p in torch_layer.named_parameters()}
    assert list(params) == list(want)  # torch's order too
    assert {n: p.shape for n, p in params.items()} == want
    bound = 1 / np.sqrt(layer.hidden_size)  # torch's reset_parameters, every weight and bias
    for n, p in params.items():
        assert float(jnp.abs(p).max()) <= bound, n
        assert float(jnp.abs(p).max()) > 0.8 * bound and abs(float(p.mean())) < 0.3 * bound, n
    again = layer.init(jax.random.PRNGKey(0))
    assert all(np.array_equal(params[n], again[n]) for n in params)


def _jaxpr(layer: fg.nn.Module, t: int) -> Any:
    params = layer.init(jax.random.PRNGKey(0))
    return jax.make_jaxpr(lambda p, x: layer.apply(p, x))(params, jnp.ones((t, 2, 3)))


def _eqns(jaxpr: Any) -> Any:
    """Every equation of ``jaxpr``, those of the jaxprs inside its equations' params included."""
    for e in jaxpr.eqns:
        yield e
        for inner in jax.extend.core.jaxprs_in_params(e.params):
            yield from _eqns(inner)


def _count(jaxpr: Any, prim: str) -> int:
    return sum(e.primitive.name == prim for e in _eqns(jaxpr))


@pytest.mark.parametrize(
    "layer",
    [fg.nn.LSTM(3, 4, num_layers=2, bidirectional=True), fg.nn.GRU(3, 4), fg.nn.RNN(3, 4)],
    ids=lambda m: type(m).__name__,
)
def test_one_scan_per_layer_and_direction_whatever_the_length(layer: Any) -> None:
    short, long = _jaxpr(layer, 3), _jaxpr(layer, 300)
    n = layer.num_layers * (2 if layer.bidirectional else 1)
    assert _count(short.jaxpr, "scan") == _count(long.jaxpr, "scan") == n
    # the program does not grow with the sequence: same equations, only the shapes differ
    assert len(short.eqns) == len(long.eqns)
    assert str(short).count("\n") == str(long).count("\n")
    # the input projection is hoisted: the scan body has one matmul (the recurrent one)
    scan = next(e for e in _eqns(long.jaxpr) if e.primitive.name == "scan")
    assert _count(scan.params["jaxpr"].jaxpr, "dot_general") == 1


@pytest.mark.parametrize(
    "layer",
    [
        fg.nn.LSTM(2, 3, num_layers=2, bidirectional=True),
        fg.nn.LSTM(2, 3, proj_size=2),
        fg.nn.GRU(2, 3, bidirectional=True),
        fg.nn.RNN(2, 3, nonlinearity="relu"),
    ],
    ids=["LSTM-2-layers-bidirectional", "LSTM-proj", "GRU-bidirectional", "RNN-relu"],
)
def test_forward_and_reverse_mode_match_finite_differences(x64: None, layer: Any) -> None:
    params = jax.tree.map(lambda a: a.astype(F64), layer.init(jax.random.key(1)))
    x = jax.random.normal(jax.random.key(2), (4, 2, 2), F64)

    def f(p: Any, x: jax.Array) -> Any:
        return layer.apply(p, x)[0]

    assert fg.autodiff.gradcheck(f, params, x, modes=("rev", "fwd"), max_elements=8)


def _identity_rnn(p: float, size: int) -> tuple[fg.nn.RNN, dict[str, jax.Array]]:
    """A 2-layer relu RNN that passes a positive input through: the output is the mask that
    dropout put between the layers, scaled."""
    layer = fg.nn.RNN(size, size, num_layers=2, nonlinearity="relu", bias=False, dropout=p)
    eye, zero = jnp.eye(size), jnp.zeros((size, size))
    params = {"weight_ih_l0": eye, "weight_hh_l0": zero, "weight_ih_l1": eye, "weight_hh_l1": zero}
    return layer, params


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_between_layers_keeps_1_minus_p_and_scales(p: float) -> None:
    size, t, n = 50, 4, 25
    layer, params = _identity_rnn(p, size)
    x = jnp.ones((t, n, size))
    y, _ = layer.apply(params, x, train=True, key=jax.random.PRNGKey(0))
    y = np.asarray(y)
    kept = float((y != 0).mean())
    assert abs(kept - (1 - p)) < 6 * np.sqrt(p * (1 - p) / y.size)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
    # torch's, on the same construction: same kept fraction and scale
    torch_layer = torch.nn.RNN(size, size, 2, "relu", bias=False, dropout=p).train()
    with torch.no_grad():
        for name, value in params.items():
            getattr(torch_layer, name).copy_(torch.tensor(np.asarray(value)))
        yt = torch_layer(torch.ones(t, n, size))[0].numpy()
    np.testing.assert_allclose(np.unique(yt[yt != 0]), 1 / (1 - p), rtol=1e-6)
    assert abs(kept - float((yt != 0).mean())) < 12 * np.sqrt(p * (1 - p) / y.size)


def test_dropout_same_key_same_mask_eval_none_and_a_key_is_required() -> None:
    layer, params = _identity_rnn(0.5, 8)
    x = jnp.ones((3, 2, 8))

    def run(key: jax.Array) -> jax.Array:
        return layer.apply(params, x, train=True, key=key)[0]

    k = jax.random.PRNGKey(3)
    np.testing.assert_array_equal(run(k), jax.jit(run)(k))
    assert not np.array_equal(run(k), run(jax.random.PRNGKey(4)))
    np.testing.assert_array_equal(layer.apply(params, x)[0], x)  # eval: no dropout
    with pytest.raises(fg.nn.ModuleError, match=r"RNN\(dropout=0.5\).*key="):
        layer.apply(params, x, train=True)
    # one layer: nothing to drop between, no key needed (torch only warns)
    single = fg.nn.RNN(8, 8, dropout=0.5)
    single.apply(single.init(jax.random.PRNGKey(0)), x, train=True)


def test_a_packed_sequence_is_refused_with_what_to_pass() -> None:
    from torch.nn.utils.rnn import pack_padded_sequence

    layer = fg.nn.LSTM(3, 4, batch_first=True)
    packed = pack_padded_sequence(torch.ones(2, 5, 3), torch.tensor([5, 3]), batch_first=True)
    with pytest.raises(fg.nn.ModuleError, match="PackedSequence.*padded input.*mask") as info:
        layer.apply(layer.init(jax.random.PRNGKey(0)), packed)
    assert "\n" not in str(info.value)
    with pytest.raises(fg.nn.ModuleError, match="LSTM: input must be an array, got list"):
        layer.apply(layer.init(jax.random.PRNGKey(0)), [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize(
    ("layer", "x", "hx", "match"),
    [
        (fg.nn.GRU(3, 4), np.ones((2, 2, 2, 3)), None, "2-D .* or 3-D batched input, got 4-D"),
        (fg.nn.GRU(3, 4), np.ones((5, 2)), None, "input_size; expected 3, got 2"),
        (fg.nn.GRU(3, 4), np.ones((5, 2, 3)), np.ones((1, 4)), "batched 3-D input, h_0 .*3-D"),
        (fg.nn.RNN(3, 4), np.ones((5, 2, 3)), np.ones((1, 3, 4)), r"h_0 of shape \(1, 2, 4\)"),
        (fg.nn.LSTM(3, 4), np.ones((5, 3)), np.ones((1, 4)), r"hx must be a tuple \(h_0, c_0\)"),
        (fg.nn.LSTMCell(3, 4), np.ones((2, 2, 3)), None, "1-D or 2-D, got 3-D"),
        (fg.nn.GRUCell(3, 4), np.ones((2, 3)), np.ones((3, 4)), r"hx has shape \(3, 4\)"),
    ],
)
def test_bad_inputs_are_one_line_errors_naming_the_layer(layer, x, hx, match) -> None:
    with pytest.raises(fg.nn.ModuleError, match=match) as info:
        layer.apply(layer.init(jax.random.PRNGKey(0)), x, hx)
    assert str(info.value).startswith(type(layer).__name__) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "args", "match"),
    [
        ("RNN", (3, 4, 1, "sigmoid"), "'tanh' or 'relu'"),
        ("RNNCell", (3, 4, True, "gelu"), "'tanh' or 'relu'"),
        ("LSTM", (3, 4, 1, True, False, 0.0, False, 4), "smaller than hidden_size=4"),
        ("GRU", (3, 4, 1, True, False, 1.5), "0 <= p <= 1"),
        ("LSTM", (3, 0), "hidden_size must be an integer > 0"),
        ("GRU", (3, 4, 0), "num_layers must be > 0"),
    ],
)
def test_bad_hyper_parameters_are_config_errors_where_torch_refuses(name, args, match) -> None:
    with pytest.raises(fg.nn.ConfigError, match=match):
        getattr(fg.nn, name)(*args)  # torch's positional order
    with pytest.raises((ValueError, RuntimeError)):  # RNNCell's only when it runs
        getattr(torch.nn, name)(*args)(torch.ones(2, 3))


# -- conversion ------------------------------------------------------------------------------------


class _Tagger(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.LSTM(10, 20, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(20, 3)

    def forward(self, x, hidden):
        out, (h, c) = self.rnn(x, hidden)
        return self.fc(out) + h.sum() - c.mean()


class _LanguageModel(torch.nn.Module):
    """The word-language-model example: embedding -> LSTM -> linear, with the hidden state."""

    def __init__(self, ntoken: int = 30, ninp: int = 8, nhid: int = 12, nlayers: int = 2):
        super().__init__()
        self.encoder = torch.nn.Embedding(ntoken, ninp)
        self.rnn = torch.nn.LSTM(ninp, nhid, nlayers, dropout=0.2)
        self.decoder = torch.nn.Linear(nhid, ntoken)

    def forward(self, input, hidden):
        emb = self.encoder(input)
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(output), hidden


def _converted(model: torch.nn.Module, x: torch.Tensor, hidden: tuple) -> str:
    """Convert ``model`` (called as ``model(x, hidden)``), check it against torch in float64
    (outputs and gradients), and return its source."""
    model = model.double().eval()
    conv = fg.interop.convert(model, (x, hidden))
    _parity(model, conv.model, (x.numpy(), _tree_numpy(hidden)), spread=True)
    return conv.source


def _hidden(layers: int, batch: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    return tuple(torch.randn(layers, batch, size, dtype=torch.float64) for _ in range(2))


def test_convert_writes_an_lstm_as_a_leaf_called_with_its_state() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 5, 10, dtype=torch.float64)
    source = _converted(_Tagger(), x, _hidden(2, 4, 20))
    assert "fg.nn.LSTM(10, 20, num_layers=2, batch_first=True)" in source
    assert 'call("rnn", x, hidden)' in source


def test_convert_a_language_model_with_an_explicit_hidden_state() -> None:
    torch.manual_seed(0)
    tokens = torch.randint(0, 30, (7, 3))
    source = _converted(_LanguageModel(), tokens, _hidden(2, 3, 12))
    assert "fg.nn.LSTM(8, 12, num_layers=2, dropout=0.2)" in source


class _Packed(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.GRU(3, 4, batch_first=True)

    def forward(self, x, lengths):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        return pad_packed_sequence(out, batch_first=True)[0]


def test_convert_refuses_pack_padded_sequence_with_what_to_pass() -> None:
    with pytest.raises(fg.interop.ConversionError) as info:
        fg.interop.convert(_Packed(), (torch.randn(2, 5, 3), torch.tensor([5, 3])))
    e = info.value
    assert e.op == "torch.nn.utils.rnn.pack_padded_sequence" and e.op in str(e)
    assert "padded input" in str(e) and "mask" in str(e) and "\n" not in str(e)
    assert e.line.endswith(
        "packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)"
    )
