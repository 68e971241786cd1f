"""Rendering with Graphviz (skipped, with the reason, where `dot` is missing) and `funcgrad graph`."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import jax.numpy as jnp
import pytest

from funcgrad.cli import _graph as _cli
from funcgrad.graph import _dot, trace

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` is not installed (apt-get install graphviz / brew install graphviz)",
)


def _args(**kw):
    parser = argparse.ArgumentParser()
    _cli.configure_parser(parser)
    flags = [f"--{k.replace('_', '-')}" if v is True else f"--{k}={v}" for k, v in kw.items()]
    return parser.parse_args(flags)


@needs_dot
def test_mynet_svg_and_png_render(tmp_path):
    assert _cli.run(_args(model="mynet", out=tmp_path / "g.svg")) == 0
    svg = (tmp_path / "g.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "m0: Linear" in svg and "AddmmBackward0" in svg
    assert _cli.run(_args(model="mynet", out=tmp_path / "b.png", backward=True)) == 0
    assert (tmp_path / "b.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_notebook_repr_is_svg():
    g = trace(lambda x: (x * 2).sum(), jnp.ones(2))
    bundle = g._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"] and "text/plain" in bundle


def test_missing_graphviz_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_dot.shutil, "which", lambda name: None)
    g = trace(lambda x: (x * 2).sum(), jnp.ones(2))
    with pytest.raises(_dot.GraphvizNotFoundError, match="apt-get install graphviz"):
        g.render(str(tmp_path / "g.svg"))
    assert g._repr_svg_() is None and "image/svg+xml" not in g._repr_mimebundle_()
    assert _cli.run(_args(model="single-layer", out=tmp_path / "g.png")) == 1
    assert "brew install graphviz" in capsys.readouterr().err
    # DOT text needs no Graphviz.
    assert _cli.run(_args(model="linear", out=tmp_path / "g.dot", expand=True)) == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph forward {")


def test_cli_rejects_unknown_format(tmp_path, capsys):
    assert _cli.run(_args(model="linear", out=tmp_path / "g.jpg")) == 1
    assert "unknown format" in capsys.readouterr().err


@needs_dot
def test_funcgrad_graph_command(tmp_path):
    out = tmp_path / "g.svg"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "funcgrad.cli",
            "graph",
            "--model",
            "single-layer",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and out.read_text().count("<svg") == 1
