"""The character language models: the bundled corpus, CharLSTM and GPT against torch, sampling,
and ``funcgrad train --model charlstm|gpt`` / ``funcgrad sample`` end to end (on a few windows)."""

from __future__ import annotations

import dataclasses
import math
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, torch_dtype
from _torch_lm import LSTMLanguageModel, NanoGPT

import funcgrad as fg
from funcgrad.cli import main
from funcgrad.data._text_corpus import generate_corpus

# --- the corpus -----------------------------------------------------------------------------


def test_shipped_corpus_is_exactly_the_generators_output_and_has_its_licence():
    files = resources.files("funcgrad.data")
    assert files.joinpath("text.txt").read_text(encoding="ascii") == generate_corpus()
    note = files.joinpath("TEXT_LICENSE.txt").read_text()
    assert "MIT" in note and "_text_corpus.py" in note
    assert len(files.joinpath("text.txt").read_bytes()) < 1_000_000


def test_text_windows_are_shifted_by_one_and_the_test_text_is_held_out():
    ds = fg.data.load_text(seq_len=16)
    text = resources.files("funcgrad.data").joinpath("text.txt").read_text()
    assert ds.num_classes == len(ds.vocab) == len(set(text)) and ds.vocab == "".join(
        sorted(ds.vocab)
    )
    train = "".join(ds.decode(row) for row in ds.x_train)
    assert text.startswith(train)
    np.testing.assert_array_equal(ds.x_train[:, 1:], ds.y_train[:, :-1])
    np.testing.assert_array_equal(ds.y_train[:-1, -1], ds.x_train[1:, 0])
    cut = round(len(text) * 0.9)
    assert text[cut:].startswith(ds.decode(ds.x_test[0]))  # test windows start after the cut
    assert ds.decode(ds.encode("Ada had 12 cats.")) == "Ada had 12 cats."
    with pytest.raises(fg.data.DataError, match="'Q', 'Z' are not in the text vocabulary"):
        ds.encode("QZ")


# --- the models against torch -----------------------------------------------------------------

VOCAB = 11


def _codes(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, shape)


def _check_against_torch(ref: torch.nn.Module, model: fg.nn.Module, state: dict, dtype: type):
    """Logits and the full VJP wrt every param (random cotangent) agree with torch, under jit."""
    ref = ref.to(torch_dtype(dtype))
    x = _codes((3, 7))
    params = fg.interop.from_torch({k: v for k, v in state.items()}, like=model)
    params = jax.tree.map(lambda a: jnp.asarray(a, dtype), params)
    out_t = ref(torch.tensor(x))
    out_t = out_t[0] if isinstance(out_t, tuple) else out_t
    v = np.random.default_rng(1).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(v)).sum().backward()
    expected = fg.unflatten_dict(
        {n: p.grad.numpy() for n, p in ref.named_parameters() if n in fg.flatten_dict(params)}
    )

    @jax.jit
    def value_and_vjp(p):
        out, pullback = jax.vjp(lambda p: model.apply(p, jnp.asarray(x)), p)
        return out, pullback(jnp.asarray(v))[0]

    out, grads = value_and_vjp(params)
    assert out.dtype == dtype
    assert_close(out, out_t.detach().numpy(), dtype, "logits")
    assert_close(grads, expected, dtype, "grad wrt params")


def test_charlstm_matches_torch_embedding_lstm_linear(dtype):
    torch.manual_seed(0)
    ref = LSTMLanguageModel(VOCAB, emb=8, hidden=16, layers=2)
    model = fg.models.CharLSTM(VOCAB, embedding_dim=8, hidden_size=16, num_layers=2)
    shapes = jax.tree.map(jnp.shape, model.init(jax.random.PRNGKey(0)))
    state = ref.state_dict()
    assert fg.flatten_dict(shapes) == {k: tuple(v.shape) for k, v in state.items()}
    _check_against_torch(ref, model, state, dtype)


def test_gpt_matches_nanogpt_with_its_tied_lm_head(dtype):
    torch.manual_seed(0)
    ref = NanoGPT(VOCAB, block_size=16, n_layer=2, n_head=2, n_embd=8)
    model = fg.models.GPT(VOCAB, block_size=16, n_layer=2, n_head=2, n_embd=8)
    shapes = fg.flatten_dict(jax.tree.map(jnp.shape, model.init(jax.random.PRNGKey(0))))
    state = ref.state_dict()
    # torch lists the tied matrix under both names; funcgrad holds it once, under wte
    assert state["lm_head.weight"] is state["transformer.wte.weight"] or torch.equal(
        state["lm_head.weight"], state["transformer.wte.weight"]
    )
    del state["lm_head.weight"]
    assert shapes == {k: tuple(v.shape) for k, v in state.items()}
    _check_against_torch(ref, model, state, dtype)


