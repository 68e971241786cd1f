"""The package as ``pip install funcgrad`` gives it: built, installed in a fresh environment, run elsewhere.

Once per session (shared by the pytest-xdist workers, as in ``test_distributed``):

- the files a fresh clone has (tracked or new, not ignored) are copied to a temporary folder, so the
  builds never write ``build/`` or ``*.egg-info`` into the checkout, nor pick up stale files there;
- ``python -m build`` makes the sdist and, from the unpacked sdist, the wheel; ``--wheel`` also builds
  one straight from the tree, to compare. ``--no-isolation`` builds with this environment's setuptools,
  so CI downloads nothing;
- the wheel is installed into a new ``venv --without-pip`` whose only link outward is a ``.pth`` line
  naming this environment's site-packages, so jax, torch and the rest import without reinstalling.
  A path line in a ``.pth`` is not a site directory: the ``.pth`` files inside it, among them the
  editable install's import hook, are never run, so the checkout's funcgrad stays out of sight.

Every command then runs from a temporary folder with a cleaned environment (no ``PYTHONPATH``, no
``PIP_*``, nothing on ``PATH`` inside the checkout).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = "funcgrad"

# Runs inside the new environment: where funcgrad comes from, its version, every module, the data.
PROBE = r"""
import importlib, importlib.metadata as md, json, pkgutil, sys
from importlib import resources

import funcgrad

def fail(error):
    raise error

modules = []
for info in pkgutil.walk_packages(funcgrad.__path__, "funcgrad.", onerror=fail):
    if info.name.rsplit(".", 1)[-1] != "__main__":  # that one runs the command
        importlib.import_module(info.name)
        modules.append(info.name)
dist = md.distribution("funcgrad")
data = resources.files("funcgrad.data")
digits = funcgrad.data.load_digits()
print(json.dumps({
    "file": funcgrad.__file__,
    "version": funcgrad.__version__,
    "metadata_version": md.version("funcgrad"),
    "dist_dir": str(dist.locate_file("")),
    "direct_url": dist.read_text("direct_url.json"),
    "sys_path": sys.path,
    "meta_path": [repr(finder) for finder in sys.meta_path],
    "modules": modules,
    "digits_file": str(data.joinpath("digits.npz")),
    "digits": [len(digits.y_train), len(digits.y_test), digits.num_classes],
    "notice_file": str(data.joinpath("DIGITS_LICENSE.txt")),
    "notice": data.joinpath("DIGITS_LICENSE.txt").read_text(),
    "py_typed": resources.files("funcgrad").joinpath("py.typed").is_file(),
}))
"""


def _pyproject_version() -> str:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


VERSION = _pyproject_version()


def _clean_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell with ``bin_dir`` first: no PYTHON*/PIP* settings, and
    nothing inside the checkout on PATH."""
    keep = {k: os.environ[k] for k in ("HOME", "TMPDIR", "LANG", "LC_ALL") if k in os.environ}
    path = [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and ROOT not in Path(p).parents
    ]
    return {
        **keep,
        "PATH": os.pathsep.join([str(bin_dir), *path]),
        "OMP_NUM_THREADS": "1",
        "PYTHONNOUSERSITE": "1",
        **extra,
    }


def _run(cmd: list, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    args = [str(c) for c in cmd]
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    shown = shlex.join(a if len(a) < 200 else "<script>" for a in args)
    assert r.returncode == 0, (
        f"{shown} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    )
    return r.stdout


def _once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]
) -> Path:
    """``make(folder)`` run once per session; pytest-xdist workers wait for it and share the folder."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by its workers
    out = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / ".done").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            make(out)
            (out / ".done").touch()
    return out


def _copy_checkout(dest: Path) -> None:
    """The files a fresh clone would have, plus new files not yet committed (not the ignored ones)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(
            "the wheel test copies the checkout with git ls-files, and git is not usable here"
        )
    for name in filter(None, listed.split("\0")):
        src, dst = ROOT / name, dest / name
        if not os.path.lexists(src):  # tracked, but deleted in the work tree
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_file():
            shutil.copy2(src, dst)


def _build(out: Path) -> None:
    src = out / "src"
    _copy_checkout(src)
    if importlib.util.find_spec("setuptools") is None:
        pytest.fail("setuptools is missing from this environment; the wheel test builds with it")
    env = _clean_env(Path(sys.executable).parent)
    # The backend is this environment's setuptools (>= 70.1 builds wheels itself, so pyproject's
    # "wheel" requirement is not checked: it is not installed here and not needed).
    build = [sys.executable, "-m", "build", "--no-isolation"]
    _run([*build, "--outdir", out / "dist", src], cwd=out, env=env)  # sdist, then its wheel
    _run([*build, "--wheel", "--outdir", out / "tree", src], cwd=out, env=env)


