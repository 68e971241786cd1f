"""The XLA flag set at import and the allocator fallback, each checked in fresh processes."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jaxlib
import numpy as np
import pytest
import torch
from _parity import assert_close

import funcgrad as fg
from funcgrad import _xla_cpu

MEASURED = jaxlib.__version__.startswith(_xla_cpu._MEASURED_JAXLIB)
cpu_only = pytest.mark.skipif(jax.default_backend() != "cpu", reason="a CPU compiler flag")

_PROBE = textwrap.dedent(
    """
    import json, os, sys
    import jax, jax.numpy as jnp
    if sys.argv[1] == "late":
        jnp.ones(2).block_until_ready()  # the CPU backend starts before funcgrad is imported
    from funcgrad import _xla_cpu
    print(json.dumps([_xla_cpu.ACTIVE_FLAG, os.environ.get("XLA_FLAGS", "")]))
    """
)


def _probe(when: str, **env_vars: str) -> tuple[str, str]:
    """(flag in force, XLA_FLAGS) in a fresh interpreter that imports funcgrad ``when``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("XLA_FLAGS", "FUNCGRAD_CONV", "FUNCGRAD_XLA_FLAGS")
    }
    env.update(env_vars)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, when], capture_output=True, text=True, check=True, env=env
    ).stdout
    active, flags = json.loads(out)
    return active, flags


@cpu_only
def test_import_sets_the_flag_before_jax_starts():
    active, flags = _probe("first")
    expected = _xla_cpu.XLA_CPU_FLAG if MEASURED else ""
    assert active == expected
    assert flags.split() == ([expected] if expected else [])


@cpu_only
def test_import_after_jax_started_sets_nothing():
    assert _probe("late") == ("", "")


@cpu_only
@pytest.mark.parametrize(
    "env_vars, expected",
    [
        ({"FUNCGRAD_XLA_FLAGS": "0"}, ("", "")),
        ({"FUNCGRAD_CONV": "lax"}, (_xla_cpu.cpu_flag(convolutions=False),) * 2),
        # the user's own choice of YNN fusions wins, untouched
        (
            {"XLA_FLAGS": f"{_xla_cpu.YNN_FUSION_FLAG}=-eltwise"},
            ("", f"{_xla_cpu.YNN_FUSION_FLAG}=-eltwise"),
        ),
        # already there (a parent process imported funcgrad): kept once, and reported in force
        ({"XLA_FLAGS": _xla_cpu.XLA_CPU_FLAG}, (_xla_cpu.XLA_CPU_FLAG,) * 2),
    ],
)
def test_switches(env_vars, expected):
    if not MEASURED and "XLA_FLAGS" not in env_vars:  # pragma: no cover
        expected = ("", "")
    assert _probe("first", **env_vars) == expected


def test_flag_names_both_fusion_types():
    assert _xla_cpu.XLA_CPU_FLAG == (
        "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution,-individual_dot"
    )
    assert _xla_cpu.cpu_flag(convolutions=False).endswith("=-individual_dot")


def test_this_process_runs_with_the_flag():
    """The parity tests in this suite run with the flag in force (funcgrad is imported first)."""
    if jax.default_backend() != "cpu" or not MEASURED:
        pytest.skip("the flag applies to jaxlib 0.10 CPU backends only")
    assert _xla_cpu.ACTIVE_FLAG == _xla_cpu.XLA_CPU_FLAG
    assert _xla_cpu.eigen_convolutions()


@pytest.mark.parametrize("shape_x, shape_w", [((64, 600), (60, 600)), ((7, 3, 5), (4, 5))])
def test_dots_under_the_flag_match_torch(dtype, shape_x, shape_w):
    """MyNet's dot shapes, and a batched one, against torch's linear layer, value and gradients."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape_x).astype(dtype), rng.standard_normal(shape_w).astype(dtype)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    value_t = (torch.nn.functional.linear(xt, wt) ** 2).sum()
    value_t.backward()

    def f(x, w):
        return (fg.nn.functional.linear(x, w) ** 2).sum()

    value, (gx, gw) = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))(x, w)
    assert_close(value, value_t.item(), dtype, "value")
    assert_close(gx, xt.grad.numpy(), dtype, "grad wrt x")
    assert_close(gw, wt.grad.numpy(), dtype, "grad wrt weight")


_MALLOC = (
    "from funcgrad import _xla_cpu; print(_xla_cpu.tune_cpu_malloc(), _xla_cpu.tune_cpu_malloc())"
)


# The fallback's effect (no page faults on XLA's ~100 MB of scratch per ConvNet step) is a speed
# property, measured by scripts/benchmark.py; here we check the switch itself, in fresh processes.
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
@pytest.mark.parametrize("setting, expected", [(None, "True True"), ("0", "False False")])
def test_malloc_fallback_is_on_by_default_and_can_be_opted_out(setting, expected):
    env = {k: v for k, v in os.environ.items() if k != "FUNCGRAD_CPU_MALLOC"}
    if setting is not None:
        env["FUNCGRAD_CPU_MALLOC"] = setting
    out = subprocess.run(
        [sys.executable, "-c", _MALLOC], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    assert out == expected
