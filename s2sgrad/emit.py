"""Emit: turn a generated gast function into source text, deterministically.

Printed with the standard library's `ast.unparse`, made to give the same text on every
supported Python (3.10 to 3.13). `ast.unparse` spells a few things differently across versions:

- 3.10 parenthesises a tuple that is an assignment, loop or comprehension target, `(_, d) = f(x)`,
  and writes `lambda : 0`; 3.11 and later write `_, d = f(x)` and `lambda: 0`. `respell` turns the
  3.10 spellings into the 3.11 ones.
- 3.11 and later write `x[*a, b]`, which 3.10 cannot parse; `respell` writes `x[(*a, b)]`, the
  same tree in a spelling every supported version reads.
- 3.12 and later may reuse the f-string's own quote inside its braces (`f'{d['k']}'`, PEP 701),
  which 3.10 and 3.11 cannot parse. f-strings are printed here by 3.11's rule instead
  (`f"{d['k']}"`), except one that no older spelling can express (a backslash inside braces).
- `repr` writes a character as itself if the running version's Unicode database calls it
  printable, and each version has a newer database (3.10: Unicode 13, 3.13: 15.1), so a string
  holding a recently added character is `'\\U0001fae8'` on one and the character on another.
  Strings that are not ASCII are written here as `repr` does, but with a character as itself
  only where it is printable and was already in Unicode 3.2 (`unicodedata.ucd_3_2_0`, the same
  in every version): the same set of characters on 3.10 to 3.13.

Every change keeps the tree: the text parses to what `ast.unparse`'s own text parses to, and
where it would not, the standard spelling is kept.

Comments are carried as marker statements (syntax.comment) and become comment lines here, in the one
format generated code has: `# text`, or for a line of the user's, `# model.py:12  h = np.tanh(W @ x)`
(the file's name, its line number, two spaces, the line as written).

Example:
    >>> print(emit(fn_def))
"""

import ast
import io
import os
import re
import tokenize
import unicodedata

import gast

from .syntax import COMMENT

_MARKER = re.compile(r"^(\s*)" + COMMENT + r"\((.*)\)$")
# Where an f-string may start (also matches some text inside other strings: then the long way).
_FSTRING = re.compile(r"(?<!\w)[rR]?[fF][rR]?['\"]")
# Where `respell` may have something to do: a line opening with a parenthesis (a first target), a
# parenthesised later target, a loop or comprehension target, a lambda, a starred item (not the
# bare `*` of keyword-only parameters).
_CANDIDATES = re.compile(r"^[ \t]*\(|= \(.*\) = |\bfor \(|\blambda :|(?:\[|, )\*(?![*,)])", re.MULTILINE)


def emit(fn_def):
    """Source text of a generated function, ending with a newline."""
    tree = gast.gast_to_ast(gast.Module(body=[fn_def], type_ignores=[]))
    ast.fix_missing_locations(tree)
    return comments(unparse(tree)) + "\n"


def comments(text):
    """Replace comment marker lines by real comments.

    Example:
        >>> comments("    __comment__('h = np.tanh(W @ x)', '/src/model.py', 12)")
        '    # model.py:12  h = np.tanh(W @ x)'
    """
    out = []
    for line in text.splitlines():
        m = _MARKER.match(line)
        out.append(f"{m.group(1)}# {comment_text(*ast.literal_eval(m.group(2) + ','))}" if m else line)
    return "\n".join(out)


def comment_text(text, filename=None, lineno=None):
    """What a comment of generated code says: `text`, after where it is in the user's file if known (the
    file's base name: the full path is in tracebacks, and generated text must not depend on where the
    project is checked out)."""
    if filename is None:
        return text
    return f"{os.path.basename(filename)}:{lineno}  {_code_of(text)}"


