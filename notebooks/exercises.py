"""The notebooks' two helpers: ``check`` for a comparison, ``exercise`` for an exercise's check cell.

A lesson compares a funcgrad or JAX value with PyTorch's in one way, ``check(value, torch_value)``.
An exercise is a stub that raises ``NotImplementedError`` and a check function that takes the
learner's answer; ``exercise(number, check_fn, answer)`` runs it and prints "not attempted" for the
stub, "correct" for a right answer, and lets a wrong answer's ``AssertionError`` fail the cell.
``tests/test_notebooks.py`` runs every registered check against ``notebooks/solutions/NN.py``
(which must pass) and against its ``wrong_`` answers (which must fail). The lessons never import
the solutions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# number -> (check function, name of the answer it checks), filled by ``exercise`` as cells run.
CHECKS: dict[int, tuple[Callable[[Any], None], str]] = {}


def check(
    value: Any, torch_value: Any, rtol: float = 1e-6, atol: float = 0.0, err_msg: str = ""
) -> None:
    """Assert that a funcgrad/JAX value equals PyTorch's (or a closed form) to ``rtol``/``atol``.

    Torch tensors are detached and converted; anything array-like is compared with NumPy.
    """
    if hasattr(torch_value, "detach"):
        torch_value = torch_value.detach().cpu().numpy()
    np.testing.assert_allclose(
        np.asarray(value), np.asarray(torch_value), rtol=rtol, atol=atol, err_msg=err_msg
    )


def exercise(number: int, check_fn: Callable[[Any], None], answer: Any) -> None:
    """Run ``check_fn(answer)``: print "not attempted" for a stub, "correct" for a right answer.

    It returns nothing, so a check cell that ends with it shows only what it prints (a returned
    value would be echoed by Jupyter as the cell's result).
    """
    CHECKS[number] = (check_fn, answer.__name__)
    try:
        check_fn(answer)
    except NotImplementedError:
        print(f"exercise {number}: not attempted (write {answer.__name__}, then rerun this cell)")
        return
    print(f"exercise {number}: correct")
