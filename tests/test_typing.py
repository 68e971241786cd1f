"""A user's type-checked code calls the contract's ``apply`` with every keyword, and mypy agrees.

mypy runs on two small user files that import funcgrad (this checkout's, through ``MYPYPATH``), with
the project's own mypy settings and cache, so a run after ``python -m mypy`` is warm.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
    from typing import Any

    import jax
    import jax.numpy as jnp

    import funcgrad as fg
    from funcgrad.nn import Buffers, Params

    layer = fg.nn.Linear(3, 2)
    p = layer.init(jax.random.PRNGKey(0))
    x, k = jnp.ones(3), jax.random.PRNGKey(1)
    y = layer.apply(p, x)
    y = layer.apply(p, x, train=True)
    y, b = layer.apply(p, x, buffers=layer.init_buffers(), train=True, key=k)
    bn = fg.nn.BatchNorm1d(3, 1e-5, 0.1, True, True, bias=True, axis_name="batch")


    class Mine(fg.nn.Module):
        def init(self, key: jax.Array) -> Params:
            return {}

        def apply(
            self,
            params: Params,
            x: Any,
            buffers: Buffers | None = None,
            train: bool = False,
            key: jax.Array | None = None,
        ) -> Any:
            return x if buffers is None else (x, buffers)


    class Plain(fg.nn.Module):
        def init(self, key: jax.Array) -> Params:
            return {}

        def stateless(self, params: Params, x: jax.Array) -> jax.Array:
            return 2 * x


    z = Mine().apply({}, x, train=True)
    z = Plain().apply({}, x, buffers={}, train=False, key=None)
"""

BAD = """
    import jax
    import jax.numpy as jnp

    import funcgrad as fg

    layer = fg.nn.Linear(3, 2)
    p = layer.init(jax.random.PRNGKey(0))
    y = layer.apply(p, jnp.ones(3), train="yes")
"""


def test_apply_keywords_type_check_and_a_real_error_does_not(tmp_path, monkeypatch):
    good, bad = tmp_path / "good_user.py", tmp_path / "bad_user.py"
    good.write_text(textwrap.dedent(GOOD))
    bad.write_text(textwrap.dedent(BAD))
    monkeypatch.setenv("MYPYPATH", str(ROOT))  # this checkout's funcgrad, not an installed one
    stdout, stderr, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            "--hide-error-context",
            str(good),
            str(bad),
        ]
    )
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert not [e for e in errors if "good_user.py" in e], stdout + stderr
    (only,) = errors  # the one real mistake, and nothing from funcgrad itself
    line = textwrap.dedent(BAD).splitlines().index('y = layer.apply(p, jnp.ones(3), train="yes")')
    assert f"bad_user.py:{line + 1}:" in only and 'No overload variant of "apply"' in only, stdout
    assert status == 1
