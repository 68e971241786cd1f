"""PyTorch with ``torch.compile(model)`` (default mode); eager otherwise."""

from __future__ import annotations

import fw_torch

fw_torch.COMPILE = True
build = fw_torch.build
KERNELS = f"torch.compile(model), default mode (Inductor); {fw_torch.KERNELS}"
