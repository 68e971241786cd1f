"""Computational graphs you can look at: forward and backward, from any JAX function.

``trace(f, *args, wrt=...)`` reads ``f``'s jaxpr into a :class:`Graph` of leaves (arguments, with
their params path and whether they require grad), operations (JAX primitives and the PyTorch
``grad_fn`` name) and outputs. ``graph.backward()`` is the graph of the backward pass;
``graph.render("net.svg")`` draws either with Graphviz; notebooks show them inline.

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> net = fg.models.MyNet(6, 4, 3, 2)
    >>> g = fg.graph.trace(net.apply, net.init(jax.random.PRNGKey(0)), jnp.ones((2, 3)))
    >>> [n.label for n in g.ops]
    ['reshape', 'm0: Linear', 'relu', 'm1: Linear', 'relu', 'm2: Linear']
"""

from funcgrad.graph._grad_fn import GRAD_FN_BY_FUNCTION, GRAD_FN_BY_PRIMITIVE, grad_fn_name
from funcgrad.graph._graph import Graph, Node
from funcgrad.graph._trace import trace

__all__ = [
    "GRAD_FN_BY_FUNCTION",
    "GRAD_FN_BY_PRIMITIVE",
    "Graph",
    "Node",
    "grad_fn_name",
    "trace",
]
