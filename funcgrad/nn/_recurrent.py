"""Recurrent layers: torch's ``RNN``, ``LSTM``, ``GRU`` and their one-step ``RNNCell``,
``LSTMCell``, ``GRUCell``, with torch's parameter names, gate order and default initialisation.

A sequence layer runs, per layer and direction, one large matmul for the input's share of every
gate at every time step, then one ``lax.scan`` over the recurrent part alone, so the compiled
program does not grow with the sequence length. ``apply(params, x, hx)`` returns what torch
returns: ``(output, h_n)``, or ``(output, (h_n, c_n))`` for the LSTM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad.nn import functional as F
from funcgrad.nn._init import torch_uniform
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params
from funcgrad.nn.functional import _recurrent as R

__all__ = ["GRU", "LSTM", "PACKED_SEQUENCE_ADVICE", "RNN", "GRUCell", "LSTMCell", "RNNCell"]

PACKED_SEQUENCE_ADVICE = (
    "funcgrad's recurrent layers take no PackedSequence; pass the padded input (the tensor given "
    "to pack_padded_sequence) instead, and keep the lengths as a mask "
    "(jnp.arange(seq_len) < lengths[:, None]) to ignore the outputs past each sequence's end"
)
"""What to do instead of packing, said by the layers and by ``fg.interop.convert`` alike."""

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_STEPS: dict[str, R.Step] = {
    "RNN_TANH": R.rnn_step("tanh"),
    "RNN_RELU": R.rnn_step("relu"),
    "LSTM": R.lstm_step,
    "GRU": R.gru_step,
}


def _check_array(name: str, value: Any, what: str) -> jax.Array:
    """``value`` as an array, or the error that says what to pass (a PackedSequence is refused)."""
    if isinstance(value, jax.Array | np.ndarray):
        return jnp.asarray(value)
    kind = type(value).__name__
    if kind == "PackedSequence":
        raise ModuleError(f"{name}: got a PackedSequence as {what}; {PACKED_SEQUENCE_ADVICE}")
    raise ModuleError(f"{name}: {what} must be an array, got {kind}; pass a jax or numpy array")


def _mode_of_nonlinearity(cls: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ConfigError(
            f"{cls}(nonlinearity={nonlinearity!r}): unknown nonlinearity; use 'tanh' or 'relu'"
        )
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _check_sizes(cls: str, input_size: int, hidden_size: int) -> None:
    for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{cls}({arg}={value!r}): {arg} must be an integer > 0")


class _RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: torch's ``nn.RNNBase``."""

    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool

    @property
    def _mode(self) -> str:
        raise NotImplementedError

    @property
    def _proj(self) -> int:
        return 0

    def _validate(self) -> None:
        cls = type(self).__name__
        _check_sizes(cls, self.input_size, self.hidden_size)
        if not isinstance(self.num_layers, int) or self.num_layers <= 0:
            raise ConfigError(f"{cls}(num_layers={self.num_layers!r}): num_layers must be > 0")
        d = self.dropout
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d <= 1:
            raise ConfigError(f"{cls}(dropout={d!r}): dropout is a probability; use 0 <= p <= 1")

    def __post_init__(self) -> None:
        self._validate()

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self) -> list[tuple[int, int, str]]:
        """``(layer, direction, "l0")`` / ``"l0_reverse"``, in torch's order of parameters."""
        return [
            (layer, d, f"l{layer}{'_reverse' if d else ''}")
            for layer in range(self.num_layers)
            for d in range(self._directions)
        ]

    def init(self, key: jax.Array) -> Params:
        gates = _GATES[self._mode] * self.hidden_size
        out = self._proj or self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        for layer, _, sfx in self._suffixes():
            fan = self.input_size if layer == 0 else out * self._directions
            shapes[f"weight_ih_{sfx}"] = (gates, fan)
            shapes[f"weight_hh_{sfx}"] = (gates, out)
            if self.bias:
                shapes[f"bias_ih_{sfx}"] = (gates,)
                shapes[f"bias_hh_{sfx}"] = (gates,)
            if self._proj:
                shapes[f"weight_hr_{sfx}"] = (self._proj, self.hidden_size)
        keys = jax.random.split(key, len(shapes))
        # torch's reset_parameters: every weight and bias from U(-1/sqrt(hidden), 1/sqrt(hidden))
        return {
            n: torch_uniform(k, s, self.hidden_size)
            for (n, s), k in zip(shapes.items(), keys, strict=True)
        }

    def _initial_state(
        self, hx: Any, batched: bool, batch: int, dtype: Any
    ) -> tuple[jax.Array, jax.Array | None]:
        """``(h0, c0)`` as ``(layers * directions, batch, size)``; ``c0`` is None but for LSTM."""
        name = type(self).__name__
        n = self.num_layers * self._directions
        h_size, lstm = self._proj or self.hidden_size, self._mode == "LSTM"
        if hx is None:
            h0 = jnp.zeros((n, batch, h_size), dtype)
            return h0, jnp.zeros((n, batch, self.hidden_size), dtype) if lstm else None
        if lstm:
            if not isinstance(hx, tuple | list) or len(hx) != 2:
                raise ModuleError(f"{name}: hx must be a tuple (h_0, c_0); got {type(hx).__name__}")
            states = [_check_array(name, s, "h_0 and c_0") for s in hx]
        else:
            states = [_check_array(name, hx, "hx")]
        sizes = [h_size, self.hidden_size]
        out = []
        for s, size, what in zip(states, sizes, ("h_0", "c_0"), strict=False):
            if s.ndim != (3 if batched else 2):
                raise ModuleError(
                    f"{name}: for {'batched 3-D' if batched else 'unbatched 2-D'} input, {what} "
                    f"should be {3 if batched else 2}-D but got {s.ndim}-D"
                )
            s = s if batched else s[:, None]
            if s.shape != (n, batch, size):
                want = (n, batch, size) if batched else (n, size)
                got = s.shape if batched else (s.shape[0], s.shape[2])
                raise ModuleError(f"{name}: expected {what} of shape {want}, got {got}")
            out.append(s)
        return out[0], out[1] if lstm else None

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
        name = type(self).__name__
        x = _check_array(name, x, "input")
        if x.ndim not in (2, 3):
            raise ModuleError(
                f"{name}: expected a 2-D (seq, features) or 3-D batched input, got {x.ndim}-D"
            )
        batched = x.ndim == 3
        if x.shape[-1] != self.input_size:
            raise ModuleError(
                f"{name}: input.size(-1) must be equal to input_size; expected "
                f"{self.input_size}, got {x.shape[-1]}"
            )
        drops = train and self.dropout > 0 and self.num_layers > 1
        if drops and key is None:
            raise ModuleError(
                f"{name}(dropout={self.dropout}) in training draws a random mask between layers; "
                "pass key= to apply (model.apply(params, x, train=True, key=jax.random.key(0)))"
            )
        # time-major (T, B, F): the scan runs over the leading axis
        x = (jnp.swapaxes(x, 0, 1) if self.batch_first else x) if batched else x[:, None]
        h0, c0 = self._initial_state(hx, batched, x.shape[1], x.dtype)
        y, h_n, c_n = self._run(params, x, h0, c0, key if drops else None)
        if batched:
            y = jnp.swapaxes(y, 0, 1) if self.batch_first else y
        else:
            y, h_n = y[:, 0], h_n[:, 0]
            c_n = None if c_n is None else c_n[:, 0]
        return (y, h_n if c_n is None else (h_n, c_n)), buffers

    def _run(
        self,
        params: Params,
        x: jax.Array,
        h0: jax.Array,
        c0: jax.Array | None,
        key: jax.Array | None,
    ) -> tuple[jax.Array, jax.Array, jax.Array | None]:
        """The stacked layers on time-major ``x``; dropout between layers when ``key`` is given."""
        step = _STEPS[self._mode]
        hs: list[jax.Array] = []
        cs: list[jax.Array] = []
        outs: list[jax.Array] = []
        for layer, d, sfx in self._suffixes():
            if d == 0 and layer > 0:
                x = jnp.concatenate(outs, axis=-1) if len(outs) > 1 else outs[0]
                if key is not None:
                    x = F.dropout(x, self.dropout, True, key=jax.random.fold_in(key, layer))
                outs = []
            gi = R.input_gates(x, params[f"weight_ih_{sfx}"], params.get(f"bias_ih_{sfx}"))
            w = {"w_hh": params[f"weight_hh_{sfx}"]}
            for arg, p in (("b_hh", "bias_hh"), ("w_hr", "weight_hr")):
                if f"{p}_{sfx}" in params:
                    w[arg] = params[f"{p}_{sfx}"]
            i = layer * self._directions + d
            state = h0[i] if c0 is None else (h0[i], c0[i])
            final, y = R.scan_layer(step, gi, state, w, reverse=d == 1)
            outs.append(y)
            hs.append(final if c0 is None else final[0])
            if c0 is not None:
                cs.append(final[1])
        y = jnp.concatenate(outs, axis=-1) if len(outs) > 1 else outs[0]
        return y, jnp.stack(hs), jnp.stack(cs) if cs else None


