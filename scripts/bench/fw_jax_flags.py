"""Hand-written JAX with the XLA flag funcgrad sets on import (Eigen CPU dots and convolutions).

Shown so the table separates what the flag buys from what funcgrad's layers cost: any JAX user can
set ``XLA_FLAGS`` by hand to get the same kernels.
"""

from __future__ import annotations

import os

# The constant only: importing funcgrad also adds the flag where it still can, and the line below
# makes sure, before this worker starts JAX's backend.
from funcgrad._xla_cpu import XLA_CPU_FLAG

if XLA_CPU_FLAG not in os.environ.get("XLA_FLAGS", "").split():
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {XLA_CPU_FLAG}".strip()

from fw_jax import build  # noqa: E402

__all__ = ["build"]
