"""``funcgrad convert models.py:Net --input-shape 1,1,28,28``: a torch model as funcgrad source.

Prints the generated source (or writes ``--out``, never over an existing file); ``--check`` runs
torch and the converted model on the same random input (token ids in ``[0, N)`` with
``--tokens N``), in eval mode, and prints ``max diff:`` of the outputs (every floating output, of
any pytree shape) and the gradients (w.r.t. the parameters and a float input). Failures are one line,
``error: ...``, and no file is written.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import warnings
from typing import Any

from funcgrad.cli._errors import CommandError

__all__ = ["configure_parser", "run"]


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``funcgrad convert``'s flags to ``parser``."""
    parser.add_argument(
        "model", metavar="FILE.py:CLASS", help="the torch model: a Python file and a class in it"
    )
    parser.add_argument(
        "--input-shape",
        required=True,
        help="the example input's shape, comma-separated (1,1,28,28); the input is random normal",
    )
    parser.add_argument(
        "--args",
        default=None,
        help="the class's constructor arguments as JSON: a list (positional) or an object "
        "(keywords), e.g. '[600, 60, 40, 10]' or '{\"num_classes\": 10}'",
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=None,
        metavar="N",
        help="the input is token ids, random integers in [0, N) (a language model's vocabulary "
        "size), instead of random normal floats",
    )
    parser.add_argument(
        "--out", help="write the source to this new file instead of printing it (never overwrites)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="run torch and the converted model on random input and print the largest difference "
        "of outputs and gradients",
    )


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(s < 0 for s in shape):
        raise CommandError(f"--input-shape {text!r} is not a shape; write sizes like 1,1,28,28")
    return shape


def _load(spec: str, args_json: str | None) -> Any:
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise CommandError(f"{spec!r} names no class; write path/to/models.py:ClassName")
    if not os.path.isfile(path):
        raise CommandError(f"{path} is not a file; give the path of the Python file with {name}")
    module_name = "funcgrad_convert_" + os.path.splitext(os.path.basename(path))[0]
    spec_ = importlib.util.spec_from_file_location(module_name, path)
    if spec_ is None or spec_.loader is None:
        raise CommandError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec_)
    sys.modules[module_name] = module  # dataclasses and pickling in the user's file look here
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # its sibling imports
    try:
        spec_.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    cls = getattr(module, name, None)
    if cls is None:
        raise CommandError(f"{path} defines no {name}")
    try:
        given = json.loads(args_json) if args_json else []
    except json.JSONDecodeError as e:
        raise CommandError(f"--args is not JSON ({e})") from None
    if isinstance(given, dict):
        return cls(**given)
    if isinstance(given, list):
        return cls(*given)
    raise CommandError("--args must be a JSON list or object")


def _check(torch_model: Any, conv: Any, x: Any) -> tuple[float, float]:
    """Largest |torch - funcgrad| of the eval outputs, and of the gradients (params, and the
    input where it is a float), over every floating output of any pytree shape (HF's
    ``ModelOutput`` is a dict of its fields)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch

    import funcgrad as fg
    from funcgrad.interop._verify import leaves

    for m in torch_model.modules():  # eval mode without .eval(): a model may define its own train()
        m.training = False
    xt = x.clone().requires_grad_(True) if x.is_floating_point() else x
    outs_t = dict(leaves(torch_model(xt)))
    outs_t = {
        k: t for k, t in outs_t.items() if isinstance(t, torch.Tensor) and t.is_floating_point()
    }
    g = torch.Generator().manual_seed(1)
    vs = {k: torch.randn(t.shape, generator=g, dtype=t.dtype) for k, t in outs_t.items()}
    sum((t * vs[k]).sum() for k, t in outs_t.items()).backward()
    grads_t = {k: p.grad for k, p in torch_model.named_parameters() if p.grad is not None}

    def f(params: Any, x: Any) -> Any:
        y = conv.model.apply(params, x, buffers=conv.buffers, train=False)[0]
        return {k: v for k, v in leaves(y) if k in outs_t}

    out, pull = jax.vjp(f, conv.params, jnp.asarray(x.numpy()))
    g_params, g_x = pull({k: jnp.asarray(v.numpy()) for k, v in vs.items()})
    flat = fg.flatten_dict(g_params)
    diffs = (
        [float(np.abs(np.asarray(g_x) - xt.grad.numpy()).max(initial=0.0))]
        if xt.grad is not None
        else []
    )
    diffs += [
        float(np.abs(np.asarray(flat[k]) - g.numpy()).max(initial=0.0)) for k, g in grads_t.items()
    ]
    output = max(
        float(np.abs(np.asarray(out[k]) - t.detach().numpy()).max(initial=0.0))
        for k, t in outs_t.items()
    )
    return output, max(diffs, default=0.0)


def run(args: argparse.Namespace) -> int:
    """Convert, then print or write the source; returns the exit status (1 with one line on failure)."""
    try:
        return _run(args)
    except Exception as e:
        if args.debug:
            raise
        from funcgrad.interop import ConversionError

        text = " ".join(str(e).split())
        if not isinstance(e, (CommandError, ConversionError)):
            text = f"{type(e).__name__}: {text} (run again with --debug for the traceback)"
        print(f"error: {text}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    shape = _shape(args.input_shape)
    if args.out and os.path.exists(args.out):
        raise CommandError(f"{args.out} exists; choose a new --out (convert never overwrites)")
    import torch

    import funcgrad as fg

    torch_model = _load(args.model, args.args)
    if not isinstance(torch_model, torch.nn.Module):
        raise CommandError(f"{args.model} is a {type(torch_model).__name__}, not a torch.nn.Module")
    generator = torch.Generator().manual_seed(0)
    if args.tokens is not None:
        if args.tokens < 1:
            raise CommandError(f"--tokens {args.tokens} is no vocabulary; give its size, e.g. 50")
        x = torch.randint(0, args.tokens, shape, generator=generator)
    else:
        x = torch.randn(shape, generator=generator)
    with warnings.catch_warnings():
        # torch.export's own notes about its internals (unflatten, pytree specs) are not the user's.
        warnings.filterwarnings("ignore", "Attempted to insert a get_attr Node", UserWarning)
        warnings.filterwarnings("ignore", r".*isinstance\(treespec, LeafSpec\)", FutureWarning)
        conv = fg.interop.convert(torch_model, x)
    report = None
    if args.check:
        output, grads = _check(torch_model, conv, x)
        report = f"max diff: {max(output, grads):.3g} (outputs {output:.3g}, gradients {grads:.3g})"
    if args.out:
        with open(args.out, "x", encoding="utf-8") as f:  # "x": fails rather than overwrite
            f.write(conv.source)
        print(f"wrote {args.out}: {type(torch_model).__name__} as funcgrad source")
    else:
        sys.stdout.write(conv.source)
    if report:
        print(report)
    return 0
