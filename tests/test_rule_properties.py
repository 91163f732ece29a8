"""The rule table against the functions it describes: which arguments really move each output.

For every registered primitive (`s2sgrad.rules.RULES` and `NONDIFF`), `SAMPLES` holds calls covering each
of its rules' signatures. Each float-valued argument (a Python float, a float array, an element of a list
argument or of `*operands`) is perturbed along a random direction, and central differences in float64
(step 1e-6) say whether the output moves (any |Δ| / 2ε above 1e-6; piecewise-constant and shape-only
arguments give exactly zero). Then, reading only the rule metadata (no compiler):

- an argument that moves the output has an adjoint in the rule the call binds (`Rule.differentiable()`)
  and a tangent in forward mode (`rules.tangents.covers`, and for an explicit tangent template a term
  carrying that argument), or it is a known refusal in `REFUSED` (moving, no adjoint, not inert: the
  compiler refuses it when it carries a derivative, never a silent zero);
- an argument declared inert never moves the output, and every argument a rule writes an adjoint for
  moves it in some sample (so the table claims no derivative where there is none);
- a nondifferentiable primitive does not move with any float argument.

`test_every_rule_and_nondifferentiable_primitive_has_a_sample` walks the table, so a new rule without a
sample fails the suite.
"""

import builtins
import collections
import copy
import io
import math
import operator

import numpy as np
import pytest

from s2sgrad import runtime
from s2sgrad.rules import NONDIFF, RULES, adjoint_of, tangents
from s2sgrad.rules import builtins as s2s_builtins

RNG = np.random.default_rng(20240806)
EPS = 1e-6
MOVES = 1e-6


def arr(*shape, lo=-1.5, hi=1.5):
    return RNG.uniform(lo, hi, shape)


X = arr(2, 3)                                  # distinct values: no ties for max, sort, maximum
Y = arr(2, 3)
V3, W3 = arr(3), arr(3)
FIELDS = collections.namedtuple("Fields", "W n")(arr(3), 2)      # x.attr of a NamedTuple: field_of's x
POS = arr(2, 3, lo=0.3, hi=1.8)
UNIT = arr(2, 3, lo=-0.8, hi=0.8)
A33 = arr(3, 3, lo=-0.5, hi=0.5) + 2.0 * np.eye(3)
SPD = A33 @ A33.T + np.eye(3)
B = arr(3, 4)


def _extremum_share_of(x):
    return runtime.extremum_share(x, np.max(x, axis=0), 0, False)


def _share_of_maximum(x, other):
    return runtime.share_of(x, other, np.maximum(x, other))


