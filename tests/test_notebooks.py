"""The side-by-side notebooks: present, in sync with their sources, executed, and covering every concept.

Each notebook is built from a percent-format source ``notebooks/NN_name.py`` by ``notebooks/build.py``.
The tests check that the committed ``.ipynb`` holds exactly the source's cells, run every source top to
bottom in a fresh kernel (each PyTorch-against-funcgrad comparison in it is an assertion, so a
disagreement fails here), and compare the fresh outputs with the committed ones. After changing a
notebook or the library, refresh the outputs with ``.venv/bin/python notebooks/build.py``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
REBUILD = "rebuild with: .venv/bin/python notebooks/build.py {name}"


def _load_build():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build()

NAMES = [
    "00_autograd_from_scratch",
    "01_computational_graph",
    "02_modules_vs_pure_functions",
    "03_single_layer_autograd",
    "04_gradient_descent_and_backprop",
    "05_chain_rule_and_autograd",
    "06_your_own_model",
    "07_what_grad_and_jit_really_do",
    "08_from_the_notes_to_a_gpt",
]

# One required section heading per concept of the lecture notes (DESIGN.md section 2).
REQUIRED_HEADINGS = {
    "autograd from scratch: a value that records its VJP rule, a topological sort": (
        "00_autograd_from_scratch",
        "The engine: a value that remembers how it was made",
    ),
    "what grad_fn is, and what JAX does instead": (
        "00_autograd_from_scratch",
        "What `grad_fn` is, and what JAX does instead",
    ),
    "computational graph: inputs, operations, outputs": (
        "01_computational_graph",
        "A computational graph: inputs, operations, outputs",
    ),
    "is_leaf, requires_grad, grad, grad_fn": (
        "01_computational_graph",
        "Leaves, `requires_grad`, `grad` and `grad_fn`",
    ),
    "retain_grad on non-leaf tensors": (
        "01_computational_graph",
        "`retain_grad()` on a non-leaf against taps",
    ),
    "chain rule by composing VJPs": (
        "05_chain_rule_and_autograd",
        "Chain rule: composing VJPs by hand",
    ),
    "nn.Module with __init__ and forward; loss; optimizer": (
        "02_modules_vs_pure_functions",
        "A loss and an optimizer: `zero_grad`, `backward`, `step` against `grad`, `update`, "
        "`apply_updates`",
    ),
    "the two-convolution model": (
        "02_modules_vs_pure_functions",
        "`nn.Module` with `__init__` and `forward`: the two-convolution model",
    ),
    "single layer z = x @ w + b with BCE and backward": (
        "03_single_layer_autograd",
        "The funcgrad version: `jax.grad` over (w, b)",
    ),
    "no_grad, detach, requires_grad_(False)": (
        "05_chain_rule_and_autograd",
        "Stop tracking: `requires_grad_`, `detach`, `no_grad` against `stop_gradient`",
    ),
    "parametrised models: linear model, nearest neighbour": (
        "04_gradient_descent_and_backprop",
        "Parametrised models G(x, w)",
    ),
    "per-sample loss against average loss": (
        "04_gradient_descent_and_backprop",
        "Per-sample loss and average loss",
    ),
    "full-batch GD, SGD, minibatch SGD": (
        "04_gradient_descent_and_backprop",
        "Full-batch GD, SGD and minibatch SGD",
    ),
    "backprop through a nonlinearity and a weighted sum": (
        "04_gradient_descent_and_backprop",
        "Backprop through a nonlinearity and through a weighted sum",
    ),
    "mynet(d0, 60, 40, 10) on a 3x10x20 image": (
        "04_gradient_descent_and_backprop",
        "`mynet(d0, 60, 40, 10)` on a 3x10x20 image",
    ),
    "two Jacobians per module; multistage backprop": (
        "04_gradient_descent_and_backprop",
        "The multistage backward pass by hand",
    ),
    "y.backward(v) for a non-scalar output": (
        "05_chain_rule_and_autograd",
        "`backward(v)` on a non-scalar output is a vector-Jacobian product",
    ),
    "gradient accumulation and zero_()": (
        "05_chain_rule_and_autograd",
        "Gradients accumulate in `.grad`; pure functions return them",
    ),
    "manual GD vs autograd, f = 2x": (
        "05_chain_rule_and_autograd",
        "Linear regression f = 2x: by hand, with autograd, with optax",
    ),
    "lax.scan as the functional time loop": (
        "08_from_the_notes_to_a_gpt",
        "The time loop is a `lax.scan`: an LSTM by hand",
    ),
    "attention: three projections, two matmuls and a softmax": (
        "08_from_the_notes_to_a_gpt",
        "Attention: three projections, then two matrix products and a softmax",
    ),
    "the causal mask as data": ("08_from_the_notes_to_a_gpt", "The causal mask is data"),
    "dropout keys per layer": ("08_from_the_notes_to_a_gpt", "Dropout keys per layer"),
    "a small GPT against torch, trained on characters, sampled": (
        "08_from_the_notes_to_a_gpt",
        "Training a character model",
    ),
}

# Pictures that must be visible in the committed notebooks: (notebook, text in the cell, mime kinds).
REQUIRED_FIGURES = [
    ("02_modules_vs_pure_functions", "dataflow_diagram", ("image/png",)),
    ("04_gradient_descent_and_backprop", "trajectories", ("image/png",)),
    ("04_gradient_descent_and_backprop", "loss curves at an equal sample budget", ("image/png",)),
    ("04_gradient_descent_and_backprop", "MyNet", ("image/svg+xml", "image/png")),
    ("05_chain_rule_and_autograd", "loss curves", ("image/png",)),
]


def _source(name: str) -> Path:
    return NOTEBOOKS / f"{name}.py"


def _committed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _headings(nb: nbformat.NotebookNode) -> set[str]:
    return {
        m.group(1).strip()
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for m in re.finditer(r"^#{1,6}\s+(.+)$", cell.source, flags=re.MULTILINE)
    }


def test_every_notebook_has_a_source_and_a_committed_notebook():
    assert [s.stem for s in build.sources()] == NAMES
    for name in NAMES:
        assert (NOTEBOOKS / f"{name}.ipynb").exists(), REBUILD.format(name=name)


@pytest.mark.parametrize("name", NAMES)
def test_committed_cells_match_the_source(name):
    assert build.check(_source(name)) == [], REBUILD.format(name=name)


@pytest.mark.parametrize("concept", sorted(REQUIRED_HEADINGS))
def test_concept_has_a_section(concept):
    name, heading = REQUIRED_HEADINGS[concept]
    assert heading in _headings(build.read_percent(_source(name))), (
        f"{name} has no section {heading!r} for the concept {concept!r}"
    )


@pytest.mark.parametrize(("name", "marker", "kinds"), REQUIRED_FIGURES)
def test_figure_is_in_the_committed_outputs(name, marker, kinds):
    cells = [c for c in _committed(name).cells if c.cell_type == "code" and marker in c.source]
    assert cells, f"{name}: no code cell mentions {marker!r}"
    shown = {m for c in cells for out in c.get("outputs", []) for m in out.get("data", {})}
    assert shown & set(kinds), f"{name}: the {marker!r} cell shows no {kinds} output"


def test_06_shows_the_code_convert_generates():
    cells = [
        c
        for c in _committed("06_your_own_model").cells
        if c.cell_type == "code" and "fg.interop.convert(" in c.source
    ]
    assert cells, "06_your_own_model: no cell calls fg.interop.convert"
    printed = "".join(out.get("text", "") for c in cells for out in c.get("outputs", []))
    assert "class LeNet(" in printed and "def forward(self, params, x" in printed


def test_08_prints_a_sample_of_its_trained_gpt():
    cells = [
        c
        for c in _committed("08_from_the_notes_to_a_gpt").cells
        if c.cell_type == "code" and "fg.models.sample(" in c.source
    ]
    assert cells, "08_from_the_notes_to_a_gpt: no cell calls fg.models.sample"
    printed = "".join(out.get("text", "") for c in cells for out in c.get("outputs", []))
    assert printed.startswith("Ada and") and len(printed) > 100, printed


def _markdown(name: str) -> str:
    return "\n".join(
        c.source for c in build.read_percent(_source(name)).cells if c.cell_type == "markdown"
    )


@pytest.mark.parametrize("name", NAMES)
def test_notebook_has_pitfalls_exercises_links_and_topics(name):
    nb = build.read_percent(_source(name))
    text = _markdown(name)
    assert "**Pitfalls**" in text, f"{name} has no Pitfalls box"
    checks = [
        c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# Check exercise")
    ]
    assert 2 <= len(checks) <= 4, f"{name}: {len(checks)} exercise check cells, want 2 to 4"
    asserts = re.compile(r"\bassert\b|\bcheck\(")  # `check` (notebooks/exercises.py) asserts
    assert all(asserts.search(c.source) for c in checks), f"{name}: a check cell asserts nothing"
    assert (NOTEBOOKS / "solutions" / f"{name[:2]}.py").exists(), f"{name}: no solutions file"
    assert "**Docs this lesson relies on:**" in text and "https://docs.jax.dev" in text
    assert "https://pytorch.org/docs" in text, f"{name} links no PyTorch docs"
    sections = [
        h
        for h in re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
        if not h.startswith(("What changed", "Exercises"))
    ]
    topics = text.count("*Lecture-note topic:")
    assert topics >= len(sections), f"{name}: {topics} topic lines for {len(sections)} sections"


def test_index_lists_every_notebook():
    index = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"{name}.ipynb" in index, f"notebooks/README.md does not link {name}.ipynb"


def test_same_text_tolerates_addresses_and_rounding_only():
    assert build.same_text("<Add at 0x7f00> [6. 6.]", "<Add at 0x1234> [6.000001 6.]")
    assert not build.same_text("w = 0.300", "w = 1.200")
    assert not build.same_text("loss 30.0", "gain 30.0")


def test_a_cell_marked_with_an_rtol_tolerates_that_much():
    def notebook(source: str, printed: str) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
        return nbformat.v4.new_notebook(cells=[cell])

    plain, marked = "print(acc)", "# outputs to rtol=0.01\nprint(acc)"
    assert build.output_differences(notebook(plain, "0.928"), notebook(plain, "0.930"))
    assert not build.output_differences(notebook(marked, "0.928"), notebook(marked, "0.930"))
    assert build.output_differences(notebook(marked, "0.928"), notebook(marked, "0.950"))


def test_a_cell_marked_as_varying_is_compared_by_output_kind_only():
    def notebook(source: str, printed: str | None) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        if printed is not None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
        return nbformat.v4.new_notebook(cells=[cell])

    plain, marked = "print(sample)", "# outputs vary: sampled text\nprint(sample)"
    assert build.output_differences(notebook(plain, "Ada and the"), notebook(plain, "Ada and thy"))
    assert not build.output_differences(
        notebook(marked, "Ada and the"), notebook(marked, "Ada and thy")
    )
    assert build.output_differences(notebook(marked, "Ada and the"), notebook(marked, None))


def _check_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# Check exercise")
    ]


@pytest.mark.parametrize("name", NAMES)
def test_exercises_are_stubs_whose_checks_say_not_attempted(name):
    code = [c.source for c in build.read_percent(_source(name)).cells if c.cell_type == "code"]
    assert not any("solutions" in src for src in code), f"{name}: a lesson imports the solutions"
    checks = _check_cells(_committed(name))
    stubs = [src for src in code if 'raise NotImplementedError("exercise' in src]
    assert len(stubs) == len(checks), f"{name}: {len(stubs)} stubs for {len(checks)} check cells"
    for i, cell in enumerate(checks, start=1):
        assert f"exercise({i}, check_exercise_{i}, " in cell.source, f"{name}: check cell {i}"
        kinds = [out.output_type for out in cell.get("outputs", [])]
        assert kinds == ["stream"], f"{name}: check cell {i} shows {kinds}, want its print only"
        printed = "".join(out.get("text", "") for out in cell.get("outputs", []))
        assert f"exercise {i}: not attempted" in printed and "correct" not in printed, printed


# Run after a notebook's own cells: every check against the reference answer (it must pass) and
# against the wrong answer next to it in the solutions file (it must fail with an AssertionError).
SOLUTIONS_CELL = """
import importlib as _importlib

