"""``fit``: train any model on a dataset, with metrics, a loss plot and resumable checkpoints.

``fit`` is three parts, each in its own module: resolving the settings (names or objects into a
:class:`~funcgrad.train._config.Setup`, ``_config.py``), the run's folder, checkpoints, metrics and
progress (:class:`~funcgrad.train._run.Run`, ``_run.py``), and the loop here, which only computes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcgrad import distributed as dist
from funcgrad._jit import jit
from funcgrad.data import Dataset, TextDataset, bits_per_char
from funcgrad.loop import TrainState, epoch_batches, make_epoch, make_evaluate, make_step, step_key
from funcgrad.nn import Module, Params
from funcgrad.train._config import Setup, check_fingerprint, fingerprint, resolve
from funcgrad.train._progress import Progress
from funcgrad.train._run import Run
from funcgrad.train._scan import AUTO, choose_scan, traced_primitives

__all__ = ["FitResult", "fit"]


@dataclass
class FitResult:
    """What :func:`fit` returns: final params and buffers, one metrics row per epoch, and where it saved.

    Attributes:
        params: the trained params.
        history: one metrics row per epoch (``epoch``, ``train_loss``, ``test_loss``, ...).
        model: the model that was trained.
        dataset: the data it was trained on.
        out: the output folder, or ``None`` when nothing was saved.
        config: the run's settings, as saved to ``config.json``.
        buffers: the trained buffers (``{}`` when the model has none).
    """

    params: Params
    history: list[dict[str, Any]]
    model: Module
    dataset: Dataset
    out: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    buffers: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's metrics row."""
        return self.history[-1] if self.history else {}


