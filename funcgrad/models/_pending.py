"""TEMPORARY stand-ins for ``fg.nn.LSTM`` and ``F.scaled_dot_product_attention`` until the branches
that add them (wt-rnn, wt-attn) are merged; the real ones are used as soon as they exist."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.nn import functional as F
from funcgrad.nn._init import torch_uniform
from funcgrad.nn._module import Buffers, Module, Params

__all__ = ["LSTM", "scaled_dot_product_attention"]

try:
    from funcgrad.nn import LSTM  # type: ignore[attr-defined]
except ImportError:

    @dataclass(frozen=True)
    class LSTM(Module):  # type: ignore[no-redef]
        input_size: int
        hidden_size: int
        num_layers: int = 1
        bias: bool = True
        batch_first: bool = False
        dropout: float = 0.0

        def init(self, key: jax.Array) -> Params:
            h, p = self.hidden_size, {}
            for layer in range(self.num_layers):
                n_in = self.input_size if layer == 0 else h
                ks = jax.random.split(jax.random.fold_in(key, layer), 4)
                p[f"weight_ih_l{layer}"] = torch_uniform(ks[0], (4 * h, n_in), h)
                p[f"weight_hh_l{layer}"] = torch_uniform(ks[1], (4 * h, h), h)
                p[f"bias_ih_l{layer}"] = torch_uniform(ks[2], (4 * h,), h)
                p[f"bias_hh_l{layer}"] = torch_uniform(ks[3], (4 * h,), h)
            return p

        def forward(
            self,
            params: Params,
            x: Any,
            hx: Any = None,
            *,
            buffers: Buffers,
            train: bool,
            key: jax.Array | None,
        ) -> tuple[Any, Buffers]:
            xs = jnp.swapaxes(x, 0, 1) if self.batch_first else x  # (T, N, in)
            n, h = xs.shape[1], self.hidden_size
            if hx is None:
                zeros = jnp.zeros((self.num_layers, n, h), xs.dtype)
                hx = (zeros, zeros)
            hs, cs = [], []
            for layer in range(self.num_layers):
                if layer > 0 and train and self.dropout > 0:
                    xs = F.dropout(xs, self.dropout, True, key=jax.random.fold_in(key, layer))
                w_ih, w_hh = params[f"weight_ih_l{layer}"], params[f"weight_hh_l{layer}"]
                b = params[f"bias_ih_l{layer}"] + params[f"bias_hh_l{layer}"]
                gx = F.linear(xs, w_ih, b)

                def cell(carry: Any, g: jax.Array, w_hh: jax.Array = w_hh) -> Any:
                    hh, cc = carry
                    i, f, gg, o = jnp.split(g + hh @ w_hh.T, 4, axis=-1)
                    cc = jax.nn.sigmoid(f) * cc + jax.nn.sigmoid(i) * jnp.tanh(gg)
                    hh = jax.nn.sigmoid(o) * jnp.tanh(cc)
                    return (hh, cc), hh

                (hn, cn), xs = jax.lax.scan(cell, (hx[0][layer], hx[1][layer]), gx)
                hs.append(hn)
                cs.append(cn)
            out = jnp.swapaxes(xs, 0, 1) if self.batch_first else xs
            return (out, (jnp.stack(hs), jnp.stack(cs))), buffers


try:
    from funcgrad.nn.functional import scaled_dot_product_attention  # type: ignore[attr-defined]
except ImportError:

    def scaled_dot_product_attention(  # type: ignore[misc]
        query: jax.Array,
        key: jax.Array,
        value: jax.Array,
        attn_mask: Any = None,
        dropout_p: float = 0.0,
        is_causal: bool = False,
        scale: float | None = None,
        *,
        dropout_key: jax.Array | None = None,
    ) -> jax.Array:
        s = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
        scores = query @ jnp.swapaxes(key, -1, -2) * s
        if is_causal:
            t, u = scores.shape[-2:]
            scores = jnp.where(jnp.tril(jnp.ones((t, u), bool)), scores, -jnp.inf)
        w = jax.nn.softmax(scores, axis=-1)
        if dropout_p > 0:
            w = F.dropout(w, dropout_p, True, key=dropout_key)
        return w @ value
