"""``fit``: train any model on a dataset, with metrics, a loss plot and resumable checkpoints."""

from __future__ import annotations

import hashlib
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
from funcgrad.data import Dataset, dataset_id, load_dataset
from funcgrad.loop import TrainState, epoch_batches, make_epoch, make_evaluate, make_step, step_key
from funcgrad.nn import Module, Params
from funcgrad.train._batches import resolve_batch_size
from funcgrad.train._checkpoint import Checkpoints
from funcgrad.train._errors import DivergenceError, TrainError
from funcgrad.train._fast import fast_jit
from funcgrad.train._metrics import append_metrics, truncate_metrics, write_json
from funcgrad.train._plot import plot_losses
from funcgrad.train._progress import Progress
from funcgrad.train._run_dir import open_run_dir
from funcgrad.train._setup import DEFAULTS, MODELS, build_model, loss_for, make_optimizer

__all__ = ["FitResult", "fit"]

# Settings a resumed run may change; any other change would make it a different run.
RESUMABLE = {"epochs", "keep"}
# Your own objects cannot be saved to config.json: fit records a description of each instead.
CUSTOM = "custom: "


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
    scan: bool | None = None,
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
    error otherwise); ``optimizer`` any optax ``GradientTransformation``, or a name from
    ``OPTIMIZERS`` with ``lr``. ``key`` is a jax key or an int seed (default 0): it draws the
    init, each epoch's shuffle and each step's key (dropout). Settings left as ``None`` take the
    model's defaults (``DEFAULTS``), or, with ``resume``, the values saved in ``out/config.json``.

    With ``out`` it writes ``config.json``, ``metrics.jsonl``, ``loss.png`` and a checkpoint per
    epoch (the last ``keep`` kept); ``resume`` continues from the latest checkpoint and ends
    bitwise where an uninterrupted run would. Your own model, loss and optimizer cannot be saved
    to ``config.json``; ``fit`` records a description of each (the model's ``repr`` and a
    fingerprint of its param shapes, the loss's qualified name, a fingerprint of the optimiser
    state's structure) and refuses to resume when the ones you pass again differ. ``scan`` fuses
    each epoch into one ``lax.scan``. ``progress`` is ``"auto"`` (a bar on a terminal, else a
    line per epoch), ``"lines"`` or ``"none"``. ``on_step(epoch, step, loss)`` runs after every
    step (not with ``scan``).

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
        scan: fuse each epoch into one ``lax.scan``.
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
    saved = None
    main = dist.is_main_process()
    if out is not None:
        out = Path(out)
        if main or resume:  # other processes only read a run, never start one
            saved = open_run_dir(out, resume)
    # a data file is recorded by its absolute path, so resume finds it from any directory
    data_name = data.name if isinstance(data, Dataset) else data and dataset_id(data)
    custom_opt = optimizer if isinstance(optimizer, tuple) else None
    given = {
        "model": model if isinstance(model, str) or model is None else CUSTOM + repr(model),
        "dataset": data_name,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "optimizer": CUSTOM + "optax" if custom_opt is not None else optimizer,
        "seed": key if isinstance(key, int) or key is None else _key_text(key),
        "scan": scan,
        "keep": keep,
        "loss": None if loss is None else CUSTOM + _name(loss),
    }
    if not isinstance(model, str) and model is not None and not isinstance(model, Module):
        raise TrainError(f"model must be a funcgrad Module or one of {', '.join(MODELS)}")
    config = _settle_config(given, saved, custom=not (isinstance(model, str) or model is None))
    if not (isinstance(config["epochs"], int) and config["epochs"] >= 0):
        raise TrainError(f"epochs must be a whole number >= 0, got {config['epochs']!r}")
    ds = data if isinstance(data, Dataset) else load_dataset(config["dataset"])
    if isinstance(model, Module):
        net = model
    else:
        net, ds = build_model(config["model"], ds)
    batch = resolve_batch_size(config["batch_size"], ds.num_train)
    mesh = dist.data_mesh(devices)
    dist.check_divisible(batch, mesh)

    classify = ds.num_classes is not None
    opt = (
        custom_opt if custom_opt is not None else make_optimizer(config["optimizer"], config["lr"])
    )
    seed = config["seed"]
    # The seed is an int unless ``key`` is a jax key.
    run_key = jax.random.PRNGKey(seed) if isinstance(seed, int) else cast(jax.Array, key)
    try:
        programs = _programs(net, loss or loss_for(ds), classify, opt)
    except TypeError:  # an unhashable model or loss: compile for this run only
        programs = _programs.__wrapped__(net, loss or loss_for(ds), classify, opt)
    state = programs.init(run_key)
    fingerprint = _fingerprint(state)
    if custom_opt is not None or isinstance(model, Module) or saved and "fingerprint" in saved:
        _check_fingerprint(fingerprint, saved)
        config["fingerprint"] = fingerprint
    if mesh is None:  # with a mesh, shard_epoch gathers each epoch's rows from ds itself
        x_train, y_train = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    x_test, y_test = jnp.asarray(ds.x_test), jnp.asarray(ds.y_test)

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
    lr_text = config["lr"] if custom_opt is None else None
    batches: jax.Array | np.ndarray  # the epoch's batch indices; a host array with a mesh
    try:
        for epoch in range(int(state.epoch) + 1, config["epochs"] + 1):
            started = time.perf_counter()
            key_next, epoch_key, batches = programs.shuffle(state.key, ds.num_train, batch)
            if mesh is None:
                xs, ys = x_train, y_train
            else:  # this process's rows, split on the batch axis; indexed by step
                (xs, ys), batches = dist.shard_epoch((ds.x_train, ds.y_train), batches, mesh)
            report.start_epoch(epoch, steps * batch)
            params, buffers, opt_state = state.params, state.buffers, state.opt_state
            if config["scan"]:
                params, buffers, opt_state, losses = programs.epoch(
                    params, buffers, opt_state, xs, ys, batches, epoch_key
                )
                losses = np.asarray(losses)
                _check_finite(losses, epoch, lr_text, ckpts)
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
                        _check_finite(np.array([value]), epoch, lr_text, ckpts, first=i)
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
            row["seconds"] = round(time.perf_counter() - started, 4)
            row["examples_per_second"] = round(steps * batch / row["seconds"], 1)
            history.append(row)
            if out is not None and ckpts is not None:  # ckpts: on the main process only
                append_metrics(out / "metrics.jsonl", row)
                ckpts.save(dist.to_host(state) if mesh else state)
            report.end_epoch(row)
    finally:
        report.close()
        if ckpts is not None:
            ckpts.close()
        if out is not None and main and history:
            plot_losses(history, out / "loss.png")
    return FitResult(state.params, history, net, ds, out, config, state.buffers)


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

    @fast_jit
    def init(key: jax.Array) -> TrainState:
        # One compiled program instead of dozens of eagerly dispatched random ops.
        init_key, run_key = jax.random.split(key)
        params = net.init(init_key)
        zero = jnp.array(0)
        return TrainState(params, net.init_buffers(), opt.init(params), zero, zero, run_key)

    @partial(fast_jit, static_argnums=(1, 2))
    def shuffle(
        key: jax.Array, num_examples: int, batch: int
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        key, epoch_key = jax.random.split(key)
        shuffle_key, steps_key = jax.random.split(epoch_key)
        return key, steps_key, epoch_batches(shuffle_key, num_examples, batch)

    return _Programs(
        init,
        shuffle,
        fast_jit(step_key),
        make_step(net, loss, opt, jit=fast_jit),
        make_epoch(net, loss, opt, jit=fast_jit),
        make_evaluate(net, loss, classify, jit=fast_jit),
    )


def _name(f: Callable[..., Any]) -> str:
    """A loss's recordable name: ``module.qualname`` for a function, else its ``repr``."""
    qualname = getattr(f, "__qualname__", None)
    return f"{f.__module__}.{qualname}" if qualname else repr(f)


def _key_text(key: jax.Array) -> str:
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return "key " + ",".join(str(int(v)) for v in np.asarray(data).ravel())


def _fingerprint(state: TrainState) -> str:
    """A short hash of the shapes, dtypes and tree structure of params, buffers and optimiser state."""
    parts = [state.params, state.buffers, state.opt_state]
    text = "|".join(
        f"{jax.tree.structure(p)}:{[(x.shape, str(x.dtype)) for x in jax.tree.leaves(p)]}"
        for p in parts
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_fingerprint(fingerprint: str, saved: dict[str, Any] | None) -> None:
    if saved is not None and saved.get("fingerprint") not in (None, fingerprint):
        raise TrainError(
            "resume: the model's params, buffers or optimizer state differ in shape from the "
            "saved run's; pass the same model and optimizer, or choose a new out"
        )


def _settle_config(
    given: dict[str, Any], saved: dict[str, Any] | None, custom: bool = False
) -> dict[str, Any]:
    """Fill unset settings from the saved run (when resuming) or the model's defaults."""
    if saved is not None:
        # runs saved with a relative .npz path: compare as files (relative to this directory)
        saved = saved | {"dataset": saved.get("dataset") and dataset_id(saved["dataset"])}
        missing = [
            k
            for k in ("model", "loss", "optimizer", "seed")
            if str(saved.get(k, "")).startswith((CUSTOM, "key ")) and given[k] is None
        ]
        if missing:
            raise TrainError(
                f"resume: this run was started with your own {', '.join(missing)}, which cannot "
                "be saved; pass the same again"
            )
        changed = [
            f"{k} ({saved.get(k)!r} -> {v!r})"
            for k, v in given.items()
            if v is not None and k not in RESUMABLE and v != saved.get(k)
        ]
        if changed:
            raise TrainError(
                f"resume: this run was started with other settings: {', '.join(changed)}; "
                "drop those, or choose a new out"
            )
        return saved | {k: v for k, v in given.items() if v is not None}
    if custom:
        given = given | {"dataset": given["dataset"] or "digits"}
        return given | {
            k: v if given[k] is None else given[k]
            for k, v in {
                "epochs": 10,
                "batch_size": 32,
                "seed": 0,
                "scan": False,
                "keep": 3,
            }.items()
        }
    given = given | {"model": given["model"] or "mynet", "dataset": given["dataset"] or "digits"}
    if given["model"] not in DEFAULTS:
        raise TrainError(f"unknown model {given['model']!r}; choose one of {', '.join(MODELS)}")
    defaults = DEFAULTS[given["model"]]._asdict() | {"seed": 0, "scan": False, "keep": 3}
    return {k: defaults.get(k) if v is None else v for k, v in given.items()}


def _check_finite(
    losses: np.ndarray, epoch: int, lr: float | None, ckpts: Checkpoints | None, first: int = 0
) -> None:
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size == 0:
        return
    latest = ckpts.latest() if ckpts is not None else None
    kept = (
        f"the last good checkpoint (epoch {latest}) is kept in {ckpts.directory}"
        if latest is not None and ckpts is not None
        else "no checkpoint had been written yet"
    )
    advice = f"a lower lr (e.g. {lr / 10:g})" if lr is not None else "a lower learning rate"
    raise DivergenceError(
        f"loss became {losses[bad[0]]} at epoch {epoch}, step {first + bad[0] + 1}; "
        f"training stopped. Try {advice}; {kept}"
    )
