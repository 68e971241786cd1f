"""Every loss functional on every ``op_db`` sample of torch's function of the same name.

``sample_inputs`` and ``reference_inputs`` (the latter includes the former) run through torch and
``fg.losses.<name>``: float64 at 1e-10 and float32 at 1e-5 (relative to the largest value), the
output and the VJP of a random cotangent with respect to every float tensor torch differentiates,
NaN and inf where torch gives them. ``error_inputs`` (the calls torch refuses) must be refused too,
with a one-line message. Each test prints its counts: pass, fail, error (funcgrad raised where
torch did not) and unsupported (a sample funcgrad cannot express); all but pass must be 0.

Then the derivatives of each loss against central differences in float64, at points away from its
kinks (hinges, clamps, ``|x|``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, torch_dtype
from _torch_samples import op_info

import funcgrad as fg

OPS = [(e.functional, op) for e in fg.nn.LOSSES.values() for op in e.op_db]


class UnsupportedError(Exception):
    """A sample argument funcgrad has no counterpart for."""


def _distance(module: torch.nn.Module) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """funcgrad's twin of a torch distance module passed as ``distance_function``."""
    if type(module) is torch.nn.PairwiseDistance:
        p, eps, keepdim = module.norm, module.eps, module.keepdim
        return lambda a, b: jnp.linalg.norm(a - b + eps, ord=p, axis=-1, keepdims=keepdim)
    raise UnsupportedError(f"distance_function {type(module).__name__}")


def _to_jax(value: Any, dtype: type) -> Any:
    """A torch argument as funcgrad takes it: float tensors as ``dtype`` arrays, the rest as is."""
    if isinstance(value, torch.Tensor):
        a = value.detach().numpy()
        return jnp.asarray(a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a)
    if isinstance(value, torch.nn.Module):
        return _distance(value)
    if callable(value):
        raise UnsupportedError(f"callable {value!r}")
    if isinstance(value, list | tuple):
        return type(value)(_to_jax(v, dtype) for v in value)
    return value


def _one_line(error: BaseException) -> bool:
    return "\n" not in str(error).strip()


REFUSALS = (ValueError, TypeError, IndexError, fg.nn.ModuleError)

# torch's float32 CTC gradient is itself ~2e-5 (relative) off its float64 one (funcgrad's float32
# is ~3e-6 off): in float32, funcgrad is compared with torch run in float64 on the same values.
FLOAT64_ORACLE = {"nn.functional.ctc_loss"}


def _upcast(v: Any) -> Any:
    if isinstance(v, torch.Tensor) and v.is_floating_point():
        return v.detach().double().requires_grad_(v.requires_grad)
    return v


def _check_sample(
    fn: Callable[..., Any], torch_fn: Callable[..., Any], sample: Any, dtype: type, upcast: bool
) -> str:
    """``"pass"``, or raises: AssertionError (fail), UnsupportedError, or funcgrad's own error."""
    positional = [sample.input, *sample.args]
    names = [*range(len(positional)), *sample.kwargs]
    values = [*positional, *sample.kwargs.values()]
    j_values = [_to_jax(v, dtype) for v in values]
    if upcast:
        values = [_upcast(v) for v in values]
        positional = values[: len(positional)]
        sample = type(sample)(
            values[0],
            args=tuple(positional[1:]),
            kwargs=dict(zip(names[len(positional) :], values[len(positional) :], strict=True)),
        )
    diff = [
        i
        for i, v in enumerate(values)
        if isinstance(v, torch.Tensor) and v.requires_grad and v.is_floating_point()
    ]
    try:
        out_t = torch_fn(*positional, **sample.kwargs)
    except Exception as torch_error:  # torch refuses this sample: funcgrad must refuse it too
        try:
            _call(fn, names, j_values, len(positional))
        except REFUSALS as e:
            assert _one_line(e), f"refused, but over several lines: {e}"
            return "pass"
        raise AssertionError(f"torch refuses ({torch_error}); funcgrad accepts") from None
    v = np.random.default_rng(0).standard_normal(tuple(out_t.shape)).astype(dtype)
    if out_t.requires_grad:
        grads_t = torch.autograd.grad(
            (out_t * torch.tensor(v)).sum(), [values[i] for i in diff], allow_unused=True
        )
    else:
        grads_t = (None,) * len(diff)

    def f(*d: jax.Array) -> jax.Array:
        full = list(j_values)
        for i, x in zip(diff, d, strict=True):
            full[i] = x
        return _call(fn, names, full, len(positional))

    out, pullback = jax.vjp(f, *(j_values[i] for i in diff))
    assert out.dtype == dtype, f"output dtype {out.dtype}, expected {dtype}"
    assert_close(out, out_t.detach().numpy(), dtype, "value", equal_nan=True)
    grads = pullback(jnp.asarray(v, out.dtype))
    for i, g, g_t in zip(diff, grads, grads_t, strict=True):
        if g_t is not None:  # torch takes no derivative for some inputs (class targets, signs)
            assert_close(g, g_t.numpy(), dtype, f"grad wrt {names[i]}", equal_nan=True)
    return "pass"