# (primitive, positional arguments, keyword arguments[, the function to call instead of the primitive: for
# helpers whose arguments are tied together where generated code calls them])
SAMPLES = [
    # operators
    (operator.add, (0.7, -1.3), {}), (operator.sub, (0.7, -1.3), {}), (operator.mul, (0.7, -1.3), {}),
    (operator.truediv, (0.7, -1.3), {}), (operator.pow, (1.3, 0.7), {}), (operator.pow, (POS, 2.5), {}),
    (operator.mod, (5.3, 2.0), {}), (operator.matmul, (X, B), {}), (operator.neg, (0.7,), {}),
    (operator.pos, (0.7,), {}), (operator.floordiv, (5.3, 2.1), {}), (operator.not_, (0.7,), {}),
    (runtime.times_power, (0.3, 1.3, 0.7), {}), (runtime.times_power, (V3, np.abs(W3) + 0.5, -1.5), {}),
    # math and builtins
    (math.sin, (0.3,), {}), (math.cos, (0.3,), {}), (math.tan, (0.3,), {}), (math.asin, (0.3,), {}),
    (math.acos, (0.3,), {}), (math.atan, (0.3,), {}), (math.atan2, (0.5, 1.2), {}), (math.sinh, (0.3,), {}),
    (math.cosh, (0.3,), {}), (math.tanh, (0.3,), {}), (math.exp, (0.3,), {}), (math.expm1, (0.3,), {}),
    (math.log, (0.5,), {}), (math.log, (2.0, 3.0), {}), (math.log1p, (0.5,), {}), (math.log2, (0.5,), {}),
    (math.log10, (0.5,), {}), (math.sqrt, (0.5,), {}), (math.pow, (1.3, 0.7), {}), (math.hypot, (0.3, 0.4), {}),
    (math.fabs, (-0.7,), {}), (builtins.abs, (-0.7,), {}), (builtins.min, (0.5, 1.5), {}),
    (builtins.min, (1.5, 0.5), {}), (builtins.max, (0.5, 1.5), {}), (builtins.max, (1.5, 0.5), {}),
    (builtins.float, (0.5,), {}),
    (builtins.int, (2.7,), {}), (builtins.bool, (0.7,), {}), (builtins.len, ([0.7, 1.3],), {}),
    (builtins.range, (3,), {}), (builtins.round, (2.7,), {}), (builtins.print, (0.7,), {"file": io.StringIO()}),
    (builtins.isinstance, (0.7, float), {}), (builtins.type, (0.7,), {}), (builtins.str, (0.7,), {}),
    (builtins.repr, (0.7,), {}), (math.floor, (2.7,), {}), (math.ceil, (2.7,), {}), (math.trunc, (2.7,), {}),
    (math.isnan, (0.7,), {}), (math.isinf, (0.7,), {}), (math.isfinite, (0.7,), {}),
    # builtins over sequences (s2sgrad/rules/builtins.py): a list of items of broadcastable shapes, a start,
    # an array's rows; max and min of one list, of several values, of a 1-d array
    (builtins.sum, ([0.3, V3, X],), {}), (builtins.sum, ([0.3, V3], X), {}), (builtins.sum, (X,), {}),
    (builtins.max, ([0.3, 1.2, -0.5],), {}), (builtins.max, (0.3, 1.2, -0.5), {}), (builtins.max, (V3,), {}),
    (builtins.min, ([0.3, 1.2, -0.5],), {}), (builtins.min, (0.3, 1.2, -0.5), {}), (builtins.min, (V3,), {}),
    (builtins.any, ([0.7, 0.0],), {}), (builtins.all, ([0.7, 0.0],), {}),
    (s2s_builtins.first_max, ([0.3, 1.2, -0.5],), {}), (s2s_builtins.first_min, ([0.3, 1.2, -0.5],), {}),
    # NumPy, elementwise
    (np.sin, (X,), {}), (np.cos, (X,), {}), (np.tan, (X,), {}), (np.arcsin, (UNIT,), {}), (np.arccos, (UNIT,), {}),
    (np.arctan, (X,), {}), (np.sinh, (X,), {}), (np.cosh, (X,), {}), (np.tanh, (X,), {}), (np.arcsinh, (X,), {}),
    (np.arccosh, (POS + 1.0,), {}), (np.arctanh, (UNIT,), {}), (np.exp, (X,), {}), (np.exp2, (X,), {}),
    (np.expm1, (X,), {}), (np.log, (POS,), {}), (np.log2, (POS,), {}), (np.log10, (POS,), {}),
    (np.log1p, (POS,), {}), (np.sqrt, (POS,), {}), (np.cbrt, (X,), {}), (np.square, (X,), {}),
    (np.absolute, (X,), {}), (np.negative, (X,), {}), (np.positive, (X,), {}), (np.reciprocal, (POS,), {}),
    (np.add, (X, V3), {}), (np.subtract, (X, V3), {}), (np.multiply, (X, 0.7), {}), (np.divide, (X, POS), {}),
    (np.power, (POS, Y), {}), (np.float_power, (POS, Y), {}), (np.maximum, (X, Y), {}), (np.minimum, (X, Y), {}),
    (np.fmax, (X, Y), {}), (np.fmin, (X, Y), {}), (np.arctan2, (X, Y), {}), (np.hypot, (X, Y), {}),
    (np.logaddexp, (X, Y), {}),
    (np.where, (X, V3, Y), {}),                        # a float condition: truthy everywhere here
    (np.where, (X > 0.0, V3, Y), {}),
    (np.clip, (X, -0.5, 0.5), {}), (np.clip, (X, None, 0.5), {}),
    (np.sign, (X,), {}), (np.floor, (X,), {}), (np.ceil, (X,), {}), (np.round, (X,), {}), (np.around, (X,), {}),
    (np.rint, (X,), {}), (np.trunc, (X,), {}),
    # NumPy, reductions
    (np.sum, (X,), {}), (np.sum, (X, 0), {}), (np.sum, (X,), {"axis": 1, "keepdims": True}),
    (np.mean, (X,), {}), (np.mean, (X, 1), {}), (np.prod, (X,), {}), (np.prod, (X, 0), {}),
    (np.max, (X,), {}), (np.max, (X, 1), {}), (np.amax, (X,), {}), (np.amax, (X, 0), {}),
    (np.min, (X,), {}), (np.min, (X, 1), {}), (np.amin, (X,), {}), (np.amin, (X, 0), {}),
    (np.var, (X,), {}), (np.var, (X, 0), {"ddof": 0.5}), (np.std, (X,), {}), (np.std, (X, 1), {"ddof": 0.5}),
    (np.cumsum, (X,), {}), (np.cumsum, (X, 1), {}),
    # NumPy, shape
    (np.reshape, (X, (3, 2)), {}), (np.ravel, (X,), {}), (np.transpose, (X,), {}), (np.transpose, (X, (1, 0)), {}),
    (np.swapaxes, (X, 0, 1), {}), (np.moveaxis, (X, 0, -1), {}), (np.expand_dims, (X, 1), {}),
    (np.squeeze, (X[:1],), {}), (np.broadcast_to, (V3, (2, 3)), {}), (np.tile, (X, 2), {}),
    (np.repeat, (X, 2), {}), (np.flip, (X,), {}), (np.concatenate, ([X, Y],), {}),
    (np.concatenate, ([X, Y], 1), {}), (np.stack, ([X, Y],), {}), (np.hstack, ([X, Y],), {}),
    (np.vstack, ([X, Y],), {}),
    # NumPy, constructors and queries
    (np.full, ((2, 3), 0.7), {}), (np.full, ((2, 3), V3), {}), (np.full, ((3,), 0.7), {"dtype": int}),
    (np.full_like, (X, 0.7), {}), (np.linspace, (0.3, 1.7, 5), {}), (np.linspace, (V3, W3, 4), {"endpoint": False}),
    (np.arange, (0.3, 3.0), {}), (np.arange, (0.3, 3.0, 0.7), {}),
    (np.zeros, ((2, 3),), {}), (np.ones, ((2, 3),), {}), (np.empty, ((2, 3),), {}), (np.zeros_like, (X,), {}),
    (np.ones_like, (X,), {}), (np.empty_like, (X,), {}), (np.eye, (3,), {}), (np.identity, (3,), {}),
    (np.shape, (X,), {}), (np.ndim, (X,), {}), (np.size, (X,), {}), (np.argmax, (X,), {}), (np.argmin, (X,), {}),
    (np.argsort, (X,), {}), (np.isnan, (X,), {}), (np.isinf, (X,), {}), (np.isfinite, (X,), {}),
    (np.count_nonzero, (X,), {}), (np.any, (X,), {}), (np.all, (X,), {}), (np.result_type, (X,), {}),
    # linear algebra
    (np.dot, (X, V3), {}), (np.matmul, (X, B), {}), (np.vdot, (X, Y), {}), (np.inner, (X, Y), {}),
    (np.outer, (V3, W3), {}), (np.tensordot, (X, Y), {}), (np.tensordot, (X, B), {"axes": 1}),
    (np.einsum, ("ij,jk->ik", X, B), {}), (np.einsum, ("ij,ij", X, Y), {"optimize": True}),
    (np.einsum, ("ii", A33), {}),
    (np.trace, (A33,), {}), (np.diag, (V3,), {}), (np.diag, (A33,), {}), (np.linalg.norm, (X,), {}),
    (np.linalg.norm, (X,), {"axis": 1}), (np.linalg.inv, (A33,), {}), (np.linalg.solve, (A33, V3), {}),
    (np.linalg.det, (A33,), {}), (np.linalg.cholesky, (SPD,), {}), (np.linalg.slogdet, (A33,), {}),
    # copies and casts
    (runtime.astype, (X, np.float64), {}), (runtime.astype, (X, int), {}), (runtime.flatten, (X,), {}),
    (runtime.r_, ([V3, 0.5, X[0]],), {}), (runtime.c_, ([V3, W3],), {}), (runtime.c_, ([X, X],), {}),
    (np.copy, (X,), {}), (copy.copy, (X,), {}), (copy.deepcopy, (X,), {}), (np.array, ([0.7, -1.3],), {}), (np.array, (X,), {"dtype": float}),
    (builtins.list, (X,), {}), (builtins.tuple, (X,), {}),
    # helpers generated code calls
    (runtime.broadcast_like, (V3, X), {}), (runtime.own_tangent, (V3, X), {}), (runtime.cast_tangent, (X, Y), {}),
    (runtime.unbroadcast, (X, V3), {}), (runtime.zero_tangent, (X,), {}),
    (runtime.stacked_tangent, ([0.3, -0.6], [0.7, -1.3]), {}),
    (runtime.field_of, ((V3, 0.5), FIELDS, "W"), {}),
    (runtime.in_place, (V3, X.astype(np.float32)[0]), {}), (runtime.in_place, (0.7, 1.3), {}),
    (runtime.keys_of, ({"a": 0.7, "b": 1.3},), {}),
    (runtime.extremum_share, (X,), {}, _extremum_share_of), (runtime.share_of, (X, Y), {}, _share_of_maximum),
    (runtime.reduced_count, (X, 0), {}),
]

