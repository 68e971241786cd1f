"""funcgrad with its CPU convolution path switched off (``FUNCGRAD_CONV=lax``): the baseline."""

from __future__ import annotations

import os

os.environ["FUNCGRAD_CONV"] = "lax"

from fw_funcgrad import build  # noqa: E402

__all__ = ["build"]
