"""Rules the user writes: custom VJPs and JVPs in two spellings, rules for foreign functions, stop_gradient and
no_grad.

Every spelling becomes one thing, a rule found by the resolved object like a built-in one:
- `@custom_vjp` + `.defvjp(lambda g, ans, *args: ...)` / `.defjvp(lambda tangents, ans, *args: ...)`,
- a `Function` subclass with `forward(ctx, *args)` / `backward(ctx, g)` (and optionally `jvp(ctx, *tangents)`),
  called as `Cls.apply(*args)`,
- `register_vjp(func, rule)` / `register_jvp(func, rule)` for functions we do not own.

A VJP rule is read and turned into an adjoint template (`d[x] = ...`, see rules/__init__.py), so the reverse
sweep inlines the user's own math and `s2sgrad show` prints it; what a `ctx` saves is the call's arguments or
its result, which the to-be-recorded analysis pushes like any value a rule reads. A JVP rule is inlined by
forward mode (`tangent`). A rule whose source cannot be read, or that is more than straight-line assignments
and one `return`, is called instead (a Function's forward then runs again in the reverse sweep, to rebuild its
ctx). How a call is differentiated in each mode is decided once, in `resolve`: a mode without a rule of the
user's differentiates the primal body when it is a Python function, else the transform refuses.

Example:
    >>> @custom_vjp
    ... def clip_identity(x):
    ...     return x
    >>> @clip_identity.defvjp
    ... def _(g, ans, x):
    ...     return np.clip(g, -1.0, 1.0)
"""

import copy
import dataclasses
import functools
import inspect
import textwrap

import gast
import numpy as np

from . import rules
from .errors import CustomRuleError, NoGradientRuleError, UnsupportedSyntaxError
from .lower.bind import bound_arguments
from .rules import Rule, adjoint, d
from .rules import tangents as tangent_rules
from .runtime import zeros_of
from .syntax import assign, call, clone, const, name, walk

JVPS = {}        # primitive -> JVP (the user's tangent rules, looked up before the built-in tangents)


# -- what generated code calls ----------------------------------------------------------------------------

def stop_gradient(x):
    """`x` itself, through which no derivative flows (PyTorch's `detach`): inside a differentiated function,
    values computed from it carry no derivative from x; outside one, it returns its argument.

    Example:
        >>> def f(a, b):
        ...     c = a + b
        ...     return b * s2sgrad.stop_gradient(c)      # d/da = 0, d/db = c
        >>> s2sgrad.grad(f, wrt=(0, 1))(1.0, 4.0)
        (0.0, 5.0)
    """
    return x


rules.CUSTOM_NONDIFF.add(stop_gradient)


class no_grad:
    """`with s2sgrad.no_grad():` inside a differentiated function: the block runs in the primal, and the values
    it assigns carry no derivative (PyTorch's `torch.no_grad()`). Outside one, it does nothing. As a decorator
    (`@s2sgrad.no_grad()` or `@s2sgrad.no_grad`, as in PyTorch), a call of the function carries no derivative.

    Example:
        >>> def f(x):
        ...     with s2sgrad.no_grad():
        ...         scale = np.max(np.abs(x))       # a constant for the gradient
        ...     return np.sum(x / scale)
        >>> s2sgrad.grad(f)(np.array([1.0, -2.0]))
        array([0.5, 0.5])
    """

    def __new__(cls, fn=None):
        return super().__new__(cls) if fn is None else cls()(fn)

    def __call__(self, fn):
        @functools.wraps(fn)
        def without_gradient(*args, **kwargs):
            return fn(*args, **kwargs)
        rules.CUSTOM_NONDIFF.add(without_gradient)       # opaque to the compiler, as stop_gradient is
        return without_gradient

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def checked(value, like, where):
    """`value`, a cotangent (or tangent) a rule of the user's gave for `like`, after checking it has like's
    shape; None (no gradient) becomes a zero of that shape. Called by generated code; `where` names the rule
    and the argument for the error."""
    if value is None:
        return np.zeros_like(like, dtype=float) if np.ndim(like) else 0.0
    if np.shape(value) != np.shape(like):
        raise CustomRuleError(f"{where} has shape {np.shape(value)}, but the value it is for has shape "
                              f"{np.shape(like)}; a rule must return one of the same shape as its argument")
    return value


