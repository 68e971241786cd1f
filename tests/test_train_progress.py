"""Progress: a tqdm bar with loss and throughput on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from funcgrad.train._progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ROW = {"epoch": 1, "train_loss": 0.5, "test_loss": 0.4, "seconds": 1.0, "examples_per_second": 64}


def test_terminal_gets_a_bar_with_loss_and_throughput():
    out = Terminal()
    p = Progress(epochs=2, stream=out)
    p.start_epoch(1, examples=64)
    for _ in range(4):
        p.advance(16, 0.25)
    p._bar.refresh()
    bar = out.getvalue()
    p.end_epoch(ROW)
    assert "epoch 1/2" in bar and "ex/s" in bar and "loss=0.2500" in bar and "100%" in bar
    assert out.getvalue().endswith(
        "epoch 1/2  train_loss 0.5000  test_loss 0.4000  1.0s  64 ex/s\n"
    )


def test_quiet_or_pipe_gets_one_plain_line_per_epoch():
    for stream, mode in ((Terminal(), "lines"), (io.StringIO(), "auto")):
        p = Progress(epochs=2, mode=mode, stream=stream)
        p.start_epoch(1, examples=64)
        p.advance(64, 0.25)
        p.end_epoch(ROW)
        assert (
            stream.getvalue() == "epoch 1/2  train_loss 0.5000  test_loss 0.4000  1.0s  64 ex/s\n"
        )
    silent = io.StringIO()
    Progress(epochs=1, mode="none", stream=silent).end_epoch(ROW)
    assert silent.getvalue() == ""
