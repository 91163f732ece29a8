"""Griffe extension for the API pages: s2sgrad's docstrings head their doctests "Example:", which the
Google-style parser reads as an admonition (its code then rendered as prose); read it as the
"Examples:" section, so the doctests render as Python sessions."""

import re

import griffe

EXAMPLE = re.compile(r"^(\s*)Example:$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