def retained(adjoint, value):
    """The adjoint of a local kept by `retain=` (called by generated code): of value's shape and float dtype,
    zeros where it is None (nothing reached the output from it)."""
    if adjoint is None:
        return zeros_of(value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return np.asarray(adjoint, dtype=value.dtype)
    if type(value) is float:
        return float(adjoint)
    return adjoint


def cotangents(value, count, where):
    """The tuple of `count` cotangents a rule returned, checked (called by generated code)."""
    if not isinstance(value, (tuple, list)) or len(value) != count:
        got = f"a {type(value).__name__} of {len(value)}" if isinstance(value, (tuple, list)) else \
            f"a single {type(value).__name__}"
        raise CustomRuleError(f"{where} returned {got}, but it must return a tuple of {count} cotangents, one "
                              f"per differentiable positional argument (None for no gradient)")
    return value


def call_vjp(rule, *args):
    """A VJP rule whose source could not be read, called (by generated code) as `rule(g, ans, *args)`."""
    return rule(*args)


def backward_of(cls, g, *args):
    """The backward of a Function whose rule could not be inlined: its forward runs again on a fresh ctx
    (recomputed, not stored), then `backward(ctx, g)`."""
    ctx = Context()
    ctx.needs_input_grad = (True,) * len(args)
    cls.forward(ctx, *args)
    return cls.backward(ctx, g)


@adjoint(checked, inert=("like", "where"))
def checked_rule(y, value, like, where):           # second order: the check is the identity in its value
    d[value] = d[y]


rules.CUSTOM_RULES[checked] = rules.RULES.pop(checked)      # a helper of the user's rules, not a library's
tangent_rules.linear(checked, "value")


# -- spellings ---------------------------------------------------------------------------------------------

class custom_vjp:
    """A function with derivative rules of your own (JAX's `custom_vjp`, autograd's `primitive`/`defvjp`).

    `defvjp(rule)`: `rule(g, ans, *args)` returns the cotangent of each positional argument not in
    `nondiff_argnums` (a tuple when several; None for no gradient). `defjvp(rule)`: `rule(tangents, ans,
    *args)` returns the output's tangent, `tangents` holding one per positional argument (None where it
    carries none). Without a JVP rule, forward mode differentiates the function's body; likewise reverse mode
    without a VJP rule. Arguments in `nondiff_argnums` (an axis, an option) carry no derivative: one that
    depends on a differentiated input is refused.

    Example:
        >>> @s2sgrad.custom_vjp
        ... def clip_identity(x):
        ...     return x
        >>> @clip_identity.defvjp
        ... def _(g, ans, x):
        ...     return np.clip(g, -1.0, 1.0)
        >>> s2sgrad.grad(lambda x: np.sum(3.0 * clip_identity(x)))(np.array([0.1, 0.2]))
        array([1., 1.])
    """

    def __init__(self, fn=None, *, nondiff_argnums=()):
        if fn is None:                                   # @custom_vjp(nondiff_argnums=(1,))
            self._pending = tuple(nondiff_argnums)
            return
        self._setup(fn, tuple(nondiff_argnums))

    def _setup(self, fn, nondiff):
        self.fn = fn
        self.nondiff = nondiff
        self.__name__ = getattr(fn, "__name__", "custom_vjp")
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__doc__ = fn.__doc__
        self.__signature__ = inspect.signature(fn)
        self.vjp = self.jvp = None

    def __call__(self, *args, **kwargs):
        if not hasattr(self, "fn"):                      # the decorator with options, given the function
            fn, = args
            self._setup(fn, self.__dict__.pop("_pending"))
            return self
        return self.fn(*args, **kwargs)

    def defvjp(self, rule):
        """Register `rule(g, ans, *args)` as this function's VJP; returns the rule (usable as a decorator)."""
        self.vjp = rule
        _register_vjp(self, rule, self.__signature__, self.nondiff, self.__name__, primal=self.fn)
        return rule

    def defjvp(self, rule):
        """Register `rule(tangents, ans, *args)` as this function's JVP; returns the rule."""
        self.jvp = rule
        _register_jvp(self, rule, self.__signature__, self.__name__, primal=self.fn)
        return rule

    def __repr__(self):
        return f"<custom_vjp {self.__qualname__}>"


class Context:
    """The `ctx` a Function's forward and backward share: `save_for_backward(*values)`, `saved_tensors`, and
    any attribute you set."""

    def save_for_backward(self, *values):
        self.saved_tensors = values

    def mark_non_differentiable(self, *values):
        pass


class Function:
    """PyTorch's `torch.autograd.Function`, on NumPy: subclass it with static `forward(ctx, *args)` and
    `backward(ctx, g)` (one gradient per argument of forward, None for none), optionally `jvp(ctx, *tangents)`
    for forward mode, and call `Cls.apply(*args)`. What `ctx.save_for_backward` saves must be forward's
    arguments or its returned value (they are kept like any value a rule reads); otherwise forward runs again
    in the reverse sweep to rebuild the ctx.

    Example:
        >>> class Double(s2sgrad.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x * 2.0
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         x, = ctx.saved_tensors
        ...         return g * 2.0
        >>> Double.apply(3.0)
        6.0
        >>> s2sgrad.grad(lambda x: Double.apply(x) * x)(3.0)     # 2x + x * 2
        12.0
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward = inspect.getattr_static(cls, "forward", None)
        if forward is None:
            return
        forward = getattr(cls, "forward")
        params = list(inspect.signature(forward).parameters.values())[1:]     # after ctx
        signature = inspect.Signature(params)

        def apply(*args, **kwargs):
            return cls.forward(Context(), *args, **kwargs)

        apply.__name__ = apply.__qualname__ = f"{cls.__name__}.apply"
        apply.__signature__ = signature
        apply.__s2sgrad_function__ = cls
        cls.apply = staticmethod(apply)
        if "backward" in cls.__dict__:
            _register_vjp(apply, cls.backward, signature, (), cls.__name__, function=cls)
        if "jvp" in cls.__dict__:
            _register_jvp(apply, cls.jvp, signature, cls.__name__, function=cls)


def register_vjp(func, rule):
    """Give `func` (a function we do not own: `scipy.special.erf`, a C extension) the VJP `rule(g, ans, *args)`,
    used like a built-in rule and before any built-in one. Its parameters after `g, ans` are func's.

    Example:
        >>> import scipy.special                 # spence(z), the dilogarithm: d/dz = log(z) / (1 - z)
        >>> def spence_vjp(g, ans, z):
        ...     return g * np.log(z) / (1.0 - z)
        >>> _ = s2sgrad.register_vjp(scipy.special.spence, spence_vjp)
        >>> round(s2sgrad.grad(lambda z: scipy.special.spence(z) * 2.0)(2.0), 6)
        -1.386294
    """
    params = list(inspect.signature(rule).parameters.values())[2:]
    _register_vjp(func, rule, inspect.Signature(params), (), _label(func))
    return rule


def register_jvp(func, rule):
    """Give `func` the JVP `rule(tangents, ans, *args)` (forward mode), looked up before any built-in one.

    Example:
        >>> import scipy.special
        >>> def spence_jvp(tangents, ans, z):
        ...     return tangents[0] * np.log(z) / (1.0 - z)
        >>> _ = s2sgrad.register_jvp(scipy.special.spence, spence_jvp)
        >>> value, tangent = s2sgrad.jvp(lambda z: scipy.special.spence(z), (2.0,), 1.0)
        >>> round(float(tangent), 6)
        -0.693147
    """
    params = list(inspect.signature(rule).parameters.values())[2:]
    _register_jvp(func, rule, inspect.Signature(params), _label(func))
    return rule


def _label(func):
    return getattr(func, "__name__", None) or type(func).__name__


# -- rules as templates --------------------------------------------------------------------------------------

class CustomRule(Rule):
    """An adjoint template made from a rule of the user's (see `_register_vjp`)."""

    def __init__(self, *args, label="", primal=None, has_vjp=True, nondiff=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.label = label          # "clip_identity's VJP", for errors
        self.primal = primal        # the Python function the rule is for, or None (forward's body is not one)
        self.has_vjp = has_vjp
        self.nondiff = nondiff      # parameters in nondiff_argnums
        self.tangent_inputs = None  # in forward mode with a JVP rule: the inputs it takes tangents of

    def differentiable(self):
        """Input parameters a derivative flows through: those the VJP writes (or, for forward mode's copy made
        by `resolve`, every one the JVP takes a tangent of). Activity reads this."""
        if self.tangent_inputs is not None:
            return list(self.tangent_inputs)
        return super().differentiable()

    @property
    def sequences(self):            # a user's parameter named `xs` is one value, not a sequence
        return set()


class JVP:
    """A tangent template made from a rule of the user's: locals, then the returned expression, with
    parameters named as the primal's, `ans` the output, and `tangents[k]` as the placeholder names `slots`."""

    def __init__(self, label, params, output, body, result, slots, namespace):
        self.label, self.params, self.output = label, params, output
        self.body, self.result, self.slots, self.globals = body, result, slots, namespace


class _NotInlined(Exception):
    """The rule is not straight-line Python this module can inline: it is called instead."""


def _register_vjp(primitive, rule, signature, nondiff, name, primal=None, function=None):
    params = _plain_parameters(signature, name)
    diff = [p for k, p in enumerate(params) if k not in nondiff]
    label = f"{name}'s backward" if function is not None else f"{name}'s VJP"
    try:
        body, ret, namespace, output = _read_vjp(rule, params, function)
        template = _vjp_template(body, ret, diff, output, label)
        namespace = {**namespace, "checked": checked, "cotangents": cotangents}
    except _NotInlined:
        output = _fresh("ans", params)
        namespace, template = _called_vjp(rule, params, diff, output, label, function)
    sig = inspect.Signature([inspect.Parameter(output, inspect.Parameter.POSITIONAL_OR_KEYWORD)] +
                            [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) if p.kind is
                             inspect.Parameter.POSITIONAL_ONLY else p for p in signature.parameters.values()])
    made = CustomRule(primitive, rule, sig, output, template, namespace,
                      frozenset(p for p in diff if p not in _written(template)),
                      label=label, primal=primal, nondiff=frozenset(params) - set(diff))
    rules.CUSTOM_RULES[primitive] = [made]            # before the built-in rules (rules.lookup)


def _register_jvp(primitive, rule, signature, name, primal=None, function=None):
    params = _plain_parameters(signature, name)
    label = f"{name}'s jvp" if function is not None else f"{name}'s JVP"
    try:
        JVPS[primitive] = _read_jvp(rule, params, function, label)
    except _NotInlined:
        JVPS[primitive] = _called_jvp(rule, params, label, function)
    if not rules.lookup(primitive):            # a rule entry makes the call a rule's (reverse mode refuses it)
        output = _fresh("ans", params)
        sig = inspect.Signature([inspect.Parameter(output, inspect.Parameter.POSITIONAL_OR_KEYWORD)] +
                                list(signature.parameters.values()))
        rules.CUSTOM_RULES[primitive] = [CustomRule(primitive, rule, sig, output, [], {}, label=label,
                                                    primal=primal, has_vjp=False)]


def _plain_parameters(signature, name):
    params = list(signature.parameters.values())
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise CustomRuleError(f"{name}: a function with custom rules takes named parameters, not *args or "
                              "**kwargs")
    return [p.name for p in params]


def _written(template):
    return {rules.adjoint_of(s.targets[0]) for s in template} - {None}


def _fresh(base, taken):
    out, k = base, 0
    while out in taken or out == "d":
        k += 1
        out = f"{base}_{k}"
    return out


def _source_node(rule):
    try:
        text = textwrap.dedent(inspect.getsource(rule))
        node = gast.parse(text).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        raise _NotInlined() from None
    if isinstance(node, gast.FunctionDef):
        node.decorator_list = []
        return node
    raise _NotInlined()                                # a lambda: its line may hold more than the rule


def _namespace(rule):
    try:
        found = inspect.getclosurevars(rule)
    except (TypeError, ValueError):
        raise _NotInlined() from None
    return {**found.builtins, **found.globals, **found.nonlocals}


def _read_vjp(rule, params, function):
    """(body, returned expression, namespace, output name) of a VJP rule renamed onto the primal's parameters:
    `g` becomes `d[output]`, the rule's argument names the primal's, a ctx's saved values what they are."""
    node = _source_node(rule)
    names = [a.id for a in node.args.args]
    if node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
        raise _NotInlined()
    if function is None:                                  # (g, ans, *args)
        if len(names) != 2 + len(params):
            raise CustomRuleError(f"the VJP rule {node.name} takes ({', '.join(names)}), but it must take "
                                  f"(g, ans, {', '.join(params)}): the output's cotangent, the output, then the "
                                  "function's arguments")
        g, ans, args = names[0], names[1], names[2:]
        ctx = None
    else:                                                 # backward(ctx, g)
        if len(names) != 2:
            raise _NotInlined()
        ctx, g = names
        ans, args = None, []
    body, ret = _straight_line(node.body)
    if _assigned(body) & set(names):
        raise _NotInlined()                  # a parameter reassigned: its reads before and after differ
    output = _fresh("ans", set(params) | _assigned(body) | ({g, ans} - {None}))
    mapping = {a: p for a, p in zip(args, params)}
    if ans is not None:
        mapping[ans] = output
    taken = set(params) | {output, "d"}
    for v in sorted(_assigned(body)):           # locals never clash with the names the template binds
        if v in taken or v in mapping:
            mapping[v] = _fresh(v, taken | set(mapping.values()) | _assigned(body))
    renamer = _Rename(mapping, g, output)
    body = [renamer.visit(s) for s in body]
    ret = renamer.visit(ret)
    if function is not None:                   # after renaming: what ctx holds is named as the template names it
        saved = _saved(function, params, output)
        body = [_CtxReads(ctx, saved).visit(s) for s in body]
        ret = _CtxReads(ctx, saved).visit(ret)
    if any(isinstance(n, gast.Name) and n.id == ctx for s in body + [ret] for n in walk(s)) and ctx:
        raise _NotInlined()                      # reads the ctx otherwise than its saved values
    body, ret = _without_aliases(_split_unpacking(body), ret, set(params) | {output})
    return body, ret, _namespace(rule), output


def _without_aliases(body, ret, names):
    """`x = input` (what `x, = ctx.saved_tensors` becomes) dropped, x read as `input`: one name per value."""
    counts = {}
    for s in body:
        counts[s.targets[0].id] = counts.get(s.targets[0].id, 0) + 1
    aliases = {}
    for s in body:
        if isinstance(s.value, gast.Name) and s.value.id in names and counts[s.targets[0].id] == 1:
            aliases[s.targets[0].id] = s.value.id
    if not aliases:
        return body, ret
    rename = _Rename(aliases, None, None)
    kept = [rename.visit(s) for s in body if s.targets[0].id not in aliases]
    return kept, rename.visit(ret)


def _straight_line(stmts):
    """(assignments, returned expression) of a body that is assignments then one `return`."""
    stmts = [s for s in stmts if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
    if not stmts or not isinstance(stmts[-1], gast.Return) or stmts[-1].value is None:
        raise _NotInlined()
    body = []
    for s in stmts[:-1]:
        if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
            load = name(s.target.id)
            s = assign(s.target, gast.BinOp(left=load, op=s.op, right=s.value))
        if not isinstance(s, gast.Assign) or len(s.targets) != 1 or not _simple_target(s.targets[0]):
            raise _NotInlined()
        body.append(s)
    return body, stmts[-1].value


def _simple_target(t):
    return isinstance(t, gast.Name) or (isinstance(t, gast.Tuple) and all(isinstance(e, gast.Name) for e in t.elts))


def _assigned(body):
    return {n.id for s in body for n in walk(s.targets[0]) if isinstance(n, gast.Name)}


def _split_unpacking(body):
    """`a, b = (x, y)` (what `ctx.saved_tensors` becomes) as `a = x; b = y`; another unpacking is not inlined."""
    out = []
    for s in body:
        t = s.targets[0]
        if isinstance(t, gast.Name):
            out.append(s)
            continue
        if not isinstance(s.value, gast.Tuple) or len(s.value.elts) != len(t.elts):
            raise _NotInlined()
        out += [assign(e, v) for e, v in zip(t.elts, s.value.elts)]
    return out


def _saved(function, params, output):
    """What a Function's forward saves on its ctx, as template names: {"saved_tensors": [names], attr: node}.
    Only its arguments and its returned name can be; anything else raises _NotInlined."""
    node = _source_node(function.forward)
    names = [a.id for a in node.args.args]
    ctx, args = names[0], names[1:]
    mapping = dict(zip(args, params))
    stores = [n.id for n in walk(node) if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)]
    assigned = set(stores)
    returned = [s.value for s in walk(node) if isinstance(s, gast.Return)]
    if len(returned) == 1 and isinstance(returned[0], gast.Name) and stores.count(returned[0].id) == 1:
        mapping.setdefault(returned[0].id, output)        # assigned once: what is saved is what is returned

    def atom(value):
        if isinstance(value, gast.Constant):
            return value
        if isinstance(value, gast.Name) and value.id in mapping and (value.id not in assigned or
                                                                      mapping[value.id] == output):
            return name(mapping[value.id])
        raise _NotInlined()

    saved = {}
    for s in walk(node):
        if isinstance(s, gast.Call) and isinstance(s.func, gast.Attribute) and _is(s.func.value, ctx):
            if s.func.attr == "save_for_backward" and not s.keywords:
                saved["saved_tensors"] = [atom(a) for a in s.args]
            elif s.func.attr != "mark_non_differentiable":
                raise _NotInlined()
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Attribute) and _is(s.targets[0].value, ctx):
            saved[s.targets[0].attr] = atom(s.value)
    return saved


