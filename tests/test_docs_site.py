"""The docs site: a strict mkdocs build, and every public name documented, with Args and Returns.

``mkdocs build --strict`` turns every warning into a failure: a broken link, a cross-reference that
names nothing, a docstring mkdocstrings cannot render, a notebook mkdocs-jupyter cannot convert.
The guides' code runs in tests/test_docs_snippets.py (every ```python block of docs/*.md).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import funcgrad as fg

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# One API page per public subpackage (docs/api/<name>.md holds `::: funcgrad.<name>`).
PACKAGES = {
    "funcgrad": "funcgrad",
    "funcgrad.nn": "nn",
    "funcgrad.nn.functional": "nn.functional",
    "funcgrad.losses": "losses",
    "funcgrad.autodiff": "autodiff",
    "funcgrad.graph": "graph",
    "funcgrad.interop": "interop",
    "funcgrad.models": "models",
    "funcgrad.data": "data",
    "funcgrad.loop": "loop",
    "funcgrad.distributed": "distributed",
    "funcgrad.train": "train",
}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed (the dev extra)"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    problems = [line for line in log.splitlines() if re.match(r"(WARNING|ERROR)\b", line)]
    assert proc.returncode == 0 and not problems, "mkdocs build --strict failed:\n" + (
        "\n".join(problems) or log[-4000:]
    )
    return out


def test_every_public_subpackage_has_its_api_page() -> None:
    for package, page in PACKAGES.items():
        text = (DOCS / "api" / f"{page}.md").read_text()
        assert re.search(rf"^::: {re.escape(package)}$", text, re.MULTILINE), page


def test_api_pages_render_every_public_name(site: Path) -> None:
    for package, page in PACKAGES.items():
        html = (site / "api" / f"{page}.html").read_text()
        module = importlib.import_module(package)
        # The top-level page renders its functions; the subpackages have pages of their own.
        names = [n for n in module.__all__ if not isinstance(getattr(module, n), type(fg))]
        missing = [n for n in names if f'id="{package}.{n}"' not in html]
        assert not missing, f"api/{page}.md does not render {missing}"


def test_linear_page_shows_signature_docstring_and_example(site: Path) -> None:
    html = (site / "api" / "nn.html").read_text()
    start = html.index('id="funcgrad.nn.Linear"')
    section = html[start : html.index('id="funcgrad.nn.LogSoftmax"')]
    text = re.sub(r"<[^>]+>", "", section)
    assert "in_features: int" in text and "out_features: int" in text  # the signature
    assert "weight.T" in text  # the docstring
    assert "&gt;&gt;&gt;" in text and "Linear(5, 3)" in text  # the doctest, as code
    assert "<blockquote>" not in section  # not `>>>` read as Markdown quotes


def test_notebooks_render_with_their_outputs(site: Path) -> None:
    pages = sorted((site / "notebooks").glob("0*.html"))
    assert len(pages) == len(list((ROOT / "notebooks").glob("0*.ipynb"))) > 0
    for page in pages:
        html = page.read_text()
        assert "jp-OutputArea" in html, f"{page.name}: no outputs"
        # An empty src loads no MathJax and leaves the notes' formulas as raw TeX.
        assert re.search(r'<script src="https://[^"]*MathJax\.js', html), page.name
    figures = sum(p.read_text().count("data:image/png;base64") for p in pages)
    assert figures >= 3, "the trajectory figure, loss curves and graph drawings are missing"


def test_every_public_name_has_a_docstring() -> None:
    """Every name in each public ``__all__`` has a docstring, as the site's parser reads it."""
    griffe = pytest.importorskip("griffe")
    loaded = griffe.load("funcgrad", search_paths=[str(ROOT)], resolve_aliases=True)
    undocumented = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        static = loaded.modules_collection[package]
        for name in module.__all__:
            obj = static[name]
            obj = obj.final_target if obj.is_alias else obj
            if obj.docstring is None or not obj.docstring.value.strip():
                undocumented.append(f"{package}.{name}")
    assert not undocumented, f"public names without a docstring: {undocumented}"


_SECTION = re.compile(r"^(?P<indent> *)(?P<name>[A-Z][A-Za-z ]*?)(?: *\([^)]*\))?: *$")
_ENTRY = re.compile(r"^(?P<name>\*{0,2}\w+) *(?:\([^)]*\))? *:")


def _sections(doc: str | None) -> dict[str, list[str]]:
    """Google-style sections of a docstring: ``{"Args": [its lines, dedented], ...}``."""
    found: dict[str, list[str]] = {}
    current, indent = None, 0
    for line in inspect.cleandoc(doc or "").splitlines():
        heading = _SECTION.match(line)
        if heading and (current is None or len(heading["indent"]) <= indent):
            current, indent = heading["name"], len(heading["indent"])
            found.setdefault(current, [])
        elif current is not None:
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                current = None  # back to prose
            else:
                found[current].append(line[indent:])
    return found


def _entries(lines: list[str]) -> set[str]:
    """The names an Args/Attributes section documents (its least-indented ``name:`` lines)."""
    body = [line for line in lines if line.strip()]
    if not body:
        return set()
    base = min(len(line) - len(line.lstrip()) for line in body)
    matches = [_ENTRY.match(line[base:]) for line in body if not line[base].isspace()]
    return {m["name"].lstrip("*") for m in matches if m}


def _signatures(
    package: str, name: str, obj: object
) -> list[tuple[str, str | None, inspect.Signature, bool]]:
    """``(where, docstring, signature, returns?)`` for a public function or class.

    A class is checked through its constructor (``__init__`` or dataclass fields, documented in
    the class docstring, as the site merges them) and its own ``__call__``; exceptions are not.
    """
    where = f"{package}.{name}"
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return []
        found = [(where, obj.__doc__, inspect.signature(obj), False)]
        call = vars(obj).get("__call__")
        if call is not None:
            found.append((f"{where}.__call__", call.__doc__, inspect.signature(call), True))
        return found
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return [(where, obj.__doc__, inspect.signature(obj), True)]
    return []  # constants, type aliases, registries


def test_signatures_with_more_than_two_parameters_have_args_and_returns() -> None:
    """Each public callable with three or more parameters documents every one of them.

    ``Args:`` (``Attributes:`` for a class, which lists its fields) must name each parameter
    (``*args`` as ``args`` or ``*args``), and a function returning something other than ``None``
    needs ``Returns:`` (or ``Yields:``).
    """
    problems, seen = [], set()
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for where, doc, sig, returns in _signatures(package, name, obj):
                params = [p for p in sig.parameters if p not in ("self", "cls")]
                if len(params) <= 2:
                    continue
                sections = _sections(doc)
                documented = _entries(sections.get("Args", []) + sections.get("Attributes", []))
                missing = [p for p in params if p not in documented]
                if missing:
                    problems.append(f"{where}: Args lacks {missing}")
                no_value = sig.return_annotation in (None, "None", inspect.Signature.empty)
                if (
                    returns
                    and not no_value
                    and not (sections.get("Returns") or sections.get("Yields"))
                ):
                    problems.append(f"{where}: no Returns section")
    assert not problems, "docstrings missing Args/Returns:\n" + "\n".join(problems)


def test_the_section_parser_reads_google_style() -> None:
    doc = """Summary.

    Args:
        x: the input,
            continued.
        *rest (int): more.

    Returns:
        y.

    Example:
        >>> f(1)
    """
    sections = _sections(doc)
    assert _entries(sections["Args"]) == {"x", "rest"}
    assert sections["Returns"] == ["    y.", ""] and "Example" in sections
