"""The Transformer family: torch's ``TransformerEncoderLayer``, ``TransformerDecoderLayer``, their
stacks ``TransformerEncoder`` and ``TransformerDecoder``, and ``Transformer``.

Each is a container of funcgrad layers named as torch's children (``self_attn``, ``linear1``,
``norm1``, ``layers.0``...), so params are keyed exactly as torch's state_dict. A stack copies its
layer ``num_layers`` times as torch's ``deepcopy`` does: every layer starts from the same draw.

The functions at the end read a torch module's constructor arguments from its attributes (no torch
import): the converter's ``torch_args`` for these classes, and the stacks' constructors, which take
torch's own layer as torch's constructor does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from funcgrad.nn import functional as F
from funcgrad.nn._attention import MultiheadAttention, xavier_uniform
from funcgrad.nn._dropout import Dropout
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import (
    Buffers,
    ConfigError,
    Module,
    ModuleError,
    Params,
    call_child,
    child_key,
)
from funcgrad.nn._norm import LayerNorm

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]

Activation = str | Callable[[jax.Array], jax.Array]
Mask = jax.Array | None


def _activation(value: Any, owner: str) -> Activation:
    """``"relu"``, ``"gelu"``, or a callable; torch's own ``F.relu`` / ``nn.GELU()`` become names."""
    if isinstance(value, str):
        if value not in ("relu", "gelu"):
            raise ConfigError(f"{owner}(activation={value!r}): use 'relu', 'gelu' or a callable")
        return value
    if not callable(value):
        raise ConfigError(f"{owner}(activation={value!r}): use 'relu', 'gelu' or a callable")
    if type(value).__module__.startswith("torch") or getattr(value, "__module__", "").startswith(
        "torch"
    ):
        name = getattr(value, "__name__", type(value).__name__).lower()
        if name in ("relu", "gelu") and getattr(value, "approximate", "none") == "none":
            return name
        raise ConfigError(
            f"{owner}(activation={value!r}): a torch function cannot run on JAX arrays; use "
            "'relu', 'gelu', or a JAX callable (jax.nn.silu, fg.nn.SiLU())"
        )
    return value


def _activate(activation: Activation, x: jax.Array) -> jax.Array:
    if activation == "relu":
        return F.relu(x)
    if activation == "gelu":
        return F.gelu(x)
    if isinstance(activation, Module):
        return activation.apply({}, x)
    assert callable(activation)
    return activation(x)