# Arguments that move the output with no adjoint, refused by the compiler when they carry a derivative.
REFUSED = {(np.var, "ddof"), (np.std, "ddof"), (np.quantile, "q"), (np.percentile, "q"), (np.interp, "xp"),
           (runtime.interp_slope, "xp"),
           (runtime.quantile_tangent, "q")}

XN = np.where(np.abs(X) > 1.2, np.nan, X)                 # NaNs, but none where a whole row or column is NaN
XN[0, 0], XN[1, :] = np.nan, X[1, :] * 0.5
X4 = arr(4, 4)
X3D = arr(2, 3, 4)


def _real_parts(fn):
    """fn with its results' real parts: NumPy 2.5's eig gives complex arrays even for real eigenvalues."""
    def real(*args):
        out = fn(*args)
        return tuple(np.real(v) for v in out) if isinstance(out, tuple) else np.real(out)
    return real


def _quantile_weights_of(x):
    return runtime.quantile_weights(x, 0.3, 1, 1.0)


def _source_positions_of(x):
    return runtime.source_positions(x, np.sort(x, axis=1), 1)


SAMPLES += [
    # NumPy, more elementwise functions
    (np.fabs, (X,), {}), (np.deg2rad, (X,), {}), (np.radians, (X,), {}), (np.rad2deg, (X,), {}),
    (np.degrees, (X,), {}), (np.sinc, (X,), {}), (np.real, (X,), {}), (np.conjugate, (X,), {}),
    (np.nan_to_num, (np.array([0.5, np.nan, np.inf, -np.inf]),), {"nan": 0.3, "posinf": 2.0, "neginf": -2.0}),
    (np.logaddexp2, (X, Y), {}), (np.remainder, (3.0 * X, POS), {}), (np.fmod, (3.0 * X, POS), {}),
    (np.copysign, (X, Y), {}), (np.ldexp, (X, np.array([1, -2, 3])), {}),
    (np.clip, (X,), {"a_min": -0.5, "a_max": 0.5}), (np.clip, (X,), {"min": -0.5, "max": 0.5}),
    (np.fix, (3.0 * X,), {}), (np.imag, (X,), {}), (np.signbit, (X,), {}), (np.spacing, (X,), {}),
    # NumPy, more reductions and order statistics
    (np.cumprod, (X,), {}), (np.cumprod, (X, 1), {}), (np.nansum, (XN, 0), {}), (np.nanmean, (XN, 1), {}),
    (np.nanmax, (XN, 0), {}), (np.nanmin, (XN,), {}), (np.nanprod, (XN, 1), {}), (np.nancumsum, (XN, 0), {}),
    (np.ptp, (X,), {}), (np.ptp, (X, 1), {}), (np.median, (X,), {}), (np.median, (X, 0), {"keepdims": True}),
    (np.quantile, (X, 0.3), {}), (np.quantile, (X, np.array([0.2, 0.7]), 1), {}), (np.percentile, (X, 30.0), {}),
    (np.diff, (X,), {}), (np.diff, (X4, 2, 0), {}),
    # NumPy, more shape functions
    (np.matrix_transpose, (X,), {}), (np.rollaxis, (X3D, 2, 0), {}),
    (np.atleast_1d, (0.7,), {}), (np.atleast_2d, (V3,), {}), (np.atleast_3d, (X,), {}), (np.roll, (X, 1), {}),
    (np.rot90, (X,), {}), (np.flipud, (X,), {}), (np.fliplr, (X,), {}), (np.triu, (X,), {}), (np.tril, (X, -1), {}),
    (np.diagonal, (A33, 1), {}), (np.take, (X, np.array([0, 2, 2]), 1), {}),
    (np.take_along_axis, (X, np.argsort(X, axis=1), 1), {}), (np.sort, (X,), {}), (np.partition, (X, 1), {}),
    (np.pad, (X, 1), {}), (np.pad, (X, (1, 2), "reflect"), {}),
    (np.split, (X4, 2), {}), (np.array_split, (X, 2, 1), {}), (np.hsplit, (X4, 2), {}), (np.vsplit, (X4, 2), {}),
    (np.dsplit, (X3D, 2), {}), (np.unstack, (X,), {}), (np.append, (X, V3), {}),
    (np.column_stack, ([V3, W3],), {}), (np.dstack, ([X, Y],), {}),
    (np.trace, (A33, 1), {}), (np.trace, (X3D, 0, 1, 2), {}), (np.diag, (V3, 1), {}), (np.diagflat, (X,), {}),
    # NumPy, more functions carrying no derivative
    (np.tri, (3,), {}), (np.argpartition, (X, 1), {}), (np.nanargmax, (XN,), {}), (np.nanargmin, (XN,), {}),
    (np.isposinf, (X,), {}), (np.isneginf, (X,), {}), (np.logical_and, (X, Y), {}), (np.logical_or, (X, Y), {}),
    (np.logical_not, (X,), {}), (np.logical_xor, (X, Y), {}), (np.equal, (X, Y), {}), (np.not_equal, (X, Y), {}),
    (np.less, (X, Y), {}), (np.less_equal, (X, Y), {}), (np.greater, (X, Y), {}), (np.greater_equal, (X, Y), {}),
    (np.nonzero, (X,), {}), (np.flatnonzero, (X,), {}), (np.argwhere, (X,), {}),
    (np.searchsorted, (np.sort(V3), 0.1), {}), (np.digitize, (X, np.array([-1.0, 0.0, 1.0])), {}),
    (np.floor_divide, (3.0 * X, POS), {}),
    # helpers generated code calls
    (runtime.unreduce, (arr(3), X, 0, False), {}), (runtime.bound_or, (0.3, -np.inf), {}),
    (runtime.prod_of_others, (X, 1), {}), (runtime.slogdet_tangent, (A33, SPD, tuple(np.linalg.slogdet(SPD))), {}),
    (runtime.solve_like, (A33, V3, V3), {}), (runtime.apply_like, (A33, V3, V3), {}),
    (runtime.lower_half_diagonal, (A33,), {}), (runtime.mirror_lower, (A33,), {}), (runtime.to_last, (X, 0), {}),
    (runtime.from_last, (arr(3, 2), X, 0), {}), (runtime.quantile_tangent, (Y, X, 0.3, 1, False, 1), {}),
    (runtime.quantile_weights, (X,), {}, _quantile_weights_of),
    (runtime.source_positions, (X,), {}, _source_positions_of), (runtime.rollaxis_destination, (3, 2, 0), {}),
    (runtime.pad_mode, ("reflect",), {}),
    # NumPy's linear algebra, more of it
    (np.kron, (X, A33), {}), (np.cross, (X, V3), {}), (np.linalg.cross, (V3, W3), {}), (np.vecdot, (X, Y), {}),
    (np.linalg.vecdot, (X, V3), {}), (np.linalg.matmul, (X, B), {}), (np.linalg.outer, (V3, W3), {}),
    (np.linalg.tensordot, (X, Y), {}), (np.linalg.matrix_transpose, (X,), {}), (np.linalg.diagonal, (A33,), {}),
    (np.linalg.trace, (A33,), {"offset": 1}), (np.linalg.multi_dot, ([V3, A33, B],), {}),
    (np.linalg.norm, (V3, 3), {}), (np.linalg.norm, (X, "nuc"), {}), (np.linalg.norm, (X, np.inf, 1), {}),
    (np.linalg.vector_norm, (X,), {"ord": 3, "axis": 0}), (np.linalg.matrix_norm, (X,), {"ord": 2}),
    (np.linalg.svd, (X.T,), {"full_matrices": False}), (np.linalg.svd, (A33,), {"compute_uv": False}),
    (np.linalg.svdvals, (X,), {}), (np.linalg.eigh, (SPD,), {}), (np.linalg.eigvalsh, (A33,), {}),
    (np.linalg.eig, (SPD + A33,), {}, _real_parts(np.linalg.eig)),
    (np.linalg.eigvals, (SPD + A33,), {}, _real_parts(np.linalg.eigvals)), (np.linalg.qr, (X.T,), {}),
    (np.linalg.pinv, (X,), {}), (np.linalg.lstsq, (arr(5, 3), arr(5)), {}), (np.linalg.matrix_power, (A33, 3), {}),
    (np.linalg.matrix_rank, (X,), {}), (runtime.norm_axes, (X, 2, 1), {}),
    (runtime.norm_slope, (X, 3, 1), {}), (runtime.norm_slope, (X, "nuc", None), {}),
    (runtime.singular_vectors, (X.T, False), {}), (runtime.eigenvectors_of_symmetric, (SPD, "L"), {}),
    (runtime.symmetric_read, (A33, "U"), {}),
    (runtime.solve_matrix, (A33, False, "sym", True), {}), (runtime.op_triangle, (A33, 1, True, True), {}),
    (runtime.triangular_system, (A33, 0, False, True), {}), (runtime.as_lower, (A33, False), {}),
    (runtime.uplo, (True,), {}), (runtime.covariance_matrix, (A33, V3), {}),
    (np.interp, (arr(5), np.array([-1.0, 0.0, 0.8, 2.0]), V3.tolist() + [0.2]), {}),
    (np.asarray, (X,), {}), (np.asanyarray, ([0.3, -0.7],), {}), (np.ascontiguousarray, (X,), {}),
    (np.asfortranarray, (X,), {}), (np.cumulative_sum, (X,), {"axis": 1}), (np.cumulative_prod, (V3,), {}),
    (runtime.interp_slope, (arr(5), np.array([-1.0, 0.0, 0.8, 2.0]), np.array([0.3, 1.2, -0.4, 0.9])), {}),
    (np.select, ([X > 0.5, X < -0.5], [X, Y]), {"default": 0.3}), (runtime.none_chosen, ([X > 0.5],), {}),
    (runtime.select_tangent, ([X > 0.5, X < -0.5], [Y, X], [X, Y], X), {}),
    (np.convolve, (arr(5), V3), {}), (np.correlate, (arr(5), V3), {"mode": "same"}),
]
if hasattr(np, "row_stack"):
    SAMPLES.append((np.row_stack, ([X, Y],), {}))

