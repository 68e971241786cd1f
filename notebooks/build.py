"""Build the side-by-side notebooks from their paired sources and execute them.

Each notebook has one source of truth: ``NN_name.py`` in jupytext's "percent" format (``# %%``
starts a code cell, ``# %% [markdown]`` a markdown cell whose lines start with ``# ``). This script
reads a source with jupytext, runs it top to bottom in a fresh kernel of the current interpreter,
and writes ``NN_name.ipynb`` with its outputs, so it reads well on GitHub.

    python notebooks/build.py                      # rebuild and execute every notebook
    python notebooks/build.py 03                   # just one (its number, name or file name)
    python notebooks/build.py --check              # fail if an .ipynb's cells differ from its source

``tests/test_notebooks.py`` imports the helpers below: it checks that every committed ``.ipynb``
holds exactly its source's cells, executes each source afresh (a failing assertion fails the test),
and compares the fresh outputs with the committed ones.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
KERNEL_ENV = {
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "OMP_NUM_THREADS": "1",  # PyTorch's spinning OpenMP threads otherwise slow JAX down
    "JAX_PLATFORMS": "cpu",  # same numbers on every machine, and no accelerator probing
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}


def sources() -> list[Path]:
    """The notebook sources, in reading order."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


def read_percent(path: Path) -> nbformat.NotebookNode:
    """Read a percent-format ``.py`` source into an unexecuted notebook, with jupytext.

    jupytext's own bookkeeping (blank lines between cells, format and filter settings) is dropped
    and every cell gets an id from its position, so rebuilding a notebook gives small diffs. The
    one cell setting kept is ``jupyter.source_hidden``: a collapsed proof cell.
    """
    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata = nbformat.NotebookNode({"kernelspec": dict(KERNELSPEC)})
    for i, cell in enumerate(nb.cells):
        # One setting survives: a proof cell, `# %% jupyter={"source_hidden": true}` in the source,
        # shows collapsed where the renderer supports it, so the lesson reads first.
        hidden = cell.metadata.get("jupyter", {}).get("source_hidden", False)
        cell.metadata = nbformat.NotebookNode(
            {"jupyter": {"source_hidden": True}} if hidden else {}
        )
        cell.id = f"cell-{i:03d}"
    return nb


def cell_sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(cell_type, source)`` for every cell: what must agree between source and notebook."""
    return [(c.cell_type, c.source) for c in nb.cells]


def kernel_env() -> dict[str, str]:
    """The kernel's environment: this one, plus settings that keep runs fast and repeatable."""
    return {**os.environ, **KERNEL_ENV}


def execute(nb: nbformat.NotebookNode, timeout: int = 120) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh kernel; raise ``CellExecutionError`` on any failure."""
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",  # jupyter_client starts it with sys.executable: this venv
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,
        extra_arguments=["--InteractiveShell.colors=nocolor"],  # plain tracebacks in test failures
    )
    client.execute(env=kernel_env())
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.outputs = _coalesce_streams(cell.outputs)
        cell.execution_count = i + 1  # stable numbering, so rebuilding gives small diffs
        for out in cell.get("outputs", []):
            if "execution_count" in out:
                out["execution_count"] = i + 1
    return nb


def _coalesce_streams(outputs: list) -> list:
    """Join consecutive prints to one stream: how a print is split into messages is timing."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and out.output_type == "stream"
            and last.output_type == "stream"
            and out.name == last.name
        ):
            last.text += out.text
        else:
            merged.append(out)
    return merged


# --- comparing a fresh run's outputs with the committed ones --------------------------------------

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_IMAGES = ("image/png", "image/svg+xml")


