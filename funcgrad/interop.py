"""Move weights between PyTorch and funcgrad: ``state_dict`` <-> nested params dict.

``"m0.weight"`` in a state_dict becomes ``params["m0"]["weight"]``, and back. Values are copied
exactly (same dtype, same bits), so a model run with copied weights gives PyTorch's numbers.
PyTorch is imported only when these functions run; it is not a runtime dependency.

Example:
    >>> import torch, funcgrad as fg
    >>> params = fg.interop.from_torch(torch.nn.Linear(3, 2))
    >>> sorted(params), params["weight"].shape
    (['bias', 'weight'], (2, 3))
    >>> sorted(fg.interop.to_torch(params))
    ['bias', 'weight']
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad._tree import flatten_dict, unflatten_dict
from funcgrad.nn._module import Module, Params

__all__ = ["StateDictMismatchError", "from_torch", "to_torch"]


class StateDictMismatchError(ValueError):
    """A state_dict does not fit the model: keys are missing or unexpected, or shapes differ."""


def _torch() -> Any:
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "funcgrad.interop needs PyTorch; install it with: pip install torch==2.13.0"
        ) from err
    return torch


def from_torch(module_or_state_dict: Any, like: Module | Params | None = None) -> Params:
    """Convert a ``torch.nn.Module`` or its ``state_dict`` into a nested params dict.

    With ``like`` (a funcgrad module, or params to match), keys and shapes are checked first and a
    :class:`StateDictMismatchError` lists every missing, unexpected or mis-shaped entry.

    Example:
        >>> import torch, funcgrad as fg
        >>> fg.interop.from_torch(torch.nn.Linear(3, 2), like=fg.nn.Linear(4, 2))
        Traceback (most recent call last):
        ...
        funcgrad.interop.StateDictMismatchError: state_dict does not match the model: weight has shape (2, 3), expected (2, 4). Build the funcgrad model with the same sizes as the torch one.
    """
    torch = _torch()
    state = (
        module_or_state_dict.state_dict()
        if isinstance(module_or_state_dict, torch.nn.Module)
        else module_or_state_dict
    )
    if not isinstance(state, Mapping):
        raise TypeError(
            f"from_torch: expected a torch.nn.Module or a state_dict mapping, got {type(state).__name__}"
        )
    flat = {
        k: jnp.asarray(v.detach().cpu().numpy() if torch.is_tensor(v) else v)
        for k, v in state.items()
    }
    if like is not None:
        check_state_dict(flat, like)
    return unflatten_dict(flat)


def check_state_dict(flat: Mapping[str, Any], like: Module | Params) -> None:
    """Raise :class:`StateDictMismatchError` unless ``flat``'s keys and shapes match ``like``."""
    if isinstance(like, Module):
        like = jax.eval_shape(like.init, jax.random.PRNGKey(0))
    expected = {k: tuple(v.shape) for k, v in flatten_dict(like).items()}
    got = {k: tuple(np.shape(v)) for k, v in flat.items()}
    problems = [f"missing {k} {s}" for k, s in expected.items() if k not in got]
    problems += [f"unexpected {k} {s}" for k, s in got.items() if k not in expected]
    problems += [
        f"{k} has shape {got[k]}, expected {s}"
        for k, s in expected.items()
        if k in got and got[k] != s
    ]
    if problems:
        raise StateDictMismatchError(
            "state_dict does not match the model: "
            + "; ".join(problems)
            + ". Build the funcgrad model with the same sizes as the torch one."
        )


def to_torch(params: Params) -> OrderedDict[str, Any]:
    """Convert nested params into a torch ``state_dict`` with dotted keys; exact round trip.

    Example:
        >>> import jax, torch, funcgrad as fg
        >>> net = torch.nn.Linear(3, 2)
        >>> sd = fg.interop.to_torch(fg.interop.from_torch(net))
        >>> all(torch.equal(sd[k], v) for k, v in net.state_dict().items())
        True
    """
    torch = _torch()
    return OrderedDict(
        (k, torch.from_numpy(np.array(v, copy=True))) for k, v in flatten_dict(params).items()
    )
