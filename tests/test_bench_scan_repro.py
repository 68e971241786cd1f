"""``scripts/bench/scan_conv_repro.py --quick`` runs end to end and reports what an upstream issue needs.

A smoke test, not a timed one: the versions, a row per step kind with positive timings, XLA's
per-op profile and the convolutions of both optimized programs, and the JSON; never how large
the ratio is.
"""

from __future__ import annotations

import re

import jax
import jaxlib
from _bench_scripts import run_quick

ROW = re.compile(
    r"^\| (conv|dot) \| (\w+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \(([\d.]+)-([\d.]+)\) \|$"
)


def test_quick_run_reports_versions_ratios_and_the_profile(tmp_path):
    text, report = run_quick("scan_conv_repro.py", tmp_path)
    assert f"jax {jax.__version__}, jaxlib {jaxlib.__version__}" in text
    rows = [m.groups() for m in map(ROW.match, text.splitlines()) if m]
    assert sorted(r[0] for r in rows) == ["conv", "dot"], text
    for _, _, loop_ms, scan_ms, ratio, lo, hi in rows:
        assert float(loop_ms) > 0 and float(scan_ms) > 0
        assert float(lo) <= float(ratio) <= float(hi)
    assert "where the time goes" in text and "convolution" in text
    assert "loop: convolutions in the optimized HLO:" in text
    assert "scan: convolutions in the optimized HLO:" in text
    assert report["jaxlib"] == jaxlib.__version__ and len(report["rows"]) == 2
    profile = report["profile_eigen"]
    assert profile["loop"]["convolution"] > 0 and profile["scan"]["convolution"] > 0
    assert sum(profile["loop_dim_labels"].values()) == 5  # two forward, three backward convs
