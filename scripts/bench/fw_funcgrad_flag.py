"""funcgrad with a plain ``jax.jit`` and the fast kernels switched on for the whole process.

The flag goes into ``XLA_FLAGS`` before JAX starts its CPU backend, as
``funcgrad.train.enable_fast_cpu_kernels()`` does. Against the ``funcgrad`` column (the same
choice as a per-program compiler option) it shows whether the option is as fast as the flag.
"""

from __future__ import annotations

import os

from funcgrad._cpu_kernels import FAST_CPU_FLAG

os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_CPU_FLAG}".strip()

from fw_funcgrad_default import build  # noqa: E402

KERNELS = "process flag in XLA_FLAGS, plain jax.jit"

__all__ = ["build"]
