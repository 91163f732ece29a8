"""The public API: differentiate, grad, value_and_grad, jvp, jacobian, source. Thin: argument
handling and wrapping on top of `pipeline.derive`.

Example:
    >>> @differentiate(wrt=("x", "a"))
    ... def f(x, a):
    ...     return math.sin(x) * a
    >>> f.grad(0.5, 2.0)          # (2 cos 0.5, sin 0.5)
"""

import functools
import inspect
import math
import numbers
import re

import numpy as np

from .errors import SourceUnavailableError
from .frontend import HIDES_METHOD, OBJECTS_IN_CONTAINER, InstanceOf, is_library, signature, unwrap
from . import compose, primitives, trees
from .pipeline import derive
from .shapes import shape_kinds


def _plain(fn):
    """The plain Python function behind `fn` (a `differentiate` object or functools wrapper), refusing a
    library function passed directly before anything reads its signature or source (np.sum's source
    is NumPy's, not something to show a user)."""
    if not callable(fn):
        raise TypeError(f"s2sgrad differentiates functions, not {type(fn).__name__} values ({fn!r})")
    if inspect.ismethod(fn) and fn.__func__ is Differentiable.grad:
        fn = _grad_function(fn.__self__._gradient)    # grad(sq.grad) is grad(grad(sq)): the same gradient
    plain = unwrap(fn)
    if inspect.ismethod(plain) and inspect.isfunction(plain.__func__) and not is_library(plain.__func__):
        made = primitives.method_wrapper(plain)         # grad(model.loss): the method, `self` the model
        if made is not None:
            return made
    if isinstance(fn, functools.partial) or (not hasattr(plain, "__s2sgrad_derivative__") and _is_library(plain)):
        made = primitives.wrapper(fn if isinstance(fn, functools.partial) else plain)
        if made is not None:                    # differentiated by its rule, through a wrapper calling it
            return made
        raise SourceUnavailableError(_library_message(fn if _is_library(fn) else plain))   # np.sum, not its
    return plain                                                                           # __wrapped__


def _is_library(fn):
    return is_library(fn) or inspect.isbuiltin(fn) or isinstance(fn, np.ufunc)


def _library_message(fn):
    """What to say about a library function (np.sin, math.exp) passed to s2sgrad directly."""
    spelled = _public_name(fn)
    call = "np." + spelled[len("numpy."):] if spelled.startswith("numpy.") else spelled
    params = ", ".join(_example_parameters(fn))
    return (f"{spelled} is a library function with no gradient rule that s2sgrad can call with plain "
            f"parameters; differentiate a function of your own that calls it, for example\n"
            f"    def f({params}):\n"
            f"        return {call}({params})\n"
            f"and pass f instead")


_public_name = primitives.public_name


def _example_parameters(fn):
    """Parameter names for the example in `_library_message`: the function's required positional ones."""
    if isinstance(fn, np.ufunc):
        return ["x", "y", "z"][:fn.nin] if fn.nin <= 3 else [f"x{i}" for i in range(fn.nin)]
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):          # many builtins (np.dot) publish no signature but document one
        first = (getattr(fn, "__doc__", None) or "").strip().partition("\n")[0]
        found = re.match(rf"{re.escape(getattr(fn, '__name__', ''))}\((.*?)\)", first)
        names = [p.strip() for p in found.group(1).split(",")] if found else []
        return [p for p in names if p.isidentifier()] or ["x"]
    required = [p.name for p in params
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return required or ["x"]


def _signature(fn):
    """The signature of the code that runs when `fn` is called (frontend.signature): a decorator's
    wrapper's own parameters, not those functools.wraps copied from the function it wraps, since the
    wrapper is what is differentiated."""
    try:
        return signature(fn)
    except (TypeError, ValueError) as err:
        raise SourceUnavailableError(f"cannot read the parameters of {fn!r} ({err}); s2sgrad differentiates "
                                     "Python functions defined with 'def'") from None


def _star_index(params):
    """The position of the `*args` parameter among `params` (inspect.Parameter), or None."""
    return next((i for i, p in enumerate(params) if p.kind is p.VAR_POSITIONAL), None)


def _label(entry):
    """How messages name a `wrt` entry: the parameter's name, or `args[1]` for an item of *args."""
    return entry if isinstance(entry, str) else f"{entry[0]}[{entry[1]}]"


def _wrt_entries(fn, wrt, sig=None):
    """(entries, single) for a `wrt` given as a position, a name, or a tuple of them: each entry the name
    of a parameter, or (name, k) for the item k of the function's `*args`, `name`.

    A position counts the arguments as the call passes them, as JAX's argnums do: for `def f(x, *args)`,
    wrt=0 is x, wrt=1 the first argument after it (args[0]), wrt=2 the next; wrt="args" is the whole
    tuple. The code is derived with respect to `*args` and the item picked from its tuple gradient at
    call time, where a position past the arguments given is refused (`_Gradient.inputs`). A negative
    position is refused when the function has `*args` (where it lands depends on each call). In a
    function without `*args`, positions index its parameters as before.

    An entry named twice (`wrt=(0, 0)`, `wrt=(0, "x")`, `wrt=(1, "args")` for an item of *args and the
    tuple holding it) is refused, as torch.func refuses repeated argnums: no derivative needs it, and
    generated code has one tangent and one adjoint per parameter.
    """
    params = list((sig or _signature(fn)).parameters.values())
    names = [p.name for p in params]
    star = _star_index(params)
    single = not isinstance(wrt, (tuple, list))
    items = (wrt,) if single else tuple(wrt)
    if not items:
        raise ValueError(f"wrt is empty; name at least one parameter of {fn.__qualname__}: {', '.join(names)}")
    entries = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"wrt must be a parameter position or name (or a tuple of them), not {item!r}")
        if isinstance(item, int) and star is not None:
            if item < 0:
                raise ValueError(
                    f"wrt={item} counts from the end, but {fn.__qualname__} takes *{names[star]}, so where the "
                    f"end is depends on each call; give positions from the start (0 is the first argument "
                    f"passed), or wrt={names[star]!r} for every argument in *{names[star]}")
            entry = names[item] if item < star else (names[star], item - star)
        elif isinstance(item, int):
            if not -len(names) <= item < len(names):
                raise ValueError(f"wrt={item} is out of range: {fn.__qualname__} has {len(names)} parameters "
                                 f"({', '.join(names)})")
            entry = names[item]
        elif item not in names:
            raise ValueError(_not_a_parameter(fn, item, params))
        else:
            entry = item
        if entry in entries:
            what = f"the parameter {entry!r}" if isinstance(entry, str) else \
                f"the argument {_label(entry)} (position {star + entry[1]})"
            raise ValueError(f"wrt={wrt!r} names {what} of {fn.__qualname__} twice; name each parameter once "
                             "(a gradient with respect to it is the same either way)")
        if isinstance(entry, tuple):
            whole, part = entry[0], (entry if entry[0] in entries else None)
        else:
            whole, part = entry, next((e for e in entries if isinstance(e, tuple) and e[0] == entry), None)
        if part is not None:
            raise ValueError(f"wrt={wrt!r} names the argument {_label(part)} (position {star + part[1]}) of "
                             f"{fn.__qualname__} twice, alone and in the whole of {whole!r}; name each parameter "
                             f"once (the tuple gradient of {whole!r} holds its gradient)")
        entries.append(entry)
    return tuple(entries), single


def _not_a_parameter(fn, item, params):
    """The message for a `wrt` naming what is not a parameter of `fn` (whose parameters are `params`)."""
    names = ", ".join(p.name for p in params)
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is not None and item in _parameter_names(wrapped):
        own = getattr(getattr(fn, "__code__", None), "co_name", fn.__qualname__)
        inner = getattr(wrapped, "__qualname__", repr(wrapped))
        return (f"wrt names {item!r}, a parameter of {inner}, which {own}{signature(fn)}, a decorator's "
                f"wrapper, wraps: s2sgrad differentiates the wrapper, the code that runs, whose parameters "
                f"are: {names}; give positions instead (wrt=0 is the first argument passed to the wrapper), "
                f"or differentiate {inner} undecorated (its __wrapped__)")
    message = f"wrt names {item!r}, which is not a parameter of {fn.__qualname__}; its parameters are: {names}"
    kwargs = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
    if kwargs is not None:
        message += (f"; a keyword passed into **{kwargs} is not one: differentiate with respect to "
                    f"wrt={kwargs!r} (a dict gradient) and read [{item!r}]")
    return message


def _parameter_names(fn):
    try:
        return list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return []


