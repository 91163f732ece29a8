"""Export: a derivative as a standalone Python module a person may read, edit, keep and ship.

The module imports only NumPy and the standard library (SciPy where the function itself calls it): the
runtime helpers the generated code calls are copied in, only those, with what they use. It starts with a
header naming the primal (module, qualified name, file), the options, the s2sgrad version and a hash of
the source of the primal and of every helper it calls, so that a file kept and edited by hand can be
told stale when one of those changes (`check`, `load_derivative`).

Example:
    >>> text = export(loss, "derivs/loss_grad.py", wrt=("W", "b"))     # writes the file, returns its text
    >>> header(open("derivs/loss_grad.py").read())["primal"]
    'model.loss'
"""

import ast
import builtins
import dataclasses
import difflib
import functools
import hashlib
import importlib
import inspect
import marshal
import math
import os
import re
import symtable
import sys
import textwrap
import types
import warnings

import numpy as np

from .errors import S2SGradError, StaleDerivativeWarning

# The header: a docstring for people, then `# key: value` lines, in this order, for s2sgrad.
FIELDS = ("s2sgrad", "primal", "module", "qualname", "file", "mode", "wrt", "entry", "hashed", "hash", "regenerate")
_FIELD = re.compile(r"^# (" + "|".join(FIELDS) + r"): (.*)$")
_WHAT = {"reverse": "gradient", "forward": "Jacobian-vector product", "vjp": "vector-Jacobian product",
         "hvp": "Hessian-vector product"}
_ALLOWED = {"numpy", "scipy"}          # beside the standard library: what the primal itself needs


class ExportError(S2SGradError):
    """The generated code refers to something a standalone module cannot hold (a value of the user's that
    is not a literal, a module that is not NumPy or the standard library)."""


def export(fn, path=None, wrt=0, mode="reverse"):
    """The derivative of `fn` as a standalone module's text, written to `path` if given (its folder made).

    Example:
        >>> print(export(f, wrt=("x", "a")))          # header, imports, grad_f, the helpers it calls
        >>> export(f, "derivs/f_grad.py", wrt="x")    # then @differentiate(wrt="x", derivative_file=...)
    """
    text = Exported(fn, wrt, mode, path).text
    if path is not None:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    return text


def header(text):
    """The header fields of an exported module's text ({} if it has none).

    Example:
        >>> header(export(f))["hash"]
        'sha256:3f2a...'
    """
    fields = {}
    for line in text.splitlines()[:60]:
        m = _FIELD.match(line)
        if m:
            fields[m.group(1)] = m.group(2)
    return fields


# -- what is exported ---------------------------------------------------------------------------

class Exported:
    """The generated code of one derivative and everything a standalone module of it needs."""

    def __init__(self, fn, wrt=0, mode="reverse", path=None):
        from . import api, compose             # api builds on the pipeline; export sits beside the CLI

        if mode not in api.MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, api.MODES))}, not {mode!r}")
        code = api._Gradient(fn, wrt, "forward" if mode == "hvp" else mode)
        if code.picks:
            raise ExportError(f"exporting a derivative with respect to an item of *{code.entries[0][0]} is not "
                              f"supported; export it with respect to the whole tuple (wrt={code.entries[0][0]!r})")
        self.fn, self.mode, self.names = code.fn, mode, code.names
        self.path = None if path is None else os.fspath(path)
        roots = list(compose.hvp_code(code.fn, code.names, None))[::-1] if mode == "hvp" else [code.derived]
        self.derived = []                       # every generated function's Derived, each once, roots first
        for root in roots:
            for d in root.reachable():
                if all(d is not e for e in self.derived):
                    self.derived.append(d)
        self.entry = roots[0].name
        self.module = _Module({n for d in self.derived for n in _top_level_names(d.text)})
        for d in self.derived:
            self.module.generated(d.text, d.compiled.__globals__, d.fn)
        self.hashed = _user_functions([unwrap_user(d.fn) for d in self.derived]) + self.module.copied_user

    @property
    def digest(self):
        return source_hash(self.hashed)

    @property
    def target(self):
        """How the command line names the primal: FILE.py:QUALNAME."""
        return f"{_shown_path(_file_of(self.fn))}:{self.fn.__qualname__}"

    def command(self, output=None):
        output = output or self.path
        parts = ["s2sgrad export", self.target, "--wrt", ",".join(self.names)]
        if self.mode != "reverse":
            parts += ["--mode", self.mode]
        if output:
            parts += ["-o", _shown_path(output)]
        return " ".join(parts)

    @functools.cached_property
    def text(self):
        fn = self.fn
        what = _WHAT[self.mode]
        names = ", ".join(self.names)
        doc = (f'"""The {what} of {fn.__qualname__} with respect to {names}, generated by s2sgrad.\n\n'
               f"Edit it as you like. Loaded by `derivative_file=` (s2sgrad.grad, @s2sgrad.differentiate), it runs\n"
               f"as it is, edits included; s2sgrad warns (StaleDerivativeWarning) once the source of\n"
               f"{fn.__qualname__} or of a helper it calls no longer matches the hash below. `s2sgrad diff` shows\n"
               f"your edits against a fresh generation, to re-apply them after regenerating.\n"
               f'"""\n')
        fields = {
            "s2sgrad": version(),
            "primal": f"{fn.__module__}.{fn.__qualname__}",
            "module": fn.__module__,
            "qualname": fn.__qualname__,
            "file": _file_of(fn),
            "mode": self.mode,
            "wrt": names,
            "entry": self.entry,
            "hashed": ", ".join(f.__qualname__ for f in self.hashed),
            "hash": self.digest,
            "regenerate": self.command(),
        }
        head = doc + "".join(f"# {k}: {v}\n" for k, v in fields.items())
        return head + "\n" + self.module.text()


