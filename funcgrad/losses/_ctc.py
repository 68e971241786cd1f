"""Connectionist temporal classification: one ``lax.scan`` over time, in log space."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad.losses._common import Reduction, _check_reduction, _is_concrete

Lengths = jax.Array | Sequence[int]


def _logsumexp(*xs: jax.Array) -> jax.Array:
    """``log(sum(exp(x)))`` whose derivative is 0, not NaN, where every term is ``-inf``."""
    m = jax.lax.stop_gradient(functools.reduce(jnp.maximum, xs))
    m = jnp.where(jnp.isfinite(m), m, 0)
    s = sum(jnp.exp(x - m) for x in xs)
    positive = s > 0
    return jnp.where(positive, jnp.log(jnp.where(positive, s, 1)) + m, -jnp.inf)


def _padded_targets(targets: jax.Array, target_lengths: jax.Array, n: int) -> jax.Array:
    """``(N, S)`` targets, from torch's padded ``(N, S)`` or concatenated 1-D layout."""
    if targets.ndim == 2:
        return targets
    if _is_concrete(target_lengths):  # the longest target bounds S; traced, the total does
        s = max(int(np.max(np.asarray(target_lengths), initial=0)), 1)
    else:
        s = max(targets.shape[0], 1)
    starts = jnp.cumsum(target_lengths) - target_lengths
    idx = starts[:, None] + jnp.arange(s)[None, :]
    return jnp.take(targets, jnp.clip(idx, 0, max(targets.shape[0] - 1, 0)), axis=0).reshape(n, s)


@partial(jax.custom_vjp, nondiff_argnums=(3,))
def _torch_gradient(
    nll: jax.Array, log_probs: jax.Array, live: jax.Array, zero_infinity: bool
) -> jax.Array:
    """``nll`` (zeroed where infinite with ``zero_infinity``), differentiated as torch does.

    torch's CTC backward returns ``exp(log_probs) - exp(log_alpha + log_beta + nll - log_probs)``:
    the gradient with respect to the logits of a ``log_softmax`` (it adds ``exp(log_probs)``, which
    the softmax's Jacobian cancels). An impossible alignment (infinite loss) gets NaN, or 0 with
    ``zero_infinity``. The autodiff part flows through ``nll``; this adds the rest.
    """
    return jnp.where(zero_infinity & jnp.isinf(nll), jnp.zeros_like(nll), nll)


def _torch_gradient_fwd(
    nll: jax.Array, log_probs: jax.Array, live: jax.Array, zero_infinity: bool
) -> tuple[jax.Array, tuple[jax.Array, jax.Array, jax.Array]]:
    return _torch_gradient(nll, log_probs, live, zero_infinity), (nll, log_probs, live)