@dataclass(frozen=True)
class _Layer(Module):
    """The fields, children and blocks an encoder and a decoder layer share (torch's order)."""

    d_model: int
    nhead: int
    dim_feedforward: int = 2048
    dropout: float = 0.1
    activation: Activation = "relu"
    layer_norm_eps: float = 1e-5
    batch_first: bool = False
    norm_first: bool = False
    bias: bool = True

    _ATTENTIONS: ClassVar[tuple[str, ...]] = ()  # the attention children, set by subclasses

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "activation", _activation(self.activation, name))
        if not 0.0 <= self.dropout <= 1.0:
            raise ConfigError(f"{name}(dropout={self.dropout}): a probability; use 0 <= p <= 1")
        if self.d_model <= 0 or self.nhead <= 0 or self.d_model % self.nhead:
            raise ConfigError(
                f"{name}({self.d_model}, {self.nhead}): d_model must be a positive multiple of "
                "nhead (each head gets d_model // nhead features)"
            )

    @functools.cached_property
    def submodules(self) -> dict[str, Module]:
        """torch's children, by name, in torch's order."""
        d, n = self.d_model, len(self._ATTENTIONS)
        attention = MultiheadAttention(
            d, self.nhead, dropout=self.dropout, bias=self.bias, batch_first=self.batch_first
        )
        norm = LayerNorm(d, eps=self.layer_norm_eps, bias=self.bias)
        drop = Dropout(self.dropout)
        return {
            **dict.fromkeys(self._ATTENTIONS, attention),
            "linear1": Linear(d, self.dim_feedforward, bias=self.bias),
            "dropout": drop,
            "linear2": Linear(self.dim_feedforward, d, bias=self.bias),
            **{f"norm{i}": norm for i in range(1, n + 2)},
            **{f"dropout{i}": drop for i in range(1, n + 2)},
        }

    def init(self, key: jax.Array) -> Params:
        return _init_children(self.submodules, key)

    def _call(
        self, name: str, params: Params, x: Any, *more: Any, train: bool, key: Any, **flags: Any
    ) -> Any:
        """The child ``name`` on ``x``: its output alone (these children have no buffers)."""
        child = self.submodules[name]
        y, _ = call_child(name, child, params, x, *more, buffers={}, train=train, key=key, **flags)
        return y

    def _attend(
        self, i: int, params: Params, x: jax.Array, memory: jax.Array, masks: tuple[Mask, Mask],
        causal: bool, run: dict[str, Any],
    ) -> jax.Array:  # fmt: skip
        """torch's ``_sa_block`` / ``_mha_block``: attention ``i``, then ``dropout{i + 1}``."""
        y, _ = self._call(
            self._ATTENTIONS[i], params, x, memory, memory, attn_mask=masks[0],
            key_padding_mask=masks[1], need_weights=False, is_causal=causal, **run,
        )  # fmt: skip
        return self._call(f"dropout{i + 1}", params, y, **run)

    def _feedforward(self, params: Params, x: jax.Array, run: dict[str, Any]) -> jax.Array:
        """torch's ``_ff_block``: ``linear2(dropout(activation(linear1(x))))``, then its dropout."""
        h = _activate(self.activation, self._call("linear1", params, x, **run))
        y = self._call("linear2", params, self._call("dropout", params, h, **run), **run)
        return self._call(f"dropout{len(self._ATTENTIONS) + 1}", params, y, **run)

    def _blocks(
        self, params: Params, x: jax.Array, blocks: list[Callable[[jax.Array], jax.Array]],
        run: dict[str, Any],
    ) -> jax.Array:  # fmt: skip
        """Residual blocks, each with its norm: before the block (norm_first) or after the sum."""
        for i, block in enumerate(blocks, start=1):
            norm = f"norm{i}"
            if self.norm_first:
                x = x + block(self._call(norm, params, x, **run))
            else:
                x = self._call(norm, params, x + block(x), **run)
        return x


