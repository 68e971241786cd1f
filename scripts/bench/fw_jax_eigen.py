"""Hand-written JAX with the XLA flag funcgrad sets on import (Eigen CPU convolutions).

Shown so the table separates what the flag buys from what funcgrad's layers cost: any JAX user can
set ``XLA_FLAGS`` by hand to get the same convolutions.
"""

from __future__ import annotations

import os

FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FLAG}".strip()

from fw_jax import build  # noqa: E402

__all__ = ["build"]
