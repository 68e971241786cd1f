"""Computational graphs you can look at: forward and backward, from any JAX function.

``trace(f, *args, wrt=...)`` reads ``f``'s jaxpr into a :class:`Graph` of leaves (arguments, with
their params path and whether they require grad), operations (JAX primitives and the PyTorch
``grad_fn`` name), grouped by the ``jax.named_scope`` names modules and losses run under, and
outputs. ``graph.backward()`` is the graph of the backward pass;
``graph.render("net.svg")`` draws either with Graphviz; notebooks show them inline.

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> net = fg.models.MyNet(6, 4, 3, 2)
    >>> g = fg.graph.trace(net.apply, net.init(jax.random.key(0)), jnp.ones((2, 3)))
    >>> [n.label for n in g.ops]
    ['flatten: Flatten', 'm0: Linear', 'relu1: ReLU', 'm1: Linear', 'relu2: ReLU', 'm2: Linear']
"""

from funcgrad.graph._dot import GraphvizNotFoundError
from funcgrad.graph._grad_fn import GRAD_FN_BY_FUNCTION, GRAD_FN_BY_PRIMITIVE, grad_fn_name
from funcgrad.graph._graph import Graph
from funcgrad.graph._node import Node
from funcgrad.graph._trace import backward, trace

__all__ = [
    "GraphvizNotFoundError",
    "GRAD_FN_BY_FUNCTION",
    "GRAD_FN_BY_PRIMITIVE",
    "Graph",
    "Node",
    "backward",
    "grad_fn_name",
    "trace",
]
