"""Recurrent cells as pure functions: torch's ``rnn_tanh_cell``, ``rnn_relu_cell``, ``lstm_cell``
and ``gru_cell``, plus the one-direction sequence loop the ``RNN``/``LSTM``/``GRU`` layers use.

torch has no ``F.lstm``; its cell ops live in the ``torch`` namespace (``torch.lstm_cell(input,
(h, c), w_ih, w_hh, b_ih, b_hh)``), and these take the same arguments in the same order. Each cell
is split in two: the input projection ``input @ w_ih.T + b_ih``, which a sequence layer computes
for every time step at once (one large matmul), and the recurrent step that ``lax.scan`` runs.

Gate order is torch's: LSTM ``(input, forget, cell, output)``, GRU ``(reset, update, new)`` with the
new gate ``tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["gru_cell", "lstm_cell", "rnn_relu_cell", "rnn_tanh_cell"]

State = Any  # h, or (h, c) for the LSTM
# One layer and direction's recurrent weights: "w_hh", and "b_hh" / "w_hr" when present.
Weights = dict[str, jax.Array]
# (input gates of one step, state, recurrent weights) -> (new state, output of the step)
Step = Callable[[jax.Array, State, Weights], tuple[State, jax.Array]]


# tanh's Taylor coefficients of x^3, x^5, ..., x^31: 2^2n (2^2n - 1) B_2n / (2n)!, n = 2..16.
_TANH_TAYLOR = (
    -3.3333333333e-01, 1.3333333333e-01, -5.3968253968e-02, 2.1869488536e-02, -8.8632355299e-03,
    3.5921280366e-03, -1.4558343871e-03, 5.9002744095e-04, -2.3912911424e-04, 9.6915379569e-05,
    -3.9278323883e-05, 1.5918905069e-05, -6.4516892157e-06, 2.6147711513e-06, -1.0597268320e-06,
)  # fmt: skip


@jax.custom_jvp
def tanh(x: jax.Array) -> jax.Array:
    """``tanh`` within an ulp in float32, as torch's; XLA's float32 tanh is up to 4 ulps off.

    A recurrence feeds each step's tanh into the next, so on an ill-conditioned sequence those
    ulps grow past float32's parity tolerance with torch. Below 0.8 a Taylor polynomial, above
    ``1 - 2 / (exp(2|x|) + 1)``; other dtypes use ``jnp.tanh``. The derivative is torch's,
    ``1 - tanh(x)**2``.

    Example:
        >>> import jax.numpy as jnp
        >>> bool(abs(float(tanh(jnp.float32(0.5))) - 0.46211715726) < 3e-8)
        True
    """
    if x.dtype != jnp.float32:
        return jnp.tanh(x)
    x2 = x * x
    p = jnp.full_like(x, _TANH_TAYLOR[-1])
    for c in reversed(_TANH_TAYLOR[:-1]):
        p = p * x2 + c
    a = jnp.abs(x)
    big = jnp.sign(x) * (1 - 2 / (jnp.exp(2 * a) + 1))
    return jnp.where(a < 0.8, x + x * x2 * p, big)


@tanh.defjvp
def _tanh_jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
    y = tanh(primals[0])
    return y, tangents[0] * (1 - y * y)


def _project(x: jax.Array, w: jax.Array, b: jax.Array | None) -> jax.Array:
    return _plus_bias(jnp.matmul(x, w.T), b)  # x @ w.T over the last axis, any leading axes


def _plus_bias(y: jax.Array, b: jax.Array | None) -> jax.Array:
    return y if b is None else y + jnp.reshape(b, (1,) * (y.ndim - 1) + b.shape)


def input_gates(x: jax.Array, w_ih: jax.Array, b_ih: jax.Array | None) -> jax.Array:
    """``x @ w_ih.T + b_ih``: the input's share of every gate, for all leading axes at once."""
    return _project(x, w_ih, b_ih)


def _hidden_gates(h: jax.Array, w: Weights) -> jax.Array:
    if "w_hh_t" not in w:  # a cell's single step: no loop to hoist the transpose out of
        return _project(h, w["w_hh"], w.get("b_hh"))
    return _plus_bias(_recurrent_matmul(h, w["w_hh"], w["w_hh_t"]), w.get("b_hh"))


