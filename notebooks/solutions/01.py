"""Reference answers for the exercises of notebook 01, and a wrong answer for each (the tests run both)."""

import jax

from funcgrad.autodiff import grad_with_taps, tap


def grads_of_a_and_b(a, b, c):
    """d/da and d/db of (a * b).sum() + c.sum(); c is data, not differentiated."""
    return jax.grad(lambda a, b: (a * b).sum() + c.sum(), argnums=(0, 1))(a, b)


def mse_over_entries(pred, target):
    """Mean over every entry: sum of squares divided by the number of entries."""
    return ((pred - target) ** 2).sum() / pred.size


def grad_of_hidden(x):
    """d loss / d h for h = 3x (tapped), loss = sum(h^2): what h.retain_grad() gives."""

    def loss(x):
        h = tap(3 * x, "h")
        return (h**2).sum()

    return grad_with_taps(loss)(x)[1]["h"]


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_grads_of_a_and_b(a, b, c):
    """Swapped: d/da of a * b is b, not a."""
    return a, b


def wrong_mse_over_entries(pred, target):
    """Divides by the number of samples (64), not of entries (128)."""
    return ((pred - target) ** 2).sum() / pred.shape[0]


def wrong_grad_of_hidden(x):
    """The gradient with respect to x (18x), not the hidden h (6x)."""
    return jax.grad(lambda x: ((3 * x) ** 2).sum())(x)
