"""Every ```python block of the docs and the README runs as written (```py marks PyTorch code).

A page's blocks run in order in one namespace (a later block uses what an earlier one defined), in
a temporary working directory, so files a snippet writes land nowhere in the repository. A block
opts out with a marker comment as its first line, and the marker must give a reason:

- ``# not run: <reason>`` skips the block (for what needs a GPU, a cluster or a long run);
- ``# raises: <ErrorName>`` runs it and requires that it raise an exception of that class name.

Speed: every page runs in one child interpreter, which imports jax and torch once and compiles with
XLA's backend optimisation level 0. The blocks are small, so nearly all their time is compiling
(hundreds of eager ops, each its own XLA program); level 0 compiles them about a third faster and
changes no result the blocks check. The child is set up as tests/conftest.py sets up the suite
(fast CPU kernels, strict rank promotion, one OpenMP thread).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<code>.*?)^(?P=indent)```", re.S | re.M)
NOT_RUN = re.compile(r"^# not run:(?P<reason>.*)$")
RAISES = re.compile(r"^# raises:\s*(?P<name>\w+)\s*$")


def snippets(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` for each ```python block of a Markdown text, dedented."""
    found = []
    for m in FENCE.finditer(text):
        indent = len(m.group("indent"))
        code = "".join(line[indent:] for line in m.group("code").splitlines(keepends=True))
        found.append((text.count("\n", 0, m.start()) + 2, code))
    return found


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUNNABLE = [p for p in PAGES if snippets(p.read_text(encoding="utf-8"))]

# Pages whose fix belongs to another owner; strict, so the fix must remove the entry.
AWAITING_FIX: dict[str, str] = {}


def _skip_reason(page: Path) -> str | None:
    blocks = snippets(page.read_text(encoding="utf-8"))
    if shutil.which("dot") is None and any(".render(" in code for _, code in blocks):
        return "Graphviz's `dot` is not installed (make graphviz)"
    return None


def run_page(page: Path) -> str | None:
    """Run a page's blocks in order in one namespace; ``None``, or what went wrong and where."""
    namespace: dict = {"__name__": "__docs__"}
    for line, code in snippets(page.read_text(encoding="utf-8")):
        where = f"{_name(page)}:{line}"
        first = code.lstrip().splitlines()[0] if code.strip() else ""
        skip, raises = NOT_RUN.match(first), RAISES.match(first)
        if skip:
            if len(skip.group("reason").split()) < 2:
                return f"{where}: '# not run:' needs a reason"
            continue
        try:
            exec(compile(code, where, "exec"), namespace)
        except Exception as err:
            if raises and type(err).__name__ == raises.group("name"):
                continue
            return f"{where}: {type(err).__name__}: {err}\n" + traceback.format_exc()[-3000:]
        if raises:
            return f"{where}: expected {raises.group('name')}, nothing was raised"
    return None


def _child(out: str, pages: list[str]) -> None:
    """The child interpreter: run each page in a fresh temporary folder, write the results."""
    import jax

    import funcgrad.train

    funcgrad.train.enable_fast_cpu_kernels()
    jax.config.update("jax_numpy_rank_promotion", "raise")
    results = {}
    for name in pages:
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)  # files a snippet writes land nowhere in the repository
            results[name] = run_page(ROOT / name)
            os.chdir(ROOT)
    Path(out).write_text(json.dumps(results))


@pytest.fixture(scope="module")
def page_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Every runnable page's result, from one child interpreter (its output if it died)."""
    out = tmp_path_factory.mktemp("snippets") / "results.json"
    pages = [_name(p) for p in RUNNABLE if _skip_reason(p) is None]
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0".strip()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XLA_FLAGS": flags}
    env.pop("JAX_ENABLE_X64", None)
    proc = subprocess.run(
        [sys.executable, __file__, str(out), *pages],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not out.exists():
        pytest.fail(f"the snippet runner died (rc {proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(out.read_text())


def _param(page: Path):
    reason = AWAITING_FIX.get(_name(page))
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(page, marks=marks, id=_name(page))


def test_snippets_finds_blocks_and_their_lines():
    text = (
        "intro\n```python\nx = 1\n```\n\n  ```python\n  y = x + 1\n  ```\n```py\nopt.step()\n```\n"
    )
    assert snippets(text) == [(3, "x = 1\n"), (7, "y = x + 1\n")]


def test_the_autodiff_page_is_collected():
    assert ROOT / "docs" / "autodiff.md" in RUNNABLE
    assert len(snippets((ROOT / "docs" / "autodiff.md").read_text(encoding="utf-8"))) >= 5


def test_run_page_reports_the_failing_block(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nx = 1\n```\n\n```python\n# raises: ZeroDivisionError\nx / 0\n```\n"
        "\n```python\ny = x + z\n```\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "_name", lambda p: p.name)
    problem = run_page(page)
    assert problem is not None and problem.startswith("page.md:11: NameError"), problem


@pytest.mark.parametrize("page", [_param(p) for p in RUNNABLE])
def test_page_snippets_run(page, page_results):
    reason = _skip_reason(page)
    if reason:
        pytest.skip(reason)
    problem = page_results[_name(page)]
    assert problem is None, problem


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2:])
