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
import linecache
import sys
import threading
import traceback
from dataclasses import dataclass, field

import gast

from . import compose, custom
from . import cache
from .analysis import analyze, assignments, target_of
from .check import check
from .emit import emit
from .errors import RecursionDepthError, UnsupportedSyntaxError
from .forward import ForwardTransform
from .frontend import ORIGINS, Known, display_name, parse, specialise, unwrap
from .load import load
from .lower import lower, nesting
from .optimize import (accumulate_in_place, drop_dead_stores, inline_temporaries, propagate_copies, settle_nones,
                       simplify, tidy)
from .reverse import ReverseTransform
from .shapes import all_float64
from .syntax import Namespace, is_comment, walk
from .tracebacks import locate


@dataclass(eq=False)
class Derived:
    """One generated function and what callers need to know about it."""

    fn: object                 # the user's function
    wrt: tuple                 # parameter names
    name: str                  # generated function's name
    seed: str = ""             # reverse mode: keyword naming the output's adjoint
    tangents: tuple = ()       # forward mode: keywords naming the wrt parameters' tangents
    text: str = ""             # its source (without helpers)
    function: object = None    # the compiled generated function, as callers outside generated code call it
    pullback: object = None    # mode "vjp": the reverse sweep alone, pullback(saved, *seeds)
    compiled: object = None    # `function` itself, what generated code calls (see `_entry`)
    compiled_pullback: object = None
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

    def is_current(self):
        """False once a global or closure value this code (or a helper's) was built with has changed."""
        return all(d.source.is_current() for d in self.reachable())

    def reachable(self):
        """This Derived and the helpers it calls, theirs too, each once, depth first (by a worklist: a chain
        of helpers may be deeper than Python's recursion limit)."""
        seen, order, todo = set(), [], [self]
        while todo:
            d = todo.pop()
            if id(d) in seen:
                continue
            seen.add(id(d))
            order.append(d)
            todo.extend(reversed(d.helpers))
        return order

    @property
    def full_text(self):
        """This function's text followed by the helpers it calls, each once."""
        return "\n\n".join(d.text for d in self.reachable())


@dataclass(frozen=True, eq=False)
class Pullback:
    """The pullback of a split function, as a value in generated code's globals."""

    derived: Derived


def _bound(value):
    """The object a generated name means: a Derived's compiled function or pullback (None while being built),
    never its entry, so that a recursion costs one frame a level, as the user's function does."""
    if isinstance(value, Derived):
        return value.compiled
    if isinstance(value, Pullback):
        return value.derived.compiled_pullback
    return value


_CACHE = {}
# One compilation at a time: an entry is in the cache while it is built (so recursion finds it), and no
# other thread may see it before its function is compiled. Reentrant, as deriving calls derive.
_LOCK = threading.RLock()
_COMPILING = threading.local()          # .active: this thread is the compiler's (see _on_compiler_stack)
_BY_FILENAME = {}                       # pseudo-filename of generated code -> the user's function it is of


# The compiler recurses once per helper it derives (about eight frames a level), from wherever the caller
# stands: grad called deep in a recursion of the user's, or generated code deriving more code as it runs.
# So a compilation runs on a thread of its own, with a stack and a recursion limit that no chain of helpers
# a program holds comes near (each derive a level costs ~1 KB of stack; 256 MB holds the limit with room).
COMPILER_FRAMES = 100_000
COMPILER_STACK = 256 * 2 ** 20
_HEADROOM_LOCK = threading.Lock()
_HEADROOM = {"users": 0, "limit": None, "before": None}


def _on_compiler_stack(work, fn):
    """`work()` run on a fresh thread with COMPILER_STACK bytes of stack and the recursion limit raised to
    COMPILER_FRAMES while it runs (where the platform allows; else here), its exception re-raised here."""
    result = {}

    def run():
        before = getattr(_COMPILING, "active", False)
        _COMPILING.active = True
        try:
            result["value"] = work()
        except BaseException as err:          # re-raised in the caller's thread
            result["error"] = err
        finally:
            _COMPILING.active = before

    with _HEADROOM_LOCK:
        try:
            previous = threading.stack_size(COMPILER_STACK)
        except (ValueError, RuntimeError):   # a platform without settable thread stacks: compile here
            previous = None
        try:
            thread = threading.Thread(target=run, name="s2sgrad-compiler", daemon=True)
            thread.start()
        except (RuntimeError, MemoryError):
            thread = None
        finally:
            if previous is not None:
                threading.stack_size(previous)
        if thread is not None:
            _raise_limit()
    if thread is None:
        run()
    else:
        try:
            thread.join()
        finally:
            _restore_limit()
    if "error" in result:
        err = result.pop("error")
        if isinstance(err, RecursionError) and not isinstance(err, RecursionDepthError):
            raise RecursionDepthError(
                f"compiling the derivative of {display_name(fn)} followed helpers calling helpers deeper than "
                f"s2sgrad's compiler goes ({COMPILER_FRAMES} frames); differentiate a part of the chain on its own") from None
        raise err
    return result["value"]


