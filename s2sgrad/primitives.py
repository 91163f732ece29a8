"""Library functions passed to s2sgrad directly: `grad(np.sin)`, `vjp(np.dot, a, b)`, `grad(math.exp)`,
`grad(operator.mul, wrt=(0, 1))`, `jacobian(functools.partial(np.sum, axis=1))`.

Each becomes a two-line Python function calling it, written from the parameters of its gradient rule,
so the compiler differentiates it like any function of the user's: by the primitive's rule, never by
reading the library's source. The text is registered with linecache, so `source` shows it like any
other function's derivative.

Example:
    >>> f = wrapper(np.sin)
    >>> print(inspect.getsource(f))
    def sin(x):
        return np.sin(x)
"""

import builtins
import functools
import inspect
import linecache
import sys

from . import rules
from .frontend import GENERATED_MODULE
from .syntax import identifier

_WRAPPERS = {}
_LITERALS = (int, float, bool, str, type(None))


def wrapper(fn):
    """A Python function calling the library function `fn` (or a functools.partial of one with keyword
    arguments bound), with the parameters of its gradient rule; None when it has no rule that a plain
    parameter list can call (no rule, `*operands`, positional arguments bound by partial)."""
    prim, bound = fn, {}
    if isinstance(fn, functools.partial):
        if fn.args:
            return None
        prim, bound = fn.func, dict(fn.keywords)
    key = (prim, tuple(sorted((k, repr(v)) for k, v in bound.items())))
    try:
        if key in _WRAPPERS:
            return _WRAPPERS[key]
    except TypeError:                       # an unhashable callable
        return None
    template = _template(rules.lookup(prim), bound)
    _WRAPPERS[key] = made = None if template is None else _write(prim, template, bound)
    return made


def _template(templates, bound):
    """The rule whose parameters the wrapper takes: the fewest required inputs (math.log(x) before
    math.log(x, base)), then the most inputs with defaults (np.sum(x, axis=None, keepdims=False))."""
    usable = []
    for rule in templates:
        params = list(rule.signature.parameters.values())[1:]
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            continue
        if not set(bound) <= {p.name for p in params}:
            continue
        required = sum(p.default is p.empty for p in params if p.name not in bound)
        usable.append((required, -len(params), rule))
    return min(usable, key=lambda u: u[:2])[2] if usable else None


def _write(prim, rule, bound):
    """Compile the wrapper of `prim` with the parameters of `rule`, the `bound` keywords fixed."""
    spelled, module_names = _spelling(prim)
    env = {"__builtins__": builtins, "__name__": GENERATED_MODULE, **module_names}
    params, call_args = [], []
    for p in list(rule.signature.parameters.values())[1:]:
        if p.name in bound:
            value = bound[p.name]
            if not isinstance(value, _LITERALS) and not (isinstance(value, tuple) and all(
                    isinstance(v, _LITERALS) for v in value)):
                env[f"{p.name}_value"] = value
                value = _Raw(f"{p.name}_value")
            call_args.append(f"{p.name}={value!r}")
            continue
        default = "" if p.default is p.empty else f"={p.default!r}"
        if p.kind is p.KEYWORD_ONLY:
            if "*" not in params:
                params.append("*")
            call_args.append(f"{p.name}={p.name}")
        else:
            call_args.append(p.name)
        params.append(p.name + default)
    name = identifier(getattr(prim, "__name__", None) or "primitive")
    text = f"def {name}({', '.join(params)}):\n    return {spelled}({', '.join(call_args)})\n"
    filename = f"<s2sgrad wrapper of {public_name(prim)}{'' if not bound else ' ' + repr(bound)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(compile(text, filename, "exec"), env)
    made = env[name]
    made.__s2sgrad_primitive__ = prim
    return made


def method_wrapper(method):
    """`grad(model.loss)`: a Python function calling the bound method, with its parameters, so the method
    is differentiated as a helper with `model` as its `self` (the object is known: see frontend.Known).

    Example:
        >>> print(inspect.getsource(method_wrapper(model.loss)))
        def loss(x, y):
            return model.loss(x, y)
    """
    key = (method.__func__, id(method.__self__))
    if key in _WRAPPERS and _WRAPPERS[key].__s2sgrad_receiver__ is method.__self__:
        return _WRAPPERS[key]
    receiver = identifier(type(method.__self__).__name__.lower()) or "receiver"
    env = {"__builtins__": builtins, "__name__": GENERATED_MODULE, receiver: method.__self__}
    params, call_args = [], []
    for p in inspect.signature(method).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):          # passed on whole: bound as Python does
            stars = "*" if p.kind is p.VAR_POSITIONAL else "**"
            params.append(stars + p.name)
            call_args.append(stars + p.name)
            continue
        default = ""
        if p.default is not p.empty:
            env[f"{p.name}_default"] = p.default
            default = f"={p.name}_default"
        if p.kind is p.KEYWORD_ONLY and not any(q.startswith("*") for q in params):
            params.append("*")
        params.append(p.name + default)
        call_args.append(p.name if p.kind is not p.KEYWORD_ONLY else f"{p.name}={p.name}")
    name = identifier(method.__func__.__name__)
    text = f"def {name}({', '.join(params)}):\n    return {receiver}.{method.__func__.__name__}({', '.join(call_args)})\n"
    filename = f"<s2sgrad wrapper of {method.__func__.__qualname__} of {receiver} {id(method.__self__):x}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(compile(text, filename, "exec"), env)
    made = env[name]
    made.__s2sgrad_receiver__ = method.__self__
    _WRAPPERS[key] = made
    return made


class _Raw:
    """A name written as itself in the wrapper's text (its repr is the name)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _spelling(prim):
    """(how the wrapper writes `prim`, the modules that spelling needs): `np.linalg.norm`, `math.exp`,
    `operator.mul`; a primitive no public module path reaches is bound by name."""
    public = public_name(prim)
    parts = public.split(".")
    module = sys.modules.get(parts[0])
    if len(parts) > 1 and module is not None and _lookup(module, parts[1:]) is prim:
        alias = "np" if parts[0] == "numpy" else parts[0]
        return ".".join([alias] + parts[1:]), {alias: module}
    return "primitive", {"primitive": prim}


def public_name(prim):
    """`numpy.sum` rather than `numpy._core.fromnumeric.sum`: the shortest public module path to `prim`."""
    name = getattr(prim, "__name__", None) or type(prim).__name__
    module = getattr(prim, "__module__", None)
    if module in (None, "builtins"):
        return name
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        if parts[end - 1].startswith("_"):
            break
        if getattr(sys.modules.get(".".join(parts[:end])), name, None) is prim:
            return f"{'.'.join(parts[:end])}.{name}"
    if getattr(sys.modules.get("numpy.linalg"), name, None) is prim:
        return f"numpy.linalg.{name}"
    return f"{module}.{name}"


def _lookup(module, path):
    obj = module
    for attr in path:
        obj = getattr(obj, attr, None)
    return obj
