"""The layer table (``fg.nn.LAYERS``, ``fg.nn.LOSSES``) and everything derived from it.

* Every registered layer runs on torch's own ``module_db`` sample inputs (float64 and float32,
  outputs and the full VJP, eval mode and train mode, buffers compared): ``test_module_db_sample``.
* Its derivatives match finite differences on its first sample, in float64.
* Its functional form runs on ``op_db``'s samples (at most 40 a dtype): each op prints its counts
  of pass, fail, error (funcgrad raised where torch computed) and left out, with the reason
  (``pytest -s`` shows them); any fail or error fails the test.
"""

from __future__ import annotations

import functools
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import pytest
import torch
from _layer_samples import NO_MODULE_DB, Case, cases, check_case, first_sample, module_info
from _torch_samples import check_op_sample, every_kth, op_info, op_samples

import funcgrad as fg

TABLE = {**fg.nn.LAYERS, **fg.nn.LOSSES}
CASES = cases(TABLE)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_module_db_sample(dtype: type, case: Case) -> None:
    check_case(TABLE, case, dtype)


@pytest.mark.parametrize("case", [c for c in CASES if not c.train and c.index == 0], ids=str)
def test_module_db_sample_un_jitted(case: Case) -> None:
    """Each layer's first eval sample in float32, the dtype users run, un-jitted as well: the path
    of a user who calls ``apply`` without ``jax.jit``. Op by op it costs seconds a layer, so it is
    in ``make test-exhaustive``. In ``make test`` the family tests' parity checks run each layer
    and function they check un-jitted once per process (``tests/_parity.py``)."""
    check_case(TABLE, case, np.float32, eager=True)


FUNCTIONALS = [(entry, op) for entry in TABLE.values() for op in entry.op_db]


def _tiny_groups(s: Any) -> bool:
    """At most two values per normalised group: the gradient is zero in exact arithmetic, and
    torch's and funcgrad's answers are both rounding noise (about 1e-8 in float32)."""
    shape, first = tuple(s.input.shape), s.args[0]
    # group_norm(input, num_groups): C / G channels of one example; layer_norm(input, shape)
    size = int(np.prod(shape[1:])) // first if isinstance(first, int) else int(np.prod(first))
    return size <= 2


def _tiny_batch_groups(s: Any) -> bool:
    """batch_norm normalising with the batch's statistics, with at most two values a channel."""
    shape = tuple(s.input.shape)
    batch_stats = s.kwargs.get("training", False) or s.args[0] is None
    return batch_stats and len(shape) >= 2 and 0 < int(np.prod(shape)) // shape[1] <= 2


def _tiny_instances(s: Any) -> bool:
    """instance_norm normalising each instance with at most two values."""
    shape = tuple(s.input.shape)
    return s.kwargs.get("use_input_stats", True) and 0 < int(np.prod(shape[2:])) <= 2


def _one_entry_vectors(s: Any) -> bool:
    """A vector of one entry (or a broadcast repeat of one) along ``dim``: ``x / |x|`` is +-1 and
    the cosine does not depend on the length, so the gradient is zero in exact arithmetic, and
    torch's and funcgrad's answers are both rounding noise (about 1e-17 in float64)."""
    dim = s.kwargs.get("dim", 1)
    tensors = [s.input, *(a for a in s.args if isinstance(a, torch.Tensor))]
    return any(t.ndim == 0 or (-t.ndim <= dim < t.ndim and t.shape[dim] == 1) for t in tensors)


def _nan_input(s: Any) -> bool:
    """NaN in the input, where torch 2.13's CPU kernel gives one gradient in its vectorised loop
    (NaN or 0) and another in its scalar loop (the formula's: 1): which one depends on where the
    element falls in the tensor and on the machine's SIMD width. F.* follows the formula (the
    scalar loop); tests/test_activation_kinks.py checks it against torch element by element."""
    return bool(torch.isnan(s.input).any())