def fit(
    model: str | Module | None = None,
    data: str | Path | Dataset | None = None,
    *,
    loss: Callable[[Any, Any], jax.Array] | None = None,
    optimizer: str | optax.GradientTransformation | None = None,
    lr: float | None = None,
    epochs: int | None = None,
    batch_size: int | str | None = None,
    key: int | jax.Array | None = None,
    scan: bool | str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    keep: int | None = None,
    devices: int | None = None,
    progress: str = "auto",
    on_step: Callable[[int, int, float], None] | None = None,
) -> FitResult:
    """Train ``model`` on ``data`` and return the trained params, buffers and history.

    ``model`` is any funcgrad :class:`~funcgrad.nn.Module` applied to whole batches (wrap a
    one-example model in :class:`~funcgrad.nn.Batched`), or a built-in name from ``MODELS``
    (default ``"mynet"``; the registry sizes it for the data and wraps it). ``data`` is a
    :class:`~funcgrad.data.Dataset`, a name or a ``.npz`` path (default ``"digits"``). ``loss``
    is any ``loss(outputs, targets)`` (default: cross-entropy for classification, mean squared
    error otherwise); ``optimizer`` any optax transformation (recognised by its callable
    ``init`` and ``update``), or a name from ``OPTIMIZERS`` with ``lr``. ``key`` is a jax key or an int seed (default 0): it draws the
    init, each epoch's shuffle and each step's key (dropout). Settings left as ``None`` take the
    model's defaults (``DEFAULTS``), or, with ``resume``, the values saved in ``out/config.json``.

    With ``out`` it writes ``config.json``, ``metrics.jsonl``, ``loss.png`` and a checkpoint per
    epoch (the last ``keep`` kept); ``resume`` continues from the latest checkpoint and ends
    bitwise where an uninterrupted run would. Your own model, loss and optimizer cannot be saved
    to ``config.json``; ``fit`` records a description of each (the model's ``repr`` and a
    fingerprint of its param shapes, the loss's qualified name, a fingerprint of the optimiser
    state's structure) and refuses to resume when the ones you pass again differ. ``scan=True`` fuses
    each epoch into one ``lax.scan``, ``False`` loops over jitted steps, and ``"auto"`` (the
    default) fuses unless the step has a convolution on CPU, which XLA:CPU runs slower inside a
    loop body (docs/benchmarks.md); ``config["scan_chosen"]`` and ``config["scan_why"]`` record
    the choice. ``progress`` is ``"auto"`` (a bar on a terminal, else a
    line per epoch), ``"lines"`` or ``"none"``. ``on_step(epoch, step, loss)`` runs after every
    step (not with ``scan=True``; ``"auto"`` then loops).

    ``devices=N`` trains data-parallel on ``N`` devices (see :mod:`funcgrad.distributed`): each
    batch of ``batch_size`` is split across them, params are replicated, and the result matches
    one device up to float rounding. A checkpoint resumes on any device count.

    Args:
        model: a funcgrad module applied to whole batches, or a name from ``MODELS``.
        data: a :class:`~funcgrad.data.Dataset`, a name or a ``.npz`` path.
        loss: ``loss(outputs, targets) -> scalar``.
        optimizer: an optax ``GradientTransformation``, or a name from ``OPTIMIZERS``.
        lr: the learning rate of a named optimizer.
        epochs: how many passes over the training set.
        batch_size: the examples per step (``"full"`` for full-batch descent).
        key: a jax key or an int seed.
        scan: ``True``, ``False`` or ``"auto"``: fuse each epoch into one ``lax.scan``.
        out: a folder for the config, metrics, loss plot and checkpoints, or ``None``.
        resume: continue from the latest checkpoint in ``out``.
        keep: how many checkpoints to keep.
        devices: train data-parallel on this many devices.
        progress: ``"auto"``, ``"lines"`` or ``"none"``.
        on_step: ``on_step(epoch, step, loss)``, called after every step.

    Returns:
        A :class:`FitResult`: the trained params and buffers, the history and where it saved.

    Example:
        >>> result = fit("linear", "synthetic-linear", epochs=40, progress="none")
        >>> round(float(result.params["w"]), 2), result.final["epoch"]
        (2.0, 40)
    """
    run = Run(out, resume=resume, main=dist.is_main_process())
    setup = resolve(
        model,
        data,
        loss=loss,
        optimizer=optimizer,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        key=key,
        scan=scan,
        keep=keep,
        devices=devices,
        saved=run.saved,
    )
    config = setup.config
    fused, why = choose_scan(
        config["scan"],
        traced_primitives(setup.model, setup.dataset.x_train[: setup.batch])
        if config["scan"] == AUTO
        else set(),
        backend=jax.default_backend(),
        per_step_callback=on_step is not None,
    )
    config |= {"scan_chosen": fused, "scan_why": why}
    classify = setup.dataset.num_classes is not None
    try:
        programs = _programs(setup.model, setup.loss, classify, setup.optimizer)
    except TypeError:  # an unhashable model or loss: compile for this run only
        programs = _programs.__wrapped__(setup.model, setup.loss, classify, setup.optimizer)
    state = programs.init(setup.key)
    if setup.fingerprinted:
        config["fingerprint"] = fingerprint(state)
        check_fingerprint(config["fingerprint"], run.saved)
    state = run.start(config, state, progress)  # now that the settings and data are checked
    try:
        # Restored on one device whatever count wrote it, then copied to every device of the mesh.
        state = dist.replicate(state, setup.mesh)
        state = _loop(setup, programs, state, run, on_step)
    finally:
        run.close()
    return FitResult(
        state.params, run.history, setup.model, setup.dataset, run.out, config, state.buffers
    )


