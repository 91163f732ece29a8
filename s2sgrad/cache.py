"""The disk cache: generated code a process made, loaded by the next instead of being compiled again.

Where: `S2SGRAD_CACHE_DIR` when set; else the user's cache directory (`$XDG_CACHE_HOME/s2sgrad`,
`~/.cache/s2sgrad`; `~/Library/Caches/s2sgrad` on macOS, `%LOCALAPPDATA%\\s2sgrad\\Cache` on
Windows). `S2SGRAD_CACHE_DIR=""` or `S2SGRAD_NO_CACHE=1` turns it off. One JSON file per entry.

An entry is keyed by everything its text depends on (`key`): the function's file and name, the
objects its names resolve to (a user's function by its file's text, a constant by its value, an
array by its bytes, a library's object by where it is imported from), wrt, kinds and options, and
the Python, NumPy, gast and s2sgrad versions (s2sgrad's as a fingerprint of its own files, so an edit
in a checkout counts too). What the compiler adds to the generated code's globals is stored as how to
find it again, with a description checked when it is loaded; the helpers it calls are derived again
(from this cache in turn), their descriptions checked too. Anything that cannot be described (a
closure, an object of the user's, a function value in the kinds) is not cached: it is compiled, as
without a cache. An entry that does not match is never used: the code is compiled and the entry
written anew.

Example:
    >>> import os; os.environ["S2SGRAD_CACHE_DIR"] = "/tmp/s2sgrad-cache"
    >>> s2sgrad.grad(f)(0.5)        # compiled, and written to /tmp/s2sgrad-cache
    >>> # a new process: the same call loads the code from there, no compiler stage runs
"""

import ast
import hashlib
import importlib
import json
import linecache
import os
import sys
import tempfile
import types

FORMAT = 1
_FINGERPRINT = []          # s2sgrad's own fingerprint, computed once per process
MISSING = object()


def directory():
    """The cache directory, or None when the cache is off (S2SGRAD_CACHE_DIR="" or S2SGRAD_NO_CACHE=1)."""
    if os.environ.get("S2SGRAD_NO_CACHE", "") not in ("", "0"):
        return None
    chosen = os.environ.get("S2SGRAD_CACHE_DIR")
    if chosen is not None:
        return chosen or None
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "s2sgrad")
    if sys.platform == "win32":
        return os.path.join(os.environ.get("LOCALAPPDATA") or os.path.expanduser("~"), "s2sgrad", "Cache")
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                        "s2sgrad")


def fingerprint():
    """The versions the generated text depends on: Python's, NumPy's, gast's, and s2sgrad's own files
    (path, size and modification time of each module), so that an edited compiler never reads old code."""
    if not _FINGERPRINT:
        import gast
        import numpy
        root = os.path.dirname(os.path.abspath(__file__))
        files = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for n in sorted(names):
                if n.endswith(".py"):
                    st = os.stat(os.path.join(folder, n))
                    files.append((os.path.relpath(os.path.join(folder, n), root), st.st_size, st.st_mtime_ns))
        _FINGERPRINT.append(_digest([FORMAT, sys.version, numpy.__version__, getattr(gast, "__version__", ""),
                                     files]))
    return _FINGERPRINT[0]


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def describe(obj):
    """A text that stands for `obj` in a key, equal in two processes exactly when the generated code may be
    the same for both; None when there is none (the code is then not cached)."""
    if obj is None or type(obj) in (bool, int, float, complex, str, bytes):
        return f"{type(obj).__name__} {obj!r}"
    if type(obj) is tuple:
        parts = [describe(o) for o in obj]
        return None if None in parts else "tuple(" + ", ".join(parts) + ")"
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}" + _file_text(getattr(obj, "__file__", None), library=True)
    import numpy as np
    if type(obj) is np.ndarray:
        if obj.dtype.hasobject or obj.nbytes > 1 << 20:
            return None
        return f"array {obj.dtype.str} {obj.shape} {hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest()}"
    if isinstance(obj, types.FunctionType) and obj.__closure__ is None:
        code = obj.__code__
        text = _file_text(code.co_filename)
        if text is None:
            return None
        return f"function {obj.__module__}.{obj.__qualname__}:{code.co_firstlineno} {text}"
    found = where(obj)
    return None if found is None else f"object {found[0]}:{found[1]}"