def version():
    """The installed s2sgrad's version (from its package metadata)."""
    import importlib.metadata       # here, not at the top: it imports the email package (~20 ms per import)
    try:
        return importlib.metadata.version("s2sgrad")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def unwrap_user(fn):
    """The user's function a Derived is of, or None for generated code (differentiated again)."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_filename.startswith("<s2sgrad "):
        return None
    return fn


def _user_functions(fns):
    out = []
    for f in fns:
        if f is not None and all(f is not g for g in out):
            out.append(f)
    return out


def source_hash(fns):
    """The hash of the source of these functions (qualified name and text of each, in order; not the module's
    name, which depends on how it was imported: `model` run as a file, `pkg.model` imported).

    Example:
        >>> source_hash([loss, layer])
        'sha256:5d41402abc4b2a76b971'
    """
    h = hashlib.sha256()
    for f in fns:
        text = _source_text(f)
        h.update(f"{getattr(f, '__qualname__', '')}\n{text}\n".encode())
    return "sha256:" + h.hexdigest()[:20]


def _source_text(fn):
    """The text a function was compiled from: its lines in its file; for a function lowering lifted out of
    another (a lambda passed as an argument, see lower/lift.py) the tree it was lifted as; else its code."""
    lifted = getattr(fn, "__s2sgrad_lifted__", None)
    if lifted is not None:
        import gast
        return gast.dump(lifted["node"])
    try:
        return "".join(inspect.getsourcelines(getattr(fn, "__code__", fn))[0])
    except Exception:           # no file, or one inspect cannot tokenize (a nested function, on some versions)
        code = getattr(fn, "__code__", None)
        return marshal.dumps(code).hex() if code is not None else repr(fn)


def _file_of(fn):
    try:
        return os.path.abspath(inspect.getsourcefile(fn) or inspect.getfile(fn))
    except TypeError:
        return "<unknown>"


def _shown_path(path):
    """A path as a command would be typed here: relative to the working directory when under it."""
    path = os.fspath(path)
    rel = os.path.relpath(os.path.abspath(path))
    return path if rel.startswith("..") else rel


# -- the module ---------------------------------------------------------------------------------

class _Module:
    """The text of a standalone module: imports, values, generated functions, copied helpers. Each global
    name means one object (two meanings of one name are refused, never guessed)."""

    def __init__(self, defined):
        self.defined = defined     # the names the generated functions define
        self.bound = {}            # name -> the object it means
        self.imports = []          # import statements
        self.values = []           # `name = literal` statements
        self.functions = []        # generated functions' text, in order
        self.helpers = []          # copied definitions' text, what they use before them
        self.copied = set()        # (module name, name) copied
        self.copied_user = []      # functions of the user's copied in (not generated): hashed too

    def generated(self, text, env, fn):
        for name in _top_level_names(text):
            self.bind(name, _DEFINED, "the generated code")
        for name in _free_names(text):
            if name in self.defined and _is_generated(env.get(name), name):
                continue                        # another generated function of the module: a helper's
            if name not in env:
                if hasattr(builtins, name):
                    continue
                raise ExportError(f"the generated code of {fn.__qualname__} reads {name!r}, which means nothing "
                                  f"where it was compiled")
            self.need(name, env[name], f"the derivative of {getattr(fn, '__qualname__', fn)}")
        self.functions.append(_unused_kept(_wrapped(_with_sweeps_apart(text)), fn))

    def bind(self, name, obj, who):
        if name in self.bound and self.bound[name] is not obj and not _same_value(self.bound[name], obj):
            raise ExportError(f"cannot export: the name {name!r} means two things in the code to export (in "
                              f"{who}, {_describe(obj)}; elsewhere, {_describe(self.bound[name])}); rename one")
        new = name not in self.bound
        self.bound[name] = obj
        return new

    def need(self, name, obj, who, module=None):
        """Make `name` mean `obj` in the module (an import, a literal, a copied definition); `module` is
        s2sgrad's module whose definition reads `name`, whose own top-level values are copied as written."""
        if name in self.bound and (self.bound[name] is obj or _same_value(self.bound[name], obj)):
            return
        if getattr(builtins, name, _MISSING) is obj:
            return
        if isinstance(obj, types.ModuleType):
            if not _allowed(obj.__name__):
                raise ExportError(f"cannot export: {who} uses the module {obj.__name__} (as {name!r}); a standalone "
                                  f"derivative imports only NumPy, SciPy and the standard library")
            self.bind(name, obj, who)
            self.imports.append(_import_line(obj.__name__, name))
            return
        literal = _literal(obj)
        if literal is not None:
            self.bind(name, obj, who)
            if "np." in literal:
                self.need("np", np, who)
            self.values.append(f"{name} = {literal}")
            return
        home = _home(obj)
        if home is not None and _allowed(home[0]):
            self.bind(name, obj, who)
            module, qualname = home
            if module == "builtins":
                self.values.append(f"{name} = {qualname}")
            else:
                self.imports.append(_import_line(module, name, qualname))
            return
        defined = _definition(obj)
        if defined is not None:
            module, own_name = defined
            self.copy(module, own_name, obj, who)
            if own_name != name:
                self.bind(name, obj, who)
                self.values.append(f"{name} = {own_name}")
            return
        if module is not None and _definition_text(module, name) is not None:
            self.copy(module, name, obj, who)
            return
        custom = _custom_rule(obj)
        if custom is not None:                  # @custom_vjp: its rules are inlined; calls run its own body
            primal, rules = custom
            home = sys.modules.get(primal.__module__)
            if home is not None and getattr(home, primal.__name__, None) is obj:
                self.copy(home, primal.__name__, obj, who, decorators=False)
                self.copied_user.extend(r for r in rules if r not in self.copied_user)
                if primal.__name__ != name:
                    self.bind(name, obj, who)
                    self.values.append(f"{name} = {primal.__name__}")
                return
        raise ExportError(f"cannot export: {who} uses {name!r}, {_describe(obj)}, which a standalone module cannot "
                          f"hold (it is not NumPy, SciPy, the standard library, a literal value, or a function or "
                          f"class whose source can be copied); pass it as an argument instead")

    def copy(self, module, name, obj, who, decorators=True):
        """Copy the definition of `name` from `module`'s source, after what it uses (without its decorators
        when `decorators` is false)."""
        if (module.__name__, name) in self.copied:
            return
        self.bind(name, obj, who)
        self.copied.add((module.__name__, name))
        text = _definition_text(module, name, decorators)
        if text is None:
            raise ExportError(f"cannot export: the source of {name} in {module.__name__} was not found")
        for used in _free_names(text):
            if used == name:
                continue
            value = module.__dict__.get(used, _MISSING)
            if value is _MISSING:
                if hasattr(builtins, used):
                    continue
                raise ExportError(f"cannot export: {name} in {module.__name__} reads {used!r}, which means nothing "
                                  f"there")
            self.need(used, value, f"{name} (copied from {module.__name__})",
                      module if module.__name__.startswith("s2sgrad.") else None)
        if not module.__name__.startswith("s2sgrad") and inspect.isfunction(obj):
            self.copied_user.append(obj)
        elif _custom_rule(obj) is not None:
            self.copied_user.insert(0, _custom_rule(obj)[0])
        self.helpers.append((module.__name__, text))

    def text(self):
        out = []
        imports = sorted(set(self.imports), key=_import_order)
        stdlib = [i for i in imports if not _third_party(i)]
        third = [i for i in imports if _third_party(i)]
        out += ["\n".join(stdlib)] if stdlib else []
        out += ["\n".join(third)] if third else []
        text = "\n\n".join(out) + ("\n" if out else "")
        if self.values:
            text += "\n" + "\n".join(dict.fromkeys(self.values)) + "\n"
        text += "\n\n" + "\n\n\n".join(f.strip("\n") for f in self.functions) + "\n"
        if self.helpers:
            modules = ", ".join(dict.fromkeys(m for m, _ in self.helpers))
            rule = f"# -- helpers the code above calls, copied from {modules} "
            rule = rule + "-" * (LINE_LENGTH - len(rule)) if len(rule) < LINE_LENGTH - 3 else \
                "\n#    ".join(textwrap.wrap(rule.rstrip(), LINE_LENGTH, break_on_hyphens=False))
            text += f"\n\n{rule}\n\n\n"
            text += "\n\n\n".join(t for _, t in self.helpers) + "\n"
        return text


