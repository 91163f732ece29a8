"""Tangent rules (forward mode): how each primitive turns its inputs' tangents into its output's.

Looked up by the same resolved primitive as the adjoint rules, in four families:

- `elementwise(prim, ...)`: the Jacobian is diagonal, with broadcasting. Nothing is written:
  the tangent is read off the adjoint template, each `d[x] = E` giving the contribution of x
  as E with `d[y]` replaced by `t[x]` and `unbroadcast` dropped. Contributions may be smaller
  than the output (a scalar added to an array); the transform broadcasts them where needed.
- `linear(prim, *params)`: the primitive is linear in `params` jointly, and its other
  parameters are options (axis, shape, ...): the tangent is the same call on the tangents.
- `bilinear(prim, p, q)`: the tangent is `prim(t[p], q) + prim(p, t[q])`.
  Parameters are named as in the adjoint rule, or given by position (0 is the first input).
- `@tangent(prim)`: an explicit template, like an adjoint one; `t[x]` is the tangent of x.
  `t[y] = ...` must be a sum of terms that each carry one input's tangent: the terms of
  inputs that carry no derivative are dropped.

Example:
    >>> @tangent(np.linalg.inv)
    ... def inv(y, x):
    ...     t[y] = -(y @ t[x] @ y)
"""

import builtins
import copy
import inspect
import math
import operator
from dataclasses import dataclass

import gast
import numpy as np

from ..runtime import c_ as c_values, r_ as r_values
from ..runtime import (apply_like, astype as astype_, cast_tangent, eig_tangent, eigenvectors_of_symmetric,
                       eigh_tangent, eigvals_tangent, einsum_tangent, extremum_share, flatten as flatten_, from_last,
                       lower_half_diagonal, lstsq_tangent, matrix_power_tangent, mirror_lower, multi_dot_tangent,
                       interp_slope, none_chosen, norm_axes, norm_slope, pad_mode, prod_of_others, qr_tangent, quantile_tangent,
                       quantile_weights, reduced_count, select_tangent, singular_vectors, slogdet_tangent, solve_like,
                       source_positions, stacked_tangent, svd_tangent, symmetric_read, times_power, to_last)
from ..syntax import walk
from . import DropUnbroadcast, Rule, adjoint_of

TANGENTS = {}       # primitive -> Elementwise() | Linear | Bilinear | [Rule, ...] (explicit templates)


class _TangentMarker:
    """The `t` in templates: `t[x]` names the tangent of x. Never evaluated."""

    def __getitem__(self, key):
        raise RuntimeError("tangent templates are inlined by the compiler, not called")


t = _TangentMarker()


@dataclass(frozen=True)
class Elementwise:
    """Diagonal Jacobian: the tangent is derived from the adjoint template."""


@dataclass(frozen=True)
class Linear:
    params: tuple

    def names(self, adjoint_rule):
        return tuple(_param(p, adjoint_rule) for p in self.params)


@dataclass(frozen=True)
class Bilinear:
    p: object
    q: object

    def names(self, adjoint_rule):
        return (_param(self.p, adjoint_rule), _param(self.q, adjoint_rule))


def _param(p, adjoint_rule):
    """A parameter given by name or by position, as the adjoint rule names it (None if it has none)."""
    if isinstance(p, int):
        return adjoint_rule.inputs[p] if p < len(adjoint_rule.inputs) else None
    return p


@dataclass
class Terms:
    """A tangent ready to instantiate: `t[output] = sum of terms` after the `local` statements.

    `inputs` maps template parameters to the call's atoms; each term is (parameter whose
    tangent it carries, expression); `broadcasts` says a term may be smaller than the output.
    """

    output: str
    inputs: dict
    local: list
    terms: list
    globals: dict
    broadcasts: bool = False
    primitive: object = None
    sequences: frozenset = frozenset()       # inputs that are sequences of values (see Rule.sequences)


