"""Drawings the notebooks show that are not plots of data (notebook 02's dataflow diagram).

Kept out of the notebooks so that their cells show the lesson, not matplotlib's patch API.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

STATE, VALUE, FUNCTION = "#e8e8e8", "#dbe9f6", "#fde3c4"
WRITE, READ = "#c0392b", "0.35"


def _box(ax, x, y, text, color, w=2.6, h=0.9, rounded=True, size=9):
    style = "round,pad=0.08,rounding_size=0.25" if rounded else "square,pad=0.08"
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle=style, fc=color, ec="0.3", lw=1.0, zorder=2
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=size, zorder=3)


def _arrow(ax, start, end, text="", color=READ, rad=0.0, at=None):
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        zorder=1,
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "lw": 1.6,
            "shrinkA": 2,
            "shrinkB": 2,
            "connectionstyle": f"arc3,rad={rad}",
        },
    )
    if text:
        ax.text(*at, text, fontsize=8.5, color=color, ha="left", va="center", zorder=3)


def _group(ax, y, label):
    """A white frame around two boxes, labelled in the gap between them."""
    frame = FancyBboxPatch((0.6, y - 1.1), 8.8, 2.2, boxstyle="round,pad=0.1", fc="white", ec="0.3")
    ax.add_patch(frame)
    ax.text(5, y, label, ha="center", va="center", fontsize=8.5, style="italic")


def _stateful(ax):
    ax.set_title("PyTorch: state lives in objects, changed in place", fontsize=11)
    _group(ax, 6.4, "the model's\nparameters")
    _box(ax, 2.7, 6.4, "w.data\n(the weights)", STATE, w=2.6, h=1.2, rounded=False)
    _box(ax, 7.3, 6.4, "w.grad\n(stored gradient)", STATE, w=2.6, h=1.2, rounded=False)
    _group(ax, 1.6, "the\noptimizer")
    _box(ax, 2.7, 1.6, "references to\nthe same w", STATE, w=2.6, h=1.2, rounded=False)
    _box(ax, 7.3, 1.6, "momentum buffers\n(rewritten by step)", STATE, w=2.6, h=1.2, rounded=False)
    _box(
        ax,
        5.0,
        10.2,
        "loss = F.mse_loss(model(x), y)\nrecords a grad_fn graph",
        FUNCTION,
        w=5.6,
        h=1.1,
    )

    _arrow(ax, (2.7, 7.1), (3.4, 9.6), "② forward\nreads w.data", at=(0.6, 8.6))
    _arrow(ax, (6.6, 9.6), (7.3, 7.1), "③ loss.backward()\nadds into w.grad", WRITE, at=(7.3, 8.6))
    _arrow(ax, (7.3, 5.7), (7.3, 2.3), "④ step()\nreads w.grad", at=(7.45, 4.0))
    _arrow(ax, (2.7, 2.3), (2.7, 5.7), "④ step() writes\nw.data in place", WRITE, at=(2.85, 4.0))
    _arrow(ax, (9.75, 2.2), (9.75, 5.8), "① zero_grad()\nclears w.grad", WRITE, at=(9.9, 4.0))
    ax.text(
        5.5,
        -0.45,
        "red: a write in place. The same objects carry over to the next step.",
        ha="center",
        fontsize=9,
        color=WRITE,
    )


def _functional(ax):
    ax.set_title("funcgrad / JAX: values flow through pure functions", fontsize=11)
    _box(ax, 1.6, 10.6, "params", VALUE)
    _box(ax, 4.7, 10.6, "batch (x, y)", VALUE)
    _box(ax, 8.3, 10.6, "opt_state", VALUE)
    _box(ax, 3.2, 8.6, "jax.grad(loss_fn)", FUNCTION, rounded=False)
    _box(ax, 3.2, 6.6, "grads", VALUE)
    _box(ax, 5.8, 4.6, "tx.update", FUNCTION, rounded=False)
    _box(ax, 3.2, 2.6, "updates", VALUE)
    _box(ax, 8.3, 2.6, "new opt_state", VALUE)
    _box(ax, 3.2, 0.6, "optax.apply_updates", FUNCTION, rounded=False)
    _box(ax, 7.6, 0.6, "new params", VALUE)

    _arrow(ax, (1.9, 10.1), (2.7, 9.1))
    _arrow(ax, (4.4, 10.1), (3.7, 9.1))
    _arrow(ax, (3.2, 8.1), (3.2, 7.1))
    _arrow(ax, (3.6, 6.1), (5.2, 5.1))
    _arrow(ax, (8.3, 10.1), (6.6, 5.1), "", rad=0.15)
    _arrow(ax, (1.3, 10.1), (4.85, 4.6), "", rad=0.5)  # tx.update reads params too
    _arrow(ax, (5.2, 4.1), (3.6, 3.1))
    _arrow(ax, (6.4, 4.1), (8.0, 3.1))
    _arrow(ax, (3.2, 2.1), (3.2, 1.1))
    _arrow(ax, (0.9, 10.1), (1.9, 1.1), "", rad=0.25)
    _arrow(ax, (4.7, 0.6), (6.2, 0.6))
    ax.text(
        5,
        -0.45,
        "Every arrow passes a value; nothing is stored or zeroed. The old params and\n"
        "opt_state still exist: the next step starts from the new ones.",
        ha="center",
        va="center",
        fontsize=9,
    )


def dataflow_diagram():
    """One training step, twice: PyTorch's objects and their in-place writes, and the pure dataflow."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6.2), width_ratios=(11.8, 10.2))
    for ax, width in ((left, 11.8), (right, 10.2)):
        ax.set(xlim=(0, width), ylim=(-1.0, 11.3))
        ax.axis("off")
    _stateful(left)
    _functional(right)
    fig.tight_layout()
    return fig
