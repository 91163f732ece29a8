"""Emit: turn a generated gast function into source text, deterministically.

Printed with the standard library's `ast.unparse`. Comments are carried as marker
statements `__comment__("text")` and become `# text` lines here.

Example:
    >>> print(emit(fn_def))
"""

import ast
import re

import gast

from .reverse import COMMENT

_MARKER = re.compile(r"^(\s*)" + COMMENT + r"\((['\"])(.*)\2\)$")


def emit(fn_def):
    """Source text of a generated function, ending with a newline."""
    tree = gast.gast_to_ast(gast.Module(body=[fn_def], type_ignores=[]))
    ast.fix_missing_locations(tree)
    text = ast.unparse(tree)
    return comments(text) + "\n"


def comments(text):
    """Replace comment marker lines by real comments."""
    out = []
    for line in text.splitlines():
        m = _MARKER.match(line)
        if m:
            body = m.group(3).encode().decode("unicode_escape") if "\\" in m.group(3) else m.group(3)
            out.append(f"{m.group(1)}# {body}")
        else:
            out.append(line)
    return "\n".join(out)