def tangent_of(node):
    """'x' for the template expression `t[x]`, else None."""
    if (isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id == "t" and isinstance(node.slice, gast.Name)):
        return node.slice.id
    return None


# -- registration ---------------------------------------------------------------

def elementwise(*primitives):
    for prim in primitives:
        TANGENTS[prim] = Elementwise()


def linear(prim, *params):
    TANGENTS[prim] = Linear(tuple(params))


def bilinear(prim, p, q):
    TANGENTS[prim] = Bilinear(p, q)


def tangent(*primitives):
    """Register the decorated template as a tangent rule of each primitive (several may bind)."""

    def register(template):
        sig = inspect.signature(template)
        # Parsed when first used (rules.Rule.body); tests/test_startup.py splits every template, so a
        # malformed one fails the suite rather than a user's first jvp.
        rule = Rule(primitives[0], template, sig, next(iter(sig.parameters)), None, template.__globals__)
        for prim in primitives:
            existing = TANGENTS.get(prim)
            TANGENTS[prim] = (existing if isinstance(existing, list) else []) + [rule]
        return template

    return register


# -- lookup -----------------------------------------------------------------------

def lookup(prim):
    try:
        return TANGENTS.get(prim)
    except TypeError:
        return None


def expand(prim, adjoint_rule, inputs, args, keywords):
    """The tangent of one call of `prim`: Terms, Linear or Bilinear, or None when no rule covers it.

    `adjoint_rule` and `inputs` are the adjoint rule that bound the call and its binding;
    `args`/`keywords` the call's atoms (explicit templates bind them themselves).
    """
    entry = lookup(prim)
    if isinstance(entry, Elementwise):
        local, terms = from_adjoint(adjoint_rule)
        return Terms(adjoint_rule.output, inputs, local, terms, adjoint_rule.globals, broadcasts=True,
                     primitive=prim, sequences=frozenset(adjoint_rule.sequences))
    if isinstance(entry, list):
        for rule in entry:
            bound = rule.bind(args, keywords)
            if bound is not None:
                local, terms = _split_template(rule)
                return Terms(rule.output, bound, local, terms, rule.globals, primitive=prim,
                             sequences=frozenset(rule.sequences))
        return None
    return entry


def covers(prim, adjoint_rule):
    """Why the tangent rules of `prim` do not cover calls `adjoint_rule` binds, or None when they do."""
    entry = lookup(prim)
    if entry is None:
        return "no tangent rule"
    if isinstance(entry, Elementwise):
        try:
            from_adjoint(adjoint_rule)
        except TypeError as err:
            return str(err)
        return None
    params = adjoint_rule.inputs
    if isinstance(entry, (Linear, Bilinear)):
        wanted = entry.names(adjoint_rule)
        if not set(wanted) <= set(params):
            return f"{type(entry).__name__.lower()} in {wanted}, not among {params}"
        if not set(adjoint_rule.differentiable()) <= set(wanted):
            return f"{type(entry).__name__.lower()} in {wanted}, but {adjoint_rule.differentiable()} carry derivatives"
        return None
    kinds = {p.name: p.kind for p in adjoint_rule.signature.parameters.values()}
    atom = lambda p: gast.Name(id=p, ctx=gast.Load(), annotation=None, type_comment=None)  # noqa: E731
    args = [atom(p) for p in params if kinds[p] is not inspect.Parameter.KEYWORD_ONLY]
    keywords = [(p, atom(p)) for p in params if kinds[p] is inspect.Parameter.KEYWORD_ONLY]
    if any(rule.bind(args, keywords) is not None for rule in entry):
        return None
    return f"no tangent template takes ({', '.join(params)})"


# -- deriving and splitting templates -------------------------------------------------

_DERIVED = {}


