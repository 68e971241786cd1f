"""What every framework worker shares: the workloads, their data, and the timing loop.

A worker module (``fw_<name>.py``) exposes ``build(workload, quick) -> Bench | float | None``:
a ``Bench`` to time, a number of seconds already measured (compile times), or ``None`` where the
framework has no such workload; and ``KERNELS``, one line saying how its CPU kernels were chosen
(which compiler options or flags, if any). Data come from one seeded NumPy generator, so every
framework sees the same shapes and values.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

MYNET = (600, 60, 40, 10)  # the notes' mynet on a 3x10x20 image
IMAGE = (3, 10, 20)
CONV_IMAGE = (1, 28, 28)
NUM_CLASSES = 10
LR = 0.01
EPOCH_STEPS = 50  # steps in one "epoch" of the fused-vs-loop workload

# workload id -> (what one unit is, short description)
WORKLOADS: dict[str, tuple[str, str]] = {
    "mynet_b64": ("steps/s", "MyNet 600-60-40-10 train step, batch 64"),
    "mynet_b256": ("steps/s", "MyNet train step, batch 256"),
    "convnet_b64": ("steps/s", "ConvNet + linear head, 28x28, train step, batch 64"),
    "lenet_b64": (
        "steps/s",
        "LeNet5 (conv-BN-ReLU-pool x2, dropout) train step, 1x28x28, batch 64",
    ),
    "single_layer": ("steps/s", "SingleLayer(5, 3) + BCE-with-logits train step, batch 64"),
    "epoch_loop": ("steps/s", f"MyNet b64, Python loop of {EPOCH_STEPS} jitted steps"),
    "epoch_fused": ("steps/s", f"MyNet b64, {EPOCH_STEPS} steps fused in one lax.scan"),
    "psg_vmap": ("calls/s", "MyNet b64 per-sample gradients, vmap(grad)"),
    "psg_loop": ("calls/s", "MyNet b64 per-sample gradients, loop over examples"),
    "mynet_fwd": ("calls/s", "MyNet b64 loss, forward only"),
    "mynet_grad": ("calls/s", "MyNet b64 loss, value and gradient"),
    "convnet_fwd": ("calls/s", "ConvNet b64 loss, forward only"),
    "convnet_grad": ("calls/s", "ConvNet b64 loss, value and gradient"),
    "mynet_compile": ("s", "MyNet b64 train step, first-call compile time"),
    "convnet_compile": ("s", "ConvNet b64 train step, first-call compile time"),
    "lstm_lm": (
        "steps/s",
        "LSTM language model train step: 2 layers of 200, sequence 35, batch 20, vocab 10k",
    ),
    "gpt": ("steps/s", "GPT train step: 4 layers, 128 wide, 4 heads, sequence 64, batch 16"),
    "dcgan_g": ("steps/s", "DCGAN generator train step, batch 64, 64x64 output"),
}

# Epoch time (``epoch_fit.py``): fit's default epoch against an idiomatic PyTorch loop, and fit
# with each path forced (funcgrad only), on each model's default data and settings.
# Every built-in model of ``funcgrad train``, by workload id (``fit_<id>``): its model name.
FIT_MODELS = {
    "mynet": "mynet",
    "convnet": "convnet",
    "single_layer": "single-layer",
    "lenet": "lenet",
    "linear": "linear",
    "charlstm": "charlstm",
    "gpt": "gpt",
}
FIT_WORKLOADS: dict[str, tuple[str, bool | None]] = {
    f"fit_{m}{suffix}": (name, scan)
    for m, name in FIT_MODELS.items()
    for suffix, scan in (("", None), ("_scan", True), ("_loop", False))
}
for _w, (_m, _scan) in FIT_WORKLOADS.items():
    _how = {None: "fit's default, scan='auto'", True: "scan=True", False: "scan=False"}[_scan]
    WORKLOADS[_w] = ("examples/s", f"{_m} epoch on its bundled data and defaults, eval; {_how}")

# The sequence and generator workloads (``seq_<framework>.py`` builds them). The LSTM model is
# PyTorch's word language model example at its defaults (embedding and hidden 200, 2 layers,
# bptt 35, batch 20) on a Penn-Treebank-sized vocabulary, dropout off; the GPT is nanoGPT's
# (pre-norm blocks, causal attention, GELU MLP of 4x, lm_head tied to the token embedding) on a
# character vocabulary; the DCGAN generator is the DCGAN paper's (nz 100, ngf 64, batch norm in
# train mode), fitted to a batch of images with a mean-squared error.
SEQ_WORKLOADS = ("lstm_lm", "gpt", "dcgan_g")
LSTM = {"vocab": 10_000, "hidden": 200, "layers": 2, "seq": 35, "batch": 20}
GPT = {"vocab": 65, "width": 128, "layers": 4, "heads": 4, "seq": 64, "batch": 16}
DCGAN = {"nz": 100, "ngf": 64, "channels": 3, "batch": 64}


@dataclass
class Bench:
    """``run()`` does one unit of work (possibly asynchronously); ``sync()`` waits for all of it."""

    run: Callable[[], object]
    sync: Callable[[], object] = field(default=lambda: None)
    units: int = 1  # units of work per run() call (an epoch is EPOCH_STEPS steps)


# The batch-size sweep (``benchmark.py --sweep``): the train step of these models at these sizes.
SWEEP_MODELS = ("mynet", "lenet")
SWEEP_SIZES = (1, 4, 16, 64, 256, 1024)


def sweep_workloads(sizes: tuple[int, ...] = SWEEP_SIZES) -> list[str]:
    """``mynet_b1``, ``mynet_b4``, ..., ``lenet_b1024``: train-step workloads named by batch."""
    return [f"{m}_b{n}" for m in SWEEP_MODELS for n in sizes]


def known(workload: str) -> bool:
    """A workload of the table, or a sweep step (``<model>_b<batch>``)."""
    return workload in WORKLOADS or bool(
        re.fullmatch(rf"({'|'.join(SWEEP_MODELS)})_b\d+", workload)
    )


def kind_of(workload: str) -> str:
    """The model a workload runs: ``"mynet"``, ``"convnet"``, ``"lenet"`` or ``"single"``."""
    if workload == "single_layer":
        return "single"
    return next((k for k in ("convnet", "lenet") if workload.startswith(k)), "mynet")


def data(kind: str, batch: int, steps: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets for a :func:`kind_of` kind; ``steps`` stacks that many batches."""
    rng = np.random.default_rng(0)
    lead = (steps, batch) if steps else (batch,)
    if kind == "single":
        x = rng.standard_normal((*lead, 5), dtype=np.float32)
        return x, (rng.random((*lead, 3)) < 0.5).astype(np.float32)
    shape = IMAGE if kind == "mynet" else CONV_IMAGE
    x = rng.standard_normal((*lead, *shape), dtype=np.float32)
    return x, rng.integers(0, NUM_CLASSES, lead).astype(np.int32)


