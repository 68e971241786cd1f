"""``CommandError``: a bad flag or input file of a ``funcgrad`` command, reported as one line."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """A bad flag or input file: the command prints ``error: <message>`` and exits with 1.

    Example:
        >>> from funcgrad.cli import CommandError
        >>> str(CommandError("--input-shape 'x' is not a shape; write sizes like 1,1,28,28"))
        "--input-shape 'x' is not a shape; write sizes like 1,1,28,28"
    """

    __module__ = "funcgrad.cli"
