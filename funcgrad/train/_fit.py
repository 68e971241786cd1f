"""``fit``: train a model on a dataset, with metrics, a loss plot and resumable checkpoints."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad import distributed as dist
from funcgrad.data import Dataset, dataset_id, load_dataset
from funcgrad.nn import Module, Params
from funcgrad.train._batches import epoch_batches, resolve_batch_size
from funcgrad.train._checkpoint import Checkpoints
from funcgrad.train._errors import DivergenceError, TrainError
from funcgrad.train._evaluate import make_evaluate
from funcgrad.train._metrics import append_metrics, truncate_metrics, write_json
from funcgrad.train._plot import plot_losses
from funcgrad.train._progress import Progress
from funcgrad.train._run_dir import open_run_dir
from funcgrad.train._setup import DEFAULTS, MODELS, build_model, loss_for, make_optimizer
from funcgrad.train._state import TrainState
from funcgrad.train._step import make_epoch, make_step

__all__ = ["FitResult", "fit"]

# Settings a resumed run may change; any other change would make it a different run.
RESUMABLE = {"epochs", "keep"}


@dataclass
class FitResult:
    """What :func:`fit` returns: final params, one metrics row per epoch, and where it saved."""

    params: Params
    history: list[dict[str, Any]]
    model: Module
    dataset: Dataset
    out: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's metrics row."""
        return self.history[-1] if self.history else {}


def fit(
    model: str | None = None,
    dataset: str | Path | Dataset | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | str | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    seed: int | None = None,
    scan: bool | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    keep: int | None = None,
    devices: int | None = None,
    progress: str = "auto",
    on_step: Callable[[int, int, float], None] | None = None,
) -> FitResult:
    """Train ``model`` (a name from ``MODELS``) on ``dataset`` and return the trained params.

    ``model`` defaults to ``"mynet"`` and ``dataset`` (a name, a ``.npz`` path or a
    :class:`~funcgrad.data.Dataset`) to ``"digits"``. Other settings left as ``None`` take the
    model's defaults (``DEFAULTS``), or, with ``resume``, the
    values saved in ``out/config.json``. With ``out`` it writes ``config.json``, ``metrics.jsonl``,
    ``loss.png`` and a checkpoint per epoch (the last ``keep`` kept); ``resume`` continues from the
    latest checkpoint and ends bitwise where an uninterrupted run would. ``scan`` fuses each epoch
    into one ``lax.scan``. ``progress`` is ``"auto"`` (a bar on a terminal, else a line per
    epoch), ``"lines"`` or ``"none"``. ``on_step(epoch, step, loss)`` runs after every step (not
    with ``scan``).

    ``devices=N`` trains data-parallel on ``N`` devices (see :mod:`funcgrad.distributed`): each
    batch of ``batch_size`` is split across them, params are replicated, and the result matches
    one device up to float rounding. After ``funcgrad.distributed.initialize`` it spans every
    process; only process 0 writes outputs. A checkpoint resumes on any device count.

    Example:
        >>> result = fit("linear", "synthetic-linear", epochs=40, progress="none")
        >>> round(float(result.params["w"]), 2), result.final["epoch"]
        (2.0, 40)
    """
    saved = None
    main = dist.is_main_process()
    if out is not None:
        out = Path(out)
        if main or resume:  # other processes only read a run, never start one
            saved = open_run_dir(out, resume)
    # a data file is recorded by its absolute path, so --resume finds it from any directory
    data_name = dataset.name if isinstance(dataset, Dataset) else dataset and dataset_id(dataset)
    given = {
        "model": model,
        "dataset": data_name,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": optimizer,
        "seed": seed,
        "scan": scan,
        "keep": keep,
    }
    config = _settle_config(given, saved)
    if not (isinstance(config["epochs"], int) and config["epochs"] >= 0):
        raise TrainError(f"epochs must be a whole number >= 0, got {config['epochs']!r}")
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(config["dataset"])
    net, ds = build_model(config["model"], ds)
    batch = resolve_batch_size(config["batch_size"], ds.num_train)
    mesh = dist.data_mesh(devices)
    dist.check_divisible(batch, mesh)

    classify = ds.num_classes is not None
    programs = _programs(net, loss_for(ds), classify, config["optimizer"], config["lr"])
    if mesh is None:  # with a mesh, shard_epoch gathers each epoch's rows from ds itself
        x_train, y_train = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    x_test, y_test = jnp.asarray(ds.x_test), jnp.asarray(ds.y_test)

    state = programs.init(config["seed"])
    history: list[dict[str, Any]] = []
    ckpts = None
    # created only now that the settings and the data have been checked
    if out is not None and (main or resume):
        ckpts = Checkpoints(out / "checkpoints", keep=config["keep"])
        latest = ckpts.latest()
        if resume and latest is not None:
            state = ckpts.restore(latest, like=state)
        if main:
            history = truncate_metrics(out / "metrics.jsonl", int(state.epoch))
            write_json(out / "config.json", config)
        else:
            ckpts.close()  # only process 0 writes
            ckpts = None
    # Restored on one device whatever count wrote it, then copied to every device of the mesh.
    state = dist.replicate(state, mesh)

    report = Progress(config["epochs"], mode=progress if main else "none")
    steps = ds.num_train // batch
    try:
        for epoch in range(int(state.epoch) + 1, config["epochs"] + 1):
            started = time.perf_counter()
            key, batches = programs.shuffle(state.key, ds.num_train, batch)
            if mesh is None:
                xs, ys = x_train, y_train
            else:  # this process's rows, split on the batch axis; indexed by step
                (xs, ys), batches = dist.shard_epoch((ds.x_train, ds.y_train), batches, mesh)
            report.start_epoch(epoch, steps * batch)
            params, opt_state = state.params, state.opt_state
            if config["scan"]:
                params, opt_state, losses = programs.epoch(params, opt_state, xs, ys, batches)
                losses = np.asarray(losses)
                _check_finite(losses, epoch, config["lr"], ckpts)
                report.advance(steps * batch, float(losses.mean()))
            else:
                values = []
                rows = np.asarray(batches)  # one copy per epoch, not one device op per step
                for i in range(steps):
                    params, opt_state, value = programs.step(params, opt_state, xs, ys, rows[i])
                    value = float(value)  # also waits for the step: the bar shows real progress
                    values.append(value)
                    if not math.isfinite(value):
                        _check_finite(np.array([value]), epoch, config["lr"], ckpts, first=i)
                    report.advance(batch, value)
                    if on_step is not None:
                        on_step(epoch, i + 1, value)
                losses = np.array(values)
            state = TrainState(params, opt_state, jnp.array(epoch), state.step + steps, key)
            # With a mesh, evaluate one host copy: no process needs the others for it.
            metrics = programs.evaluate(dist.to_host(params) if mesh else params, x_test, y_test)
            row = {"epoch": epoch, "train_loss": float(losses.mean())}
            row |= {f"test_{k}": float(metrics[k]) for k in ("loss", "accuracy") if k in metrics}
            row["seconds"] = round(time.perf_counter() - started, 4)
            row["examples_per_second"] = round(steps * batch / row["seconds"], 1)
            history.append(row)
            if out is not None and main:
                append_metrics(out / "metrics.jsonl", row)
                ckpts.save(dist.to_host(state) if mesh else state)
            report.end_epoch(row)
    finally:
        report.close()
        if ckpts is not None:
            ckpts.close()
        if out is not None and main and history:
            plot_losses(history, out / "loss.png")
    return FitResult(state.params, history, net, ds, out, config)


