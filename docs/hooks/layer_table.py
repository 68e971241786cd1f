"""mkdocs hook: the table of layers and losses in ``docs/layers.md``, generated from the layer table.

``docs/layers.md`` holds the marker ``<!-- layer table -->``; at build time it becomes one row per
entry of ``fg.nn.LAYERS`` and ``fg.nn.LOSSES``, each linking to the torch class it matches. Nothing
lists layers by hand, so the page cannot fall behind the code.
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- layer table -->"
TORCH_DOCS = "https://docs.pytorch.org/docs/stable/generated"


def _code(text: str | None) -> str:
    return f"`{text}`" if text else "—"


def layer_table() -> str:
    """The Markdown tables of layers and losses, one row per registry entry."""
    import funcgrad as fg

    rows = [
        "| torch | funcgrad | functional | `grad_fn` | `to_nnx` | torch's samples |",
        "|---|---|---|---|---|---|",
    ]
    for name, e in fg.nn.LAYERS.items():
        functional = f"F.{e.functional.__name__}" if e.functional else None
        samples = ", ".join(
            (["module_db"] if e.module_db else []) + [f"op_db `{o}`" for o in e.op_db]
        )
        rows.append(
            f"| [`nn.{name}`]({TORCH_DOCS}/torch.nn.{name}.html) | `fg.nn.{name}` | {_code(functional)} "
            f"| {_code(e.grad_fn)} | {_code(e.nnx) if e.nnx else 'generic wrapper'} | {samples or '—'} |"
        )
    rows += [
        "",
        "## Losses",
        "",
        "| torch | funcgrad | `grad_fn` | torch's samples |",
        "|---|---|---|---|",
    ]
    for name, e in fg.nn.LOSSES.items():
        fn = e.functional.__name__
        samples = ", ".join(
            (["module_db"] if e.module_db else []) + [f"op_db `{o}`" for o in e.op_db]
        )
        rows.append(
            f"| [`nn.{name}`]({TORCH_DOCS}/torch.nn.{name}.html), "
            f"[`F.{fn}`]({TORCH_DOCS}/torch.nn.functional.{fn}.html) | `fg.losses.{fn}` "
            f"| {_code(e.grad_fn)} | {samples or '—'} |"
        )
    return "\n".join(rows)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replace the marker with the generated tables."""
    return markdown.replace(MARKER, layer_table()) if MARKER in markdown else markdown