def _torch_gradient_bwd(
    zero_infinity: bool, res: tuple[jax.Array, jax.Array, jax.Array], g: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    nll, log_probs, live = res
    inf = jnp.isinf(nll)
    g = jnp.where(zero_infinity & inf, jnp.zeros_like(g), g)
    extra = jnp.exp(log_probs) * (live * g[None, :])[:, :, None]  # (T, N, C)
    bad = jnp.nan if not zero_infinity else 0.0
    extra = jnp.where((inf[None, :] & (live > 0))[:, :, None], bad, extra)
    return g, extra, jnp.zeros_like(live)


_torch_gradient.defvjp(_torch_gradient_fwd, _torch_gradient_bwd)


def _ctc_nll(
    log_probs: jax.Array,
    targets: jax.Array,
    input_lengths: jax.Array,
    target_lengths: jax.Array,
    blank: int,
) -> jax.Array:
    """``-log p(target | input)`` per sequence, by the forward (alpha) recursion over time."""
    t_max, n, _ = log_probs.shape
    s = targets.shape[1]
    # The extended label sequence: blank, y1, blank, y2, ..., blank (length 2S + 1).
    ext = jnp.full((n, 2 * s + 1), blank, targets.dtype).at[:, 1::2].set(targets)
    lp = jnp.take_along_axis(log_probs, jnp.broadcast_to(ext[None], (t_max, *ext.shape)), axis=2)
    neg_inf = jnp.asarray(-jnp.inf, log_probs.dtype)
    pos = jnp.arange(2 * s + 1)[None, :]
    # A label may be reached from two back (skipping a blank) unless it repeats that label.
    skip = (pos % 2 == 1) & (pos >= 2) & (ext != jnp.roll(ext, 2, axis=1))
    alpha0 = jnp.where(pos <= 1, lp[0], neg_inf)

    def step(alpha: jax.Array, xs: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, None]:
        lp_t, t = xs
        prev1 = jnp.concatenate([jnp.full((n, 1), neg_inf), alpha[:, :-1]], axis=1)
        prev2 = jnp.concatenate([jnp.full((n, 2), neg_inf), alpha[:, :-2]], axis=1)
        new = _logsumexp(alpha, prev1, jnp.where(skip, prev2, neg_inf)) + lp_t
        return jnp.where((t < input_lengths)[:, None], new, alpha), None

    alpha, _ = jax.lax.scan(step, alpha0, (lp[1:], jnp.arange(1, t_max)))
    end = 2 * target_lengths
    last = jnp.take_along_axis(alpha, end[:, None], axis=1)[:, 0]
    before = jnp.take_along_axis(alpha, jnp.maximum(end - 1, 0)[:, None], axis=1)[:, 0]
    before = jnp.where(target_lengths > 0, before, neg_inf)
    return -_logsumexp(last, before)


def ctc_loss(
    log_probs: jax.Array,
    targets: jax.Array,
    input_lengths: Lengths,
    target_lengths: Lengths,
    blank: int = 0,
    reduction: Reduction = "mean",
    zero_infinity: bool = False,
) -> jax.Array:
    """Connectionist temporal classification loss, as ``torch.nn.functional.ctc_loss``.

    The negative log-likelihood of each target sequence, summed over every alignment of it to the
    input frames (blanks between and around labels, repeats merged), by the forward recursion in
    log space: one ``jax.lax.scan`` over time, jit-friendly (no Python loop over steps, static
    shapes). ``"mean"`` divides each sequence's loss by its target length, then averages over the
    batch, as torch. A target no alignment can produce (too long for its input) has an infinite
    loss; ``zero_infinity`` makes it 0 (and its gradient 0).

    The derivative with respect to ``log_probs`` is torch's: torch's CTC backward assumes the
    input came from ``log_softmax`` and adds ``exp(log_probs)``, which ``log_softmax``'s Jacobian
    cancels; funcgrad returns the same numbers, so gradients through ``log_softmax`` (or any other
    input) equal torch's.

    Args:
        log_probs: ``(T, N, C)`` log-probabilities over ``C`` classes (blank included), or
            ``(T, C)`` for one sequence.
        targets: ``(N, S)`` class indices padded to ``S``, or the ``N`` targets concatenated into
            one vector of ``sum(target_lengths)`` (``(S,)`` for one sequence).
        input_lengths: ``(N,)`` frames per sequence (``<= T``); an array or a list of ints.
        target_lengths: ``(N,)`` labels per target; an array or a list of ints.
        blank: the class index of the blank.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per sequence).
        zero_infinity: replace infinite losses, and their gradients, by 0.

    Returns:
        The reduced loss (a scalar), or one loss per sequence with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> log_probs = jnp.log(jnp.full((2, 1, 2), 0.5))   # T=2 frames, 1 sequence, C=2
        >>> # "1" aligns as (1, 1), (blank, 1) or (1, blank), each of probability 1/4: -log(3/4)
        >>> round(float(ctc_loss(log_probs, jnp.array([[1]]), [2], [1], reduction="sum")), 4)
        0.2877
    """
    with jax.named_scope("ctc_loss"):
        name = "ctc_loss"
        _check_reduction(reduction, name)
        unbatched = log_probs.ndim == 2
        if log_probs.ndim not in (2, 3):
            raise ValueError(
                f"{name}: log_probs must be (T, N, C) or (T, C), got {tuple(log_probs.shape)}"
            )
        in_len = jnp.asarray(input_lengths).reshape(-1)
        tg_len = jnp.asarray(target_lengths).reshape(-1)
        if unbatched:
            log_probs, targets = log_probs[:, None], targets.reshape(1, -1)
        t_max, n, c = log_probs.shape
        if in_len.shape != (n,) or tg_len.shape != (n,):
            raise ValueError(
                f"{name}: expected {n} input and target lengths, got {in_len.shape[0]} and "
                f"{tg_len.shape[0]}"
            )
        if not 0 <= blank < c:
            raise ValueError(f"{name}: blank must be a class index in [0, {c}), got {blank}")
        if _is_concrete(in_len) and bool(np.any(np.asarray(in_len) > t_max)):
            raise ValueError(
                f"{name}: input_lengths {np.asarray(in_len).tolist()} exceed the {t_max} frames "
                "of log_probs"
            )
        padded = _padded_targets(targets, tg_len, n)
        if _is_concrete(tg_len) and bool(np.any(np.asarray(tg_len) > padded.shape[1])):
            raise ValueError(
                f"{name}: target_lengths {np.asarray(tg_len).tolist()} exceed the targets' "
                f"length {padded.shape[1]}"
            )
        nll = _ctc_nll(log_probs, padded, in_len, tg_len, blank)
        live = (jnp.arange(t_max)[:, None] < in_len[None, :]).astype(log_probs.dtype)
        nll = _torch_gradient(nll, log_probs, live, zero_infinity)
        if reduction == "none":
            return nll[0] if unbatched else nll
        if reduction == "sum":
            return nll.sum()
        return (nll / jnp.maximum(tg_len, 1).astype(nll.dtype)).mean()