def from_adjoint(rule):
    """(local statements, [(parameter, term)]) of an elementwise primitive, read off its adjoint rule."""
    if id(rule) in _DERIVED:
        return _DERIVED[id(rule)]
    local, terms = [], []
    for stmt in rule.body:
        target = adjoint_of(stmt.targets[0]) if isinstance(stmt, gast.Assign) else None
        seeds = [n for n in walk(stmt) if adjoint_of(n) is not None and n is not getattr(stmt, "targets", [None])[0]]
        if target is None:
            if seeds or not isinstance(stmt, gast.Assign):
                raise TypeError(f"the adjoint of {rule.template.__name__} is not elementwise-derivable: "
                                "a local statement reads an adjoint")
            local.append(stmt)
            continue
        outputs = [n for n in seeds if n.slice.id == rule.output]
        if len(outputs) != 1 or len(seeds) != 1:
            raise TypeError(f"the adjoint of {rule.template.__name__} is not elementwise-derivable: "
                            f"d[{rule.output}] must appear once in the adjoint of {target}")
        value = _Derive(rule.globals, target).visit(copy.deepcopy(stmt.value))
        terms.append((target, value))
    _DERIVED[id(rule)] = (local, terms)
    return local, terms


class _Derive(DropUnbroadcast):
    """`d[y]` -> `t[x]`, `unbroadcast(e, x)` -> `e`."""

    def __init__(self, globals_, param):
        super().__init__(globals_)
        self.param = param

    def visit_Subscript(self, node):
        if adjoint_of(node) is not None:
            return gast.Subscript(value=gast.Name(id="t", ctx=gast.Load(), annotation=None, type_comment=None),
                                  slice=gast.Name(id=self.param, ctx=gast.Load(), annotation=None,
                                                  type_comment=None), ctx=gast.Load())
        return self.generic_visit(node)


_SPLIT = {}


def _split_template(rule):
    """(local statements, [(parameter, term)]) of an explicit template."""
    if id(rule) in _SPLIT:
        return _SPLIT[id(rule)]
    local, terms = [], []
    for stmt in rule.body:
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
            continue                                                   # docstring
        target = tangent_of(stmt.targets[0]) if isinstance(stmt, gast.Assign) else None
        if target is None:
            if any(tangent_of(n) is not None for n in walk(stmt)):
                raise TypeError(f"tangent template {rule.template.__name__}: only `t[{rule.output}] = ...` "
                                "may read tangents")
            local.append(stmt)
            continue
        if target != rule.output or terms:
            raise TypeError(f"tangent template {rule.template.__name__} must assign t[{rule.output}] once")
        for term in _sum_terms(stmt.value):
            carried = {tangent_of(n) for n in walk(term)} - {None}
            if len(carried) != 1:
                raise TypeError(f"tangent template {rule.template.__name__}: each term of the sum must "
                                f"carry exactly one input's tangent, not {sorted(carried)}")
            terms.append((carried.pop(), term))
    _SPLIT[id(rule)] = (local, terms)
    return local, terms


def _sum_terms(expr):
    """`a + b - c` -> [a, b, -c]."""
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, (gast.Add, gast.Sub)):
        right = expr.right
        if isinstance(expr.op, gast.Sub):
            right = gast.UnaryOp(op=gast.USub(), operand=right)
        return _sum_terms(expr.left) + _sum_terms(right)
    return [expr]


# -- the table ------------------------------------------------------------------------

# Declarations for NumPy primitives take effect once an adjoint rule makes them differentiable;
# the coverage test (tests/test_forward.py) checks each against its adjoint rule.
elementwise(
    np.add, np.subtract, np.divide, np.true_divide, np.power, np.float_power, np.negative, np.positive, np.abs, np.absolute,
    np.fabs, np.sign, np.arcsin, np.arccos, np.arctan, np.arctan2, np.sinh, np.cosh, np.arcsinh, np.arccosh,
    np.arctanh, np.exp2, np.expm1, np.log2, np.log10, np.log1p, np.square, np.cbrt, np.reciprocal,
    np.hypot, np.maximum, np.minimum, np.fmax, np.fmin, np.where, np.clip, np.logaddexp, np.logaddexp2,
    np.sinc, np.deg2rad, np.rad2deg, np.radians, np.degrees, np.conjugate, np.nan_to_num, np.remainder, np.fmod,
    np.copysign, np.ldexp,
)
for _prim in (np.mean, np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.expand_dims,
              np.squeeze, np.broadcast_to, np.cumsum, np.trace, np.diag, np.diagonal, np.flip, np.real,
              np.atleast_1d, np.atleast_2d, np.tile, np.repeat, np.roll, np.triu,
              np.tril, np.fliplr, np.flipud, np.rot90, np.atleast_3d, np.matrix_transpose, np.rollaxis, np.take,
              np.take_along_axis, np.diff, np.diagflat, np.cumulative_sum, np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit,
              np.unstack):
    linear(_prim, 0)
