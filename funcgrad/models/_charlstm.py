"""A character-level LSTM language model: embedding, a 2-layer LSTM, and a linear head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.nn._dropout import Dropout
from funcgrad.nn._embedding import Embedding
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params, call_child
from funcgrad.nn._module import child_key as _child_key
from funcgrad.nn._recurrent import LSTM

__all__ = ["CharLSTM"]


@dataclass(frozen=True)
class CharLSTM(Module):
    """``head(dropout(lstm(embedding(x))))``: next-character logits for every position.

    The torch model it mirrors is ``nn.Embedding(vocab_size, embedding_dim)``, then
    ``nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout)``, then
    ``nn.Dropout(dropout)`` and ``nn.Linear(hidden_size, vocab_size)``, with torch's default
    initialisation; params are keyed as that model's ``state_dict`` (``embedding.weight``,
    ``lstm.weight_ih_l0``, ..., ``head.bias``). It acts on a batch of codes ``(N, T)`` and returns
    logits ``(N, T, vocab_size)``; ``hx``, the LSTM's initial ``(h_0, c_0)`` (each
    ``(num_layers, N, hidden_size)``), defaults to zeros as in torch.

    Args:
        vocab_size: how many distinct characters (codes ``0 .. vocab_size - 1``).
        embedding_dim: the length of each character's embedding.
        hidden_size: the LSTM's state size.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers and before the head (in training).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = CharLSTM(vocab_size=10, embedding_dim=8, hidden_size=16)
        >>> params = net.init(jax.random.key(0))
        >>> sorted(params), params["lstm"]["weight_ih_l1"].shape
        (['embedding', 'head', 'lstm'], (64, 16))
        >>> net.apply(params, jnp.zeros((3, 5), jnp.int32)).shape
        (3, 5, 10)
    """

    vocab_size: int
    embedding_dim: int = 32
    hidden_size: int = 128
    num_layers: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        sizes = (self.vocab_size, self.embedding_dim, self.hidden_size, self.num_layers)
        if any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ConfigError(
                f"CharLSTM{sizes}: vocab_size, embedding_dim, hidden_size and num_layers "
                "must be positive ints"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"CharLSTM(dropout={self.dropout}): use 0 <= dropout < 1")

    @property
    def children(self) -> dict[str, Module]:
        """The torch submodules by name, in order."""
        lstm_dropout = self.dropout if self.num_layers > 1 else 0.0
        return {
            "embedding": Embedding(self.vocab_size, self.embedding_dim),
            "lstm": LSTM(
                self.embedding_dim,
                self.hidden_size,
                self.num_layers,
                batch_first=True,
                dropout=lstm_dropout,
            ),
            "drop": Dropout(self.dropout),
            "head": Linear(self.hidden_size, self.vocab_size),
        }

    def init(self, key: jax.Array) -> Params:
        # Each child's key is folded from its name, as call_child folds it in apply.
        return {
            name: params
            for name, child in self.children.items()
            if (params := child.init(_child_key(key, name)))
        }

    def forward(
        self,
        params: Params,
        x: Any,
        hx: tuple[jax.Array, jax.Array] | None = None,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        if x.ndim != 2:
            raise ModuleError(
                f"CharLSTM expects a batch of character codes (N, T), got shape {tuple(x.shape)}; "
                "add a batch axis with x[None]"
            )
        c = self.children

        def run(name: str, *inputs: Any) -> Any:
            return call_child(
                name, c[name], params, *inputs, buffers=buffers, train=train, key=key
            )[0]

        h = run("embedding", x)
        h, _state = run("lstm", h, hx)  # (output, (h_n, c_n))
        h = run("drop", h)
        with jax.named_scope("head"):
            # The bias as one more input feature: added inside the matmul (torch's addmm), not in
            # a pass of its own over the (N, T, vocab) logits; its gradient comes out of dW's.
            head = params["head"]
            ones = jnp.ones((*h.shape[:-1], 1), h.dtype)
            w = jnp.concatenate([head["weight"], head["bias"][:, None]], axis=1)
            return jnp.concatenate([h, ones], axis=-1) @ w.T, buffers