@dataclass(frozen=True)
class TransformerEncoderLayer(_Layer):
    """torch's ``nn.TransformerEncoderLayer``: self-attention and a feed-forward block.

    Children and params are torch's: ``self_attn`` (a :class:`MultiheadAttention`), ``linear1``,
    ``linear2``, ``norm1``, ``norm2``. ``apply(params, src, src_mask=None,
    src_key_padding_mask=None, is_causal=False)`` takes torch's masks: boolean True (or ``-inf``)
    where a position may not be attended. ``activation`` is ``"relu"``, ``"gelu"`` or a callable
    on JAX arrays (``jax.nn.silu``, or a funcgrad layer such as ``fg.nn.SiLU()``). In training the
    dropouts draw from ``key=``.

    Args:
        d_model: the model's width ``E``; ``nhead`` must divide it.
        nhead: the attention heads.
        dim_feedforward: the feed-forward block's hidden width.
        dropout: the dropout probability of every dropout in the layer (in training).
        activation: the feed-forward activation: ``"relu"``, ``"gelu"`` or a callable.
        layer_norm_eps: the ``eps`` of the layer's ``LayerNorm``s.
        batch_first: inputs and outputs are ``(N, L, E)`` rather than ``(L, N, E)``.
        norm_first: normalise before each block (pre-norm) instead of after the residual sum.
        bias: give the ``Linear``, ``LayerNorm`` and attention layers biases.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> params = layer.init(jax.random.key(0))
        >>> sorted(params)
        ['linear1', 'linear2', 'norm1', 'norm2', 'self_attn']
        >>> layer.apply(params, jnp.ones((3, 5, 8))).shape
        (3, 5, 8)
    """

    _ATTENTIONS: ClassVar[tuple[str, ...]] = ("self_attn",)

    def forward(  # torch's masks and flags, after src
        self,
        params: Params,
        src: jax.Array,
        src_mask: Mask = None,
        src_key_padding_mask: Mask = None,
        is_causal: bool = False,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        run = {"train": train, "key": key}
        masks = (src_mask, src_key_padding_mask)
        blocks = [
            lambda x: self._attend(0, params, x, x, masks, is_causal, run),
            lambda x: self._feedforward(params, x, run),
        ]
        return self._blocks(params, src, blocks, run), buffers


@dataclass(frozen=True)
class TransformerDecoderLayer(_Layer):
    """torch's ``nn.TransformerDecoderLayer``: self-attention, attention to the encoder's output
    (``memory``) and a feed-forward block.

    Children and params are torch's: ``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``,
    ``norm1``, ``norm2``, ``norm3``. ``apply(params, tgt, memory, tgt_mask=None, memory_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, tgt_is_causal=False,
    memory_is_causal=False)`` as torch's ``forward``; the rest as :class:`TransformerEncoderLayer`.

    Args:
        d_model: the model's width ``E``; ``nhead`` must divide it.
        nhead: the attention heads.
        dim_feedforward: the feed-forward block's hidden width.
        dropout: the dropout probability of every dropout in the layer (in training).
        activation: the feed-forward activation: ``"relu"``, ``"gelu"`` or a callable.
        layer_norm_eps: the ``eps`` of the layer's ``LayerNorm``s.
        batch_first: inputs and outputs are ``(N, L, E)`` rather than ``(L, N, E)``.
        norm_first: normalise before each block (pre-norm) instead of after the residual sum.
        bias: give the ``Linear``, ``LayerNorm`` and attention layers biases.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = TransformerDecoderLayer(8, 2, dim_feedforward=16)
        >>> params = layer.init(jax.random.key(0))
        >>> tgt, memory = jnp.ones((4, 3, 8)), jnp.ones((6, 3, 8))     # (T, N, E), (S, N, E)
        >>> layer.apply(params, tgt, memory).shape
        (4, 3, 8)
    """

    _ATTENTIONS: ClassVar[tuple[str, ...]] = ("self_attn", "multihead_attn")

    def forward(  # torch's further inputs and flags, after tgt
        self,
        params: Params,
        tgt: jax.Array,
        memory: jax.Array | None = None,
        tgt_mask: Mask = None,
        memory_mask: Mask = None,
        tgt_key_padding_mask: Mask = None,
        memory_key_padding_mask: Mask = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        if memory is None:
            raise ModuleError(
                "TransformerDecoderLayer takes tgt and memory (the encoder's output), as torch's "
                "forward: layer.apply(params, tgt, memory)"
            )
        run = {"train": train, "key": key}
        self_masks = (tgt_mask, tgt_key_padding_mask)
        memory_masks = (memory_mask, memory_key_padding_mask)
        blocks = [
            lambda x: self._attend(0, params, x, x, self_masks, tgt_is_causal, run),
            lambda x: self._attend(1, params, x, memory, memory_masks, memory_is_causal, run),
            lambda x: self._feedforward(params, x, run),
        ]
        return self._blocks(params, tgt, blocks, run), buffers


def _init_children(children: Mapping[str, Module | None], key: jax.Array) -> Params:
    """Each child's params under its name, from a key folded from the name; none if it has none."""
    params: Params = {}
    for name, child in children.items():
        if child is not None and (p := child.init(child_key(key, name))):
            params[name] = p
    return params


def _stack_call(
    layer: Module, num_layers: int, params: Params, x: jax.Array, *more: Any, **run: Any
) -> jax.Array:
    """``x`` through ``layers.0`` ... ``layers.{n-1}``, all copies of ``layer``, in order."""
    layers = params.get("layers", {})
    train, key = run.pop("train"), run.pop("key")
    with jax.named_scope("layers"):
        for i in range(num_layers):
            try:
                x, _ = call_child(
                    str(i), layer, layers, x, *more, buffers={}, train=train,
                    key=child_key(key, "layers"), **run,
                )  # fmt: skip
            except ModuleError as e:
                raise e.under("layers")  # noqa: B904  # the same error, its path one level longer
    return x


@dataclass(frozen=True)
class _Stack(Module):
    """What ``TransformerEncoder`` and ``TransformerDecoder`` share: ``num_layers`` copies of one
    layer, then an optional ``norm``."""

    def _layer(self) -> Module:
        raise NotImplementedError

    def _count(self) -> int:
        raise NotImplementedError

    def _norm(self) -> Module | None:
        raise NotImplementedError

    def init(self, key: jax.Array) -> Params:
        # torch deep-copies one layer: every layer starts from the same draw.
        one = self._layer().init(child_key(child_key(key, "layers"), "0"))
        params: Params = {"layers": {str(i): one for i in range(self._count())}}
        return {**params, **_init_children({"norm": self._norm()}, key)}

    def _finish(self, params: Params, x: jax.Array, train: bool, key: jax.Array | None) -> Any:
        norm = self._norm()
        if norm is None:
            return x
        return call_child("norm", norm, params, x, buffers={}, train=train, key=key)[0]


def _detect_causal(is_causal: bool | None) -> bool:
    """torch's ``_detect_is_causal_mask`` looks at the mask's values to set the hint; a hint only
    replaces a mask by the same causal mask, so ``None`` (use the mask as given) gives the same
    numbers without reading the mask's values (which a jitted function cannot)."""
    return bool(is_causal)


@dataclass(frozen=True)
class TransformerEncoder(_Stack):
    """torch's ``nn.TransformerEncoder``: ``num_layers`` copies of ``encoder_layer``, then ``norm``.

    Params are ``layers.0...``, ``layers.1...`` and ``norm...``, as torch's state_dict; ``init``
    draws the layer once and copies it, as torch's ``deepcopy`` does. ``encoder_layer`` is a
    :class:`TransformerEncoderLayer` (torch's own is read from its attributes, as torch's
    constructor takes it). ``enable_nested_tensor`` and ``mask_check`` are accepted for torch's
    signature: they choose torch's kernels, not its numbers.

    Args:
        encoder_layer: the layer to copy, a :class:`TransformerEncoderLayer` (or torch's).
        num_layers: how many copies, applied in order.
        norm: a ``LayerNorm`` applied to the last layer's output, or ``None``.
        enable_nested_tensor: accepted for torch's signature; it changes no number.
        mask_check: accepted for torch's signature; it changes no number.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16), 3)
        >>> params = enc.init(jax.random.key(0))
        >>> sorted(params["layers"])
        ['0', '1', '2']
        >>> enc.apply(params, jnp.ones((5, 2, 8))).shape
        (5, 2, 8)
    """

    encoder_layer: Module
    num_layers: int
    norm: Module | None = None
    enable_nested_tensor: bool = True
    mask_check: bool = True

    def __post_init__(self) -> None:
        _take_torch_children(self, "encoder_layer", TransformerEncoderLayer)

    def _layer(self) -> Module:
        return self.encoder_layer

    def _count(self) -> int:
        return self.num_layers

    def _norm(self) -> Module | None:
        return self.norm

    def forward(  # torch's masks and flags, after src
        self,
        params: Params,
        src: jax.Array,
        mask: Mask = None,
        src_key_padding_mask: Mask = None,
        is_causal: bool | None = None,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        x = _stack_call(
            self.encoder_layer, self.num_layers, params, src, mask, src_key_padding_mask,
            _detect_causal(is_causal), train=train, key=key,
        )  # fmt: skip
        return self._finish(params, x, train, key), buffers


@dataclass(frozen=True)
class TransformerDecoder(_Stack):
    """torch's ``nn.TransformerDecoder``: ``num_layers`` copies of ``decoder_layer``, then ``norm``.

    ``apply(params, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)`` as torch's
    ``forward``; params and ``init`` as :class:`TransformerEncoder`'s.

    Args:
        decoder_layer: the layer to copy, a :class:`TransformerDecoderLayer` (or torch's).
        num_layers: how many copies, applied in order.
        norm: a ``LayerNorm`` applied to the last layer's output, or ``None``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> dec = TransformerDecoder(TransformerDecoderLayer(8, 2, 16, batch_first=True), 2)
        >>> params = dec.init(jax.random.key(0))
        >>> dec.apply(params, jnp.ones((2, 4, 8)), jnp.ones((2, 6, 8))).shape
        (2, 4, 8)
    """

    decoder_layer: Module
    num_layers: int
    norm: Module | None = None

    def __post_init__(self) -> None:
        _take_torch_children(self, "decoder_layer", TransformerDecoderLayer)

    def _layer(self) -> Module:
        return self.decoder_layer

    def _count(self) -> int:
        return self.num_layers

    def _norm(self) -> Module | None:
        return self.norm

    def forward(  # torch's further inputs and flags, after tgt
        self,
        params: Params,
        tgt: jax.Array,
        memory: jax.Array | None = None,
        tgt_mask: Mask = None,
        memory_mask: Mask = None,
        tgt_key_padding_mask: Mask = None,
        memory_key_padding_mask: Mask = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        if memory is None:
            raise ModuleError(
                "TransformerDecoder takes tgt and memory (the encoder's output), as torch's "
                "forward: decoder.apply(params, tgt, memory)"
            )
        x = _stack_call(
            self.decoder_layer, self.num_layers, params, tgt, memory, tgt_mask, memory_mask,
            tgt_key_padding_mask, memory_key_padding_mask, _detect_causal(tgt_is_causal),
            memory_is_causal, train=train, key=key,
        )  # fmt: skip
        return self._finish(params, x, train, key), buffers


@dataclass(frozen=True)
class Transformer(Module):
    """torch's ``nn.Transformer``: a :class:`TransformerEncoder` and a :class:`TransformerDecoder`,
    each ending in a ``LayerNorm``.

    torch's signature and defaults (``d_model=512, nhead=8``, 6 + 6 layers). Params are
    ``encoder...`` and ``decoder...`` as torch's state_dict; ``init`` is torch's: every param of
    more than one axis is redrawn xavier-uniform. ``apply(params, src, tgt, src_mask=None,
    tgt_mask=None, memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
    memory_is_causal=False)`` as torch's ``forward``.

    Args:
        d_model: the model's width ``E``; ``nhead`` must divide it.
        nhead: the attention heads.
        num_encoder_layers: the encoder's layers.
        num_decoder_layers: the decoder's layers.
        dim_feedforward: the feed-forward blocks' hidden width.
        dropout: the dropout probability of every dropout (in training).
        activation: the feed-forward activation: ``"relu"``, ``"gelu"`` or a callable.
        custom_encoder: a funcgrad module used as the encoder instead of the default stack.
        custom_decoder: a funcgrad module used as the decoder instead of the default stack.
        layer_norm_eps: the ``eps`` of every ``LayerNorm``.
        batch_first: inputs and outputs are ``(N, L, E)`` rather than ``(L, N, E)``.
        norm_first: normalise before each block (pre-norm) instead of after the residual sum.
        bias: give the ``Linear``, ``LayerNorm`` and attention layers biases.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = Transformer(8, 2, 1, 1, dim_feedforward=16, batch_first=True)
        >>> params = model.init(jax.random.key(0))
        >>> sorted(params)
        ['decoder', 'encoder']
        >>> model.apply(params, jnp.ones((2, 5, 8)), jnp.ones((2, 3, 8))).shape
        (2, 3, 8)
        >>> Transformer.generate_square_subsequent_mask(3).tolist()
        [[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
    """

    d_model: int = 512
    nhead: int = 8
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    dim_feedforward: int = 2048
    dropout: float = 0.1
    activation: Activation = "relu"
    custom_encoder: Module | None = None
    custom_decoder: Module | None = None
    layer_norm_eps: float = 1e-5
    batch_first: bool = False
    norm_first: bool = False
    bias: bool = True

    @functools.cached_property
    def submodules(self) -> dict[str, Module]:
        """``encoder`` and ``decoder``: the custom ones if given, torch's defaults otherwise."""
        layer: dict[str, Any] = {
            "d_model": self.d_model, "nhead": self.nhead, "dim_feedforward": self.dim_feedforward,
            "dropout": self.dropout, "activation": self.activation,
            "layer_norm_eps": self.layer_norm_eps, "batch_first": self.batch_first,
            "norm_first": self.norm_first, "bias": self.bias,
        }  # fmt: skip
        norm = LayerNorm(self.d_model, eps=self.layer_norm_eps, bias=self.bias)
        return {
            "encoder": self.custom_encoder
            if self.custom_encoder is not None
            else TransformerEncoder(
                TransformerEncoderLayer(**layer), self.num_encoder_layers, norm
            ),
            "decoder": self.custom_decoder
            if self.custom_decoder is not None
            else TransformerDecoder(
                TransformerDecoderLayer(**layer), self.num_decoder_layers, norm
            ),
        }

    @staticmethod
    def generate_square_subsequent_mask(sz: int, dtype: Any = None) -> jax.Array:
        """torch's causal mask: ``-inf`` above the diagonal, ``0`` on and below it."""
        causal = jnp.tril(jnp.ones((sz, sz), bool))
        return jnp.where(causal, 0.0, -jnp.inf).astype(dtype or jnp.result_type(float))

    def init(self, key: jax.Array) -> Params:
        params = _init_children(self.submodules, key)
        # torch's _reset_parameters: xavier_uniform_ on every param of more than one axis.
        flat, tree = jax.tree_util.tree_flatten_with_path(params)
        leaves = [
            xavier_uniform(jax.random.fold_in(key, i), leaf.shape) if leaf.ndim > 1 else leaf
            for i, (_, leaf) in enumerate(flat)
        ]
        return jax.tree_util.tree_unflatten(tree, leaves)

    def forward(  # torch's further inputs and flags, after src
        self,
        params: Params,
        src: jax.Array,
        tgt: jax.Array | None = None,
        src_mask: Mask = None,
        tgt_mask: Mask = None,
        memory_mask: Mask = None,
        src_key_padding_mask: Mask = None,
        tgt_key_padding_mask: Mask = None,
        memory_key_padding_mask: Mask = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        if tgt is None:
            raise ModuleError(
                "Transformer takes src and tgt, as torch's forward: model.apply(params, src, tgt)"
            )
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise ModuleError("Transformer: the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ModuleError(
                f"Transformer: the feature number of src and tgt must be equal to d_model="
                f"{self.d_model}; got {src.shape[-1]} and {tgt.shape[-1]}"
            )
        encoder, decoder = self.submodules["encoder"], self.submodules["decoder"]
        memory, _ = call_child(
            "encoder", encoder, params, src, src_mask, src_key_padding_mask, src_is_causal,
            buffers={}, train=train, key=key,
        )  # fmt: skip
        y, _ = call_child(
            "decoder", decoder, params, tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
            memory_key_padding_mask, tgt_is_causal, memory_is_causal, buffers={}, train=train,
            key=key,
        )  # fmt: skip
        return y, buffers


# -- reading torch's modules (attributes only: no torch import) -----------------------------------


class _Source(str):
    """Source text the converter writes as it is: its ``repr`` is itself."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _activation_of(layer: Any) -> Activation:
    """A torch layer's activation as ``"relu"`` / ``"gelu"`` (its function or module's name)."""
    act = layer.activation
    name = getattr(act, "__name__", type(act).__name__).lower()
    if name in ("relu", "gelu") and getattr(act, "approximate", "none") == "none":
        return name
    raise ConfigError(
        f"{type(layer).__name__}: activation {act!r} has no funcgrad counterpart; use relu or gelu"
    )


def layer_args(layer: Any) -> dict[str, Any]:
    """The constructor arguments of torch's ``TransformerEncoderLayer`` / ``DecoderLayer``."""
    attn = layer.self_attn
    return {
        "d_model": attn.embed_dim,
        "nhead": attn.num_heads,
        "dim_feedforward": layer.linear1.out_features,
        "dropout": layer.dropout.p,
        "activation": _activation_of(layer),
        "layer_norm_eps": layer.norm1.eps,
        "batch_first": attn.batch_first,
        "norm_first": layer.norm_first,
        "bias": layer.linear1.bias is not None,
    }


def _norm_of(norm: Any) -> Module | None:
    """torch's ``LayerNorm`` (or ``None``) as funcgrad's."""
    if norm is None or isinstance(norm, Module):
        return norm
    if type(norm).__name__ != "LayerNorm":
        raise ConfigError(f"norm={type(norm).__name__}: only a LayerNorm (or None) is read")
    shape = tuple(norm.normalized_shape)
    return LayerNorm(shape, norm.eps, norm.elementwise_affine, bias=norm.bias is not None)


def _take_torch_children(stack: Any, field: str, cls: type[_Layer]) -> None:
    """Let a stack take torch's own layer and norm, as torch's constructor does: read them."""
    layer = getattr(stack, field)
    if not isinstance(layer, Module):
        if type(layer).__name__ != cls.__name__:
            raise ConfigError(
                f"{type(stack).__name__}: {field} is a {type(layer).__name__}; give a "
                f"fg.nn.{cls.__name__}"
            )
        object.__setattr__(stack, field, cls(**layer_args(layer)))
    object.__setattr__(stack, "norm", _norm_of(stack.norm))
    if stack.num_layers < 0:
        raise ConfigError(f"{type(stack).__name__}: num_layers={stack.num_layers} is negative")


def _source(name: str, args: Mapping[str, Any]) -> _Source:
    return _Source(f"fg.nn.{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})")


def _norm_source(norm: Any) -> _Source | None:
    if norm is None:
        return None
    ln = _norm_of(norm)
    assert isinstance(ln, LayerNorm)
    return _source("LayerNorm", {"normalized_shape": ln.normalized_shape, "eps": ln.eps,
                                 "elementwise_affine": ln.elementwise_affine, "bias": ln.bias})  # fmt: skip


def encoder_args(encoder: Any) -> dict[str, Any]:
    """torch's ``TransformerEncoder`` keeps its layer as ``layers[0]``."""
    return {
        "encoder_layer": _source("TransformerEncoderLayer", layer_args(encoder.layers[0])),
        "num_layers": encoder.num_layers,
        "norm": _norm_source(encoder.norm),
    }


def decoder_args(decoder: Any) -> dict[str, Any]:
    """torch's ``TransformerDecoder`` keeps its layer as ``layers[0]``."""
    return {
        "decoder_layer": _source("TransformerDecoderLayer", layer_args(decoder.layers[0])),
        "num_layers": decoder.num_layers,
        "norm": _norm_source(decoder.norm),
    }


def transformer_args(model: Any) -> dict[str, Any]:
    """torch's ``Transformer`` keeps its sizes in its encoder's and decoder's layers."""
    encoder, decoder = model.encoder, model.decoder
    args = layer_args(encoder.layers[0])
    return {
        **args,
        "num_encoder_layers": encoder.num_layers,
        "num_decoder_layers": decoder.num_layers,
    }
