"""Gradient rules as data: a table from primitive objects to adjoint templates.

A template is a Python function whose first parameter is the primitive's output and
whose other parameters mirror the primitive's arguments. `d[x] = expr` in its body
means "add expr to the adjoint of argument x"; the transform inlines the body into
the generated code, so users read the real math. A rule never knows about
accumulation, stacks or naming.

Example:
    >>> @adjoint(math.sin)
    ... def sin(y, x):
    ...     d[x] = d[y] * math.cos(x)
"""

import copy
import inspect
import linecache
import math as _math
import operator as _operator
import textwrap
from dataclasses import dataclass

import gast

SEQUENCE_NAMES = ("xs", "tangents")
_ELEMENTWISE = {_operator.add, _operator.sub, _operator.mul, _operator.truediv, _operator.pow, _operator.mod,
                _operator.neg, _operator.pos, _math.pow}    # and NumPy's elementwise ufuncs, np.where
RULES = {}          # primitive object -> list of Rule (tried in order: first whose signature binds)
NONDIFF = set()     # primitives whose result carries no derivative (comparisons, counts, rounding)
VIEWS = set()       # primitives whose result may share memory with an argument (writing into it is refused)
CONTAINERS = set()  # primitives whose result is a list, tuple or dict: its adjoint adds item by item


class _AdjointMarker:
    """The `d` in templates: `d[x]` names the adjoint of x. Never evaluated."""

    def __getitem__(self, key):
        raise RuntimeError("gradient templates are inlined by the compiler, not called")


d = _AdjointMarker()


@dataclass
class Rule:
    """One adjoint template, parsed once, when the compiler first reads it (`body`): importing s2sgrad
    registers a few hundred templates, and parsing them all would make every import slow."""

    primitive: object
    template: object
    signature: inspect.Signature
    output: str
    parsed: list            # gast statements of the body, or None until `body` is first read
    globals: dict           # what the template's free names mean
    inert: frozenset = frozenset()   # inputs with no derivative that may still depend on wrt (see `adjoint`)

    @property
    def body(self):
        """The template's body, gast statements (parsed from the template's source on first use)."""
        if self.parsed is None:
            self.parsed = template_body(self.template)
        return self.parsed

    @body.setter
    def body(self, statements):
        self.parsed = statements

    @property
    def inputs(self):
        return list(self.signature.parameters)[1:]

    @property
    def sequences(self):
        """Inputs the template treats as a sequence of values, one adjoint each: `*operands`, and by
        convention a parameter named `xs` or `tangents`. Any other input bound to a list display
        (`np.linalg.norm([x, y])`) is the array NumPy makes of it."""
        return {p.name for p in list(self.signature.parameters.values())[1:]
                if p.kind is p.VAR_POSITIONAL or p.name in SEQUENCE_NAMES}

    def differentiable(self):
        """Input parameters the template writes an adjoint for."""
        out = []
        for stmt in self.body:
            for target in getattr(stmt, "targets", []):
                if _adjoint_of(target) is not None:
                    out.append(_adjoint_of(target))
        return out

    def bind(self, args, keywords):
        """Map the inputs of a call to template parameter names, or None if the form is not covered."""
        params = list(self.signature.parameters.values())[1:]
        sig = self.signature.replace(parameters=params)
        try:
            bound = sig.bind(*args, **dict(keywords))
        except TypeError:
            return None
        out = {}
        for p in params:
            if p.kind is p.VAR_KEYWORD:
                return None                  # no template takes **kwargs: the form is not covered
            if p.kind is p.VAR_POSITIONAL:   # `*operands`: a sequence, one adjoint per element
                out[p.name] = gast.Tuple(elts=list(bound.arguments.get(p.name, ())), ctx=gast.Load())
            elif p.name in bound.arguments:
                out[p.name] = bound.arguments[p.name]
            else:
                out[p.name] = gast.Constant(value=p.default, kind=None)
        return out


def _adjoint_of(node):
    """'x' for the template expression `d[x]`, else None."""
    if (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id == "d" and isinstance(node.slice, gast.Name)):
        return node.slice.id
    return None


adjoint_of = _adjoint_of