_DEFINED = object()
_MISSING = object()


def _import_line(module, name, attr=None):
    """The statement binding `name` to the module `module` (or its attribute `attr`), as a person writes it:
    `import math`, `import numpy as np`, `from numpy import linalg`, `from numpy import tanh as th`."""
    if attr is None:
        if module == name:
            return f"import {name}"
        package, _, attr = module.rpartition(".")
        if not package or attr != name:
            return f"import {module} as {name}"
        module = package
    return f"from {module} import {attr}" + ("" if attr == name else f" as {name}")


def _allowed(module_name):
    top = module_name.partition(".")[0]
    return top in _ALLOWED or top in sys.stdlib_module_names or top == "builtins"


def _third_party(import_line):
    top = import_line.split()[1].partition(".")[0]
    return top not in sys.stdlib_module_names


def _import_order(line):
    return (line.split()[1], line)


def _same_value(a, b):
    if a is _DEFINED or b is _DEFINED:
        return False
    try:
        return type(a) is type(b) and _literal(a) is not None and _literal(a) == _literal(b)
    except Exception:
        return False


def _describe(obj):
    if obj is _DEFINED:
        return "a function it defines"
    kind = type(obj).__name__
    module = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", "")
    return f"a {kind} of {module}" if module and module != "builtins" else f"a {kind}"


