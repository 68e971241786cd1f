"""F.interpolate and the Upsample layers against live torch: every mode, align_corners, scale
factors used as given or recomputed, antialiasing, and torch's refusals.

op_db's interpolate samples (tests/test_layer_table.py) cover each mode on a few sizes; these
add the arguments they leave out (antialias, per-axis scale factors, downsampling by a factor).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import check_loss

import funcgrad as fg

F = fg.nn.functional

SHAPES = {1: (2, 3, 7), 2: (2, 2, 5, 6), 3: (1, 2, 4, 5, 3)}
MODES = {
    "nearest": (1, 2, 3),
    "nearest-exact": (1, 2, 3),
    "area": (1, 2, 3),
    "linear": (1,),
    "bilinear": (2,),
    "bicubic": (2,),
    "trilinear": (3,),
}
SIZES = [
    {"size": 3},
    {"size": 11},
    {"scale_factor": 1.7},
    {"scale_factor": 0.6},
    {"scale_factor": 2.0},
    {"scale_factor": 0.6, "recompute_scale_factor": True},
    {"scale_factor": (2.5, 0.45, 1.3)},  # one per axis, cut to the rank
]


def _cases() -> list[tuple[str, int, dict, bool | None, bool]]:
    out = []
    for mode, ranks in MODES.items():
        corners = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
        for rank in ranks:
            for kw in SIZES:
                for align in corners:
                    for aa in [False, True] if mode in ("bilinear", "bicubic") else [False]:
                        out.append((mode, rank, kw, align, aa))
    return out


def _fit(kw: dict, rank: int) -> dict:
    sf = kw.get("scale_factor")
    return {**kw, "scale_factor": sf[:rank]} if isinstance(sf, tuple) else kw


@pytest.mark.parametrize(("mode", "rank"), [(m, r) for m, rs in MODES.items() for r in rs])
def test_interpolate_matches_torch_on_every_argument(dtype, mode, rank):
    """Values against torch for every size rule, align_corners and antialias; one compile each."""
    x = np.random.default_rng(0).standard_normal(SHAPES[rank]).astype(dtype)
    tol = 1e-10 if dtype is np.float64 else 1e-5
    for m, r, kw, align, aa in _cases():
        if (m, r) != (mode, rank):
            continue
        kw = _fit(kw, rank)
        want = torch.nn.functional.interpolate(
            torch.tensor(x), mode=mode, align_corners=align, antialias=aa, **kw
        ).numpy()
        # one compile per case: un-jitted, each of its ops would compile alone (slower)
        resize = jax.jit(
            lambda a, kw=kw, align=align, aa=aa: F.interpolate(
                a, mode=mode, align_corners=align, antialias=aa, **kw
            )
        )
        got = np.asarray(resize(jnp.asarray(x)))
        assert got.shape == want.shape, (kw, align, aa)
        np.testing.assert_allclose(got, want, rtol=0, atol=tol, err_msg=f"{kw} {align} {aa}")


@pytest.mark.parametrize(
    ("mode", "kw"),
    [
        ("bicubic", {"scale_factor": 1.7, "align_corners": False}),
        ("bilinear", {"size": (3, 4), "antialias": True}),
        ("bicubic", {"scale_factor": 0.45, "antialias": True, "align_corners": True}),
        ("area", {"size": (3, 4)}),
        ("nearest-exact", {"scale_factor": 0.6}),
        ("nearest", {"size": (7, 9)}),
    ],
)
def test_interpolate_gradient_matches_torch(dtype, mode, kw):
    """The full VJP (the gather's scatter-add) against torch's backward, jitted and not."""
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 6)).astype(dtype)
    check_loss(
        lambda t: torch.nn.functional.interpolate(t, mode=mode, **kw),
        lambda a: F.interpolate(a, mode=mode, **kw),
        [x],
        dtype,
    )


def test_antialias_downsampling_differs_from_plain_as_torchs():
    """antialias widens the filter when downsampling (and bicubic's then uses PIL's a=-0.5)."""
    x = np.random.default_rng(2).standard_normal((1, 1, 12, 12))
    for mode in ("bilinear", "bicubic"):
        plain = F.interpolate(jnp.asarray(x), size=(4, 4), mode=mode)
        smooth = F.interpolate(jnp.asarray(x), size=(4, 4), mode=mode, antialias=True)
        assert float(jnp.abs(plain - smooth).max()) > 1e-2
        assert float(smooth.std()) < float(plain.std())  # a low-pass filter


def test_modules_are_interpolate_with_torchs_fixed_arguments(dtype):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(dtype)
    tol = 1e-10 if dtype is np.float64 else 1e-5
    for name, args, kwargs in [
        ("Upsample", (None, 2), {"mode": "bicubic", "align_corners": True}),
        ("Upsample", ((6, 7),), {}),
        ("Upsample", (), {"scale_factor": (1.5, 0.5), "mode": "area"}),
        ("UpsamplingNearest2d", (None, 3), {}),
        ("UpsamplingBilinear2d", ((7, 3),), {}),
    ]:
        want = getattr(torch.nn, name)(*args, **kwargs)(torch.tensor(x)).numpy()
        layer = getattr(fg.nn, name)(*args, **kwargs)
        assert layer.init(jax.random.PRNGKey(0)) == {}
        got = jax.jit(lambda x, layer=layer: layer.apply({}, x))(jnp.asarray(x))
        np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=tol, err_msg=name)
    hash(fg.nn.Upsample([4, 4]))  # a list is stored as a tuple: the layer stays a static value


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: F.interpolate(x, size=4, scale_factor=2.0), "only one of size or scale_factor"),
        (lambda x: F.interpolate(x), "either size or scale_factor"),
        (lambda x: F.interpolate(x, size=4, align_corners=True), "align_corners option"),
        (lambda x: F.interpolate(x, size=4, mode="linear"), "needs 3D input"),
        (lambda x: F.interpolate(x[0, 0], size=4), "3D, 4D or 5D"),
        (lambda x: F.interpolate(x, size=(4, 4, 4)), "same number of spatial dimensions"),
        (lambda x: F.interpolate(x, size=4, recompute_scale_factor=True), "not meaningful"),
        (lambda x: F.interpolate(x, size=4, mode="nearest", antialias=True), "Anti-alias"),
        (lambda x: F.interpolate(x, scale_factor=0.1), "greater than 0"),
        (lambda x: F.interpolate(x, size=4, mode="cubic"), "mode 'cubic'"),
    ],
)
def test_interpolate_refuses_what_torch_refuses(call, match):
    x = jnp.ones((1, 2, 5, 5))
    with pytest.raises(Exception):  # noqa: B017, PT011 (torch raises ValueError or NotImplementedError)
        call(torch.ones(1, 2, 5, 5))
    with pytest.raises(ValueError, match=f"(?i){match}") as e:
        call(x)
    assert "\n" not in str(e.value)


def test_layers_refuse_bad_arguments_when_built():
    for build, match in [
        (lambda: fg.nn.Upsample(4, 2.0), r"Upsample\(size=4, scale_factor=2.0\): only one"),
        (lambda: fg.nn.Upsample(4, mode="cubic"), r"Upsample\(mode='cubic'\): unknown mode"),
        (lambda: fg.nn.Upsample(4, align_corners=True), r"align_corners is only for linear"),
        (lambda: fg.nn.UpsamplingNearest2d(4, 2.0), r"UpsamplingNearest2d\(.*only one"),
    ]:
        with pytest.raises(fg.nn.ConfigError, match=match):
            build()
    with pytest.raises(fg.nn.ModuleError, match=r"^Upsample: interpolate: mode 'bilinear' needs"):
        fg.nn.Upsample(4, mode="bilinear").apply({}, jnp.ones((1, 2, 5)))


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_large_float32_resize_is_as_close_to_float64_as_torchs(mode):
    """op_db's 345 x 456 -> 270 x 270 sample: in float32 the source coordinates carry rounding, so
    torch's float32 is ~5e-5 (relative) from its float64 and funcgrad's float32 from torch's by
    ~3e-5; funcgrad's must be as close to float64 as torch's is (the layer table leaves these
    float32 samples to this test)."""
    x = torch.randn(2, 3, 345, 456, generator=torch.Generator().manual_seed(0))
    exact = torch.nn.functional.interpolate(x.double(), (270, 270), mode=mode).numpy()
    theirs = torch.nn.functional.interpolate(x, (270, 270), mode=mode).numpy()
    ours = jax.jit(lambda a: fg.nn.functional.interpolate(a, (270, 270), mode=mode))(x.numpy())
    scale = np.abs(exact).max()
    err_theirs = np.abs(theirs - exact).max() / scale
    err_ours = np.abs(np.asarray(ours, np.float64) - exact).max() / scale
    assert err_ours <= 1.1 * err_theirs + 1e-7, (err_ours, err_theirs)