for _prim in (np.concatenate, np.stack, np.hstack, np.vstack, np.column_stack, np.dstack,
              *([np.row_stack] if hasattr(np, "row_stack") else [])):
    linear(_prim, 0)                     # a list display: each element's tangent, zeros for the others
linear(np.append, "arr", "values")
linear(r_values, 0)
linear(c_values, 0)
for _prim in (np.multiply, np.matmul, np.dot, np.outer, np.inner, np.vdot, np.tensordot, np.kron, np.cross,
              np.linalg.matmul, np.linalg.outer, np.linalg.tensordot, np.vecdot, np.linalg.vecdot, np.linalg.cross,
              np.convolve, np.correlate):
    bilinear(_prim, 0, 1)
for _prim in (np.linalg.matrix_transpose, np.linalg.diagonal, np.linalg.trace):
    linear(_prim, 0)


@tangent(np.linalg.inv)
def inv(y, x):
    t[y] = -(y @ t[x] @ y)


@tangent(np.linalg.det)
def det(y, x):
    t[y] = y * np.trace(np.linalg.solve(x, t[x]), axis1=-2, axis2=-1)


@tangent(np.linalg.solve)
def solve(y, a, b):
    t[y] = solve_like(a, t[b], b) - solve_like(a, apply_like(t[a], y, b), b)


elementwise(times_power)
elementwise(
    operator.add, operator.sub, operator.truediv, operator.pow, operator.mod, operator.neg, operator.pos,
    math.sin, math.cos, math.tan, math.asin, math.acos, math.atan, math.atan2, math.sinh, math.cosh,
    math.tanh, math.exp, math.expm1, math.log, math.log1p, math.log2, math.log10, math.sqrt, math.pow,
    math.hypot, math.fabs, builtins.abs, builtins.float,
    np.sin, np.cos, np.tan, np.exp, np.log, np.tanh, np.sqrt,
)

bilinear(operator.mul, "x", "y")
bilinear(operator.matmul, "x", "y")

linear(np.sum, "x")
linear(np.copy, "x")
linear(copy.copy, "x")
linear(copy.deepcopy, "x")
linear(builtins.list, "x")
linear(builtins.tuple, "x")


@tangent(np.array)
def array(y, xs, dtype=None):
    # the tangents stacked as the values are, in y's dtype: none when it holds integers
    t[y] = cast_tangent(stacked_tangent(t[xs], xs), y)
linear(flatten_, "x")


@tangent(astype_)
def astype(y, x, dtype):
    t[y] = cast_tangent(t[x], y)


# Reductions that are not linear: the directional derivative, summed the way the reduction sums.

@tangent(np.prod)
def prod(y, x):
    t[y] = np.sum(t[x] * prod_of_others(x, None))


@tangent(np.prod)
def prod_along(y, x, axis=None, *, keepdims=False):
    t[y] = np.sum(t[x] * prod_of_others(x, axis), axis=axis, keepdims=keepdims)


@tangent(np.max, np.amax, np.min, np.amin)
def max(y, x):
    t[y] = np.sum(t[x] * extremum_share(x, y, None, False))