def _is(node, name):
    return isinstance(node, gast.Name) and node.id == name


class _CtxReads(gast.NodeTransformer):
    """`ctx.saved_tensors` -> `(x, ans)`, `ctx.k` -> what forward set it to."""

    def __init__(self, ctx, saved):
        self.ctx, self.saved = ctx, saved

    def visit_Attribute(self, node):
        if _is(node.value, self.ctx):
            if node.attr not in self.saved:
                raise _NotInlined()
            value = self.saved[node.attr]
            if isinstance(value, list):
                return gast.Tuple(elts=[_copy(v) for v in value], ctx=gast.Load())
            return _copy(value)
        return self.generic_visit(node)


def _copy(node):
    return clone(node)


class _Rename(gast.NodeTransformer):
    """The rule's names onto the template's: arguments to the primal's parameters, `g` to `d[output]`."""

    def __init__(self, mapping, g, output):
        self.mapping, self.g, self.output = mapping, g, output

    def visit_Name(self, node):
        if node.id == self.g and self.g is not None:
            if not isinstance(node.ctx, gast.Load):
                raise _NotInlined()
            return _d(self.output)
        if node.id in self.mapping:
            return gast.Name(id=self.mapping[node.id], ctx=node.ctx, annotation=None, type_comment=None)
        return node


