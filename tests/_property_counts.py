"""How many hypothesis cases each property test ran, as a section at the end of the pytest log.

Each property test records ``(COUNT_KEY, n)`` with ``record_property`` (see ``_properties.py``).
The two hooks below read it back from the test reports, which pytest-xdist ships from its workers to
the controller, so the section appears with ``-n auto`` too. They are hooks only once
``tests/conftest.py`` imports them; this module imports nothing heavy, so that import costs nothing.
"""

from __future__ import annotations

import os
from typing import Any

COUNT_KEY = "hypothesis_cases"
PROFILE_ENV = "FUNCGRAD_HYPOTHESIS_PROFILE"

_counts: dict[str, int] = {}


def pytest_runtest_logreport(report: Any) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:  # lists, not tuples, after xdist's round trip
        if name == COUNT_KEY:
            _counts[report.nodeid] = int(value)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _counts:
        return
    profile = os.environ.get(PROFILE_ENV, "ci")
    terminalreporter.section(f"hypothesis cases per property (profile {profile!r})")
    for nodeid, n in sorted(_counts.items()):
        terminalreporter.write_line(f"{n:6d}  {nodeid}")
    total = sum(_counts.values())
    terminalreporter.write_line(f"{total:6d}  cases in {len(_counts)} property tests")
