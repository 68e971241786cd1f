"""The library is pure: it starts no process, and its functions read no environment while traced.

Two checks, each with a planted offender so that it can fail:

* the source of every module under ``funcgrad/`` is scanned with ``ast`` for anything that starts a
  process (``subprocess``, ``os.system``, ``os.popen``, ``os.exec*``, ``os.spawn*``, ``os.fork``,
  ``multiprocessing``, ``pty``, a process pool); the one exception is rendering a graph with
  Graphviz's ``dot`` (``funcgrad/graph/_dot.py``). The application layer (``funcgrad.train``,
  ``funcgrad.cli``) starts none today, so it gets no exception either;
* ``os.environ`` is swapped for a mapping that records every read made from funcgrad's code, and the
  ``init`` and ``apply`` (eval and train) of every layer in ``fg.nn.LAYERS``, every model in
  ``fg.models`` and every loss in ``fg.nn.LOSSES`` are traced with ``jax.make_jaxpr``: nothing may
  have been read.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest
from _layer_samples import NO_MODULE_DB, first_sample

import funcgrad as fg

PACKAGE = Path(fg.__file__).parent  # the copy under test, wherever it was imported from
ROOT = PACKAGE.parent
# Rendering a graph runs Graphviz's `dot`: the one process the library starts, and only when asked.
MAY_START_PROCESSES = {"funcgrad/graph/_dot.py"}

# -- no subprocesses ----------------------------------------------------------------------------

PROCESS_MODULES = ("subprocess", "multiprocessing", "pty", "concurrent.futures.process")
PROCESS_NAMES = {"ProcessPoolExecutor", "create_subprocess_exec", "create_subprocess_shell"}
OS_CALLS = ("system", "popen", "exec", "spawn", "fork", "posix_spawn", "startfile")


def _os_call(name: str) -> bool:
    return name in OS_CALLS or name.startswith(("exec", "spawn", "posix_spawn", "fork"))


def _process_starts(source: str, filename: str = "<planted>") -> list[str]:
    """Each place in ``source`` that can start a process, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        what = None
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
            what = next((n for n in names if n.startswith(PROCESS_MODULES)), None)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(PROCESS_MODULES):
                what = node.module
            elif node.module == "os":
                what = next((f"os.{a.name}" for a in node.names if _os_call(a.name)), None)
            else:
                what = next((a.name for a in node.names if a.name in PROCESS_NAMES), None)
        elif isinstance(node, ast.Attribute):
            base = ast.unparse(node.value)
            if base == "os" and _os_call(node.attr):
                what = f"os.{node.attr}"
            elif node.attr in PROCESS_NAMES:
                what = f"{base}.{node.attr}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("__import__", "import_module")
            and node.args
            and isinstance(arg := node.args[0], ast.Constant)
            and str(arg.value).startswith(PROCESS_MODULES)
        ):
            what = f"{node.func.id}({arg.value!r})"
        if what is not None:
            found.append(f"{node.lineno}: {what}")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess",
        "from subprocess import run",
        "import multiprocessing.pool",
        "import os\nos.system('ls')",
        "import os\nos.execvp('ls', ['ls'])",
        "from os import popen",
        "from concurrent.futures import ProcessPoolExecutor",
        "import asyncio\nasyncio.create_subprocess_exec('ls')",
        "__import__('subprocess')",
    ],
)
def test_the_scan_finds_a_planted_process_start(source):
    assert _process_starts(source) != []


def test_the_scan_lets_names_that_only_look_alike_pass():
    # orbax's keyword `multiprocessing_options`, os.environ, os.path: no process started
    source = "import os\nf(multiprocessing_options=1)\nos.environ.get('X')\nos.path.join('a')"
    assert _process_starts(source) == []


def test_no_library_module_starts_a_process():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in MAY_START_PROCESSES:
            continue
        if hits := _process_starts(path.read_text(), name):
            found[name] = hits
    assert found == {}, (
        f"modules that start a process (return the data, let the caller run it): {found}"
    )