def _call(fn: Callable[..., Any], names: list[Any], values: list[Any], n_positional: int) -> Any:
    kwargs = dict(zip(names[n_positional:], values[n_positional:], strict=True))
    return fn(*values[:n_positional], **kwargs)


@pytest.mark.parametrize(("fn", "op"), OPS, ids=lambda v: v if isinstance(v, str) else "")
def test_every_op_db_sample(dtype: type, fn: Callable[..., Any], op: str) -> None:
    """Every sample and reference input of ``op``, and every error input, with the counts."""
    info = op_info(op)
    torch.manual_seed(0)
    samples = list(info.reference_inputs("cpu", torch_dtype(dtype), requires_grad=True))
    counts: Counter[str] = Counter()
    problems: list[str] = []
    for n, sample in enumerate(samples):
        try:
            upcast = dtype is np.float32 and op in FLOAT64_ORACLE
            counts[_check_sample(fn, info.op, sample, dtype, upcast)] += 1
        except AssertionError as e:
            counts["fail"] += 1
            problems.append(f"sample {n}: {e}")
        except UnsupportedError as e:
            counts["unsupported"] += 1
            problems.append(f"sample {n}: unsupported {e}")
        except Exception as e:  # noqa: BLE001  # funcgrad raised where torch computed
            counts["error"] += 1
            problems.append(f"sample {n}: {type(e).__name__}: {e}")
    refused = 0
    for n, err in enumerate(info.error_inputs("cpu") if info.error_inputs_func else []):
        s = err.sample_input
        try:
            j = [_to_jax(a, dtype) for a in (s.input, *s.args)]
            fn(*j, **{k: _to_jax(v, dtype) for k, v in s.kwargs.items()})
        except REFUSALS as e:
            if _one_line(e):
                refused += 1
                counts["pass"] += 1
                continue
            problems.append(f"error input {n}: refused over several lines: {e}")
        except UnsupportedError as e:
            counts["unsupported"] += 1
            problems.append(f"error input {n}: unsupported {e}")
            continue
        else:
            problems.append(f"error input {n}: torch refuses ({err.error_regex}); funcgrad accepts")
        counts["fail"] += 1
    print(
        f"\n{op} [{np.dtype(dtype).name}]: {counts['pass']} pass ({refused} refused as torch "
        f"refuses), {counts['fail']} fail, {counts['error']} error, "
        f"{counts['unsupported']} unsupported"
    )
    assert not problems, "\n".join(problems[:10])