def _d(var):
    return gast.Subscript(value=name("d"),
                          slice=name(var),
                          ctx=gast.Load())


def _checked(value, param, label):
    where = f"{label} (cotangent of {param})"
    return gast.Call(func=name("checked"),
                     args=[value, name(param),
                           const(where)], keywords=[])


def _vjp_template(body, ret, diff, output, label):
    """The adjoint template: the rule's locals, then `d[x] = checked(<its cotangent>, x, ...)` per argument."""
    out = list(body)
    if len(diff) == 1 and not (isinstance(ret, gast.Tuple) and len(ret.elts) == 1):
        parts = [ret]
    elif isinstance(ret, gast.Tuple):
        if len(ret.elts) != len(diff):
            raise CustomRuleError(f"{label} returns {len(ret.elts)} cotangent{'' if len(ret.elts) == 1 else 's'}, but it must return "
                                  f"{len(diff)}, one per differentiable argument ({', '.join(diff)}); None for "
                                  "no gradient")
        parts = list(ret.elts)
    else:                                       # a tuple computed elsewhere: checked when it runs
        tmp = _fresh("cotangents", _assigned(body) | set(diff) | {output})
        checked_tuple = gast.Call(func=name("cotangents"),
                         args=[ret, const(len(diff)), const(label)],
                         keywords=[])
        out.append(assign(tmp, checked_tuple))
        parts = [gast.Subscript(value=name(tmp),
                                slice=const(k), ctx=gast.Load()) for k in range(len(diff))]
    for p, part in zip(diff, parts):
        if isinstance(part, gast.Constant) and part.value is None:
            continue                            # no gradient, by the rule's word: p is inert
        target = _d(p)
        target.ctx = gast.Store()
        out.append(assign(target, _checked(part, p, label)))
    return out


