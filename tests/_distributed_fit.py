"""``fit`` on 2 and 8 host devices, in a subprocess started with ``JAX_NUM_CPU_DEVICES=8``.

    python tests/_distributed_fit.py OUT_DIR

Writes ``OUT_DIR/runs.json`` (final params and loss curves of each run, and the error that a batch
not divisible by the device count raises) and a 1-epoch run on 8 devices with checkpoints in
``OUT_DIR/ckpt8`` for the cross-device restore test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax
import numpy as np

from funcgrad import distributed as dist
from funcgrad import flatten_dict
from funcgrad.train import fit

SETTINGS = {
    "model": "mynet",
    "data": "digits",
    "batch_size": 64,
    "key": 0,
    "progress": "none",
}
EPOCHS = 2
RUNS = [(2, False), (8, False), (8, True)]  # (devices, scan)


def summary(result) -> dict:
    params = flatten_dict(dist.to_host(result.params))
    leaves = jax.tree.leaves(result.params)
    return {
        # The params the run ended with live on every device of the mesh, replicated.
        "param_devices": min(len(leaf.sharding.device_set) for leaf in leaves),
        "replicated": all(leaf.sharding.is_fully_replicated for leaf in leaves),
        "params": {k: np.asarray(v).tolist() for k, v in params.items()},
        "train_loss": [row["train_loss"] for row in result.history],
        "test_loss": [row["test_loss"] for row in result.history],
    }


def main(out: Path) -> None:
    runs = [
        {
            "devices": n,
            "scan": scan,
            **summary(fit(epochs=EPOCHS, devices=n, scan=scan, **SETTINGS)),
        }
        for n, scan in RUNS
    ]
    fit(epochs=1, devices=8, out=out / "ckpt8", **SETTINGS)
    try:
        fit(epochs=1, devices=8, **{**SETTINGS, "batch_size": 100})
        error = None
    except dist.DistributedError as e:
        error = str(e)
    (out / "runs.json").write_text(json.dumps({"runs": runs, "indivisible_error": error}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
