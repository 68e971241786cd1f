"""funcgrad: PyTorch's autograd ideas as pure functions of explicit parameter pytrees.

Models are ``(init, apply)`` pairs with PyTorch's names and layouts; backprop is ``jax.grad``;
optimisers are optax; ``jax.jit`` compiles it all for CPU, GPU or TPU.

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> net = fg.models.MyNet(600, 60, 40, 10)
    >>> params = net.init(jax.random.key(0))
    >>> image, label = jnp.ones((3, 10, 20)), jnp.array(3)
    >>> loss = lambda p: fg.losses.cross_entropy(net.apply(p, image)[None], label[None])
    >>> grads = jax.grad(loss)(params)
    >>> grads["m0"]["weight"].shape
    (60, 600)
"""

from importlib import import_module as _import_module
from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

# The library core, imported eagerly: it never imports the application layer.
from funcgrad import autodiff, data, distributed, graph, interop, loop, losses, models, nn
from funcgrad._jit import jit
from funcgrad._tree import flatten_dict, unflatten_dict

if TYPE_CHECKING:  # mypy and the API reference see `fg.train`; Python loads it on first use
    from funcgrad import train

# The installed distribution's metadata: pyproject.toml is the one place the version is bumped.
__version__: str = _metadata.version("funcgrad")
"""The installed version, read from the package metadata."""

__all__ = [
    "__version__",
    "autodiff",
    "data",
    "distributed",
    "flatten_dict",
    "graph",
    "interop",
    "jit",
    "loop",
    "losses",
    "models",
    "nn",
    "train",
    "unflatten_dict",
]

# The application layer (`fit`, checkpoints, progress, the fast CPU kernels), loaded on first use
# so that `import funcgrad` or `import funcgrad.nn` never imports it (PEP 562).
_LAZY = ("train",)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return _import_module(f"funcgrad.{name}")  # importing binds it: later lookups skip this
    raise AttributeError(f"module 'funcgrad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