# op_db samples left out of the derived test, each with its reason. The defects among them are the
# next issues' work (the functional batch_norm's return value); the random and
# tuple-valued ones have tests of their own.
LEFT_OUT: dict[str, tuple[Callable[[Any], bool], str]] = {
    "nn.functional.fractional_max_pool2d": (
        lambda s: "_random_samples" not in s.kwargs,
        "random: test_pool_random.py runs these samples with torch's samples passed to both",
    ),
    "nn.functional.fractional_max_pool3d": (
        lambda s: "_random_samples" not in s.kwargs,
        "random: test_pool_random.py runs these samples with torch's samples passed to both",
    ),
    "nn.functional.dropout": (
        lambda s: s.kwargs.get("training", True) and s.kwargs.get("p", 0.5) > 0,
        "random in training: test_dropout.py checks it statistically",
    ),
    "nn.functional.dropout2d": (
        lambda s: s.kwargs.get("training", True) and s.kwargs.get("p", 0.5) > 0,
        "random in training: test_dropout.py checks it statistically",
    ),
    "nn.functional.dropout3d": (
        lambda s: s.kwargs.get("training", True) and 0 < s.kwargs.get("p", 0.5) < 1,
        "random in training: test_dropout.py checks it statistically",
    ),
    "nn.functional.alpha_dropout": (
        lambda s: s.kwargs.get("training", False) and 0 < s.kwargs.get("p", 0.5) < 1,
        "random in training: test_dropout.py checks it statistically",
    ),
    "nn.functional.feature_alpha_dropout/with_train": (
        lambda s: s.kwargs.get("training", False) and 0 < s.kwargs.get("p", 0.5) < 1,
        "random in training: test_dropout.py checks it statistically",
    ),
    "nn.functional.rrelu": (
        lambda s: bool(s.kwargs.get("training")),
        "random slopes in training: test_activations.py checks them statistically",
    ),
    "nn.functional.softsign": (
        lambda s: s.input.dtype == torch.float32 and bool((s.input.abs() > 100).all()),
        "float32 at |x| > 100: torch's gradient is two terms cancelling to 1/|x| of their size, "
        "rounding noise of 5e-5 relative; F.softsign's closed form 1/(1+|x|)^2 is the exact one",
    ),
    **{
        f"nn.functional.interpolate/{mode}": (
            lambda s: s.input.dtype == torch.float32 and max(s.input.shape[2:]) > 256,
            "float32 on images over 256 pixels a side: the source coordinates carry float32 "
            "rounding, and torch's float32 and funcgrad's are each ~5e-5 from float64, apart by "
            "~3e-5; test_resample.py checks funcgrad's is as close to float64 as torch's",
        )
        for mode in ("bilinear", "bicubic")
    },
    "nn.functional.elu": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.celu": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.selu": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.hardswish": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.hardtanh": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.relu6": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.hardshrink": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.softshrink": (_nan_input, str(_nan_input.__doc__)),
    "nn.functional.cosine_similarity": (_one_entry_vectors, str(_one_entry_vectors.__doc__)),
    "nn.functional.normalize": (_one_entry_vectors, str(_one_entry_vectors.__doc__)),
    "nn.functional.multi_head_attention_forward": (
        lambda s: s.kwargs.get("training", True) and s.args[9] > 0,
        "random in training (its one sample has dropout_p=0.5); test_attention.py runs it with "
        "training=False and checks attention dropout statistically",
    ),
    "nn.functional.triplet_margin_with_distance_loss": (
        lambda s: s.kwargs.get("distance_function") is not None,
        "distance_function is a torch module: tests/test_loss_op_db.py passes funcgrad's twin",
    ),
    "nn.functional.hinge_embedding_loss": (
        lambda s: True,
        "torch takes no derivative for its float target, which check_op_sample differentiates: "
        "tests/test_loss_op_db.py runs every sample",
    ),
    "nn.functional.soft_margin_loss": (
        lambda s: True,
        "torch takes no derivative for its float target, which check_op_sample differentiates: "
        "tests/test_loss_op_db.py runs every sample",
    ),
    "nn.functional.cosine_embedding_loss": (
        lambda s: True,
        "torch takes no derivative for its float target, which check_op_sample differentiates: "
        "tests/test_loss_op_db.py runs every sample",
    ),
    "nn.functional.ctc_loss": (
        lambda s: s.input.dtype == torch.float32,
        "torch's float32 gradient is ~2e-5 off its float64 one: tests/test_loss_op_db.py checks "
        "funcgrad's float32 against torch's float64",
    ),
}


