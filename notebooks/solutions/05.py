"""Reference answers for the exercises of notebook 05, and a wrong answer for each (the tests run both)."""

import jax


def vjp_of(f, x, v):
    """v^T df/dx: what y = f(x); y.backward(v) leaves in x.grad."""
    return jax.vjp(f, x)[1](v)[0]


def grad_with_constant_target(w, x):
    """d/dw of sum((w * x - t)^2) with the target t = 2 * w * x held constant (torch's no_grad)."""

    def loss(w):
        target = jax.lax.stop_gradient(2 * w * x)
        return ((w * x - target) ** 2).sum()

    return jax.grad(loss)(w)


def sgd_update(w, grad, lr):
    """The functional update: a new array, so nothing is modified in place."""
    return w - lr * grad


def diverging_learning_rate(x):
    """The notes' sum-gradient step multiplies w - 2 by 1 - 2 lr sum(x^2): it diverges past 1/sum(x^2)."""
    return 1.0 / float((x**2).sum())


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_vjp_of(f, x, v):
    """Ignores v: the gradient of sum(f(x)), i.e. backward() with v = ones."""
    return jax.grad(lambda x: f(x).sum())(x)


def wrong_grad_with_constant_target(w, x):
    """Differentiates through the target too: no stop_gradient."""
    return jax.grad(lambda w: ((w * x - 2 * w * x) ** 2).sum())(w)


def wrong_sgd_update(w, grad, lr):
    """Forgets the learning rate."""
    return w - grad


def wrong_diverging_learning_rate(x):
    """The MSE's threshold, 1/mean(x^2): N times too large for the notes' summed gradient."""
    return 1.0 / float((x**2).mean())
