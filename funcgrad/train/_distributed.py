"""Joining several processes into one JAX runtime (``jax.distributed``): process-global, so the
application does it (``funcgrad train``, or your script), never the library core."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

import jax

from funcgrad.distributed._errors import CoordinatorUnreachableError, DistributedError

__all__ = ["initialize"]

# Environment variables for launchers that cannot pass flags. JAX itself reads the first one;
# the other two follow its naming so that one set of variables configures every process.
ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"
ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"
AUTO = "auto"


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise DistributedError(
            f"{name}={value!r} is not an integer; set it to a whole number"
        ) from None


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise DistributedError(
            f"coordinator address {address!r} is not HOST:PORT; pass e.g. 127.0.0.1:12355"
        )
    return host.strip("[]"), int(port)


def _wait_for_coordinator(address: str, timeout_s: float, deadline: float) -> None:
    """Poll the coordinator's TCP port: JAX's own client aborts the process when it is unreachable."""
    host, port = _split_address(address)
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(0.1, min(1.0, timeout_s))):
                return
        except OSError as err:
            if time.monotonic() >= deadline:
                raise CoordinatorUnreachableError(
                    f"coordinator {address} unreachable after {timeout_s:g} s ({err.strerror or err}); "
                    "start process 0 first, on the host and port every process is given"
                ) from None
            time.sleep(0.2)


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    timeout_s: float = 60.0,
) -> None:
    """Join this process to a multi-process JAX runtime, or do nothing for a single process.

    Call it first, before anything touches a JAX device. Every process runs the same program with
    the same ``coordinator`` (process 0's ``HOST:PORT``) and ``num_processes``, and its own
    ``process_id``. Unset arguments come from ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``
    and ``JAX_PROCESS_ID``; with none of them set this is a no-op. ``coordinator="auto"`` lets JAX
    detect a managed cluster (Cloud TPU, SLURM, Open MPI, Kubernetes). On CPU the processes
    exchange gradients through gloo, so a run can be tried on one machine over 127.0.0.1.

    A process other than 0 that cannot reach the coordinator within ``timeout_s`` seconds raises
    ``CoordinatorUnreachableError``. If the processes do not all join within ``timeout_s``, JAX
    ends every process (there is no exception to catch); a line on stderr says why just before.

    Args:
        coordinator: process 0's ``HOST:PORT``, or ``"auto"``; ``None`` reads
            ``JAX_COORDINATOR_ADDRESS``.
        num_processes: the number of processes; ``None`` reads ``JAX_NUM_PROCESSES``.
        process_id: this process's rank; ``None`` reads ``JAX_PROCESS_ID``.
        timeout_s: how long to wait for the coordinator and the other processes, in seconds.

    Example:
        >>> initialize()  # nothing given, no JAX_* variables: one process, nothing to do
        >>> jax.process_index() == 0
        True
    """
    coordinator = coordinator or os.environ.get(ENV_COORDINATOR)
    if num_processes is None:
        num_processes = _env_int(ENV_NUM_PROCESSES)
    if process_id is None:
        process_id = _env_int(ENV_PROCESS_ID)
    if coordinator is None and num_processes is None and process_id is None:
        return
    if coordinator == AUTO:
        coordinator = None  # JAX's cluster detection fills in all three
    elif coordinator is None or num_processes is None or process_id is None:
        raise DistributedError(
            "multi-process training needs all of --coordinator HOST:PORT, --num-processes P and "
            f"--process-id I (or {ENV_COORDINATOR}, {ENV_NUM_PROCESSES}, {ENV_PROCESS_ID}); got "
            f"coordinator={coordinator}, num_processes={num_processes}, process_id={process_id}"
        )
    elif num_processes < 1:
        raise DistributedError(f"--num-processes must be at least 1, got {num_processes}")
    elif not 0 <= process_id < num_processes:
        raise DistributedError(
            f"process id {process_id} is not in 0..{num_processes - 1}; give each of the "
            f"{num_processes} processes its own id from 0 to {num_processes - 1}"
        )
    if timeout_s <= 0:
        raise DistributedError(f"timeout_s must be positive, got {timeout_s}")
    if jax.distributed.is_initialized():
        raise RuntimeError("jax.distributed is already initialised; call initialize() once")
    deadline = time.monotonic() + timeout_s  # one budget for reaching and for joining
    if coordinator is not None and process_id != 0:
        _wait_for_coordinator(coordinator, timeout_s, deadline)
    left = max(1.0, deadline - time.monotonic())
    # gloo is the CPU collectives backend in current JAX; older versions default to none.
    # (ignore: a live option that the typed jax.config does not declare)
    if jax.config.jax_cpu_collectives_implementation in (None, "none"):  # type: ignore[attr-defined]
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    # JAX ends the process with a terse DEADLINE_EXCEEDED when the processes do not all join in
    # time; say first, in words, what it is waiting for.
    warning = threading.Timer(
        max(0.5 * left, left - 1.0),
        lambda: print(
            f"funcgrad: still waiting for all {num_processes or 'the'} processes to join at "
            f"{coordinator or 'the detected coordinator'}; "
            f"JAX stops this process when the {timeout_s:g} s timeout runs out: start every "
            "process with the same --coordinator and --num-processes, and a distinct --process-id",
            file=sys.stderr,
            flush=True,
        ),
    )
    warning.daemon = True
    warning.start()
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=round(left),
        )
    except RuntimeError as err:
        if "before any JAX calls" in str(err):
            raise RuntimeError(
                "distributed initialize() must run before anything uses a JAX device; "
                "call it first thing in the program"
            ) from err
        raise
    finally:
        warning.cancel()
