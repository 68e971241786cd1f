"""Reference answers for the exercises of notebook 02, and a wrong answer for each (the tests run both)."""

import jax

import funcgrad as fg


def sgd_step(params, grads, lr):
    """One plain SGD step on every leaf: what torch.optim.SGD(lr=lr).step() does."""
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)


def pair_by_name(torch_module, params):
    """(name, torch tensor, funcgrad array) for each parameter, matched by name, not by position."""
    flat = fg.flatten_dict(params)
    return [(name, t, flat[name]) for name, t in torch_module.named_parameters()]


def head_only_grads(loss, params, x, y):
    """Gradients of loss(params, x, y) for params["2"] only: the rest is held constant."""

    def of_head(head):
        return loss({**params, "2": head}, x, y)

    return jax.grad(of_head)(params["2"])


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_sgd_step(params, grads, lr):
    """Steps uphill."""
    return jax.tree.map(lambda p, g: p + lr * g, params, grads)


def wrong_pair_by_name(torch_module, params):
    """Pairs by position: JAX's sorted leaves (bias first) against torch's order (weight first)."""
    leaves = jax.tree.leaves(params)
    return [
        (name, t, leaf)
        for (name, t), leaf in zip(torch_module.named_parameters(), leaves, strict=True)
    ]


def wrong_head_only_grads(loss, params, x, y):
    """The gradient of the frozen first layer instead of the head."""
    return jax.grad(loss)(params, x, y)["0"]
