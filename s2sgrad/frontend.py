"""Frontend: get a function's source, parse it with gast, resolve the names it uses.

After this stage every later stage works on resolved objects, never on spellings:
`np.sin` and `xp.sin` both resolve to the object `numpy.sin`.

Example:
    >>> src = parse(f)
    >>> src.resolve(call_node.func)   # -> <ufunc 'sin'>
"""

import builtins
import copy
import functools
import inspect
import os
import sysconfig
import linecache
import textwrap
from dataclasses import dataclass, field

import gast
import numpy as np

from .errors import SourceUnavailableError
from .syntax import identifier, walk

NOT_FOUND = object()
LOCAL = object()


class Known:
    """The kind of an argument that is a function or an object of the user's (a model): generated code is
    specialised on it (a new one gets new code), in which the parameter means it: `act(x)` calls it,
    `model.forward(x)` calls its method, `model.W` reads its attribute (watched: rebinding it rebuilds).

    Example:
        >>> derive(nn, ("params",), (("params", "unknown"), ("act", Known(np.tanh))))
    """

    def __init__(self, fn):
        self.fn = fn

    def __eq__(self, other):
        return isinstance(other, Known) and other.fn is self.fn

    def __hash__(self):
        return id(self.fn)

    def __repr__(self):
        return f"Known({getattr(self.fn, '__qualname__', self.fn)!r})"


OBJECTS_IN_CONTAINER = "a list, tuple or dict holding objects"     # InstanceOf attrs entries
HIDES_METHOD = "an instance attribute hiding a method of the class"


class InstanceOf:
    """The kind of `self` in the generic code of a method (what `s2sgrad show file.py:Model.loss` prints):
    an instance of the class that defines it, whose methods `self.forward(x)` calls. `attrs` says the kinds
    of the object's attributes that hold objects in turn (a model's layers), sorted by name: `self.linear(x)`
    then calls Linear.__call__ with the attribute read; code is specialised on the whole structure.

    Example:
        >>> InstanceOf(Model, (("linear", InstanceOf(Linear)),)).attr("linear") == InstanceOf(Linear)
        True
    """

    def __init__(self, cls, attrs=()):
        self.cls = cls
        self.attrs = tuple(attrs)

    def attr(self, name):
        """The kind of the object attribute `name` holds, or None (an array, a number, not an object)."""
        return next((kind for key, kind in self.attrs if key == name and isinstance(kind, InstanceOf)), None)

    def hides_method(self, name):
        """Whether the object's own attribute `name` hides a function of its class (`layer.forward = f` set on
        the instance): a call of it is refused, never run as the class's method."""
        return (name, HIDES_METHOD) in self.attrs

    def holds_objects(self, name):
        """Whether attribute `name` is a list, tuple or dict holding objects (`self.layers`), whose calls
        are refused: which layer an item is is known only when the code runs."""
        return (name, OBJECTS_IN_CONTAINER) in self.attrs

    def __eq__(self, other):
        return isinstance(other, InstanceOf) and other.cls is self.cls and other.attrs == self.attrs

    def __hash__(self):
        return hash((id(self.cls), self.attrs))


def method_kinds(fn):
    """((first parameter, InstanceOf(its class)),) for a function defined in a class body whose first
    parameter is `self`, else (): what the generic code of a method is specialised on."""
    fn = unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None or not hasattr(fn, "__globals__"):
        return ()
    owner, _, _ = fn.__qualname__.rpartition(".")
    params = list(code.co_varnames[:code.co_argcount])
    cls = fn.__globals__.get(owner) if owner and "<" not in owner else None
    if params and params[0] == "self" and inspect.isclass(cls):
        return (("self", InstanceOf(cls)),)
    return ()


