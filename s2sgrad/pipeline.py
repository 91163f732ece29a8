"""derive(fn, wrt, mode=...): the compiler's stages, in order, in one function a reader can follow.

Example:
    >>> d = derive(f, ("x", "a"))
    >>> print(d.text)             # the generated code
    >>> value, (dx, da) = d.function(0.5, 0.9)
    >>> value, y_dot = derive(f, ("x", "a"), mode="forward").function(0.5, 0.9, x_dot=1.0, a_dot=0.0)
"""

import hashlib
import inspect
import threading
from dataclasses import dataclass, field

from .analysis import analyze
from .check import check
from .emit import emit
from .forward import ForwardTransform
from .frontend import parse
from .load import load
from .lower import lower
from .optimize import drop_dead_stores, propagate_copies, simplify, tidy
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
    restores: bool = False     # mode "vjp": a pullback changes the saved arrays (so runs once per forward)
    seeds: tuple = ()          # reverse modes: the seed keywords, one per differentiated returned value
    helpers: list = field(default_factory=list)
    source: object = None      # the parsed user function (frontend.Source)
    waiters: list = field(default_factory=list)   # (globals, name) to bind once compiled (recursion)

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
    source = check(parse(fn))                                   # frontend, then the fence
    name = name or f"{PREFIX[mode]}_{source.name}"
    derived = Derived(fn, tuple(wrt), name, source=source)
    _CACHE[key] = derived                                       # recursion finds it in progress
    try:
        core = lower(source)                                    # surface language -> core
        info = analyze(core, wrt, dict(kinds or ()), select)                 # activity, kinds, to-be-recorded
        ns = Namespace(source.namespace, core.namer)
        ns.values[name] = derived            # its own name means itself (recursion), never another function
        core.namer.reserve(name)

        helper_mode = "reverse" if mode == "vjp" else mode      # helpers run joint, inside the pullback

        def derive_helper(helper, helper_wrt, helper_kinds, helper_select=None):
            d = derive(helper, helper_wrt, helper_kinds, helper_name(helper, helper_wrt, helper_mode, helper_select),
                       helper_mode, helper_select)
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
            fn_defs = transform.split(name, f"pullback_{source.name}")
        else:
            fn_defs = [transform.transform()[0]]
        removable = derivatives()
        fn_defs = [tidy(propagate_copies(drop_dead_stores(simplify(d), removable), removable), is_comment)
                   for d in fn_defs]                                                        # optimize
        derived.text = "\n\n".join(emit(d) for d in fn_defs)                               # print
        values = {k: (v.function if isinstance(v, Derived) else v) for k, v in ns.values.items()}
        derived.function = load(derived.text, name, {k: v for k, v in values.items() if v is not None},
                                pseudo_filename(fn, name, derived.text))
        if mode == "vjp":
            derived.pullback = derived.function.__globals__[fn_defs[1].name]
            derived.restores = bool(info.mutated)     # its reverse sweep puts arrays back in place
        for k, v in ns.values.items():       # helpers still being built (mutual recursion): bind later
            if isinstance(v, Derived) and v.function is None and v is not derived:
                v.waiters.append((derived.function.__globals__, k))
        for env, k in derived.waiters:
            env[k] = derived.function
    except BaseException:
        _CACHE.pop(key, None)
        raise
    return derived


PREFIX = {"reverse": "grad", "forward": "jvp", "vjp": "vjp"}


def helper_name(helper, wrt, mode="reverse", select=None):
    """`grad_h` when differentiating with respect to every parameter, else `grad_h_wrt_x_y` (`jvp_` forward);
    `grad_h_of_1` when only some returned values are differentiated (here the second)."""
    params = tuple(inspect.signature(helper).parameters)
    base = f"{PREFIX[mode]}_{helper.__name__}"
    base = base if tuple(wrt) == params else f"{base}_wrt_{'_'.join(wrt)}"
    return base if select is None else f"{base}_of_{'_'.join(map(str, select))}"


def pseudo_filename(fn, name, text):
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"<s2sgrad {name} of {fn.__module__}.{fn.__qualname__} {digest}>"