def test_the_graph_renderer_is_the_exception_and_still_needs_to_be():
    # the exception is not stale: the file it names exists and still runs `dot`
    for name in MAY_START_PROCESSES:
        assert _process_starts((ROOT / name).read_text(), name) != [], name


# -- no environment reads while traced -----------------------------------------------------------


# os and _collections_abc are frozen modules: their frames are told apart by module name, not file
PASS_THROUGH = {__name__, "os", "_collections_abc", "collections.abc"}


class RecordingEnviron(MutableMapping[str, str]):
    """``os.environ`` that records each key read from funcgrad's own code (JAX's reads are its own)."""

    def __init__(self, real: MutableMapping[str, str]):
        self.real = real
        self.reads: list[str] = []

    def _note(self, key: object) -> None:
        frame = sys._getframe(1)
        # the reader is the first frame outside this mapping, Mapping's mixins and os.getenv
        while frame is not None and frame.f_globals.get("__name__") in PASS_THROUGH:
            frame = frame.f_back
        if frame is not None and Path(frame.f_code.co_filename).is_relative_to(PACKAGE):
            self.reads.append(f"{key} ({frame.f_code.co_filename}:{frame.f_lineno})")

    def __getitem__(self, key: str) -> str:
        self._note(key)
        return self.real[key]

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return key in self.real

    def __iter__(self) -> Iterator[str]:
        self._note("<all keys>")
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)

    def __setitem__(self, key: str, value: str) -> None:
        self._note(key)
        self.real[key] = value

    def __delitem__(self, key: str) -> None:
        self._note(key)
        del self.real[key]

    def copy(self) -> dict[str, str]:
        self._note("<copy>")
        return dict(self.real)


@pytest.fixture
def environ(monkeypatch):
    recorder = RecordingEnviron(os.environ)
    monkeypatch.setattr(os, "environ", recorder)  # os.getenv looks os.environ up on every call
    return recorder


KEY = jax.random.PRNGKey(0)


