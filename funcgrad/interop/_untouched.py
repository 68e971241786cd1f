"""A torch model left as ``convert`` found it: the attributes its ``forward`` assigns are put back.

The word language model tutorial caches its mask on the module (``self.src_mask = mask`` inside
``forward``). ``convert`` runs ``forward`` several times: once eagerly to record each module's
inputs, under ``torch.fx`` (where the assigned value is an fx proxy, which would break the next
trace), and again to verify. None of that may change the user's model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["attributes_restored"]


@contextlib.contextmanager
def attributes_restored(*modules: Any) -> Iterator[None]:
    """Put back the plain attributes and the buffer slots of ``modules`` on the way out: values
    assigned by ``forward`` are undone, attributes it added are removed. (Tensors written in
    place are another matter: ``convert`` copies written buffers back itself.)

    Example:
        >>> import torch
        >>> m = torch.nn.Linear(2, 2)
        >>> with attributes_restored(m):
        ...     m.cache = 1
        ...     m.training = False
        >>> hasattr(m, "cache"), m.training
        (False, True)
    """
    saved = [(m, dict(vars(m)), dict(m._buffers)) for m in modules]
    try:
        yield
    finally:
        for m, attributes, buffers in saved:
            _put_back(vars(m), attributes)
            _put_back(m._buffers, buffers)


def _put_back(now: dict[str, Any], before: dict[str, Any]) -> None:
    for k in set(now) - set(before):
        del now[k]
    for k, v in before.items():
        if k not in now or now[k] is not v:
            now[k] = v