# op_db's embedding samples pass the weight first (its OpInfo's op swaps them back for torch).
SWAPPED = {"nn.functional.embedding"}


# `make test` runs one sample per op, in float64 (its second where there are two; every layer runs
# in float32 on its module_db samples); `make test-exhaustive` runs float32's first and the rest of
# both dtypes (tests/conftest.py marks them).
PARTS = ("first", "rest")


def _part(samples: list[Any], dtype: type, part: str) -> list[Any]:
    chosen = min(1, len(samples) - 1) if dtype is np.float64 else 0
    if part == "first":
        return samples[chosen : chosen + 1]
    return [s for i, s in enumerate(samples) if i != chosen]


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize(
    ("entry", "op"), FUNCTIONALS, ids=lambda v: v if isinstance(v, str) else v.name
)
def test_op_db_samples(dtype: type, entry: Any, op: str, part: str) -> None:
    """The functional form on ``op_db``'s samples of the same torch function (up to 40)."""
    left_out, _ = LEFT_OUT.get(op, (lambda s: False, ""))
    if op.endswith("_norm") and op != "nn.functional.batch_norm":  # layer, group, RMS... norms
        left_out = _tiny_groups
    left_out = {  # the norms whose groups are not in their first argument
        "nn.functional.batch_norm": _tiny_batch_groups,
        "nn.functional.instance_norm": _tiny_instances,
        "nn.functional.local_response_norm": lambda s: False,  # a ratio, not a normalisation
    }.get(op, left_out)
    every = op_samples(op, dtype, limit=sys.maxsize)
    kept = [s for s in every if not left_out(s)]
    n_left_out = len(every) - len(kept)
    reason = " ".join((LEFT_OUT[op][1] if op in LEFT_OUT else left_out.__doc__ or "").split())
    samples = _part(every_kth(kept, 40), dtype, part)
    if not samples:
        pytest.skip(
            f"every op_db sample of {op} is left out: {reason}"
            if not kept
            else f"{op} has one sample in op_db"
        )
    fn = entry.functional
    if op in SWAPPED:
        fn = lambda weight, input, *args, **kwargs: entry.functional(input, weight, *args, **kwargs)  # noqa: E731
    counts: Counter[str] = Counter()
    problems: list[str] = []
    # Un-jitted once, on a fixed sample, where the layer has no module_db sample (those run
    # un-jitted in test_module_db_sample_un_jitted): op by op, a sample takes seconds.
    eager = not entry.module_db and dtype is np.float32 and part == "first"
    for n, sample in enumerate(samples):
        try:
            check_op_sample(op_info(op).op, fn, sample, dtype, eager=eager and n == 0)
            counts["pass"] += 1
        except AssertionError as e:
            counts["fail"] += 1
            problems.append(f"sample {n}: {e}")
        except Exception as e:  # noqa: BLE001  # funcgrad raised where torch computed
            counts["error"] += 1
            problems.append(f"sample {n}: {type(e).__name__}: {e}")
    print(
        f"\n{op} [{np.dtype(dtype).name}]: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['error']} error (of {len(samples)} run, every k-th of {len(kept)}), "
        f"{n_left_out} left out" + (f" ({reason})" if n_left_out else "")
    )
    assert not problems, "\n".join(problems[:10])