def batch_of(workload: str) -> int:
    """The batch of a ``..._b<batch>`` workload; 64 for the others."""
    found = re.search(r"_b(\d+)$", workload)
    return int(found.group(1)) if found else 64


def time_bench(b: Bench, quick: bool) -> float:
    """Median units per second over a few timed blocks, after a warm-up."""
    for _ in range(2):
        b.run()
    b.sync()
    target = 0.03 if quick else 0.15  # seconds per timed block
    n, elapsed = 1, 0.0
    while True:  # grow the block until it lasts long enough to time
        t0 = time.perf_counter()
        for _ in range(n):
            b.run()
        b.sync()
        elapsed = time.perf_counter() - t0
        if elapsed >= target or n >= 1 << 16:
            break
        n = max(n + 1, int(n * 1.5 * target / max(elapsed, 1e-6)))
    rates = [n * b.units / elapsed]
    for _ in range(2 if quick else 4):
        t0 = time.perf_counter()
        for _ in range(n):
            b.run()
        b.sync()
        rates.append(n * b.units / (time.perf_counter() - t0))
    return float(np.median(rates))


def timed_first_call(fn: Callable[[], object]) -> float:
    """Seconds taken by ``fn()``, used for compile-on-first-call times."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def seq_data(workload: str) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of a :data:`SEQ_WORKLOADS` workload, the same in every framework.

    ``lstm_lm``: tokens ``(seq, batch)`` (the example's time-major layout) and next tokens;
    ``gpt``: tokens ``(batch, seq)`` and next tokens; ``dcgan_g``: noise ``(N, nz, 1, 1)`` and
    target images ``(N, 3, 64, 64)`` in [-1, 1].
    """
    rng = np.random.default_rng(0)
    if workload == "dcgan_g":
        z = rng.standard_normal((DCGAN["batch"], DCGAN["nz"], 1, 1), dtype=np.float32)
        images = rng.uniform(-1, 1, (DCGAN["batch"], DCGAN["channels"], 64, 64))
        return z, images.astype(np.float32)
    cfg = LSTM if workload == "lstm_lm" else GPT
    tokens = rng.integers(0, cfg["vocab"], (cfg["batch"], cfg["seq"] + 1)).astype(np.int32)
    x, y = tokens[:, :-1], tokens[:, 1:]
    return (x.T.copy(), y.T.copy()) if workload == "lstm_lm" else (x, y)
