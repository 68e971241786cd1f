"""The one contract every layer and model follows.

A module is a pair of pure functions, plus the two things torch keeps inside a module::

    init(key) -> params            # torch's named_parameters(), as a nested dict of arrays
    init_buffers() -> buffers      # torch's named_buffers() (BatchNorm's running stats); {} if none
    apply(params, x) -> y                                              # eval semantics
    apply(params, x, buffers=b, train=True, key=k) -> (y, new_buffers) # model.train()

Nothing is hidden: ``train`` is torch's ``model.train()`` / ``model.eval()``, ``key`` is the random
generator (Dropout), and ``buffers`` go in and come back out instead of being updated in place.
Passing ``buffers=`` always returns ``(y, new_buffers)``, so generic code treats every model alike.

The module object holds only hyper-parameters (sizes, strides), never arrays. It is frozen and
hashable, so it can be closed over or passed as a static argument under ``jax.jit``.

Writing a module (a frozen dataclass subclass of :class:`Module` with ``init``), one of three ways:

* With no buffers, no randomness and no train/eval difference, write
  ``stateless(self, params, x) -> y``. ``Module.apply`` calls ``forward``, whose default calls
  ``stateless`` and hands the buffers back unchanged.
* Otherwise write ``forward(self, params, x, *, buffers, train, key) -> (y, buffers)`` (and
  ``init_buffers``); ``Module.apply`` calls it with ``buffers={}`` when none were passed and
  returns ``y`` alone then. Call submodules with :func:`call_child`, which names them by their
  attribute path, folds the path into the key, and puts the path into errors.
* A layer whose torch ``forward`` takes more inputs (``LSTM``'s ``hx``, attention's key and value,
  its masks) adds them to ``forward`` after ``x``, with defaults, and the keyword flags after
  ``key``, with torch's names; ``Module.apply`` passes them through as given.
* Or write ``apply(self, params, x, buffers=None, train=False, key=None)`` itself, the contract's
  full signature: it is called exactly as written (``**kwargs`` works too). It must then honour
  the contract on its own (return ``(y, buffers)`` when ``buffers`` is given).

``Module.apply`` is never replaced. A class is refused when it is created (``TypeError``) if its
``apply`` cannot take ``buffers=``, ``train=`` and ``key=`` (a plain ``apply(self, params, x)``:
rename it ``stateless``), or if it defines both ``stateless`` and ``forward``.

A container inits its children with :func:`child_key` too: each child's key is folded from its
name, in ``init`` as in ``apply``, so adding a layer leaves the other layers' draws as they were.

Every call of ``Module.apply`` runs inside ``jax.named_scope``: the class name for the module, and
the attribute name (``"m0"``, ``"features"``) around each child, so a jaxpr's ``name_stack`` reads
like torch's dotted path (``MyNet/m0/Linear``). ``fg.graph`` groups operations by it.
"""

from __future__ import annotations

import abc
import functools
import inspect
import zlib
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, overload

import jax

from funcgrad._typing import Buffers, Params

__all__ = [
    "Batched",
    "Buffers",
    "ConfigError",
    "Module",
    "ModuleError",
    "Params",
    "call_child",
    "child_key",
]


class ModuleError(ValueError):
    """A bad input or call, named by the module's torch-style dotted path (``features.1``).

    Example:
        >>> str(ModuleError("expected 4-D input", path="features.1"))
        'features.1: expected 4-D input'
    """

    __module__ = "funcgrad.nn"

    def __init__(self, message: str, path: str = "") -> None:
        self.message, self.path = message, path
        super().__init__(f"{path}: {message}" if path else message)

    def under(self, name: str) -> ModuleError:
        """This error, one level further out: its path is prefixed with ``name``."""
        self.path = f"{name}.{self.path}" if self.path else name
        self.args = (f"{self.path}: {self.message}",)
        return self


class ConfigError(ModuleError):
    """A layer built with a bad hyper-parameter; the message names the layer and the fix.

    Raised by the constructors (``fg.nn.Conv2d(4, 4, 3, groups=3)``), never by ``apply``. It is a
    ``ValueError`` (and a :class:`ModuleError`, what some constructors raised before), so code that
    catches either keeps working.

    Example:
        >>> import funcgrad as fg
        >>> try:
        ...     fg.nn.Dropout(p=2.0)
        ... except fg.nn.ConfigError as e:
        ...     print(e)
        Dropout(p=2.0): p is a probability; use 0 <= p <= 1
    """

    __module__ = "funcgrad.nn"


