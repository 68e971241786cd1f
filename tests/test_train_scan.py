"""``fit(scan="auto")``: the rule, on every built-in model, and the choice in ``config.json``.

The rule reads the traced forward pass (no clock), so these tests are deterministic: the rule's
inputs are the primitives of each built-in model's step and the backend, given explicitly.
"""

from __future__ import annotations

import dataclasses
import json

import jax
import numpy as np
import pytest

from funcgrad.data import load_dataset
from funcgrad.train import MODELS, TrainError, build_model, fit
from funcgrad.train._scan import choose_scan, traced_primitives
from funcgrad.train._setup import default_dataset

# What auto chooses on CPU for each built-in model (the benchmark's fit rows show both paths).
FUSED_ON_CPU = {
    "mynet": True,
    "single-layer": True,
    "linear": True,  # full-batch: a one-step scan, still faster than the loop (docs/benchmarks.md)
    "charlstm": True,
    "gpt": True,
    "convnet": False,
    "lenet": False,
}


def test_every_built_in_model_has_an_expected_choice():
    assert set(FUSED_ON_CPU) == set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_auto_fuses_exactly_the_models_without_convolutions(name):
    model, ds = build_model(name, load_dataset(default_dataset(name)))
    seen = traced_primitives(model, ds.x_train[:8])
    assert "dot_general" in seen or "mul" in seen  # the walk found the model's work
    fused, why = choose_scan("auto", seen, backend="cpu", per_step_callback=False)
    assert fused is FUSED_ON_CPU[name], why
    assert ("conv_general_dilated" in why) is (not fused)
    # elsewhere a convolution is no reason to loop; explicit choices always win
    assert choose_scan("auto", seen, backend="gpu", per_step_callback=False)[0] is True
    for given in (True, False):
        assert choose_scan(given, seen, backend="cpu", per_step_callback=False)[0] is given


def test_nested_jaxprs_are_searched():
    # a convolution inside a scan inside a jit is still seen
    def f(x, w):
        body = lambda c, _: (jax.lax.conv(c, w, (1, 1), "SAME"), None)  # noqa: E731
        return jax.jit(lambda x: jax.lax.scan(body, x, None, length=2)[0])(x)

    from funcgrad.train._scan import primitives

    jaxpr = jax.make_jaxpr(f)(np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 3, 3), np.float32))
    assert "conv_general_dilated" in primitives(jaxpr.jaxpr)
    assert "conv_general_dilated" not in {e.primitive.name for e in jaxpr.jaxpr.eqns}


def test_on_step_needs_the_loop_and_bad_values_are_refused():
    assert choose_scan("auto", set(), backend="cpu", per_step_callback=True)[0] is False
    with pytest.raises(TrainError, match="True, False or 'auto'"):
        choose_scan("sometimes", set(), backend="cpu", per_step_callback=False)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the rule's CPU choice")
def test_fit_records_the_choice_and_an_explicit_setting_wins(tmp_path):
    digits = load_dataset("digits")
    tiny = dataclasses.replace(digits, x_train=digits.x_train[:256], y_train=digits.y_train[:256])
    small = dict(epochs=1, batch_size=64, progress="none")
    auto = fit("convnet", tiny, out=tmp_path / "auto", **small)
    saved = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert saved["scan"] == "auto" and saved["scan_chosen"] is False
    assert "conv_general_dilated" in saved["scan_why"] and saved == auto.config
    forced = fit("convnet", tiny, scan=True, **small)
    assert (
        forced.config["scan_chosen"] is True and forced.config["scan_why"] == "scan=True, as given"
    )
    # the two paths train the same steps: the same first epoch, up to float rounding
    np.testing.assert_allclose(forced.final["train_loss"], auto.final["train_loss"], rtol=1e-4)
    steps = []
    fit("mynet", tiny, on_step=lambda e, i, v: steps.append(i), **small)
    assert steps == [1, 2, 3, 4]  # auto looped, so on_step saw every step
