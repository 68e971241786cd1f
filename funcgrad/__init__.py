"""funcgrad: PyTorch's autograd ideas as pure functions of explicit parameter pytrees.

Models are ``(init, apply)`` pairs with PyTorch's names and layouts; backprop is ``jax.grad``;
optimisers are optax; ``jax.jit`` compiles it all for CPU, GPU or TPU.

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> net = fg.models.MyNet(600, 60, 40, 10)
    >>> params = net.init(jax.random.PRNGKey(0))
    >>> image, label = jnp.ones((3, 10, 20)), jnp.array(3)
    >>> loss = lambda p: fg.losses.cross_entropy(net.apply(p, image)[None], label[None])
    >>> grads = jax.grad(loss)(params)
    >>> grads["m0"]["weight"].shape
    (60, 600)
"""

from importlib import metadata as _metadata

# The library core; `train` is the application layer (built on the core, never imported by it).
from funcgrad import autodiff, data, distributed, graph, interop, loop, losses, models, nn, train
from funcgrad._tree import flatten_dict, unflatten_dict

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
    "loop",
    "losses",
    "models",
    "nn",
    "train",
    "unflatten_dict",
]