def _code_of(line):
    """A source line without its own trailing comment (a `# noqa` of the user's would be read as one
    about the generated line); the line as it is where it does not tokenize alone."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type == tokenize.COMMENT:
                return line[:token.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return line


def unparse(tree):
    """`ast.unparse(tree)`, spelled the same on every supported Python. `tree` is the same after
    (f-strings and strings are swapped out of it while it prints: not for a tree other threads read).

    Example:
        >>> unparse(ast.parse("(a, b) = c"))
        'a, b = c'
    """
    text = ast.unparse(tree)
    if text.isascii() and not _FSTRING.search(text):
        return respell(text)            # no f-string, and every string as every version writes it
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and _is_str(n.body[0].value)}

    def apart(node):
        return isinstance(node, ast.JoinedStr) or _is_str(node) and not node.value.isascii()

    def write(node):
        if isinstance(node, ast.JoinedStr):
            return _fstring(node)
        if id(node) in docstrings:        # as 3.11's `_write_docstring`
            return _prefix(node) + _quoted(node.value, _MULTI_QUOTES)
        return _prefix(node) + _repr(node.value)

    return _unparse_apart(tree, apart, write)


def _unparse_apart(tree, apart, write):
    """`ast.unparse(tree)` respelled, with each outermost node for which `apart(node)` holds written
    by `write(node)` instead. Those nodes are swapped in place for stand-in names, which `respell`
    and `ast.unparse` treat like any name, and put back (no copy of the tree)."""
    if apart(tree):
        return write(tree)
    if not any(apart(node) for node in ast.walk(tree)):
        return respell(ast.unparse(tree))
    prefix, dump = "__apart", ast.dump(tree)
    while prefix in dump:                    # a name no identifier or string of the tree contains
        prefix += "_"
    nodes, undo = [], []

    def stand_in(node):
        nodes.append(node)
        return ast.copy_location(ast.Name(id=f"{prefix}{len(nodes) - 1}_", ctx=ast.Load()), node)

    def swap(parent):
        for field, value in ast.iter_fields(parent):
            for k, node in enumerate(value) if isinstance(value, list) else [(None, value)]:
                if not isinstance(node, ast.AST):
                    continue
                if not apart(node):
                    swap(node)
                elif k is None:
                    setattr(parent, field, stand_in(node))
                    undo.append((parent, field, node))
                else:
                    value[k] = stand_in(node)
                    undo.append((value, k, node))

    try:
        swap(tree)
        text = respell(ast.unparse(tree))
    finally:
        for where, key, node in reversed(undo):
            if isinstance(where, list):
                where[key] = node
            else:
                setattr(where, key, node)
    return re.sub(prefix + r"(\d+)_", lambda m: write(nodes[int(m.group(1))]), text)


# -- 3.10's spellings ---------------------------------------------------------------------------

def respell(text):
    """Code printed by any supported version's `ast.unparse`, with 3.10's spellings replaced by
    3.11's and 3.11's starred subscripts by the one every version parses. The tree is kept: if the
    new text would parse differently (never, by construction), the text is returned unchanged.

    Example:
        >>> respell("for (i, j) in pairs:\\n    (a, b) = (b, a)")
        'for i, j in pairs:\\n    a, b = (b, a)'
    """
    if not _CANDIDATES.search(text):
        return text
    tree = ast.parse(text)
    at = _Offsets(text)
    edits = []                      # (offset, characters removed, text inserted)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            targets = [node.target]
        else:
            targets = []
        for t in targets:
            start, end = at.span(t)
            if isinstance(t, ast.Tuple) and t.elts and _wrapped(text[start:end]):
                edits += [(start, 1, ""), (end - 1, 1, "")]
        if isinstance(node, ast.Lambda) and not _has_parameters(node.args):
            start, _ = at.span(node)
            if text.startswith("lambda :", start):
                edits.append((start + len("lambda"), 1, ""))
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) \
                and any(isinstance(e, ast.Starred) for e in node.slice.elts):
            start, end = at.span(node.slice)
            if not _wrapped(text[start:end]):
                edits += [(start, 0, "("), (end, 0, ")")]
    if not edits:
        return text
    new = text
    for offset, removed, inserted in sorted(edits, reverse=True):
        new = new[:offset] + inserted + new[offset + removed:]
    return new if ast.dump(ast.parse(new)) == ast.dump(tree) else text


def _has_parameters(args):
    return bool(args.posonlyargs or args.args or args.vararg or args.kwonlyargs or args.kwarg)


_BRACKETS = frozenset("()[]{}")


def _wrapped(span):
    """Whether the whole span is inside one pair of parentheses: true of `(a, b)`, not of
    `(a, b), (c, d)` (strings may hold brackets, so tokens are counted, not characters)."""
    if not (span.startswith("(") and span.endswith(")")):
        return False
    brackets = [t.string for t in tokenize.generate_tokens(io.StringIO(span).readline)
                if t.type == tokenize.OP and t.string in _BRACKETS]
    depth = 0
    for k, b in enumerate(brackets):
        depth += 1 if b in "([{" else -1
        if depth == 0:
            return k == len(brackets) - 1
    return False


class _Offsets:
    """Character offsets in a text of the nodes parsed from it (`ast` counts columns in UTF-8 bytes)."""

    def __init__(self, text):
        self.lines = text.split("\n")       # lines as `ast` counts them (not str.splitlines's)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def offset(self, lineno, col):
        return self.starts[lineno - 1] + len(self.lines[lineno - 1].encode()[:col].decode())

    def span(self, node):
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)


# -- f-strings ----------------------------------------------------------------------------------

_SINGLE_QUOTES = ("'", '"')
_MULTI_QUOTES = ('"""', "'''")
_ALL_QUOTES = _SINGLE_QUOTES + _MULTI_QUOTES


