"""Run one of ``scripts/bench``'s reproduction scripts in its quick mode, as the smoke tests do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench"


def run_quick(script: str, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """``script --quick --json``: its standard output and its JSON report; a failure fails the test."""
    out = tmp_path / "repro.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, json.loads(out.read_text())
