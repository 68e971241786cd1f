"""The converter's op table: functional layers and losses derived from fg.nn.LAYERS / LOSSES, the
leaf layers derived from the same table, in-process formatting, and torch's private symbols kept in
one module. Numbers are checked against live torch on the same weights and inputs.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import black
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn

import funcgrad as fg
from funcgrad.interop import _fx_ops

INTEROP = Path(fg.__file__).parent / "interop"


def _check(model, *inputs, rtol=1e-5):
    """Convert ``model`` on ``inputs`` and compare outputs with torch (eval mode)."""
    example = inputs[0] if len(inputs) == 1 else inputs
    conv = fg.interop.convert(model.eval(), example)
    args = [jnp.asarray(x.numpy()) for x in inputs]
    got = conv.model.apply(conv.params, args[0] if len(args) == 1 else tuple(args))
    with torch.no_grad():
        expected = model(*inputs)
    for g, e in zip(
        got if isinstance(got, tuple) else (got,),
        expected if isinstance(expected, tuple) else (expected,),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(g), e.numpy(), rtol=rtol, atol=1e-6)
    return conv


class Functionals(nn.Module):
    """Layers' functional forms, called as torch users call them."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3, 3, 3) * 0.3)
        self.lin = nn.Parameter(torch.randn(5, 4) * 0.3)
        self.table = nn.Parameter(torch.randn(10, 4))

    def forward(self, x, idx):
        h = TF.conv2d(x, self.w, padding=1)
        h = TF.group_norm(h, 2)
        h = TF.leaky_relu(h, 0.2) + TF.elu(h, alpha=0.5) + TF.silu(h, inplace=False)
        h = TF.avg_pool2d(h, 2) + TF.max_pool2d(h, 2)
        h = TF.adaptive_avg_pool2d(h, 1).flatten(1)
        h = TF.layer_norm(h, (4,)) + TF.embedding(idx, self.table)
        h = torch.sigmoid(TF.gelu(h, approximate="tanh")) + h.tanh() + torch.relu(h)
        return TF.linear(h, self.lin)


def test_layer_functionals_convert_to_funcgrad_functionals():
    torch.manual_seed(0)
    x, idx = torch.randn(2, 3, 6, 6), torch.tensor([1, 7])
    conv = _check(Functionals(), x, idx)
    for name in ("conv2d", "group_norm", "leaky_relu", "elu", "silu", "avg_pool2d", "layer_norm"):
        assert f"F.{name}(" in conv.source
    assert re.search(r"F\.leaky_relu\(\w+, negative_slope=0\.2\)", conv.source)


class Losses(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x, target, labels):
        y = self.fc(x)
        return (
            TF.mse_loss(y, target),
            TF.l1_loss(y, target, reduction="sum"),
            TF.smooth_l1_loss(y, target, beta=0.5),
            TF.huber_loss(y, target, delta=2.0),
            TF.cross_entropy(y, labels, label_smoothing=0.1),
            TF.nll_loss(TF.log_softmax(y, dim=1), labels, reduction="none"),
            TF.binary_cross_entropy_with_logits(y, target.sigmoid()),
            TF.binary_cross_entropy(y.sigmoid(), target.sigmoid()),
        )


def test_losses_convert_to_fg_losses():
    torch.manual_seed(0)
    x, target, labels = torch.randn(5, 3), torch.randn(5, 4), torch.tensor([0, 3, 1, 2, 3])
    conv = _check(Losses(), x, target, labels)
    assert 'fg.losses.l1_loss(fc, target, reduction="sum")' in conv.source
    assert "fg.losses.cross_entropy(fc, labels, label_smoothing=0.1)" in conv.source


def test_every_layer_and_loss_functional_has_a_row():
    """The table derives its F.* rows from fg.nn.LAYERS / LOSSES: none is left out."""
    for entry in fg.nn.LAYERS.values():
        if entry.functional is None:
            continue
        name = entry.functional.__name__
        template = _fx_ops.lookup("call_function", getattr(TF, name, None)) or _fx_ops.lookup(
            "call_function", getattr(torch, name, None)
        )
        assert template is not None or name == "batch_norm", name
    for entry in fg.nn.LOSSES.values():
        name = entry.functional.__name__
        assert _fx_ops.lookup("call_function", getattr(TF, name)) is not None, name