def test_gpt_init_is_nanogpts():
    model = fg.models.GPT(50, block_size=32, n_layer=3, n_head=2, n_embd=64)
    flat = fg.flatten_dict(model.init(jax.random.PRNGKey(0)))
    stds = {k: float(np.std(v)) for k, v in flat.items() if v.ndim == 2}
    assert all(abs(s - 0.02) < 0.002 for k, s in stds.items() if not k.endswith("c_proj.weight"))
    proj = 0.02 / math.sqrt(2 * 3)
    assert all(abs(s - proj) < 0.1 * proj for k, s in stds.items() if k.endswith("c_proj.weight"))
    assert all(not v.any() for k, v in flat.items() if k.endswith("bias") and "ln_" not in k)
    assert all((v == 1).all() for k, v in flat.items() if k.endswith("ln_1.weight"))


def test_models_refuse_bad_inputs_and_settings():
    gpt = fg.models.GPT(VOCAB, block_size=4, n_layer=1, n_head=1, n_embd=4)
    params = gpt.init(jax.random.PRNGKey(0))
    with pytest.raises(fg.nn.ModuleError, match="longer than block_size=4"):
        gpt.apply(params, jnp.zeros((1, 5), jnp.int32))
    with pytest.raises(fg.nn.ModuleError, match=r"add a batch axis with x\[None\]"):
        gpt.apply(params, jnp.zeros(3, jnp.int32))
    with pytest.raises(fg.nn.ConfigError, match="multiple of n_head=3"):
        fg.models.GPT(VOCAB, n_head=3, n_embd=8)
    with pytest.raises(fg.nn.ConfigError, match="positive ints"):
        fg.models.CharLSTM(0)


# --- sampling ---------------------------------------------------------------------------------


def test_sample_at_a_low_temperature_is_the_greedy_continuation_and_key_driven():
    gpt = fg.models.GPT(VOCAB, block_size=6, n_layer=1, n_head=2, n_embd=8)
    params = gpt.init(jax.random.PRNGKey(3))
    prompt = jnp.array([1, 2, 3])
    # the reference: a Python loop that reruns the model on the latest block_size tokens
    apply = jax.jit(gpt.apply)
    tokens = [1, 2, 3]
    for _ in range(5):
        logits = apply(params, jnp.array([tokens[-6:]]))[0, -1]
        tokens.append(int(jnp.argmax(logits)))
    greedy = fg.models.sample(
        gpt, params, prompt, 5, key=jax.random.PRNGKey(0), temperature=1e-6, context=6
    )
    assert greedy.tolist() == tokens[3:]
    draw = lambda k: fg.models.sample(gpt, params, prompt, 30, key=jax.random.PRNGKey(k), context=6)  # noqa: E731
    assert draw(1).tolist() == draw(1).tolist() and draw(1).tolist() != draw(2).tolist()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        fg.models.sample(gpt, params, prompt, 3, key=jax.random.PRNGKey(0), temperature=0.0)


def test_sample_draws_from_the_softmax_of_the_logits():
    # A "model" whose next-token logits are fixed: the drawn frequencies follow softmax(logits).
    @dataclasses.dataclass(frozen=True)
    class Fixed(fg.nn.Module):
        def init(self, key):
            return {"logits": jnp.log(jnp.array([0.1, 0.2, 0.7]))}

        def stateless(self, params, x):
            return jnp.broadcast_to(params["logits"], (*x.shape, 3))

    m = Fixed()
    drawn = fg.models.sample(m, m.init(None), jnp.array([0]), 3000, key=jax.random.PRNGKey(0))
    freq = np.bincount(np.asarray(drawn), minlength=3) / 3000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.03)


# --- the command ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["charlstm", "gpt"])
def test_train_reports_bits_per_char_and_sample_continues_the_prompt(model, tmp_path, capsys):
    # A few windows of the bundled text, still named "text", so that sample rebuilds the same
    # model and vocabulary from the run's config.json.
    ds = fg.data.load_text()
    small = dataclasses.replace(
        ds, x_train=ds.x_train[:64], y_train=ds.y_train[:64], x_test=ds.x_test[:32],
        y_test=ds.y_test[:32],
    )  # fmt: skip
    out = tmp_path / "run"
    result = fg.train.fit(model, small, epochs=1, out=out, progress="none")
    row = result.final
    assert row["test_bpc"] == pytest.approx(row["test_loss"] / math.log(2))
    assert result.config["dataset"] == "text"
    assert "test_bpc" in (out / "metrics.jsonl").read_text()

    args = ["sample", str(out), "--prompt", "Ada had", "--length", "40", "--seed", "1"]
    assert main(args) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.startswith("Ada had") and len(text) == len("Ada had") + 40
    assert set(text) <= set(ds.vocab)
    assert main(args) == 0 and capsys.readouterr().out.rstrip("\n") == text  # same seed

    assert main(["sample", str(out), "--prompt", "Zoe"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'Z' is not in the text vocabulary" in err


def test_sample_refuses_a_folder_that_is_not_a_language_model_run(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "no config.json" in err
    fg.train.fit("linear", "synthetic-linear", epochs=1, out=tmp_path / "lin", progress="none")
    assert main(["sample", str(tmp_path / "lin")]) == 1
    assert "sample needs a run of `funcgrad train --model charlstm`" in capsys.readouterr().err
