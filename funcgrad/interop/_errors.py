"""The errors ``fg.interop`` raises, under their public module's name."""

from __future__ import annotations

__all__ = ["ConversionError", "NnxConversionError", "StateDictMismatchError"]


class StateDictMismatchError(ValueError):
    """A state_dict does not fit the model: entries are missing or unexpected, or shapes differ.

    The message lists every offending entry on one line, each named as a parameter or a buffer.

    Example:
        >>> import funcgrad as fg
        >>> issubclass(fg.interop.StateDictMismatchError, ValueError)
        True
    """

    __module__ = "funcgrad.interop"


class NnxConversionError(ValueError):
    """A funcgrad layer ``to_nnx`` cannot express in ``flax.nnx``: it names the layer's dotted path,
    its type and the option, and how to get round it.

    Example:
        >>> import funcgrad as fg
        >>> issubclass(fg.interop.NnxConversionError, ValueError)
        True
    """

    __module__ = "funcgrad.interop"


class ConversionError(ValueError):
    """A torch model funcgrad cannot convert: it names the op or module type, its module path and
    the line of the user's ``forward``.

    Example:
        >>> import funcgrad as fg
        >>> e = fg.interop.ConversionError("no rule", op="torch.fft.fft", path="encoder", line="m.py:3")
        >>> e.op, e.path, e.line
        ('torch.fft.fft', 'encoder', 'm.py:3')
    """

    __module__ = "funcgrad.interop"

    def __init__(self, message: str, *, op: str = "", path: str = "", line: str = "") -> None:
        super().__init__(message)
        self.op, self.path, self.line = op, path, line