def _called_vjp(rule, params, diff, output, label, function):
    """The template calling a rule whose source cannot be read: `cts = vjp_rule(d[ans], ans, x, ...)`."""
    ref = _fresh(f"{label.partition(chr(39))[0]}_vjp" if function is None else label.partition("'")[0], params)
    ref = ref if ref.isidentifier() else "vjp_rule"
    namespace = {"call_vjp": call_vjp, "backward_of": backward_of, ref: function if function is not None else rule}
    arg_names = [name(p) for p in params]
    ref_node = name(ref)
    if function is None:
        ret = gast.Call(func=name("call_vjp"),
                        args=[ref_node, _d(output), name(output)] + arg_names, keywords=[])
    else:
        ret = gast.Call(func=name("backward_of"),
                        args=[ref_node, _d(output)] + arg_names, keywords=[])
    if len(diff) != 1:
        ret = gast.Call(func=name("tuple"), args=[ret],
                        keywords=[])
        namespace["tuple"] = tuple
    template = _vjp_template([], ret, diff, output, label)     # `tuple(...)`: checked by `cotangents`
    namespace.update(cotangents=cotangents, checked=checked)
    return namespace, template


def _read_jvp(rule, params, function, label):
    node = _source_node(rule)
    names = [a.id for a in node.args.args]
    if function is None:                                 # (tangents, ans, *args)
        if len(names) != 2 + len(params) or node.args.vararg:
            raise CustomRuleError(f"the JVP rule {node.name} takes ({', '.join(names)}), but it must take "
                                  f"(tangents, ans, {', '.join(params)})")
        tangents, ans, args = names[0], names[1], names[2:]
        ctx = None
    else:                                                # jvp(ctx, *tangents) or jvp(ctx, t_x, t_y)
        ctx, ans, args = names[0], None, []
        tangents = node.args.vararg.id if node.args.vararg else None
        each = names[1:]
    body, ret = _straight_line(node.body)
    if _assigned(body) & set(names):
        raise _NotInlined()
    output = _fresh("ans", set(params) | _assigned(body))
    slots = [_fresh(f"tangent_{p}", set(params) | _assigned(body) | {output}) for p in params]
    mapping = dict(zip(args, params))
    if ans is not None:
        mapping[ans] = output
    if function is not None:
        if tangents is None:
            if len(each) != len(params):
                raise CustomRuleError(f"{label} takes {len(each)} tangents, but forward takes {len(params)} arguments")
            mapping.update(zip(each, slots))
    taken = set(params) | {output, "d"} | set(slots)
    for v in sorted(_assigned(body)):
        if v in taken or v in mapping:
            mapping[v] = _fresh(v, taken | set(mapping.values()) | _assigned(body))
    slot_names = _Slots(tangents, slots)
    renamer = _Rename(mapping, None, output)
    body = [renamer.visit(slot_names.visit(s)) for s in body]
    ret = renamer.visit(slot_names.visit(ret))
    if function is not None:
        saved = _saved(function, params, output)
        body = [_CtxReads(ctx, saved).visit(s) for s in body]
        ret = _CtxReads(ctx, saved).visit(ret)
    body, ret = _without_aliases(_split_unpacking(body), ret, set(params) | {output} | set(slots))
    return JVP(label, params, output, body, ret, slots, {**_namespace(rule), "checked": checked})