def _install(out: Path, wheel: Path) -> None:
    venv = out / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=out, env=_clean_env(out))
    python = venv / "bin" / "python"
    env = _clean_env(venv / "bin")
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], out, env)
    outer = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (Path(site.strip()) / "_outer_site_packages.pth").write_text("".join(f"{p}\n" for p in outer))
    # pip itself comes through that path. --ignore-installed: the checkout's editable dist-info is
    # visible there too, and pip must neither count it as installed nor try to remove it.
    pip = [python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed"]
    _run([*pip, "--disable-pip-version-check", wheel], out, {**env, "PIP_CONFIG_FILE": os.devnull})


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return _once(tmp_path_factory, "wheel-build", _build)


def _only(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    return _only(built / "dist", "*.whl")


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    return _once(tmp_path_factory, "wheel-venv", lambda out: _install(out, wheel)) / "venv"


@pytest.fixture(scope="module")
def probe(venv, tmp_path_factory) -> dict:
    cwd = tmp_path_factory.mktemp("wheel-probe")
    out = _run([venv / "bin" / "python", "-c", PROBE], cwd, _clean_env(venv / "bin"), timeout=180)
    return json.loads(out.splitlines()[-1])


def _contents(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as z:
        return {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}


def test_build_makes_an_sdist_and_a_wheel(built):
    names = sorted(p.name for p in (built / "dist").iterdir())
    assert names == [f"{DIST}-{VERSION}-py3-none-any.whl", f"{DIST}-{VERSION}.tar.gz"]


def test_the_wheel_holds_the_package_and_nothing_else(built, wheel):
    entries = list(_contents(wheel))
    info = f"{DIST}-{VERSION}.dist-info/"
    stray = [n for n in entries if not n.startswith(("funcgrad/", info))]
    assert not stray, f"files outside the package in the wheel: {stray}"
    unwanted = ("tests/", "notebooks/", "scripts/", "benchmark", "conftest", "__pycache__")
    bad = [n for n in entries if any(u in n for u in unwanted) or n.endswith((".ipynb", ".pyc"))]
    assert not bad, f"tests, notebooks, benchmarks or caches in the wheel: {bad}"
    # Every file of the package folder ships: a module in a folder without __init__.py, or a data
    # file that package-data does not name, would be missing from the installed package.
    package = built / "src" / "funcgrad"
    expected = {
        "funcgrad/" + p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {n for n in entries if n.startswith("funcgrad/")} == expected
    assert {
        "funcgrad/py.typed",
        "funcgrad/data/digits.npz",
        "funcgrad/data/DIGITS_LICENSE.txt",
    } <= (expected)
    with zipfile.ZipFile(wheel) as z:
        assert "funcgrad = funcgrad.cli:main" in z.read(info + "entry_points.txt").decode()


def test_the_sdist_builds_the_same_wheel(built, wheel):
    with tarfile.open(_only(built / "dist", "*.tar.gz")) as t:
        names = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    top = {n.split("/", 1)[0] for n in names}
    for wanted in ("PKG-INFO", "pyproject.toml", "README.md", "CHANGELOG.md", "funcgrad"):
        assert wanted in top, f"{wanted} missing from the sdist"
    assert not top & {"tests", "notebooks", "scripts", "docs"}, sorted(top)
    from_tree = _contents(_only(built / "tree", "*.whl"))
    from_sdist = _contents(wheel)
    assert sorted(from_sdist) == sorted(from_tree)
    differ = [n for n in from_sdist if from_sdist[n] != from_tree[n]]
    assert not differ, f"the wheels built from the sdist and from the tree differ in {differ}"


def test_the_installed_package_is_the_wheel_not_the_checkout(probe, venv):
    site = Path(probe["dist_dir"])
    assert venv in site.parents
    assert Path(probe["file"]) == site / "funcgrad" / "__init__.py"
    assert "editable" not in json.loads(probe["direct_url"]).get("dir_info", {})
    assert not [p for p in probe["sys_path"] if p and Path(p).resolve() == ROOT]
    assert not [f for f in probe["meta_path"] if "editable" in f.lower()], probe["meta_path"]


def test_version_comes_from_the_metadata(probe):
    assert probe["version"] == probe["metadata_version"] == VERSION


def test_every_module_imports(probe, wheel):
    with zipfile.ZipFile(wheel) as z:
        files = [n for n in z.namelist() if n.startswith("funcgrad/") and n.endswith(".py")]
    names = {n.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for n in files}
    names -= {n for n in names if n.endswith(".__main__")}
    assert set(probe["modules"]) == names - {"funcgrad"}
    public = sorted(n for n in names if not any(part.startswith("_") for part in n.split(".")))
    print(f"imported {len(names)} modules, {len(public)} public: {', '.join(public)}")
    assert {"funcgrad.nn.functional", "funcgrad.cli", "funcgrad.interop"} <= set(public)


def test_bundled_digits_and_their_notice_are_found(probe, venv):
    for key in ("digits_file", "notice_file"):
        assert venv in Path(probe[key]).parents, probe[key]
    assert sum(probe["digits"][:2]) == 1797 and probe["digits"][2] == 10
    assert "CC BY 4.0" in probe["notice"]
    assert "Optical Recognition of Handwritten Digits" in probe["notice"]
    assert probe["py_typed"]


def test_funcgrad_train_runs_from_another_folder(venv, tmp_path):
    out = _run(
        [venv / "bin" / "funcgrad", "train", "--epochs", "1", "--quiet"],
        tmp_path,
        _clean_env(venv / "bin"),
        timeout=180,
    )
    assert "outputs in runs/mynet-digits-1" in out, out
    run = tmp_path / "runs" / "mynet-digits-1"
    for name in ("config.json", "metrics.jsonl", "loss.png", "checkpoints"):
        assert (run / name).exists(), f"{name} missing from {sorted(os.listdir(run))}"
    (epoch,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epoch["epoch"] == 1
    assert epoch["test_accuracy"] > 0.5  # ten classes: far above chance, so the digits loaded


def test_funcgrad_graph_runs_from_another_folder(venv, tmp_path):
    out = _run(
        [venv / "bin" / "funcgrad", "graph", "--out", "mynet.dot"],
        tmp_path,
        _clean_env(venv / "bin"),
        timeout=180,
    )
    assert "wrote mynet.dot" in out, out
    dot = (tmp_path / "mynet.dot").read_text()
    assert dot.startswith("digraph") and "m0.weight" in dot