def _fstring(node):
    """An f-string written by the rule of Python 3.11's `ast.unparse`, which every supported
    version parses; the standard spelling where that rule cannot write it or would change it."""
    try:
        text = _fstring_3_11(node)
        if _parses_to(text, node):
            return text
    except (ValueError, SyntaxError):
        pass
    return ast.unparse(node)


def _parses_to(text, node):
    """Whether an expression's text parses to what `ast.unparse`'s own text of `node` parses to
    (to `node` itself where that text does not parse: 3.11's, in some cases)."""
    tree = ast.dump(ast.parse(text, mode="eval").body)
    try:
        return tree == ast.dump(ast.parse(ast.unparse(node), mode="eval").body)
    except SyntaxError:
        return tree == ast.dump(node)


def _fstring_3_11(node):
    """3.11's `visit_JoinedStr`: pick one quote that no part contains, escaping whitespace only in
    the literal parts; when no quote fits every part, triple single quotes and `repr` escapes in
    the literal parts (3.12's fix: 3.11 escaped the expressions too, which no version parses)."""
    parts = [(_fstring_inner(v), isinstance(v, ast.Constant)) for v in node.values]
    quotes, written = list(_ALL_QUOTES), []
    for value, is_constant in parts:
        value, usable = _literal(value, quotes, escape_whitespace=is_constant)
        written.append(value)
        if set(usable).isdisjoint(quotes):
            quotes = ["'''"]
            written = [repr('"' + value)[2:-1] if is_constant else value for value, is_constant in parts]
            break
        quotes = usable
    return f"f{quotes[0]}{''.join(written)}{quotes[0]}"


def _fstring_inner(node):
    """The text between an f-string's quotes (or after a format spec's colon), unescaped."""
    if isinstance(node, ast.JoinedStr):
        return "".join(_fstring_inner(v) for v in node.values)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.FormattedValue):
        expr = _unparse_apart(node.value, _is_string, _braced_string)
        if isinstance(node.value, (ast.IfExp, ast.Lambda)):
            expr = f"({expr})"
        if "\\" in expr:
            raise ValueError("a backslash inside an f-string's braces has no spelling before Python 3.12")
        text = "{" + (" " if expr.startswith("{") else "") + expr
        if node.conversion != -1:
            text += f"!{chr(node.conversion)}"
        if node.format_spec:
            text += ":" + _fstring_inner(node.format_spec)
        return text + "}"
    raise ValueError(f"unexpected node inside an f-string: {ast.dump(node)}")


def _is_str(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_string(node):
    return isinstance(node, ast.JoinedStr) or _is_str(node)


def _prefix(node):
    return "u" if getattr(node, "kind", None) == "u" else ""


def _braced_string(node):
    """A string or f-string inside an f-string's braces, quoted so as to need no backslash
    (3.11's `_avoid_backslashes`)."""
    if isinstance(node, ast.JoinedStr):
        return "f" + _quoted(_fstring_inner(node))
    return _prefix(node) + _quoted(node.value)


def _quoted(string, quote_types=_ALL_QUOTES):
    """3.11's `_write_str_avoiding_backslashes`."""
    body, quotes = _literal(string, quote_types)
    return f"{quotes[0]}{body}{quotes[0]}"


def _literal(string, quote_types, escape_whitespace=False):
    """3.11's `_str_literal_helper`: (the string escaped as little as possible, the quotes that
    may surround it, best first)."""
    def escape(c):
        if not escape_whitespace and c in "\n\t":
            return c
        if c == "\\" or not _printable(c):
            return c.encode("unicode_escape").decode("ascii")
        return c

    escaped = "".join(map(escape, string))
    possible = list(quote_types)
    if "\n" in escaped:
        possible = [q for q in possible if q in _MULTI_QUOTES]
    possible = [q for q in possible if q not in escaped]
    if not possible:
        string = repr(string)
        quote = next((q for q in quote_types if string[0] in q), string[0])
        return string[1:-1], [quote]
    if escaped:
        possible.sort(key=lambda q: q[0] == escaped[-1])     # prefer '''"''' to """\""""
        if possible[0][0] == escaped[-1]:
            escaped = escaped[:-1] + "\\" + escaped[-1]
    return escaped, possible


# -- strings ------------------------------------------------------------------------------------

def _printable(c):
    """Printable on every supported version: printable here, and already in Unicode 3.2."""
    return c.isprintable() and (c.isascii() or unicodedata.ucd_3_2_0.category(c) != "Cn")


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _repr(string):
    """`repr(string)`, with `_printable` for the running version's idea of printable."""
    quote = '"' if "'" in string and '"' not in string else "'"
    out = []
    for c in string:
        if c == quote or c in _ESCAPES:
            out.append(_ESCAPES.get(c, "\\" + c))
        elif _printable(c):
            out.append(c)
        else:
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
    return quote + "".join(out) + quote
