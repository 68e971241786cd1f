"""The package layout: no import cycles, private JAX in one place, the core apart from the application.

The import graph is built from the source with ``ast``, so it sees every import, also those inside
functions (a lazy import hides a cycle from Python, not from the design). Only imports under
``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "funcgrad"
# The library core (issue 11): it never imports the application layer.
CORE_PACKAGES = (
    "nn",
    "models",
    "losses",
    "autodiff",
    "graph",
    "interop",
    "data",
    "distributed",
    "loop",
)
APPLICATION = ("funcgrad.train", "funcgrad.cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every Import/ImportFrom node, skipping the bodies of ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name: str) -> str | None:
    """The funcgrad module that importing ``name`` runs: itself, or the nearest enclosing module."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str) -> set[str]:
    """The funcgrad modules ``module`` imports (a package import counts as its ``__init__``)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # `from pkg import sub` imports the submodule pkg.sub when there is one, else pkg
            targets = [
                f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source
                for a in node.names
            ]
        found |= {m for t in targets if (m := _resolve(t)) is not None and m != module}
    return found


def _graph() -> dict[str, set[str]]:
    return {m: _imports(m) for m in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in sorted(graph):
        if start in state:
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph[nxt])))
    return None


def test_the_graph_builder_sees_every_import_form():
    graph = _graph()
    # absolute, `from funcgrad import sub`, relative and package imports all resolve
    assert "funcgrad.nn" in graph["funcgrad"] and "funcgrad.train._fit" in graph["funcgrad.train"]
    assert "funcgrad._cpu_kernels" in graph["funcgrad.train._fast"]
    assert "funcgrad._compat" in graph["funcgrad.train._fast"]
    assert graph["funcgrad.nn"] and all(m in MODULES for deps in graph.values() for m in deps)
    # and the cycle finder finds a planted cycle
    planted = graph | {"funcgrad._tree": graph["funcgrad._tree"] | {"funcgrad"}}
    cycle = _find_cycle(planted)
    assert cycle is not None and cycle[0] == cycle[-1] and "funcgrad._tree" in cycle


def test_no_import_cycles_in_the_package():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_private_jax_only_in_the_compatibility_module():
    offenders = []
    for name, path in MODULES.items():
        if name == "funcgrad._compat":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Attribute) and node.attr == "_src":
                names = ["jax._src"] if ast.unparse(node).startswith("jax.") else []
            if any(n == "jax._src" or n.startswith("jax._src.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        if "jax._src" in path.read_text() and not offenders:  # e.g. importlib on a string
            offenders.append(f"{path.relative_to(ROOT)} (text)")
    assert offenders == [], offenders


def _is_core(module: str) -> bool:
    rest = module.split(".")[1:]
    if not rest:
        return True  # funcgrad/__init__ loads `train` lazily, on first use of `fg.train`
    return rest[0] in CORE_PACKAGES or (len(rest) == 1 and rest[0].startswith("_"))


def test_the_core_never_imports_the_application():
    graph = _graph()
    core = [m for m in MODULES if _is_core(m)]
    assert "funcgrad.loop._step" in core and "funcgrad._cpu_kernels" in core and "funcgrad" in core
    assert not any(m.startswith(APPLICATION) for m in core)
    bad = {
        m: sorted(d for d in graph[m] if d.startswith(APPLICATION))
        for m in core
        if any(d.startswith(APPLICATION) for d in graph[m])
    }
    assert bad == {}, bad


# Run in a child: import jax (which may set env vars itself), snapshot, import funcgrad, compare;
# then spawn a grandchild that reports the XLA_FLAGS it inherited.
PROBE = r"""
import json, logging, os, subprocess, sys
import jax
from absl import logging as absl_logging

def snap():
    return {
        "environ": dict(os.environ),
        "root_level": logging.getLogger().level,
        "absl_level": absl_logging.get_verbosity(),
        "absl_logger_level": logging.getLogger("absl").level,
    }

before = snap()
import funcgrad
after = snap()
child = subprocess.run(
    [sys.executable, "-c", "import json, os; print(json.dumps(os.environ.get('XLA_FLAGS')))"],
    capture_output=True, text=True, check=True,
)
print(json.dumps({"before": before, "after": after, "grandchild": json.loads(child.stdout)}))
"""


def _env(xla_flags: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["PYTHONPATH"] = str(ROOT)
    env["JAX_PLATFORMS"] = "cpu"
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    return env


# A real XLA flag, so jaxlib accepts it, and one funcgrad itself never sets.
CUSTOM_FLAGS = "--xla_cpu_enable_fast_math=false"


def _run_python(code: str, xla_flags: str | None) -> subprocess.CompletedProcess:
    """``python -c code`` in a controlled environment; fails the test if it does not exit 0."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(xla_flags),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("xla_flags", [None, CUSTOM_FLAGS], ids=["unset", "custom"])
def test_import_funcgrad_changes_no_process_state(xla_flags):
    done = _run_python(PROBE, xla_flags)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = seen["before"], seen["after"]
    changed = {
        k: (before["environ"].get(k), after["environ"].get(k))
        for k in before["environ"].keys() | after["environ"].keys()
        if before["environ"].get(k) != after["environ"].get(k)
    }
    assert changed == {}
    assert after == before
    assert before["environ"].get("XLA_FLAGS") == xla_flags
    assert seen["grandchild"] == xla_flags


@pytest.mark.parametrize("xla_flags", [None, CUSTOM_FLAGS], ids=["unset", "custom"])
def test_the_issue_one_liner_prints_what_was_there_before(xla_flags):
    done = _run_python("import os, funcgrad; print(os.environ.get('XLA_FLAGS'))", xla_flags)
    assert done.stdout.strip().splitlines()[-1] == str(xla_flags)


LAZY_PROBE = """
import sys, {module}
print("LOADED", sorted(m for m in sys.modules if m.startswith(("funcgrad.train", "funcgrad.cli"))))
import funcgrad
print("FIT", funcgrad.train.fit.__module__, "train" in dir(funcgrad), "train" in funcgrad.__all__)
"""


@pytest.mark.parametrize("module", ["funcgrad", "funcgrad.nn"])
def test_importing_the_core_leaves_the_application_unloaded(module):
    done = _run_python(LAZY_PROBE.format(module=module), None)
    seen = dict(line.partition(" ")[::2] for line in done.stdout.splitlines())
    assert seen["LOADED"] == "[]"
    assert seen["FIT"] == "funcgrad.train._fit True True"  # fg.train still works, on first use


def test_an_unknown_attribute_of_funcgrad_is_an_attribute_error():
    import funcgrad

    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        funcgrad.trian  # noqa: B018