def _raise_limit():
    """The recursion limit at least COMPILER_FRAMES while any compilation runs (it is one for all threads)."""
    _HEADROOM["users"] += 1
    if _HEADROOM["users"] == 1:
        _HEADROOM["before"] = sys.getrecursionlimit()
        _HEADROOM["limit"] = max(_HEADROOM["before"], COMPILER_FRAMES)
        sys.setrecursionlimit(_HEADROOM["limit"])


def _restore_limit():
    with _HEADROOM_LOCK:
        _HEADROOM["users"] -= 1
        if _HEADROOM["users"] == 0 and sys.getrecursionlimit() == _HEADROOM["limit"]:
            sys.setrecursionlimit(_HEADROOM["before"])    # unless someone set a limit of their own meanwhile


def _entry(compiled, derived):
    """`compiled` as callers outside generated code call it: a RecursionError raised inside becomes a
    RecursionDepthError naming the user's function that recursed and its line. Generated code calls
    `compiled` itself (see `_bound`), so the entry costs one frame per call, never one per level."""
    @functools.wraps(compiled)
    def entry(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except RecursionError as err:
            if isinstance(err, RecursionDepthError):
                raise
            raise _recursion_error(err, derived) from None
        except Exception as err:
            locate(err)                         # the generated line and the user's line it comes from
            raise

    entry.__s2sgrad_fn__ = compiled            # differentiated again, the generated code is (frontend.unwrap)
    return entry


def _recursion_error(err, derived):
    """The RecursionDepthError for a RecursionError `err` raised in the generated code of `derived`."""
    calls, first = {}, {}
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        code = frame.f_code
        if code.co_filename in _BY_FILENAME:
            calls[code] = calls.get(code, 0) + 1
            first.setdefault(code, (code.co_filename, lineno))
    limit = sys.getrecursionlimit()
    user = _user_name(derived.fn)
    if not calls or max(calls.values()) < 2:             # no recursion: helpers calling helpers, or called deep
        names = [_BY_FILENAME[c.co_filename] for c in calls]
        chain = " -> ".join(names[:4]) + (" -> ..." if len(names) > 4 else "")
        return RecursionDepthError(
            f"the derivative of {user} went deeper than Python's recursion limit ({limit} frames)"
            + (f": its code calls {len(names)} functions deep ({chain}), as {user} does" if names else "")
            + "; raise the limit (sys.setrecursionlimit), or call it from a shallower place")
    code = max(calls, key=lambda c: (calls[c], c.co_name))
    filename, lineno = first[code]
    recursing = _BY_FILENAME[filename]
    origin = ORIGINS.get(filename, {}).get(lineno)
    where = ""
    if origin is not None:
        text = linecache.getline(origin[0], origin[1]).strip()
        where = f" at {origin[0]}:{origin[1]}" + (f" ({text})" if text else "")
    return RecursionDepthError(
        f"the derivative of {user} went deeper than Python's recursion limit ({limit} frames): {recursing} recursed "
        f"at least {calls[code]} levels deep{where}, and its derivative ({code.co_name}) recurses once a level, as "
        f"it does. If {recursing} ends at these arguments, raise the limit by what it needs "
        f"(sys.setrecursionlimit); if it never ends, check its base case")


def _user_name(fn):
    """The name of the user's function `fn` is the derivative of, through generated code differentiated again
    (the hessian's code is the gradient of the jvp of the user's function)."""
    fn = unwrap(fn)
    filename = getattr(getattr(fn, "__code__", None), "co_filename", None)
    return _BY_FILENAME.get(filename) or display_name(fn)


def derive(fn, wrt, kinds=None, name=None, mode="reverse", select=None, retain=()):
    """The derivative of `fn` with respect to the parameter names `wrt` (cached): in "reverse"
    mode `grad_f(..., *, seed=1.0)` returns (value, gradients), in "forward" mode
    `jvp_f(..., *, x_dot, ...)` returns (value, tangent).

    `kinds` is a tuple of (parameter, "scalar" | "unknown") pairs the code may be specialised
    on (scalars need no unbroadcasting); None gives the generic code, which trusts only
    `float`/`int` annotations. `select` (reverse modes) differentiates only those returned
    values, by position among the leaves of a returned tuple. `retain` (reverse mode) names locals whose
    adjoints at their last assignment the code returns too: (value, (gradients, {name: adjoint})).
    """
    if getattr(_COMPILING, "active", False):            # called while compiling: on the compiler's stack
        with _LOCK:
            return _derive(fn, wrt, kinds, name, mode, select, tuple(retain))
    with _LOCK:
        cached = _cached((fn, tuple(wrt), kinds, name, mode, select) + ((tuple(retain),) if retain else ()))
    if cached is not None:
        return cached
    return _on_compiler_stack(lambda: derive(fn, wrt, kinds, name, mode, select, retain), fn)


def _cached(key):
    cached = _CACHE.get(key)
    if cached is not None and (cached.compiled is None or cached.is_current()):
        return cached
    return None


def _derive(fn, wrt, kinds, name, mode, select, retain=()):
    key = (fn, tuple(wrt), kinds, name, mode, select) + ((retain,) if retain else ())
    cached = _cached(key)
    if cached is not None:
        return cached
    if kinds is not None:          # an object differentiated is a container of its arrays, not a known value
        kinds = tuple((p, "container" if p in wrt and isinstance(k, Known) else k) for p, k in kinds)
    source = specialise(check(custom.without_no_grad(parse(fn))), kinds)   # frontend, the fence, functions passed
    _check_wrt(source, wrt)
    name = name or f"{PREFIX[mode]}_{source.name}"
    derived = Derived(fn, tuple(wrt), name, source=source)
    _CACHE[key] = derived                                       # recursion finds it in progress
    try:
        entry_key = cache.key(source, fn, list(key[1:]))            # on disk: None when not kept there
        if entry_key is not None and _from_disk(derived, cache.load(entry_key), source):
            return derived                                          # no compiler stage after the fence
        core = lower(source)                                    # surface language -> core
        derived.form = nesting(core.result)
        _check_retain(core, retain)
        info = analyze(core, wrt, dict(kinds or ()), select, mode, retain)   # activity, kinds, to-be-recorded
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

        calls = []                  # each helper's derive arguments, in order (for the disk cache)

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
            calls.append((helper, helper_wrt, helper_kinds, d.name, helper_mode, helper_select))
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
        made = {n.id for s in core.body for n in walk(s) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        temporaries = made - set(core.source.locals) - set(core.params)       # the lowering's, not the user's
        adjoints = {getattr(transform, "adj", {}).get(t) for t in temporaries} - {None}
        fn_defs = [inline_temporaries(d, temporaries, ns.values, adjoints) for d in fn_defs]
        if mode == "reverse" and all_float64(kinds):          # adjoints the code owns: added into in place
            fn_defs = [accumulate_in_place(d, removable) for d in fn_defs]
        derived.text = "\n\n".join(emit(d) for d in fn_defs)                               # print
        if mode == "vjp":
            derived.mutates = bool(info.mutated)     # its reverse sweep puts arrays back in place
        _bind(derived, ns.values, fn_defs[1].name if mode == "vjp" else None, fn_defs)
        if entry_key is not None:
            _to_disk(entry_key, derived, ns.values, source, calls, fn_defs[1].name if mode == "vjp" else None)
    except BaseException:
        _CACHE.pop(key, None)
        raise
    return derived


def _bind(derived, values, pullback=None, fn_defs=()):
    """Compile `derived.text` with the objects `values` names as its globals; `pullback` names its reverse
    sweep (mode "vjp"). A helper still being built (recursion) is bound into it once it is compiled."""
    bound = {k: _bound(v) for k, v in values.items()}
    filename = pseudo_filename(derived.fn, derived.name, derived.text)
    derived.compiled = load(derived.text, derived.name, {k: v for k, v in bound.items() if v is not None},
                            filename, fn_defs)
    _BY_FILENAME[filename] = _user_name(derived.fn)
    derived.function = _entry(derived.compiled, derived)
    env = derived.compiled.__globals__
    if pullback is not None:
        derived.compiled_pullback = env[pullback]
        derived.pullback = _entry(derived.compiled_pullback, derived)
    for k, v in values.items():          # helpers still being built (recursion): bind once they are
        if isinstance(v, (Derived, Pullback)) and _bound(v) is None:
            owner = v if isinstance(v, Derived) else v.derived
            owner.waiters.append((env, k, v))
    for where, k, v in derived.waiters:
        where[k] = _bound(v)
    return filename


_FIELDS = ("seed", "tangents", "seeds", "form", "nullable_grads", "mutates", "text")


def _to_disk(entry_key, derived, values, source, calls, pullback):
    """Write `derived` to the disk cache (s2sgrad/cache.py) when every global of its code can be found
    again in another process: a name of the user's function, a library's object, a constant, or this
    code's own helpers, each finished (a recursion in progress is not kept)."""
    helpers = []
    for helper, wrt, kinds, name, mode, select in calls:
        found = cache.recipe(helper, source.namespace)
        if found is None or not cache.plain([wrt, kinds, select]) or cache.describe(helper) is None:
            return
        helpers.append([found, cache.describe(helper), list(wrt), kinds, name, mode, select])
    recipes = {}
    for k, v in values.items():
        if v is derived:
            recipes[k] = ["self"]
        elif isinstance(v, Pullback) and v.derived is derived:
            recipes[k] = ["self_pullback"]
        elif isinstance(v, (Derived, Pullback)):
            d = v if isinstance(v, Derived) else v.derived
            if d.compiled is None or d not in derived.helpers:
                return
            recipes[k] = ["helper" if d is v else "helper_pullback", [h is d for h in derived.helpers].index(True)]
        else:
            recipes[k] = cache.recipe(v, source.namespace)
            if recipes[k] is None:
                return
    filename = pseudo_filename(derived.fn, derived.name, derived.text)
    entry = {f: getattr(derived, f) for f in _FIELDS}
    entry.update(values=recipes, helpers=helpers, pullback=pullback,
                 origins=sorted(ORIGINS.get(filename, {}).items()))
    cache.store(entry_key, entry)


def _from_disk(derived, entry, source):
    """Fill `derived` from a disk cache entry and compile its text, True; False (nothing changed that the
    compiler will not set again) when there is no entry or what it names is no longer what it was."""
    if entry is None:
        return False
    helpers = []
    for found, description, wrt, kinds, name, mode, select in entry["helpers"]:
        helper = cache.resolve(found, source.namespace)
        if cache.describe(helper) != description:
            return False
        helpers.append(derive(helper, tuple(wrt), cache.tuples(kinds), name, mode, cache.tuples(select)))
    values = {}
    for k, found in entry["values"].items():
        if found[0] == "self":
            values[k] = derived
        elif found[0] == "self_pullback":
            values[k] = derived.pullback_ref
        elif found[0] in ("helper", "helper_pullback"):
            values[k] = helpers[found[1]] if found[0] == "helper" else helpers[found[1]].pullback_ref
        else:
            values[k] = cache.resolve(found, source.namespace)
            if values[k] is cache.MISSING:
                return False
    for f in _FIELDS:
        setattr(derived, f, cache.tuples(entry[f]))
    derived.helpers = helpers
    filename = _bind(derived, values, entry["pullback"])
    ORIGINS[filename] = {line: cache.tuples(origin) for line, origin in entry["origins"]}
    return True


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


def _check_retain(core, retain):
    """Refuse a retained name that is not a variable of the function (a parameter or a name it assigns)."""
    known = set(core.params) | {target_of(s) for s in assignments(core.body)}
    unknown = [r for r in retain if r not in known]
    if unknown:
        names = ", ".join(sorted(core.source.locals))
        raise ValueError(f"retain names {', '.join(map(repr, unknown))}, which is not a local variable of "
                         f"{core.source.name}; its locals are: {names}")


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
    params = tuple(inspect.signature(helper, follow_wrapped=False).parameters)
    base = f"{PREFIX[mode]}_{display_name(helper)}"             # a lambda's is '<lambda>', a __call__ its class's
    base = base if tuple(wrt) == params else f"{base}_wrt_{'_'.join(wrt)}"
    return base if select is None else f"{base}_of_{'_'.join(map(str, select))}"


def pseudo_filename(fn, name, text):
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"<s2sgrad {name} of {fn.__module__}.{fn.__qualname__} {digest}>"
