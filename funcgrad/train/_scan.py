"""``scan="auto"``: whether ``fit`` fuses each epoch into one ``lax.scan`` or loops over steps.

The fused epoch removes the per-step dispatch, which dominates for small models on CPU, so it is
the faster path for every built-in model made of dots (``mynet``, ``single-layer``, ``linear``,
``charlstm``, ``gpt``). It is a trap for convolutions: XLA:CPU keeps a convolution inside a
while-loop body in its NCHW form, off the NHWC Eigen kernel it gives the same convolution at the
top level of a program, and the step runs 2-5x slower (``scripts/bench/scan_conv_repro.py``,
docs/benchmarks.md). So the rule: on CPU, a step with a convolution loops; every other step
scans. ``on_step`` (a callback after every step) needs the loop. The rule reads the model's
traced forward pass (its primitives), never a clock, so the same run always chooses the same.
"""

from __future__ import annotations

from collections.abc import Set
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.nn import Module
from funcgrad.train._errors import TrainError

__all__ = ["AUTO", "choose_scan", "primitives", "traced_primitives"]

AUTO = "auto"
# The primitives XLA:CPU runs slower inside a while-loop body than at a program's top level.
SLOW_IN_LOOPS = frozenset({"conv_general_dilated"})


def primitives(jaxpr: Any) -> set[str]:
    """The names of every primitive in ``jaxpr`` and in the jaxprs nested in it (scan, jit, cond).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> f = lambda x: jax.lax.scan(lambda c, v: (c + jnp.sin(v), None), 0.0, x)[0]
        >>> sorted(primitives(jax.make_jaxpr(f)(jnp.ones(3)).jaxpr) & {"scan", "sin"})
        ['scan', 'sin']
    """
    names: set[str] = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive.name)
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr holds its Jaxpr
                if hasattr(inner, "eqns"):
                    names |= primitives(inner)
    return names


def traced_primitives(model: Module, x: Any) -> frozenset[str]:
    """The primitives of ``model``'s forward pass in train mode on a batch shaped like ``x``.

    Traced on shapes only (``jax.eval_shape`` and ``jax.make_jaxpr``): nothing is computed. Cached
    per model and input shape (repeated fits trace once), unless the model is unhashable.
    """
    try:
        return _traced(model, tuple(x.shape), str(x.dtype))
    except TypeError:  # an unhashable model
        return _traced.__wrapped__(model, tuple(x.shape), str(x.dtype))


@lru_cache(maxsize=32)
def _traced(model: Module, shape: tuple[int, ...], dtype: str) -> frozenset[str]:
    key = jax.random.PRNGKey(0)
    params = jax.eval_shape(model.init, key)
    spec = jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))

    def forward(p: Any, inputs: Any) -> Any:
        return model.apply(p, inputs, buffers=model.init_buffers(), train=True, key=key)

    return frozenset(primitives(jax.make_jaxpr(forward)(params, spec).jaxpr))


def choose_scan(
    scan: bool | str, step_primitives: Set[str], *, backend: str, per_step_callback: bool
) -> tuple[bool, str]:
    """``(fuse the epoch?, why)`` for ``fit``'s ``scan`` setting; an explicit ``True``/``False`` wins.

    Example:
        >>> choose_scan("auto", {"dot_general", "tanh"}, backend="cpu", per_step_callback=False)
        (True, 'auto: no convolution in the step, so the fused epoch (no per-step dispatch)')
        >>> choose_scan("auto", {"conv_general_dilated"}, backend="cpu", per_step_callback=False)[0]
        False
        >>> choose_scan(True, {"conv_general_dilated"}, backend="cpu", per_step_callback=False)
        (True, 'scan=True, as given')
    """
    if isinstance(scan, bool):
        return scan, f"scan={scan}, as given"
    if scan != AUTO:
        raise TrainError(f"scan must be True, False or 'auto', got {scan!r}")
    if per_step_callback:
        return False, "auto: on_step needs the step loop"
    slow = sorted(step_primitives & SLOW_IN_LOOPS)
    if not slow:
        return True, "auto: no convolution in the step, so the fused epoch (no per-step dispatch)"
    if backend != "cpu":
        return (
            True,
            f"auto: on {backend} a convolution is no slower in lax.scan, so the fused epoch",
        )
    return False, (
        f"auto: the step has {', '.join(slow)}, which XLA:CPU runs slower inside lax.scan "
        "(scripts/bench/scan_conv_repro.py), so the step loop"
    )