def adjoint(*primitives, inert=()):
    """Register the decorated template as the adjoint rule of each primitive.

    An input the template writes no adjoint for is refused by the compiler when it depends on a
    differentiated input, unless it is named in `inert`: it carries no derivative by the math (a
    piecewise-constant condition, an argument read only for its shape).

    Example:
        >>> @adjoint(np.where, inert=("cond",))
        ... def where(y, cond, a, b): ...
    """

    def register(template):
        sig = inspect.signature(template)
        rule = Rule(primitives[0], template, sig, next(iter(sig.parameters)), None, template.__globals__,
                    frozenset(inert))
        unknown = rule.inert - set(rule.inputs)
        if unknown:
            raise TypeError(f"{template.__name__}: inert names {sorted(unknown)}, which are not its inputs")
        for prim in primitives:
            RULES.setdefault(prim, []).append(rule)
        return template

    return register


def template_body(template):
    """The gast statements of a template function's body, read from its source: the lines its code spans
    (from its first decorator to the last line any instruction covers), which inspect.getsource finds by
    tokenizing from there on, at a few times the cost of the parse (Python 3.11+; else getsource)."""
    code = template.__code__
    positions = getattr(code, "co_positions", None)
    lines = linecache.getlines(code.co_filename)
    if positions is not None and lines:
        last = max((end for _, end, _, _ in positions() if end is not None), default=None)
        if last is not None:
            try:
                return gast.parse(textwrap.dedent("".join(lines[code.co_firstlineno - 1:last]))).body[0].body
            except SyntaxError:
                pass
    return gast.parse(textwrap.dedent(inspect.getsource(template))).body[0].body


def nondifferentiable(*primitives):
    """Declare primitives whose output has a zero (or undefined) derivative everywhere it exists."""
    NONDIFF.update(primitives)


class DropUnbroadcast(gast.NodeTransformer):
    """`unbroadcast(e, x)` -> `e` in a template expression (where shapes are known to agree)."""

    def __init__(self, globals_):
        self.globals = globals_

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        from ..runtime import unbroadcast
        if isinstance(func, gast.Name) and self.globals.get(func.id) is unbroadcast and len(node.args) == 2:
            return node.args[0]
        return node


RANKED = {}        # runtime helper -> (positions of the arguments whose ranks decide, {ranks: expression})


def at_ranks(helper, positions, forms):
    """Declare what a helper a template calls computes when the ranks of some of its arguments are known
    at compile time: `forms` maps a tuple of ranks (of the arguments at `positions`) to an expression in
    the helper's parameter names, which replaces the call (the plain math instead of a dispatching
    helper). The expression's free names must mean the same in the templates calling the helper.

    Example:
        >>> at_ranks(matmul_adjoint_left, (1, 2), {(2, 2): "g @ y.T"})
    """
    params = list(inspect.signature(helper).parameters)
    parsed = {ranks: gast.parse(expr).body[0].value for ranks, expr in forms.items()}
    RANKED[helper] = (params, tuple(positions), parsed)


class Specialise(gast.NodeTransformer):
    """A template expression specialised on the known shapes of its rule's inputs (`shapes`: template
    parameter -> shape or None, see s2sgrad.shapes): for an elementwise primitive, `unbroadcast(g, x)`
    is `g` where x has the broadcast shape of the inputs, and a sum over the broadcast axes where x is
    smaller (`g.sum(axis=0)`); a helper declared with `at_ranks` is its expression for the ranks at hand."""

    def __init__(self, rule, primitive, shapes):
        self.rule = rule
        self.shapes = shapes
        self.elementwise = _elementwise(primitive)

    def visit_Call(self, node):
        self.generic_visit(node)
        from ..runtime import unbroadcast
        from ..shapes import broadcast, known, unbroadcast_axes
        func = node.func
        helper = self.rule.globals.get(func.id) if isinstance(func, gast.Name) else None
        if helper is unbroadcast and len(node.args) == 2 and self.elementwise and not node.keywords:
            mine = self.param_shape(node.args[1])
            full = broadcast(*self.shapes.values())
            if not (known(mine) and known(full)):
                return node
            if mine == full:
                return node.args[0]
            axes = unbroadcast_axes(mine, full) if mine and any(d != 1 for d in full) else None
            if axes is None:
                return node
            lead, keep = axes
            g = node.args[0]
            if lead:
                g = _sum(g, lead, False)
            if keep:
                g = _sum(g, keep, True)
            return g
        if _hashable_in(helper, RANKED) and not node.keywords:
            params, positions, forms = RANKED[helper]
            if len(node.args) != len(params):
                return node
            ranks = []
            for k in positions:
                shape = self.param_shape(node.args[k])
                if shape is None:
                    return node
                ranks.append(len(shape))
            form = forms.get(tuple(ranks))
            if form is None:
                return node
            return _Fill(dict(zip(params, node.args))).visit(copy.deepcopy(form))
        return node

    def param_shape(self, node):
        if isinstance(node, gast.Name) and node.id in self.shapes:
            return self.shapes[node.id]
        return None