def test_a_torch_argument_funcgrad_lacks_is_an_error_naming_it():
    # torch's deprecated size_average / reduce: fg.losses takes reduction= only
    class Legacy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return TF.mse_loss(self.fc(x), x, size_average=False)

    with pytest.raises(fg.interop.ConversionError, match="size_average") as info:
        fg.interop.convert(Legacy(), torch.randn(2, 4))
    assert "torch.nn.functional.mse_loss" in info.value.op


def test_source_is_formatted_in_process(monkeypatch):
    """No subprocess (a dev tool that may or may not be installed): black's API, line length 100."""

    def refuse(*args, **kwargs):
        raise AssertionError("the converter started a subprocess")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(50, 3))
    conv = fg.interop.convert(model, torch.ones(1, 1, 5, 5))
    assert conv.source == black.format_str(conv.source, mode=black.Mode(line_length=100))
    assert max(len(line) for line in conv.source.splitlines()) <= 100


def test_private_torch_symbols_only_in_the_compat_module():
    # torch._assert is the public name fx documents for an assert it can trace (timm calls it)
    private = re.compile(
        r"torch\.(utils\.|fx\.)?_(?!assert\b)[a-zA-Z]|torch\._C|_non_persistent_buffers_set"
        r"|(?<!funcgrad\.)nn\.functional\._[a-zA-Z]|from torch[\w.]* import _\w"
    )
    for path in sorted(INTEROP.glob("*.py")):
        if path.name == "_torch_compat.py":
            continue
        hits = [line for line in path.read_text().splitlines() if private.search(line)]
        assert not hits, f"{path.name}: {hits}"


def test_a_stride_equal_to_the_kernel_is_kept_for_convolutions():
    """Only pools default their stride to the kernel; a patchify conv keeps stride=2."""
    for layer in (nn.Conv2d(3, 8, 2, stride=2), nn.ConvTranspose2d(8, 4, 2, stride=2)):
        conv = fg.interop.convert(nn.Sequential(layer), torch.randn(1, layer.in_channels, 4, 4))
        assert "stride=2" in conv.source, conv.source
    assert "stride" not in fg.interop.convert(nn.Sequential(nn.MaxPool2d(2))).source


# -- glue ops: each converted through torch.fx and through torch.export, against live torch -------


def _f(*shape):
    """A float64 input of ``shape``, differentiated."""
    return lambda g: torch.randn(*shape, generator=g, dtype=torch.float64)


def _i(high, *shape):
    """An int64 input in ``[0, high)``, not differentiated."""
    return lambda g: torch.randint(0, high, shape, generator=g)


def _perm(n, rows):
    """int64 ``(rows, n)``, each row a permutation of ``range(n)`` (scatter without collisions)."""
    return lambda g: torch.stack([torch.randperm(n, generator=g) for _ in range(rows)])


def _rotary(x, freqs):
    """Llama's rotary embedding: pairs of features as complex numbers, turned by ``freqs``."""
    z = torch.view_as_complex(x.reshape(x.shape[0], x.shape[1], -1, 2))
    turn = torch.polar(torch.ones_like(freqs), freqs)
    return torch.view_as_real(z * turn).flatten(2).type_as(x)


def _topk(x):
    values, indices = torch.topk(x, 2)
    smallest, where = x.topk(2, dim=0, largest=False)
    return values, indices, smallest, where, torch.topk(x, 1, 1).values, x.topk(3, 0).indices


def _writes(x, i):
    """In-place writes (Swin's shifted-window mask, ``x[:, 0] = 1``): torch.export's functional
    graph, written as ``.at[...].set`` / ``jnp.where``."""
    mask = x.new_zeros((4, 4))
    for h in ((0, 2), (2, 4)):
        mask[h[0] : h[1], :2] = float(h[0] + 1)
    y = x * 2
    y[:, 0] = 1.0
    y[y > 0.5] = 0.25
    y.add_(1)
    z = y.clone()
    z[1] = y[0]
    z.index_put_((i,), x[0, 0], accumulate=True)
    return x + mask + z