@dataclass(frozen=True)
class RNN(_RNNBase):
    """torch's ``nn.RNN``: an Elman network, ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    ``apply(params, x, hx=None)`` returns ``(output, h_n)``: ``output`` is ``(T, N, D * H)``
    (``(N, T, D * H)`` with ``batch_first``, ``(T, D * H)`` for an unbatched ``(T, input_size)``)
    and ``h_n`` is ``(num_layers * D, N, H)``. In training, ``dropout`` zeroes the outputs of every
    layer but the last, with masks drawn from ``key``.

    Args:
        input_size: the features of each time step.
        hidden_size: the features of the hidden state.
        num_layers: stacked recurrent layers.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: whether there are ``bias_ih_l*`` and ``bias_hh_l*``.
        batch_first: the input and output are ``(N, T, F)`` instead of ``(T, N, F)``.
        dropout: the dropout probability between layers (training only).
        bidirectional: also run each layer backwards in time (``*_reverse`` params).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> rnn = RNN(4, 8, num_layers=2)
        >>> params = rnn.init(jax.random.key(0))
        >>> sorted(params)[:3]
        ['bias_hh_l0', 'bias_hh_l1', 'bias_ih_l0']
        >>> out, h_n = rnn.apply(params, jnp.ones((5, 3, 4)))
        >>> out.shape, h_n.shape
        ((5, 3, 8), (2, 3, 8))
    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    nonlinearity: str = "tanh"
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False

    def __post_init__(self) -> None:
        _mode_of_nonlinearity("RNN", self.nonlinearity)
        self._validate()

    @property
    def _mode(self) -> str:
        return _mode_of_nonlinearity("RNN", self.nonlinearity)


@dataclass(frozen=True)
class LSTM(_RNNBase):
    """torch's ``nn.LSTM``, gates ``(input, forget, cell, output)``; with ``proj_size > 0`` the
    hidden state is projected by ``weight_hr_l*`` to ``proj_size`` features.

    ``apply(params, x, hx=None)`` with ``hx = (h_0, c_0)`` returns ``(output, (h_n, c_n))``;
    shapes as :class:`RNN`'s, with ``h`` of ``proj_size`` features when projected.

    Args:
        input_size: the features of each time step.
        hidden_size: the features of the cell state.
        num_layers: stacked recurrent layers.
        bias: whether there are ``bias_ih_l*`` and ``bias_hh_l*``.
        batch_first: the input and output are ``(N, T, F)`` instead of ``(T, N, F)``.
        dropout: the dropout probability between layers (training only).
        bidirectional: also run each layer backwards in time (``*_reverse`` params).
        proj_size: the size of the projected hidden state, or 0 for none.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> lstm = LSTM(10, 20, num_layers=2, batch_first=True)
        >>> params = lstm.init(jax.random.key(0))
        >>> params["weight_ih_l0"].shape, params["weight_hh_l1"].shape
        ((80, 10), (80, 20))
        >>> out, (h, c) = lstm.apply(params, jnp.ones((3, 7, 10)))
        >>> out.shape, h.shape, c.shape
        ((3, 7, 20), (2, 3, 20), (2, 3, 20))
    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False
    proj_size: int = 0

    def __post_init__(self) -> None:
        self._validate()
        p = self.proj_size
        if not isinstance(p, int) or p < 0 or p >= self.hidden_size:
            raise ConfigError(
                f"LSTM(proj_size={p!r}): proj_size must be 0 (no projection) or an integer "
                f"smaller than hidden_size={self.hidden_size}"
            )

    @property
    def _mode(self) -> str:
        return "LSTM"

    @property
    def _proj(self) -> int:
        return self.proj_size


