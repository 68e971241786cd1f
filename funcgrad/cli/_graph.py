"""``funcgrad graph``: draw the computational graph of one of the notes' models.

The main ``funcgrad`` command calls :func:`configure_parser` to add the flags and :func:`run`
to execute them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.graph import Graph, trace
from funcgrad.graph._dot import GraphvizNotFoundError

__all__ = ["MODELS", "configure_parser", "model_graph", "run"]


def _mynet(expand: bool) -> Graph:
    import funcgrad as fg

    net = fg.models.MyNet(600, 60, 40, 10)

    def loss(params: Any, image: jax.Array, label: jax.Array) -> jax.Array:
        return fg.losses.cross_entropy(net.apply(params, image), label)

    params = jax.eval_shape(net.init, jax.random.PRNGKey(0))  # drawing needs shapes only
    return trace(loss, params, jnp.ones((3, 10, 20)), jnp.array(3), wrt="params", expand=expand)


def _convnet(expand: bool) -> Graph:
    import funcgrad as fg

    net = fg.models.ConvNet(num_classes=10, image_size=(28, 28))

    def loss(params: Any, image: jax.Array, label: jax.Array) -> jax.Array:
        return fg.losses.cross_entropy(net.apply(params, image), label)

    params = jax.eval_shape(net.init, jax.random.PRNGKey(0))  # drawing needs shapes only
    return trace(loss, params, jnp.ones((1, 28, 28)), jnp.array(3), wrt="params", expand=expand)


def _single_layer(expand: bool) -> Graph:
    import funcgrad as fg

    def single_layer(x: jax.Array, y: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
        z = x @ w + b
        return fg.losses.binary_cross_entropy_with_logits(z, y)

    kw, kb = jax.random.split(jax.random.PRNGKey(0))
    w, b = jax.random.normal(kw, (5, 3)), jax.random.normal(kb, (3,))
    return trace(single_layer, jnp.ones(5), jnp.ones(3), w, b, wrt=("w", "b"), expand=expand)


def _linear(expand: bool) -> Graph:
    import funcgrad as fg

    model = fg.models.LinearRegression()

    def loss(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        return fg.losses.mse_loss(model.apply(params, x), y)

    x = jnp.array([1.0, 2.0, 3.0, 4.0])
    return trace(loss, model.init(jax.random.PRNGKey(0)), x, 2 * x, wrt="params", expand=expand)


MODELS: dict[str, Callable[[bool], Graph]] = {
    "mynet": _mynet,
    "convnet": _convnet,
    "single-layer": _single_layer,
    "linear": _linear,
}


def model_graph(model: str, backward: bool = False, expand: bool = False) -> Graph:
    """The loss graph of one of the notes' models (``mynet``, ``convnet``, ``single-layer``,
    ``linear``), forward or backward.

    Example:
        >>> model_graph("single-layer").leaf_names
        ['x', 'y', 'w', 'b']
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    graph = MODELS[model](expand)
    return graph.backward() if backward else graph


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``funcgrad graph``'s flags to ``parser``."""
    parser.add_argument(
        "--model", choices=sorted(MODELS), default="mynet", help="which model's loss to draw"
    )
    parser.add_argument(
        "--out",
        default="graph.svg",
        help="output file: .svg, .png or .pdf (need Graphviz's dot), or .dot (text)",
    )
    parser.add_argument(
        "--backward", action="store_true", help="draw the backward pass (grad_fn chain)"
    )
    parser.add_argument(
        "--expand", action="store_true", help="show every JAX primitive inside layers and losses"
    )
    parser.add_argument("--table", action="store_true", help="also print the graph as a text table")


def run(args: argparse.Namespace) -> int:
    """Build and write the graph; returns the exit status (1 with a message on failure)."""
    forward = model_graph(args.model, expand=args.expand)
    graph = forward.backward() if args.backward else forward
    try:
        path = graph.render(args.out)
    except (GraphvizNotFoundError, ValueError) as err:
        print(f"funcgrad graph: {err}", file=sys.stderr)
        return 1
    if getattr(args, "table", False):
        print(graph.table())
    kind = "backward" if args.backward else "forward"
    print(
        f"wrote {path}: {kind} graph of {args.model} with {len(graph.ops)} operations, "
        f"leaves requiring grad: {', '.join(forward.requires_grad)}"
    )
    return 0