def _kinds(arguments, names):
    """The specialisation key for these arguments: each one's kind (compose.kind_of), an object in `wrt`
    (a dataclass, a model) an instance of its class read by attribute, not a known value: code is
    specialised on an object passed as is, but one differentiated is a tree of its arrays, and a new one
    each training step must not build new code (nor keep every step's object alive in the cache); its
    methods are the class's (model.forward(x) calls Model.forward with model)."""
    shapes = shape_kinds(arguments)      # arrays: their shapes up to renaming of sizes (s2sgrad.shapes)
    return tuple([(n, _object_kind(v) if n in names and trees.is_object(v) else shapes.get(n) or compose.kind_of(v))
                  for n, v in arguments.items()])


def _object_kind(obj, within=()):
    """InstanceOf(the object's class, the kinds of its attributes holding objects): a model's layers, their
    own layers (`self.linear(x)` calls Linear.__call__). An object met again inside itself is left out:
    a call through that attribute is refused, as any call of an attribute the kind does not know."""
    state = getattr(obj, "__dict__", None)
    attrs = () if not isinstance(state, dict) or any(o is obj for o in within) else tuple(sorted(
        (k, _object_kind(v, within + (obj,))) for k, v in state.items()
        if trees.is_object(v) and not any(o is v for o in within + (obj,))))
    layers = tuple((k, OBJECTS_IN_CONTAINER) for k, v in sorted(state.items()) if isinstance(v, (list, tuple, dict))
                   and any(map(trees.is_object, v.values() if isinstance(v, dict) else v))) \
        if isinstance(state, dict) else ()
    hidden = tuple((k, HIDES_METHOD) for k in sorted(state) if inspect.isfunction(
        inspect.getattr_static(type(obj), k, None))) if isinstance(state, dict) else ()
    return InstanceOf(type(obj), attrs + layers + hidden)


class _Gradient:
    """The compiled value-and-gradient of one function for one `wrt`; checks and shapes results."""

    def __init__(self, fn, wrt, mode="reverse", derivative_file=None):
        self.fn = _plain(fn)
        self.mode = mode
        self.derivative_file = derivative_file     # the code is this file, edits included (s2sgrad/export.py)
        self._kept = None
        self.signature = _signature(self.fn)                 # the code that runs: a wrapper's own
        self.entries, self.single = _wrt_entries(self.fn, wrt, self.signature)
        # The parameters the code is derived with respect to: an item of *args is picked from the
        # gradient of the whole tuple (and seeded in a tangent of it), so generated code never changes.
        self.names = tuple(dict.fromkeys(e if isinstance(e, str) else e[0] for e in self.entries))
        self.picks = any(not isinstance(e, str) for e in self.entries)
        self.labels = tuple(_label(e) for e in self.entries)            # for messages: ('x', 'args[0]')
        params = list(self.signature.parameters.values())
        self.star = _star_index(params)
        self.positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.keyword_defaults = {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}
        # A call giving every positional parameter and nothing else binds without inspect, when no
        # parameter is *args, **kwargs or a keyword-only one without a default.
        self._binds_fast = all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                               or (p.kind is p.KEYWORD_ONLY and p.default is not p.empty) for p in params)
        self.positional_defaults = {p.name: p.default for p in params if p.name in self.positional
                                    and p.default is not p.empty}
        self._required = len(self.positional) - len(self.positional_defaults)
        self._generic = None
        self._variants = {}
        self._seeds = {}        # compiled variant -> the seed its last output needed (see _run)
        # The fast path (see _fast_call): calls giving only positional plain values (floats, ints, bools,
        # None, arrays) whose _call_key was seen before skip what that key decides. A default whose kind
        # could change between calls (an array resized in place, a list appended to) keeps every call on
        # the full path, as does a wrt parameter not given by position.
        self._fast = {}
        positions = [self.positional.index(e) if e in self.positional else None for e in self.entries]
        self._last_wrt = None if None in positions else max(positions)
        self._positions = positions
        self._fast_ok = (self._binds_fast and not self.picks and self._last_wrt is not None
                         and compose.derivative_of(self.fn) is None
                         and all(_fixed_kind(p.default) for p in params if p.default is not p.empty))

    @property
    def derived(self):
        """The generic generated code (what `source` and `s2sgrad show` print)."""
        if self.derivative_file is not None:
            return self.kept()
        if self._generic is None or not self._generic.is_current():
            self._generic = derive(self.fn, self.names, mode=self.mode)
        return self._generic

    def specialised(self, arguments):
        """The generated code for arguments of these kinds: scalars need no unbroadcasting (like JAX
        specialising on shapes, but only on scalar-or-array)."""
        if self.derivative_file is not None:
            return self.kept()
        kinds = _kinds(arguments, self.names)
        derived = self._variants.get(kinds)
        if derived is None or not derived.is_current():
            # Two threads may both get here: derive (which holds its own lock) gives both the same code.
            derived = self._variants[kinds] = derive(self.fn, self.names, kinds, mode=self.mode)
        return derived

    def kept(self):
        """The code of `derivative_file`, loaded once (written first if there is none; a warning if stale)."""
        if self._kept is None:
            from .export import load_derivative
            self._kept = load_derivative(self.fn, self.names, self.derivative_file, self.mode)
        return self._kept

    def arguments(self, args, kwargs):
        """Parameter name -> argument value, defaults included (a fast path for positional calls)."""
        if not kwargs and self._binds_fast and self._required <= len(args) <= len(self.positional):
            arguments = dict(zip(self.positional, args))
            for name in self.positional[len(args):]:
                arguments[name] = self.positional_defaults[name]
            arguments.update(self.keyword_defaults)
            return arguments
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.arguments

    def inputs(self, arguments):
        """The arguments differentiated, in `wrt` order (an item of *args for a position past the named
        parameters), each checked to be differentiable; a position past the arguments of this call is a
        ValueError saying how many there were."""
        inputs = [self._input(arguments, e) for e in self.entries]
        for e, x in zip(self.entries, inputs):
            _check_differentiable(self.fn, _label(e), x)
        return inputs

    def _input(self, arguments, entry):
        if isinstance(entry, str):
            return arguments[entry]
        name, k = entry
        items = arguments[name]
        if k < len(items):
            return items[k]
        # Python fills *args only once every named positional parameter is given by position.
        given = self.star + len(items)
        named = self.positional[:self.star]
        called = (f"was called with {given} positional argument{'' if given == 1 else 's'} "
                  f"({', '.join(named) + ', then ' if named else ''}{len(items)} in *{name})" if items
                  else f"was called with no arguments in *{name} (the first would be at position {self.star})")
        raise ValueError(f"wrt={self.star + k} but {self.fn.__qualname__} {called}; a position counts the "
                         f"arguments as passed, from 0, as JAX's argnums do")

    def picked(self, grads):
        """The gradients (or Hessian-vector products) per `wrt` entry, from `grads`, one per parameter in
        `names`: an item of *args is that item of its tuple's gradient."""
        if not self.picks:
            return list(grads)
        by_name = dict(zip(self.names, grads))
        return [by_name[e] if isinstance(e, str) else trees.at(by_name[e[0]], (e[1],)) for e in self.entries]

    def spread(self, directions, arguments):
        """The tangents (or vectors) per parameter in `names`, from `directions`, one per `wrt` entry
        (checked, as generated code holds them: see _direction): an *args tuple whose items are
        differentiated gets a tangent of zeros but for those items."""
        if not self.picks:
            return list(directions)
        by_name = {}
        for e, d in zip(self.entries, directions):
            if isinstance(e, str):
                by_name[e] = d
                continue
            name, k = e
            if name not in by_name:
                items = arguments[name]
                by_name[name] = list(_direction(_zeros(items), items, "a zero tangent", repr(name)))
            by_name[name][k] = d
        return [by_name[n] if n in self.entries else tuple(by_name[n]) for n in self.names]

    def __call__(self, *args, **kwargs):
        key = None
        if not kwargs and self._fast_ok and len(args) > self._last_wrt:
            key = _call_key(args)
            fast = self._fast.get(key)
            if fast is not None:
                done = self._fast_call(fast, args)
                if done is not None:
                    return done
        arguments = self.arguments(args, kwargs)
        inputs = self.inputs(arguments)
        if compose.derivative_of(self.fn) is not None:           # grad(grad(f)): differentiate its code
            value, grads = compose.grad_of_derivative(self, args, kwargs)
            grads = grads[0] if len(self.names) == 1 else grads
            if _output_seed(self.fn, value) is not None:        # its tower differentiates scalars only
                raise ValueError(f"grad needs a scalar output, but {self.fn.__qualname__} returned a value of "
                                 f"shape {np.shape(value)}")
        else:
            value, grads = self._run(arguments, args, kwargs)
        if len(self.names) == 1:
            grads = (grads,)
        grads = _owned([_like(g, x) for g, x in zip(self.picked(grads), inputs)],
                       lambda: _held(args, kwargs.values(), (value,)))
        if key is not None:
            self._remember(key, arguments)
        return value, (grads[0] if self.single else tuple(grads))

    def _remember(self, key, arguments):
        """Let later calls of this `_call_key` take the fast path, with the code this call ran and the
        globals and closure cells it (and every helper it calls) was built with."""
        derived = self._variants.get(_kinds(arguments, self.names))
        if derived is None or self._seeds.get(derived) is not None:
            return
        if len(self._fast) >= 256:        # a sweep over many shapes: keep the table small
            self._fast.clear()
        self._fast[key] = (derived, [w for d in derived.reachable() for w in d.source.watched])

    def _fast_call(self, fast, args):
        """(value, gradients) for a call whose `_call_key` an earlier call had, or None to take the full
        path. The key fixes every argument's type, shape and dtype, so the kinds the code was specialised
        on and the checks that the wrt arguments are differentiable hold as they did then; what the key
        does not fix is checked here as on the full path: that the globals the code was built with are
        still bound, the output's shape (only a scalar output is seeded here), the gradients' types and
        dtypes, and that no returned array shares memory with an argument, the value or another result."""
        derived, watched = fast
        if not _current(watched) or self._seeds.get(derived) is not None:
            return None
        value, grads = derived.function(*args)
        if _output_seed(self.fn, value) is not None:          # an array of one element: seeded by _run
            return None
        if len(self.names) == 1:
            grads = (grads,)
        results = []
        arrays = False
        for g, k in zip(grads, self._positions):
            x = args[k]
            if type(x) is not np.ndarray:
                results.append(0.0 if g is None else float(g))     # a float or an int: a float gradient
                continue
            if not (type(g) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype):
                g = _like(g, x)
            results.append(g)
            arrays = True
        if arrays:          # the arrays the caller holds, as _held finds them among plain arguments
            held = [v for v in (*args, value) if isinstance(v, np.ndarray)]
            if not _fresh(results, held):
                results = _owned(results, lambda: held)
        return value, (results[0] if self.single else tuple(results))

    def _run(self, arguments, args, kwargs):
        """(value, gradients) from one run of the generated code, seeded for the output it gives.

        A scalar output takes the generated default seed (1.0); an array of one element (shape (1,) or
        (1, 1)) a seed of ones of its shape and dtype, as PyTorch's backward() does. The output's shape is
        known only once the code has run, so each compiled variant remembers the seed its last output
        needed; when a run shows it was wrong, the code runs again with the right one, and the value
        returned is that run's (the function may draw random numbers).
        """
        derived = self.specialised(arguments)
        guess = self._seeds.get(derived)
        try:
            if guess is None:
                value, grads = derived.function(*args, **kwargs)
            else:
                value, grads = derived.function(*args, **kwargs, **_seed_keyword(derived, guess))
        except Exception as err:
            # A seed of the wrong shape may fail inside the reverse sweep (W.T @ 1.0 for an output of
            # shape (1,)): learn the output's shape from the function itself, and retry only if the seed
            # was wrong. Any other failure is the function's own, and is raised as it came.
            failure = err
        else:
            failure = None
            needed = _output_seed(self.fn, value)
            if needed == guess:
                return value, grads
        if failure is not None:
            try:
                output = self.fn(*args, **kwargs)
            except Exception:
                raise failure from None
            needed = _output_seed(self.fn, output)
            if needed == guess:
                raise failure
        self._seeds[derived] = needed
        value, grads = derived.function(*args, **kwargs, **_seed_keyword(derived, needed))
        if _output_seed(self.fn, value) != needed:
            raise ValueError(f"{self.fn.__qualname__} returned outputs of different shapes from two runs at the "
                             "same arguments; grad needs the output's shape to seed the gradient")
        return value, grads