def _called_jvp(rule, params, label, function):
    """A JVP rule that cannot be inlined, called: `call_jvp(rule, (tangents...), ans, *args)`, or for a Function
    `jvp_of(Cls, (tangents...), *args)` (its forward runs again to rebuild the ctx)."""
    output = _fresh("ans", params)
    slots = [_fresh(f"tangent_{p}", set(params) | {output}) for p in params]
    ref = "jvp_rule" if function is None else _fresh(function.__name__, params)
    tangents = gast.Tuple(elts=[name(t) for t in slots], ctx=gast.Load())
    args = [name(p) for p in params]
    if function is None:
        result = call(name("call_jvp"), [name(ref), tangents, name(output)] + args)
    else:
        result = call(name("jvp_of"), [name(ref), tangents] + args)
    namespace = {"call_jvp": call_jvp, "jvp_of": jvp_of, ref: rule if function is None else function,
                 "checked": checked}
    return JVP(label, params, output, [], result, slots, namespace)


def call_jvp(rule, tangents, *args):
    """A JVP rule whose source could not be read, called (by generated code) as `rule(tangents, ans, *args)`."""
    return rule(tangents, *args)


def jvp_of(cls, tangents, *args):
    """The jvp of a Function whose rule could not be inlined: its forward runs again on a fresh ctx."""
    ctx = Context()
    cls.forward(ctx, *args)
    return cls.jvp(ctx, *tangents)


