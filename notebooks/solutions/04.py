"""Reference answers for the exercises of notebook 04, and a wrong answer for each (the tests run both)."""

import jax


def per_sample_grads(w, xs, ys):
    """One gradient row per sample of (w @ x - y)^2: jax.vmap of jax.grad."""
    return jax.vmap(jax.grad(lambda w, x, y: (w @ x - y) ** 2), in_axes=(None, 0, 0))(w, xs, ys)


def minibatch_sgd(w, xs, ys, lr, batch_size, epochs):
    """Minibatch SGD on the mean squared error of w @ x, batches in order (no shuffling)."""

    def loss(w, xb, yb):
        return ((xb @ w - yb) ** 2).mean()

    for _ in range(epochs):
        for start in range(0, len(xs), batch_size):
            xb, yb = xs[start : start + batch_size], ys[start : start + batch_size]
            w = w - lr * jax.grad(loss)(w, xb, yb)
    return w


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_per_sample_grads(w, xs, ys):
    """The mean gradient repeated on every row: what .grad holds, not one row per sample."""
    mean = jax.grad(lambda w: ((xs @ w - ys) ** 2).mean())(w)
    return jax.numpy.broadcast_to(mean, xs.shape)


def wrong_minibatch_sgd(w, xs, ys, lr, batch_size, epochs):
    """Sums the batch's losses instead of averaging them: a batch_size times larger step."""

    def loss(w, xb, yb):
        return ((xb @ w - yb) ** 2).sum()

    for _ in range(epochs):
        for start in range(0, len(xs), batch_size):
            xb, yb = xs[start : start + batch_size], ys[start : start + batch_size]
            w = w - lr * jax.grad(loss)(w, xb, yb)
    return w