def _loop(
    setup: Setup,
    programs: _Programs,
    state: TrainState,
    run: Run,
    on_step: Callable[[int, int, float], None] | None,
) -> TrainState:
    """The epochs from the one after ``state.epoch`` to the last: train, evaluate, record."""
    ds, batch, mesh, config = setup.dataset, setup.batch, setup.mesh, setup.config
    if mesh is None:  # with a mesh, shard_epoch gathers each epoch's rows from ds itself
        x_train, y_train = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    x_test, y_test = jnp.asarray(ds.x_test), jnp.asarray(ds.y_test)
    report = cast(Progress, run.progress)
    steps = ds.num_train // batch
    lr_text = None if setup.custom_optimizer else config["lr"]
    batches: jax.Array | np.ndarray  # the epoch's batch indices; a host array with a mesh
    for epoch in range(int(state.epoch) + 1, config["epochs"] + 1):
        started = time.perf_counter()
        key_next, epoch_key, batches = programs.shuffle(state.key, ds.num_train, batch)
        if mesh is None:
            xs, ys = x_train, y_train
        else:  # this process's rows, split on the batch axis; indexed by step
            (xs, ys), batches = dist.shard_epoch((ds.x_train, ds.y_train), batches, mesh)
        report.start_epoch(epoch, steps * batch)
        params, buffers, opt_state = state.params, state.buffers, state.opt_state
        if config["scan_chosen"]:
            params, buffers, opt_state, losses = programs.epoch(
                params, buffers, opt_state, xs, ys, batches, epoch_key
            )
            losses = np.asarray(losses)
            run.check_finite(losses, epoch, lr_text)
            report.advance(steps * batch, float(losses.mean()))
        else:
            values = []
            rows = np.asarray(batches)  # one copy per epoch, not one device op per step
            for i in range(steps):
                params, buffers, opt_state, value = programs.step(
                    params, buffers, opt_state, xs, ys, rows[i], programs.key(epoch_key, i)
                )
                value = float(value)  # also waits for the step: the bar shows real progress
                values.append(value)
                if not math.isfinite(value):
                    run.check_finite(np.array([value]), epoch, lr_text, first=i)
                report.advance(batch, value)
                if on_step is not None:
                    on_step(epoch, i + 1, value)
            losses = np.array(values)
        state = TrainState(
            params, buffers, opt_state, jnp.array(epoch), state.step + steps, key_next
        )
        # With a mesh, evaluate one host copy: no process needs the others for it.
        host = dist.to_host((params, buffers)) if mesh else (params, buffers)
        metrics = programs.evaluate(*host, x_test, y_test)
        row = {"epoch": epoch, "train_loss": float(losses.mean())}
        row |= {f"test_{k}": float(metrics[k]) for k in ("loss", "accuracy") if k in metrics}
        if isinstance(ds, TextDataset):  # a language model's test loss in bits per character
            row["test_bpc"] = bits_per_char(row["test_loss"])
        row["seconds"] = round(time.perf_counter() - started, 4)
        row["examples_per_second"] = round(steps * batch / row["seconds"], 1)
        run.record(row, (dist.to_host(state) if mesh else state) if run.saving else None)
        report.end_epoch(row)
    return state


class _Programs(NamedTuple):
    init: Callable[[jax.Array], TrainState]
    shuffle: Callable[..., tuple[jax.Array, jax.Array, jax.Array]]
    key: Callable[..., jax.Array]
    step: Callable[..., Any]
    epoch: Callable[..., Any]
    evaluate: Callable[..., dict[str, jax.Array]]


@lru_cache(maxsize=8)
def _programs(
    net: Module,
    loss: Callable[..., jax.Array],
    classify: bool,
    opt: optax.GradientTransformation,
) -> _Programs:
    """The compiled functions of a run, cached so that repeated fits in one process compile once."""

    @jit
    def init(key: jax.Array) -> TrainState:
        # One compiled program instead of dozens of eagerly dispatched random ops.
        init_key, run_key = jax.random.split(key)
        params = net.init(init_key)
        zero = jnp.array(0)
        return TrainState(params, net.init_buffers(), opt.init(params), zero, zero, run_key)

    @partial(jit, static_argnums=(1, 2))
    def shuffle(
        key: jax.Array, num_examples: int, batch: int
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        key, epoch_key = jax.random.split(key)
        shuffle_key, steps_key = jax.random.split(epoch_key)
        return key, steps_key, epoch_batches(shuffle_key, num_examples, batch)

    return _Programs(
        init,
        shuffle,
        jit(step_key),
        make_step(net, loss, opt, jit=jit),
        make_epoch(net, loss, opt, jit=jit),
        make_evaluate(net, loss, classify, jit=jit),
    )