def specialise(source, kinds):
    """Bind the parameters `kinds` says hold functions or objects to them (`act(x)` then calls np.tanh: its
    rule, or the helper's derivative). A parameter the function reassigns keeps its value unknown."""
    assigned = {n.id for n in walk(source.node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    for param, kind in kinds if kinds is not None else method_kinds(source.fn):
        if isinstance(kind, Known) and param not in assigned:
            source.namespace[param] = kind.fn
            source.locals = frozenset(source.locals - {param})
        elif isinstance(kind, InstanceOf) and param not in assigned:
            source.instance_of[param] = kind.cls
            source.object_kinds[param] = kind
    return source
def unresolved(obj):
    """Whether `resolve` found no object (a local, or nothing), by identity (an array is never `==`)."""
    return obj is LOCAL or obj is NOT_FOUND


# Generated code's pseudo-filename -> {its line: (file, line, column) of the user's line it comes from};
# written by load, read here when generated code is differentiated again.
ORIGINS = {}


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
    instance_of: dict = field(default_factory=dict)   # parameter -> the class its value is an instance of
    object_kinds: dict = field(default_factory=dict)  # the same names (and reads of their layers) -> InstanceOf

    def is_current(self):
        """Whether every global and closure value the function reads is still the object compiled in. (The
        source file may change: the code built from it matched the code that runs, which does not.)"""
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
        """Every parameter, in the order of the signature: positional, `*args`, keyword-only, `**kwargs`
        (the last two hold a tuple and a dict: containers)."""
        return parameter_names(self.node.args)

    def location(self, node):
        """(filename, lineno, offset, text) of a node, in the user's file, 1-based column. In generated
        code (differentiated again), the user's line it was generated from."""
        lineno = getattr(node, "lineno", None) or self.node.lineno
        col = getattr(node, "col_offset", 0) or 0
        file_line = lineno + self.line_offset
        origin = ORIGINS.get(self.filename, {}).get(file_line)
        if origin is not None:
            filename, file_line, offset = origin
            return (filename, file_line, offset, linecache.getline(filename, file_line))
        text = linecache.getline(self.filename, file_line)
        return (self.filename, file_line, col + self.col_offset + 1, text)

    def origin(self, node):
        """(filename, lineno, offset) of a node: where errors about code generated from it point."""
        return self.location(node)[:3]

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
            cls = self.instance_of.get(node.value.id) if isinstance(node.value, gast.Name) else None
            kind = self.object_kinds.get(node.value.id) if cls is not None else None
            if cls is not None:                   # self.forward in a method's generic code: the class's
                if kind is not None and kind.hides_method(node.attr):
                    return LOCAL                  # model.forward = f on the object: not the class's
                found = inspect.getattr_static(cls, node.attr, NOT_FOUND)
                return found if inspect.isfunction(found) else LOCAL
            base = self.resolve(node.value)
            if base is NOT_FOUND or base is LOCAL:
                return base
            if inspect.ismodule(base) or inspect.isclass(base):
                return getattr(base, node.attr, NOT_FOUND)
            if not isinstance(base, (np.ndarray, np.generic)):      # a method of an object (norm.logpdf)
                found = getattr(base, node.attr, NOT_FOUND)
                if callable(found) and not isinstance(found, (np.ndarray, np.generic)):
                    return found
                if node.attr in getattr(base, "__dict__", {}):       # model.W: watched, rebinding rebuilds
                    self.watched.append((base.__dict__, node.attr, found))
                    return found
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
    """The function that runs when `fn` is called, for differentiating: through a `differentiate` object
    and through wrappers known to return what they wrap returns (functools.lru_cache and cache), never
    through a decorator's Python wrapper, which may change the value (it is differentiated itself).

    Example:
        >>> unwrap(s2sgrad.differentiate(f)) is f
        True
    """
    while True:
        if hasattr(fn, "__s2sgrad_derivative__"):      # a derivative is a function of its own
            return fn
        inner = getattr(fn, "__s2sgrad_fn__", None)
        if inner is None and _transparent(fn):
            inner = fn.__wrapped__
        if inner is None:
            return fn
        fn = inner


def _transparent(fn):
    """Whether `fn` returns exactly what its `__wrapped__` returns: a cache (functools.lru_cache,
    functools.cache), or a wrapper marked `__s2sgrad_transparent__ = True`."""
    if getattr(fn, "__wrapped__", None) is None:
        return False
    return isinstance(fn, functools._lru_cache_wrapper) or getattr(fn, "__s2sgrad_transparent__", False) is True


def display_name(fn):
    """How generated code names `fn`: its name, a valid identifier (`lambda` for a lambda), the class's name
    for a `__call__` method (`Layer`, not `__call__`)."""
    name = getattr(fn, "__name__", None) or type(fn).__name__
    if name == "__call__":
        name = fn.__qualname__.rpartition(".")[0].rpartition(".")[2] or "call"
    return identifier(name)


def signature(fn):
    """The parameters of the code that runs (a decorator's wrapper's own, not those it copied)."""
    return inspect.signature(fn, follow_wrapped=False)


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
    lifted = getattr(fn, "__s2sgrad_lifted__", None)
    if lifted is not None:                  # a function lowering lifted out of another (lower/lift.py)
        node = copy.deepcopy(lifted["node"])
        src = Source(fn, node, lifted["filename"], lifted["line_offset"], lifted["col_offset"],
                     frozenset(_local_names(node)))
        src.namespace, src.watched = _namespace(fn, node, src.locals)
        src.namespace.update({k: v for k, v in lifted["namespace"].items()
                              if k not in src.locals and k in {n.id for n in walk(node) if isinstance(n, gast.Name)}})
        return src
    if fn.__code__.co_name == "<lambda>":
        return _parse_lambda(fn)
    try:
        lines, first = inspect.getsourcelines(fn.__code__)       # the code that runs, not a __wrapped__
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
    _check_current(fn, node, first - 1)
    # Positional-only parameters are positional parameters to everything after (callers pass them by
    # position; generated code accepts them so).
    node.args.args = node.args.posonlyargs + node.args.args
    node.args.posonlyargs = []
    filename = fn.__code__.co_filename
    # gast line numbers count from the first line of the extracted source.
    src = Source(fn, node, filename, first - 1, indent, frozenset(_local_names(node)))
    src.namespace, src.watched = _namespace(fn, node, src.locals)
    return src


def _parse_lambda(fn):
    """A lambda as `def lambda(<its parameters>): return <its body>`: found in its file (or notebook cell,
    which linecache holds) at its line, and among the lambdas there, the one whose bytecode is its own."""
    code = fn.__code__
    where = f"{code.co_filename}:{code.co_firstlineno}"
    text = "".join(linecache.getlines(code.co_filename, fn.__globals__))
    if not text:
        raise SourceUnavailableError(
            f"cannot read the source of the lambda at {where}: it was typed at the interactive prompt or built "
            "with exec(), which keep no source; define it in a file (or an IPython/Jupyter cell, whose source "
            "s2sgrad reads)")
    try:
        module = gast.parse(text)
    except SyntaxError as err:
        raise SourceUnavailableError(f"cannot parse the source of the lambda at {where}: {err}") from None
    candidates = [n for n in walk(module) if isinstance(n, gast.Lambda) and n.lineno == code.co_firstlineno]
    matches = [n for n in candidates if _same_code(n, code, fn, exact=True)] or \
        [n for n in candidates if _same_code(n, code, fn, exact=False)]
    if matches:
        node = matches[0]
    else:
        raise SourceUnavailableError(
            f"the source of the lambda at {where} no longer matches the code that runs: the file was changed "
            "after it was imported; reload the module (importlib.reload) or restart Python")
    body = gast.Return(value=node.body)
    gast.copy_location(body, node.body)
    node.args.args = node.args.posonlyargs + node.args.args
    node.args.posonlyargs = []
    fn_def = gast.FunctionDef(name="lambda", args=node.args, body=[body], decorator_list=[], returns=None,
                              type_comment=None, type_params=[])
    gast.copy_location(fn_def, node)
    src = Source(fn, fn_def, code.co_filename, 0, 0, frozenset(_local_names(fn_def)))   # positions are the file's
    src.namespace, src.watched = _namespace(fn, fn_def, src.locals)
    return src


_VERIFIED = {}      # code object -> the text checked against it


def _check_current(fn, node, line_offset=0):
    """Raise SourceUnavailableError unless the parsed `def` is the source of the code that runs: its file
    may have been edited since the module was imported (the text now at its line is another function,
    or this one changed). Compiles the text as the function was (a closure over the same free names)
    and compares the bytecode and its constants and names."""
    code = fn.__code__
    where = f"{code.co_filename}:{code.co_firstlineno}"
    stale = (f"the source of {fn.__qualname__} at {where} no longer matches the code that runs: the file was "
             "changed after it was imported; reload the module (importlib.reload) or restart Python")
    if node.name != code.co_name:
        raise SourceUnavailableError(stale)
    key = gast.dump(node)
    if _VERIFIED.get(code) == key:
        return
    if not (_same_code(node, code, fn, True, line_offset) or _same_code(node, code, fn, False, line_offset)):
        raise SourceUnavailableError(stale)
    _VERIFIED[code] = key


def _same_code(node, code, fn, exact, line_offset=0):
    """Whether `node` compiles to `code`: its bytecode, constants and names (`exact`), or only its
    parameters and free names, which is all that is left to compare in a module whose asserts pytest
    rewrote into other bytecode. True also when the text cannot be compiled the way `code` was."""
    if not exact and "@pytest_ar" not in fn.__globals__:
        return False
    compiled = _compile_like(node, code, line_offset)
    if compiled is None:
        return True
    skip = 0 if exact else 3
    return _fingerprint(compiled)[skip:] == _fingerprint(code)[skip:]


def _compile_like(node, code, line_offset=0):
    """The code object of the function `node` compiled the way `code` was (inside a function defining its
    free variables, so they are cells), or None when that cannot be done."""
    import ast
    inner = gast.gast_to_ast(copy.deepcopy(node))
    ast.increment_lineno(inner, line_offset)       # at its lines in the file (3.13 keeps a class's first line)
    lambda_ = isinstance(inner, ast.Lambda)
    body = [ast.Expr(value=inner)] if lambda_ else [inner]
    # The compiler reads how a module binds a name (`import math` or not) when it compiles `math.sin(x)`.
    imports = [ast.Import(names=[ast.alias(name="sys", asname=n)]) for n in _imported_names(code.co_filename)
               if n in _all_names(code)]
    if code.co_freevars:
        cells = [ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())], value=ast.Constant(value=None))
                 for v in code.co_freevars]
        body = [ast.FunctionDef(name="__s2sgrad_outer__", args=ast.arguments(
            posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
            body=cells + ([ast.Return(value=inner)] if lambda_ else
                          [inner, ast.Return(value=ast.Name(id=inner.name, ctx=ast.Load()))]),
            decorator_list=[], returns=None, type_params=[])]
    module = ast.fix_missing_locations(ast.Module(body=imports + body, type_ignores=[]))
    try:
        top = compile(module, code.co_filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None
    todo = [top]
    while todo:
        c = todo.pop()
        if c.co_name == code.co_name and c is not top and c.co_name != "__s2sgrad_outer__":
            return c
        todo += [k for k in c.co_consts if inspect.iscode(k)]
    return None


def _all_names(code):
    """The global names a code object and the code nested in it read."""
    names = set(code.co_names)
    for c in code.co_consts:
        if inspect.iscode(c):
            names |= _all_names(c)
    return names


@functools.lru_cache(maxsize=64)
def _imported_names_of(text):
    import ast
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return frozenset()
    names, todo = set(), list(tree.body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).partition(".")[0] for a in stmt.names}
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            todo += [c for c in ast.iter_child_nodes(stmt) if isinstance(c, ast.stmt)]
    return frozenset(names)


def _imported_names(filename):
    """Names the module in `filename` binds with an import statement at module level."""
    return _imported_names_of("".join(linecache.getlines(filename)))


def _fingerprint(code):
    """What a function's code computes, without its line numbers."""
    consts = tuple(_fingerprint(c) if inspect.iscode(c) else (type(c).__name__, repr(c)) for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames[:code.co_argcount + code.co_kwonlyargcount],
            code.co_freevars, code.co_argcount, code.co_kwonlyargcount, code.co_posonlyargcount)


def parameter_names(args):
    """The names a `gast.arguments` binds, in signature order (`*args` and `**kwargs` included)."""
    star = [args.vararg] if args.vararg is not None else []
    double = [args.kwarg] if args.kwarg is not None else []
    return [a.id for a in args.posonlyargs + args.args + star + args.kwonlyargs + double]


def _local_names(node):
    """The function's parameters and the names it assigns (not those of functions nested in it)."""
    names = set(parameter_names(node.args))
    todo = list(node.body)
    while todo:
        sub = todo.pop()
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, (gast.Store, gast.Del)):
            names.add(sub.id)
        if not isinstance(sub, (gast.FunctionDef, gast.Lambda)):
            todo.extend(gast.iter_child_nodes(sub))
    return names


def _namespace(fn, node, local_names):
    """Every free name the function reads, bound to its current object."""
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    namespace, watched = {}, []
    for sub in walk(node):
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