class Module(abc.ABC):
    """Base of every layer and model: ``init``, ``init_buffers`` and ``apply``.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> layer = fg.nn.Linear(3, 2)
        >>> params = layer.init(jax.random.key(0))
        >>> layer.apply(params, jnp.ones(3)).shape
        (2,)
        >>> y, buffers = layer.apply(params, jnp.ones(3), buffers={}, train=True)
        >>> buffers
        {}

        A module of one's own: a frozen dataclass with ``init`` and ``stateless`` (see the module
        docstring for ``forward`` and a full ``apply``):

        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Scale(fg.nn.Module):
        ...     factor: float = 2.0
        ...     def init(self, key):
        ...         return {}
        ...     def stateless(self, params, x):
        ...         return self.factor * x
        >>> Scale().apply({}, jnp.ones(2), train=True).tolist()
        [2.0, 2.0]
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_hooks(cls)

    @abc.abstractmethod
    def init(self, key: jax.Array) -> Params:
        """Draw fresh parameters from ``key``: torch's ``named_parameters()``, nested."""

    def init_buffers(self) -> Buffers:
        """Fresh buffers (torch's ``named_buffers()``), keyed like params; ``{}`` if none."""
        return {}

    def stateless(self, params: Params, x: Any) -> Any:
        """The forward pass of a module without buffers, randomness or train/eval difference.

        Override this (or :meth:`forward`); the default :meth:`forward` calls it.
        """
        raise NotImplementedError(
            f"{type(self).__name__} defines neither stateless(self, params, x) nor "
            "forward(self, params, x, *, buffers, train, key); define one of them"
        )

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        """One call with everything explicit; returns ``(y, new_buffers)``.

        The default runs :meth:`stateless` and returns ``buffers`` unchanged; override it in a
        module with buffers, randomness or a train/eval difference.
        """
        del train, key
        return self.stateless(params, x), buffers

    # The overloads type the one-input call every module takes (a user's full-signature ``apply``
    # must stay a compatible override); the further inputs of multi-input layers pass at run time.
    @overload
    def apply(self, params: Params, x: Any) -> Any: ...

    @overload
    def apply(
        self,
        params: Params,
        x: Any,
        *,
        buffers: None = None,
        train: bool = False,
        key: jax.Array | None = None,
    ) -> Any: ...

    @overload
    def apply(
        self,
        params: Params,
        x: Any,
        *,
        buffers: Buffers,
        train: bool = False,
        key: jax.Array | None = None,
    ) -> tuple[Any, Buffers]: ...

    def apply(
        self,
        params: Params,
        x: Any,
        *inputs: Any,
        buffers: Buffers | None = None,
        train: bool = False,
        key: jax.Array | None = None,
        **options: Any,
    ) -> Any:
        """Run the module: ``y``, or ``(y, new_buffers)`` when ``buffers=`` is passed.

        ``train`` is torch's ``model.train()`` (batch statistics, dropout on); the default is eval.
        ``key`` feeds the random layers; each layer gets its own key, folded from its path.
        A layer whose torch ``forward`` takes more than one input takes them the same way:
        ``inputs`` positionally after ``x`` (``lstm.apply(params, x, hx)``) and ``options`` as
        keywords with torch's names (``mha.apply(params, q, k, v, need_weights=False)``); they
        go to :meth:`forward` as given.
        """
        if buffers is None and has_buffers(self):
            raise ModuleError(
                f"{type(self).__name__} has buffers (running statistics); call it as "
                "y, buffers = model.apply(params, x, buffers=buffers, train=...) with "
                "buffers = model.init_buffers() the first time"
            )
        with jax.named_scope(type(self).__name__):
            given = {} if buffers is None else buffers
            y, new = self.forward(
                params, x, *inputs, buffers=given, train=train, key=key, **options
            )
        return y if buffers is None else (y, new)


_FULL_APPLY = "apply(self, params, x, buffers=None, train=False, key=None)"


def _check_hooks(cls: type[Module]) -> None:
    """Refuse, when ``cls`` is created, the hooks :meth:`Module.apply` could not honour."""
    own = cls.__dict__
    name = cls.__name__
    if "stateless" in own and "forward" in own:
        raise TypeError(
            f"{name} defines both stateless and forward; keep forward(self, params, x, *, "
            "buffers, train, key) alone (stateless is only the default forward's body)"
        )
    if "stateless" in own and "apply" not in own and cls.forward is not Module.forward:
        raise TypeError(
            f"{name}.stateless would never run: a base class overrides forward; "
            "override forward(self, params, x, *, buffers, train, key) instead"
        )
    apply = own.get("apply")
    if apply is not None and not _takes_full_call(apply):
        raise TypeError(
            f"{name}.apply cannot be called with buffers=, train= and key=; rename it to "
            "stateless(self, params, x), or accept buffers=None, train=False, key=None "
            f"({_FULL_APPLY})"
        )