_PLAIN = {float, int, bool, type(None)}


def _call_key(args):
    """What the fast path keys a call on: each argument's type, and an array's shape and dtype; None when
    an argument is anything else (a container, a function, an object, a NumPy scalar), for the full path.
    The kinds code is specialised on (_kinds) are a function of this key, which the tests check."""
    key = []
    for v in args:
        t = type(v)
        if t is np.ndarray:
            key.append((v.shape, v.dtype))
        elif t in _PLAIN:
            key.append(t)
        else:
            return None
    return tuple(key)


def _fixed_kind(default):
    """Whether a default value's kind cannot change between calls (nothing in it can be changed in place),
    so a call leaving it out may be keyed on the arguments it gives."""
    return type(default) in _PLAIN or type(default) in (str, bytes) or inspect.isroutine(default) \
        or isinstance(default, np.ufunc)


def _current(watched):
    """Whether each (globals dict or cell, name, object) in `watched` still holds its object (as
    frontend.Source.is_current checks, over a function and its helpers at once)."""
    try:
        for where, key, obj in watched:
            if (where[key] if key is not None else where.cell_contents) is not obj:
                return False
    except (KeyError, ValueError):
        return False
    return True


def _output_seed(fn, value):
    """The seed the gradient of an output `value` needs: None for a scalar (the generated default, 1.0),
    (shape, dtype) for an array of one element; any other output raises the error pointing to vjp."""
    if type(value) is float or isinstance(value, np.generic):      # np.sum's float64: shape ()
        return None
    if isinstance(value, tuple):
        raise ValueError(
            f"grad needs a scalar output, but {fn.__qualname__} returned a tuple of {len(value)} "
            f"values; use vjp with a tuple of {len(value)} cotangents")
    if isinstance(value, (list, dict)) or trees.is_object(value):
        raise ValueError(
            f"grad needs a scalar output, but {fn.__qualname__} returned a {type(value).__name__}; use vjp "
            f"with a cotangent of the same structure (or jacobian)")
    shape = value.shape if isinstance(value, np.ndarray) else np.shape(value)
    if not shape:
        return None
    if not isinstance(value, np.ndarray) or math.prod(shape) != 1:
        raise ValueError(
            f"grad needs a scalar output, but {fn.__qualname__} returned a value of shape "
            f"{shape}; for a non-scalar output use a vector-Jacobian product (vjp) with a "
            f"cotangent of shape {shape}")
    return shape, (value.dtype if value.dtype.kind == "f" else np.dtype(np.float64))


def _seed_keyword(derived, seed):
    """The keyword passing `seed` (from _output_seed) to generated gradient code: none for a scalar."""
    if seed is None:
        return {}
    shape, dtype = seed
    return {derived.seed: np.ones(shape, dtype)}        # a new array each call: it may come back as a gradient


def _held(*groups):
    """The NumPy arrays among the values in `groups` and anywhere inside the trees among them (lists,
    tuples, dicts, dataclasses and objects of the user's, an argument not in wrt included): what the
    caller holds (arguments, cotangents, tangents, the value), which no returned gradient may share
    memory with."""
    held, seen = [], set()

    def walk(v):
        if isinstance(v, np.ndarray):
            held.append(v)
        elif trees.is_container(v) and id(v) not in seen:      # each node once: objects may refer back
            seen.add(id(v))
            for k in trees.keys(v):
                walk(trees.child(v, k))

    for group in groups:
        for v in group:
            walk(v)
    return held


def _owned(results, held, seen=None):
    """`results` (a list of gradients or tangents, tuples nested) made the caller's own, in place: an
    array that is read-only, or may share memory with an array in `held()` (see _held) or with an earlier
    result, is copied (`seen`, when given, holds the (array, _owner(array)) pairs of held() already). Generated code may hand back one adjoint for two parameters (x + w), the cotangent
    itself (an identity), a view of it (x.T) or an argument; copying only then keeps the usual case
    cheap, and scalars cost nothing."""
    for k, r in enumerate(results):
        if isinstance(r, np.ndarray):
            seen = [(h, _owner(h)) for h in held()] if seen is None else seen
            owner = _owner(r)
            if not r.flags.writeable or _shares_memory(r, owner, seen):
                results[k] = r = r.copy()
                owner = r
            seen.append((r, owner))
        elif trees.is_container(r):                 # a tree: its children made its own, in a new node like it
            seen = [(h, _owner(h)) for h in held()] if seen is None else seen
            results[k] = trees.like(r, _owned([trees.child(r, key) for key in trees.own_keys(r)], held, seen))
    return results


