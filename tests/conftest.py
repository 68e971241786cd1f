"""Strict JAX for every test, and helpers shared by the parity tests."""

from __future__ import annotations

import os

# Keep PyTorch's OpenMP pool small: its spinning threads otherwise steal the CPU from JAX.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import pytest  # noqa: E402

import funcgrad.train  # noqa: E402

# The suite is an application: like `funcgrad train`, it asks for XLA's fast CPU kernels before
# JAX starts (tests of the slow-path warning and of import side effects run in their own env).
funcgrad.train.enable_fast_cpu_kernels()

# Implicit rank promotion hides shape bugs (a (3,) + (3, 1) silently becoming (3, 3)).
jax.config.update("jax_numpy_rank_promotion", "raise")

# tests/_*.py are helpers and subprocess entry points, not test modules: keep --doctest-modules
# from importing them (some read sys.argv at import).
collect_ignore_glob = ["_*.py"]

# Print how many hypothesis cases each property test ran (also under pytest-xdist).
from _property_counts import pytest_runtest_logreport, pytest_terminal_summary  # noqa: E402, F401


@pytest.fixture
def x64():
    """Run the test body with float64 enabled, as ``jax_enable_x64`` would."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    """Parametrise a test over float32 and float64 (the latter under ``jax_enable_x64``)."""
    import numpy as np

    dt = np.dtype(request.param).type
    if dt is np.float64:
        with jax.enable_x64(True):
            yield dt
    else:
        yield dt