_CALLED = ("a rule of yours that s2sgrad calls instead of inlining (it is more than assignments and one return, "
           "or its source cannot be read) is not differentiated again, as second order needs; write the rule as "
           "assignments and one return in a file")
for _helper in (call_vjp, backward_of, call_jvp, jvp_of):
    _helper.__s2sgrad_refusal__ = _CALLED


class _Slots(gast.NodeTransformer):
    """`tangents[k]` -> the k-th placeholder; `tangents` itself -> a tuple of them."""

    def __init__(self, tangents, slots):
        self.tangents, self.slots = tangents, slots

    def visit_Subscript(self, node):
        if _is(node.value, self.tangents) and isinstance(node.slice, gast.Constant) and \
                type(node.slice.value) is int and node.slice.value < len(self.slots):
            return name(self.slots[node.slice.value])
        return self.generic_visit(node)

    def visit_Name(self, node):
        if _is(node, self.tangents):
            return gast.Tuple(elts=[name(s)
                                    for s in self.slots], ctx=gast.Load())
        return node


# -- how a call of a custom rule's function is differentiated, per mode -------------------------------------

def jvp_for(fn):
    """The user's JVP rule of `fn`, or None."""
    try:
        return JVPS.get(fn)
    except TypeError:
        return None


def resolve(op, mode):
    """`op` as the transform for `mode` differentiates it: a call with a rule of the user's for that mode stays
    a rule; without one, the primal body of a Python function is differentiated (a helper), a foreign
    function falls back on its built-in rule; else the op stays, and the transform refuses it clearly."""
    if op.kind != "rule" or not isinstance(op.rule, CustomRule):
        return op
    rule = op.rule
    if mode == "forward":
        if jvp_for(op.fn) is not None:          # the JVP takes every argument's tangent but nondiff_argnums'
            forward_rule = copy.copy(rule)
            forward_rule.tangent_inputs = [p for p in rule.inputs if p not in rule.nondiff]
            return dataclasses.replace(op, rule=forward_rule)
    elif rule.has_vjp:
        return op
    if rule.primal is not None:
        node = op.node
        try:
            inputs = bound_arguments(rule.primal, node.args, [(k.arg, k.value) for k in node.keywords])
        except TypeError:
            return op
        return dataclasses.replace(op, kind="helper", inputs=inputs, rule=None, fn=rule.primal)
    if mode == "forward":
        for builtin in rules.lookup(op.fn):
            if not isinstance(builtin, CustomRule):
                node = op.node
                inputs = builtin.bind(node.args, [(k.arg, k.value) for k in node.keywords])
                if inputs is not None:
                    return dataclasses.replace(op, inputs=inputs, rule=builtin)
    return op