# Layers whose first module_db sample has no finite differences, and why.
NO_FINITE_DIFFERENCES = {
    "LPPool1d": "torch's first sample raises negative values to the power 1.5: the output is NaN "
    "(torch's too); test_pool.py checks LPPool's gradients on positive input",
}

# Train mode only where torch's modes differ: elsewhere it computes what eval mode does.
GRADCHECK = [
    Case(name, train, 0)
    for name, e in TABLE.items()
    if e.module_db and name not in NO_FINITE_DIFFERENCES
    for train in (False, True)
    if not train or module_info(name).train_and_eval_differ
]


@pytest.mark.parametrize("case", GRADCHECK, ids=str)
def test_finite_differences(x64: None, case: Case) -> None:
    """Forward- and reverse-mode derivatives against central differences on the first sample."""
    check_case(TABLE, case, np.float64, gradcheck=True)


# Layers without module_db samples that torch cannot build bare or run on an image batch:
# (constructor arguments, input shape) for the converter's check.
BUILT_WITH: dict[str, tuple[tuple[Any, ...], tuple[int, ...]]] = {
    "Dropout1d": ((), (2, 3, 4)),
    "Dropout3d": ((), (2, 3, 2, 2, 2)),
    "Upsample": ((None, 2.0), (2, 3, 4, 4)),
    "UpsamplingNearest2d": ((None, 2.0), (2, 3, 4, 4)),
    "UpsamplingBilinear2d": ((None, 2.0), (2, 3, 4, 4)),
    "Unflatten": ((1, (3, 1)), (2, 3, 4, 4)),
    "PixelShuffle": ((2,), (2, 8, 3, 3)),
    "PixelUnshuffle": ((2,), (2, 2, 4, 4)),
    "ChannelShuffle": ((2,), (2, 4, 3, 3)),
}

# Layers torch's test database has no samples for, and why.
NO_TORCH_SAMPLES = {
    "Identity": "it computes nothing: neither module_db nor op_db lists it",
    "Fold": "neither module_db nor op_db lists it: tests/test_conv.py checks it against torch",
    "Dropout1d": "neither module_db nor op_db lists it: test_dropout.py checks it against torch",
    "TransformerDecoder": "module_db has none (test_transformer.py compares it with torch)",
}

# torch.nn names fg.nn has that are containers or bases, not layers of the table.
NOT_LAYERS = {"Module", "Sequential"}


def test_every_torch_layer_in_fg_nn_is_registered() -> None:
    """A layer in ``fg.nn`` under a torch name is in the table (so every derived list has it)."""
    import torch

    layers = {n for n in fg.nn.__all__ if isinstance(getattr(torch.nn, n, None), type)}
    assert layers - NOT_LAYERS == set(fg.nn.LAYERS) | set(fg.nn.LOSSES)
    assert all(getattr(fg.nn, n) is e.module for n, e in fg.nn.LOSSES.items())
    functional = {e.functional.__name__ for e in fg.nn.LOSSES.values()}
    assert {n for n in fg.losses.__all__ if hasattr(torch.nn.functional, n)} == functional