try:                        # SciPy's rules are registered when SciPy is imported (an optional dependency)
    import scipy.special as sp
except ImportError:
    sp = None
if sp is not None:
    PROB = arr(2, 3, lo=0.1, hi=0.9)
    SAMPLES += [
        (sp.erf, (X,), {}), (sp.erfc, (X,), {}), (sp.erfinv, (UNIT,), {}), (sp.erfcinv, (PROB,), {}),
        (sp.erfcx, (X,), {}), (sp.erfi, (X,), {}), (sp.dawsn, (X,), {}), (sp.ndtr, (X,), {}), (sp.log_ndtr, (X,), {}),
        (sp.ndtri, (PROB,), {}), (sp.gamma, (POS,), {}), (sp.gammaln, (POS,), {}), (sp.digamma, (POS,), {}),
        (sp.polygamma, (1, POS), {}), (sp.rgamma, (X,), {}), (sp.multigammaln, (3.3, 3), {}),
        (sp.gammainc, (1.7, POS), {}), (sp.gammaincc, (1.7, POS), {}), (sp.beta, (POS, 1.3), {}),
        (sp.betaln, (POS, 1.3), {}), (sp.betainc, (1.5, 2.5, PROB), {}), (sp.expit, (X,), {}), (sp.logit, (PROB,), {}),
        (sp.log_expit, (X,), {}), (sp.logsumexp, (X,), {}), (sp.logsumexp, (X, 1), {"b": POS, "keepdims": True}),
        (sp.softmax, (X,), {}), (sp.softmax, (X, 1), {}), (sp.log_softmax, (X, 0), {}), (sp.xlogy, (X, POS), {}),
        (sp.xlog1py, (X, POS), {}), (sp.entr, (POS,), {}), (sp.rel_entr, (POS, 1.3), {}), (sp.kl_div, (POS, 1.3), {}),
        (sp.i0, (X,), {}), (sp.i1, (X,), {}), (sp.iv, (1.5, POS), {}), (sp.i0e, (X,), {}), (sp.i1e, (X,), {}),
        (sp.ive, (1.5, POS), {}), (sp.j0, (X,), {}), (sp.j1, (X,), {}), (sp.jv, (1.5, POS), {}), (sp.y0, (POS,), {}),
        (sp.y1, (POS,), {}), (sp.yv, (1.5, POS), {}), (sp.k0, (POS,), {}), (sp.k1, (POS,), {}), (sp.kv, (1.5, POS), {}),
        (sp.k0e, (POS,), {}), (sp.k1e, (POS,), {}), (sp.kve, (1.5, POS), {}), (sp.gammasgn, (X,), {}),
    ]
    from scipy import stats
    for dist, args in ((stats.norm, (X, 0.2, 1.3)), (stats.cauchy, (X, 0.2, 1.3)), (stats.logistic, (X, 0.2, 1.3)),
                       (stats.laplace, (X, 0.2, 1.3)), (stats.expon, (POS + 0.3, 0.2, 1.3)),
                       (stats.uniform, (POS, 0.2, 1.7)), (stats.t, (X, 3.5, 0.2, 1.3)),
                       (stats.gamma, (POS + 0.3, 2.5, 0.1, 1.3)), (stats.chi2, (POS + 0.3, 3.5, 0.1, 1.3)),
                       (stats.beta, (PROB, 2.5, 1.5, -0.1, 1.3))):
        SAMPLES += [(getattr(dist, m), args, {}) for m in ("logpdf", "pdf", "logcdf", "cdf", "logsf", "sf")]
        REFUSED |= {(getattr(dist, m), p) for m in ("logcdf", "cdf", "logsf", "sf")
                    for p in (dist.shapes.split(", ") if dist.shapes else ())}
    COUNTS = np.array([0, 1, 3, 6])                  # integers: not perturbed (they move the output only by jumps)

    def _on_the_simplex(method):
        return lambda x, alpha: method(x / np.sum(x), alpha)     # perturbed quantiles kept summing to 1

    SAMPLES += [(getattr(stats.poisson, m), (COUNTS, 2.5), {})
                for m in ("logpmf", "pmf", "logcdf", "cdf", "logsf", "sf")]
    SAMPLES += [(stats.multivariate_normal.logpdf, (arr(4, 3), V3, SPD), {}),
                (stats.multivariate_normal.pdf, (V3, W3, SPD), {}),
                (stats.dirichlet.logpdf, (np.array([0.2, 0.3, 0.5]), POS[0]), {},
                 _on_the_simplex(stats.dirichlet.logpdf)),
                (stats.dirichlet.pdf, (np.array([0.2, 0.3, 0.5]), POS[0]), {}, _on_the_simplex(stats.dirichlet.pdf)),
                (runtime.mvn_samples_shape, (V3, W3, SPD), {})]
    from scipy import linalg
    TRI = np.triu(A33) + np.eye(3)
    SAMPLES += [(linalg.inv, (A33,), {}), (linalg.det, (A33,), {}), (linalg.solve, (SPD, V3), {"assume_a": "pos"}),
                (linalg.solve_triangular, (TRI, V3), {"trans": 1}), (linalg.cholesky, (SPD,), {}),
                (linalg.cho_factor, (SPD,), {"lower": True}),
                (linalg.cho_solve, (tuple(linalg.cho_factor(SPD)), V3), {}), (linalg.lu_factor, (A33,), {}),
                (linalg.lu_solve, (tuple(linalg.lu_factor(A33)), V3), {}), (linalg.expm, (A33,), {}),
                (linalg.sqrtm, (SPD,), {}), (linalg.solve_sylvester, (SPD, A33, B[:, :3]), {})]
    from scipy.integrate import odeint

    def _rotation(y, t, k, w):
        return -k * y + np.sin(w * t) * y[::-1]

    SAMPLES += [(odeint, (_rotation, np.array([1.0, -0.5]), np.array([0.0, 0.5, 1.0])), {"args": (0.7, 1.3)})]
    from scipy.integrate import solve_ivp

    def _rotation_time_first(t, y, k, w):
        return -k * y + np.sin(w * t) * y[::-1]

    def _trajectory(*args, **kwargs):
        return solve_ivp(*args, **kwargs).y        # sol.y is what is differentiated, the other fields carry none

    # t_eval strictly inside t_span (its perturbed times must stay there); the times move the output and
    # carry no derivative: refused when they depend on a differentiated input
    SAMPLES += [(solve_ivp, (_rotation_time_first, (0.0, 1.0), np.array([1.0, -0.5])),
                 {"t_eval": np.array([0.2, 0.5, 0.8]), "args": (0.7, 1.3)}, _trajectory)]
    REFUSED |= {(solve_ivp, "t_span"), (solve_ivp, "t_eval")}
    from scipy import signal
    SAMPLES += [(signal.convolve, (X, A33), {}), (signal.correlate, (X, A33), {"mode": "same"}),
                (signal.fftconvolve, (X, A33), {}), (signal.oaconvolve, (X, A33), {"mode": "same"}),
                (signal.convolve2d, (X, A33), {}), (signal.correlate2d, (X, A33), {"mode": "same"})]
    # shape parameters and orders whose derivatives SciPy does not expose: refused when they carry one
    REFUSED |= {(sp.gammainc, "a"), (sp.gammaincc, "a"), (sp.betainc, "a"), (sp.betainc, "b"), (sp.iv, "v"),
                (sp.ive, "v"), (sp.jv, "v"), (sp.yv, "v"), (sp.kv, "v"), (sp.kve, "v")}

