"""Frontend: get a function's source, parse it with gast, resolve the names it uses.

After this stage every later stage works on resolved objects, never on spellings:
`np.sin` and `xp.sin` both resolve to the object `numpy.sin`.

Example:
    >>> src = parse(f)
    >>> src.resolve(call_node.func)   # -> <ufunc 'sin'>
"""

import builtins
import functools
import inspect
import os
import sysconfig
import linecache
import textwrap
from dataclasses import dataclass, field

import gast

from .errors import SourceUnavailableError

NOT_FOUND = object()
LOCAL = object()


@dataclass
class Source:
    """A parsed user function with what is needed to point back at its text."""

    fn: object
    node: gast.FunctionDef
    filename: str
    line_offset: int
    col_offset: int
    locals: frozenset
    namespace: dict = field(default_factory=dict)
    watched: list = field(default_factory=list)    # (globals dict or cell, name, object) read at parse time

    def is_current(self):
        """Whether every global and closure value the function reads is still the object compiled in."""
        for where, key, obj in self.watched:
            try:
                now = where[key] if key is not None else where.cell_contents
            except (KeyError, ValueError):
                return False
            if now is not obj:
                return False
        return True

    @property
    def name(self):
        return self.node.name

    @property
    def params(self):
        """Every parameter, positional and keyword-only (the tangents of generated forward code are)."""
        return [a.id for a in self.node.args.args + self.node.args.kwonlyargs]

    def location(self, node):
        """(filename, lineno, offset, text) of a node, in the user's file, 1-based column."""
        lineno = getattr(node, "lineno", None) or self.node.lineno
        col = getattr(node, "col_offset", 0) or 0
        file_line = lineno + self.line_offset
        text = linecache.getline(self.filename, file_line)
        return (self.filename, file_line, col + self.col_offset + 1, text)

    def line_text(self, node):
        return self.location(node)[3].strip()

    def resolve(self, node):
        """The object an expression names (a global, module attribute, builtin), or NOT_FOUND / LOCAL."""
        if isinstance(node, gast.Name):
            if node.id in self.locals:
                return LOCAL
            if node.id in self.namespace:
                return self.namespace[node.id]
            return NOT_FOUND
        if isinstance(node, gast.Attribute):
            base = self.resolve(node.value)
            if base is NOT_FOUND or base is LOCAL:
                return base
            if inspect.ismodule(base) or inspect.isclass(base):
                return getattr(base, node.attr, NOT_FOUND)
            return NOT_FOUND
        return NOT_FOUND


LIBRARIES = {"numpy", "scipy", "jax", "torch", "pandas", "sklearn"}
GENERATED_MODULE = "s2sgrad.generated"      # the __name__ generated code runs under (see load.py)


def is_library(fn):
    """Whether `fn` belongs to an installed library or the standard library, whose internals
    s2sgrad never differentiates (they get rules, or the call is refused at the user's line)."""
    full = getattr(fn, "__module__", None) or ""
    module = full.partition(".")[0]
    if module in LIBRARIES:
        return True
    if module == "s2sgrad":        # its runtime helpers have rules; only generated code is descended into
        return full != GENERATED_MODULE
    filename = os.path.realpath(getattr(getattr(fn, "__code__", None), "co_filename", "") or "")
    return any(filename.startswith(root + os.sep) for root in _library_roots())


@functools.lru_cache(maxsize=1)
def _library_roots():
    paths = sysconfig.get_paths()
    roots = {os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(sorted(roots))


def unwrap(fn):
    """The plain Python function behind a `differentiate` object or functools wrapper."""
    while True:
        if hasattr(fn, "__s2sgrad_derivative__"):      # a derivative is a function of its own
            return fn
        inner = getattr(fn, "__s2sgrad_fn__", None) or getattr(fn, "__wrapped__", None)
        if inner is None:
            return fn
        fn = inner


def parse(fn):
    """Parse `fn` into a `Source`; raise SourceUnavailableError when that cannot be done."""
    fn = unwrap(fn)
    if hasattr(fn, "__s2sgrad_derivative__"):
        raise SourceUnavailableError(
            f"{fn.__qualname__} is a derivative made by s2sgrad.{fn.__s2sgrad_derivative__[0]}; differentiating "
            "it again this way is not supported: use s2sgrad.hessian or s2sgrad.hvp for second derivatives")
    if not inspect.isfunction(fn):
        raise SourceUnavailableError(
            f"{fn!r} is not a Python function defined with 'def'; s2sgrad differentiates "
            "functions whose source it can read (builtins and C extensions need a gradient rule)"
        )
    if fn.__name__ == "<lambda>":
        raise SourceUnavailableError(
            f"cannot differentiate a lambda ({fn.__code__.co_filename}:{fn.__code__.co_firstlineno}); "
            "write it as a 'def' function"
        )
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError) as err:
        raise SourceUnavailableError(
            f"cannot read the source of {fn.__qualname__} ({err}); s2sgrad needs the function's "
            "source file: functions typed at the interactive prompt or built with exec() have none"
        ) from None
    raw = "".join(lines)
    text = textwrap.dedent(raw)
    indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    try:
        module = gast.parse(text)
    except SyntaxError as err:
        raise SourceUnavailableError(f"cannot parse the source of {fn.__qualname__}: {err}") from None
    defs = [n for n in module.body if isinstance(n, gast.FunctionDef)]
    if not defs:
        raise SourceUnavailableError(f"the source of {fn.__qualname__} holds no 'def' statement")
    node = defs[0]
    node.decorator_list = []
    filename = fn.__code__.co_filename
    # gast line numbers count from the first line of the extracted source.
    src = Source(fn, node, filename, first - 1, indent, frozenset(_local_names(node)))
    src.namespace, src.watched = _namespace(fn, node, src.locals)
    return src


def _local_names(node):
    names = {a.id for a in node.args.args + node.args.kwonlyargs}
    for sub in gast.walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, (gast.Store, gast.Del)):
            names.add(sub.id)
    return names


def _namespace(fn, node, local_names):
    """Every free name the function reads, bound to its current object."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    namespace, watched = {}, []
    for sub in gast.walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Load) and sub.id not in local_names:
            name = sub.id
            if name in namespace:
                continue
            if name in cells:
                try:
                    namespace[name] = cells[name].cell_contents
                    watched.append((cells[name], None, namespace[name]))
                except ValueError:
                    pass
            elif name in fn.__globals__:
                namespace[name] = fn.__globals__[name]
                watched.append((fn.__globals__, name, namespace[name]))
            elif hasattr(builtins, name):
                namespace[name] = getattr(builtins, name)
    return namespace, watched
