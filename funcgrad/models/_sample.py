"""Sampling from a language model: one compiled ``lax.scan`` that feeds each drawn token back in."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from funcgrad.nn._module import Module, ModuleError, Params

__all__ = ["sample"]


def sample(
    model: Module,
    params: Params,
    prompt: jax.Array,
    length: int,
    *,
    key: jax.Array,
    temperature: float = 1.0,
    context: int | None = None,
) -> jax.Array:
    """Draw ``length`` tokens that continue ``prompt`` from a causal language model.

    ``model.apply(params, codes)`` must map ``(1, T)`` codes to ``(1, T, V)`` next-token logits
    (eval mode) and be causal: position ``t``'s logits depend on positions ``<= t`` only, as
    :class:`~funcgrad.models.CharLSTM` and :class:`~funcgrad.models.GPT` are. Each step runs the
    model on the tokens so far (the last ``context`` of them when given, e.g. a GPT's
    ``block_size``), divides the last logits by ``temperature`` and draws the next token with
    ``jax.random.categorical``, from ``key`` folded with the position. Fixed shapes throughout, so
    the whole loop is one ``lax.scan``, compiled once per model, prompt length and ``length``.

    Args:
        model: the language model.
        params: its params.
        prompt: the ``(P,)`` integer codes to continue (``P >= 1``).
        length: how many tokens to draw.
        key: the random key; the same key gives the same continuation.
        temperature: ``> 0``; below 1 sharpens the distribution, above 1 flattens it.
        context: feed the model at most this many of the latest tokens (``None``: all).

    Returns:
        The ``(length,)`` drawn codes (int32).

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> gpt = fg.models.GPT(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=4)
        >>> params = gpt.init(jax.random.key(0))
        >>> out = sample(gpt, params, jnp.array([1, 2]), 10, key=jax.random.key(1), context=8)
        >>> out.shape, bool((out < 5).all())
        ((10,), True)
    """
    prompt = jnp.asarray(prompt)
    if prompt.ndim != 1 or prompt.shape[0] < 1 or not jnp.issubdtype(prompt.dtype, jnp.integer):
        raise ModuleError(
            f"sample: prompt must be a non-empty 1-D array of integer codes, got "
            f"{prompt.dtype} of shape {tuple(prompt.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"sample: temperature must be > 0, got {temperature}")
    if length < 0 or (context is not None and context < 1):
        raise ValueError(f"sample: length must be >= 0 and context >= 1, got {length}, {context}")
    return _sample(model, params, prompt.astype(jnp.int32), length, context, key, temperature)


@partial(jax.jit, static_argnums=(0, 3, 4))
def _sample(
    model: Module,
    params: Params,
    prompt: jax.Array,
    length: int,
    context: int | None,
    key: jax.Array,
    temperature: float,
) -> jax.Array:
    total = prompt.shape[0] + length
    window = total if context is None else min(context, total)
    tokens = jnp.zeros(total, jnp.int32).at[: prompt.shape[0]].set(prompt)

    def step(tokens: jax.Array, i: jax.Array) -> tuple[jax.Array, jax.Array]:
        # The window ends at the newest token i - 1 (or starts at 0); later slots are still
        # zeros, which a causal model never looks at from position i - 1.
        start = jnp.clip(i - window, 0, total - window)
        seen = jax.lax.dynamic_slice(tokens, (start,), (window,))
        logits = model.apply(params, seen[None])[0]
        last = jax.lax.dynamic_index_in_dim(logits, i - 1 - start, keepdims=False)
        drawn = jax.random.categorical(jax.random.fold_in(key, i), last / temperature)
        drawn = drawn.astype(jnp.int32)
        return tokens.at[i].set(drawn), drawn

    _, drawn = jax.lax.scan(step, tokens, jnp.arange(prompt.shape[0], total))
    return drawn