def _smooth_points() -> dict[str, tuple[Callable[..., Any], list[np.ndarray]]]:
    """Each loss at a point away from its kinks, as ``(f of the float inputs, those inputs)``."""
    r = np.random.default_rng(0)
    x, y = r.standard_normal((4, 5)), r.standard_normal((4, 5))
    p = r.uniform(0.1, 0.9, (4, 5))
    labels = jnp.array([0, 3, 1, 4])
    sign = jnp.array([1.0, -1.0, 1.0, -1.0])
    L = fg.losses
    ctc_targets, lengths = jnp.array([[1, 2, 2], [3, 1, 0]]), (jnp.array([6, 5]), jnp.array([3, 2]))
    return {
        "l1_loss": (L.l1_loss, [x, x + 0.5]),
        "mse_loss": (L.mse_loss, [x, y]),
        "huber_loss": (lambda a, b: L.huber_loss(a, b, delta=10.0), [x, y]),
        "smooth_l1_loss": (lambda a, b: L.smooth_l1_loss(a, b, beta=10.0), [x, y]),
        "binary_cross_entropy": (L.binary_cross_entropy, [p, p[::-1]]),
        "binary_cross_entropy_with_logits": (L.binary_cross_entropy_with_logits, [x, p]),
        "nll_loss": (lambda a: L.nll_loss(a, labels), [x]),
        "cross_entropy": (lambda a: L.cross_entropy(a, labels, label_smoothing=0.1), [x]),
        "linear_cross_entropy": (
            lambda a, w, b: L.linear_cross_entropy(
                a, w, labels, linear_bias=b, label_smoothing=0.1
            ),
            [x, np.concatenate([y, x[:1]]), p[0]],
        ),
        "kl_div": (lambda a, b: L.kl_div(a, b, reduction="batchmean"), [x, p]),
        "poisson_nll_loss": (lambda a, b: L.poisson_nll_loss(a, b, full=True), [x, p + 1.5]),
        "gaussian_nll_loss": (L.gaussian_nll_loss, [x, y, p]),
        "margin_ranking_loss": (
            lambda a, b: L.margin_ranking_loss(a, b, sign, margin=10.0),
            [x[:, 0], y[:, 0]],
        ),
        "hinge_embedding_loss": (
            lambda a: L.hinge_embedding_loss(
                a, jnp.broadcast_to(sign[:, None], (4, 5)), margin=9.0
            ),
            [x],
        ),
        "soft_margin_loss": (lambda a: L.soft_margin_loss(a, jnp.sign(jnp.asarray(y))), [x]),
        "multilabel_soft_margin_loss": (L.multilabel_soft_margin_loss, [x, p]),
        "multilabel_margin_loss": (
            lambda a: L.multilabel_margin_loss(a * 0.1, jnp.array([[0, 2, -1, 0, 0]] * 4)),
            [x],
        ),
        "multi_margin_loss": (lambda a: L.multi_margin_loss(a * 0.1, labels, p=2), [x]),
        "cosine_embedding_loss": (
            lambda a, b: L.cosine_embedding_loss(a, b, sign, margin=-2.0),
            [x, y],
        ),
        "triplet_margin_loss": (
            lambda a, b, c: L.triplet_margin_loss(a, b, c, margin=20.0),
            [x, y, y + 1.0],
        ),
        "triplet_margin_with_distance_loss": (
            lambda a, b, c: L.triplet_margin_with_distance_loss(
                a, b, c, distance_function=lambda u, v: ((u - v) ** 2).sum(-1), margin=50.0
            ),
            [x, y, y + 1.0],
        ),
        # torch's CTC gradient assumes log_softmax'd input: through log_softmax it is the loss's
        "ctc_loss": (
            lambda z: L.ctc_loss(jax.nn.log_softmax(z, -1), ctc_targets, *lengths),
            [r.standard_normal((6, 2, 4))],
        ),
    }


SMOOTH = _smooth_points()


def test_every_loss_has_a_finite_difference_point() -> None:
    assert set(SMOOTH) == {e.functional.__name__ for e in fg.nn.LOSSES.values()}


@pytest.mark.parametrize("name", list(SMOOTH))
def test_finite_differences(x64: None, name: str) -> None:
    """Forward and reverse mode against central differences, float64, away from the kinks."""
    f, args = SMOOTH[name]
    assert fg.autodiff.gradcheck(f, *(jnp.asarray(a) for a in args))