def _unpool_example(n: int) -> tuple[Any, Any]:
    """A torch model that max-pools then unpools (``MaxUnpool`` takes the pool's indices)."""
    import torch

    class PoolUnpool(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = getattr(torch.nn, f"MaxPool{n}d")(2, return_indices=True)
            self.unpool = getattr(torch.nn, f"MaxUnpool{n}d")(2)

        def forward(self, x: Any) -> Any:
            values, indices = self.pool(x)
            return self.unpool(values, indices)

    return PoolUnpool(), torch.randn(2, 3, *(4,) * n)


# Layers without module_db samples that cannot run alone on one input: a torch model using them,
# and its input.
CONVERT_EXAMPLES: dict[str, Callable[[], tuple[Any, Any]]] = {
    f"MaxUnpool{n}d": functools.partial(_unpool_example, n) for n in (1, 2, 3)
}


def _calling(layer: Any, n: int) -> Any:
    """A torch module whose forward calls ``layer`` on its ``n`` inputs (a layer of several)."""
    import torch

    class Two(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = layer

        def forward(self, a: Any, b: Any) -> Any:
            return self.layer(a, b)

    class Three(Two):
        def forward(self, a: Any, b: Any, c: Any) -> Any:  # type: ignore[override]
            return self.layer(a, b, c)

    return {2: Two, 3: Three}[n]()


def _converted_source(name: str) -> str:
    """``fg.interop.convert``'s source for the torch layer alone, built from its first sample."""
    import torch

    if name in CONVERT_EXAMPLES:
        model, example = CONVERT_EXAMPLES[name]()
        return fg.interop.convert(model.eval(), example).source
    if fg.nn.LAYERS[name].module_db or name in NO_MODULE_DB:
        args, kwargs, inputs = first_sample(name)
        example = jax.tree.map(torch.from_numpy, inputs)
    else:  # Dropout, Dropout2d, Flatten, Identity: torch's defaults on an image batch
        args, shape = BUILT_WITH.get(name, ((), (2, 3, 4, 4)))
        kwargs, example = {}, (torch.randn(*shape),)
    layer = getattr(torch.nn, name)(*args, **kwargs)
    if len(example) == 1:
        return fg.interop.convert(torch.nn.Sequential(layer).eval(), example[0]).source
    return fg.interop.convert(_calling(layer, len(example)).eval(), tuple(example)).source


@pytest.mark.parametrize("name", list(TABLE))
def test_entry_is_complete(name: str) -> None:
    """Each registered layer has its module, its functional, its converter entry, its ``grad_fn``
    label, its NNX route and its torch sample inputs in the parity tests."""
    import torch

    entry = TABLE[name]
    assert isinstance(getattr(torch.nn, name), type), f"torch.nn has no {name}"
    if isinstance(entry, fg.nn.LayerEntry):
        assert getattr(fg.nn, name) is entry.module, f"fg.nn.{name} is not the registered module"
        assert entry.name == name
    if entry.functional is not None:
        fn = entry.functional.__name__
        namespace = fg.losses if isinstance(entry, fg.nn.LossEntry) else fg.nn.functional
        assert getattr(namespace, fn) is entry.functional, f"{fn} is not public"
        assert hasattr(torch.nn.functional, fn) or hasattr(torch, fn), f"torch has no {fn}"
        assert fg.graph.grad_fn_name(fn, []) == entry.grad_fn, f"grad_fn label of {fn}"
    if isinstance(entry, fg.nn.LayerEntry):
        assert fg.graph.grad_fn_name(name, []) == entry.grad_fn, f"grad_fn label of {name}"
        assert entry.nnx is None or entry.nnx in fg.interop.nnx_routes(), (
            f"no nnx route {entry.nnx}"
        )
        assert f"fg.nn.{name}(" in _converted_source(name), f"convert does not write {name}"
    assert entry.module_db or entry.op_db or name in NO_TORCH_SAMPLES, f"{name}: no torch samples"
    if entry.module_db:
        assert [c for c in CASES if c.name == name], (
            f"{name}: no module_db sample in the parity test"
        )
    for op in entry.op_db:
        assert (entry, op) in FUNCTIONALS and op_info(op) is not None


def test_the_docs_table_has_a_row_per_entry() -> None:
    """``docs/layers.md``'s table is generated from the registry by the mkdocs hook."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "docs" / "hooks" / "layer_table.py"
    spec = importlib.util.spec_from_file_location("layer_table", path)
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    page = hook.on_page_markdown(f"# Layers\n\n{hook.MARKER}\n")
    rows = [line for line in page.splitlines() if line.startswith("| [`nn.")]
    assert len(rows) == len(TABLE)
    for name in TABLE:
        assert f"torch.nn.{name}.html" in page, name