@dataclass(frozen=True)
class GRU(_RNNBase):
    """torch's ``nn.GRU``, gates ``(reset, update, new)``: ``n = tanh(W_in x + b_in + r * (W_hn h
    + b_hn))``, ``h' = (1 - z) * n + z * h``.

    ``apply(params, x, hx=None)`` returns ``(output, h_n)``, shapes as :class:`RNN`'s.

    Args:
        input_size: the features of each time step.
        hidden_size: the features of the hidden state.
        num_layers: stacked recurrent layers.
        bias: whether there are ``bias_ih_l*`` and ``bias_hh_l*``.
        batch_first: the input and output are ``(N, T, F)`` instead of ``(T, N, F)``.
        dropout: the dropout probability between layers (training only).
        bidirectional: also run each layer backwards in time (``*_reverse`` params).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> gru = GRU(3, 5, bidirectional=True)
        >>> out, h_n = gru.apply(gru.init(jax.random.key(0)), jnp.ones((4, 3)))  # unbatched
        >>> out.shape, h_n.shape
        ((4, 10), (2, 5))
    """

    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False

    @property
    def _mode(self) -> str:
        return "GRU"


# -- cells ----------------------------------------------------------------------------------------


class _CellBase(Module):
    """What the cells share: torch's ``nn.RNNCellBase``, one time step on ``(N, F)`` or ``(F,)``."""

    input_size: int
    hidden_size: int
    bias: bool

    @property
    def _mode(self) -> str:
        raise NotImplementedError

    def __post_init__(self) -> None:
        _check_sizes(type(self).__name__, self.input_size, self.hidden_size)

    def init(self, key: jax.Array) -> Params:
        gates = _GATES[self._mode] * self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {
            "weight_ih": (gates, self.input_size),
            "weight_hh": (gates, self.hidden_size),
        }
        if self.bias:
            shapes |= {"bias_ih": (gates,), "bias_hh": (gates,)}
        keys = jax.random.split(key, len(shapes))
        return {
            n: torch_uniform(k, s, self.hidden_size)
            for (n, s), k in zip(shapes.items(), keys, strict=True)
        }

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
        del train, key
        name, lstm = type(self).__name__, self._mode == "LSTM"
        x = _check_array(name, x, "input")
        if x.ndim not in (1, 2):
            raise ModuleError(f"{name}: expected input to be 1-D or 2-D, got {x.ndim}-D")
        if x.shape[-1] != self.input_size:
            raise ModuleError(
                f"{name}: input has {x.shape[-1]} features, expected input_size={self.input_size}"
            )
        batched = x.ndim == 2
        x = x if batched else x[None]
        want = (x.shape[0], self.hidden_size)
        if hx is None:
            states = [jnp.zeros(want, x.dtype)] * (2 if lstm else 1)
        else:
            if lstm and (not isinstance(hx, tuple | list) or len(hx) != 2):
                raise ModuleError(f"{name}: hx must be a tuple (h_0, c_0); got {type(hx).__name__}")
            states = [_check_array(name, s, "hx") for s in (hx if lstm else [hx])]
            states = [s if batched else s[None] for s in states]
            for s in states:
                if s.shape != want:
                    shown = want if batched else want[1:]
                    raise ModuleError(
                        f"{name}: hx has shape {s.shape if batched else s.shape[1:]}, "
                        f"expected {shown}"
                    )
        step = _STEPS[self._mode]
        gi = R.input_gates(x, params["weight_ih"], params.get("bias_ih"))
        w = {"w_hh": params["weight_hh"]}
        if "bias_hh" in params:
            w["b_hh"] = params["bias_hh"]
        new, _ = step(gi, tuple(states) if lstm else states[0], w)
        if not batched:
            new = jax.tree.map(lambda s: s[0], new)
        return new, buffers


