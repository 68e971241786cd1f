"""fg.graph: leaves, grad_fn names and the backward graph vs PyTorch's live grad_fn chain."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import pytest
import torch
from _autodiff_torch import t

import funcgrad as fg
from funcgrad.autodiff import tap
from funcgrad.graph import trace
from funcgrad.graph._grad_fn import VIEW_GRAD_FNS
from funcgrad.nn import call_child


def single_layer(x, y, w, b):
    z = x @ w + b
    return fg.losses.binary_cross_entropy_with_logits(z, y)


def _single_layer_args():
    kw, kb = jax.random.split(jax.random.PRNGKey(0))
    return jnp.ones(5), jnp.ones(3), jax.random.normal(kw, (5, 3)), jax.random.normal(kb, (3,))


def _torch_edges(loss, names):
    """(parent, child) grad_fn edges reachable from loss.grad_fn, with view nodes contracted and
    AccumulateGrad nodes named by their variable."""

    def name(fn):
        if type(fn).__name__ == "AccumulateGrad":
            return names[id(fn.variable)]
        return type(fn).__name__

    def children(fn):
        out = []
        for nxt, _ in fn.next_functions:
            if nxt is None:
                continue
            if type(nxt).__name__ in VIEW_GRAD_FNS:
                out += children(nxt)
            else:
                out.append(nxt)
        return out

    edges, todo, seen = set(), [loss.grad_fn], set()
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        for c in children(fn):
            edges.add((name(fn), name(c)))
            todo.append(c)
    return edges


def _our_edges(graph):
    """The same edges from our backward graph: node -> consumers is PyTorch's next_functions."""

    def name(n):
        return n.label[: -len(".grad")] if n.kind == "grad" else n.grad_fn

    def children(n):
        out = []
        for c in graph.consumers(n.id):
            out += children(c) if c.kind == "op" and c.grad_fn in VIEW_GRAD_FNS else [c]
        return out

    return {
        (name(n), name(c)) for n in graph.ops if n.grad_fn not in VIEW_GRAD_FNS for c in children(n)
    }


def test_single_layer_leaves_and_grad_fn_chain_match_torch():
    g = trace(single_layer, *_single_layer_args(), wrt=("w", "b"))
    assert g.leaf_names == ["x", "y", "w", "b"]
    assert g.requires_grad == ["w", "b"]

    x, y, w, b = (t(a) for a in _single_layer_args())
    w.requires_grad_(True)
    b.requires_grad_(True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y)
    expected = _torch_edges(loss, {id(w): "w", id(b): "b"})
    back = g.backward()
    assert _our_edges(back) == expected
    assert back.ops[0].label == type(loss.grad_fn).__name__
    assert [n.label for n in back.outputs] == ["w.grad", "b.grad"]
    # Each node lists the primitives its VJP runs; add's VJP just passes the gradient on.
    prims = {n.label: n.primitives for n in back.ops}
    assert "dot_general" in prims["MmBackward0"] and prims["AddBackward0"] == ()


def test_mynet_graph_names_taps_and_matches_torch_chain():
    net = fg.models.MyNet(12, 5, 4, 3)
    params = jax.jit(net.init)(jax.random.PRNGKey(0))

    def loss(params, image):
        return (net.apply(params, image) ** 2).sum()

    g = trace(loss, params, jnp.ones((3, 4)))
    assert g.leaf_names == [f"m{i}.{k}" for i in range(3) for k in ("bias", "weight")] + ["image"]
    ops = [(n.label, n.grad_fn, n.name) for n in g.ops]
    # Boxes are named "param path: class", from the named scopes call_child and apply enter.
    assert ops[0] == ("flatten: Flatten", "ViewBackward0", None)  # x.view(-1); no gradient
    assert ops[1:6] == [
        ("m0: Linear", "AddmmBackward0", "s1"),
        ("relu1: ReLU", "ReluBackward0", "z1"),
        ("m1: Linear", "AddmmBackward0", "s2"),
        ("relu2: ReLU", "ReluBackward0", "z2"),
        ("m2: Linear", "AddmmBackward0", "s3"),
    ]
    assert {c.split("|")[0] for n in g.ops[:6] for c in n.cluster} == {"MyNet"}
    # The same net in torch, with a 2-D input so nn.Linear reports AddmmBackward0 directly.
    lins = [torch.nn.Linear(12, 5), torch.nn.Linear(5, 4), torch.nn.Linear(4, 3)]
    names = {}
    for i, lin in enumerate(lins):
        names[id(lin.weight)], names[id(lin.bias)] = f"m{i}.weight", f"m{i}.bias"
    h = torch.ones(1, 12)
    h = torch.relu(lins[1](torch.relu(lins[0](h))))
    out = (lins[2](h) ** 2).sum()
    expected = _torch_edges(out, names)
    ours = _our_edges(g.backward())
    # torch spells (.)**2 then sum as PowBackward0 -> SumBackward0, as our graph does.
    assert ours == expected


