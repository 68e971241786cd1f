"""What every file ``fg.interop.convert`` writes imports: the base class and the child caller.

A converted class is its children, as dataclass fields named as in torch, and a ``forward`` that
reads like torch's. What they share lives here, so the generated file holds only the model:

* :class:`Converted`, the base class: ``init`` and ``init_buffers`` walk the dataclass fields,
  and ``forward`` runs with JAX's rank promotion allowed, as torch broadcasts;
* :class:`Children`, ``call("conv1", x)`` in ``forward``: torch's ``self.conv1(x)``, with the
  child's params, buffers and key.

This module imports no torch: a converted file runs where PyTorch is not installed.

Example:
    >>> import dataclasses, jax, jax.numpy as jnp, funcgrad as fg
    >>> from funcgrad.interop.runtime import Children, Converted
    >>> @dataclasses.dataclass(frozen=True)
    ... class Net(Converted):
    ...     fc: fg.nn.Module = fg.nn.Linear(3, 2)
    ...
    ...     def forward(self, params, x, *, buffers, train, key):
    ...         call = Children(self, params, buffers, train, key)
    ...         return jnp.tanh(call("fc", x)), call.buffers
    >>> model = Net()
    >>> params = model.init(jax.random.key(0))
    >>> model.apply(params, jnp.ones((4, 3))).shape
    (4, 2)
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from funcgrad._tree import flatten_dict, unflatten_dict
from funcgrad.nn._module import Buffers, Module, ModuleError, Params, call_child, child_key

__all__ = ["Children", "Converted"]


class Converted(Module):
    """A module converted from torch: its children are its dataclass fields, named as in torch.

    ``own_params`` and ``own_buffers`` hold the shapes of torch's ``nn.Parameter`` and
    ``register_buffer`` entries on the module itself (``{"scale": (3,)}``; buffers as
    ``{"count": ((), "int")}``, ``None`` for a float). Their initial values are zeros: torch's
    own are loaded with ``fg.interop.from_torch``. torch broadcasts arrays of different ranks
    (``(N, 3) + (3,)``), so ``forward`` runs with JAX's rank promotion allowed.

    Example:
        >>> import dataclasses, jax, funcgrad as fg
        >>> @dataclasses.dataclass(frozen=True)
        ... class Head(Converted):
        ...     fc: fg.nn.Module = fg.nn.Linear(2, 1)
        ...     own_params: ClassVar[dict] = {"scale": (1,)}
        >>> params = Head().init(jax.random.key(0))
        >>> sorted(params), sorted(params["fc"])
        (['fc', 'scale'], ['bias', 'weight'])
    """

    own_params: ClassVar[Mapping[str, Sequence[int]]] = {}
    own_buffers: ClassVar[Mapping[str, tuple[Sequence[int], str | None]]] = {}
    # torch's shared weights: {alias: name}, dotted. params hold each once, under its name; forward
    # hands it to the alias's layer too, so its gradient sums both uses, as torch's does.
    tied: ClassVar[Mapping[str, str]] = {}
    # {field: torch's child name} for children torch names by number ("0"): not attribute names
    renamed: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if forward is not None:

            @functools.wraps(forward)
            def forward_as_torch(
                self: Converted, params: Params, *args: Any, **kw: Any
            ) -> tuple[Any, Buffers]:
                if self.tied:
                    flat = flatten_dict(params)
                    params = unflatten_dict(flat | {a: flat[n] for a, n in self.tied.items()})
                with jax.numpy_rank_promotion("allow"):
                    return forward(self, params, *args, **kw)

            cls.forward = forward_as_torch  # type: ignore[method-assign,assignment]

    def children(self) -> dict[str, Module]:
        """The child modules, by torch's attribute name, in torch's order."""
        return {
            self.renamed.get(f.name, f.name): getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        }

    def init(self, key: jax.Array) -> Params:
        """Own params as zeros, and each child's params from its own key, folded from its name."""
        params: Params = {name: jnp.zeros(tuple(s)) for name, s in self.own_params.items()}
        for name, child in self.children().items():
            if child_params := child.init(child_key(key, name)):
                params[name] = child_params
        if self.tied:  # an alias's layer gets its weight from the name that holds it
            params = unflatten_dict(
                {k: v for k, v in flatten_dict(params).items() if k not in self.tied}
            )
        return params

    def init_buffers(self) -> Buffers:
        """Own buffers as zeros (integers where torch's are), and each child's buffers."""
        buffers: Buffers = {
            # "int": torch's int64, or int32 where JAX runs without x64 (no truncation warning)
            name: jnp.zeros(tuple(shape), dtype and jax.dtypes.canonicalize_dtype(dtype))
            for name, (shape, dtype) in self.own_buffers.items()
        }
        for name, child in self.children().items():
            if child_buffers := child.init_buffers():
                buffers[name] = child_buffers
        return buffers