def _takes_full_call(fn: Any) -> bool:
    """Whether ``fn(self, params, x, buffers=..., train=..., key=...)`` binds, with defaults."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or callable object: nothing to check, trust it
        return True
    ps = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in ps):
        keywords_ok = True
    else:
        by_name = {p.name: p for p in ps}
        keywords_ok = all(
            (p := by_name.get(k)) is not None
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.default is not p.empty
            for k in ("buffers", "train", "key")
        )
    try:  # self, params and x positionally, then the three keywords, and nothing else required
        sig.bind(None, None, None, buffers=None, train=False, key=None)
    except TypeError:
        return False
    return keywords_ok


def has_buffers(module: Module) -> bool:
    """Whether ``module.init_buffers()`` is not empty (computed from shapes only, and cached).

    Example:
        >>> import funcgrad as fg
        >>> has_buffers(fg.nn.Linear(2, 3))
        False
    """
    try:
        return _has_buffers_cached(module)
    except TypeError:  # an unhashable user module: not cached
        return bool(jax.tree.leaves(jax.eval_shape(module.init_buffers)))


@functools.lru_cache(maxsize=1024)
def _has_buffers_cached(module: Module) -> bool:
    return bool(jax.tree.leaves(jax.eval_shape(module.init_buffers)))


@overload
def child_key(key: jax.Array, name: str) -> jax.Array: ...


@overload
def child_key(key: None, name: str) -> None: ...


def child_key(key: jax.Array | None, name: str) -> jax.Array | None:
    """The key of the child called ``name``: ``key`` with the name folded in, or ``None``.

    Folding by name (not splitting by position) means adding a layer leaves the others' keys, and
    so their dropout masks, as they were.

    Example:
        >>> import jax
        >>> k = jax.random.key(0)
        >>> bool((child_key(k, "0") == child_key(k, "0")).all()), child_key(None, "0")
        (True, None)
    """
    if key is None:
        return None
    return jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)


def call_child(
    name: str,
    module: Module,
    params: Params,
    x: Any,
    *inputs: Any,
    buffers: Buffers,
    train: bool,
    key: jax.Array | None,
    **options: Any,
) -> tuple[Any, Buffers]:
    """Call the submodule stored under ``name``: its params, buffers and key, its scope and path.

    ``params`` and ``buffers`` are the parent's; the child's own are looked up under ``name``.
    Returns ``(y, child_buffers)``; a :class:`ModuleError` from inside gets ``name`` in its path.

    Args:
        name: the child's name in its parent (``"conv"``, or ``"blocks.0"`` for a nested one).
        module: the child module.
        params: the parent's params.
        x: the child's input.
        inputs: further inputs, for a child whose torch ``forward`` takes more (``hx``).
        buffers: the parent's buffers.
        train: whether the forward pass is in training mode.
        key: the parent's random key, or ``None``; the child gets its own, folded from ``name``.
        options: torch's keyword flags of the child's ``forward`` (``need_weights=False``).

    Returns:
        ``(y, child_buffers)``: the child's output and its new buffers.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> lin = fg.nn.Linear(2, 1)
        >>> params = {"fc": lin.init(jax.random.key(0))}
        >>> y, b = call_child("fc", lin, params, jnp.ones(2), buffers={}, train=False, key=None)
        >>> y.shape, b
        ((1,), {})
    """
    with jax.named_scope(name):
        try:
            return module.apply(
                params.get(name, {}),
                x,
                *inputs,
                buffers=buffers.get(name, {}),
                train=train,
                key=child_key(key, name),
                **options,
            )
        except ModuleError as e:
            raise e.under(name)  # noqa: B904  # the same error, its path one level longer


@dataclass(frozen=True)
class Batched(Module):
    """Map a one-example module over a leading batch axis with ``jax.vmap``.

    This is the functional answer to batch dimensions: write the model for one example, as the notes
    write ``mynet`` with ``x.view(-1)``, and let ``vmap`` add the batch axis. Parameters and buffers
    are shared across the batch; with a ``key``, each example gets its own. ``axis_name`` names the
    mapped axis, for layers that reduce over the batch (``BatchNorm2d(..., axis_name="batch")``).

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> net = fg.nn.Batched(fg.models.MyNet(12, 5, 4, 3))
        >>> params = net.init(jax.random.key(0))
        >>> net.apply(params, jnp.ones((8, 3, 2, 2))).shape
        (8, 3)
        >>> bn = fg.nn.Batched(fg.nn.BatchNorm1d(2, axis_name="batch"), axis_name="batch")
        >>> y, b = bn.apply(bn.init(None), jnp.ones((4, 2)), buffers=bn.init_buffers(), train=True)
        >>> y.shape, int(b["num_batches_tracked"])
        ((4, 2), 1)
    """

    module: Module
    axis_name: Hashable | None = None

    def init(self, key: jax.Array) -> Params:
        return self.module.init(key)

    def init_buffers(self) -> Buffers:
        return self.module.init_buffers()

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        def one(xi: Any, ki: jax.Array | None) -> tuple[Any, Buffers]:
            return self.module.apply(params, xi, buffers=buffers, train=train, key=ki)

        name = self.axis_name
        if key is None:
            return jax.vmap(lambda xi: one(xi, None), out_axes=(0, None), axis_name=name)(x)
        keys = jax.random.split(key, jax.tree.leaves(x)[0].shape[0])
        return jax.vmap(one, out_axes=(0, None), axis_name=name)(x, keys)
