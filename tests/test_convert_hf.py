"""convert on the Hugging Face transformers models issue 25 names (small configurations built
here, no downloads, float64): GPT-2, BERT and Llama. fx stops inside each ("co_varnames is too
small", control flow on values), so they go through torch.export, module by module: one class
per module called, ATen ops as ``jnp``/``F`` calls, and a comment where a class is specialised to
the example's shapes. ``convert`` verifies each itself (eval, and train with dropout off); here
the logits and parameter gradients are checked against torch again, and the source is run with
``import torch`` refused (tests/_convert_check.py). Outputs are dicts of the ``ModelOutput``'s
fields."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
import torch
from _convert_check import check_conversion
from _torchvision import import_torchvision

import_torchvision()  # transformers imports torchvision
import transformers  # noqa: E402

import funcgrad as fg  # noqa: E402

TEXT = {
    "vocab_size": 50,
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "max_position_embeddings": 16,
    "use_cache": False,
}


def gpt2() -> torch.nn.Module:
    config = transformers.GPT2Config(
        n_layer=1, n_head=2, n_embd=16, vocab_size=50, n_positions=16, use_cache=False
    )
    return transformers.GPT2LMHeadModel(config)


MODELS: dict[str, Callable[[], torch.nn.Module]] = {
    "GPT2LMHeadModel": gpt2,
    "BertForSequenceClassification": lambda: transformers.BertForSequenceClassification(
        transformers.BertConfig(intermediate_size=32, **TEXT)
    ),
    "LlamaForCausalLM": lambda: transformers.LlamaForCausalLM(
        transformers.LlamaConfig(intermediate_size=32, num_key_value_heads=1, **TEXT)
    ),
}
# a module of each model that fx cannot trace and torch.export can, as a class of its own
CLASSES = {
    "GPT2LMHeadModel": ("GPT2Attention", "GPT2Block", "GPT2Model"),
    "BertForSequenceClassification": ("BertSelfAttention", "BertEncoder", "BertModel"),
    "LlamaForCausalLM": ("LlamaAttention", "LlamaRotaryEmbedding", "LlamaModel"),
}


# Llama's RMSNorm and rotary embedding compute in float32 whatever the model's dtype
# (hidden_states.to(torch.float32)): torch and funcgrad both round there, in their own order.
TOL = {"LlamaForCausalLM": 1e-6}


def _logits(y: Any) -> Any:
    return y["logits"]


@functools.cache
def _checked(name: str) -> tuple[torch.nn.Module, Any]:
    """The model and its conversion, checked once (the tests of one model share it)."""
    torch.manual_seed(0)
    model = MODELS[name]().double()
    ids = torch.randint(0, 50, (2, 8))
    return model, check_conversion(model, (ids,), pick=_logits, tol=TOL.get(name, 1e-9))


@pytest.mark.parametrize("name", list(MODELS))
def test_hf_model_converts_verified_with_logits_and_parameter_gradients(name, x64):
    model, conv = _checked(name)
    for cls in (name, *CLASSES[name]):
        assert f"\nclass {cls}(Converted):" in conv.source, cls
    assert "# traced by torch.export: specialised to the example's shapes" in conv.source
    assert "import torch" not in conv.source
    # the output is the ModelOutput's fields, as a dict
    ids = torch.randint(0, 50, (2, 8))
    y, _ = conv.model.apply(conv.params, ids.numpy(), buffers=conv.buffers)
    assert list(y) == list(model(ids).keys())


def test_gpt2s_tied_lm_head_is_one_parameter_written_under_both_names(x64):
    model, conv = _checked("GPT2LMHeadModel")
    assert "lm_head" not in conv.params
    state = fg.interop.to_torch(conv.params, conv.buffers, model=conv.model)
    assert list(state) == list(model.state_dict())
    assert state["lm_head.weight"] is state["transformer.wte.weight"]