class Children:
    """``call("conv1", x)`` is torch's ``self.conv1(x)``; ``call("blocks.0", x)`` its ``self.blocks[0](x)``.

    Each child gets its params, its buffers and its own key, folded from its path (a child called
    twice draws fresh randomness the second time), and the buffers it returns replace its old
    ones in ``call.buffers``, which ``forward`` returns.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> seq = fg.nn.Sequential(fg.nn.Linear(2, 2), fg.nn.BatchNorm1d(2))
        >>> params, buffers = seq.init(jax.random.key(0)), seq.init_buffers()
        >>> call = Children(seq, params, buffers, True, None)
        >>> call("1", call("0", jnp.ones((4, 2)))).shape
        (4, 2)
        >>> int(call.buffers["1"]["num_batches_tracked"])
        1
    """

    def __init__(
        self, module: Module, params: Params, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> None:
        self.module, self.params, self.buffers = module, params, buffers
        self.train, self.key = train, key
        self.calls: dict[str, int] = {}

    def __call__(self, path: str, x: Any, *inputs: Any, **options: Any) -> Any:
        """The child at ``path`` (dotted) called on ``x``; its new buffers go to ``self.buffers``.

        A funcgrad layer with more inputs than ``x`` takes them as torch's ``forward`` does:
        ``call("rnn", x, hidden)``, ``call("attn", q, k, v, need_weights=False)``.
        """
        *outer, name = path.split(".")
        module, params, buffers, key = self.module, self.params, self.buffers, self.key
        self.calls[path] = calls = self.calls.get(path, -1) + 1
        if calls:
            key = child_key(key, f"call {calls}")
        for part in outer:
            module = _child(module, part)
            params, buffers = params.get(part, {}), buffers.get(part, {})
            key = child_key(key, part)
        try:
            y, new = call_child(
                name,
                _child(module, name),
                params,
                x,
                *inputs,
                buffers=buffers,
                train=self.train,
                key=key,
                **options,
            )
        except ModuleError as e:
            for part in reversed(outer):
                e = e.under(part)
            raise e from None
        if new:
            self.buffers = _replace(self.buffers, path.split("."), new)
        return y

    def set_buffer(self, path: str, value: jax.Array) -> None:
        """torch's in-place write of the module's buffer ``path`` (``self.count.add_(1)``):
        ``value`` replaces it in ``self.buffers``, which ``forward`` returns.

        Example:
            >>> import jax.numpy as jnp
            >>> call = Children(None, {}, {"count": jnp.array(0)}, True, None)
            >>> call.set_buffer("count", call.buffers["count"] + 1)
            >>> int(call.buffers["count"])
            1
        """
        self.buffers = _replace(self.buffers, path.split("."), value)


def _child(module: Module, name: str) -> Module:
    if isinstance(module, Converted):
        if module.renamed and name not in module.__dataclass_fields__:  # type: ignore[attr-defined]
            name = next(f for f, n in module.renamed.items() if n == name)
        child: Module = getattr(module, name)
        return child
    # a torch Sequential, ModuleList or ModuleDict: held in an fg.nn.Sequential
    return dict(module.named_layers())[name]  # type: ignore[attr-defined]


def _replace(tree: Buffers, names: list[str], value: Buffers | jax.Array) -> Buffers:
    first, *rest = names
    return {**tree, first: _replace(tree.get(first, {}), rest, value) if rest else value}
