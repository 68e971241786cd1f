"""Run Python subprocesses that always end: a timeout, then the whole process group is killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jax_env(cpu_devices: int = 1, **extra: str) -> dict[str, str]:
    """This environment with ``cpu_devices`` fake host devices and no inherited JAX_* launcher vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env.update(JAX_NUM_CPU_DEVICES=str(cpu_devices), JAX_PLATFORMS="cpu", OMP_NUM_THREADS="1")
    env.update(extra)
    return env


# Runs the real command after asking Linux to SIGKILL it when the test process dies
# (PR_SET_PDEATHSIG survives exec), so a killed test run leaves no orphans. A plain exec stub
# rather than a preexec_fn: forking a multithreaded JAX process is unsafe.
_DIE_WITH_PARENT = (
    "import ctypes, os, sys\n"
    "if sys.platform.startswith('linux'): ctypes.CDLL(None).prctl(1, 9)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def run_all(commands: Sequence[Sequence[str]], env: dict[str, str], timeout: float) -> list[str]:
    """Start every command at once, wait for all, and return their outputs; raise on failure.

    Each command gets its own process group, killed in ``finally`` whatever happened, and dies
    with this process if it is killed, so a hung collective can never outlive the test.
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DIE_WITH_PARENT, *cmd],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        for cmd in commands
    ]
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    for p, cmd, out in zip(procs, commands, outputs, strict=True):
        if p.returncode:
            raise AssertionError(f"{' '.join(cmd)} exited with {p.returncode}:\n{out[-3000:]}")
    return outputs
