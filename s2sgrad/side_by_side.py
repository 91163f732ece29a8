"""The primal next to its derivative, block by block: `s2sgrad show --side-by-side` and `--html`.

Each adjoint block of generated code opens with a comment naming the user's line it reverses
(`# model.py:12  h = np.tanh(W @ x)`, see emit.py); that line goes in the left column, the block's code
in the right. The forward sweep, which runs the primal, sits next to the primal's own source.

Example:
    >>> print(side_by_side(f, s2sgrad.source(f)))
    model.py:3  def f(x):                 | def grad_f(x, *, dout=1.0):
    ...
"""

import html
import inspect
import os
import re

_LOCATED = re.compile(r"^(\s*)# (\S+?):(\d+)  (.*)$")


def blocks(fn, text):
    """[(primal lines, generated lines)] for the generated `text` of `fn`'s derivative: one block per
    located comment (the primal line it names, the code under it up to the next), and before them each
    generated function's forward sweep, next to the primal's source for the first. A primal line is
    `file.py:12  h = np.tanh(W @ x)`."""
    out, left, right = [], _primal_source(fn), []

    def close():
        while right and not right[-1].strip():
            right.pop()
        if left or right:
            out.append((list(left), list(right)))
        left.clear()
        right.clear()

    for line in text.splitlines():
        m = _LOCATED.match(line)
        if m:
            close()
            _, name, lineno, code = m.groups()
            left.append(f"{name}:{lineno}  {code}")
        elif line.strip() == "# reverse sweep" or (line.startswith("def ") and right):
            close()
            if line.startswith("def "):
                right.append(line)
        else:
            right.append(line)
    close()
    return out


def _primal_source(fn):
    try:
        lines, start = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or "?"
    except (OSError, TypeError):
        return []
    name = os.path.basename(filename)
    return [f"{name}:{start + k}  {line.rstrip()}" for k, line in enumerate(lines)]


def side_by_side(fn, text, width=None, colour=False):
    """The two columns as text: primal left, derivative right, `|` between; `colour` highlights both with
    pygments (if it is installed) for a terminal."""
    rows = blocks(fn, text)
    if width is None:
        width = min(72, max((len(p) for left, _ in rows for p in left), default=20))
    highlight = _highlighter() if colour else None
    out = []
    for left, right in rows:
        for k in range(max(len(left), len(right))):
            a = left[k] if k < len(left) else ""
            b = right[k] if k < len(right) else ""
            a = a if len(a) <= width else a[:width - 1] + "…"
            pad = " " * (width - len(a))
            if highlight:
                a, b = highlight(a), highlight(b)
            out.append(f"{a}{pad} | {b}".rstrip())
        out.append(f"{'-' * width}-+-{'-' * 40}")
    return "\n".join(out[:-1]) + "\n"


def _highlighter():
    try:
        from pygments import highlight
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return None
    lexer, formatter = PythonLexer(), TerminalFormatter()
    return lambda code: highlight(code, lexer, formatter).rstrip("\n") if code.strip() else code


def to_html(fn, text):
    """A standalone HTML page of the two columns, one table row per block (pygments colours it if
    installed)."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        def cell(lines):
            return highlight("\n".join(lines), PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True))
    except ImportError:
        def cell(lines):
            return html.escape("\n".join(lines))
    rows = "\n".join(f"<tr><td><pre>{cell(left)}</pre></td><td><pre>{cell(right)}</pre></td></tr>"
                     for left, right in blocks(fn, text))
    title = html.escape(getattr(fn, "__qualname__", "derivative"))
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title} and its derivative</title>\n"
            "<style>td { vertical-align: top; border-top: 1px solid #ddd; padding: 0 1em; } "
            "pre { margin: 0.3em 0; }</style></head>\n"
            f"<body><table>\n<tr><th>{title}</th><th>derivative</th></tr>\n{rows}\n</table></body></html>\n")

