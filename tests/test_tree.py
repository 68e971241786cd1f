"""Dotted-path flattening of nested params."""

import pytest

import funcgrad as fg


def test_round_trip():
    tree = {"m0": {"weight": 1, "bias": 2}, "head": {"weight": 3}}
    flat = fg.flatten_dict(tree)
    assert flat == {"m0.weight": 1, "m0.bias": 2, "head.weight": 3}
    assert fg.unflatten_dict(flat) == tree


def test_conflicts_are_reported():
    with pytest.raises(ValueError, match="already a leaf"):
        fg.unflatten_dict({"a": 1, "a.b": 2})