def _x(shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
    if jnp.issubdtype(dtype, jnp.integer):
        return jnp.arange(int(jnp.prod(jnp.array(shape)))).reshape(shape).astype(dtype) % 3
    return jax.random.uniform(KEY, shape, dtype, 0.1, 0.9)


# torch's name -> (constructor arguments, input shape, input dtype); small, as in the layer tests.
LAYER_EXAMPLES: dict[str, tuple[tuple[Any, ...], tuple[int, ...], Any]] = {
    "Linear": ((4, 3), (2, 4), jnp.float32),
    "Embedding": ((10, 3), (2, 5), jnp.int32),
    "Conv1d": ((2, 3, 3), (2, 2, 8), jnp.float32),
    "Conv2d": ((2, 3, 3), (2, 2, 8, 8), jnp.float32),
    "BatchNorm1d": ((3,), (4, 3), jnp.float32),
    "BatchNorm2d": ((3,), (4, 3, 5, 5), jnp.float32),
    "LayerNorm": (([5],), (2, 5), jnp.float32),
    "GroupNorm": ((2, 4), (2, 4, 3, 3), jnp.float32),
    "MaxPool2d": ((2,), (1, 2, 4, 4), jnp.float32),
    "AvgPool2d": ((2,), (1, 2, 4, 4), jnp.float32),
    "AdaptiveAvgPool2d": ((1,), (1, 2, 4, 4), jnp.float32),
    "Dropout": ((0.5,), (2, 5), jnp.float32),
    "Hardsigmoid": ((), (2, 5), jnp.float32),
    "RReLU": ((), (2, 5), jnp.float32),
    "Dropout2d": ((0.5,), (2, 3, 4, 4), jnp.float32),
    "ReLU": ((), (2, 5), jnp.float32),
    "Tanh": ((), (2, 5), jnp.float32),
    "Sigmoid": ((), (2, 5), jnp.float32),
    "GELU": ((), (2, 5), jnp.float32),
    "LeakyReLU": ((), (2, 5), jnp.float32),
    "ELU": ((), (2, 5), jnp.float32),
    "SiLU": ((), (2, 5), jnp.float32),
    "Softmax": ((1,), (2, 5), jnp.float32),
    "LogSoftmax": ((1,), (2, 5), jnp.float32),
    "Flatten": ((), (2, 3, 4), jnp.float32),
    "Identity": ((), (2, 5), jnp.float32),
    "Unfold": (((2, 3),), (2, 3, 5, 6), jnp.float32),
    "Fold": (((4, 5), (2, 3)), (2, 12, 9), jnp.float32),
    "Dropout1d": ((0.5,), (2, 3, 4), jnp.float32),
    "Dropout3d": ((0.5,), (2, 3, 2, 2, 2), jnp.float32),
    "AlphaDropout": ((0.5,), (2, 5), jnp.float32),
    "FeatureAlphaDropout": ((0.5,), (2, 3, 4), jnp.float32),
    "Upsample": ((None, 2.0, "bicubic"), (1, 2, 3, 3), jnp.float32),
    "UpsamplingNearest2d": ((None, 2.0), (1, 2, 3, 3), jnp.float32),
    "UpsamplingBilinear2d": ((None, 2.0), (1, 2, 3, 3), jnp.float32),
    "Unflatten": ((1, (2, 2)), (2, 4), jnp.float32),
    "PixelShuffle": ((2,), (1, 4, 2, 2), jnp.float32),
    "PixelUnshuffle": ((2,), (1, 1, 4, 4), jnp.float32),
    "ChannelShuffle": ((2,), (1, 4, 2, 2), jnp.float32),
}

MODEL_EXAMPLES: dict[str, tuple[tuple[Any, ...], tuple[int, ...]]] = {
    "CharLSTM": ((10,), (2, 5)),  # character codes (N, T)
    "GPT": ((10, 8), (2, 5)),
    "ConvNet": ((), (2, 1, 12, 12)),
    "LeNet5": ((), (2, 1, 28, 28)),
    "LinearRegression": ((), (4,)),
    "MyNet": ((600, 60, 40, 10), (3, 10, 20)),
    "SingleLayer": ((5, 3), (2, 5)),
}


TOKENS = {"CharLSTM", "GPT"}  # language models: integer inputs


def _models() -> list[str]:
    return sorted(n for n in fg.models.__all__ if isinstance(getattr(fg.models, n), type))


def test_every_layer_model_and_loss_has_an_example():
    # every entry is traced: from an example here, or from torch's samples
    # a layer with module_db samples is traced on its first one (see _layer)
    sampled = {n for n, e in fg.nn.LAYERS.items() if e.module_db} | set(NO_MODULE_DB)
    assert set(LAYER_EXAMPLES) | sampled == set(fg.nn.LAYERS)
    assert sorted(MODEL_EXAMPLES) == _models()
    assert sorted(LOSS_EXAMPLES) == sorted(fg.nn.LOSSES)


def _trace_module(module: fg.nn.Module, *inputs: Any) -> None:
    """Trace ``init`` and ``apply`` in eval and train mode, with buffers and a key (the contract)."""
    # shapes only: tracing needs no values, and running init op by op compiles each op
    params = jax.eval_shape(module.init, KEY)
    buffers = jax.eval_shape(module.init_buffers)
    jax.make_jaxpr(module.init)(KEY)
    for train in (False, True):

        def run(p, b, inputs, k, train=train):
            return module.apply(p, *inputs, buffers=b, train=train, key=k)

        jax.make_jaxpr(run)(params, buffers, inputs, KEY)


def _layer(name: str) -> tuple[fg.nn.Module, tuple[Any, ...]]:
    if name not in LAYER_EXAMPLES:  # a new layer: torch's first module_db sample (all inputs)
        args, kwargs, inputs = first_sample(name)
        return fg.nn.LAYERS[name].module(*args, **kwargs), jax.tree.map(jnp.asarray, inputs)
    args, shape, dtype = LAYER_EXAMPLES[name]
    return fg.nn.LAYERS[name].module(*args), (_x(shape, dtype),)


@pytest.mark.parametrize("name", sorted(fg.nn.LAYERS))
def test_tracing_a_layer_reads_no_environment(name, environ):
    module, inputs = _layer(name)
    _trace_module(module, *inputs)
    assert environ.reads == [], f"{name} read the environment while traced: {environ.reads}"


@pytest.mark.parametrize("name", sorted(MODEL_EXAMPLES))
def test_tracing_a_model_reads_no_environment(name, environ):
    args, shape = MODEL_EXAMPLES[name]
    x = jnp.ones(shape, jnp.int32) if name in TOKENS else _x(shape)
    _trace_module(getattr(fg.models, name)(*args), x)
    assert environ.reads == [], f"{name} read the environment while traced: {environ.reads}"


def _targets(kind: str) -> Callable[[], tuple[jax.Array, ...]]:
    """The loss's inputs: the differentiated one first, then the targets (and further inputs)."""
    logits = (4, 3)
    return {
        "regression": lambda: (_x(logits), _x(logits)),
        "probability": lambda: (_x(logits), _x(logits)),
        "class": lambda: (_x(logits), jnp.array([0, 2, 1, 2])),
        "pair": lambda: (_x(logits), _x(logits), jnp.ones(logits)),  # ranking; Gaussian's var
        "embedding": lambda: (_x(logits), _x(logits), jnp.ones(4)),
        "triplet": lambda: (_x(logits), _x(logits), _x(logits)),
        "linear": lambda: (_x(logits), _x((5, 3)), jnp.array([0, 2, 1, 4])),  # (x, W, classes)
        "multilabel": lambda: (_x(logits), jnp.array([[0, -1, 0]] * 4)),
        "sequence": lambda: (
            jax.nn.log_softmax(_x((5, 2, 3))),
            jnp.array([[1, 2], [2, 0]]),
            jnp.array([5, 4]),
            jnp.array([2, 1]),
        ),
    }[kind]


LOSS_EXAMPLES = {
    "L1Loss": "regression",
    "MSELoss": "regression",
    "HuberLoss": "regression",
    "SmoothL1Loss": "regression",
    "BCELoss": "probability",
    "BCEWithLogitsLoss": "probability",
    "NLLLoss": "class",
    "CrossEntropyLoss": "class",
    "KLDivLoss": "probability",
    "PoissonNLLLoss": "regression",
    "GaussianNLLLoss": "pair",
    "MarginRankingLoss": "pair",
    "HingeEmbeddingLoss": "regression",
    "SoftMarginLoss": "regression",
    "MultiLabelSoftMarginLoss": "probability",
    "MultiLabelMarginLoss": "multilabel",
    "MultiMarginLoss": "class",
    "CosineEmbeddingLoss": "embedding",
    "TripletMarginLoss": "triplet",
    "TripletMarginWithDistanceLoss": "triplet",
    "CTCLoss": "sequence",
    "LinearCrossEntropyLoss": "linear",
}


@pytest.mark.parametrize("name", sorted(fg.nn.LOSSES))
def test_tracing_a_loss_and_its_gradient_reads_no_environment(name, environ):
    loss = fg.nn.LOSSES[name].functional
    x, *targets = _targets(LOSS_EXAMPLES[name])()
    for reduction in ("mean", "sum"):
        jax.make_jaxpr(jax.grad(lambda x, *t, r=reduction: loss(x, *t, reduction=r)))(x, *targets)
    assert environ.reads == [], f"{name} read the environment while traced: {environ.reads}"


def test_the_recorder_catches_a_read_from_funcgrad_code_while_traced(environ):
    # A stand-in for the old F.conv2d: a function whose code lives in funcgrad/ reads XLA_FLAGS.
    planted = compile(
        "import os\ndef f(x):\n    os.environ.get('XLA_FLAGS', '')\n    return os.getenv('HOME') and x * 2\n",
        str(PACKAGE / "_planted.py"),
        "exec",
    )
    space: dict[str, Any] = {}
    exec(planted, space)
    jax.make_jaxpr(space["f"])(jnp.ones(3))
    assert [r.split(" ")[0] for r in environ.reads] == ["XLA_FLAGS", "HOME"]


def test_the_recorder_ignores_reads_from_outside_funcgrad(environ):
    os.environ.get("HOME")  # this test file is not funcgrad's code
    assert environ.reads == []
