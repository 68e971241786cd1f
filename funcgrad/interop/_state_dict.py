"""torch ``state_dict`` <-> funcgrad's nested params and buffers, copied bit for bit.

``"m0.weight"`` in a state_dict becomes ``params["m0"]["weight"]``, and back. A state_dict holds a
torch module's parameters and its buffers (BatchNorm's running statistics) under one set of names;
funcgrad keeps them apart, as ``model.init(key)`` and ``model.init_buffers()`` do, and
``from_torch(..., like=model)`` splits the names the same way, so any funcgrad module works,
a user's own included.

Dtypes are kept: float32, float64 (under ``jax_enable_x64``) and bfloat16 come back as they went.
Integer buffers (torch's int64 ``num_batches_tracked``) stay integers: int64 under
``jax_enable_x64``; without it JAX has no 64-bit integers, so they become int32, exact for every
value below 2**31 (a larger one raises instead of wrapping), and ``to_torch`` hands them back as
int64, torch's dtype for them.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad._tree import flatten_dict, unflatten_dict
from funcgrad.interop._errors import StateDictMismatchError
from funcgrad.interop._files import is_path, read_state_dict
from funcgrad.interop._torch import import_torch, is_tensor, is_torch_module, loaded_torch
from funcgrad.nn._module import Buffers, Module, Params
from funcgrad.nn._registry import LOSSES

__all__ = ["check_state_dict", "from_torch", "to_torch"]

Like = Module | Params | tuple[Params, Buffers]
"""What ``like=`` accepts: a funcgrad module, its params, or ``(params, buffers)``."""

Shapes = dict[str, tuple[int, ...]]


def from_torch(
    module_or_state_dict: Any | str | os.PathLike[str], like: Like | None = None
) -> Params | tuple[Params, Buffers]:
    """Convert a ``torch.nn.Module``, its ``state_dict`` or a checkpoint file into nested dicts.

    The state_dict's values may be torch tensors or NumPy arrays (anything ``np.asarray`` takes).
    A path is read as a checkpoint: ``.safetensors`` through the ``safetensors`` package's NumPy
    API, ``.pt``/``.pth`` with ``torch.load(path, weights_only=True)``, which refuses a file that
    pickles a whole module. PyTorch is imported only for a ``.pt``/``.pth`` file; a NumPy
    state_dict or a ``.safetensors`` file works without it.

    With ``like`` (a funcgrad module, its params, or ``(params, buffers)``), the names are split
    into parameters and buffers as ``like.init(key)`` and ``like.init_buffers()`` name them (a
    torch loss module's class ``weight``/``pos_weight`` buffer, a constructor argument of
    funcgrad's loss module, is skipped unless ``like`` has it), keys and shapes are checked first, and a :class:`StateDictMismatchError` lists every missing,
    unexpected or mis-shaped entry. The result is ``(params, buffers)`` exactly when ``like`` has
    buffers, and plain ``params`` otherwise.

    Without ``like``, a torch module is split by its own ``named_buffers()`` (``(params,
    buffers)`` when it has any), and a bare state_dict or file, which cannot tell the two apart,
    is all params. A file read with ``like`` comes back in ``like``'s key order (``.safetensors``
    stores its keys sorted by name).

    Example:
        >>> import torch, funcgrad as fg
        >>> params = fg.interop.from_torch(torch.nn.Linear(3, 2), like=fg.nn.Linear(3, 2))
        >>> sorted(params), params["weight"].shape
        (['bias', 'weight'], (2, 3))
        >>> params, buffers = fg.interop.from_torch(torch.nn.BatchNorm1d(3))
        >>> sorted(params), sorted(buffers)
        (['bias', 'weight'], ['num_batches_tracked', 'running_mean', 'running_var'])
        >>> fg.interop.from_torch(torch.nn.Linear(3, 2), like=fg.nn.Linear(4, 2))
        Traceback (most recent call last):
        ...
        funcgrad.interop.StateDictMismatchError: state_dict does not match the model: parameter weight has shape (2, 3), expected (2, 4). Build the funcgrad model with the same layers and sizes as the torch one.
    """
    source: Any = module_or_state_dict
    state: Mapping[str, Any]
    carried: Collection[str] = ()
    if is_path(source):
        state, torch_buffers = read_state_dict(source), set()
    elif is_torch_module(source):
        state = source.state_dict()
        torch_buffers = {name for name, _ in source.named_buffers()} & set(state)
        carried = _loss_weights(source)
    elif isinstance(source, Mapping):
        state, torch_buffers = source, set()
    else:
        raise TypeError(
            "from_torch: expected a torch.nn.Module, a state_dict mapping or the path of a "
            f".pt/.pth/.safetensors file, got {type(source).__name__}"
        )
    aliases = getattr(like, "tied", {})  # a converted model's shared weights: held once
    flat = {k: _to_jax(k, _numpy(v)) for k, v in state.items() if k not in aliases}
    if like is None:
        buffer_names: Collection[str] = torch_buffers
    else:
        expected_params, buffer_names = _expected(like)
        expected = {*expected_params, *buffer_names}
        flat = {k: v for k, v in flat.items() if k not in carried or k in expected}
        check_state_dict(flat, like, torch_buffers=torch_buffers)
        if is_path(source):
            flat = {k: flat[k] for k in [*expected_params, *buffer_names]}
    params = unflatten_dict({k: v for k, v in flat.items() if k not in buffer_names})
    if not buffer_names:
        return params
    return params, unflatten_dict({k: v for k, v in flat.items() if k in buffer_names})


def check_state_dict(
    flat: Mapping[str, Any], like: Like, *, torch_buffers: Collection[str] = ()
) -> None:
    """Raise :class:`StateDictMismatchError` unless ``flat``'s keys and shapes match ``like``.

    ``flat`` maps dotted names to arrays, as a state_dict does. Every missing, unexpected or
    mis-shaped entry is listed, each named as a parameter or a buffer; ``torch_buffers`` (the
    names torch holds as buffers) names the unexpected ones too.

    Args:
        flat: ``{dotted name: array}``, as a state_dict.
        like: a funcgrad module, its params, or ``(params, buffers)``.
        torch_buffers: the names torch holds as buffers, for the error message.

    Example:
        >>> import numpy as np, funcgrad as fg
        >>> check_state_dict({"weight": np.zeros((2, 3))}, fg.nn.Linear(3, 2))
        Traceback (most recent call last):
        ...
        funcgrad.interop.StateDictMismatchError: state_dict does not match the model: missing parameter bias (2,). Build the funcgrad model with the same layers and sizes as the torch one.
    """
    expected_params, expected_buffers = _expected(like)
    expected = {
        k: ("parameter" if k in expected_params else "buffer", s)
        for k, s in {**expected_params, **expected_buffers}.items()
    }
    got = {k: tuple(np.shape(v)) for k, v in flat.items()}

    def torch_kind(k: str) -> str:
        return "buffer " if k in torch_buffers else "parameter " if torch_buffers else ""

    problems = [f"missing {kind} {k} {s}" for k, (kind, s) in expected.items() if k not in got]
    problems += [f"unexpected {torch_kind(k)}{k} {s}" for k, s in got.items() if k not in expected]
    problems += [
        f"{kind} {k} has shape {got[k]}, expected {s}"
        for k, (kind, s) in expected.items()
        if k in got and got[k] != s
    ]
    if problems:
        raise StateDictMismatchError(
            "state_dict does not match the model: "
            + "; ".join(problems)
            + ". Build the funcgrad model with the same layers and sizes as the torch one."
        )


def to_torch(
    params: Params, buffers: Buffers | None = None, *, model: Module | None = None
) -> OrderedDict[str, Any]:
    """Convert params (and buffers) into one torch ``state_dict``; an exact round trip.

    With ``model`` (a converted model whose torch original shares a weight under two names,
    nanoGPT's ``lm_head.weight`` *is* ``transformer.wte.weight``), the shared weight, held once in
    ``params``, is written under both names, one tensor, as torch's ``state_dict()`` does.

    Keys come in torch's order: each module's own parameters, then its own buffers, then its
    children in turn, so ``list(to_torch(params, buffers))`` reads like ``list(m.state_dict())``.
    Where the two dicts alone cannot tell (a child with buffers only, such as
    ``BatchNorm2d(affine=False)``, next to children with params), numbered children
    (``Sequential``'s ``"0"``, ``"1"``, ...) go in numeric order, and named children with params
    come before named children with buffers only. ``load_state_dict`` reads names, not order.

    Args:
        params: the parameters, a nested dict of arrays (``fg.unflatten_dict`` of torch's names).
        buffers: the buffers (running statistics), or ``None``.
        model: the converted model whose ``tied`` names say which weight torch shares under two
            names; ``None`` writes each name once.

    Returns:
        An ``OrderedDict`` of torch tensors in torch's key order, for ``load_state_dict``.

    Example:
        >>> import torch, funcgrad as fg
        >>> bn = torch.nn.BatchNorm1d(3)
        >>> sd = fg.interop.to_torch(*fg.interop.from_torch(bn))
        >>> list(sd) == list(bn.state_dict())
        True
        >>> all(torch.equal(sd[k], v) and sd[k].dtype == v.dtype for k, v in bn.state_dict().items())
        True
    """
    torch = import_torch()
    tied: dict[str, str] = dict(getattr(model, "tied", None) or {})
    if tied:
        flat = flatten_dict(params)
        params = unflatten_dict(flat | {a: flat[n] for a, n in tied.items() if n in flat})
    entries = _torch_order(params, buffers or {}, "")
    names = [k for k, _ in entries]
    both = sorted({k for k in names if names.count(k) > 1})
    if both:
        raise ValueError(
            f"to_torch: {', '.join(both)} are in both params and buffers; a state_dict name is "
            "either a parameter or a buffer, so keep each name in one of the two dicts"
        )
    state = OrderedDict((k, _to_tensor(torch, v)) for k, v in entries)
    for alias, name in tied.items():
        if alias in state and name in state:
            state[alias] = state[name]  # one tensor under both names
    return state


def _expected(like: Like) -> tuple[Shapes, Shapes]:
    """Flat ``name -> shape`` of the parameters and of the buffers ``like`` describes.

    For a module the names come in the order its ``init`` builds them (``weight`` before ``bias``),
    not sorted as ``jax.eval_shape`` returns them: the order is caught while tracing.
    """
    if isinstance(like, Module):
        return _traced_shapes(like.init, jax.random.PRNGKey(0)), _traced_shapes(like.init_buffers)
    if isinstance(like, tuple):
        params, buffers = like
    else:
        params, buffers = like, {}
    return _shapes(params), _shapes(buffers)


def _loss_weights(module: Any) -> set[str]:
    """The class weights of the torch loss modules in ``module`` (``criterion.weight``,
    ``pos_weight``): torch keeps them as buffers, funcgrad's loss modules as constructor arguments
    (``convert`` writes them into the source), so ``like`` leaves them out and they are skipped."""
    torch: Any = loaded_torch()
    names = set()
    for path, m in module.named_modules():
        kind = type(m).__name__
        if kind not in LOSSES or type(m) is not getattr(torch.nn, kind, None):
            continue
        for name, _ in m.named_buffers(recurse=False):
            if name in ("weight", "pos_weight"):
                names.add(f"{path}.{name}" if path else name)
    return names


def _traced_shapes(fn: Any, *args: Any) -> Shapes:
    shapes: Shapes = {}

    def record(*args: Any) -> Any:
        tree = fn(*args)
        shapes.update(_shapes(tree))
        return tree

    jax.eval_shape(record, *args)
    return shapes


def _shapes(tree: Mapping[str, Any]) -> Shapes:
    return {k: tuple(np.shape(v)) for k, v in flatten_dict(tree).items()}


def _numpy(value: Any) -> np.ndarray:
    """``value`` as a NumPy array of the same dtype (a torch bfloat16 tensor through its bits)."""
    if not is_tensor(value):
        return np.asarray(value)
    torch: Any = loaded_torch()
    value = value.detach().cpu()
    if value.dtype == torch.bfloat16:  # NumPy has no bfloat16; ml_dtypes' is JAX's
        return value.view(torch.int16).numpy().view(jnp.bfloat16)
    return value.numpy()


def _to_jax(name: str, arr: np.ndarray) -> jax.Array:
    target = jax.dtypes.canonicalize_dtype(arr.dtype)
    if arr.dtype.kind in "iu" and target != arr.dtype and arr.size:
        info = np.iinfo(target)
        if arr.min() < info.min or arr.max() > info.max:
            raise ValueError(
                f"from_torch: {name} holds {arr.max()}, beyond {target} (JAX's integers without "
                "64-bit mode); call jax.config.update('jax_enable_x64', True) first"
            )
    # A copy of our own: torch's in-place updates (optimizer.step) must never reach the params.
    return jnp.asarray(np.array(arr, copy=True))


def _to_tensor(torch: Any, value: Any) -> Any:
    arr = np.array(value, copy=True)  # writable and ours: torch.from_numpy shares its memory
    if arr.dtype == jnp.bfloat16:
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    if arr.dtype == np.int32 and jax.dtypes.canonicalize_dtype(np.int64) != np.int64:
        arr = arr.astype(np.int64)  # without 64-bit mode, JAX's int32 stands for torch's int64
    return torch.from_numpy(arr)


def _torch_order(params: Mapping[str, Any], buffers: Mapping[str, Any], prefix: str) -> list:
    """``[(dotted name, leaf)]`` as torch's ``state_dict`` orders them (see :func:`to_torch`)."""
    entries = [
        (prefix + k, v) for tree in (params, buffers) for k, v in tree.items() if not _is_dict(v)
    ]
    children = _merge(
        [k for k, v in params.items() if _is_dict(v)],
        [k for k, v in buffers.items() if _is_dict(v)],
    )
    for name in children:
        entries += _torch_order(params.get(name, {}), buffers.get(name, {}), f"{prefix}{name}.")
    return entries


def _is_dict(value: Any) -> bool:
    return isinstance(value, Mapping)


def _merge(first: list[str], second: list[str]) -> list[str]:
    """Both orders of child names in one list, each order kept (numbered names by number)."""
    out: list[str] = []
    a, b = list(first), list(second)
    while a or b:
        if not b or (a and b[0] in a[1:]):  # b's next name is due later in a: a's goes first
            pick = a[0]
        elif not a or a[0] in b:  # the same for a's next name, or a is done
            pick = b[0]
        elif a[0].isdigit() and b[0].isdigit():
            pick = min(a[0], b[0], key=int)
        else:
            pick = a[0]
        out.append(pick)
        a, b = [n for n in a if n != pick], [n for n in b if n != pick]
    return out
