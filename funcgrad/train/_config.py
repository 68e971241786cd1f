"""Resolving a run's settings: names or objects in, one :class:`Setup` record out.

``fit`` accepts built-in names (``"mynet"``, ``"digits"``, ``"adam"``) or your own objects (a
``Module``, a ``Dataset``, a loss, an optax transformation). :func:`resolve` turns either into the
same record, fills unset settings from the model's defaults or from the saved run being resumed,
and refuses a resume whose settings differ. It writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcgrad import distributed as dist
from funcgrad.data import Dataset, dataset_id, load_dataset
from funcgrad.loop import TrainState
from funcgrad.nn import Module
from funcgrad.train._batches import resolve_batch_size
from funcgrad.train._errors import TrainError
from funcgrad.train._setup import (
    DEFAULTS,
    MODELS,
    build_model,
    default_dataset,
    loss_for,
    make_optimizer,
)

__all__ = [
    "CUSTOM",
    "RESUMABLE",
    "Setup",
    "check_fingerprint",
    "fingerprint",
    "is_optax",
    "resolve",
]

# Settings a resumed run may change; any other change would make it a different run.
RESUMABLE = {"epochs", "keep"}
# Your own objects cannot be saved to config.json: fit records a description of each instead.
CUSTOM = "custom: "


def is_optax(optimizer: object) -> bool:
    """Whether ``optimizer`` is an optax transformation, recognised by its protocol (``init``, ``update``).

    Any object with callable ``init`` and ``update`` counts, whatever its class: optax's own
    ``GradientTransformation`` (a NamedTuple), its ``GradientTransformationExtraArgs``, or yours.

    Example:
        >>> import optax
        >>> is_optax(optax.sgd(0.1)), is_optax("sgd"), is_optax((1, 2))
        (True, False, False)
    """
    return callable(getattr(optimizer, "init", None)) and callable(
        getattr(optimizer, "update", None)
    )


@dataclass(frozen=True)
class Setup:
    """A run's resolved settings: what ``config.json`` records, and the objects they name.

    Attributes:
        config: the settings as saved to ``config.json`` (names, or descriptions of your objects).
        model: the model to train, applied to whole batches.
        dataset: the data.
        loss: ``loss(outputs, targets) -> scalar``.
        optimizer: the optax transformation.
        batch: examples per step.
        key: the run's root key (init, shuffles, step keys).
        mesh: the data-parallel mesh, or ``None`` on one device.
        custom_optimizer: whether the optimizer is your own object (no ``lr`` to advise on).
        fingerprinted: whether the run records and checks a fingerprint of its state's shapes.
    """

    config: dict[str, Any]
    model: Module
    dataset: Dataset
    loss: Callable[[Any, Any], jax.Array]
    optimizer: optax.GradientTransformation
    batch: int
    key: jax.Array
    mesh: Any
    custom_optimizer: bool
    fingerprinted: bool


def resolve(
    model: str | Module | None,
    data: str | Path | Dataset | None,
    *,
    loss: Callable[[Any, Any], jax.Array] | None,
    optimizer: str | optax.GradientTransformation | None,
    lr: float | None,
    epochs: int | None,
    batch_size: int | str | None,
    key: int | jax.Array | None,
    scan: bool | str | None,
    keep: int | None,
    devices: int | None,
    saved: dict[str, Any] | None,
) -> Setup:
    """Turn ``fit``'s arguments (names or objects) and a saved run's config into a :class:`Setup`.

    Raises :class:`TrainError` naming the setting when one is invalid, or when resuming with
    settings other than the saved run's.

    Example:
        >>> s = resolve("linear", "synthetic-linear", loss=None, optimizer=None, lr=None,
        ...             epochs=None, batch_size=None, key=None, scan=None, keep=None,
        ...             devices=None, saved=None)
        >>> s.config["model"], s.config["seed"], s.custom_optimizer
        ('linear', 0, False)
    """
    # a data file is recorded by its absolute path, so resume finds it from any directory
    data_name = data.name if isinstance(data, Dataset) else data and dataset_id(data)
    custom_opt = optimizer if is_optax(optimizer) else None
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
    config = _settle(given, saved, custom=not (isinstance(model, str) or model is None))
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
    opt = (
        cast(optax.GradientTransformation, custom_opt)
        if custom_opt is not None
        else make_optimizer(config["optimizer"], config["lr"])
    )
    seed = config["seed"]
    # The seed is an int unless ``key`` is a jax key.
    run_key = jax.random.PRNGKey(seed) if isinstance(seed, int) else cast(jax.Array, key)
    fingerprinted = (
        custom_opt is not None
        or isinstance(model, Module)
        or bool(saved and "fingerprint" in saved)
    )
    return Setup(
        config,
        net,
        ds,
        loss or loss_for(ds),
        opt,
        batch,
        run_key,
        mesh,
        custom_opt is not None,
        fingerprinted,
    )


def fingerprint(state: TrainState) -> str:
    """A short hash of the shapes, dtypes and tree structure of params, buffers and optimiser state.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcgrad.loop import TrainState
        >>> zero = jnp.array(0)
        >>> len(fingerprint(TrainState({"w": jnp.ones(2)}, {}, (), zero, zero, zero)))
        16
    """
    parts = [state.params, state.buffers, state.opt_state]
    text = "|".join(
        f"{jax.tree.structure(p)}:{[(x.shape, str(x.dtype)) for x in jax.tree.leaves(p)]}"
        for p in parts
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_fingerprint(fingerprint: str, saved: dict[str, Any] | None) -> None:
    """Refuse to resume a saved run whose state had other shapes than this one's.

    Example:
        >>> check_fingerprint("abc", {"fingerprint": "abc"})  # the same: nothing happens
    """
    if saved is not None and saved.get("fingerprint") not in (None, fingerprint):
        raise TrainError(
            "resume: the model's params, buffers or optimizer state differ in shape from the "
            "saved run's; pass the same model and optimizer, or choose a new out"
        )


def _name(f: Callable[..., Any]) -> str:
    """A loss's recordable name: ``module.qualname`` for a function, else its ``repr``."""
    qualname = getattr(f, "__qualname__", None)
    return f"{f.__module__}.{qualname}" if qualname else repr(f)


def _key_text(key: jax.Array) -> str:
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return "key " + ",".join(str(int(v)) for v in np.asarray(data).ravel())


def _settle(
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
                "scan": "auto",
                "keep": 3,
            }.items()
        }
    model = given["model"] or "mynet"
    given = given | {"model": model, "dataset": given["dataset"] or default_dataset(model)}
    if given["model"] not in DEFAULTS:
        raise TrainError(f"unknown model {given['model']!r}; choose one of {', '.join(MODELS)}")
    defaults = DEFAULTS[given["model"]]._asdict() | {"seed": 0, "scan": "auto", "keep": 3}
    return {k: defaults.get(k) if v is None else v for k, v in given.items()}