# Primitives whose output values are unspecified (only their shape is compared).
UNSPECIFIED = {np.empty, np.empty_like}


class Slot:
    """A marker for one argument of a sample call: bound to a rule's signature, it says which parameter
    the argument lands on."""

    def __init__(self, key):
        self.key = key

    def __repr__(self):
        return f"Slot({self.key!r})"


def _is_float(v):
    return (isinstance(v, float) or isinstance(v, np.floating)
            or (isinstance(v, np.ndarray) and v.dtype.kind == "f"))


def float_slots(args, kwargs):
    """(key, element) of every float-valued argument: element None for the argument itself, k for the k-th
    element of a list or tuple argument."""
    out = []
    for key, v in list(enumerate(args)) + list(kwargs.items()):
        if _is_float(v):
            out.append((key, None))
        elif isinstance(v, (list, tuple)):
            out += [(key, k) for k, e in enumerate(v) if _is_float(e)]
    return out


def numeric_leaves(value):
    """The output as one float vector (bools and integers included; strings, dtypes and None left out)."""
    if isinstance(value, (tuple, list)):
        parts = [numeric_leaves(v) for v in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(float).ravel()
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return np.array([float(value)])
    return np.zeros(0)


def _moved(args, kwargs, key, element, step):
    args, kwargs = list(args), dict(kwargs)
    container = args if isinstance(key, int) else kwargs
    value = container[key]
    if element is None:
        container[key] = value + step
    else:
        items = list(value)
        items[element] = items[element] + step
        container[key] = type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return args, kwargs


def moves(sample, key, element):
    """Whether perturbing one float argument of `sample` moves its output (central differences, float64)."""
    prim, args, kwargs, fn = sample
    value = (args[key] if isinstance(key, int) else kwargs[key])
    value = value if element is None else value[element]
    direction = RNG.standard_normal(np.shape(value)) if np.ndim(value) else 1.0
    hi = fn(*_moved(args, kwargs, key, element, EPS * direction)[0], **_moved(args, kwargs, key, element, EPS * direction)[1])
    lo = fn(*_moved(args, kwargs, key, element, -EPS * direction)[0], **_moved(args, kwargs, key, element, -EPS * direction)[1])
    if prim in UNSPECIFIED:
        return np.shape(hi) != np.shape(lo)
    hi, lo = numeric_leaves(hi), numeric_leaves(lo)
    assert hi.shape == lo.shape, f"{_name(prim)}: the output's size jumps at this sample; move the sample"
    assert np.all(np.isfinite(hi)) and np.all(np.isfinite(lo)), f"{_name(prim)}: non-finite output at this sample"
    return bool(np.any(np.abs(hi - lo) / (2 * EPS) > MOVES))


def _samples():
    out = []
    for entry in SAMPLES:
        prim, args, kwargs = entry[:3]
        out.append((prim, args, kwargs, entry[3] if len(entry) > 3 else prim))
    return out


def _name(prim):
    return f"{getattr(prim, '__module__', '') or ''}.{getattr(prim, '__name__', repr(prim))}"


def binding_rule(prim, args, kwargs):
    """(the rule the compiler would choose for this call, {slot key: parameter name}), or (None, {})."""
    markers = [Slot(i) for i in range(len(args))]
    keywords = {k: Slot(k) for k in kwargs}
    for rule in RULES.get(prim, []):
        params = list(rule.signature.parameters.values())[1:]
        if any(p.kind is p.VAR_KEYWORD for p in params):
            continue
        try:
            bound = rule.signature.replace(parameters=params).bind(*markers, **keywords)
        except TypeError:
            continue
        where = {}
        for name, value in bound.arguments.items():
            for marker in (value if isinstance(value, tuple) else (value,)):
                where[marker.key] = name
        return rule, where
    return None, {}


def tangent_carries(prim, rule, args, kwargs):
    """Parameters (named as in the adjoint rule) the tangent rule of this call has a term for, or a string
    saying why there is no tangent."""
    why = tangents.covers(prim, rule)
    if why is not None:
        return why
    entry = tangents.lookup(prim)
    if isinstance(entry, tangents.Elementwise):
        return {p for p, _ in tangents.from_adjoint(rule)[1]}
    if isinstance(entry, (tangents.Linear, tangents.Bilinear)):
        return set(entry.names(rule))
    _, where = binding_rule(prim, args, kwargs)
    markers = [Slot(i) for i in range(len(args))]
    keywords = {k: Slot(k) for k in kwargs}
    for template in entry:
        params = list(template.signature.parameters.values())[1:]
        try:
            bound = template.signature.replace(parameters=params).bind(*markers, **keywords)
        except TypeError:
            continue
        carried = {p for p, _ in tangents._split_template(template)[1]}
        keys = set()
        for name, value in bound.arguments.items():
            if name in carried:
                keys |= {m.key for m in (value if isinstance(value, tuple) else (value,))}
        return {where[k] for k in keys if k in where}
    return "no tangent template binds this call"


# ---------------------------------------------------------------------------------------------
# The walk: every rule and nondifferentiable primitive has a sample
# ---------------------------------------------------------------------------------------------

def unsampled():
    covered = {id(binding_rule(s[0], s[1], s[2])[0]) for s in _samples()}
    sampled = {s[0] for s in _samples()}         # by equality: each `stats.norm.logpdf` is a new bound method
    missing = [f"{_name(prim)} with ({', '.join(rule.inputs)})" for prim, rules in RULES.items() for rule in rules
               if id(rule) not in covered or prim not in sampled]
    missing += [f"{_name(prim)} (nondifferentiable)" for prim in NONDIFF if prim not in sampled]
    return missing


def test_every_rule_and_nondifferentiable_primitive_has_a_sample():
    missing = unsampled()
    assert not missing, "primitives or rule forms without a sample in SAMPLES:\n" + "\n".join(missing)


def test_every_sample_is_a_registered_primitive_and_binds_a_rule():
    for prim, args, kwargs, _ in _samples():
        assert prim in RULES or prim in NONDIFF, f"{_name(prim)} has no entry in the rule table"
        if prim in RULES:
            assert binding_rule(prim, args, kwargs)[0] is not None, f"no rule of {_name(prim)} binds {args}"


def test_the_walk_sees_rules_by_signature_and_would_see_a_missing_sample():
    # guards the walk itself: it reads rules per signature, and a sample list without np.sum's axis form fails it
    assert len(RULES[np.sum]) == 2 and len(RULES[np.arange]) == 2
    global SAMPLES
    kept = SAMPLES
    try:
        SAMPLES = [s for s in kept if not (s[0] is np.sum and len(s[1]) + len(s[2]) > 1)]
        assert any("sum" in m and "axis" in m for m in unsampled())
    finally:
        SAMPLES = kept


# ---------------------------------------------------------------------------------------------
# The property: moving arguments have derivatives (or are refused), inert ones do not move
# ---------------------------------------------------------------------------------------------

def _sample_id(sample):
    prim, args, kwargs, _ = sample
    described = [type(a).__name__ if not isinstance(a, np.ndarray) else f"{a.shape}" for a in args]
    return f"{getattr(prim, '__name__', prim)}({', '.join(described + [f'{k}=' for k in kwargs])})"


def check_sample(sample):
    """The violations of the property at one sample, as readable lines (empty: none), and the
    (rule, parameter) pairs that moved."""
    prim, args, kwargs, _ = sample
    problems, moved = [], set()
    rule, where = binding_rule(prim, args, kwargs) if prim in RULES else (None, {})
    for key, element in float_slots(args, kwargs):
        if not moves(sample, key, element):
            continue
        what = f"argument {key!r}" + ("" if element is None else f"[{element}]")
        if prim in NONDIFF:
            problems.append(f"{_name(prim)} is declared nondifferentiable, but its {what} moves the output")
            continue
        param = where[key]
        moved.add((id(rule), param))
        if param in rule.inert:
            problems.append(f"{_name(prim)}: '{param}' is declared inert, but moves the output")
        elif param in rule.differentiable():
            carried = tangent_carries(prim, rule, args, kwargs)
            if isinstance(carried, str) or param not in carried:
                problems.append(f"{_name(prim)}: '{param}' has an adjoint but no tangent ({carried})")
        elif (prim, param) not in REFUSED:
            problems.append(f"{_name(prim)}: '{param}' moves the output and the rule {rule.template.__name__} "
                            f"writes no adjoint for it")
    return problems, moved


@pytest.mark.parametrize("sample", _samples(), ids=[_sample_id(s) for s in _samples()])
def test_arguments_that_move_the_output_have_a_derivative_in_both_modes_or_are_refused(sample):
    problems, _ = check_sample(sample)
    assert not problems, "\n".join(problems)


def test_every_argument_a_rule_differentiates_moves_the_output_in_some_sample():
    moved = set()
    for sample in _samples():
        moved |= check_sample(sample)[1]
    idle = [f"{_name(prim)}: '{p}' of {rule.template.__name__}" for prim, rules in RULES.items() for rule in rules
            for p in rule.differentiable() if (id(rule), p) not in moved]
    assert not idle, "adjoints for arguments no sample moves (a wrong rule, or a sample at a flat point):\n" + \
        "\n".join(idle)


def test_known_refusals_are_not_declared_inert():
    for prim, param in REFUSED:
        assert all(param not in rule.inert and param not in rule.differentiable()
                   for rule in RULES[prim] if param in rule.inputs)


def test_the_property_fails_for_a_rule_that_loses_an_adjoint(monkeypatch):
    # the property can fail: np.clip without the adjoint line of its upper bound is caught at the sample
    rule = RULES[np.clip][0]
    monkeypatch.setattr(tangents, "_DERIVED", dict(tangents._DERIVED))     # no derived tangent of the cut rule kept
    monkeypatch.setattr(rule, "body", [s for s in rule.body if adjoint_of(s.targets[0]) != "a_max"])
    assert "a_max" not in rule.differentiable() and "a_max" in rule.inputs
    problems, _ = check_sample(next(s for s in _samples() if s[0] is np.clip))
    assert any("'a_max' moves the output" in p for p in problems)


def test_the_property_fails_for_an_inert_argument_that_moves(monkeypatch):
    rule = RULES[np.where][0]
    monkeypatch.setattr(rule, "inert", frozenset({"cond", "b"}))
    problems, _ = check_sample(next(s for s in _samples() if s[0] is np.where and s[1][0].dtype == bool))
    assert any("'b' is declared inert" in p for p in problems)