def test_wrt_selection_and_errors():
    args = _single_layer_args()
    assert trace(single_layer, *args, wrt=None).requires_grad == []
    assert trace(single_layer, *args, wrt=(2, "b")).requires_grad == ["w", "b"]
    params = {"m0": {"weight": jnp.ones((2, 2))}, "m1": {"weight": jnp.ones((2, 2))}}
    g = trace(
        lambda p, x: (p["m1"]["weight"] @ (p["m0"]["weight"] @ x)).sum(),
        params,
        jnp.ones(2),
        wrt="m1.*",
        names=("params", "x"),
    )
    assert g.requires_grad == ["m1.weight"]
    # Ops that depend only on frozen leaves have no gradient, as in PyTorch.
    assert [n.requires_grad for n in g.ops] == [False, True, True]
    with pytest.raises(ValueError, match="selects nothing"):
        trace(single_layer, *args, wrt="q")
    with pytest.raises(ValueError, match="no argument requires grad"):
        trace(single_layer, *args, wrt=None).backward()


def test_collapse_and_expand():
    def block(x):
        with jax.named_scope("block"):  # your own scope: one box
            return jnp.tanh(x) * 2.0

    def f(x):
        h = tap(block(x), "h")
        return (fg.nn.ReLU().apply({}, h) ** 2).sum()

    collapsed = trace(f, jnp.ones(3))
    assert [(n.label, n.grad_fn) for n in collapsed.ops] == [
        ("block", None),  # two arithmetic primitives: no single torch grad_fn
        ("ReLU", "ReluBackward0"),
        ("integer_pow", "PowBackward0"),  # outside any scope: one node per primitive
        ("reduce_sum", "SumBackward0"),
    ]
    assert collapsed.ops[0].name == "h"
    expanded = trace(f, jnp.ones(3), expand=True)
    labels = [n.label for n in expanded.ops]
    assert labels[:2] == ["tanh", "mul"] and labels[-2:] == ["integer_pow", "reduce_sum"]
    assert expanded.ops[0].cluster[0].startswith("block|")
    assert any(c.startswith("ReLU|") for n in expanded.ops for c in n.cluster)
    assert "subgraph" in expanded.to_dot() and "subgraph" not in collapsed.to_dot()
    # The backward graph of an expanded graph is the collapsed one's.
    assert [n.label for n in expanded.backward().ops] == [n.label for n in collapsed.backward().ops]


@dataclass(frozen=True)
class _Block(fg.nn.Module):
    """A user's own module holding a Sequential, called through call_child."""

    def init(self, key):
        return {"body": self.body.init(key)}

    @property
    def body(self):
        return fg.nn.Sequential({"fc": fg.nn.Linear(3, 4), "act": fg.nn.Tanh()})

    def stateless(self, params, x):
        y, _ = call_child("body", self.body, params, x, buffers={}, train=False, key=None)
        return y


def test_user_module_boxes_are_named_by_param_paths():
    net = _Block()
    params = net.init(jax.random.PRNGKey(0))
    g = trace(lambda p, x: net.apply(p, x).sum(), params, jnp.ones((2, 3)))
    assert g.leaf_names == ["body.fc.bias", "body.fc.weight", "x"]
    assert [(n.label, n.grad_fn) for n in g.ops] == [
        ("body.fc: Linear", "AddmmBackward0"),
        ("body.act: Tanh", "TanhBackward0"),
        ("reduce_sum", "SumBackward0"),
    ]
    assert [c.split("|")[0] for c in g.ops[0].cluster] == ["_Block", "body: Sequential"]
    back = g.backward()
    assert [n.label for n in back.ops] == ["SumBackward0", "TanhBackward0", "AddmmBackward0"]
    assert "dot_general" in back.ops[-1].primitives
    assert [n.label for n in back.outputs] == ["body.fc.bias.grad", "body.fc.weight.grad"]


def test_graph_is_plain_data():
    g = trace(single_layer, *_single_layer_args(), wrt=("w", "b"))
    fields = [getattr(g, f.name) for f in dataclasses.fields(g)]
    fields += [getattr(g.traced, f.name) for f in dataclasses.fields(g.traced)]
    assert not any(callable(v) for v in fields)
    assert fg.graph.backward(single_layer, *_single_layer_args(), wrt=("w", "b")) == g.backward()


def test_table_and_dot_text():
    g = trace(single_layer, *_single_layer_args(), wrt=("w", "b"))
    table = g.table()
    assert "w (requires grad)" in table and "BinaryCrossEntropyWithLogitsBackward0" in table
    dot = g.backward().to_dot()
    assert dot.startswith("digraph backward {") and "AccumulateGrad" in dot
    assert g.backward().leaves == []