@jax.custom_jvp
def _recurrent_matmul(h: jax.Array, w: jax.Array, w_t: jax.Array) -> jax.Array:
    """``h @ w.T``, given ``w_t = w.T`` stored too: the product reads ``w_t`` and the gradient
    along ``h`` reads ``w``, each as a plain (not transposed) matrix product."""
    return jnp.matmul(h, w_t)


@_recurrent_matmul.defjvp
def _recurrent_matmul_jvp(
    primals: tuple[jax.Array, jax.Array, jax.Array],
    tangents: tuple[jax.Array, jax.Array, jax.Array],
) -> tuple[jax.Array, jax.Array]:
    h, w, w_t = primals
    dh, _, dw_t = tangents  # w_t's tangent carries the weight's (w_t is w.T outside)
    along_h = lax.dot_general(dh, w, (((dh.ndim - 1,), (1,)), ((), ())))
    return _recurrent_matmul(h, w, w_t), along_h + jnp.matmul(h, dw_t)


def rnn_step(nonlinearity: str) -> Step:
    """The Elman step ``h' = act(gi + h @ w_hh.T + b_hh)`` with ``act`` tanh or relu."""
    act = tanh if nonlinearity == "tanh" else jax.nn.relu

    def step(gi: jax.Array, h: jax.Array, w: Weights) -> tuple[jax.Array, jax.Array]:
        h = act(gi + _hidden_gates(h, w))
        return h, h

    return step


