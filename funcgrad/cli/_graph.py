"""``funcgrad graph``: draw the computational graph of one of the notes' models.

The main ``funcgrad`` command calls :func:`configure_parser` to add the flags and :func:`run`
to execute them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.graph import Graph, trace
from funcgrad.graph._dot import GraphvizNotFoundError

__all__ = ["configure_parser", "model_graph", "run"]


_EXAMPLES = 3  # a small batch: the drawing is the same for any batch size


def model_graph(model: str, backward: bool = False, expand: bool = False) -> Graph:
    """The loss graph of a built-in training model (one of ``funcgrad.train.MODELS``) on a batch
    of three examples, forward or backward.

    The model comes from the training registry, sized for the data it trains on by default
    (``synthetic-linear`` for ``linear``, else the digits), so the drawing shows the network that
    ``funcgrad train --model`` trains; the leaves requiring grad are its params.

    Example:
        >>> model_graph("single-layer").requires_grad
        ['b', 'w']
    """
    from funcgrad.data import load_dataset
    from funcgrad.train import MODELS, build_model
    from funcgrad.train._setup import loss_for

    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    from funcgrad.train._setup import default_dataset

    net, ds = build_model(model, load_dataset(default_dataset(model)))
    loss_fn, buffers = loss_for(ds), net.init_buffers()

    def loss(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        return loss_fn(net.apply(params, x, buffers=buffers)[0], y)

    params = jax.eval_shape(net.init, jax.random.key(0))  # drawing needs shapes only
    x, y = jnp.asarray(ds.x_train[:_EXAMPLES]), jnp.asarray(ds.y_train[:_EXAMPLES])
    graph = trace(loss, params, x, y, wrt="params", expand=expand)
    return graph.backward() if backward else graph


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``funcgrad graph``'s flags to ``parser``."""
    from funcgrad.train import MODELS

    parser.add_argument(
        "--model",
        choices=MODELS,
        default="mynet",
        help=f"which model's loss to draw, as funcgrad train builds it ({', '.join(MODELS)})",
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