def _sum(g, axes, keepdims):
    """`g.sum(axis=k)` (with keepdims=True when asked)."""
    axis = gast.Constant(value=axes[0], kind=None) if len(axes) == 1 else gast.Tuple(
        elts=[gast.Constant(value=a, kind=None) for a in axes], ctx=gast.Load())
    keywords = [gast.keyword(arg="axis", value=axis)]
    if keepdims:
        keywords.append(gast.keyword(arg="keepdims", value=gast.Constant(value=True, kind=None)))
    return gast.Call(func=gast.Attribute(value=g, attr="sum", ctx=gast.Load()), args=[], keywords=keywords)


class _Fill(gast.NodeTransformer):
    def __init__(self, args):
        self.args = args

    def visit_Name(self, node):
        if node.id in self.args and isinstance(node.ctx, gast.Load):
            return copy.deepcopy(self.args[node.id])
        return node


def _elementwise(primitive):
    """Whether the primitive computes elementwise with broadcasting (its result has the broadcast shape of
    its inputs, and so has each of their adjoints before unbroadcasting)."""
    import numpy as np
    from ..runtime import times_power
    if isinstance(primitive, np.ufunc):
        return primitive.signature is None
    return _hashable_in(primitive, _ELEMENTWISE) or primitive is times_power or primitive is np.where


def _hashable_in(obj, table):
    try:
        return obj in table
    except TypeError:
        return False


def views(*primitives):
    """Declare primitives whose result may be a view of an argument (np.reshape, np.transpose, ...)."""
    VIEWS.update(primitives)


def returns_view(obj):
    try:
        return obj in VIEWS
    except TypeError:
        return False


def returns_containers(*primitives):
    """Declare primitives whose result is a list, tuple or dict of values (np.split, list(...), ...): its
    adjoint is one too, joined item by item (tree_add), never by `+`, which would concatenate lists."""
    CONTAINERS.update(primitives)


def returns_container(obj):
    try:
        return obj in CONTAINERS
    except TypeError:
        return False


# Rules the user wrote (custom_vjp, Function, register_vjp: s2sgrad/custom.py) and those of the helpers their
# generated code calls: looked up before the built-in tables, and kept apart from them (which tests walk).
CUSTOM_RULES = {}
CUSTOM_NONDIFF = set()


def lookup(obj):
    """The rules of a primitive (empty list if none): the user's first, then the built-in ones."""
    try:
        return CUSTOM_RULES.get(obj, []) + RULES.get(obj, [])
    except TypeError:        # unhashable callables have no rule
        return []


def is_nondifferentiable(obj):
    try:
        return obj in NONDIFF or obj in CUSTOM_NONDIFF
    except TypeError:
        return False


from . import operators, math, numpy, linalg, casts  # noqa: E402,F401  (registers the tables)

import numpy as _np  # noqa: E402

views(_np.reshape, _np.ravel, _np.transpose, _np.swapaxes, _np.moveaxis, _np.expand_dims, _np.squeeze,
      _np.broadcast_to, _np.diagonal, _np.diag, _np.asarray, _np.atleast_1d, _np.atleast_2d, _np.real,
      _np.flip, _np.matrix_transpose if hasattr(_np, "matrix_transpose") else _np.transpose)
returns_containers(_np.split, _np.array_split, _np.hsplit, _np.vsplit, _np.dsplit, _np.meshgrid,
                   _np.broadcast_arrays, *([_np.unstack] if hasattr(_np, "unstack") else []), list, tuple)
from . import tangents  # noqa: E402,F401  (forward mode; after the adjoint tables it derives from)
from . import builtins  # noqa: E402,F401  (sum, min, max: adjoints and tangents of sequences)
from . import generated  # noqa: E402,F401  (rules for the runtime helpers: generated code differentiated again)
