"""mkdocs hook: the tables of layers, activations and losses in ``docs/layers.md``, from the registry.

``docs/layers.md`` holds the marker ``<!-- layer table -->``; at build time it becomes three tables:
the layers of ``fg.nn.LAYERS``, the activations among them (torch's ``torch.nn.modules.activation``)
under a heading of their own, and the losses of ``fg.nn.LOSSES``. Each row is one registry entry and
links to the torch class (and, for a loss, the ``torch.nn.functional`` function) it matches. Nothing
lists layers by hand, so the page cannot fall behind the code.
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- layer table -->"
TORCH_DOCS = "https://docs.pytorch.org/docs/stable/generated"


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "—"


def _samples(e: Any) -> str:
    found = (["module_db"] if e.module_db else []) + [f"op_db `{o}`" for o in e.op_db]
    return ", ".join(found) or "—"


def _is_activation(name: str, e: Any) -> bool:
    """torch files the layer under ``torch.nn.modules.activation`` (ReLU, Softmax, GELU...)."""
    try:
        import torch
    except ImportError:  # no torch where the docs build: funcgrad's module of activations
        return e.module.__module__ == "funcgrad.nn._activations" and name not in (
            "Flatten",
            "Identity",
        )
    return getattr(torch.nn, name).__module__ == "torch.nn.modules.activation"


def _layer_rows(entries: dict[str, Any]) -> list[str]:
    rows = [
        "| torch | funcgrad | functional | `grad_fn` | `to_nnx` | torch's samples |",
        "|---|---|---|---|---|---|",
    ]
    for name, e in entries.items():
        functional = f"F.{e.functional.__name__}" if e.functional else None
        nnx = _code(e.nnx) if e.nnx else "generic wrapper"
        rows.append(
            f"| [`nn.{name}`]({TORCH_DOCS}/torch.nn.{name}.html) | `fg.nn.{name}` "
            f"| {_code(functional)} | {_code(e.grad_fn)} | {nnx} | {_samples(e)} |"
        )
    return rows


def _loss_rows(entries: dict[str, Any]) -> list[str]:
    rows = [
        "| torch | funcgrad module | functional | `grad_fn` | torch's samples |",
        "|---|---|---|---|---|",
    ]
    for name, e in entries.items():
        fn = e.functional.__name__
        module = f"fg.nn.{e.module.__name__}" if e.module is not None else None
        rows.append(
            f"| [`nn.{name}`]({TORCH_DOCS}/torch.nn.{name}.html), "
            f"[`F.{fn}`]({TORCH_DOCS}/torch.nn.functional.{fn}.html) | {_code(module)} "
            f"| `fg.losses.{fn}` | {_code(e.grad_fn)} | {_samples(e)} |"
        )
    return rows


def layer_table() -> str:
    """The Markdown tables of layers, activations and losses, one row per registry entry."""
    import funcgrad as fg

    activations = {n: e for n, e in fg.nn.LAYERS.items() if _is_activation(n, e)}
    layers = {n: e for n, e in fg.nn.LAYERS.items() if n not in activations}
    return "\n".join(
        [
            *_layer_rows(layers),
            "",
            "## Activations",
            "",
            "torch's `torch.nn.modules.activation`: modules in `fg.nn`, functions in "
            "`fg.nn.functional`.",
            "",
            *_layer_rows(activations),
            "",
            "## Losses",
            "",
            "Each loss is a module in `fg.nn` (torch's constructor; `apply(params, input, target)`"
            " with `params = {}`) and a function in `fg.losses` under torch's "
            "`torch.nn.functional` name.",
            "",
            *_loss_rows(dict(fg.nn.LOSSES)),
        ]
    )


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace the marker with the generated tables."""
    return markdown.replace(MARKER, layer_table()) if MARKER in markdown else markdown
