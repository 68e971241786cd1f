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

# First: XLA reads its CPU flags when JAX's backend starts, so they are set before anything runs.
from funcgrad import _xla_cpu  # noqa: F401  # isort: skip
from funcgrad import autodiff, data, distributed, graph, interop, losses, models, nn, train
from funcgrad._tree import flatten_dict, unflatten_dict

__version__ = "0.1.0"

__all__ = [
    "autodiff",
    "data",
    "distributed",
    "flatten_dict",
    "graph",
    "interop",
    "losses",
    "models",
    "nn",
    "train",
    "unflatten_dict",
]
