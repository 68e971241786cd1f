"""Griffe extension for the API reference: funcgrad's docstrings, read as the site renders them.

- funcgrad's docstrings head their doctests ``Example:`` (or ``Example (what it shows):``). Google
  style as griffe reads it only knows ``Examples:``; any other heading becomes an admonition whose
  ``>>>`` lines render as Markdown block quotes. Renaming the heading renders every doctest as a
  highlighted code block, the parenthesis becoming its first sentence.
- A method that overrides a documented one without a docstring of its own (``Linear.apply``
  overrides ``Module.apply``) shows the docstring it inherits, as ``help()`` does.
- Sphinx roles (``:class:`Name```, ``:func:`name```) would show as raw text in Markdown; they
  become code spans.

The source stays as it is: this runs only when the docs are built.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj):`~?([^`]+)`")
_HEADING = re.compile(r"^(?P<indent>[ \t]*)Example(?:\s*\((?P<what>.*)\))?:[ \t]*$", re.MULTILINE)


def _rename(match: re.Match[str]) -> str:
    indent, what = match["indent"], match["what"]
    if not what:
        return f"{indent}Examples:"
    return f"{indent}Examples:\n{indent}    {what[0].upper()}{what[1:]}:\n"


class SiteDocstrings(griffe.Extension):
    """Rewrite ``Example:`` headings and Sphinx roles before griffe parses each docstring."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = _HEADING.sub(_rename, obj.docstring.value)
            obj.docstring.value = _ROLE.sub(r"`\1`", text)

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        # The package itself gets no on_object call, only its members.
        self.on_object(obj=pkg)
        loader.resolve_aliases(implicit=False, external=False)  # so each class's bases resolve
        _inherit_docstrings(pkg)


def _inherit_docstrings(obj: griffe.Object) -> None:
    for member in obj.members.values():
        if member.is_alias:
            continue
        if member.is_class:
            for name, method in member.members.items():
                if method.is_alias or not method.is_function or method.docstring is not None:
                    continue
                for base in member.mro():
                    inherited = base.members.get(name)
                    if inherited is not None and inherited.docstring is not None:
                        method.docstring = griffe.Docstring(
                            inherited.docstring.value, parent=method
                        )
                        break
        if member.is_module or member.is_class:
            _inherit_docstrings(member)