class _Programs(NamedTuple):
    init: Callable[[int], TrainState]
    shuffle: Callable[..., tuple[jax.Array, jax.Array]]
    step: Callable[..., Any]
    epoch: Callable[..., Any]
    evaluate: Callable[..., dict[str, jax.Array]]


@lru_cache(maxsize=8)
def _programs(
    net: Module, loss: Callable[..., jax.Array], classify: bool, optimizer: str, lr: float
) -> _Programs:
    """The jitted functions of a run, cached so that repeated fits in one process compile once."""
    opt = make_optimizer(optimizer, lr)

    @jax.jit
    def init(seed: int) -> TrainState:
        # One compiled program instead of dozens of eagerly dispatched random ops.
        init_key, shuffle_key = jax.random.split(jax.random.PRNGKey(seed))
        params = net.init(init_key)
        return TrainState(params, opt.init(params), jnp.array(0), jnp.array(0), shuffle_key)

    @partial(jax.jit, static_argnums=(1, 2))
    def shuffle(key: jax.Array, num_examples: int, batch: int) -> tuple[jax.Array, jax.Array]:
        key, epoch_key = jax.random.split(key)
        return key, epoch_batches(epoch_key, num_examples, batch)

    return _Programs(
        init,
        shuffle,
        make_step(net, loss, opt),
        make_epoch(net, loss, opt),
        make_evaluate(net, loss, classify),
    )


def _settle_config(given: dict[str, Any], saved: dict[str, Any] | None) -> dict[str, Any]:
    """Fill unset settings from the saved run (when resuming) or the model's defaults."""
    if saved is not None:
        # runs saved with a relative .npz path: compare as files (relative to this directory)
        saved = saved | {"dataset": saved.get("dataset") and dataset_id(saved["dataset"])}
        changed = [
            f"{k} ({saved.get(k)!r} -> {v!r})"
            for k, v in given.items()
            if v is not None and k not in RESUMABLE and v != saved.get(k)
        ]
        if changed:
            raise TrainError(
                f"--resume: this run was started with other settings: {', '.join(changed)}; "
                "drop those flags, or choose a new --out"
            )
        return saved | {k: v for k, v in given.items() if v is not None}
    given = given | {"model": given["model"] or "mynet", "dataset": given["dataset"] or "digits"}
    if given["model"] not in DEFAULTS:
        raise TrainError(f"unknown model {given['model']!r}; choose one of {', '.join(MODELS)}")
    defaults = DEFAULTS[given["model"]]._asdict() | {"seed": 0, "scan": False, "keep": 3}
    return {k: defaults[k] if v is None else v for k, v in given.items()}


def _check_finite(
    losses: np.ndarray, epoch: int, lr: float, ckpts: Checkpoints | None, first: int = 0
) -> None:
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size == 0:
        return
    latest = ckpts.latest() if ckpts is not None else None
    kept = (
        f"the last good checkpoint (epoch {latest}) is kept in {ckpts.directory}"
        if latest is not None
        else "no checkpoint had been written yet"
    )
    raise DivergenceError(
        f"loss became {losses[bad[0]]} at epoch {epoch}, step {first + bad[0] + 1}; "
        f"training stopped. Try a lower --lr (e.g. {lr / 10:g}); {kept}"
    )