import exercises as _exercises

_solutions = _importlib.import_module("solutions.{number}")
_checked = []
for _n, (_check, _answer) in sorted(_exercises.CHECKS.items()):
    _check(getattr(_solutions, _answer))
    try:
        _check(getattr(_solutions, "wrong_" + _answer))
    except AssertionError:
        _checked.append(_n)
    else:
        raise AssertionError(f"exercise {{_n}}: the wrong answer passes its check")
print("solutions pass, wrong answers fail:", _checked)
"""


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_and_matches_its_committed_outputs(name):
    nb = build.read_percent(_source(name))
    if "funcgrad.graph" in "".join(c.source for c in nb.cells) and shutil.which("dot") is None:
        pytest.skip("Graphviz's `dot` is not installed (make graphviz)")
    cells = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell(SOLUTIONS_CELL.format(number=name[:2])))
    fresh = build.execute(nb, timeout=60)  # a failing cell (an assertion) raises here
    printed = "".join(out.get("text", "") for out in fresh.cells[-1].outputs)
    numbers = list(range(1, len(_check_cells(fresh)) + 1))
    assert f"solutions pass, wrong answers fail: {numbers}" in printed, printed
    fresh.cells = fresh.cells[:cells]
    problems = build.output_differences(_committed(name), fresh)
    assert problems == [], "; ".join(problems) + ". " + REBUILD.format(name=name)
