"""The bundled character corpus as a next-character dataset: windows of text and their shifts.

Each example is ``seq_len`` characters encoded as integers (``x``), and its target is the same
window moved on by one character (``y``): the model predicts every next character at once, as a
torch language model trained with ``cross_entropy`` over the sequence does. The last tenth of the
text is held out, so the test loss (and bits per character) is measured on text never trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike

from funcgrad.data._dataset import DataError, Dataset

__all__ = ["TextDataset", "bits_per_char", "load_text"]


@dataclass(frozen=True)
class TextDataset(Dataset):
    """A :class:`Dataset` of character windows, with the vocabulary that encodes them.

    ``x_*`` and ``y_*`` are ``(N, seq_len)`` integer arrays (``y`` is ``x`` shifted by one
    character); ``num_classes`` is the vocabulary size.

    Attributes:
        name: the dataset's name (``"text"`` for the bundled corpus).
        x_train: the training windows, ``(N_train, seq_len)`` integer codes.
        y_train: the training targets, each window moved on by one character.
        x_test: the held-out windows, ``(N_test, seq_len)``.
        y_test: the held-out targets.
        num_classes: the vocabulary size, ``len(vocab)``.
        vocab: the characters, in code order (character ``vocab[i]`` is code ``i``).

    Example:
        >>> ds = load_text(seq_len=8)
        >>> ds.decode(ds.x_train[0]), ds.decode(ds.y_train[0])
        ('Hana and', 'ana and ')
        >>> ds.encode("Ada").tolist() == [ds.vocab.index(c) for c in "Ada"]
        True
    """

    vocab: str = ""

    def encode(self, text: str) -> np.ndarray:
        """``text`` as an int32 array of codes; a character outside the vocabulary raises.

        Example:
            >>> load_text().encode("Zoe")
            Traceback (most recent call last):
            ...
            funcgrad.data.DataError: 'Z' is not in the text vocabulary; use only these characters: ...
        """
        index = {c: i for i, c in enumerate(self.vocab)}
        missing = sorted(set(text) - index.keys())
        if missing:
            shown = ", ".join(repr(c) for c in missing)
            raise DataError(
                f"{shown} {'is' if len(missing) == 1 else 'are'} not in the {self.name} "
                f"vocabulary; use only these characters: {self.vocab!r}"
            )
        return np.array([index[c] for c in text], dtype=np.int32)

    def decode(self, codes: ArrayLike) -> str:
        """The characters of ``codes``."""
        return "".join(self.vocab[int(i)] for i in np.asarray(codes).ravel())


def load_text(seq_len: int = 64, test_fraction: float = 0.1) -> TextDataset:
    """The bundled corpus (``text.txt``) as non-overlapping windows of ``seq_len`` characters.

    The vocabulary is the corpus's sorted set of characters. The text is cut in two before
    windowing: the first ``1 - test_fraction`` for training, the rest held out.

    Example:
        >>> ds = load_text()
        >>> ds.name, ds.x_train.shape, ds.y_test.shape, ds.num_classes
        ('text', (4220, 64), (468, 64), 54)
    """
    if seq_len < 1:
        raise DataError(f"load_text: seq_len must be a positive int, got {seq_len}")
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"load_text: test_fraction must be in (0, 1), got {test_fraction}")
    text = resources.files("funcgrad.data").joinpath("text.txt").read_text(encoding="ascii")
    vocab = "".join(sorted(set(text)))
    lookup = np.zeros(256, np.int32)  # byte -> code
    lookup[np.frombuffer(vocab.encode("ascii"), np.uint8)] = np.arange(len(vocab))
    codes = lookup[np.frombuffer(text.encode("ascii"), np.uint8)]
    cut = round(len(codes) * (1 - test_fraction))
    x_train, y_train = _windows(codes[:cut], seq_len)
    x_test, y_test = _windows(codes[cut:], seq_len)
    return TextDataset("text", x_train, y_train, x_test, y_test, len(vocab), vocab)


def _windows(codes: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``codes[i*T : (i+1)*T]`` and targets one character on, for every whole window."""
    n = (len(codes) - 1) // seq_len
    if n < 1:
        raise DataError(f"text: seq_len={seq_len} is longer than the text; use a shorter one")
    x = codes[: n * seq_len].reshape(n, seq_len)
    y = codes[1 : n * seq_len + 1].reshape(n, seq_len)
    return x, y


def bits_per_char(loss: float) -> float:
    """Bits per character from a mean cross-entropy in nats: ``loss / ln 2``.

    Example:
        >>> round(bits_per_char(math.log(4)), 6)  # a uniform guess among 4 characters
        2.0
    """
    return loss / math.log(2)
