"""funcgrad.train building blocks: the step against PyTorch, scan against the loop, batches, setup."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from _torch_models import TorchMyNet

import funcgrad as fg
from funcgrad.data import load_digits
from funcgrad.loop import epoch_batches, make_epoch, make_evaluate, make_step, step_key
from funcgrad.train import TrainError, build_model, fit, make_optimizer, resolve_batch_size
from funcgrad.train._setup import loss_for

TORCH_OPT = {
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
}


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_train_steps_match_pytorch(x64, name):
    ds = load_digits()
    torch.manual_seed(0)
    tnet = TorchMyNet(64, 60, 40, 10, batched=True).double()
    model, _ = build_model("mynet", ds)
    params = fg.interop.from_torch(tnet, like=model)
    opt, topt = make_optimizer(name, 0.05), TORCH_OPT[name](tnet.parameters(), 0.05)
    step = make_step(model, loss_for(ds), opt)
    x, y = jnp.asarray(ds.x_train, jnp.float64), jnp.asarray(ds.y_train)
    buffers, state = model.init_buffers(), opt.init(params)
    for i in range(3):
        idx = np.arange(32 * i, 32 * i + 32)
        params, buffers, state, loss = step(params, buffers, state, x, y, jnp.asarray(idx), None)
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(
            tnet(torch.tensor(ds.x_train[idx], dtype=torch.float64)),
            torch.tensor(ds.y_train[idx]).long(),
        )
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(float(loss), tloss.item(), rtol=1e-12)
    for key, p in fg.interop.to_torch(params).items():
        np.testing.assert_allclose(p, tnet.state_dict()[key].numpy(), rtol=1e-10, atol=1e-12)


def test_scan_epoch_equals_the_step_loop():
    ds = load_digits()
    model, _ = build_model("mynet", ds)
    opt = make_optimizer("adam", 1e-3)
    params = model.init(jax.random.PRNGKey(0))
    x, y = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    batches = epoch_batches(jax.random.PRNGKey(1), ds.num_train, 64)[:4]
    key = jax.random.PRNGKey(2)
    p_scan, _, _, losses = make_epoch(model, loss_for(ds), opt)(
        params, {}, opt.init(params), x, y, batches, key
    )
    step, p, b, s = make_step(model, loss_for(ds), opt), params, {}, opt.init(params)
    for i, idx in enumerate(batches):
        p, b, s, loss = step(p, b, s, x, y, idx, step_key(key, i))
        np.testing.assert_allclose(losses[i], loss, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(p_scan), jax.tree.leaves(p), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_linear_regression_follows_the_closed_form():
    # Full-batch GD on mean((w x - 2x)^2) with lr 0.01: w_k = 2 - 2 * (1 - 0.01 * 2 * mean(x^2))^k.
    x = np.array([1.0, 2.0, 3.0, 4.0])
    for k in (1, 11):
        w = fit("linear", "synthetic-linear", epochs=k, progress="none").params["w"]
        expected = 2 - 2 * (1 - 0.02 * np.mean(x**2)) ** k
        np.testing.assert_allclose(float(w), expected, rtol=1e-5)
    assert round(expected, 3) == 1.665  # the notes' autograd value at step 11


def test_epoch_batches_are_fresh_permutations():
    a = epoch_batches(jax.random.PRNGKey(0), 100, 8)
    b = epoch_batches(jax.random.PRNGKey(1), 100, 8)
    assert a.shape == (12, 8)
    assert len(set(np.asarray(a).ravel().tolist())) == 96  # no example twice, 4 dropped
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, epoch_batches(jax.random.PRNGKey(0), 100, 8))


@pytest.mark.parametrize("bad", [0, -3, "ten", True, 2.5])
def test_bad_batch_sizes_are_refused(bad):
    with pytest.raises(TrainError, match="batch_size must be a positive integer or 'full'"):
        resolve_batch_size(bad, 100)


def test_setup_errors_name_the_choices():
    with pytest.raises(TrainError, match="unknown model 'resnet'; choose one of mynet, convnet"):
        build_model("resnet", load_digits())
    with pytest.raises(TrainError, match="use the synthetic-linear dataset"):
        build_model("linear", load_digits())
    with pytest.raises(TrainError, match="convnet classifies images"):
        build_model("convnet", fg.data.synthetic_linear())
    with pytest.raises(TrainError, match="lenet classifies images"):
        build_model("lenet", fg.data.synthetic_linear())
    with pytest.raises(TrainError, match="unknown optimizer 'rmsprop'; choose one of sgd"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(TrainError, match="lr must be a positive number"):
        make_optimizer("sgd", 0.0)
    with pytest.raises(TrainError, match="unknown model"):
        fit("resnet", progress="none")


def test_lenet_gets_digits_grown_to_16x16_and_trains_with_its_buffers():
    model, images = build_model("lenet", load_digits())
    assert model == fg.models.LeNet5(num_classes=10, image_size=(16, 16))
    assert images.example_shape == (1, 16, 16)  # 8x8 grown by 2: LeNet-5 needs at least 12x12
    result = fit("lenet", epochs=1, progress="none")
    assert sorted(result.buffers) == ["bn1", "bn2"]  # batch-norm running stats come back
    assert not np.array_equal(result.buffers["bn1"]["running_mean"], np.zeros(6))
    assert result.final["test_accuracy"] > 0.5  # far above chance (0.1) after one epoch


def test_evaluate_counts_correct_argmax():
    ds = load_digits()
    model, flat = build_model("single-layer", ds)
    params = model.init(jax.random.PRNGKey(0))
    result = make_evaluate(model, loss_for(flat), classify=True)(
        params, {}, jnp.asarray(flat.x_test), jnp.asarray(flat.y_test)
    )
    logits = np.asarray(flat.x_test) @ np.asarray(params["w"]) + np.asarray(params["b"])
    np.testing.assert_allclose(result["accuracy"], np.mean(logits.argmax(1) == flat.y_test))
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    expected = -log_p[np.arange(len(flat.y_test)), flat.y_test].mean()
    np.testing.assert_allclose(result["loss"], expected, rtol=1e-4)


def test_optax_optimizers_are_the_named_ones():
    g = {"w": jnp.array(1.0)}
    for name, ref in [("sgd", optax.sgd(0.1)), ("adam", optax.adam(0.1))]:
        opt = make_optimizer(name, 0.1)
        u, _ = opt.update(g, opt.init(g), g)
        u_ref, _ = ref.update(g, ref.init(g), g)
        assert float(u["w"]) == float(u_ref["w"])