def _texts(cell: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(kind, text)`` per output; images count by kind only (their bytes vary by library)."""
    found = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            if out.name == "stdout":
                found.append(("stdout", out.text))
        elif out.output_type in ("display_data", "execute_result"):
            image = next((m for m in _IMAGES if m in out.data), None)
            found.append(("image", "") if image else ("text", out.data.get("text/plain", "")))
        elif out.output_type == "error":
            found.append(("error", out.ename))
    return found


def _close(a: str, b: str, rtol: float) -> bool:
    x, y = float(a), float(b)
    return math.isclose(x, y, rel_tol=rtol, abs_tol=1e-6) or (math.isnan(x) and math.isnan(y))


def same_text(committed: str, fresh: str, rtol: float = 1e-3) -> bool:
    """Equal up to memory addresses, and up to ``rtol`` on every number."""
    a, b = _ADDRESS.sub("0x?", committed), _ADDRESS.sub("0x?", fresh)
    if _NUMBER.split(a) != _NUMBER.split(b):
        return False
    na, nb_ = _NUMBER.findall(a), _NUMBER.findall(b)
    return len(na) == len(nb_) and all(_close(x, y, rtol) for x, y in zip(na, nb_, strict=True))


# A cell whose printed numbers depend on the CPU (float32 training, whose sums XLA vectorises
# differently per instruction set) says how far they may move: ``# outputs to rtol=0.01``.
_RTOL = re.compile(r"#\s*outputs to rtol=([0-9.eE+-]+)")


# A cell whose printed text depends on the CPU beyond numbers (text sampled from a float32 model:
# one rounding flips a draw, and every later character with it) says so: ``# outputs vary``. Its
# outputs are compared by kind only, as figures are.
_VARY = re.compile(r"#\s*outputs vary\b")


def _first_difference(committed: str, fresh: str, rtol: float = 1e-3) -> tuple[str, str]:
    pairs = zip(committed.splitlines(), fresh.splitlines(), strict=False)
    return next(
        ((a, b) for a, b in pairs if not same_text(a, b, rtol)), (committed[:80], fresh[:80])
    )


def output_differences(committed: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[str]:
    """Where a fresh run's outputs differ from the committed notebook's (empty when they agree)."""
    problems = []
    code = [
        (c, f) for c, f in zip(committed.cells, fresh.cells, strict=True) if c.cell_type == "code"
    ]
    for i, (c, f) in enumerate(code, start=1):
        tc, tf = _texts(c), _texts(f)
        marked = _RTOL.search(c.source)
        rtol = float(marked.group(1)) if marked else 1e-3
        if [k for k, _ in tc] != [k for k, _ in tf]:
            problems.append(f"code cell {i}: output kinds {[k for k, _ in tf]} != committed")
        elif not _VARY.search(c.source):
            for (_, a), (_, b) in zip(tc, tf, strict=True):
                if not same_text(a, b, rtol):
                    old, new = _first_difference(a, b, rtol)
                    problems.append(f"code cell {i}: committed {old!r}, fresh run {new!r}")
                    break
    return problems


def build(source: Path) -> Path:
    """Execute ``source`` and write its notebook next to it; return the notebook's path."""
    target = source.with_suffix(".ipynb")
    start = time.perf_counter()
    nb = execute(read_percent(source))
    target.write_text(jupytext.writes(nb, fmt="ipynb"), encoding="utf-8")
    print(f"{target.name}: {time.perf_counter() - start:.1f} s")
    return target


def check(source: Path) -> list[str]:
    """Problems with the committed notebook of ``source``: missing, or cells that differ."""
    target = source.with_suffix(".ipynb")
    if not target.exists():
        return [f"{target.name} is missing"]
    if cell_sources(nbformat.read(target, as_version=4)) != cell_sources(read_percent(source)):
        return [f"{target.name}'s cells differ from {source.name}"]
    return []


def _matches(source: Path, name: str) -> bool:
    """``05``, ``05_chain_rule_and_autograd`` and ``notebooks/05_...ipynb`` all name one notebook."""
    stem = Path(name).stem
    return source.stem == stem or source.stem.startswith(stem + "_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to build (default: all)")
    parser.add_argument("--check", action="store_true", help="only compare cells, run nothing")
    args = parser.parse_args(argv)
    chosen = sources()
    if args.names:
        picked = {n: [s for s in chosen if _matches(s, n)] for n in args.names}
        unknown = sorted(n for n, found in picked.items() if not found)
        if unknown:
            parser.error(f"unknown notebook(s) {unknown}; pick from {[s.stem for s in chosen]}")
        chosen = [s for s in chosen if any(s in found for found in picked.values())]
    if args.check:
        problems = [p for s in chosen for p in check(s)]
        for p in problems:
            print(p)
        if problems:
            print("rebuild with: python notebooks/build.py")
        return 1 if problems else 0
    for s in chosen:
        build(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