def _fresh(results, held):
    """Whether every array among `results` is writeable and owns memory that no array in `held` and no
    other result is in (each allocated by this call): then `_owned` would copy none, and need not run."""
    owners = set()
    for h in held:
        owner = _owner(h)
        if owner is None:
            return False
        owners.add(id(owner))
    for r in results:
        if type(r) is np.ndarray:
            owner = _owner(r)
            if owner is None or id(owner) in owners or not r.flags.writeable:
                return False
            owners.add(id(owner))
    return True


def _shares_memory(array, owner, others):
    """Whether `array` (whose memory `owner` owns, see _owner) may share memory with one of `others`,
    (array, owner) pairs."""
    for other, other_owner in others:
        if owner is not None and other_owner is not None and owner is not other_owner:
            continue                    # two arrays owning their memory: apart (the usual gradient and argument)
        if np.may_share_memory(array, other):     # bounds only: cheap, and a false alarm costs a copy
            return True
    return False


def _owner(array):
    """The array owning `array`'s memory (itself, or the end of its chain of bases), or None when that is
    not an array that allocated it (memory of a bytes object, a buffer, another library's)."""
    base = array.base
    while isinstance(base, np.ndarray):
        array, base = base, base.base
    return array if base is None and array.flags.owndata else None


_PREPARED = {}


def _prepared(kind, fn, wrt):
    """The `kind` object (_Vjp, _Jvp, _Hvp) of fn for wrt, made once: calling vjp(f, ...) in a loop
    should not inspect f's signature every time."""
    key = (kind, fn, wrt if not isinstance(wrt, list) else tuple(wrt))
    try:
        prepared = _PREPARED.get(key)
    except TypeError:                     # an unhashable callable: nothing to reuse
        return kind(fn, wrt)
    if prepared is None:
        prepared = _PREPARED.setdefault(key, kind(fn, wrt))   # two threads at once keep the same one
    return prepared


def _is_scalar(x):
    return isinstance(x, (int, float, np.generic)) or (isinstance(x, np.ndarray) and x.ndim == 0)




def _check_differentiable(fn, name, x):
    """Refuse, with a TypeError naming the parameter, an argument in `wrt` that is not a real number or
    an array of floats (a Python int is accepted and gets a float gradient). A tree (a dict, list, tuple,
    dataclass or object of the user's: see `trees`) is checked leaf by leaf, each named by its path
    (`'model.W'`); leaves that carry no derivative (None, strings, bools, functions) are let through, as
    their gradient is None."""
    if type(x) is float:
        return
    if trees.is_container(x):                   # a pytree: each leaf is checked the same way
        for path, leaf in trees.leaves(x):
            if type(leaf) is float or type(leaf) is np.ndarray and leaf.dtype.kind == "f":
                continue                        # the usual leaves, without spelling their paths
            if trees.carries_derivative(leaf):
                _check_differentiable(fn, name + trees.path_text(x, path), leaf)
        return
    if isinstance(x, bool) or isinstance(x, np.bool_):
        raise TypeError(f"cannot differentiate {fn.__qualname__} with respect to {name!r}: it is a bool")
    if isinstance(x, (complex, np.complexfloating)) or (isinstance(x, np.ndarray) and np.iscomplexobj(x)):
        raise TypeError(f"cannot differentiate with respect to {name!r}: complex inputs are not supported yet")
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind != "f":
        raise TypeError(f"cannot differentiate with respect to {name!r}: an array of dtype {x.dtype} is not "
                        "differentiable; pass a floating-point array (x.astype(float))")
    if isinstance(x, (np.ndarray, numbers.Real)):
        return
    raise TypeError(f"cannot differentiate {fn.__qualname__} with respect to {name!r}: it is a "
                    f"{type(x).__name__}; pass a float or a NumPy array of floats (or a dict, list, tuple, "
                    "dataclass or object of yours holding them)")


def _like(g, x):
    """The gradient `g` given the type, shape and dtype of its argument `x` (None, a zero a pullback knew
    of, is zeros); for a tree, one of the same structure and types (a dict for a dict, a NamedTuple for a
    NamedTuple, a copy of a dataclass or an object with its attributes replaced by their gradients), None
    where a leaf carries no derivative (a string, None, a bool, a function)."""
    if trees.is_container(x):
        return _tree_like(g, x)
    if not trees.carries_derivative(x):
        return None
    if g is None:
        g = 0.0
    if type(x) is float:
        return float(g)
    if isinstance(x, np.ndarray):
        if type(g) is np.ndarray and g.shape == x.shape and g.dtype == x.dtype and g.flags.writeable:
            return g
        g = np.asarray(g)
        if g.shape != x.shape:
            g = np.broadcast_to(g, x.shape)
        if g.dtype != x.dtype or not g.flags.writeable:
            g = g.astype(x.dtype)
        return g
    if isinstance(x, np.generic):
        return x.dtype.type(g)
    if isinstance(x, numbers.Real):
        return float(g)
    return g


def _tree_like(g, x):
    """`_like` child by child: the adjoint g of a tree x (None, a zero, or one read like x: an object's
    adjoint is a dict keyed by attribute inside generated code) as x is; for a dataclass or an object, a
    copy of x holding the gradients (see trees.like)."""
    if isinstance(g, (numbers.Real, np.generic)) and g == 0:   # the zero of a sum no term reached (a linear f's
        g = None                                                 # Hessian-vector product): zeros like x
    if g is not None and trees.is_object(x) and isinstance(g, dict):
        _refuse_other_attributes(g, x)
    return trees.like(x, [_like(None if g is None else trees.child(g, k), trees.child(x, k))
                          for k in trees.own_keys(x)])


def _refuse_other_attributes(g, x):
    """Generated code gives an object's adjoint one entry per instance attribute, `trees` has a dataclass's
    fields only: an attribute that is not a field (set in __post_init__) and through which the output
    depends on the object would lose its derivative, so it is refused rather than dropped."""
    fields = set(trees.own_keys(x))
    for k, gk in g.items():
        if k not in fields and any(np.any(np.asarray(leaf) != 0) for _, leaf in trees.leaves(gk)
                                   if leaf is not None and trees.carries_derivative(leaf)):
            raise ValueError(
                f"the output depends on the attribute {k!r} of the {type(x).__name__} differentiated, which is "
                f"not one of its dataclass fields ({', '.join(map(repr, trees.own_keys(x)))}), so its gradient "
                f"has no place in the {type(x).__name__} returned; declare it as a field "
                f"(dataclasses.field(init=False) if __post_init__ sets it), or compute it inside the function")


class _Retaining(_Gradient):
    """A gradient that also returns the adjoints of locals of the function (`retain=("h",)`, PyTorch's
    `retain_grad()`): (gradients, {"h": dh}), dh the adjoint of h at its last assignment, of h's shape."""

    def __init__(self, fn, wrt, retain):
        super().__init__(fn, wrt)
        self.retain = (retain,) if isinstance(retain, str) else tuple(retain)

    @property
    def derived(self):
        if self._generic is None or not self._generic.is_current():
            self._generic = derive(self.fn, self.names, retain=self.retain)
        return self._generic

    def specialised(self, arguments):
        kinds = _kinds(arguments, self.names)
        derived = self._variants.get(kinds)
        if derived is None or not derived.is_current():
            derived = self._variants[kinds] = derive(self.fn, self.names, kinds, retain=self.retain)
        return derived

    def __call__(self, *args, **kwargs):
        arguments = self.arguments(args, kwargs)
        inputs = self.inputs(arguments)
        value, (grads, kept) = self._run(arguments, args, kwargs)
        grads = (grads,) if len(self.names) == 1 else grads
        held = lambda: _held(args, kwargs.values(), (value,))        # noqa: E731
        grads = _owned([_like(g, x) for g, x in zip(self.picked(grads), inputs)], held)
        kept = dict(zip(kept, _owned(list(kept.values()), held)))
        return value, ((grads[0] if self.single else tuple(grads)), kept)


def _gradient(fn, wrt, derivative_file, retain):
    if retain:
        if derivative_file is not None:
            raise ValueError("retain= and derivative_file= cannot be used together: a derivative kept in a "
                             "file returns the gradients only")
        return _Retaining(fn, wrt, retain)
    return _Gradient(fn, wrt, derivative_file=derivative_file)


def value_and_grad(fn, wrt=0, derivative_file=None, retain=()):
    """A function returning (fn(*args), gradient) — the gradient a tuple when `wrt` is a tuple.

    Example:
        >>> def f(x, a):
        ...     return x * x * a
        >>> value_and_grad(f, wrt=(0, 1))(3.0, 2.0)   # (value, (df/dx, df/da))
        (18.0, (12.0, 9.0))
    """
    gradient = _gradient(fn, wrt, derivative_file, retain)

    def value_and_grad_fn(*args, **kwargs):
        return gradient(*args, **kwargs)

    return _derivative(value_and_grad_fn, gradient, "value_and_grad")


