"""derive(fn, wrt, mode=...): the compiler's stages, in order, in one function a reader can follow.

Example:
    >>> d = derive(f, ("x", "a"))
    >>> print(d.text)             # the generated code
    >>> value, (dx, da) = d.function(0.5, 0.9)
    >>> value, y_dot = derive(f, ("x", "a"), mode="forward").function(0.5, 0.9, x_dot=1.0, a_dot=0.0)
"""

import functools
import hashlib
import inspect
import threading
from dataclasses import dataclass, field

from . import compose
from .analysis import analyze
from .check import check
from .emit import emit
from .errors import UnsupportedSyntaxError
from .forward import ForwardTransform
from .frontend import Known, display_name, parse, specialise
from .load import load
from .lower import lower, nesting
from .optimize import drop_dead_stores, propagate_copies, settle_nones, simplify, tidy
from .reverse import ReverseTransform, is_comment
from .syntax import Namespace


@dataclass(eq=False)
class Derived:
    """One generated function and what callers need to know about it."""

    fn: object                 # the user's function
    wrt: tuple                 # parameter names
    name: str                  # generated function's name
    seed: str = ""             # reverse mode: keyword naming the output's adjoint
    tangents: tuple = ()       # forward mode: keywords naming the wrt parameters' tangents
    text: str = ""             # its source (without helpers)
    function: object = None    # the compiled generated function
    pullback: object = None    # mode "vjp": the reverse sweep alone, pullback(saved, *seeds)
    mutates: bool = False      # mode "vjp": its own pullback puts arrays back in place (see `restores`)
    seeds: tuple = ()          # reverse modes: the seed keywords, one per differentiated returned value
    form: tuple = None         # how the returned values nest (lower.nesting): which parts the seeds are for
    nullable_grads: tuple = ()  # mode "vjp": which results of the pullback may be None (a zero)
    helpers: list = field(default_factory=list)
    source: object = None      # the parsed user function (frontend.Source)
    waiters: list = field(default_factory=list)   # (globals, name, part) to bind once compiled (recursion)

    @property
    def pullback_name(self):
        """`pullback_h_wrt_x` for `vjp_h_wrt_x`: the name of the reverse sweep of a split function."""
        return "pullback" + self.name[len("vjp"):] if self.name.startswith("vjp") else f"pullback_{self.name}"

    @functools.cached_property
    def pullback_ref(self):
        """What a caller binds to call this function's pullback (it may not be compiled yet: recursion)."""
        return Pullback(self)

    @property
    def restores(self):
        """Whether a pullback puts arrays back in place, its own or a helper's (so it runs once per
        forward sweep: a second call must redo the forward sweep first)."""
        seen, todo = set(), [self]
        while todo:
            d = todo.pop()
            if id(d) not in seen:
                seen.add(id(d))
                if d.mutates:
                    return True
                todo.extend(d.helpers)
        return False

    def is_current(self, _seen=None):
        """False once a global or closure value this code (or a helper's) was built with has changed."""
        seen = _seen if _seen is not None else set()
        if id(self) in seen:
            return True
        seen.add(id(self))
        return self.source.is_current() and all(h.is_current(seen) for h in self.helpers)

    @property
    def full_text(self):
        """This function's text followed by the helpers it calls, each once."""
        seen, parts = set(), []

        def add(d):
            if id(d) in seen:
                return
            seen.add(id(d))
            parts.append(d.text)
            for h in d.helpers:
                add(h)

        add(self)
        return "\n\n".join(parts)


@dataclass(frozen=True, eq=False)
class Pullback:
    """The pullback of a split function, as a value in generated code's globals."""

    derived: Derived


def _bound(value):
    """The object a generated name means: a Derived's function or pullback (None while being built)."""
    if isinstance(value, Derived):
        return value.function
    if isinstance(value, Pullback):
        return value.derived.pullback
    return value


_CACHE = {}
# One compilation at a time: an entry is in the cache while it is built (so recursion finds it), and no
# other thread may see it before its function is compiled. Reentrant, as deriving calls derive.
_LOCK = threading.RLock()


def derive(fn, wrt, kinds=None, name=None, mode="reverse", select=None):
    """The derivative of `fn` with respect to the parameter names `wrt` (cached): in "reverse"
    mode `grad_f(..., *, seed=1.0)` returns (value, gradients), in "forward" mode
    `jvp_f(..., *, x_dot, ...)` returns (value, tangent).

    `kinds` is a tuple of (parameter, "scalar" | "unknown") pairs the code may be specialised
    on (scalars need no unbroadcasting); None gives the generic code, which trusts only
    `float`/`int` annotations. `select` (reverse modes) differentiates only those returned
    values, by position among the leaves of a returned tuple.
    """
    with _LOCK:
        return _derive(fn, wrt, kinds, name, mode, select)


