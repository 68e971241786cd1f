"""funcgrad compiled with a plain ``jax.jit``: what a library user gets without the switch.

jaxlib's default CPU kernels (YNNPACK for dots and convolutions); the gap to the ``funcgrad`` column
is what the fast kernels buy.
"""

from __future__ import annotations

import jax
from _jaxkit import build as _build
from fw_funcgrad import make

KERNELS = "none: plain jax.jit, jaxlib's defaults (YNNPACK dots and convolutions)"


def build(workload: str, quick: bool):
    return _build(workload, quick, make, jax.jit)