def grad(fn, wrt=0, derivative_file=None, retain=()):
    """A function returning the gradient of `fn` (a scalar-valued function) at its arguments.

    The gradient has the type of its argument: a float for a float (an int too), an array of its shape
    and dtype for an array, and for a dict, list, tuple or NamedTuple one of the same structure. For a
    dataclass instance or an object of the user's (`wrt="model"`), it is an object of the same class, as
    PyTorch keeps parameters' gradients on the module: a copy of the argument with each attribute (a
    dataclass's fields; an object's instance attributes) replaced by its gradient. Attributes and items
    that carry no derivative (None, strings, bools, functions, classes, modules) are None there; an int
    counts as a real number and gets a float. The argument itself is never changed, and no array of the
    gradient shares memory with it. See s2sgrad/trees.py for what is walked and what is refused.

    `wrt` names parameters or gives positions, which count the arguments as passed, as JAX's argnums: for
    `def f(x, *args)`, wrt=1 is the first argument after x (args[0]) and wrt="args" the whole tuple (a
    tuple gradient); a keyword passed into **kwargs is read from the dict gradient of wrt="kwargs". The
    same holds for every entry point (value_and_grad, vjp, jvp, jacobian, hessian, hvp).

    `derivative_file="derivs/loss_grad.py"` keeps the derivative in a file (relative to `fn`'s own file):
    if it exists it is loaded and run as it is, edits included, else it is generated and written there
    (`s2sgrad export`'s module); a StaleDerivativeWarning says when `fn`'s source or a helper's has
    changed since it was generated, and the file keeps being used.

    `retain=("h",)` (PyTorch's `retain_grad()`) returns `(gradients, {"h": dh})` instead, dh the adjoint of
    the local h at its last assignment, of h's shape and dtype; value_and_grad returns (value, that pair).

    Example:
        >>> def f(x, a):
        ...     return x * x * a
        >>> grad(f)(3.0, 2.0)                      # df/dx = 2 x a
        12.0
        >>> grad(f, wrt=("x", "a"))(3.0, 2.0)      # (df/dx, df/da)
        (12.0, 9.0)
        >>> grad(lambda x: np.sum(x ** 2))(np.arange(3.0))
        array([0., 2., 4.])
        >>> grad(lambda x, *args: x * args[1], wrt=2)(3.0, 1.0, 2.0)      # d/d args[1]
        3.0
        >>> def mean_shifted(a):
        ...     b = a + 3
        ...     return np.mean(b)
        >>> grad(mean_shifted, retain=("b",))(np.array([1.0, 2.0, 3.0]))       # (da, {"b": db})
        (array([0.33333333, 0.33333333, 0.33333333]), {'b': array([0.33333333, 0.33333333, 0.33333333])})
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Layer:
        ...     W: np.ndarray
        ...     n: int
        >>> g = grad(lambda p, x: np.sum(p.W @ x) * p.n)(Layer(np.ones((2, 3)), 2), np.ones(3))
        >>> type(g).__name__, g.W.shape, g.n          # a Layer holding the gradients
        ('Layer', (2, 3), 6.0)
        >>> class Model:
        ...     def __init__(self):
        ...         self.W, self.name = np.ones(2), "linear"
        >>> def loss(model, x):
        ...     return np.sum((model.W * x) ** 2)
        >>> model = Model()
        >>> for name, g_k in vars(grad(loss, wrt="model")(model, np.ones(2))).items():   # an SGD step
        ...     if g_k is not None:                     # the name carries no derivative: None
        ...         setattr(model, name, getattr(model, name) - 0.1 * g_k)
        >>> model.W
        array([0.8, 0.8])
    """
    return _grad_function(_gradient(fn, wrt, derivative_file, retain))


# Made once, when generated code is built, where a differentiated function calls them: grad(f)(x).
grad.__s2sgrad_builds__ = value_and_grad.__s2sgrad_builds__ = True


def _grad_function(gradient):
    """What `grad` returns for a `_Gradient`: also what a `@differentiate` object's `.grad` method is
    taken as when differentiated again (grad(f.grad) is grad(grad(f)), sharing f's compiled gradient)."""
    def grad_fn(*args, **kwargs):
        return gradient(*args, **kwargs)[1]

    return _derivative(grad_fn, gradient, "grad")


def _derivative(wrapper, gradient, kind):
    """Name and document `wrapper` like the user's function, and mark it as a derivative: never unwrapped
    back to that function (differentiating it again must see the derivative, not the original, or
    grad(hessian(f)) would silently be the gradient of f). Only a gradient carries its `_Gradient`, which
    composition (grad(grad(f)), a gradient called in differentiated code) reads as a gradient; the others
    (value_and_grad returns a pair, not a gradient) are refused there with an error naming them."""
    functools.update_wrapper(wrapper, gradient.fn)
    del wrapper.__wrapped__
    wrapper.__signature__ = gradient.signature
    if gradient.picks and kind == "grad":
        # Composing it (grad of it, a call of it in differentiated code) reads `names`, which holds the
        # whole *args tuple, as what it returns: refused by kind, where a plain gradient composes.
        kind = "grad with respect to an argument in *args"
    wrapper.__s2sgrad_derivative__ = (kind, gradient if kind == "grad" else None)
    return wrapper


MODES = ("reverse", "forward", "vjp", "hvp")