def _home(obj):
    """(module, qualified name) where an importable function or class lives (`numpy`, `tanh`), if it is
    found there as itself; None for anything else."""
    if not (callable(obj) or isinstance(obj, type)):
        return None
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not qualname or "<" in qualname or "." in qualname:
        return None
    candidates = [getattr(obj, "__module__", None)]
    if isinstance(obj, np.ufunc) or candidates[0] in (None, "numpy._core.umath", "numpy.core.umath"):
        candidates.append("numpy")
    for module_name in candidates:
        if not module_name:
            continue
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, qualname, None) is obj:
            public = _public_module(module_name, qualname, obj)
            return public, qualname
    return None


def _public_module(module_name, qualname, obj):
    """numpy.linalg for numpy.linalg._linalg: the shortest enclosing package that gives the same object."""
    parts = module_name.split(".")
    for k in range(1, len(parts) + 1):
        candidate = ".".join(parts[:k])
        if parts[k - 1].startswith("_") and k > 1:
            break
        module = sys.modules.get(candidate)
        if module is not None and getattr(module, qualname, None) is obj:
            return candidate
    return module_name


def _literal(obj):
    """Python text that evaluates to an equal value (NumPy scalars and small arrays through `np.`), or None."""
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        if isinstance(obj, float) and not math.isfinite(obj):
            return f"float({str(obj)!r})"
        return repr(obj)
    if isinstance(obj, tuple) and type(obj) is tuple:
        parts = [_literal(v) for v in obj]
        if all(p is not None for p in parts):
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        return None
    if isinstance(obj, np.dtype):
        return f"np.dtype({str(obj)!r})"
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        return f"np.{obj.dtype.name}({obj.item()!r})"
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf" and obj.size <= 64:
        return f"np.array({obj.tolist()!r}, dtype=np.{obj.dtype.name})"
    return None


