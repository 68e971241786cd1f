"""PyTorch eager on one thread (``torch.set_num_threads(1)``): shown for reference only.

The acceptance ratios use PyTorch's defaults (``fw_torch``). One thread shows how much of
PyTorch's time on a busy 2-core machine goes to its OpenMP threads waiting for each other.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)

from fw_torch import KERNELS, build  # noqa: E402  # KERNELS reads the thread count set above

__all__ = ["KERNELS", "build"]