def lstm_step(gi: jax.Array, state: State, w: Weights) -> tuple[State, jax.Array]:
    """The LSTM step, gates ``(i, f, g, o)``; ``h' = o * tanh(c')``, then ``h' @ w_hr.T`` if any."""
    h, c = state
    i, f, g, o = jnp.split(gi + _hidden_gates(h, w), 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * tanh(g)
    h = jax.nn.sigmoid(o) * tanh(c)
    if "w_hr" in w:
        h = jnp.matmul(h, w["w_hr"].T)
    return (h, c), h


def gru_step(gi: jax.Array, h: jax.Array, w: Weights) -> tuple[jax.Array, jax.Array]:
    """The GRU step: ``r, z = sigmoid(...)``, ``n = tanh(gi_n + r * gh_n)``, ``h' = n + z (h - n)``."""
    i_r, i_z, i_n = jnp.split(gi, 3, axis=-1)
    h_r, h_z, h_n = jnp.split(_hidden_gates(h, w), 3, axis=-1)
    r = jax.nn.sigmoid(i_r + h_r)
    z = jax.nn.sigmoid(i_z + h_z)
    n = tanh(i_n + r * h_n)
    h = n + z * (h - n)  # torch's (1 - z) * n + z * h, written as torch's kernel writes it
    return h, h


def scan_layer(
    step: Step, gi: jax.Array, state: State, w: Weights, reverse: bool = False
) -> tuple[State, jax.Array]:
    """Run ``step`` over the leading (time) axis of ``gi``: one ``lax.scan``, backwards if ``reverse``.

    ``gi`` holds the input gates of every step, ``(T, ..., G)``; returns the final state and the
    outputs ``(T, ..., H)``. Only the recurrent matmul is inside the loop.
    """
    if "w_hh" in w:
        w = {**w, "w_hh_t": lax.optimization_barrier(w["w_hh"].T)}
    return lax.scan(lambda s, g: step(g, s, w), state, gi, reverse=reverse)


def _weights(w_hh: jax.Array, b_hh: jax.Array | None) -> Weights:
    w = {"w_hh": w_hh}
    if b_hh is not None:
        w["b_hh"] = b_hh
    return w


def rnn_tanh_cell(
    input: jax.Array,
    hx: jax.Array,
    w_ih: jax.Array,
    w_hh: jax.Array,
    b_ih: jax.Array | None = None,
    b_hh: jax.Array | None = None,
) -> jax.Array:
    """torch's ``torch.rnn_tanh_cell``: one Elman step, ``tanh(input @ w_ih.T + b_ih + hx @ w_hh.T + b_hh)``.

    Args:
        input: ``(N, input_size)`` (or any leading axes).
        hx: the hidden state, ``(N, hidden_size)``.
        w_ih: ``(hidden_size, input_size)``.
        w_hh: ``(hidden_size, hidden_size)``.
        b_ih: ``(hidden_size,)`` or ``None``.
        b_hh: ``(hidden_size,)`` or ``None``.

    Returns:
        The new hidden state, ``(N, hidden_size)``.

    Example:
        >>> import jax.numpy as jnp
        >>> h = rnn_tanh_cell(jnp.ones((1, 2)), jnp.zeros((1, 1)), jnp.ones((1, 2)), jnp.ones((1, 1)))
        >>> round(float(h[0, 0]), 4)  # tanh(1 + 1)
        0.964
    """
    return rnn_step("tanh")(input_gates(input, w_ih, b_ih), hx, _weights(w_hh, b_hh))[0]


def rnn_relu_cell(
    input: jax.Array,
    hx: jax.Array,
    w_ih: jax.Array,
    w_hh: jax.Array,
    b_ih: jax.Array | None = None,
    b_hh: jax.Array | None = None,
) -> jax.Array:
    """torch's ``torch.rnn_relu_cell``: :func:`rnn_tanh_cell` with ``relu`` in place of ``tanh``.

    ``relu(input @ w_ih.T + b_ih + hx @ w_hh.T + b_hh)``.

    Args:
        input: ``(N, input_size)`` (or any leading axes).
        hx: the hidden state, ``(N, hidden_size)``.
        w_ih: ``(hidden_size, input_size)``.
        w_hh: ``(hidden_size, hidden_size)``.
        b_ih: ``(hidden_size,)`` or ``None``.
        b_hh: ``(hidden_size,)`` or ``None``.

    Returns:
        The new hidden state, ``(N, hidden_size)``.

    Example:
        >>> import jax.numpy as jnp
        >>> w_ih, w_hh = -jnp.ones((1, 2)), jnp.ones((1, 1))
        >>> rnn_relu_cell(jnp.ones((1, 2)), jnp.ones((1, 1)), w_ih, w_hh).tolist()  # relu(-2 + 1)
        [[0.0]]
    """
    return rnn_step("relu")(input_gates(input, w_ih, b_ih), hx, _weights(w_hh, b_hh))[0]


def lstm_cell(
    input: jax.Array,
    hx: tuple[jax.Array, jax.Array],
    w_ih: jax.Array,
    w_hh: jax.Array,
    b_ih: jax.Array | None = None,
    b_hh: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """torch's ``torch.lstm_cell``: one LSTM step with torch's gate order ``(i, f, g, o)``.

    Args:
        input: ``(N, input_size)``.
        hx: ``(h, c)``, each ``(N, hidden_size)``.
        w_ih: ``(4 * hidden_size, input_size)``.
        w_hh: ``(4 * hidden_size, hidden_size)``.
        b_ih: ``(4 * hidden_size,)`` or ``None``.
        b_hh: ``(4 * hidden_size,)`` or ``None``.

    Returns:
        ``(h', c')``, each ``(N, hidden_size)``.

    Example:
        >>> import jax.numpy as jnp
        >>> h, c = lstm_cell(jnp.ones((3, 2)), (jnp.zeros((3, 5)), jnp.zeros((3, 5))),
        ...                  jnp.zeros((20, 2)), jnp.zeros((20, 5)))
        >>> h.shape, c.shape
        ((3, 5), (3, 5))
    """
    return lstm_step(input_gates(input, w_ih, b_ih), tuple(hx), _weights(w_hh, b_hh))[0]


def gru_cell(
    input: jax.Array,
    hx: jax.Array,
    w_ih: jax.Array,
    w_hh: jax.Array,
    b_ih: jax.Array | None = None,
    b_hh: jax.Array | None = None,
) -> jax.Array:
    """torch's ``torch.gru_cell``: one GRU step, gates ``(r, z, n)``, ``n = tanh(.. + r * (W_hn h + b_hn))``.

    Args:
        input: ``(N, input_size)``.
        hx: ``(N, hidden_size)``.
        w_ih: ``(3 * hidden_size, input_size)``.
        w_hh: ``(3 * hidden_size, hidden_size)``.
        b_ih: ``(3 * hidden_size,)`` or ``None``.
        b_hh: ``(3 * hidden_size,)`` or ``None``.

    Returns:
        The new hidden state, ``(N, hidden_size)``.

    Example:
        >>> import jax.numpy as jnp
        >>> w_ih, w_hh = jnp.zeros((3, 2)), jnp.zeros((3, 1))
        >>> gru_cell(jnp.ones((1, 2)), jnp.ones((1, 1)), w_ih, w_hh).tolist()  # z = 1/2, n = 0
        [[0.5]]
    """
    return gru_step(input_gates(input, w_ih, b_ih), hx, _weights(w_hh, b_hh))[0]