def _definition(obj):
    """(module, name) of a function or class of the user's or s2sgrad's whose source can be copied: defined
    at the top level of its module under that name."""
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return None
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if module is None or "<" in obj.__qualname__ or "." in obj.__qualname__:
        return None
    if getattr(module, obj.__name__, None) is not obj:
        return None
    return module, obj.__name__


@functools.lru_cache(maxsize=None)
def _module_tree(filename, mtime):
    with open(filename, encoding="utf-8") as fh:
        text = fh.read()
    return text, ast.parse(text)


def _custom_rule(obj):
    """(the function, [its rules]) of a function with a custom rule of the user's (`@s2sgrad.custom_vjp`),
    else None."""
    if type(obj).__module__ != "s2sgrad.custom" or not inspect.isfunction(getattr(obj, "fn", None)):
        return None
    return obj.fn, [r for r in (getattr(obj, "vjp", None), getattr(obj, "jvp", None)) if inspect.isfunction(r)]


def _definition_text(module, name, decorators=True):
    """The source of the top-level statement of `module` that defines `name` (decorators included unless
    `decorators` is false)."""
    filename = getattr(module, "__file__", None)
    if not filename or not os.path.exists(filename):
        return None
    text, tree = _module_tree(filename, os.path.getmtime(filename))
    lines = text.splitlines()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
            start = min([stmt.lineno] + [d.lineno for d in stmt.decorator_list if decorators])
        elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            start = stmt.lineno
        else:
            continue
        return "\n".join(lines[start - 1:stmt.end_lineno])
    return None


def _top_level_names(text):
    return {s.get_name() for s in symtable.symtable(text, "<export>", "exec").get_symbols() if s.is_assigned()
            or s.is_imported() or s.is_namespace()}


def _free_names(text):
    """The global names a module's text reads: at the top level (defaults, decorators) and in its functions."""
    names = []

    def walk(table):
        for s in table.get_symbols():
            n = s.get_name()
            if table.get_type() == "module":
                if s.is_referenced():
                    names.append(n)
            elif s.is_global() and (s.is_referenced() or s.is_assigned()):
                names.append(n)
        for child in table.get_children():
            walk(child)

    walk(symtable.symtable(text, "<export>", "exec"))
    return list(dict.fromkeys(names))


def _is_generated(obj, name):
    code = getattr(obj, "__code__", None)
    return code is not None and code.co_filename.startswith("<s2sgrad ") and obj.__name__ == name


def _unused_kept(text, fn):
    """The generated text with `# noqa: F841` on each assignment to a local never read: a value of the
    user's function that it never reads either (`n, d = X.shape` with `d` unused), which a linter would flag
    in the generated code, where the tuple is taken apart, and not in the user's."""
    unused = {}
    for table in symtable.symtable(text, "<export>", "exec").get_children():
        unused[table.get_name()] = {s.get_name() for s in table.get_symbols()
                                    if s.is_assigned() and not s.is_referenced() and not s.is_parameter()
                                    and not s.is_global()}
    lines = text.split("\n")
    for node in ast.parse(text).body:
        if not isinstance(node, ast.FunctionDef) or not unused.get(node.name):
            continue
        for stmt in ast.walk(node):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                    and stmt.targets[0].id in unused[node.name]:
                name = getattr(fn, "__qualname__", "the function")
                lines[stmt.lineno - 1] += f"  # noqa: F841 (never read, as in {name})"    # where ruff reports it
    return "\n".join(lines)


LINE_LENGTH = 99


def _wrapped(text):
    """Generated text with each statement longer than LINE_LENGTH that ends in a call broken inside the
    call's parentheses, as a person would: its arguments on the next line, or one a line if they still do
    not fit. A line is rewritten only if the result parses to the same tree."""
    out = []
    for line in text.split("\n"):
        out.extend(_wrap(line) if len(line) > LINE_LENGTH and not line.lstrip().startswith("#") else [line])
    return "\n".join(out)