# name: (torch function of the inputs, input makers); every row of the table is used by one
GLUE = {
    "split": (lambda x: x.split(2, dim=1), [_f(3, 5)]),
    "split-sections": (lambda x: torch.split(x, [1, 3, 1], dim=1), [_f(3, 5)]),
    "chunk": (lambda x: x.chunk(2, -1), [_f(3, 5)]),
    "chunk-fewer": (lambda x: torch.chunk(x, 4, dim=1), [_f(2, 6)]),
    "unbind": (lambda x: x.unbind(1) + torch.unbind(x), [_f(2, 3)]),
    "roll": (
        lambda x: torch.roll(x, 1, 1) + x.roll((1, -2), (0, 1)) + torch.roll(x, 3),
        [_f(3, 4)],
    ),
    "einsum": (
        lambda a, b, v: (torch.einsum("bij,bjk->bik", a, b), torch.einsum("bij,j", [a, v])),
        [_f(2, 3, 4), _f(2, 4, 5), _f(4)],
    ),
    "masked_fill": (
        lambda x: (x.masked_fill(x > 0.5, float("-inf")), torch.masked_fill(x, x < 0, 0.25)),
        [_f(3, 4)],
    ),
    "tril-triu": (lambda x: torch.tril(x) + x.triu(1) * torch.tril(x, diagonal=-1), [_f(2, 4, 4)]),
    "arange": (
        lambda x: (
            x * torch.arange(x.shape[1], device=x.device)
            + torch.arange(1, 8, 2, dtype=torch.float64)
        ),
        [_f(3, 4)],
    ),
    "where": (lambda x, y: torch.where(x > 0, x, y) * x.where(y > 0, y), [_f(3, 4), _f(3, 4)]),
    "gather": (lambda x, i: torch.gather(x, 1, i) + x.gather(-1, i), [_f(3, 5), _i(5, 3, 2)]),
    "scatter": (
        lambda x, i, s: (torch.scatter(x, 1, i, s), x.scatter(1, i[:, :2], 2.0)),
        [_f(3, 4), _perm(4, 3), _f(3, 4)],
    ),
    "cumsum": (lambda x: torch.cumsum(x, 1) + x.cumsum(dim=0), [_f(3, 4)]),
    "topk": (_topk, [_f(4, 5)]),
    "flip": (lambda x: torch.flip(x, [0, 2]) + x.flip(1) * x.flip(0, 1), [_f(2, 3, 4)]),
    "repeat_interleave": (
        lambda x: (torch.repeat_interleave(x, 2, dim=1), x.repeat_interleave(3)),
        [_f(2, 3)],
    ),
    "expand": (
        lambda x, y: (x.expand(3, 4, 5) + y.expand_as(x.expand(3, 4, 5)), x.expand(-1, 6)),
        [_f(4, 1), _f(5)],
    ),
    "baddbmm": (
        lambda c, a, b: (
            torch.baddbmm(c, a, b),
            torch.baddbmm(c, a, b, beta=0.5, alpha=2.0),
            c.baddbmm(a, b, beta=0),
            torch.addmm(c[0, 0], a[0], b[0]),
        ),
        [_f(2, 3, 5), _f(2, 3, 4), _f(2, 4, 5)],
    ),
    "dtypes": (
        lambda x, i: (
            x.float() * 2,
            x.to(torch.float32).to(x.device).double(),
            x.to("cpu", torch.float32, non_blocking=True),
            x.to(i) + i,
            i.type_as(x) * x,
            x.to(device=x.device, dtype=torch.float64),
        ),
        [_f(3, 4), _i(5, 3, 4)],
    ),
    "constructors": (
        lambda x: (
            torch.zeros(3, 4) + torch.ones((3, 4), dtype=torch.float64) * x,
            x.new_zeros(3, 4) + x.new_ones((3, 4)) + x.new_full((3, 4), 2.5) * x,
            torch.full((2,), 3.0, dtype=torch.float64),
        ),
        [_f(3, 4)],
    ),
    "logical": (
        lambda x, y: (
            (x > 0) & (y > 0),
            (x > 0) | ~(y > 0),
            torch.logical_and(x > 0, y < 0) ^ torch.logical_not(x > 0),
            torch.where(torch.logical_or(x > 1, y > 1), x, y),
        ),
        [_f(3, 4), _f(3, 4)],
    ),
    "diff": (
        lambda x, y: torch.diff(x, dim=1).sum() + x.diff(n=2, dim=0, prepend=y),
        [_f(3, 4), _f(1, 4)],
    ),
    "index": (lambda x, i, j: (x[i], x[:, i], x[i, j] * x[j, i]), [_f(5, 5), _i(5, 3), _i(5, 3)]),
    "complex": (_rotary, [_f(2, 3, 8), _f(3, 4)]),
    "in-place": (_writes, [_f(4, 4), _i(4, 2)]),
    "queries": (
        lambda x: (
            x * x.is_floating_point() + x.is_cuda + torch.is_complex(x),
            x.half().float().double(),
            x.bfloat16().to(torch.float64),
        ),
        [_f(3, 4)],
    ),
    "complex-parts": (
        lambda x, y: (
            torch.view_as_real(torch.complex(x, y).conj() * torch.complex(y, x)),
            torch.real(torch.complex(x, y) ** 2) + torch.complex(x, y).imag,
            torch.angle(torch.complex(x, y)) * torch.imag(torch.complex(y, x)),
            torch.outer(x[0], y[1]),
        ),
        [_f(3, 4), _f(3, 4)],
    ),
}


