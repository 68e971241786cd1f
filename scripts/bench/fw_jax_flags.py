"""Hand-written JAX with the fast CPU kernels' XLA flag (Eigen CPU dots and convolutions).

Shown so the table separates what the kernels buy from what funcgrad's layers cost: any JAX user
can put the flag into ``XLA_FLAGS`` before JAX starts, as this worker does.
"""

from __future__ import annotations

import os

from funcgrad._cpu_kernels import FAST_CPU_FLAG  # the constant only; funcgrad sets no flag itself

os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_CPU_FLAG}".strip()

from fw_jax import build  # noqa: E402

KERNELS = "process flag in XLA_FLAGS"

__all__ = ["build"]
