"""The ``funcgrad`` command (application layer): ``funcgrad train`` (see ``funcgrad train --help``), ``funcgrad graph``, ``funcgrad convert`` and ``funcgrad sample``.

Every failure is one line, ``error: <problem and fix>``, on stderr with a non-zero exit status;
``--debug`` shows the traceback instead.

Example:
    >>> main(["train", "--model", "linear", "--dataset", "synthetic-linear", "--epochs", "2",
    ...       "--quiet", "--no-save"])  # doctest: +ELLIPSIS
    epoch 1/2  train_loss 30.0000 ...
    final test loss ...
    0
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from funcgrad.cli._errors import CommandError

__all__ = ["CommandError", "as_flags", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _batch_size(text: str) -> int | str:
    if text == "full":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"batch size must be a positive integer or 'full', got {text!r}"
        ) from None


def _configure_train(p: argparse.ArgumentParser) -> None:
    from funcgrad.train import DEFAULTS, MODELS, OPTIMIZERS

    def per_model(field: str) -> str:
        return "default per model: " + ", ".join(
            f"{m} {getattr(d, field)}" for m, d in DEFAULTS.items()
        )

    p.add_argument(
        "--model",
        choices=MODELS,
        help="mynet (default; MyNet with widths 60 and 40), convnet (two 5x5 convolutions and a "
        "linear head), single-layer (z = x @ w + b), lenet (LeNet-5 with batch norm and dropout), "
        "linear (f = w * x, for synthetic-linear), charlstm (a 2-layer character LSTM) or gpt "
        "(a small character GPT); the last two train on the bundled text",
    )
    p.add_argument(
        "--dataset",
        help="digits (the default; the bundled 8x8 handwritten digits), synthetic-linear (Y = 2X; "
        "the default for linear), text (the bundled sentences; the default for charlstm and "
        "gpt), or a path to a .npz with x_train, y_train, x_test, y_test",
    )
    p.add_argument("--epochs", type=int, help=f"epochs to train in total ({per_model('epochs')})")
    p.add_argument(
        "--batch-size",
        type=_batch_size,
        help=f"examples per step, or 'full' for full-batch descent; 1 is pure SGD "
        f"({per_model('batch_size')})",
    )
    p.add_argument("--lr", type=float, help=f"learning rate ({per_model('lr')})")
    p.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        help=f"optax optimiser; momentum is SGD with momentum 0.9 ({per_model('optimizer')})",
    )
    p.add_argument("--seed", type=int, help="seed of the init and shuffle keys (default 0)")
    p.add_argument(
        "--scan",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--scan fuses each epoch into one lax.scan (no per-step bar), --no-scan loops over "
        "jitted steps; by default the fused epoch unless the model has convolutions, which "
        "XLA:CPU runs slower inside lax.scan (config.json records the choice)",
    )
    p.add_argument(
        "--out",
        help="output folder (default: a new runs/<model>-<dataset>-N); a folder that already "
        "holds a run is never overwritten",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out (default: the latest runs/<model>-<dataset>-N) from its "
        "latest checkpoint; omitted settings come from its config.json",
    )
    p.add_argument("--keep", type=int, help="checkpoints to keep (default 3)")
    p.add_argument(
        "--quiet", action="store_true", help="one plain line per epoch instead of a progress bar"
    )
    p.add_argument(
        "--no-save", action="store_true", help="write nothing: no folder, metrics or checkpoints"
    )
    scale = p.add_argument_group(
        "scaling",
        "data parallelism on JAX's runtime (docs/scaling.md); for several processes start the same "
        "command once per process, or set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and "
        "JAX_PROCESS_ID instead of the three flags",
    )
    scale.add_argument(
        "--devices",
        type=int,
        metavar="N",
        help="split each batch across N devices (default: 1, or every device of a multi-process "
        "run); on CPU set JAX_NUM_CPU_DEVICES=N to get N host devices",
    )
    scale.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="process 0's address, the same for every process ('auto' on Cloud TPU, SLURM, MPI)",
    )
    scale.add_argument("--num-processes", type=int, metavar="P", help="processes in the run")
    scale.add_argument(
        "--process-id", type=int, metavar="I", help="this process's id, 0 to P-1 (0 writes outputs)"
    )
    scale.add_argument(
        "--coordinator-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to wait for the coordinator and the other processes (default 60)",
    )


def _train(args: argparse.Namespace) -> int:
    import jax

    from funcgrad import distributed as dist
    from funcgrad.train import TrainError, fit
    from funcgrad.train._distributed import initialize
    from funcgrad.train._run_dir import default_out
    from funcgrad.train._setup import default_dataset

    _quiet_logs()
    # Before anything touches a device: joining a multi-process run must come first.
    initialize(args.coordinator, args.num_processes, args.process_id, args.coordinator_timeout)
    out = args.out
    if out is None and not args.no_save:
        if jax.process_count() > 1:
            raise TrainError("a multi-process run needs out DIR (the same for every process)")
        dataset = args.dataset or (None if args.resume else default_dataset(args.model))
        out = default_out(args.model, dataset, resume=args.resume)
    result = fit(
        args.model,
        args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        key=args.seed,
        scan=args.scan,
        out=None if args.no_save else out,
        resume=args.resume,
        keep=args.keep,
        devices=args.devices,
        progress="lines" if args.quiet else "auto",
    )
    final = result.final
    if not dist.is_main_process():
        return 0
    if "test_bpc" in final:
        print(f"final test bits per character {final['test_bpc']:.4f} (epoch {final['epoch']})")
    elif "test_accuracy" in final:
        print(f"final test accuracy {final['test_accuracy']:.4f} (epoch {final['epoch']})")
    elif final:
        print(f"final test loss {final['test_loss']:.4g} (epoch {final['epoch']})")
    if result.out is not None:
        print(f"outputs in {result.out}")
    return 0


def _configure_graph(p: argparse.ArgumentParser) -> None:
    # Loaded only when asked for, so `funcgrad train` does not pay for importing the drawing code.
    from funcgrad.cli._graph import configure_parser, run

    configure_parser(p)
    p.set_defaults(command=run)


def _configure_convert(p: argparse.ArgumentParser) -> None:
    # Loaded only when asked for: converting needs torch, training does not.
    from funcgrad.cli._convert import configure_parser, run

    configure_parser(p)
    p.set_defaults(command=run)


def _configure_sample(p: argparse.ArgumentParser) -> None:
    from funcgrad.cli._sample import configure_parser, run

    configure_parser(p)
    p.set_defaults(command=run)


def _quiet_logs() -> None:
    """The command's logging policy: orbax logs through absl, down to ERROR for a damaged file it
    then raises about; the command reports that itself in one line (``--debug`` keeps the detail)."""
    import logging

    logging.getLogger("absl").setLevel(logging.CRITICAL)


# Library errors name Python parameters; the command speaks in its flags.
_FLAGS = re.compile(
    r"(?<![\w.-])(resume=True|batch_size|lr|epochs|keep|out|resume|devices|seed|optimizer)"
    r"(?![\w(])"
)


def as_flags(message: str) -> str:
    """``message`` with the library's parameter names as this command's flags.

    Example:
        >>> as_flags("keep must be at least 1; pass resume=True, or a new out")
        '--keep must be at least 1; pass --resume, or a new --out'
    """
    return _FLAGS.sub(lambda m: "--" + m[1].removesuffix("=True").replace("_", "-"), message)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The ``funcgrad`` parser; ``graph``'s and ``convert``'s options load only when selected."""
    parser = _Parser(
        prog="funcgrad",
        description="funcgrad: train the lecture notes' models, or draw a computational graph.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    train = commands.add_parser(
        "train",
        parents=[common],
        help="train a model; writes config.json, metrics.jsonl, loss.png and checkpoints",
        description="Train a model on bundled data or your .npz, with progress, metrics, a loss "
        "plot and resumable checkpoints.",
    )
    _configure_train(train)
    train.set_defaults(command=_train)
    # Their modules are imported only when argv selects them (see _configure_graph).
    lazy = {
        "graph": ("draw a function's computational graph", _configure_graph),
        "convert": (
            "write a torch nn.Module as funcgrad source (--check compares the two)",
            _configure_convert,
        ),
        "sample": (
            "continue a prompt with a trained charlstm or gpt run (its latest checkpoint)",
            _configure_sample,
        ),
    }
    for name, (help_text, configure) in lazy.items():
        sub = commands.add_parser(name, parents=[common], help=help_text)
        if list(argv[:1]) == [name]:
            configure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return args.command(args)
    except KeyboardInterrupt:
        _fail("interrupted; continue with --resume (the checkpoints are kept)")
        return 130
    except Exception as e:
        if args.debug:
            raise
        from funcgrad.data import DataError
        from funcgrad.distributed import DistributedError
        from funcgrad.train import TrainError

        text = as_flags(" ".join(str(e).split()))
        if not isinstance(e, (CommandError, DataError, DistributedError, TrainError)):
            text = f"{type(e).__name__}: {text} (run again with --debug for the traceback)"
        return _fail(text)


if __name__ == "__main__":
    sys.exit(main())