def tangent(transform, op, v):
    """Forward mode's statements for `v = f(...)` with a JVP rule of the user's (its body inlined, `tangents[k]`
    the tangent of each argument or None), or None when `f` has none; refused for a rule with no JVP."""
    jvp = jvp_for(op.fn)
    if jvp is None:
        if isinstance(op.rule, CustomRule):
            where = transform.core.source.location(op.node)
            raise NoGradientRuleError(
                f"{where[0]}:{where[1]}:{where[2]}: cannot differentiate {op.rule.label.rpartition(chr(39))[0]} in "
                f"forward mode: it has a rule for reverse mode only and no Python body s2sgrad can differentiate. "
                f"Give it a JVP rule (defjvp, a Function's jvp(ctx, *tangents), register_jvp), or use reverse "
                f"mode (grad, vjp).\n    {where[3].strip()}")
        return None
    mapping = {p: op.inputs[p] for p in jvp.params}
    mapping[jvp.output] = name(v)
    for p, slot in zip(jvp.params, jvp.slots):
        atom = op.inputs[p]
        if transform.active(atom) and not isinstance(atom, gast.Name):     # a list display carrying tangents
            where = transform.core.source.location(op.node)
            raise NoGradientRuleError(
                f"{where[0]}:{where[1]}:{where[2]}: {jvp.label} takes one tangent per argument, and its argument "
                f"{p!r} is a list of values that carry derivatives; pass np.stack([...]) of them instead.\n"
                f"    {where[3].strip()}")
        mapping[slot] = name(transform.t(atom.id)) if transform.active(atom) else const(None)
    local_names, out = {}, []
    for stmt in jvp.body:
        value = _Instantiate(transform.ns, jvp.globals, mapping, local_names).visit(_copy(stmt.value))
        local_names[stmt.targets[0].id] = transform.namer.fresh(stmt.targets[0].id)
        out.append(assign(local_names[stmt.targets[0].id], value))
    value = _Instantiate(transform.ns, jvp.globals, mapping, local_names).visit(_copy(jvp.result))
    check = gast.Call(func=name(transform.ns.bind("checked", checked)),
                      args=[value, name(v),
                            const(f"{jvp.label} (tangent of the output)")], keywords=[])
    out.append(assign(transform.t(v), check))
    return out


class _Instantiate(gast.NodeTransformer):
    """A JVP template expression with parameters as the call's atoms, locals as fresh names, and the rule's
    free names bound in the generated namespace."""

    def __init__(self, ns, names, mapping, local_names):
        self.ns, self.names, self.mapping, self.local_names = ns, names, mapping, local_names

    def visit_Name(self, node):
        if node.id in self.mapping:
            return _copy(self.mapping[node.id])
        if node.id in self.local_names:
            return name(self.local_names[node.id])
        if node.id in self.names:
            return name(self.ns.bind(node.id, self.names[node.id]))
        return node


# -- no_grad blocks ----------------------------------------------------------------------------------------

def without_no_grad(source):
    """`source` with each `with no_grad():` block replaced by its statements, every value they assign (or
    return) wrapped in `stop_gradient(...)`: the block runs in the primal and what it assigns carries no
    derivative, by the one activity analysis. Other `with` statements are left for the fence to refuse."""
    for n in walk(source.node):
        for item in n.items if isinstance(n, gast.With) else ():
            if source.resolve(item.context_expr) is no_grad if isinstance(item.context_expr, (gast.Name, gast.Attribute)) \
                    else False:
                raise UnsupportedSyntaxError("'with no_grad:' without parentheses is not supported; write "
                                             "'with s2sgrad.no_grad():' (it is called, as torch.no_grad() is)",
                                             source.location(item.context_expr))
    blocks = [n for n in walk(source.node) if isinstance(n, gast.With) and _is_no_grad(source, n)]
    if not blocks:
        return source
    spelled = "stop_gradient"
    while spelled in source.locals or source.namespace.get(spelled, stop_gradient) is not stop_gradient:
        spelled += "_"
    source.namespace[spelled] = stop_gradient
    _NoGrad(source, spelled).visit(source.node)
    return source


def _is_no_grad(source, node):
    return node.items and all(
        item.optional_vars is None and isinstance(item.context_expr, gast.Call) and
        not item.context_expr.args and source.resolve(item.context_expr.func) is no_grad for item in node.items)


class _NoGrad(gast.NodeTransformer):
    def __init__(self, source, spelled):
        self.source, self.spelled, self.inside = source, spelled, 0

    def visit_With(self, node):
        if not _is_no_grad(self.source, node):
            return self.generic_visit(node)
        self.inside += 1
        body = []
        for s in node.body:
            out = self.visit(s)
            body += out if isinstance(out, list) else [out]
        self.inside -= 1
        return body

    def stop(self, value):
        return gast.copy_location(gast.Call(func=gast.copy_location(
            name(self.spelled), value),
            args=[value], keywords=[]), value)

    def visit_Assign(self, node):
        if self.inside:
            node.value = self.stop(node.value)
        return node

    def visit_AnnAssign(self, node):
        if self.inside and node.value is not None:
            node.value = self.stop(node.value)
        return node

    def visit_AugAssign(self, node):
        if not self.inside:
            return node
        target = _copy(node.target)
        for n in walk(target):
            if hasattr(n, "ctx"):
                n.ctx = gast.Load()
        value = gast.copy_location(gast.BinOp(left=target, op=node.op, right=node.value), node)
        return gast.copy_location(assign(node.target, self.stop(value)), node)

    def visit_Expr(self, node):             # hs.append(x) in the block: what it stores carries no derivative
        if self.inside and isinstance(node.value, gast.Call) and isinstance(node.value.func, gast.Attribute):
            node.value.args = [a if isinstance(a, gast.Starred) else self.stop(a) for a in node.value.args]
        return node

    def visit_Return(self, node):
        if self.inside and node.value is not None:
            node.value = self.stop(node.value)
        return node