def _derive(fn, wrt, kinds, name, mode, select):
    key = (fn, tuple(wrt), kinds, name, mode, select)
    cached = _CACHE.get(key)
    if cached is not None and (cached.function is None or cached.is_current()):
        return cached
    if kinds is not None:          # an object differentiated is a container of its arrays, not a known value
        kinds = tuple((p, "container" if p in wrt and isinstance(k, Known) else k) for p, k in kinds)
    source = specialise(check(parse(fn)), kinds)                # frontend, the fence, functions passed
    _check_wrt(source, wrt)
    name = name or f"{PREFIX[mode]}_{source.name}"
    derived = Derived(fn, tuple(wrt), name, source=source)
    _CACHE[key] = derived                                       # recursion finds it in progress
    try:
        core = lower(source)                                    # surface language -> core
        derived.form = nesting(core.result)
        info = analyze(core, wrt, dict(kinds or ()), select)                 # activity, kinds, to-be-recorded
        ns = Namespace(source.namespace, core.namer)
        ns.values[name] = derived            # its own name means itself (recursion), never another function
        core.namer.reserve(name)
        if mode == "vjp":
            ns.values[derived.pullback_name] = derived.pullback_ref
            core.namer.reserve(derived.pullback_name)

        # Helpers run split (what a tape does): the caller's forward sweep runs a helper's forward sweep
        # once, keeping its saved state; the caller's reverse sweep runs only the helper's pullback.
        helper_mode = "vjp" if mode in ("reverse", "vjp") else mode

        specialisations = {}        # a helper's name -> the kinds it is called with here, in order

        def derive_helper(helper, helper_wrt, helper_kinds, helper_select=None):
            # One name per specialisation: h called on a float and on an array (or a list) is two functions,
            # vjp_h and vjp_h_1, printed and called under those names (a pullback's name follows its own).
            base = helper_name(helper, helper_wrt, helper_mode, helper_select)
            seen = specialisations.setdefault((helper, base), [])
            if helper_kinds not in seen:
                seen.append(helper_kinds)
            k = seen.index(helper_kinds)
            d = derive(helper, helper_wrt, helper_kinds, base if k == 0 else f"{base}_{k}", helper_mode, helper_select)
            derived.helpers.append(d)
            return d

        if mode == "forward":
            transform = ForwardTransform(core, info, wrt, ns, derive_helper, name)
            derived.tangents, derivatives = transform.tangents, transform.tangent_names
        else:
            transform = ReverseTransform(core, info, wrt, ns, derive_helper, name)
            derived.seed, derivatives = transform.seed, transform.adjoint_names
            derived.seeds = tuple(k for k, _ in transform.seeds)
        if mode == "vjp":                                        # forward sweep and pullback apart
            fn_defs = transform.split(name, derived.pullback_name)
            derived.nullable_grads = transform.nullable_grads
        else:
            fn_defs = [transform.transform()[0]]
        removable = derivatives()
        fn_defs = [tidy(propagate_copies(drop_dead_stores(settle_nones(simplify(d, ns.values), removable, is_comment), removable),
                                         removable), is_comment)
                   for d in fn_defs]                                                        # optimize
        derived.text = "\n\n".join(emit(d) for d in fn_defs)                               # print
        values = {k: _bound(v) for k, v in ns.values.items()}
        derived.function = load(derived.text, name, {k: v for k, v in values.items() if v is not None},
                                pseudo_filename(fn, name, derived.text), fn_defs)
        env = derived.function.__globals__
        if mode == "vjp":
            derived.pullback = env[fn_defs[1].name]
            derived.mutates = bool(info.mutated)     # its reverse sweep puts arrays back in place
        for k, v in ns.values.items():       # helpers still being built (recursion): bind once they are
            if isinstance(v, (Derived, Pullback)) and _bound(v) is None:
                owner = v if isinstance(v, Derived) else v.derived
                owner.waiters.append((env, k, v))
        for where, k, v in derived.waiters:
            where[k] = _bound(v)
    except BaseException:
        _CACHE.pop(key, None)
        raise
    return derived


def _check_wrt(source, wrt):
    """Refuse a `wrt` naming what is not a parameter of the code that runs: a decorator's wrapper taking
    `*args, **kwargs` has the signature of the function it wraps (functools.wraps), not its parameters,
    and differentiating it with respect to the wrapped function's would silently give zeros."""
    missing = [w for w in wrt if w not in source.params]
    if not missing:
        return
    params = ", ".join(source.params)
    wrapped = getattr(source.fn, "__wrapped__", None)
    if wrapped is not None and all(w in _parameter_names(wrapped) for w in missing):
        raise UnsupportedSyntaxError(
            f"{source.name}{inspect.signature(source.fn, follow_wrapped=False)} is the wrapper a decorator put around "
            f"{display_name(wrapped)}, and wrt names {', '.join(map(repr, missing))}, of the function it wraps, not "
            f"of the wrapper: differentiating a wrapper with respect to the wrapped function's parameters is not "
            f"supported; differentiate {display_name(wrapped)} undecorated (its __wrapped__), or a function of your "
            f"own that calls it", source.location(source.node))
    raise ValueError(f"wrt names {', '.join(map(repr, missing))}, which is not a parameter of {source.name}; its "
                     f"parameters are: {params}")


def _parameter_names(fn):
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


PREFIX = {"reverse": "grad", "forward": "jvp", "vjp": "vjp"}
compose.install(derive)           # generated code calling a gradient or jvp builds more code through it


def helper_name(helper, wrt, mode="reverse", select=None):
    """`grad_h` when differentiating with respect to every parameter, else `grad_h_wrt_x_y` (`jvp_` forward);
    `grad_h_of_1` when only some returned values are differentiated (here the second)."""
    params = tuple(inspect.signature(helper).parameters)
    base = f"{PREFIX[mode]}_{display_name(helper)}"             # a lambda's is '<lambda>', a __call__ its class's
    base = base if tuple(wrt) == params else f"{base}_wrt_{'_'.join(wrt)}"
    return base if select is None else f"{base}_of_{'_'.join(map(str, select))}"


def pseudo_filename(fn, name, text):
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"<s2sgrad {name} of {fn.__module__}.{fn.__qualname__} {digest}>"