def _wrap(line):
    indent = line[:len(line) - len(line.lstrip())]
    code = line.strip()
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [line]
    if len(tree.body) != 1 or not isinstance(getattr(tree.body[0], "value", None), ast.Call):
        return [line]
    call = tree.body[0].value
    if call.end_col_offset != len(code.encode()) or not (call.args or call.keywords):
        return [line]
    items = [ast.get_source_segment(code, a) for a in [*call.args, *call.keywords]]
    opening = code[:len(code.encode()[:call.func.end_col_offset].decode())] + "("
    inner = indent + "    "
    one = inner + ", ".join(items) + ")"
    lines = [indent + opening, one] if len(one) <= LINE_LENGTH else \
        [indent + opening] + [inner + item + "," for item in items[:-1]] + [inner + items[-1] + ")"]
    try:
        same = ast.dump(ast.parse("\n".join(lines).strip() if not indent else "if 1:\n" + "\n".join(lines))) \
            == ast.dump(ast.parse(code if not indent else "if 1:\n" + indent + code))
    except SyntaxError:
        same = False
    return lines if same else [line]


def _with_sweeps_apart(text):
    """A blank line before the reverse sweep, as a person would leave one."""
    return re.sub(r"\n( +# reverse sweep\n)", r"\n\n\1", text)


# -- kept files ----------------------------------------------------------------------------------

@dataclasses.dataclass
class Staleness:
    """What a kept file's header says against the primal's current source."""

    path: str
    fields: dict
    current: str = None        # the hash now (None if it could not be computed)
    reason: str = ""           # why it could not be

    @property
    def stale(self):
        return self.current != self.fields.get("hash")

    def message(self):
        fields = self.fields
        command = fields.get("regenerate", "s2sgrad export FILE.py:FUNCTION -o " + self.path)
        target = command.split()[2] if len(command.split()) > 2 else "FILE.py:FUNCTION"
        primal = f"{fields.get('qualname', '?')} in {fields.get('file', '?')}"
        why = (f"whose source or a helper's ({fields.get('hashed', '?')}) has changed since (the file's hash is "
               f"{fields.get('hash')}, the source's now {self.current})" if self.current is not None
               else f"which could not be checked ({self.reason})")
        return (f"{self.path} was generated from {primal}, {why}; s2sgrad keeps using {self.path} as it is, "
                f"edits included. Regenerate it with: {command}  (`s2sgrad diff {target} {self.path}` shows your "
                f"edits first, to re-apply them)")


def staleness(path, fn=None):
    """Compare the header of the kept file `path` with the current source of its primal (`fn`, or the
    function its header names, imported from its file)."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as fh:
        fields = header(fh.read())
    if "hash" not in fields:
        return Staleness(path, fields, None, "the file has no s2sgrad header")
    try:
        if fn is None:
            from .cli import load_target
            try:
                fn = load_target(f"{fields['file']}:{fields['qualname']}")
            except (Exception, SystemExit):         # a module of a package (relative imports): by its name
                fn = load_target(f"{fields['module']}:{fields['qualname']}")
        wrt = tuple(w.strip() for w in fields["wrt"].split(","))
        fresh = Exported(fn, wrt if len(wrt) > 1 else wrt[0], fields.get("mode", "reverse"))
        return Staleness(path, fields, fresh.digest)
    except (Exception, SystemExit) as err:        # the primal moved, broke, or no longer differentiates
        return Staleness(path, fields, None, f"{type(err).__name__}: {err}")


def check(paths):
    """[Staleness] for every exported file under `paths` (files or folders), for CI: `s2sgrad export --check`."""
    out = []
    for p in paths:
        files = [p] if os.path.isfile(p) else sorted(
            os.path.join(root, f) for root, _, names in os.walk(p) for f in names if f.endswith(".py"))
        for f in files:
            with open(f, encoding="utf-8") as fh:
                if "hash" in header(fh.read()):
                    out.append(staleness(f))
    return out


def diff(fn, path, wrt=None, mode=None):
    """A unified diff from a fresh generation of the derivative in `path` (its header's wrt and mode unless
    given) to the file as it is: what was edited by hand ('' if nothing).

    Example:
        >>> print(diff(loss, "derivs/loss_grad.py"))
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as fh:
        kept = fh.read()
    fields = header(kept)
    if wrt is None:
        wrt = tuple(w.strip() for w in fields.get("wrt", "0").split(","))
        wrt = wrt if len(wrt) > 1 else (int(wrt[0]) if wrt[0].isdigit() else wrt[0])
    fresh = Exported(fn, wrt, mode or fields.get("mode", "reverse"), path).text
    return "".join(difflib.unified_diff(fresh.splitlines(keepends=True), kept.splitlines(keepends=True),
                                        fromfile=f"{path} (generated now)", tofile=f"{path}"))


