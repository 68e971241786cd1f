"""Train MyNet a few data-parallel steps and write params and losses to JSON (a test subprocess).

Run as a script so that device-count flags and ``jax.distributed`` take effect before JAX starts:
    python tests/_distributed_worker.py OUT.json --devices 1 2 8
    python tests/_distributed_worker.py OUT.json --coordinator HOST:PORT --num-processes 2 --process-id 0
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from funcgrad import distributed as dist
from funcgrad import train as fg_train

BATCH, ROWS, STEPS_PER_EPOCH, EPOCHS = 16, 64, 4, 2


def make_step(net, opt):
    """A hand-written jitted train step on a batch: ``step(params, opt_state, x, y)``."""
    import jax
    import optax

    from funcgrad.losses import cross_entropy

    def loss_fn(p, xb, yb):
        return cross_entropy(jax.vmap(net.apply, in_axes=(None, 0))(p, xb), yb)

    @jax.jit
    def step(p, s, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    return step


def train(mesh) -> dict:
    import jax
    import optax

    from funcgrad.models import MyNet

    net = MyNet(64, 16, 12, 10)
    key, k_init, k_x, k_y = jax.random.split(jax.random.PRNGKey(0), 4)
    x = np.asarray(jax.random.normal(k_x, (ROWS, 8, 8)))
    y = np.asarray(jax.random.randint(k_y, (ROWS,), 0, 10))
    opt = optax.adam(1e-2)
    params = net.init(k_init)
    state = opt.init(params)
    params, state = dist.replicate((params, state), mesh)

    step = make_step(net, opt)
    dist.check_divisible(BATCH, mesh)
    losses, local_rows, limit = [], [], dist.DispatchLimit(mesh)
    for epoch in range(EPOCHS):
        order = np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch), ROWS))
        for b in range(STEPS_PER_EPOCH):
            rows = dist.process_rows(order[b * BATCH : (b + 1) * BATCH])
            local_rows.append(len(rows))
            xb, yb = dist.shard_batch((x[rows], y[rows]), mesh)
            params, state, loss = step(params, state, xb, yb)
            losses.append(limit(loss))  # no sync per step: DispatchLimit keeps the queue short
    hlo = step.lower(params, state, xb, yb).compile().as_text()
    replicated = all(leaf.sharding.is_fully_replicated for leaf in jax.tree.leaves(params))
    host = dist.to_host(params)
    return {
        "losses": [float(dist.to_host(loss)) for loss in losses],
        "params": {k: np.asarray(v).tolist() for k, v in _flat(host).items()},
        "replicated": replicated,
        "all_reduce": "all-reduce" in hlo,
        "devices": 1 if mesh is None else mesh.size,
        "local_rows": local_rows,
        "process": jax.process_index(),
        "processes": jax.process_count(),
    }


def _flat(tree):
    from funcgrad import flatten_dict

    return flatten_dict(tree)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--devices", type=int, nargs="*", default=[None])
    parser.add_argument("--coordinator")
    parser.add_argument("--num-processes", type=int)
    parser.add_argument("--process-id", type=int)
    args = parser.parse_args()
    fg_train.initialize(args.coordinator, args.num_processes, args.process_id, timeout_s=30)
    runs = [train(dist.data_mesh(n)) for n in args.devices]
    if dist.is_main_process():
        with open(args.out, "w") as f:
            json.dump(runs, f)


if __name__ == "__main__":
    main()
