"""Load: compile generated text into a function and register it with linecache.

The text is registered under a stable pseudo-filename, so tracebacks, `pdb` and
`inspect.getsource` show the generated lines.

Example:
    >>> fn = load(text, "grad_f", namespace, "<s2sgrad grad_f of mymod.f>")
"""

import ast
import builtins
import linecache

from .frontend import ORIGINS
from .syntax import is_comment


def load(text, fname, namespace, filename, fn_defs=()):
    """Compile `text`, run it in a fresh globals dict built from `namespace`, return `fname` from it.
    `fn_defs`, the trees `text` was printed from, give each generated line the user's line it comes from."""
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    ORIGINS[filename] = line_origins(fn_defs, text)
    code = compile(text, filename, "exec")
    env = {"__builtins__": builtins, "__name__": "s2sgrad.generated"}
    env.update(namespace)
    exec(code, env)
    fn = env[fname]
    fn.__s2sgrad_source__ = text
    return fn


def line_origins(fn_defs, text):
    """{line of `text`: origin} for the statements of `fn_defs` that carry one (`s2s_origin`): the printed
    text parses back to the same statements, in the same order, comment markers aside."""
    printed = [n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)]
    out = {}
    for tree, parsed in zip(fn_defs, printed):
        generated = [n for n in _statements(tree) if not is_comment(n)]
        lines = list(_statements(parsed))
        if len(generated) != len(lines):
            continue                  # never guess: no origins rather than wrong ones
        for g, p in zip(generated, lines):
            origin = getattr(g, "s2s_origin", None)
            if origin is not None:
                out.setdefault(p.lineno, origin)
    return out


def _statements(fn_def):
    """The statements of a function (gast or ast), nested ones too, in the order they are printed."""
    for stmt in fn_def.body:
        yield from _preorder(stmt)


def _preorder(stmt):
    yield stmt
    for field in ("body", "orelse"):
        for child in getattr(stmt, field, None) or ():
            yield from _preorder(child)