@tangent(np.max, np.amax, np.min, np.amin)
def max_along(y, x, axis=None, *, keepdims=False):
    t[y] = np.sum(t[x] * extremum_share(x, y, axis, keepdims), axis=axis, keepdims=keepdims)


@tangent(np.var)
def var(y, x):
    t[y] = np.sum(t[x] * (x - np.mean(x))) * 2.0 / np.size(x)


@tangent(np.var)
def var_along(y, x, axis=None, *, ddof=0, keepdims=False):
    t[y] = np.sum(t[x] * (x - np.mean(x, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims) * 2.0 / (
        reduced_count(x, axis) - ddof)


@tangent(np.cumulative_prod)
def cumulative_prod(y, x, *, axis=None):
    along = to_last(x, axis)
    lower = np.tri(np.shape(along)[-1], dtype=bool)
    others = prod_of_others(np.where(lower, np.expand_dims(along, -2), 1.0), -1)
    t[y] = from_last(np.sum(np.where(lower, np.expand_dims(to_last(t[x], axis), -2), 0.0) * others, axis=-1), y, axis)


@tangent(np.interp)
def interp(y, x, xp, fp):
    t[y] = interp_slope(x, xp, fp) * t[x] + np.interp(x, xp, t[fp])


@tangent(np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray)
def asarray(y, x, dtype=None):
    t[y] = cast_tangent(stacked_tangent(t[x], x), y)


@tangent(np.select)
def select(y, condlist, xs, default=0):
    t[y] = select_tangent(condlist, t[xs], xs, y) + np.where(none_chosen(condlist), t[default], 0.0)


@tangent(np.cumprod)
def cumprod(y, x, axis=None):
    # row i of a matrix holding x_j at j <= i and 1 elsewhere has the product y_i: np.prod's tangent per row
    along = to_last(x, axis)
    lower = np.tri(np.shape(along)[-1], dtype=bool)
    others = prod_of_others(np.where(lower, np.expand_dims(along, -2), 1.0), -1)
    t[y] = from_last(np.sum(np.where(lower, np.expand_dims(to_last(t[x], axis), -2), 0.0) * others, axis=-1), y, axis)


@tangent(np.nansum)
def nansum(y, x, axis=None, *, keepdims=False):
    t[y] = np.sum(np.where(np.isnan(x), 0.0, t[x]), axis=axis, keepdims=keepdims)


@tangent(np.nanmean)
def nanmean(y, x, axis=None, *, keepdims=False):
    counted = np.sum(np.logical_not(np.isnan(x)), axis=axis, keepdims=keepdims)
    t[y] = np.sum(np.where(np.isnan(x), 0.0, t[x]), axis=axis, keepdims=keepdims) / counted


@tangent(np.nanmax, np.nanmin)
def nanmax(y, x, axis=None, *, keepdims=False):
    t[y] = np.sum(t[x] * extremum_share(x, y, axis, keepdims), axis=axis, keepdims=keepdims)


@tangent(np.nanprod)
def nanprod(y, x, axis=None, *, keepdims=False):
    t[y] = np.sum(np.where(np.isnan(x), 0.0, t[x] * prod_of_others(np.where(np.isnan(x), 1.0, x), axis)), axis=axis,
                  keepdims=keepdims)


@tangent(np.nancumsum)
def nancumsum(y, x, axis=None):
    t[y] = np.cumsum(np.where(np.isnan(x), 0.0, t[x]), axis=axis)


@tangent(np.ptp)
def ptp(y, x, axis=None, *, keepdims=False):
    top = np.max(x, axis=axis, keepdims=keepdims)
    bottom = np.min(x, axis=axis, keepdims=keepdims)
    t[y] = np.sum(t[x] * (extremum_share(x, top, axis, keepdims) - extremum_share(x, bottom, axis, keepdims)),
                  axis=axis, keepdims=keepdims)


@tangent(np.median)
def median(y, x, axis=None, *, keepdims=False):
    t[y] = np.sum(t[x] * quantile_weights(x, 0.5, axis, 1.0), axis=axis, keepdims=keepdims)


@tangent(np.quantile)
def quantile(y, a, q, axis=None, *, keepdims=False):
    t[y] = quantile_tangent(t[a], a, q, axis, keepdims, 1.0)


@tangent(np.percentile)
def percentile(y, a, q, axis=None, *, keepdims=False):
    t[y] = quantile_tangent(t[a], a, q, axis, keepdims, 100.0)


@tangent(np.sort)
def sort(y, x, axis=-1):
    t[y] = np.take_along_axis(t[x], source_positions(x, y, axis), axis)


@tangent(np.partition)
def partition(y, x, kth, axis=-1):
    t[y] = np.take_along_axis(t[x], source_positions(x, y, axis), axis)


@tangent(np.pad)
def pad(y, x, pad_width):
    t[y] = np.pad(t[x], pad_width)


@tangent(np.pad)
def pad_mode_(y, x, pad_width, mode):
    t[y] = np.pad(t[x], pad_width, pad_mode(mode))


# std and norm divide by their value; where it is 0, so is the numerator (x - mean, x): 0 / 1, the
# subgradient 0 the adjoint rules give.

@tangent(np.std)
def std(y, x):
    t[y] = np.sum(t[x] * (x - np.mean(x))) / (np.size(x) * np.where(y == 0, 1.0, y))


@tangent(np.std)
def std_along(y, x, axis=None, *, ddof=0, keepdims=False):
    t[y] = np.sum(t[x] * (x - np.mean(x, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims) / (
        (reduced_count(x, axis) - ddof) * np.where(y == 0, 1.0, y))


@tangent(np.linalg.norm)
def norm(y, x):
    t[y] = np.sum(x * t[x]) / np.where(y == 0, 1.0, y)


@tangent(np.linalg.norm)
def norm_along(y, x, *, axis=None, keepdims=False):
    t[y] = np.sum(x * t[x], axis=axis, keepdims=keepdims) / np.where(y == 0, 1.0, y)


@tangent(np.linalg.norm)
def norm_ord(y, x, ord=None, axis=None, keepdims=False):
    t[y] = np.sum(t[x] * norm_slope(x, ord, axis), axis=norm_axes(x, ord, axis), keepdims=keepdims)


@tangent(np.linalg.vector_norm)
def vector_norm(y, x, *, axis=None, keepdims=False, ord=2):
    t[y] = np.sum(t[x] * norm_slope(x, ord, axis, "vector"), axis=norm_axes(x, ord, axis, "vector"), keepdims=keepdims)


@tangent(np.linalg.matrix_norm)
def matrix_norm(y, x, *, keepdims=False, ord="fro"):
    t[y] = np.sum(t[x] * norm_slope(x, ord, None, "matrix"), axis=norm_axes(x, ord, None, "matrix"), keepdims=keepdims)


@tangent(np.linalg.pinv)
def pinv(y, a):
    # -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, P = pinv(A), of primitives (second order)
    t[y] = (-(y @ t[a] @ y)
            + y @ np.swapaxes(y, -1, -2) @ np.swapaxes(t[a], -1, -2) @ (np.eye(np.shape(a)[-2]) - a @ y)
            + (np.eye(np.shape(a)[-1]) - y @ a) @ np.swapaxes(t[a], -1, -2) @ np.swapaxes(y, -1, -2) @ y)


@tangent(np.linalg.lstsq)
def lstsq(y, a, b, rcond=None):
    t[y] = lstsq_tangent(t[a], None, a, b, y) + lstsq_tangent(None, t[b], a, b, y)


@tangent(np.linalg.matrix_power)
def matrix_power(y, a, n):
    t[y] = matrix_power_tangent(t[a], a, n)


@tangent(np.linalg.multi_dot)
def multi_dot(y, xs):
    t[y] = multi_dot_tangent(t[xs], xs)


# Decompositions: the tangent of each factor (tuples: differentiating them again is refused)

@tangent(np.linalg.svd)
def svd(y, a, full_matrices=True, compute_uv=True):
    t[y] = svd_tangent(t[a], a, y, full_matrices, compute_uv)


@tangent(np.linalg.eigh)
def eigh(y, a, UPLO="L"):
    t[y] = eigh_tangent(t[a], a, y, UPLO)


@tangent(np.linalg.eig)
def eig(y, a):
    t[y] = eig_tangent(t[a], a, y)


@tangent(np.linalg.eigvals)
def eigvals(y, a):
    t[y] = eigvals_tangent(t[a], a)


@tangent(np.linalg.qr)
def qr(y, a, mode="reduced"):
    t[y] = qr_tangent(t[a], a, y, mode)


# The values alone: diag(U^T dA V) and diag(V^T dS V), of functions with rules (second order)

@tangent(np.linalg.svdvals)
def svdvals(y, x):
    t[y] = np.einsum("...ji,...jk,...ki->...i", singular_vectors(x, False), t[x], singular_vectors(x, True))


@tangent(np.linalg.eigvalsh)
def eigvalsh(y, a, UPLO="L"):
    t[y] = np.einsum("...ji,...jk,...ki->...i", eigenvectors_of_symmetric(a, UPLO), symmetric_read(t[a], UPLO),
                     eigenvectors_of_symmetric(a, UPLO))


@tangent(np.linalg.slogdet)
def slogdet(y, a):
    t[y] = slogdet_tangent(t[a], a, y)


@tangent(np.linalg.cholesky)
def cholesky(L, a):
    # Murray (2016): dL = L Phi(L^-1 dA L^-T), where dA is t[a]'s lower triangle mirrored (NumPy reads only
    # that triangle) and Phi takes the lower triangle and halves its diagonal; every step has a rule
    t[L] = L @ lower_half_diagonal(np.swapaxes(np.linalg.solve(L, np.swapaxes(np.linalg.solve(L, mirror_lower(t[a])),
                                                                              -1, -2)), -1, -2))


# Constructors: the value spread to the output's shape, in its dtype (zero for an integer output).

@tangent(np.full)
def full(y, shape, fill_value, dtype=None):
    t[y] = cast_tangent(np.broadcast_to(t[fill_value], np.shape(y)), y)


@tangent(np.full_like)
def full_like(y, a, fill_value, dtype=None):
    t[y] = cast_tangent(np.broadcast_to(t[fill_value], np.shape(y)), y)


linear(np.linspace, "start", "stop")        # start * (1 - w) + stop * w


@tangent(np.arange)
def arange_from(y, start, stop):
    t[y] = np.full_like(y, t[start])


@tangent(np.arange)
def arange_by(y, start, stop, step):
    t[y] = np.full_like(y, t[start]) + t[step] * np.arange(np.size(y))


# Multilinear: one term per operand. One to three operands are spelled out, so that the tangent is made of
# einsums, which are differentiated again (Hessians); more go through one helper, with t[operands] the
# tuple of the operands' tangents (None for an operand that carries none).

@tangent(np.einsum)
def einsum(y, subscripts, a, *, optimize=False):
    t[y] = np.einsum(subscripts, t[a], optimize=optimize)


@tangent(np.einsum)
def einsum2(y, subscripts, a, b, *, optimize=False):
    t[y] = np.einsum(subscripts, t[a], b, optimize=optimize) + np.einsum(subscripts, a, t[b], optimize=optimize)


@tangent(np.einsum)
def einsum3(y, subscripts, a, b, c, *, optimize=False):
    t[y] = (np.einsum(subscripts, t[a], b, c, optimize=optimize) + np.einsum(subscripts, a, t[b], c, optimize=optimize)
            + np.einsum(subscripts, a, b, t[c], optimize=optimize))


@tangent(np.einsum)
def einsum_any(y, subscripts, *operands, optimize=False):
    t[y] = einsum_tangent(subscripts, operands, t[operands], optimize)
