"""The fast CPU kernels on the application side: ``fg.train.fast_jit`` and ``enable_fast_cpu_kernels``.

That ``fit``'s compiler reaches jax.jit with the options and computes the same numbers; that the
slow-path warning comes from the compiler (``fast_jit``, reading ``XLA_FLAGS`` once when it builds
a program), never from tracing the core's ``F.conv2d``; and that the process-wide switch works
only before JAX starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import funcgrad as fg

ROOT = Path(__file__).parent.parent
CPU = jax.default_backend() == "cpu"
on_cpu = pytest.mark.skipif(not CPU, reason="the fast kernels are a CPU matter")


def _slow_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        fn()
    return [w for w in caught if issubclass(w.category, fg.nn.SlowConvolutionWarning)]


def _conv_step(x, w):
    return jnp.sum(jnp.tanh(fg.nn.functional.conv2d(x, w, padding=1)) ** 2)


def _inputs(size):
    kx, kw = jax.random.split(jax.random.PRNGKey(size))
    return jax.random.normal(kx, (2, 3, size, size)), jax.random.normal(kw, (4, 3, 3, 3))


@on_cpu
def test_fast_jit_hands_the_options_to_jax_jit(monkeypatch):
    calls = []
    real_jit = jax.jit

    def spy(f, **kwargs):
        calls.append(kwargs)
        return real_jit(f, **kwargs)

    monkeypatch.setattr(jax, "jit", spy)
    f = fg.train.fast_jit(_conv_step, donate_argnums=())
    assert len(calls) == 1 and calls[0]["compiler_options"] == fg.train.FAST_CPU_OPTIONS
    assert calls[0]["donate_argnums"] == ()  # the caller's own jit arguments pass through
    # the options are real XLA options: the program compiles with them
    compiled = real_jit(_conv_step, **calls[0]).lower(*_inputs(6)).compile()
    assert compiled is not None and f(*_inputs(6)).shape == ()
    # a caller's own compiler_options win over the default
    fg.train.fast_jit(_conv_step, compiler_options={})
    assert calls[-1] == {"compiler_options": {}}


def test_fast_jit_gives_the_numbers_of_plain_jit():
    grad = jax.value_and_grad(_conv_step, argnums=(0, 1))
    fast, plain = fg.train.fast_jit(grad), jax.jit(grad)
    for size in (5, 9):
        args = _inputs(size)
        got, want = fast(*args), plain(*args)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_fast_jit_keeps_static_args_and_the_function_name():
    f = fg.train.fast_jit(lambda x, n: x * n, static_argnums=(1,))
    assert float(f(jnp.array(2.0), 3)) == 6.0
    assert fg.train.fast_jit(_conv_step).__name__ == "_conv_step"


def test_the_slow_path_test_is_pure():
    from funcgrad._cpu_kernels import FAST_CPU_FLAG, slow_cpu_program

    assert slow_cpu_program(None, "") and slow_cpu_program({}, "--xla_cpu_enable_fast_math=false")
    assert not slow_cpu_program(fg.train.FAST_CPU_OPTIONS, "")
    assert not slow_cpu_program({}, FAST_CPU_FLAG)  # the process's own choice counts


@on_cpu
def test_tracing_a_core_conv_never_warns(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)  # the slow path, as a user's plain jax.jit gets

    def plain_twice():
        for size in (11, 12):  # two traces
            jax.jit(_conv_step)(*_inputs(size)).block_until_ready()

    assert _slow_warnings(plain_twice) == []  # the core reads no process state while traced


@on_cpu
def test_fast_jit_warns_once_where_a_callers_options_leave_the_slow_path(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    fast = fg.train.fast_jit(_conv_step)
    assert _slow_warnings(lambda: fast(*_inputs(10)).block_until_ready()) == []

    def build_twice():
        for size in (11, 12):  # two programs from one call site: one warning
            fg.train.fast_jit(_conv_step, compiler_options={})(*_inputs(size)).block_until_ready()

    found = _slow_warnings(build_twice)
    assert len(found) == 1, [str(w.message) for w in found]
    message = str(found[0].message)
    assert "FAST_CPU_OPTIONS" in message and "enable_fast_cpu_kernels" in message
    assert "\n" not in message and found[0].filename == __file__  # points at the caller
    # XLA_FLAGS is read when the program is built: the process's choice silences it
    from funcgrad.train import FAST_CPU_FLAG

    monkeypatch.setenv("XLA_FLAGS", FAST_CPU_FLAG)
    assert _slow_warnings(lambda: fg.train.fast_jit(_conv_step, compiler_options={})) == []


def _child(code: str, xla_flags: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env |= {"PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


ENABLE_THEN_CONV = """
import os, warnings
import jax.numpy as jnp
import funcgrad as fg
flag = fg.train.enable_fast_cpu_kernels()
print("RETURNED", flag)
print("XLA_FLAGS", os.environ.get("XLA_FLAGS"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    # options of its own, yet the process-wide flag keeps the program off the slow path
    conv = fg.train.fast_jit(fg.nn.functional.conv2d, compiler_options={})
    conv(jnp.ones((1, 1, 6, 6)), jnp.ones((2, 1, 3, 3))).block_until_ready()
slow = [w for w in caught if issubclass(w.category, fg.nn.SlowConvolutionWarning)]
print("SLOW", len(slow))
"""


def _lines(done: subprocess.CompletedProcess) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    return dict(line.partition(" ")[::2] for line in done.stdout.splitlines() if " " in line)


@on_cpu
@pytest.mark.parametrize(
    "before", [None, "--xla_cpu_enable_fast_math=false"], ids=["unset", "kept"]
)
def test_enable_fast_cpu_kernels_before_jax_starts(before):
    from funcgrad.train import FAST_CPU_FLAG

    seen = _lines(_child(ENABLE_THEN_CONV, before))
    assert seen["RETURNED"] == FAST_CPU_FLAG
    assert FAST_CPU_FLAG in seen["XLA_FLAGS"].split()
    if before is not None:  # the caller's own flags stay
        assert before in seen["XLA_FLAGS"].split()
    assert seen["SLOW"] == "0"


@on_cpu
def test_enable_fast_cpu_kernels_leaves_a_callers_own_ynn_choice():
    from funcgrad._cpu_kernels import YNN_FUSION_FLAG

    mine = f"{YNN_FUSION_FLAG}=-individual_dot"
    seen = _lines(_child(ENABLE_THEN_CONV, mine))
    assert seen["RETURNED"] == "" and seen["XLA_FLAGS"] == mine


AFTER_A_COMPUTATION = """
import os
import jax.numpy as jnp
import funcgrad as fg
(jnp.ones(3) + 1).block_until_ready()
try:
    fg.train.enable_fast_cpu_kernels()
except fg.train.TrainError as e:
    print("ERROR", str(e))
print("XLA_FLAGS", os.environ.get("XLA_FLAGS"))
"""


@on_cpu
def test_enable_fast_cpu_kernels_after_jax_started_raises_with_the_fix():
    seen = _lines(_child(AFTER_A_COMPUTATION))
    message = seen["ERROR"]
    assert "\n" not in message and "before any JAX computation" in message
    assert "FAST_CPU_OPTIONS" in message
    assert seen["XLA_FLAGS"] == "None"  # nothing was changed
