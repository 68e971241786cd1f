"""``funcgrad convert FILE.py:CLASS``: prints or writes the source, --check, one-line errors."""

from __future__ import annotations

import re
import textwrap

import pytest

from funcgrad.cli import main

MODELS = textwrap.dedent(
    """
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.fc = nn.Linear(2 * 4 * 4, hidden)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).flatten(1))

    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(10, 3)

        def forward(self, x):
            return self.bag(x.long())
    """
)


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    return path


def test_prints_the_source_and_checks_it(models, capsys):
    code = main(
        ["convert", f"{models}:Net", "--input-shape", "2,1,6,6", "--args", "[5]", "--check"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "class Net(Converted):" in out and "fg.nn.Linear(32, 5)" in out
    diff = float(re.search(r"^max diff: (\S+)", out, re.M)[1])
    assert 0 <= diff < 1e-5


def test_writes_a_new_file_and_never_overwrites(models, tmp_path, capsys):
    out = tmp_path / "net_fg.py"
    args = ["convert", f"{models}:Net", "--input-shape", "1,1,6,6", "--args", '{"hidden": 3}']
    assert main([*args, "--out", str(out)]) == 0
    source = out.read_text()
    assert "model = Net()" in source and "import torch" not in source
    namespace: dict = {}
    exec(source, namespace)  # the file runs
    capsys.readouterr()
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "exists" in err and err.count("\n") == 1
    assert out.read_text() == source


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["{models}:Broken", "--input-shape", "1,3"],
            ["torch.nn.EmbeddingBag", "at bag", "models.py:"],
        ),
        (["{models}:Nope", "--input-shape", "1,3"], ["defines no Nope"]),
        (["{models}", "--input-shape", "1,3"], ["names no class"]),
        (["{models}:Net", "--input-shape", "1,x"], ["--input-shape"]),
        (["{models}:Net", "--input-shape", "1,1,6,6", "--args", "[1,"], ["--args is not JSON"]),
    ],
    ids=["unconvertible", "no-class", "no-colon", "bad-shape", "bad-args"],
)
def test_errors_are_one_line_and_write_nothing(models, tmp_path, capsys, argv, words):
    out = tmp_path / "never.py"
    argv = [a.format(models=models) for a in argv]
    assert main(["convert", *argv, "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    for w in words:
        assert w in captured.err
    assert not out.exists()
