"""The generator of ``text.txt``, the bundled character corpus: simple English the project writes.

The corpus is not a copy of anyone's text: a small grammar (stories about named characters,
animals and places, plus sums written out in digits) strung together by a fixed pseudo-random
sequence. The sequence is SplitMix64, written out here, so the same file comes out on every
machine and Python version; ``tests/test_charlm.py`` checks that the shipped ``text.txt`` is
exactly ``generate_corpus()``. Regenerate it with ``python -m funcgrad.data._text_corpus``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["generate_corpus"]

_MASK = (1 << 64) - 1


class _SplitMix64:
    """A tiny, fully specified pseudo-random sequence (Steele, Lea and Flood, 2014)."""

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK

    def below(self, n: int) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return (z ^ (z >> 31)) % n

    def pick(self, words: Sequence[str]) -> str:
        return words[self.below(len(words))]


_NAMES = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gus", "Hana", "Ivo", "Jo", "Kai", "Lea"]
_ANIMALS = {  # singular -> plural
    "cat": "cats", "dog": "dogs", "bird": "birds", "fox": "foxes", "frog": "frogs",
    "mouse": "mice", "horse": "horses", "owl": "owls", "fish": "fish", "bear": "bears",
    "goat": "goats", "duck": "ducks",
}  # fmt: skip
_THINGS = {
    "apple": "apples", "book": "books", "hat": "hats", "cake": "cakes", "kite": "kites",
    "box": "boxes", "cup": "cups", "shell": "shells", "key": "keys", "ball": "balls",
}  # fmt: skip
_ADJECTIVES = ["little", "big", "old", "young", "red", "green", "happy", "sleepy", "quick",
               "quiet", "brave", "tiny", "clever", "hungry"]  # fmt: skip
_PLACES = ["garden", "river", "forest", "house", "hill", "market", "kitchen", "field", "bridge",
           "castle", "pond", "barn"]  # fmt: skip
_PREPOSITIONS = ["in", "near", "under", "behind", "by", "across", "beside"]
_WENT = ["ran", "sat", "slept", "sang", "jumped", "walked", "danced", "waited", "played", "rested"]
_DID = ["saw", "found", "helped", "followed", "chased", "painted", "carried", "liked", "lost"]
_WHEN = ["in the morning", "at night", "after lunch", "every day", "on Sunday", "in the rain"]
_FEELINGS = ["happy", "sad", "tired", "surprised", "proud", "hungry", "calm"]
_COUNTS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _creature(r: _SplitMix64) -> str:
    """``the [adjective] animal``."""
    adjective = r.pick(_ADJECTIVES) + " " if r.below(2) else ""
    return f"the {adjective}{r.pick(list(_ANIMALS))}"


def _sentence(r: _SplitMix64, name: str) -> str:
    kind = r.below(8)
    if kind == 0:
        return f"{_creature(r)} {r.pick(_WENT)} {r.pick(_PREPOSITIONS)} the {r.pick(_PLACES)}"
    if kind == 1:
        return f"{name} {r.pick(_DID)} {_creature(r)} {r.pick(_WHEN)}"
    if kind == 2:
        n = r.below(len(_COUNTS))
        nouns = _THINGS if r.below(2) else _ANIMALS
        noun = r.pick(list(nouns))
        return f"{name} had {_COUNTS[n]} {noun if n == 0 else nouns[noun]}"
    if kind == 3:
        a, b = r.below(50), r.below(50)
        return f"{a} plus {b} is {a + b}"
    if kind == 4:
        return f"{name} said that {_creature(r)} was {r.pick(_ADJECTIVES)}"
    if kind == 5:
        return f"when {_creature(r)} {r.pick(_WENT)}, {name} felt {r.pick(_FEELINGS)}"
    if kind == 6:
        return f"{name} and {r.pick(_NAMES)} went to the {r.pick(_PLACES)} {r.pick(_WHEN)}"
    a = r.below(20) + 10
    b = r.below(a)
    return f"{a} minus {b} is {a - b}"


def generate_corpus(chars: int = 300_000, seed: int = 2026) -> str:
    """Paragraphs of three to six sentences, one per line, until at least ``chars`` characters.

    Example:
        >>> text = generate_corpus(200)
        >>> len(text) >= 200, text.endswith("\\n"), text == generate_corpus(200)
        (True, True, True)
    """
    r = _SplitMix64(seed)
    lines: list[str] = []
    size = 0
    while size < chars:
        name = r.pick(_NAMES)
        sentences = [_sentence(r, name) for _ in range(3 + r.below(4))]
        line = " ".join(s[0].upper() + s[1:] + "." for s in sentences)
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - writes the shipped file
    target = Path(__file__).with_name("text.txt")
    target.write_text(generate_corpus(), encoding="ascii", newline="\n")
    sys.stdout.write(f"wrote {target}\n")
