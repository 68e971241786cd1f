"""Reference answers for the exercises of notebook 01 (its check cells import them)."""

import jax

from funcgrad.autodiff import grad_with_taps, tap


def grads_of_a_and_b(a, b, c):
    """d/da and d/db of (a * b).sum() + c.sum(); c is data, not differentiated."""
    return jax.grad(lambda a, b: (a * b).sum() + c.sum(), argnums=(0, 1))(a, b)


def mse(pred, target):
    """Mean over every entry: sum of squares divided by the number of entries."""
    return ((pred - target) ** 2).sum() / pred.size


def grad_of_hidden(x):
    """d loss / d h for h = 3x (tapped), loss = sum(h^2): what h.retain_grad() gives."""

    def loss(x):
        h = tap(3 * x, "h")
        return (h**2).sum()

    return grad_with_taps(loss)(x)[1]["h"]