def kept_path(fn, path):
    """Where `derivative_file=path` is: a relative path is taken from the folder of `fn`'s own file (so it is
    the same file wherever the program is started), or from the working directory for a function without one.

    Example:
        >>> kept_path(loss, "derivs/loss_grad.py")         # loss in /src/model.py
        '/src/derivs/loss_grad.py'
    """
    path = os.fspath(path)
    if os.path.isabs(path):
        return path
    home = _file_of(fn)
    if os.path.isfile(home):
        return os.path.join(os.path.dirname(home), path)
    return os.path.abspath(path)


def _callers_level():
    """The stacklevel of the first frame outside s2sgrad: a warning points at the user's call."""
    here = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    return level


def load_derivative(fn, wrt, path, mode="reverse"):
    """The Derived whose code is the kept file `path` (written first, from a fresh generation, if there is
    none): its functions as the file defines them now, edits included. Warns StaleDerivativeWarning when the
    file's hash no longer matches the source of `fn` or of a helper.

    Example:
        >>> derived = load_derivative(loss, ("W",), "derivs/loss_grad.py")
        >>> value, dW = derived.function(W, x)
    """
    from . import api
    from .pipeline import PREFIX, Derived

    code = api._Gradient(fn, wrt, mode)
    path = kept_path(code.fn, path)
    if not os.path.exists(path):
        export(code.fn, path, wrt=code.names if len(code.names) > 1 else code.names[0], mode=mode)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    fields = header(text)
    names = tuple(w.strip() for w in fields.get("wrt", "").split(",")) if fields.get("wrt") else None
    if names is not None and (names != tuple(code.names) or fields.get("mode", "reverse") != mode):
        raise ValueError(f"{path} is the {fields.get('mode')} derivative of {fields.get('qualname')} with respect "
                         f"to {', '.join(names)}, not the {mode} derivative with respect to {', '.join(code.names)}; "
                         f"give another derivative_file, or regenerate it (s2sgrad export ... -o {path})")
    if fields.get("qualname") not in (None, code.fn.__qualname__):
        raise ValueError(f"{path} is the derivative of {fields['qualname']}, not of {code.fn.__qualname__}")
    report = staleness(path, code.fn) if fields else Staleness(path, fields, None, "the file has no s2sgrad header")
    if report.stale:
        warnings.warn(StaleDerivativeWarning(report.message()), stacklevel=_callers_level())
    module = types.ModuleType(f"s2sgrad_derivative_{re.sub(r'[^0-9a-zA-Z_]', '_', os.path.basename(path))}")
    module.__file__ = os.path.abspath(path)
    exec(compile(text, module.__file__, "exec"), module.__dict__)
    name = fields.get("entry") or f"{PREFIX[mode]}_{code.fn.__name__}"
    entry = getattr(module, name, None)
    if entry is None:
        raise ValueError(f"{path} defines no function {name}, the derivative's entry")
    entry.__s2sgrad_source__ = text
    # What callers read besides the function: its seed keyword, the last keyword-only parameter (the
    # file's own, edits included; the primal may no longer differentiate at all, and the file still runs).
    seeds = [p.name for p in inspect.signature(entry).parameters.values() if p.kind is p.KEYWORD_ONLY][-1:]
    kept = Derived(code.fn, tuple(code.names), name, seed=seeds[0] if seeds else "", seeds=tuple(seeds),
                   text=text, function=entry, compiled=entry)
    kept.path = path
    return kept
