"""Train with fit() and SIGKILL this very process in the middle of an epoch (for the crash test).

Usage: python tests/_train_kill.py OUT EPOCH STEP
"""

import os
import signal
import sys

from funcgrad.train import fit

out, kill_epoch, kill_step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def kill_mid_epoch(epoch: int, step: int, loss: float) -> None:
    if (epoch, step) == (kill_epoch, kill_step):
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally blocks: a real crash


fit(
    "mynet",
    "digits",
    epochs=3,
    batch_size=64,
    keep=2,
    out=out,
    progress="lines",
    on_step=kill_mid_epoch,
    scan=False,  # on_step needs the step loop; said outright, so that the resumed run loops too
)
sys.exit("the run was not killed")
