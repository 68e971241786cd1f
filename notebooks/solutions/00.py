"""Reference answers for the exercises of notebook 00, and a wrong answer for each.

The notebook never imports this file: ``tests/test_notebooks.py`` runs every check cell's function
against each answer here (it must pass) and against its ``wrong_`` twin (it must fail).
"""

import numpy as np


def relu_rule(x, out, g):
    """ReLU's VJP: the cotangent passes where the input was positive; 0 at 0, as in PyTorch."""
    return g * (x > 0)


def log_rule(x, out, g):
    """log's VJP: d log(x) / dx = 1 / x."""
    return g / x


def predicted_grad_after_two_backwards():
    """Leaves accumulate: two backward calls add [6, 6, 6] twice."""
    return [12.0, 12.0, 12.0]


def wrong_relu_rule(x, out, g):
    """Wrong at 0 only: x >= 0 lets the cotangent through where PyTorch's rule gives 0."""
    return g * (x >= 0)


def wrong_log_rule(x, out, g):
    """The derivative of x log x minus x, not of log x."""
    return g * np.log(x)


def wrong_predicted_grad_after_two_backwards():
    """Forgets that .grad accumulates."""
    return [6.0, 6.0, 6.0]