class _Glue(nn.Module):
    """``fn`` as a model; ``export``: a shape check first that fx cannot follow (torch.export
    can), so the converter meets fn's ops as ATen's."""

    def __init__(self, fn, export):
        super().__init__()
        self.fn, self.export = fn, export

    def forward(self, *inputs):
        return self.fn(*inputs)


def _glue(fn, arity, export):
    """A module of ``arity`` named inputs (fx gives ``*inputs`` no placeholders of its own)."""
    names = ", ".join(f"x{i}" for i in range(arity))
    check = "    if x0.dim() < 0:\n        raise ValueError\n" if export else ""
    source = f"def forward(self, {names}):\n{check}    return self.fn({names})\n"
    namespace = {}
    exec(source, namespace)
    return type("Glue", (_Glue,), {"forward": namespace["forward"]})(fn, export)


def _leaves(tree):
    if isinstance(tree, torch.Tensor):
        return [tree]
    return [leaf for item in tree for leaf in _leaves(item)]


# fx records an in-place write as operator.setitem / Tensor.add_, which the table refuses: the
# value it changes may be a view of another. torch.export's functional graph has no such question.
EXPORT_ONLY = {"in-place"}


@pytest.mark.parametrize(
    ("name", "through"),
    [
        (n, t)
        for n in sorted(GLUE)
        for t in ("fx", "export")
        if t == "export" or n not in EXPORT_ONLY
    ],
)
def test_glue_op_matches_torch_outputs_and_vjp(name, through, x64):
    """float64 outputs, and the VJP w.r.t. every float input on a random cotangent."""
    fn, makers = GLUE[name]
    g = torch.Generator().manual_seed(0)
    inputs = [make(g) for make in makers]
    model = _glue(fn, len(inputs), through == "export")
    conv = fg.interop.convert(model, tuple(inputs) if len(inputs) > 1 else inputs[0])
    assert ("# traced by torch.export" in conv.source) == (through == "export"), conv.source

    floats = [i for i, x in enumerate(inputs) if x.is_floating_point()]
    leaves = [t.requires_grad_() for t in inputs if t.is_floating_point()]
    expected = _leaves(fn(*inputs))
    cotangents = [torch.randn(e.shape, generator=g, dtype=torch.float64) for e in expected]
    weighted = sum(
        (c * e).sum() for c, e in zip(cotangents, expected, strict=True) if e.is_floating_point()
    )
    grads = torch.autograd.grad(weighted, leaves, allow_unused=True)

    def run(*xs):
        args = [jnp.asarray(x.detach().numpy()) for x in inputs]
        for i, x in zip(floats, xs, strict=True):
            args[i] = x
        return conv.model.apply(conv.params, tuple(args) if len(args) > 1 else args[0])

    def loss(*xs):  # outputs and the VJP from one compiled function
        got = jax.tree.leaves(run(*xs))
        weighted = sum(
            jnp.sum(jnp.asarray(c.numpy()) * y)
            for c, y in zip(cotangents, got, strict=True)
            if jnp.issubdtype(y.dtype, jnp.floating)
        )
        return weighted, got

    xs = [jnp.asarray(x.detach().numpy()) for x in leaves]
    grad = jax.value_and_grad(loss, argnums=tuple(range(len(xs))), has_aux=True)
    (_, got), got_grads = jax.jit(grad)(*xs)
    assert len(got) == len(expected), conv.source
    for y, e in zip(got, expected, strict=True):
        e = e.detach().numpy()
        assert y.shape == e.shape and y.dtype.kind == e.dtype.kind, (y.dtype, e.dtype)
        y, e = (np.asarray(y, np.int8), e.astype(np.int8)) if e.dtype == bool else (y, e)
        atol = 1e-12 if y.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(np.asarray(y), e, rtol=1e-10, atol=atol)
    for gj, gt, x in zip(got_grads, grads, leaves, strict=True):
        gt = np.zeros(x.shape) if gt is None else gt.numpy()
        np.testing.assert_allclose(np.asarray(gj), gt, rtol=1e-10, atol=1e-12)