def source(fn, wrt=0, mode="reverse"):
    """The generated code of the derivative of `fn` (what `s2sgrad show` prints): the gradient
    (mode="reverse"), the Jacobian-vector product ("forward"), the forward sweep and pullback of
    `vjp` ("vjp"), or the Hessian-vector product ("hvp": the gradient of the jvp, then the jvp).

    Example:
        >>> def f(x, a):
        ...     return x * a
        >>> print(source(f, wrt=("x", "a")))
        def grad_f(x, a, *, dout=1.0):
            out = x * a
        ...
            return (out, (dx, da))
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    if mode == "hvp":
        code = _Gradient(fn, wrt, "forward")
        forward, reverse = compose.hvp_code(code.fn, code.names, None)
        return reverse.full_text + "\n\n" + forward.full_text
    return _Gradient(fn, wrt, mode).derived.full_text


class _Jvp:
    """The compiled forward-mode code of one function for one `wrt`; checks and shapes tangents."""

    def __init__(self, fn, wrt):
        self.code = _Gradient(fn, wrt, mode="forward")

    def __call__(self, args, tangents):
        code = self.code
        args = _positional_arguments(args, "jvp")
        given = tangents
        arguments, _, tangents = _checked_directions(code, args, given, "jvp", "tangent", "the tangent of {!r}")
        derived = code.specialised(arguments)
        value, tangent = derived.function(*args, **dict(zip(derived.tangents, code.spread(tangents, arguments))))
        (tangent,) = _owned([_tangent_like(tangent, value)], lambda: _held(args, (given, value), tangents))
        return value, tangent


def _checked_directions(code, args, given, what, noun, label):
    """(arguments, the wrt inputs, one direction per wrt entry) for jvp's tangents or hvp's vectors `given`
    (bare for a single wrt), each checked against its argument's structure, shape and dtype.

    Example:
        >>> arguments, inputs, tangents = _checked_directions(code, args, u, "jvp", "tangent", "of {!r}")
    """
    directions = (given,) if code.single else given
    if not code.single and (not isinstance(given, (tuple, list)) or len(given) != len(code.entries)):
        raise ValueError(f"{what} with respect to {code.labels} needs a tuple of {len(code.entries)} {noun}s")
    arguments = code.arguments(args, {})
    inputs = code.inputs(arguments)
    try:
        directions = [_direction(v, x, label.format(n), repr(n)) for n, x, v in zip(code.labels, inputs, directions)]
    except (TypeError, ValueError):
        _refuse_tuple_of_one(code, given, inputs, what, noun)
        raise
    return arguments, inputs, directions


def _refuse_tuple_of_one(code, given, inputs, entry, noun):
    """Called when the direction `given` for a single `wrt` did not fit its argument: if it is a tuple of
    one (JAX's `jvp(f, (p,), (t,))`), say that s2sgrad takes it bare, as `grad` returns a bare gradient
    (a list or tuple argument has a tuple of one as its own structure: nothing to say then)."""
    if code.single and isinstance(given, tuple) and len(given) == 1 and not isinstance(inputs[0], (list, tuple)):
        wrt = code.entries[0]
        what, spelled = (f"parameter {wrt!r}", repr(wrt)) if isinstance(wrt, str) else \
            (f"argument {_label(wrt)}", str(code.star + wrt[1]))
        raise ValueError(f"{entry} with respect to the single {what} takes its {noun} bare, "
                         f"{entry}(f, args, v), not a tuple of one (v,); a tuple of {noun}s goes with a tuple "
                         f"wrt, such as wrt=({spelled},)") from None


def _positional_arguments(args, entry):
    """The tuple of positional arguments jvp and hvp take, refusing a bare argument clearly."""
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"{entry} takes the positional arguments as a tuple, as in {entry}(f, (x,), v), "
                        f"not a bare {type(args).__name__}")
    return tuple(args)


def _leaves(value, form):
    """The parts of `value` that are the returned leaves of the generated code (one seed each), by the
    nesting `form` of the return statement: `return a, (b, c)` has three, `return h(x)` one (a tuple)."""
    if form is None:
        return [value]
    return [leaf for v, f in zip(value, form) for leaf in _leaves(v, f)]


def _direction(v, x, what, of, path=""):
    """A cotangent, tangent or vector `v` the caller gives for the value `x` (an output or an argument),
    as one of x's type, shape and float dtype: lists and integers are converted (an integer output gets
    a float cotangent), anything but real numbers is refused. For a tree x, v has its structure (a list
    and a tuple stand for each other; a dict has the same keys; a dataclass or object is given as one of
    its class or as a dict keyed by its attributes, and comes back as such a dict: see
    _object_direction), and None at a leaf means zero; v is ignored where x carries no derivative (a
    string, None, a bool, a function). `what` names v and `of` names x in errors, `path` the part of both
    being read (`['W'][0]`, `.layers[0]`)."""
    if type(v) is float and (type(x) is float or type(x) is np.float64):
        return v                                        # the usual cases: nothing to convert
    if type(v) is np.ndarray and type(x) is np.ndarray and v.dtype == x.dtype and v.shape == x.shape \
            and v.dtype.kind == "f":
        return v
    at = f" at {path}" if path else ""
    if trees.is_container(x):
        if v is None and path:
            v = _zeros(x)
        if trees.is_object(x):
            return _object_direction(v, x, what, of, path)
        if isinstance(x, dict):
            if not isinstance(v, dict) or set(v) != set(x):
                expected = ", ".join(map(repr, trees.keys(x)))
                raise ValueError(f"{of}{at} is a dict with keys {expected}: {what}{at} must be a dict with those "
                                 f"keys ({_key_mismatch(v, x)})")
            return trees.like(x, [_direction(v[k], x[k], what, of, f"{path}[{k!r}]") for k in x])
        kind = "tuple" if isinstance(x, tuple) else "list"
        if not isinstance(v, (list, tuple)) or len(v) != len(x):
            found = f"has {len(v)}" if isinstance(v, (list, tuple)) else f"is a {type(v).__name__}"
            raise ValueError(f"{of}{at} is a {kind} of {len(x)} values: {what}{at} must be a {kind} of {len(x)} "
                             f"too ({found})")
        items = [_direction(vi, xi, what, of, f"{path}[{k}]") for k, (vi, xi) in enumerate(zip(v, x))]
        return trees.like(x, items)
    if not trees.carries_derivative(x):
        return None
    if v is None and path:                              # a zero leaf of a container
        return _zeros(x)
    try:
        array = v if isinstance(v, np.ndarray) else np.asarray(v)
    except (TypeError, ValueError):                     # a ragged list
        array = None
    if array is None or array.dtype.kind not in "biuf":
        found = "complex" if array is not None and array.dtype.kind == "c" else f"a {type(v).__name__}"
        raise TypeError(f"{what}{at} must be a float or an array of floats of the shape of {of}{at}, not {found} "
                        f"({v!r:.60})")
    if array.shape != np.shape(x):
        raise ValueError(f"{what}{at} has shape {array.shape}, but {of}{at} has shape {np.shape(x)}")
    if isinstance(x, np.ndarray):
        template = x if x.dtype.kind == "f" else np.broadcast_to(0.0, x.shape)
    elif isinstance(x, np.floating) or type(x) is float:
        template = x
    else:                                               # an int, a NumPy integer: a float direction
        template = 0.0
    return _like(v if isinstance(v, (np.ndarray, np.generic, numbers.Real)) else array, template)


def _key_mismatch(v, x):
    """What is wrong with the keys of `v` given for the dict (or attributes) of `x`, for messages."""
    if not isinstance(v, dict):
        return f"not a {type(v).__name__}"
    names = list(trees.own_keys(x))
    missing, extra = [k for k in names if k not in v], [k for k in v if k not in names]
    return "; ".join(part for part in ("missing " + ", ".join(map(repr, missing)) if missing else "",
                                       "not " + ", ".join(map(repr, extra)) if extra else "") if part)


def _object_direction(v, x, what, of, path):
    """A direction for the dataclass or object `x`: given as an object of x's class with the same
    attributes, or as a dict keyed by its attribute names (every one of them, None for a zero, as for a
    dict), and returned as a dict keyed by attribute, which is what generated code holds for an object's
    tangent or adjoint (never the caller's object: it is read by key, so nothing of the class, a class
    attribute or a property, is ever taken for a tangent)."""
    at = f" at {path}" if path else ""
    cls = type(x).__name__
    names = list(trees.own_keys(x))
    if type(v) is type(x):
        given = {k: trees.child(v, k) for k in trees.own_keys(v)}
    elif isinstance(v, dict):
        given = v
    else:
        given = None
    if given is None or set(given) != set(names):
        found = f"not a {type(v).__name__}" if given is None else _key_mismatch(given, x)
        if type(v) is type(x):
            found = f"this {cls} has other attributes: {found}"
        raise ValueError(f"{of}{at} is a {cls} with attributes {', '.join(map(repr, names))}: {what}{at} must be "
                         f"a {cls} with those attributes or a dict with those keys ({found})")
    return {k: _direction(given[k], trees.child(x, k), what, of, f"{path}.{k}") for k in names}


def _zeros(x):
    """A zero direction for the value `x`, of its structure, shape and float dtype (None where a leaf
    carries no derivative): what None stands for inside a container of cotangents or tangents."""
    if trees.is_container(x):
        return trees.rebuild(x, [_zeros(leaf) for _, leaf in trees.leaves(x)])
    if not trees.carries_derivative(x):
        return None
    if isinstance(x, (np.ndarray, np.generic)):
        zero = np.zeros(x.shape, x.dtype if x.dtype.kind == "f" else np.float64)
        return zero if isinstance(x, np.ndarray) else zero[()]
    return 0.0


def _tangent_like(tangent, value):
    """The tangent shaped like the value: a tree of the value's structure and types for a tree (None where
    it carries no derivative; for a dataclass or object returned, a copy of it holding the tangents),
    float for a float, a float tangent of its shape for an integer output, zeros for a None (no
    dependence on the inputs)."""
    if trees.is_container(value):
        return trees.like(value, [_tangent_like(trees.at(tangent, (k,)), trees.child(value, k))
                                  for k in trees.own_keys(value)])
    if not trees.carries_derivative(value):
        return None
    if np.asarray(value).dtype.kind != "f":
        return _like(tangent, np.zeros(np.shape(value)) if np.ndim(value) else 0.0)
    return _like(tangent, value)


class _Vjp:
    """The compiled forward sweep and pullback of one function for one `wrt`."""

    def __init__(self, fn, wrt):
        self.code = _Gradient(fn, wrt, mode="vjp")

    def __call__(self, args, kwargs):
        code = self.code
        arguments = code.arguments(args, kwargs)
        inputs = code.inputs(arguments)
        derived = code.specialised(arguments)
        value, saved = derived.function(*args, **kwargs)
        state = {"saved": saved, "fresh": True}

        def pullback(cotangent):
            # A cotangent has the output's structure (a tuple for a tuple, a dict for a dict, nested);
            # the generated pullback takes one seed per leaf of the return statement's tuple display
            # (derived.form) and a container it returns whole as one seed.
            checked = _direction(cotangent, value, "the cotangent", f"the output of {code.fn.__qualname__}")
            if not state["fresh"] and derived.restores:      # the last pullback put arrays back: redo
                state["saved"] = derived.function(*args, **kwargs)[1]
            state["fresh"] = False
            grads = derived.pullback(state["saved"], *_leaves(checked, derived.form))
            grads = (grads,) if len(code.names) == 1 else grads
            grads = _owned([_like(g, x) for g, x in zip(code.picked(grads), inputs)],
                           lambda: _held(args, kwargs.values(), (value, cotangent, checked)))
            return grads[0] if code.single else tuple(grads)

        return value, pullback


def vjp(fn, *args, wrt=0, **kwargs):
    """(fn(*args), pullback): `pullback(cotangent)` gives the vector-Jacobian product, the gradients
    (single or a tuple, as `wrt`) of <cotangent, fn> at args. The forward sweep runs once, here; each
    pullback call runs only the reverse sweep, and may be called again with other cotangents.

    The cotangent has the output's structure; for an output that is a dataclass or an object, it is an
    object of the same class with the same attributes or a dict keyed by every attribute (None for a
    zero), and a mismatch is a ValueError naming its path. Gradients are shaped as `grad` shapes them.

    Example:
        >>> y, pullback = vjp(lambda x: x * 2, np.array([1.0, 2.0, 3.0]))
        >>> y
        array([2., 4., 6.])
        >>> pullback(np.ones(3))            # like y.backward(torch.ones(3)) in PyTorch
        array([2., 2., 2.])
        >>> pullback(np.ones(3))            # again: each call gives fresh gradients, nothing accumulates
        array([2., 2., 2.])
    """
    return _prepared(_Vjp, fn, wrt)(args, kwargs)


def jvp(fn, args, tangents, wrt=0):
    """(fn(*args), the derivative of fn at args in the direction `tangents`), by forward mode.

    `args` is the tuple of all positional arguments; `tangents` has one tangent per `wrt`
    parameter (a bare tangent for a single `wrt`), each of its argument's shape and structure. The
    tangent of a dataclass or an object is an object of the same class with the same attributes (a
    gradient `grad` returned, say) or a dict keyed by every attribute name (None for a zero, as in a
    dict); a mismatch is a ValueError naming its path (`the tangent of 'p' at .W has shape ...`). A
    returned dataclass or object gets a tangent of its class.

    Example:
        >>> def f(x, a):
        ...     return x * x * a
        >>> jvp(f, (3.0, 2.0), (1.0, 0.0), wrt=(0, 1))    # (f(3, 2), df/dx)
        (18.0, 12.0)
        >>> jvp(np.sin, (np.zeros(2),), np.ones(2))      # (sin 0, cos 0 * 1)
        (array([0., 0.]), array([1., 1.]))
    """
    return _prepared(_Jvp, fn, wrt)(args, tangents)


class _Hvp:
    """Hessian-vector products of one scalar function for one `wrt`: reverse mode over its forward-mode
    code (see compose.py), so the Hessian is never formed."""

    def __init__(self, fn, wrt):
        self.code = _Gradient(fn, wrt, mode="forward")

    def __call__(self, args, vectors):
        code = self.code
        args = _positional_arguments(args, "hvp")
        given = vectors
        arguments, inputs, vectors = _checked_directions(code, args, given, "hvp", "vector", "the vector for {!r}")
        forward, reverse = compose.hvp_code(code.fn, code.names, _kinds(arguments, code.names))
        (value, _), grads = reverse.function(*args, **dict(zip(forward.tangents, code.spread(vectors, arguments))))
        if np.ndim(value) != 0:
            raise ValueError(f"hvp and hessian need a scalar output, but {code.fn.__qualname__} returned a "
                             f"value of shape {np.shape(value)}; use jacobian of the jvp instead")
        grads = (grads,) if len(code.names) == 1 else grads
        grads = _owned([_like(g, x) for g, x in zip(code.picked(grads), inputs)],
                       lambda: _held(args, (given,), vectors))
        return grads[0] if code.single else tuple(grads)


def hvp(fn, args, v, wrt=0):
    """The Hessian of the scalar function `fn` at `args` times `v`, without forming the Hessian: the
    gradient of the jvp in direction v (generated reverse-mode code over generated forward-mode code).
    `v` has the shape of the `wrt` argument (a tuple of vectors for a tuple `wrt`), given for a
    container, dataclass or object as a tangent is to `jvp`; the product comes back shaped as `grad`
    shapes a gradient.

    Example:
        >>> def f(x):
        ...     return np.sum(x ** 3)          # H(x) = diag(6 x)
        >>> hvp(f, (np.array([1.0, 2.0]),), np.ones(2))      # H(x) @ v
        array([ 6., 12.])
    """
    return _prepared(_Hvp, fn, wrt)(args, v)


def hessian(fn, wrt=0):
    """A function returning the Hessian of the scalar function `fn`: an array of shape
    `arg.shape + arg.shape`, or for a tuple `wrt` a tuple of rows of blocks `H[i][j]` of shape
    `arg_i.shape + arg_j.shape` (as JAX's hessian). Built from one Hessian-vector product per entry.

    For a container argument the Hessian is a container of containers, as in JAX: `H["W"]["b"]` has
    shape `W.shape + b.shape` (None where a leaf carries no derivative); with a tuple `wrt`,
    `H[i][path_i][j][path_j]`. For a dataclass or an object, objects of its class: `H.W.b`.

    Example:
        >>> hessian(lambda x: x[0] * x[1] ** 2)(np.array([1.0, 2.0]))      # symmetric
        array([[0., 4.],
               [4., 2.]])
        >>> def loss(p):
        ...     return np.sum(np.tanh(p["W"] @ np.ones(3) + p["b"]))
        >>> hessian(loss)({"W": np.ones((2, 3)), "b": np.zeros(2)})["W"]["b"].shape
        (2, 3, 2)
    """
    products = _Hvp(fn, wrt)
    code = products.code

    def hessian_fn(*args):
        arguments = code.arguments(args, {})
        inputs = code.inputs(arguments)
        columns = {}                # (j, q) -> per direction, the leaves of each row argument's product
        for j, q, vectors in _directions(inputs):
            column = products(args, vectors[0] if code.single else tuple(vectors))
            column = (column,) if code.single else column
            columns.setdefault((j, q), []).append([[leaf for _, leaf in trees.leaves(c)] for c in column])
        if not columns:             # no product ran: one at zero checks the output is a scalar
            zeros = [_zeros(x) for x in inputs]
            products(args, zeros[0] if code.single else tuple(zeros))
        flat = [[leaf for _, leaf in trees.leaves(x)] for x in inputs]

        def block(i, p, j, q):
            xi, xj = flat[i][p], flat[j][q]
            parts = [np.asarray(products_[i][p]) for products_ in columns.get((j, q), ())]
            h = _stacked(parts, -1, np.shape(xi) + np.shape(xj), _float_type(xi, xj))
            return _like(h, xi) if np.ndim(xi) == 0 and np.ndim(xj) == 0 else h    # float in, float out

        rows = _nested(inputs, inputs, block, code.single)
        return rows[0] if code.single else tuple(rows)

    return _derivative(hessian_fn, code, "hessian")


def jacobian(fn, wrt=0, mode="auto"):
    """A function returning the Jacobian of `fn` at its arguments: an array of shape
    `out.shape + arg.shape` (a tuple of them for a tuple `wrt`).

    Containers nest as in JAX, the output's structure outside and the argument's inside: for a function
    returning a tuple, list or dict (nested), one entry per output leaf; for a container argument, one
    entry per argument leaf, `out_leaf.shape + arg_leaf.shape`; with a tuple `wrt`, a tuple per output
    leaf. A leaf that carries no derivative (a string, None, a bool, a function) has None. A dataclass or
    object argument gives an object of its class holding the blocks (`J.W`), as `grad` does. An entry
    between a scalar output and a Python float argument is a float.

    mode "forward" runs the forward-mode code once per input entry, "reverse" the reverse-mode
    code once per output entry, "auto" whichever runs fewer times.

    Example:
        >>> jacobian(lambda x: 2 * x)(np.ones(3))          # shape out.shape + (3,): here 2 I
        array([[2., 0., 0.],
               [0., 2., 0.],
               [0., 0., 2.]])
        >>> x = np.ones(3)
        >>> J = jacobian(lambda p: (p["W"] @ x, np.sum(p["b"])))({"W": np.ones((2, 3)), "b": np.zeros(2)})
        >>> J[0]["W"].shape, J[1]["b"].shape
        ((2, 2, 3), (2,))
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
    forward, backward = _Jvp(fn, wrt), _Vjp(fn, wrt)
    code = backward.code

    def jacobian_fn(*args):
        arguments = code.arguments(args, {})
        inputs = code.inputs(arguments)
        chosen = mode
        if mode == "auto":
            entries_in, entries_out = _entries(inputs), _entries(code.fn(*args))
            chosen = "forward" if entries_in < entries_out else "reverse"
        if chosen == "forward":
            value, block = _forward_jacobian(forward, args, inputs)
        else:
            value, block = _reverse_jacobian(backward, args, inputs)
        return _nested([value], inputs, lambda _, o, k, q: block(o, k, q), code.single)[0]

    return _derivative(jacobian_fn, code, "jacobian")


def _entries(tree):
    """The number of entries of the leaves of `tree` that carry a derivative."""
    return sum(np.size(leaf) for _, leaf in trees.leaves(tree) if trees.carries_derivative(leaf))


def _nested(rows, columns, block, single):
    """The Jacobian or Hessian of the values `rows` with respect to the arguments `columns`, nested as JAX
    nests it: each row value's structure outside, with at each of its leaves (None where it carries no
    derivative) the column argument's structure (a tuple of them unless `single`) holding
    `block(i, p, j, q)`, the block of leaf p of row i and leaf q of argument j."""
    def per_leaf(i, p, leaf):
        if not trees.carries_derivative(leaf):
            return None
        inner = [trees.rebuild(x, [block(i, p, j, q) if trees.carries_derivative(xq) else None
                                   for q, (_, xq) in enumerate(trees.leaves(x))])
                 for j, x in enumerate(columns)]
        return inner[0] if single else tuple(inner)

    return [trees.rebuild(row, [per_leaf(i, p, leaf) for p, (_, leaf) in enumerate(trees.leaves(row))])
            for i, row in enumerate(rows)]


def _directions(inputs):
    """(k, q, directions) for each unit direction in the arguments `inputs`, in order: `directions` holds
    one direction per argument, zeros but for one entry of the leaf q (in `trees.leaves` order) of
    argument k, which is one."""
    zeros = [_zeros(x) for x in inputs]
    for k, x in enumerate(inputs):
        zero_leaves = [leaf for _, leaf in trees.leaves(zeros[k])]
        for q, (_, leaf) in enumerate(trees.leaves(x)):
            if trees.carries_derivative(leaf):
                for e in _basis(leaf):
                    direction = trees.rebuild(x, zero_leaves[:q] + [e] + zero_leaves[q + 1:])
                    yield k, q, zeros[:k] + [direction] + zeros[k + 1:]


def _basis(x):
    """The unit tangents of a leaf, in C order, each of its shape and float dtype."""
    if np.ndim(x) == 0:
        yield _like(1.0, x)
        return
    for i in range(np.size(x)):
        e = np.zeros(np.shape(x), np.result_type(x, float))
        e.flat[i] = 1.0
        yield e


def _stacked(parts, axis, shape, dtype):
    """The Jacobian (or Hessian block) of `shape` from its rows or columns; zeros when there are none
    (an empty argument or output)."""
    if not parts:
        return np.zeros(shape, dtype)
    return np.stack(parts, axis=axis).reshape(shape).astype(dtype)


def _forward_jacobian(forward, args, inputs):
    """(value, block) from one jvp per input entry (the columns of the Jacobian); block(o, k, q) is the
    block of output leaf o and leaf q of argument k."""
    single = forward.code.single
    value, columns = None, {}                   # (k, q) -> per direction, the leaves of the output tangent
    for k, q, tangents in _directions(inputs):
        value, tangent = forward(args, tangents[0] if single else tuple(tangents))
        columns.setdefault((k, q), []).append([leaf for _, leaf in trees.leaves(tangent)])
    if value is None:                           # every input is empty: one jvp gives the output's shape
        zeros = [_zeros(x) for x in inputs]
        value, _ = forward(args, zeros[0] if single else tuple(zeros))
    outputs = [leaf for _, leaf in trees.leaves(value)]
    flat = [[leaf for _, leaf in trees.leaves(x)] for x in inputs]

    def block(o, k, q):
        y, x = outputs[o], flat[k][q]
        parts = [np.asarray(leaves[o]) for leaves in columns.get((k, q), ())]
        return _scalar_entry(_stacked(parts, -1, np.shape(y) + np.shape(x), _float_type(y, x)), y, x)

    return value, block


def _reverse_jacobian(backward, args, inputs):
    """(value, block) from one forward sweep, then one pullback per output entry (the rows of the
    Jacobian); block(o, k, q) as in _forward_jacobian."""
    value, pullback = backward(args, {})
    outputs = [leaf for _, leaf in trees.leaves(value)]
    rows = {}                                   # o -> per direction, the leaves of each argument's gradient
    for o, y in enumerate(outputs):
        if not trees.carries_derivative(y):
            continue
        others = [None] * len(outputs)          # None in a container of cotangents is a zero
        for e in _basis(y):
            grads = pullback(trees.rebuild(value, others[:o] + [e] + others[o + 1:]))
            grads = (grads,) if backward.code.single else grads
            rows.setdefault(o, []).append([[leaf for _, leaf in trees.leaves(g)] for g in grads])
    flat = [[leaf for _, leaf in trees.leaves(x)] for x in inputs]

    def block(o, k, q):
        y, x = outputs[o], flat[k][q]
        parts = [np.asarray(grads[k][q]) for grads in rows.get(o, ())]
        return _scalar_entry(_stacked(parts, 0, np.shape(y) + np.shape(x), _float_type(y, x)), y, x)

    return value, block


def _scalar_entry(h, y, x):
    """A Jacobian block `h` between a scalar output y and a scalar argument x as x is (float in, float
    out: a Python float for a Python number, a NumPy scalar for one); any other block as it is."""
    if np.ndim(y) or isinstance(x, np.ndarray) or np.ndim(x):
        return h
    return h[()] if isinstance(x, np.generic) else float(h)


def _float_type(value, x):
    """The dtype of a Jacobian: that of its output and input (float32 stays float32), at least float."""
    return np.promote_types(np.result_type(np.asarray(value), np.asarray(x)), np.float16)


class Differentiable:
    """What `@differentiate` returns: calls the original function, and has its derivative.

    Example:
        >>> @differentiate(wrt=("x", "a"))
        ... def f(x, a):
        ...     return x * x * a
        >>> f(3.0, 2.0)                   # the original function, unchanged
        18.0
        >>> f.grad(3.0, 2.0)
        (12.0, 9.0)
        >>> f.value_and_grad(3.0, 2.0)
        (18.0, (12.0, 9.0))
        >>> f.adjoint(3.0, 2.0)           # the compiled generated function itself
        (18.0, (12.0, 9.0))
        >>> print(f.source)
        def grad_f(x, a, *, dout=1.0):
        ...
    """

    def __init__(self, fn, wrt=0, derivative_file=None, retain=()):
        self.__s2sgrad_fn__ = fn
        self.wrt = wrt
        self._gradient = _gradient(fn, wrt, derivative_file, retain)
        self._jvp = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self.__s2sgrad_fn__(*args, **kwargs)

    def grad(self, *args, **kwargs):
        """The gradient with respect to `wrt` at these arguments."""
        return self._gradient(*args, **kwargs)[1]

    def value_and_grad(self, *args, **kwargs):
        """(value, gradient) at these arguments, from one run of the generated code."""
        return self._gradient(*args, **kwargs)

    def vjp(self, *args, **kwargs):
        """(value, pullback) at these arguments: see `s2sgrad.vjp`."""
        return _prepared(_Vjp, self.__s2sgrad_fn__, self.wrt)(args, kwargs)

    def jvp(self, args, tangents):
        """(value, derivative in the direction `tangents`) at the positional `args`, by forward mode."""
        if self._jvp is None:
            self._jvp = _Jvp(self.__s2sgrad_fn__, self.wrt)
        return self._jvp(args, tangents)

    @property
    def source(self):
        """The generated code (the adjoint and the helpers it calls), as text."""
        return self._gradient.derived.full_text

    @property
    def adjoint(self):
        """The compiled generated function: adjoint(*args) returns (value, gradients)."""
        return self._gradient.derived.function

    def __repr__(self):
        return f"<s2sgrad.differentiate {self.__s2sgrad_fn__.__qualname__} wrt={self.wrt!r}>"


def differentiate(fn=None, *, wrt=0, derivative_file=None, retain=()):
    """Decorator: `@differentiate` or `@differentiate(wrt=("x", "a"))`; with
    `derivative_file="derivs/f_grad.py"`, the derivative is that file, edits included (see `grad`); with
    `retain=("h",)`, `.grad` returns (gradients, {"h": dh}) and `.value_and_grad` (value, that pair).

    Example:
        >>> @differentiate(wrt=("x", "a"))
        ... def f(x, a, n=3):
        ...     for i in range(n):
        ...         x = x * a
        ...     return x                  # x a^n
        >>> f.grad(2.0, 3.0)              # (a^n, n x a^(n-1))
        (27.0, 54.0)
        >>> @differentiate                # bare: with respect to the first parameter
        ... def g(x):
        ...     return math.sin(x)
        >>> g.grad(0.0)
        1.0
    """
    if fn is None:
        return lambda f: Differentiable(f, wrt, derivative_file, retain)
    return Differentiable(fn, wrt, derivative_file, retain)
