"""``funcgrad sample RUN_DIR --prompt "..."``: continue a prompt with a trained language model.

It reads the run's ``config.json``, rebuilds the model and its text vocabulary from it, restores
the latest checkpoint, and prints the prompt with its continuation, drawn by
:func:`funcgrad.models.sample`. The main ``funcgrad`` command calls :func:`configure_parser` and
:func:`run`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.cli._errors import CommandError
from funcgrad.data import TextDataset
from funcgrad.nn import Module, Params

__all__ = ["configure_parser", "load_run", "run"]

LANGUAGE_MODELS = ("charlstm", "gpt")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``funcgrad sample``'s arguments to ``parser``."""
    parser.description = (
        "Continue a prompt with a character language model trained by "
        "`funcgrad train --model charlstm` or `--model gpt` (its latest checkpoint)."
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (runs/gpt-text-1)")
    parser.add_argument("--prompt", default="The ", help="the text to continue (default 'The ')")
    parser.add_argument("--length", type=int, default=200, help="characters to add (default 200)")
    parser.add_argument(
        "--temperature",
        type=float,
        default=0.8,
        help="below 1 picks likelier characters, above 1 more varied ones (default 0.8)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the sampling key's seed (default 0)")


def load_run(run_dir: str | Path) -> tuple[Module, TextDataset, Params]:
    """The model, text dataset and latest params of a language-model run folder.

    Raises :class:`CommandError` (one line, naming the fix) for a folder that is not such a run.
    """
    from funcgrad.loop import TrainState
    from funcgrad.train import Checkpoints
    from funcgrad.train._config import resolve

    folder = Path(run_dir)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CommandError(
            f"{folder} holds no run (no config.json); pass a folder written by "
            "`funcgrad train --model charlstm` or `--model gpt`, e.g. runs/gpt-text-1"
        )
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CommandError(f"cannot read {config_path} ({e}); train a new run") from None
    if config.get("model") not in LANGUAGE_MODELS:
        raise CommandError(
            f"{folder} trained model {config.get('model')!r}; sample needs a run of "
            "`funcgrad train --model charlstm` or `--model gpt`"
        )
    setup = resolve(
        None, None, loss=None, optimizer=None, lr=None, epochs=None, batch_size=None,
        key=None, scan=None, keep=None, devices=None, saved=config,
    )  # fmt: skip
    if not isinstance(setup.dataset, TextDataset):
        raise CommandError(f"{folder} was not trained on text; sample needs a text run")
    params = setup.model.init(setup.key)
    zero = jnp.array(0)
    like = TrainState(
        params, setup.model.init_buffers(), setup.optimizer.init(params), zero, zero, setup.key
    )
    ckpts = Checkpoints(folder / "checkpoints", keep=int(config.get("keep", 3)))
    try:
        latest = ckpts.latest()
        if latest is None:
            raise CommandError(
                f"{folder} has no checkpoint yet; train it for at least one epoch "
                f"(funcgrad train --out {folder} --resume)"
            )
        state = ckpts.restore(latest, like=like)
    finally:
        ckpts.close()
    return setup.model, setup.dataset, state.params


def run(args: argparse.Namespace) -> int:
    """Print the prompt and its continuation."""
    from funcgrad.models import GPT, sample

    if args.length < 0:
        raise CommandError(f"--length must be >= 0, got {args.length}")
    if not args.temperature > 0:
        raise CommandError(f"--temperature must be > 0, got {args.temperature}")
    if not args.prompt:
        raise CommandError("--prompt is empty; give at least one character to continue")
    model, ds, params = load_run(args.run_dir)
    try:
        prompt = ds.encode(args.prompt)
    except ValueError as e:
        raise CommandError(f"--prompt: {e}") from None
    context: Any = model.block_size if isinstance(model, GPT) else None
    drawn = sample(
        model,
        params,
        jnp.asarray(prompt),
        args.length,
        key=jax.random.key(args.seed),
        temperature=args.temperature,
        context=context,
    )
    print(args.prompt + ds.decode(drawn))
    return 0