# -- asserts: checked on shapes where the model is traced ------------------------------------------


class _TorchAssert(nn.Module):
    """timm's patch embedding checks its input's size with ``torch._assert``."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        torch._assert(x.shape[1] == 4, f"Linear wants 4 features, got {x.shape[1]}")
        return self.fc(x)


class _PythonAssert(_TorchAssert):
    def forward(self, x):
        assert x.shape[1] == 4, "Linear wants 4 features"
        return self.fc(x)


def test_torch_assert_is_an_assert_in_the_source_checked_under_jit():
    torch.manual_seed(0)
    model, x = _TorchAssert(), torch.randn(3, 4)
    conv = fg.interop.convert(model, x)
    assert re.search(r'assert eq, f"Linear wants 4 features, got \{getitem\w*\}"', conv.source)
    apply = jax.jit(conv.model.apply)
    got = apply(conv.params, jnp.asarray(x.numpy()))
    np.testing.assert_allclose(np.asarray(got), model(x).detach().numpy(), rtol=1e-6)
    with pytest.raises(AssertionError, match="Linear wants 4 features, got 5"):
        apply(conv.params, jnp.ones((3, 5)))


def test_python_assert_on_shapes_is_checked_at_trace_time():
    """fx cannot follow an ``assert`` on a shape; torch.export checks it on the example's shapes."""
    torch.manual_seed(0)
    model, x = _PythonAssert(), torch.randn(3, 4)
    conv = fg.interop.convert(model, x)
    got = conv.model.apply(conv.params, jnp.asarray(x.numpy()))
    np.testing.assert_allclose(np.asarray(got), model(x).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("model", "op"),
    [(_TorchAssert(), "torch._assert"), (_PythonAssert(), "assert")],
    ids=["torch", "python"],
)
def test_a_failing_assert_is_refused_with_its_message(model, op):
    """Refused by ``convert`` itself, before any trace: the assert's message, the op, the line."""
    with pytest.raises(fg.interop.ConversionError, match="Linear wants 4 features") as info:
        fg.interop.convert(model, torch.randn(3, 5))
    assert "control flow" not in str(info.value)
    assert info.value.op == op and "== 4" in info.value.line, (info.value.op, info.value.line)


# -- errors: an op the table lacks is named, with the user's line, never blamed on control flow ---


class _Unmapped(nn.Module):
    def forward(self, x):
        return torch.special.i0(x) + 1


class _UnmappedAfterExport(nn.Module):
    """Llama's rotary embedding unpacks a shape (``*x.shape[:-1]``): fx cannot, torch.export can."""

    def forward(self, x):
        pairs = x.reshape(*x.shape[:-1], -1, 2)
        return torch.special.i0(pairs).flatten(-2)


@pytest.mark.parametrize(
    ("model", "op", "line"),
    [
        (_Unmapped(), "torch.special_i0", "return torch.special.i0(x) + 1"),
        (_UnmappedAfterExport(), "aten.special_i0", "return torch.special.i0(pairs).flatten(-2)"),
    ],
    ids=["fx", "export"],
)
def test_an_unmapped_op_is_refused_naming_it_and_the_line(model, op, line):
    with pytest.raises(fg.interop.ConversionError) as info:
        fg.interop.convert(model, torch.randn(2, 3, 4))
    message = str(info.value)
    assert info.value.op == op and op in message
    assert info.value.line == f"test_convert_ops.py:{info.value.line.split(':')[1]}: {line}"
    assert "control flow" not in message and "no rule for this op" in message
