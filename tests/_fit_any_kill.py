"""``fit`` a user's Sequential and SIGKILL this very process mid-epoch (for test_fit_any_model.py).

Usage: python tests/_fit_any_kill.py OUT EPOCH STEP
"""

import os
import signal
import sys

from _fit_any import fit_digits

out, kill_epoch, kill_step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def kill_mid_epoch(epoch: int, step: int, loss: float) -> None:
    if (epoch, step) == (kill_epoch, kill_step):
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally blocks: a real crash


fit_digits(keep=2, out=out, progress="lines", on_step=kill_mid_epoch)
sys.exit("the run was not killed")