@dataclass(frozen=True)
class RNNCell(_CellBase):
    """torch's ``nn.RNNCell``: one Elman step, ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    ``apply(params, x, hx=None)`` returns ``h'``; ``hx`` defaults to zeros. ``x`` is ``(N,
    input_size)`` or unbatched ``(input_size,)``.

    Args:
        input_size: the features of the input.
        hidden_size: the features of the hidden state.
        bias: whether there are ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> cell = RNNCell(3, 4, nonlinearity="relu")
        >>> params = cell.init(jax.random.key(0))
        >>> cell.apply(params, jnp.ones((2, 3)), jnp.zeros((2, 4))).shape
        (2, 4)
    """

    input_size: int
    hidden_size: int
    bias: bool = True
    nonlinearity: str = "tanh"

    def __post_init__(self) -> None:
        _mode_of_nonlinearity("RNNCell", self.nonlinearity)
        super().__post_init__()

    @property
    def _mode(self) -> str:
        return _mode_of_nonlinearity("RNNCell", self.nonlinearity)


@dataclass(frozen=True)
class LSTMCell(_CellBase):
    """torch's ``nn.LSTMCell``: one LSTM step, gates ``(i, f, g, o)``.

    ``apply(params, x, hx=None)`` with ``hx = (h, c)`` returns ``(h', c')``.

    Args:
        input_size: the features of the input.
        hidden_size: the features of the hidden and cell states.
        bias: whether there are ``bias_ih`` and ``bias_hh``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> cell = LSTMCell(3, 4)
        >>> h, c = cell.apply(cell.init(jax.random.key(0)), jnp.ones(3))
        >>> h.shape, c.shape
        ((4,), (4,))
    """

    input_size: int
    hidden_size: int
    bias: bool = True

    @property
    def _mode(self) -> str:
        return "LSTM"


@dataclass(frozen=True)
class GRUCell(_CellBase):
    """torch's ``nn.GRUCell``: one GRU step, gates ``(r, z, n)``.

    ``apply(params, x, hx=None)`` returns ``h'``.

    Args:
        input_size: the features of the input.
        hidden_size: the features of the hidden state.
        bias: whether there are ``bias_ih`` and ``bias_hh``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> cell = GRUCell(3, 4)
        >>> cell.apply(cell.init(jax.random.key(0)), jnp.ones((2, 3))).shape
        (2, 4)
    """

    input_size: int
    hidden_size: int
    bias: bool = True

    @property
    def _mode(self) -> str:
        return "GRU"
