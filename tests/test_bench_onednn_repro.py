"""``scripts/bench/onednn_repro.py --quick`` runs end to end and reports what the limit's claim needs.

A smoke test, not a timed one: the versions, a row per JAX variant of each case with positive
timings against PyTorch with and without oneDNN, PyTorch's costliest ops in both modes, and the
JSON; never how large a ratio is.
"""

from __future__ import annotations

import re

import jax
import torch
from _bench_scripts import run_quick

NUMBER = r"([\d.]+)"
ROW = re.compile(
    rf"^\| (lstm|lenet) \| ([\w ,]+) \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER}x \| {NUMBER}x \|$"
)


def test_quick_run_reports_versions_both_torch_modes_and_their_costliest_ops(tmp_path):
    text, report = run_quick("onednn_repro.py", tmp_path)
    assert f"jax {jax.__version__}" in text and f"torch {torch.__version__}" in text
    rows = [m.groups() for m in map(ROW.match, text.splitlines()) if m]
    assert [(r[0], r[1]) for r in rows] == [
        ("lstm", "scan"),
        ("lstm", "scan, hoisted"),
        ("lenet", "jit step"),
    ], text
    assert all(float(v) > 0 for r in rows for v in r[2:]), text
    for case in ("lstm", "lenet"):
        tops = report["cases"][case]["torch_top_ops"]
        assert set(tops) == {"oneDNN", "no oneDNN"}
        assert all(
            len(ops) == 3 and all(0 < share <= 1 for _, share in ops) for ops in tops.values()
        )
        assert f"{case}, oneDNN: aten::" in text