def _file_text(filename, library=False):
    """A digest of a file's text ('' for a library module's: its version is in the fingerprint), or None
    when there is no file to read (code typed at the prompt, generated code)."""
    if not filename:
        return "" if library else None
    if library and any(part in filename for part in (os.sep + "site-packages" + os.sep, os.sep + "lib" + os.sep + "python")):
        return ""
    lines = linecache.getlines(filename)
    if not lines:
        return None
    return " " + hashlib.sha256("".join(lines).encode()).hexdigest()


def where(obj):
    """(module, qualified name) importing which gives `obj` itself ('' for a module), or None."""
    if isinstance(obj, types.ModuleType):
        return (obj.__name__, "") if find(obj.__name__, "") is obj else None
    names = []
    for module in (getattr(obj, "__module__", None), "numpy", "math", "builtins", "operator"):
        qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
        if module and qualname and "<" not in qualname:
            names.append((module, qualname))
    for module, qualname in names:
        if find(module, qualname) is obj:
            return module, qualname
    return None


def find(module, qualname):
    """The object `module`.`qualname` names, or MISSING."""
    try:
        obj = sys.modules.get(module) or importlib.import_module(module)
        for part in qualname.split(".") if qualname else ():
            obj = getattr(obj, part)
        return obj
    except Exception:         # anything: a module that no longer imports is a miss, never an error
        return MISSING


def key(source, fn, parts):
    """The entry's key for the function `fn` parsed as `source` (frontend.Source) and the options
    `parts` (wrt, kinds, name, mode, ...), or None when something it depends on cannot be described."""
    if directory() is None:
        return None
    described = [describe(fn)]
    for name, obj in sorted(source.namespace.items()):
        described.append((name, describe(obj)))
    if None in described or any(d is None for _, d in described[1:]) or not plain(parts):
        return None
    return _digest([fingerprint(), described, parts])


def plain(value):
    """Whether `value` is made of strings, numbers, None and tuples only (a key's options)."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    return type(value) in (tuple, list) and all(plain(v) for v in value)


def _path(entry_key):
    return os.path.join(directory(), f"py{sys.version_info[0]}{sys.version_info[1]}", entry_key[:2],
                        entry_key + ".json")


def load(entry_key):
    """The stored entry (a dict), or None when there is none or it cannot be read."""
    try:
        with open(_path(entry_key), encoding="utf-8") as f:
            entry = json.load(f)
    except (OSError, ValueError):
        return None
    if not (isinstance(entry, dict) and entry.get("format") == FORMAT and ENTRY_KEYS <= entry.keys()
            and isinstance(entry["values"], dict) and isinstance(entry["helpers"], list)
            and all(isinstance(h, list) and len(h) == 7 for h in entry["helpers"])
            and all(isinstance(r, list) and r for r in entry["values"].values())):
        return None             # another format, or a file damaged in a way JSON still reads
    return entry


# What every entry holds (pipeline._to_disk writes them): the Derived's fields, and how to rebuild the rest.
ENTRY_KEYS = {"text", "seed", "tangents", "seeds", "form", "nullable_grads", "mutates", "values", "helpers",
              "pullback", "origins"}


def store(entry_key, entry):
    """Write `entry` for `entry_key` (atomically: a reader sees the whole entry or none); a cache that
    cannot be written is skipped silently (a read-only home), as the code is compiled anyway."""
    path = _path(entry_key)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": FORMAT, **entry}, f)
            os.replace(tmp, path)
        except (TypeError, ValueError):        # a value JSON cannot hold: not kept
            os.unlink(tmp)
    except OSError:
        pass


def recipe(obj, namespace):
    """How to find `obj` again in another process: ["source", name] for a name of the user's function
    that means it, ["object", module, qualname, description], ["value", repr] for a constant; or None."""
    for name, value in namespace.items():
        if value is obj:
            return ["source", name]
    if obj is None or type(obj) in (bool, int, float, complex, str, bytes):
        return ["value", repr(obj)]
    found = where(obj)
    if found is None:
        return None
    return ["object", found[0], found[1], describe(obj)]


def resolve(entry_recipe, namespace):
    """The object a `recipe` names now, or MISSING when it no longer does what it did."""
    kind = entry_recipe[0]
    if kind == "source":
        return namespace.get(entry_recipe[1], MISSING)
    if kind == "value":
        return ast.literal_eval(entry_recipe[1])
    obj = find(entry_recipe[1], entry_recipe[2])
    return obj if obj is not MISSING and describe(obj) == entry_recipe[3] else MISSING


def tuples(value):
    """JSON's lists back into the tuples they were (a returned value's nesting, origins)."""
    return tuple(tuples(v) for v in value) if isinstance(value, list) else value
