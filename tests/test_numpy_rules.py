"""Every NumPy and np.linalg gradient rule, checked against central finite differences in float64.

`NUMPY_RULES` is the table: one entry per (primitive, form), each run over several shapes,
broadcasting combinations and axis variants. `test_every_registered_numpy_rule_has_a_test`
walks `s2sgrad.rules.RULES`, so registering a rule without an entry here fails the suite.
Then: dtypes (float32/float16 adjoints stay in their dtype), the runtime helpers on their own,
and hypothesis property tests over random shapes for the elementwise, reduction and shape families.

Tolerance: `assert_grad_matches`' default (rtol 1e-5, atol 1e-6) unless an entry says otherwise.
Inputs stay away from ties (max, min, maximum, clip) and from the edges of each domain.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import s2sgrad
from gradcheck import assert_grad_matches, numeric_grad, uncovered
from s2sgrad import runtime
from s2sgrad.rules import RULES

RNG = np.random.default_rng(20240611)


def arr(*shape, lo=-1.5, hi=1.5):
    return RNG.uniform(lo, hi, shape)


def pos(*shape):
    return arr(*shape, lo=0.4, hi=1.8)


# ---------------------------------------------------------------------------------------------
# Elementwise, one argument
# ---------------------------------------------------------------------------------------------

def np_sin(x):
    return np.sum(np.sin(x))


def np_cos(x):
    return np.sum(np.cos(x))


def np_tan(x):
    return np.sum(np.tan(x))


def np_arcsin(x):
    return np.sum(np.arcsin(x))


def np_arccos(x):
    return np.sum(np.arccos(x))


def np_arctan(x):
    return np.sum(np.arctan(x))


def np_sinh(x):
    return np.sum(np.sinh(x))


def np_cosh(x):
    return np.sum(np.cosh(x))


def np_tanh(x):
    return np.sum(np.tanh(x))


def np_arcsinh(x):
    return np.sum(np.arcsinh(x))


def np_arccosh(x):
    return np.sum(np.arccosh(x))


def np_arctanh(x):
    return np.sum(np.arctanh(x))


def np_exp(x):
    return np.sum(np.exp(x))


def np_exp2(x):
    return np.sum(np.exp2(x))


def np_expm1(x):
    return np.sum(np.expm1(x))


def np_log(x):
    return np.sum(np.log(x))


def np_log2(x):
    return np.sum(np.log2(x))


def np_log10(x):
    return np.sum(np.log10(x))


def np_log1p(x):
    return np.sum(np.log1p(x))


def np_sqrt(x):
    return np.sum(np.sqrt(x))


def np_cbrt(x):
    return np.sum(np.cbrt(x))


def np_square(x):
    return np.sum(np.sin(np.square(x)))


def np_abs(x):
    return np.sum(np.sin(np.abs(x)))


def np_negative(x):
    return np.sum(np.sin(np.negative(x)))


def np_positive(x):
    return np.sum(np.sin(np.positive(x)))


def np_reciprocal(x):
    return np.sum(np.sin(np.reciprocal(x)))


def np_sum_weighted(x):
    return np.sum(x * x * 0.5 + x)


# ---------------------------------------------------------------------------------------------
# Elementwise, two or three arguments (with broadcasting)
# ---------------------------------------------------------------------------------------------

def np_add(a, b):
    return np.sum(np.sin(np.add(a, b)))


def np_subtract(a, b):
    return np.sum(np.sin(np.subtract(a, b)))


def np_multiply(a, b):
    return np.sum(np.sin(np.multiply(a, b)))


def np_divide(a, b):
    return np.sum(np.sin(np.divide(a, b)))


def np_true_divide(a, b):
    return np.sum(np.sin(np.true_divide(a, b)))


def np_power(a, b):
    return np.sum(np.power(a, b))


def np_float_power(a, b):
    return np.sum(np.float_power(a, b))


def np_maximum(a, b):
    return np.sum(np.sin(np.maximum(a, b)))


def np_minimum(a, b):
    return np.sum(np.sin(np.minimum(a, b)))


def np_fmax(a, b):
    return np.sum(np.sin(np.fmax(a, b)))


def np_fmin(a, b):
    return np.sum(np.sin(np.fmin(a, b)))


def np_arctan2(a, b):
    return np.sum(np.arctan2(a, b))


def np_hypot(a, b):
    return np.sum(np.sin(np.hypot(a, b)))


def np_logaddexp(a, b):
    return np.sum(np.sin(np.logaddexp(a, b)))


def np_where(a, b):
    return np.sum(np.sin(np.where(a > 0.0, a, b)))


def np_clip(x, lo, hi):
    return np.sum(np.sin(np.clip(x, lo, hi)))


def np_clip_no_lower_bound(x):
    return np.sum(np.sin(np.clip(x, None, 0.3)))


def np_clip_no_upper_bound(x):
    return np.sum(np.sin(np.clip(x, -0.3, None)))


def np_clip_const(x):
    return np.sum(np.sin(np.clip(x, -0.5, 0.8)))


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------

def np_sum(x):
    return np.sum(x)


def np_sum_all(x):
    return np.sin(np.sum(x))


def np_sum_0(x):
    return np.sum(np.sin(np.sum(x, axis=0)))


def np_sum_last_keep(x):
    return np.sum(np.sin(np.sum(x, axis=-1, keepdims=True)) * x)


def np_sum_tuple(x):
    return np.sum(np.sin(np.sum(x, axis=(0, 2))))


def np_sum_none_keep(x):
    return np.sum(np.sin(np.sum(x, axis=None, keepdims=True) * x))


def np_mean(x):
    return np.sin(np.mean(x))


def np_mean_0(x):
    return np.sum(np.sin(np.mean(x, axis=0)))


def np_mean_tuple_keep(x):
    return np.sum(np.sin(np.mean(x, axis=(0, -1), keepdims=True) * x))


def np_prod(x):
    return np.sin(np.prod(x))


def np_prod_last(x):
    return np.sum(np.sin(np.prod(x, axis=-1)))


def np_prod_tuple_keep(x):
    return np.sum(np.sin(np.prod(x, axis=(0, 1), keepdims=True)))


def np_max(x):
    return np.sin(np.max(x))


def np_max_1(x):
    return np.sum(np.sin(np.max(x, axis=1)))


def np_amax_keep(x):
    return np.sum(np.sin(np.amax(x, axis=-1, keepdims=True) * x))


def np_amax(x):
    return np.sin(np.amax(x))


def np_min(x):
    return np.sin(np.min(x))


def np_min_tuple(x):
    return np.sum(np.sin(np.min(x, axis=(0, 2))))


def np_amin(x):
    return np.sin(np.amin(x))


def np_amin_0(x):
    return np.sum(np.sin(np.amin(x, axis=0)))


def np_var(x):
    return np.sin(np.var(x))


def np_var_0_ddof(x):
    return np.sum(np.sin(np.var(x, axis=0, ddof=1)))


def np_var_tuple_keep(x):
    return np.sum(np.sin(np.var(x, axis=(-1, 0), keepdims=True) * x))


def np_std(x):
    return np.sin(np.std(x))


def np_std_last_ddof(x):
    return np.sum(np.sin(np.std(x, axis=-1, ddof=1)))


def np_std_none_keep(x):
    return np.sum(np.sin(np.std(x, axis=None, keepdims=True) * x))


def np_cumsum(x):
    return np.sum(np.sin(np.cumsum(x)))


def np_cumsum_0(x):
    return np.sum(np.sin(np.cumsum(x, axis=0)))


def np_cumsum_last(x):
    return np.sum(np.sin(np.cumsum(x, axis=-1)))


def np_norm(x):
    return np.sin(np.linalg.norm(x))


def np_norm_axis(x):
    return np.sum(np.sin(np.linalg.norm(x, axis=-1)))


def np_norm_pair_keep(x):
    return np.sum(np.sin(np.linalg.norm(x, axis=(0, 1), keepdims=True) * x))


# ---------------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------------

def np_copy(x):
    return np.sum(np.sin(np.copy(x)) * x)


SLOGDET_A = np.array([[2.0, 0.3, -0.1], [0.5, -1.5, 0.2], [0.1, 0.4, 1.1]])


def la_slogdet_unpacked(a):
    sign, logdet = np.linalg.slogdet(a)
    return logdet * 2.0 + sign


def la_slogdet_indexed(a):
    return np.sum(np.linalg.slogdet(a @ np.swapaxes(a, -1, -2) + np.eye(3))[1])


def np_array_of_values(x):
    v = np.array([x[0] * x[1], np.sin(x[2]), 2.0])
    return np.sum(v * np.array([1.0, -2.0, 0.5]))


def np_array_of_arrays(x):
    return np.sum(np.array([x, x * x], dtype=float) * 1.5)


def np_copy_method(x):
    y = x.copy()
    y[0] = 2.0
    return np.sum(y * x)


def np_astype_method(x):
    return np.sum(np.sin(x.astype(np.float64)).astype(float) * x)


def np_flatten_method(x):
    return np.sum(x.flatten() * np.arange(np.size(x)))


def np_r_of_values(x):
    return np.sum(np.r_[x, 2.0 * x, np.sum(x)] ** 2) if np.ndim(x) == 1 else np.sum(np.r_[x, np.sin(x)] ** 3)


def np_c_of_values(x):
    return np.sum(np.c_[x, np.sin(x)] ** 2 * np.arange(2 * np.shape(x)[-1] if np.ndim(x) > 1 else 2))


def np_reshape(x):
    return np.sum(np.sin(np.reshape(x, (4, -1))) * np.arange(1.0, 5.0)[:, None])


def np_ravel(x):
    return np.sum(np.sin(np.ravel(x)) * np.arange(np.size(x)))


def np_transpose(x):
    return np.sum(np.sin(np.transpose(x)) * np.arange(np.shape(x)[0]))


def np_transpose_axes(x):
    return np.sum(np.sin(np.transpose(x, (1, 2, 0))) * np.arange(np.shape(x)[0]))


def np_swapaxes(x):
    return np.sum(np.sin(np.swapaxes(x, 0, -1)) * np.arange(np.shape(x)[0]))


def np_moveaxis(x):
    return np.sum(np.sin(np.moveaxis(x, 0, -1)) * np.arange(np.shape(x)[0]))


def np_expand_dims(x):
    return np.sum(np.sin(np.expand_dims(x, 1)) * x[:, None])


def np_squeeze(x):
    return np.sum(np.sin(np.squeeze(x)) * np.arange(3.0))


def np_squeeze_axis(x):
    return np.sum(np.sin(np.squeeze(x, 0)) * np.arange(3.0))


def np_broadcast_to(x):
    return np.sum(np.sin(np.broadcast_to(x, (2, 4, 3))) * np.arange(3.0))


def np_tile(x):
    return np.sum(np.sin(np.tile(x, (2, 1, 3))))


def np_tile_int(x):
    return np.sum(np.sin(np.tile(x, 2)) * np.arange(8.0))


def np_repeat(x):
    return np.sum(np.sin(np.repeat(x, 2)) * np.arange(12.0))


def np_repeat_axis(x):
    return np.sum(np.sin(np.repeat(x, 3, axis=-1)))


def np_flip(x):
    return np.sum(np.sin(np.flip(x)) * np.arange(np.shape(x)[-1]))


def np_flip_axis(x):
    return np.sum(np.sin(np.flip(x, 0)) * np.arange(np.shape(x)[-1]))


def np_concatenate(a, b):
    return np.sum(np.sin(np.concatenate([a, b, a], axis=-1)))


def np_concatenate_none(a, b):
    return np.sum(np.sin(np.concatenate([a, b], axis=None)) * np.arange(12.0))


def np_stack(a, b):
    return np.sum(np.sin(np.stack([a, b], axis=1)) * 1.5)


def np_hstack(a, b):
    return np.sum(np.sin(np.hstack([a, b])) * 1.3)


def np_vstack(a, b):
    return np.sum(np.sin(np.vstack([a, b])) * np.arange(3.0))


def np_full(c):
    return np.sum(np.sin(np.full((2, 3), c)) * np.arange(3.0))


def np_full_like(x, c):
    return np.sum(np.sin(np.full_like(x, c) * x))


def np_linspace(a, b):
    return np.sum(np.sin(np.linspace(a, b, 5)) * np.arange(5.0).reshape((5,) + (1,) * np.ndim(a)))


def np_linspace_open(a, b):
    return np.sum(np.sin(np.linspace(a, b, 4, endpoint=False)) * np.arange(4.0))


def np_arange_from(a):
    return np.sum(np.sin(np.arange(a, 4.0)) * np.arange(4.0))


def np_arange_by(a, step):
    return np.sum(np.sin(np.arange(a, 3.0, step)))


# ---------------------------------------------------------------------------------------------
# Linear algebra
# ---------------------------------------------------------------------------------------------

def la_dot(a, b):
    return np.sum(np.sin(np.dot(a, b)))


def la_matmul(a, b):
    return np.sum(np.sin(np.matmul(a, b)))


def la_vdot(a, b):
    return np.sin(np.vdot(a, b))


def la_inner(a, b):
    return np.sum(np.sin(np.inner(a, b)))


def la_outer(a, b):
    return np.sum(np.sin(np.outer(a, b)))


def la_tensordot(a, b):
    return np.sum(np.sin(np.tensordot(a, b)))


def la_tensordot_1(a, b):
    return np.sum(np.sin(np.tensordot(a, b, axes=1)))


def la_tensordot_pairs(a, b):
    return np.sum(np.sin(np.tensordot(a, b, axes=([0, 2], [1, 0]))))


def la_einsum_matmul(a, b):
    return np.sum(np.sin(np.einsum("ij,jk->ik", a, b)))


def la_einsum_batch(a, b):
    return np.sum(np.sin(np.einsum("bij,bj->bi", a, b)))


def la_einsum_reduce(a, b):
    return np.sum(np.sin(np.einsum("ij,k->i", a, b)))


def la_einsum_one(a):
    return np.sum(np.sin(np.einsum("ijk->ki", a)))


def la_einsum_three(a, b, c):
    return np.sum(np.sin(np.einsum("ij,jk,k->i", a, b, c)))


def la_trace(a):
    return np.sin(np.trace(a))


def la_trace_stack(a):
    return np.sum(np.sin(np.trace(a)))


def la_diag(v):
    return np.sum(np.sin(np.diag(v)) * 1.3)


def la_inv(a):
    return np.sum(np.sin(np.linalg.inv(a)))


def la_solve(a, b):
    return np.sum(np.sin(np.linalg.solve(a, b)))


def la_det(a):
    return np.sum(np.sin(np.linalg.det(a)))


def la_cholesky(a):
    return np.sum(np.sin(np.linalg.cholesky(a)))


def la_cholesky_of_gram(b):
    return np.sum(np.sin(np.linalg.cholesky(b @ np.swapaxes(b, -1, -2) + 0.5 * np.eye(3))))


def _spd(*batch, n=3):
    b = arr(*batch, n, n)
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)


def _well_conditioned(*batch, n=3):
    return arr(*batch, n, n, lo=-0.5, hi=0.5) + 2.0 * np.eye(n)


X2 = arr(2, 3)
X3 = arr(3)
X234 = arr(2, 3, 4)
P234 = pos(2, 3, 4)
PAIRS = [  # (label, a, b): the broadcasting combinations every binary rule is checked on
    ("2x3,2x3", arr(2, 3), arr(2, 3)), ("3,2x3", arr(3), arr(2, 3)), ("2x1,1x3", arr(2, 1), arr(1, 3)),
    ("scalar,2x3", 0.7, arr(2, 3)), ("2x3,scalar", arr(2, 3), -0.4),
]
POS_PAIRS = [(label, np.abs(a) + 0.4, np.abs(b) + 0.4) for label, a, b in PAIRS]


def _pairs(pairs):
    return [(a, b) for _, a, b in pairs]


# (primitive, arity the case exercises, function, list of argument tuples, wrt)
NUMPY_RULES = [
    # elementwise, one argument
    (np.sin, 1, np_sin, [(X3,), (X234,)], 0),
    (np.cos, 1, np_cos, [(X3,), (X234,)], 0),
    (np.tan, 1, np_tan, [(X3,), (X2,)], 0),
    (np.arcsin, 1, np_arcsin, [(arr(3, lo=-0.9, hi=0.9),), (arr(2, 3, lo=-0.9, hi=0.9),)], 0),
    (np.arccos, 1, np_arccos, [(arr(3, lo=-0.9, hi=0.9),), (arr(2, 3, lo=-0.9, hi=0.9),)], 0),
    (np.arctan, 1, np_arctan, [(X3,), (X234,)], 0),
    (np.sinh, 1, np_sinh, [(X3,), (X2,)], 0),
    (np.cosh, 1, np_cosh, [(X3,), (X2,)], 0),
    (np.tanh, 1, np_tanh, [(X3,), (X234,)], 0),
    (np.arcsinh, 1, np_arcsinh, [(X3,), (X2,)], 0),
    (np.arccosh, 1, np_arccosh, [(arr(3, lo=1.2, hi=3.0),), (arr(2, 3, lo=1.2, hi=3.0),)], 0),
    (np.arctanh, 1, np_arctanh, [(arr(3, lo=-0.9, hi=0.9),), (arr(2, 3, lo=-0.9, hi=0.9),)], 0),
    (np.exp, 1, np_exp, [(X3,), (X234,)], 0),
    (np.exp2, 1, np_exp2, [(X3,), (X2,)], 0),
    (np.expm1, 1, np_expm1, [(X3,), (X2,)], 0),
    (np.log, 1, np_log, [(pos(3),), (P234,)], 0),
    (np.log2, 1, np_log2, [(pos(3),), (pos(2, 3),)], 0),
    (np.log10, 1, np_log10, [(pos(3),), (pos(2, 3),)], 0),
    (np.log1p, 1, np_log1p, [(arr(3, lo=-0.5, hi=2.0),), (pos(2, 3),)], 0),
    (np.sqrt, 1, np_sqrt, [(pos(3),), (P234,)], 0),
    (np.cbrt, 1, np_cbrt, [(X3,), (X2,)], 0),
    (np.square, 1, np_square, [(X3,), (X2,)], 0),
    (np.abs, 1, np_abs, [(X3,), (X234,)], 0),
    (np.negative, 1, np_negative, [(X3,), (X2,)], 0),
    (np.positive, 1, np_positive, [(X3,), (X2,)], 0),
    (np.reciprocal, 1, np_reciprocal, [(pos(3),), (-pos(2, 3),)], 0),
    # elementwise, two or three arguments
    (np.add, 2, np_add, _pairs(PAIRS), (0, 1)),
    (np.subtract, 2, np_subtract, _pairs(PAIRS), (0, 1)),
    (np.multiply, 2, np_multiply, _pairs(PAIRS), (0, 1)),
    (np.divide, 2, np_divide, _pairs(POS_PAIRS), (0, 1)),
    (np.true_divide, 2, np_true_divide, _pairs(POS_PAIRS[:2]), (0, 1)),
    (np.power, 2, np_power, _pairs(POS_PAIRS), (0, 1)),
    (np.float_power, 2, np_float_power, _pairs(POS_PAIRS[1:3]), (0, 1)),
    (np.maximum, 2, np_maximum, _pairs(PAIRS), (0, 1)),
    (np.minimum, 2, np_minimum, _pairs(PAIRS), (0, 1)),
    (np.fmax, 2, np_fmax, _pairs(PAIRS[:3]), (0, 1)),
    (np.fmin, 2, np_fmin, _pairs(PAIRS[:3]), (0, 1)),
    (np.arctan2, 2, np_arctan2, _pairs(PAIRS), (0, 1)),
    (np.hypot, 2, np_hypot, _pairs(PAIRS), (0, 1)),
    (np.logaddexp, 2, np_logaddexp, _pairs(PAIRS), (0, 1)),
    (np.where, 3, np_where, _pairs(PAIRS[:4]), (0, 1)),
    (np.clip, 3, np_clip_no_lower_bound, [(arr(2, 3),)], 0),
    (np.clip, 3, np_clip_no_upper_bound, [(arr(2, 3),)], 0),
    (np.clip, 3, np_clip, [(arr(2, 3), -0.5, 0.8), (arr(2, 3), arr(3, lo=-1.0, hi=-0.2), arr(2, 1, lo=0.2, hi=1.0)),
                           (arr(3), arr(2, 3, lo=-1.0, hi=-0.2), 0.6)], (0, 1, 2)),
    (np.clip, 3, np_clip_const, [(X3,), (X234,)], 0),
    # reductions
    (np.sum, 1, np_sum, [(X3,), (X2,)], 0),
    (np.sum, 1, np_sum_weighted, [(X3,), (X2,)], 0),
    (np.sum, 1, np_sum_all, [(X234,)], 0),
    (np.sum, 3, np_sum_0, [(X2,), (X234,)], 0),
    (np.sum, 3, np_sum_last_keep, [(X3,), (X234,)], 0),
    (np.sum, 3, np_sum_tuple, [(X234,)], 0),
    (np.sum, 3, np_sum_none_keep, [(X2,)], 0),
    (np.mean, 1, np_mean, [(X3,), (X234,)], 0),
    (np.mean, 3, np_mean_0, [(X2,), (X234,)], 0),
    (np.mean, 3, np_mean_tuple_keep, [(X234,)], 0),
    (np.prod, 1, np_prod, [(arr(3),), (pos(2, 3),)], 0),
    (np.prod, 3, np_prod_last, [(arr(2, 3),), (pos(2, 3, 4),)], 0),
    (np.prod, 3, np_prod_tuple_keep, [(arr(2, 3, 2),)], 0),
    (np.max, 1, np_max, [(X3,), (X234,)], 0),
    (np.max, 3, np_max_1, [(X2,), (X234,)], 0),
    (np.amax, 1, np_amax, [(X2,)], 0),
    (np.amax, 3, np_amax_keep, [(X3,), (X234,)], 0),
    (np.min, 1, np_min, [(X3,), (X234,)], 0),
    (np.min, 3, np_min_tuple, [(X234,)], 0),
    (np.amin, 1, np_amin, [(X2,)], 0),
    (np.amin, 3, np_amin_0, [(X2,), (X234,)], 0),
    (np.var, 1, np_var, [(X3,), (X234,)], 0),
    (np.var, 4, np_var_0_ddof, [(X2,), (X234,)], 0),
    (np.var, 4, np_var_tuple_keep, [(X234,)], 0),
    (np.std, 1, np_std, [(X3,), (X234,)], 0),
    (np.std, 4, np_std_last_ddof, [(X2,), (X234,)], 0),
    (np.std, 4, np_std_none_keep, [(X2,)], 0),
    (np.cumsum, 2, np_cumsum, [(X3,), (X2,)], 0),
    (np.cumsum, 2, np_cumsum_0, [(X2,), (X234,)], 0),
    (np.cumsum, 2, np_cumsum_last, [(X234,)], 0),
    (np.linalg.norm, 1, np_norm, [(X3,), (X2,), (X234,)], 0),
    (np.linalg.norm, 3, np_norm_axis, [(X2,), (X234,)], 0),
    (np.linalg.norm, 3, np_norm_pair_keep, [(X2,), (X234,)], 0),
    # shape
    (np.copy, 1, np_copy, [(X2,)], 0),
    (np.copy, 2, np_copy_method, [(X3,), (X2,)], 0),
    (np.array, 2, np_array_of_values, [(X3,)], 0),
    (np.linalg.slogdet, 1, la_slogdet_unpacked, [(SLOGDET_A,)], 0),
    (np.linalg.slogdet, 1, la_slogdet_indexed, [(SLOGDET_A,), (np.stack([SLOGDET_A, SLOGDET_A.T * 0.5]),)], 0),
    (np.array, 2, np_array_of_arrays, [(X3,), (X2,)], 0),
    (runtime.astype, 2, np_astype_method, [(X3,), (X2,)], 0),
    (runtime.flatten, 1, np_flatten_method, [(X3,), (X2,)], 0),
    (runtime.r_, 1, np_r_of_values, [(X3,), (X2,)], 0),
    (runtime.c_, 1, np_c_of_values, [(X3,), (X2,)], 0),
    (np.reshape, 2, np_reshape, [(X234,), (arr(4, 6),)], 0),
    (np.ravel, 1, np_ravel, [(X234,)], 0),
    (np.transpose, 1, np_transpose, [(X2,), (X234,)], 0),
    (np.transpose, 2, np_transpose_axes, [(X234,)], 0),
    (np.swapaxes, 3, np_swapaxes, [(X2,), (X234,)], 0),
    (np.moveaxis, 3, np_moveaxis, [(X234,)], 0),
    (np.expand_dims, 2, np_expand_dims, [(X3,), (X2,)], 0),
    (np.squeeze, 1, np_squeeze, [(arr(1, 3, 1),)], 0),
    (np.squeeze, 2, np_squeeze_axis, [(arr(1, 3),)], 0),
    (np.broadcast_to, 2, np_broadcast_to, [(X3,), (arr(4, 1),), (arr(1, 4, 3),)], 0),
    (np.tile, 2, np_tile, [(X3,), (X2,), (X234,)], 0),
    (np.tile, 2, np_tile_int, [(arr(4),), (arr(2, 4),)], 0),
    (np.repeat, 3, np_repeat, [(arr(6),), (X2,)], 0),
    (np.repeat, 3, np_repeat_axis, [(X2,), (X234,)], 0),
    (np.flip, 2, np_flip, [(X3,), (X234,)], 0),
    (np.flip, 2, np_flip_axis, [(X2,), (X234,)], 0),
    (np.concatenate, 2, np_concatenate, [(X2, arr(2, 4)), (X3, arr(2))], (0, 1)),
    (np.concatenate, 2, np_concatenate_none, [(X2, arr(6)), (arr(4), arr(2, 4))], (0, 1)),
    (np.stack, 2, np_stack, [(X3, arr(3)), (X2, arr(2, 3))], (0, 1)),
    (np.hstack, 1, np_hstack, [(X3, arr(2)), (X2, arr(2, 1)), (0.5, X3)], (0, 1)),
    (np.vstack, 1, np_vstack, [(X3, X2), (X2, arr(3))], (0, 1)),
    # constructors whose values move their output
    (np.full, 3, np_full, [(0.7,), (arr(3),)], 0),
    (np.full_like, 3, np_full_like, [(X2, 0.4), (X2, arr(3))], 1),
    (np.linspace, 4, np_linspace, [(0.3, 1.7), (arr(3), arr(3))], (0, 1)),
    (np.linspace, 4, np_linspace_open, [(-0.2, 1.1)], (0, 1)),
    (np.arange, 2, np_arange_from, [(0.3,)], 0),
    (np.arange, 3, np_arange_by, [(0.3, 0.7)], (0, 1)),
    # linear algebra
    (np.dot, 2, la_dot, [(X3, arr(3)), (X2, X3), (X3, arr(3, 2)), (X2, arr(3, 4)), (0.7, X2), (X2, -1.3),
                         (X234, arr(4)), (X234, arr(2, 4, 3)), (X2, arr(2, 3, 2))], (0, 1)),
    (np.matmul, 2, la_matmul, [(X3, arr(3)), (X2, X3), (X3, arr(3, 2)), (X2, arr(3, 4)), (X234, arr(4, 2)),
                               (arr(4, 2), arr(3, 2, 5)), (X234, arr(2, 4, 3)), (X3, X234[0][None])], (0, 1)),
    (np.vdot, 2, la_vdot, [(X3, arr(3)), (X2, arr(3, 2))], (0, 1)),
    (np.inner, 2, la_inner, [(X3, arr(3)), (X2, arr(4, 3)), (X234, arr(4)), (0.6, X2)], (0, 1)),
    (np.outer, 2, la_outer, [(X3, arr(4)), (X2, arr(2, 2))], (0, 1)),
    (np.tensordot, 3, la_tensordot, [(X234, arr(3, 4, 2)), (X2, arr(2, 3))], (0, 1)),
    (np.tensordot, 3, la_tensordot_1, [(X234, arr(4, 2)), (X3, arr(3))], (0, 1)),
    (np.tensordot, 3, la_tensordot_pairs, [(X234, arr(4, 2, 5))], (0, 1)),
    (np.einsum, 3, la_einsum_matmul, [(X2, arr(3, 4))], (0, 1)),
    (np.einsum, 3, la_einsum_batch, [(X234, arr(2, 4))], (0, 1)),
    (np.einsum, 3, la_einsum_reduce, [(X2, arr(4))], (0, 1)),
    (np.einsum, 2, la_einsum_one, [(X234,)], 0),
    (np.einsum, 4, la_einsum_three, [(X2, arr(3, 4), arr(4))], (0, 1, 2)),
    (np.trace, 4, la_trace, [(arr(3, 3),), (X2,)], 0),
    (np.trace, 4, la_trace_stack, [(X234,)], 0),
    (np.diag, 2, la_diag, [(X3,), (arr(3, 3),), (arr(3, 4),), (arr(4, 3),)], 0),
    (np.linalg.inv, 1, la_inv, [(_well_conditioned(),), (_well_conditioned(2),)], 0),
    (np.linalg.solve, 2, la_solve, [(_well_conditioned(), arr(3)), (_well_conditioned(), arr(3, 2)),
                                    (_well_conditioned(2), arr(3)), (_well_conditioned(2), arr(1, 3, 2))], (0, 1)),
    (np.linalg.det, 1, la_det, [(_well_conditioned(),), (_well_conditioned(2),)], 0),
    (np.linalg.cholesky, 1, la_cholesky, [(_spd(),), (_spd(2),)], 0),
    (np.linalg.cholesky, 1, la_cholesky_of_gram, [(arr(3, 3),), (arr(2, 3, 3),)], 0),
]


# ---------------------------------------------------------------------------------------------
# The rest of NumPy: more elementwise functions, NaN-ignoring reductions, order statistics, shape
# functions (each through a nonlinear function, so that second derivatives are not trivially zero)
# ---------------------------------------------------------------------------------------------

def np_fabs(x):
    return np.sum(np.sin(np.fabs(x)))


def np_deg2rad(x):
    return np.sum(np.sin(np.deg2rad(x * 60.0)) + np.cos(np.radians(x * 45.0)))


def np_rad2deg(x):
    return np.sum(np.sin(np.rad2deg(x) / 40.0) + np.cos(np.degrees(x) / 70.0))


def np_sinc(x):
    return np.sum(np.sinc(x) * x)


def np_real_conj(x):
    return np.sum(np.sin(np.real(x)) * np.conjugate(x) + np.imag(x))


def _non_finite(x):
    """x with inf above 1, -inf below -1 and NaN near 0 (where a small perturbation of x keeps them so)."""
    return np.where(x > 1.0, np.inf, np.where(x < -1.0, -np.inf, np.where(np.abs(x) < 0.1, np.nan, x)))


def np_nan_to_num(x, c):
    return np.sum(np.sin(np.nan_to_num(_non_finite(x), nan=c, posinf=2.0 * c, neginf=-3.0 * c)) + x)


def np_logaddexp2(a, b):
    return np.sum(np.sin(np.logaddexp2(a, b)))


def np_remainder(a, b):
    return np.sum(np.sin(np.remainder(a, b)) + np.cos(np.mod(a, b)))


def np_fmod(a, b):
    return np.sum(np.sin(np.fmod(a, b)))


def np_copysign(a, b):
    return np.sum(np.sin(np.copysign(a, b)))


def np_ldexp(a):
    return np.sum(np.sin(np.ldexp(a, np.array([1, -2, 3]))))


def np_clip_keywords(x, lo, hi):
    return np.sum(np.sin(np.clip(x, a_min=lo, a_max=hi)) + np.sin(np.clip(x, min=lo)) * np.cos(np.clip(x, max=hi)))


def np_cumprod(x):
    return np.sum(np.sin(np.cumprod(x)))


def np_cumprod_axis(x):
    return np.sum(np.sin(np.cumprod(x, axis=-1)) * np.cumprod(x, axis=0))


def _with_nan(x):
    return np.where(np.abs(x) > 1.2, np.nan, x)


def np_nansum(x):
    return np.sin(np.nansum(_with_nan(x))) + np.sum(np.sin(np.nansum(_with_nan(x), axis=0)))


def np_nanmean(x):
    return np.sum(np.sin(np.nanmean(_with_nan(x), axis=-1, keepdims=True) * x)) + np.nanmean(_with_nan(x)) ** 2


def np_nanmax(x):
    return np.sum(np.sin(np.nanmax(_with_nan(x), axis=0))) + np.sin(np.nanmin(_with_nan(x)))


def np_nanprod(x):
    return np.sum(np.sin(np.nanprod(_with_nan(x), axis=-1))) + np.nanprod(_with_nan(x)) ** 2


def np_nancumsum(x):
    return np.sum(np.sin(np.nancumsum(_with_nan(x), axis=0)))


def np_ptp(x):
    return np.sin(np.ptp(x)) + np.sum(np.sin(np.ptp(x, axis=-1)))


def np_median(x):
    return np.sin(np.median(x)) + np.sum(np.sin(np.median(x, axis=0, keepdims=True)) * x)


def np_quantile(x):
    return np.sum(np.sin(np.quantile(x, 0.3, axis=-1))) + np.sin(np.quantile(x, 0.75))


def np_quantiles_at_once(x):
    return np.sum(np.sin(np.quantile(x, np.array([0.1, 0.6]), axis=0)))


def np_percentile(x):
    return np.sum(np.sin(np.percentile(x, 40.0, axis=(0, -1), keepdims=True) * x))


def np_diff(x):
    return np.sum(np.sin(np.diff(x))) + np.sum(np.cos(np.diff(x, 2, axis=0)))


def np_permute_dims(x):
    return np.sum(np.sin(np.permute_dims(x, (1, 2, 0))) * np.arange(np.shape(x)[0]))


def np_matrix_transpose(x):
    return np.sum(np.sin(np.matrix_transpose(x)) * np.arange(np.shape(x)[-2]))


def np_rollaxis(x):
    return np.sum(np.sin(np.rollaxis(x, 2, 0)) * np.arange(np.shape(x)[-1])[:, None, None])


def np_atleast(x):
    return np.sum(np.sin(np.atleast_1d(x))) + np.sum(np.cos(np.atleast_2d(x))) * np.sum(np.sin(np.atleast_3d(x) * 2.0))


def np_roll(x):
    return np.sum(np.sin(np.roll(x, 2)) * np.arange(np.size(x)).reshape(np.shape(x)))


def np_roll_axes(x):
    return np.sum(np.sin(np.roll(x, (1, -1), axis=(0, 1))) * np.arange(np.size(x)).reshape(np.shape(x)))


def np_rot90(x):
    turned = np.rot90(x)
    return np.sum(np.sin(turned) * np.arange(np.size(x)).reshape(np.shape(turned))) + np.sum(np.rot90(x, 3) ** 3)


def np_flips(x):
    return np.sum(np.sin(np.flipud(x)) * np.arange(np.size(x)).reshape(np.shape(x)) + np.fliplr(x) * np.sin(x))


def np_triangles(x):
    return np.sum(np.sin(np.triu(x)) + np.cos(np.tril(x, -1)) * np.triu(x, 1))


def np_diagonal(x):
    return np.sum(np.sin(np.diagonal(x))) + np.sum(np.cos(np.diagonal(x, 1, -1, 0))) * np.sum(np.diagonal(x, -1) ** 2)


def np_take(x):
    picked = np.take(x, np.array([[0, 2], [2, 1]]), axis=-1)
    return np.sum(np.sin(picked)) + np.sum(np.take(x, np.array([1, 1, 4])) ** 3)


def np_take_along_axis(x):
    ordered = np.take_along_axis(x, np.argsort(x, axis=0), axis=0)
    return np.sum(np.sin(ordered) * np.arange(np.size(x)).reshape(np.shape(x)))


def np_sort(x):
    return np.sum(np.sin(np.sort(x)) * np.arange(np.shape(x)[-1]) + np.sort(x, axis=None)[0] ** 2)


def np_partition(x):
    return np.sum(np.sin(np.partition(x, 1)) * np.arange(np.shape(x)[-1]))


def np_pad(x):
    wrapped = np.pad(x, (2, 1), mode="wrap")
    return np.sum(np.sin(np.pad(x, 1))) + np.sum(np.cos(np.pad(x, (2, 1), "reflect")) * wrapped ** 2)


def np_split(x):
    a, b = np.split(x, 2)
    first, middle, last = np.split(x, [1, 3], axis=-1)
    return np.sum(np.sin(a) * b) + np.sum(np.sin(middle)) * np.sum(last)


def np_array_split(x):
    a, b, c = np.array_split(x, 3, axis=-1)
    return np.sum(np.sin(a)) + np.sum(c ** 3)


def np_hvd_split(x):
    left, right = np.hsplit(x, 2)
    top, bottom = np.vsplit(x, 2)
    front, back = np.dsplit(x, 2)
    return np.sum(np.sin(left) * right) + np.sum(top * np.cos(bottom)) + np.sum(np.sin(front) * back)


def np_unstack(x):
    a, b = np.unstack(x, axis=-1)
    return np.sum(np.sin(a) * b)


def np_append(a, b):
    return np.sum(np.sin(np.append(a, b)) * np.arange(np.size(a) + np.size(b)))


def np_append_axis(a, b):
    return np.sum(np.sin(np.append(a, b, axis=0)))


def np_column_stack(a, b):
    return np.sum(np.sin(np.column_stack([a, b])) * 1.5)


def np_dstack(a, b):
    return np.sum(np.sin(np.dstack([a, b])) * np.arange(2.0))


def np_row_stack(a, b):
    return np.sum(np.sin(np.row_stack([a, b])) * np.arange(3.0))


def la_trace_offset(a):
    return np.sum(np.sin(np.trace(a, 1))) + np.sum(np.cos(np.trace(a, -1, axis1=-1, axis2=0)))


def la_diag_offset(v):
    return np.sum(np.sin(np.diag(v, 1)) * 1.3) + np.sum(np.diag(v, -1) ** 3)


def la_diagflat(v):
    return np.sum(np.sin(np.diagflat(v)) * 1.3) + np.sum(np.diagflat(v, -2) ** 3)


def la_kron(a, b):
    return np.sum(np.sin(np.kron(a, b)) * np.arange(np.size(a) * np.size(b)).reshape(np.shape(np.kron(a, b))))


def la_cross(a, b):
    return np.sum(np.sin(np.cross(a, b)) + np.linalg.cross(a, b) ** 2)


def la_vecdot(a, b):
    return np.sum(np.sin(np.vecdot(a, b))) + np.sum(np.linalg.vecdot(a, b, axis=0) ** 2)


def la_linalg_products(a, b):
    return (np.sum(np.sin(np.linalg.matmul(a, b))) + np.sum(np.linalg.outer(a[0], b[:, 0]) ** 2)
            + np.sum(np.cos(np.linalg.tensordot(a, b.T))))


def la_linalg_diagonals(x):
    turned = np.linalg.matrix_transpose(x)
    return (np.sum(np.sin(turned) * np.arange(np.size(x)).reshape(np.shape(turned)))
            + np.sum(np.linalg.diagonal(x) ** 3) + np.sum(np.sin(np.linalg.trace(x, offset=1))))


def la_norm_vector_ords(x):
    return (np.linalg.norm(x, 1) + np.linalg.norm(x, np.inf) + np.linalg.norm(x, -np.inf) + np.linalg.norm(x, 3)
            + np.linalg.norm(x, ord=1.5) + np.linalg.norm(x, 2) ** 2 + np.linalg.norm(x, 0) + np.linalg.norm(x, -1.5))


def la_norm_vector_ords_along(x):
    return np.sum(np.sin(np.linalg.norm(x, ord=3, axis=-1))) + np.sum(np.linalg.norm(x, 1, 0, keepdims=True) ** 2)


def la_norm_matrix_ords(x):
    return (np.linalg.norm(x, "fro") + np.linalg.norm(x, "nuc") ** 2 + np.linalg.norm(x, 2) + np.linalg.norm(x, -2)
            + np.linalg.norm(x, 1) + np.linalg.norm(x, -1) + np.linalg.norm(x, np.inf) + np.linalg.norm(x, -np.inf))


def la_norm_matrix_ords_stacked(x):
    return np.sum(np.sin(np.linalg.norm(x, "nuc", axis=(1, 2)))) + np.sum(np.linalg.norm(x, 2, axis=(2, 0)) ** 2)


def la_vector_norm(x):
    return (np.sin(np.linalg.vector_norm(x)) + np.sum(np.linalg.vector_norm(x, axis=-1, ord=3) ** 2)
            + np.sum(np.linalg.vector_norm(x, ord=np.inf, axis=(0, -1), keepdims=True)))


def la_matrix_norm(x):
    return np.sum(np.sin(np.linalg.matrix_norm(x)) + np.linalg.matrix_norm(x, ord="nuc") ** 2
                  + np.linalg.matrix_norm(x, ord=1, keepdims=True)[..., 0, 0])


def la_svd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    # u u^T and v v^T do not depend on the signs LAPACK chooses
    return np.sum(np.sin(s)) + np.sum((u * u) @ np.arange(1.0, np.shape(u)[-1] + 1.0)) + np.sum(vh[..., 0, :] ** 2)


def la_svd_square(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(s ** 3) + np.sum(np.sin(u @ vh))


def la_svd_values(a):
    return np.sum(np.sin(np.linalg.svd(a, compute_uv=False)))


def la_svdvals(a):
    return np.sum(np.sin(np.linalg.svdvals(a))) + np.sum(np.linalg.svdvals(a) ** 3)


def la_eigh(a):
    w, v = np.linalg.eigh(a)
    return np.sum(np.sin(w)) + np.sum((v * v) @ np.arange(1.0, np.shape(v)[-1] + 1.0))


def la_eigh_upper(a):
    w, v = np.linalg.eigh(a, UPLO="U")
    return np.sum(w ** 3) + np.sum(v[..., 0] ** 4)


def la_eigvalsh(a):
    return np.sum(np.sin(np.linalg.eigvalsh(a))) + np.sum(np.linalg.eigvalsh(a, UPLO="U") ** 3)


def la_eig(a):
    w, v = np.linalg.eig(a)
    return np.sum(np.sin(w)) + np.sum(v[..., 1] ** 2) + np.sum(np.linalg.eigvals(a) ** 3)


def la_qr(a):
    q, r = np.linalg.qr(a)
    return np.sum(np.sin(q)) + np.sum(r ** 3)


def la_pinv(a):
    return np.sum(np.sin(np.linalg.pinv(a)))


def la_lstsq(a, b):
    x, residuals, rank, s = np.linalg.lstsq(a, b)
    return np.sum(np.sin(x)) + np.sum(residuals) + np.sum(s ** 2)


def la_matrix_power(a):
    return (np.sum(np.sin(np.linalg.matrix_power(a, 3))) + np.sum(np.linalg.matrix_power(a, -2))
            + np.sum(np.linalg.matrix_power(a, 0)))


def la_multi_dot(a, b, c):
    return np.sum(np.sin(np.linalg.multi_dot([a, b, c])))


KNOTS = np.array([-1.0, 0.0, 0.8, 2.0])


def np_interp(x, fp):
    return np.sum(np.sin(np.interp(x, KNOTS, fp)) * np.arange(1.0, np.size(x) + 1.0))


def np_asarray(x):
    return (np.sum(np.sin(np.asarray(x)) * np.asanyarray(x)) + np.sum(np.ascontiguousarray(x) ** 3)
            + np.sum(np.asfortranarray(x).T ** 2) + np.sum(np.asarray([x[0], 2.0 * x[-1]]) ** 2))


def np_cumulative(x):
    return np.sum(np.sin(np.cumulative_sum(x, axis=0))) + np.sum(np.cumulative_prod(x, axis=-1) ** 2)


def np_select(a, b, c):
    return np.sum(np.sin(np.select([a > 0.5, a < -0.5, b > 0.0], [a * b, np.sin(b), c], default=c * c)) * 1.3)


def np_convolve(a, v):
    return (np.sum(np.sin(np.convolve(a, v))) + np.sum(np.convolve(a, v, "same") ** 2)
            + np.sum(np.cos(np.convolve(a, v, mode="valid"))))


def np_correlate(a, v):
    return (np.sum(np.sin(np.correlate(a, v))) + np.sum(np.correlate(a, v, "same") ** 2)
            + np.sum(np.cos(np.correlate(a, v, mode="full"))))


SYM = _spd() - 2.0 * np.eye(3)            # symmetric, eigenvalues apart
REAL_EIGEN = _well_conditioned() @ np.diag([1.0, 2.5, -1.2]) @ np.linalg.inv(_well_conditioned())


MORE_NUMPY_RULES = [
    (np.interp, 3, np_interp, [(np.array([-2.0, -0.5, 0.3, 1.1, 1.9, 3.0]), arr(4)), (0.35, arr(4))], (0, 1)),
    (np.asarray, 2, np_asarray, [(X3,), (X2,)], 0), (np.asanyarray, 2, np_asarray, [], 0),
    (np.ascontiguousarray, 2, np_asarray, [], 0), (np.asfortranarray, 2, np_asarray, [], 0),
    (np.cumulative_sum, 2, np_cumulative, [(X2,), (np.array([[0.5, 0.0, -1.2], [0.0, 2.0, 0.3]]),)], 0),
    (np.cumulative_prod, 2, np_cumulative, [], 0),
    (np.select, 3, np_select, [(arr(2, 3), arr(2, 3), arr(3)), (arr(4), arr(4), 0.7)], (0, 1, 2)),
    (np.convolve, 3, np_convolve, [(arr(5), arr(3)), (arr(3), arr(5)), (arr(4), arr(4))], (0, 1)),
    (np.correlate, 3, np_correlate, [(arr(5), arr(3)), (arr(2), arr(6))], (0, 1)),
    (np.kron, 2, la_kron, [(X2, arr(2, 2)), (X3, arr(2)), (arr(2, 1, 2), arr(3, 2))], (0, 1)),
    (np.cross, 2, la_cross, [(X3, arr(3)), (X2, arr(3))], (0, 1)), (np.linalg.cross, 2, la_cross, [], (0, 1)),
    (np.vecdot, 3, la_vecdot, [(X2, arr(2, 3)), (arr(3, 3), X3)], (0, 1)), (np.linalg.vecdot, 3, la_vecdot, [], (0, 1)),
    (np.linalg.matmul, 2, la_linalg_products, [(X2, arr(3, 2))], (0, 1)),
    (np.linalg.outer, 2, la_linalg_products, [], (0, 1)), (np.linalg.tensordot, 3, la_linalg_products, [], (0, 1)),
    (np.linalg.matrix_transpose, 1, la_linalg_diagonals, [(arr(3, 3),), (X234,)], 0),
    (np.linalg.diagonal, 2, la_linalg_diagonals, [], 0), (np.linalg.trace, 2, la_linalg_diagonals, [], 0),
    (np.linalg.norm, 4, la_norm_vector_ords, [(X3,), (np.array([0.5, -2.0, 0.7, 1.3]),)], 0),
    (np.linalg.norm, 4, la_norm_vector_ords_along, [(X2,), (X234,)], 0),
    (np.linalg.norm, 4, la_norm_matrix_ords, [(X2,), (arr(3, 3),), (arr(4, 2),)], 0),
    (np.linalg.norm, 4, la_norm_matrix_ords_stacked, [(X234,)], 0),
    (np.linalg.vector_norm, 4, la_vector_norm, [(X2,), (X234,)], 0),
    (np.linalg.matrix_norm, 3, la_matrix_norm, [(X2,), (X234,)], 0),
    (np.linalg.svd, 3, la_svd, [(arr(4, 3),), (arr(2, 5),), (X234,)], 0),
    (np.linalg.svd, 3, la_svd_square, [(arr(3, 3),)], 0),
    (np.linalg.svd, 3, la_svd_values, [(arr(4, 3),), (X234,)], 0),
    (np.linalg.svdvals, 1, la_svdvals, [(arr(4, 3),), (X234,)], 0),
    (np.linalg.eigh, 2, la_eigh, [(SYM,), (arr(3, 3),)], 0), (np.linalg.eigh, 2, la_eigh_upper, [(arr(3, 3),)], 0),
    (np.linalg.eigvalsh, 2, la_eigvalsh, [(SYM,), (arr(2, 3, 3),)], 0),
    (np.linalg.eig, 1, la_eig, [(REAL_EIGEN,)], 0), (np.linalg.eigvals, 1, la_eig, [], 0),
    (np.linalg.qr, 2, la_qr, [(arr(4, 3),), (arr(3, 3),), (arr(2, 4, 2),)], 0),
    (np.linalg.pinv, 1, la_pinv, [(arr(4, 3),), (arr(2, 4),)], 0),
    (np.linalg.lstsq, 3, la_lstsq, [(arr(5, 3), arr(5)), (arr(5, 3), arr(5, 2))], (0, 1)),
    (np.linalg.matrix_power, 2, la_matrix_power, [(_well_conditioned(),), (_well_conditioned(2),)], 0),
    (np.linalg.multi_dot, 1, la_multi_dot, [(X3, arr(3, 4), arr(4, 2)), (X2, arr(3, 4), arr(4))], (0, 1, 2)),

    (np.trace, 4, la_trace_offset, [(arr(3, 3),), (X234,)], 0),
    (np.diag, 2, la_diag_offset, [(X3,), (arr(3, 4),)], 0),
    (np.diagflat, 2, la_diagflat, [(X3,), (X2,)], 0),
    (np.fabs, 1, np_fabs, [(X3,), (X2,)], 0),
    (np.deg2rad, 1, np_deg2rad, [(X3,)], 0), (np.radians, 1, np_deg2rad, [(X2,)], 0),
    (np.rad2deg, 1, np_rad2deg, [(X3,)], 0), (np.degrees, 1, np_rad2deg, [(X2,)], 0),
    (np.sinc, 1, np_sinc, [(X3,), (np.array([0.0, 1e-3, -5e-3, 0.5, 2.0]),)], 0),
    (np.real, 1, np_real_conj, [(X3,)], 0), (np.conjugate, 1, np_real_conj, [(X2,)], 0),
    (np.nan_to_num, 5, np_nan_to_num, [(np.array([0.5, 0.0, -1.5, 2.0, -0.4]), 0.7)], (0, 1)),
    (np.logaddexp2, 2, np_logaddexp2, _pairs(PAIRS), (0, 1)),
    (np.remainder, 2, np_remainder, [(X2 * 3.0, 0.8), (arr(3, lo=2.1, hi=4.0), arr(2, 3, lo=0.7, hi=1.9))], (0, 1)),
    (np.fmod, 2, np_fmod, [(X2 * 3.0, -0.8), (arr(3, lo=-4.0, hi=-2.1), arr(2, 1, lo=0.7, hi=1.9))], (0, 1)),
    (np.copysign, 2, np_copysign, _pairs(PAIRS), 0),
    (np.ldexp, 2, np_ldexp, [(X3,), (X2,)], 0),
    (np.clip, 3, np_clip_keywords, [(arr(2, 3), -0.5, 0.8), (arr(3), arr(2, 3, lo=-1.0, hi=-0.2), 0.6)], (0, 1, 2)),
    (np.cumprod, 2, np_cumprod, [(X3,), (X2,), (np.array([0.5, 0.0, -1.5, 2.0]),)], 0),
    (np.cumprod, 2, np_cumprod_axis, [(X2,), (np.array([[0.0, 1.5, -0.3], [0.7, 0.0, 0.0]]),)], 0),
    (np.nansum, 3, np_nansum, [(X2,), (X234,)], 0),
    (np.nanmean, 3, np_nanmean, [(X2,), (X234,)], 0),
    (np.nanmax, 3, np_nanmax, [(np.array([[1.4, -0.3, 0.8], [0.2, -1.3, 1.25]]),)], 0),
    (np.nanmin, 3, np_nanmax, [(np.array([[0.4, -1.3, 0.8], [1.3, -0.7, 1.25]]),)], 0),
    (np.nanprod, 3, np_nanprod, [(X2,), (X234,)], 0),
    (np.nancumsum, 2, np_nancumsum, [(X2,), (X234,)], 0),
    (np.ptp, 3, np_ptp, [(X2,), (X234,)], 0),
    (np.median, 3, np_median, [(X2,), (arr(4, 3),), (X234,)], 0),
    (np.quantile, 4, np_quantile, [(X2,), (X234,)], 0),
    (np.quantile, 4, np_quantiles_at_once, [(X2,), (X234,)], 0),
    (np.percentile, 4, np_percentile, [(X234,)], 0),
    (np.diff, 3, np_diff, [(arr(4, 5),), (X234,)], 0),
    (np.transpose, 2, np_permute_dims, [(X234,)], 0),          # np.permute_dims is np.transpose
    (np.matrix_transpose, 1, np_matrix_transpose, [(X2,), (X234,)], 0),
    (np.rollaxis, 3, np_rollaxis, [(X234,)], 0),
    (np.atleast_1d, 1, np_atleast, [(0.7,), (X3,), (X2,)], 0), (np.atleast_2d, 1, np_atleast, [(X3,)], 0),
    (np.atleast_3d, 1, np_atleast, [(X2,)], 0),
    (np.roll, 3, np_roll, [(X3,), (X2,)], 0), (np.roll, 3, np_roll_axes, [(X2,), (X234,)], 0),
    (np.rot90, 3, np_rot90, [(arr(3, 3),), (X2,), (X234,)], 0),
    (np.flipud, 1, np_flips, [(X2,), (X234,)], 0), (np.fliplr, 1, np_flips, [(arr(3, 3),)], 0),
    (np.triu, 2, np_triangles, [(arr(3, 3),), (X234,)], 0), (np.tril, 2, np_triangles, [(X2,)], 0),
    (np.diagonal, 4, np_diagonal, [(arr(3, 3),), (X234,)], 0),
    (np.take, 3, np_take, [(arr(5),), (arr(2, 5),)], 0),
    (np.take_along_axis, 3, np_take_along_axis, [(X2,), (X234,)], 0),
    (np.sort, 2, np_sort, [(X3,), (X234,)], 0),
    (np.partition, 3, np_partition, [(X3,), (X2,)], 0),
    (np.pad, 2, np_pad, [(X3,), (arr(3, 3),)], 0), (np.pad, 3, np_pad, [(X2,)], 0),
    (np.split, 3, np_split, [(arr(4, 4),)], 0), (np.array_split, 3, np_array_split, [(arr(2, 5),), (X234,)], 0),
    (np.hsplit, 2, np_hvd_split, [(arr(2, 4, 2),)], 0), (np.vsplit, 2, np_hvd_split, [(arr(4, 2, 4),)], 0),
    (np.dsplit, 2, np_hvd_split, [(arr(2, 2, 4),)], 0),
    (np.unstack, 2, np_unstack, [(arr(3, 2),), (arr(2, 3, 2),)], 0),
    (np.append, 3, np_append, [(X3, X2), (0.5, X3)], (0, 1)),
    (np.append, 3, np_append_axis, [(X2, arr(1, 3))], (0, 1)),
    (np.column_stack, 1, np_column_stack, [(X3, arr(3)), (X2.T, X3)], (0, 1)),
    (np.dstack, 1, np_dstack, [(X3, arr(3)), (X2, arr(2, 3))], (0, 1)),
] + ([(np.row_stack, 1, np_row_stack, [(X3, X2)], (0, 1))] if hasattr(np, "row_stack") else [])
NUMPY_RULES += MORE_NUMPY_RULES


def _describe(a):
    return str(np.shape(a)) if isinstance(a, np.ndarray) else repr(a)


def _cases(table):
    cases, ids = [], []
    for prim, arity, fn, points, wrt in table:
        for args in points:
            cases.append(pytest.param(fn, args, wrt))
            ids.append(f"{fn.__name__}({','.join(_describe(a) for a in args)})")
    return cases, ids


_NUMPY_CASES, _NUMPY_IDS = _cases(NUMPY_RULES)


@pytest.mark.parametrize("fn, args, wrt", _NUMPY_CASES, ids=_NUMPY_IDS)
def test_numpy_rule_matches_finite_differences(fn, args, wrt):
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    grads = assert_grad_matches(fn, *args, wrt=positions)
    for pos_, g in zip(positions, grads):
        assert np.shape(g) == np.shape(args[pos_])


def is_scipy(prim):
    """Whether a primitive is SciPy's: its rule is in one of the rule modules for SciPy (scipy.special's
    ufuncs are numpy.ufunc objects), or it comes from a SciPy module (a distribution's bound method)."""
    rules = RULES.get(prim)
    if rules:
        return rules[0].template.__module__.startswith("s2sgrad.rules.scipy_")
    owner = getattr(prim, "__self__", None)
    module = getattr(prim, "__module__", None) or (type(owner).__module__ if owner is not None else "")
    return module.startswith("scipy") or (isinstance(prim, np.ufunc) and getattr(np, prim.__name__, None) is not prim)


def _is_numpy(prim):
    """NumPy functions (np.linalg's included), and s2sgrad's own array helpers that stand for array
    methods (x.astype, x.flatten)."""
    if is_scipy(prim):
        return False
    module = getattr(prim, "__module__", None) or type(prim).__module__
    if module == "s2sgrad.runtime":
        return prim in runtime.STANDINS
    return (module or "").split(".")[0] == "numpy" or type(prim).__module__.split(".")[0] == "numpy"


def test_every_registered_numpy_rule_has_a_test():
    missing = uncovered(NUMPY_RULES, _is_numpy)
    assert not missing, f"numpy rules without an entry in NUMPY_RULES: {missing}"


def test_rule_table_walk_sees_numpy_and_linalg_rules():
    # guards the coverage test itself: it must see the np.linalg rules as NumPy rules
    for prim in (np.sin, np.sum, np.linalg.norm, np.linalg.cholesky, np.einsum, np.concatenate):
        assert prim in RULES and _is_numpy(prim)
    assert len(RULES[np.sum]) == 2


# ---------------------------------------------------------------------------------------------
# Forms a rule does not cover are refused, not approximated
# ---------------------------------------------------------------------------------------------

def np_cholesky_upper(a):
    return np.sum(np.linalg.cholesky(a, upper=True))


def np_pad_constant_values(x):
    return np.sum(np.pad(x, 1, constant_values=2.0 * x[0]))


def np_diff_prepend(x):
    return np.sum(np.diff(x, prepend=x[:1] * 2.0) ** 2)


@pytest.mark.parametrize("fn, x", [(np_cholesky_upper, _spd()), (np_pad_constant_values, X3), (np_diff_prepend, X3)],
                         ids=["cholesky upper", "pad constant_values", "diff prepend"])
def test_forms_without_an_exact_rule_are_refused_at_compile_time(fn, x):
    with pytest.raises(s2sgrad.NoGradientRuleError):
        s2sgrad.grad(fn)(x)


def test_prod_gradient_is_exact_with_a_zero_element():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]])
    g = s2sgrad.grad(np_prod_last)(x)
    expected = np.cos(np.prod(x, axis=-1))[:, None] * np.array([[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(g, expected, rtol=1e-12)


def test_max_tie_splits_the_gradient_equally():
    g = s2sgrad.grad(np_max)(np.array([1.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, np.cos(3.0) * np.array([0.0, 0.5, 0.5]), rtol=1e-12)


def test_maximum_tie_splits_the_gradient_equally():
    ga, gb = s2sgrad.grad(np_maximum, wrt=(0, 1))(np.array([1.0, 2.0]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(ga, np.cos([1.0, 2.0]) * [0.5, 1.0], rtol=1e-12)
    np.testing.assert_allclose(gb, np.cos([1.0, 2.0]) * [0.5, 0.0], rtol=1e-12)


def test_cholesky_gradient_is_symmetric_in_effect_on_symmetric_perturbations():
    # NumPy reads only the lower triangle; along a symmetric direction the gradient agrees with the
    # usual symmetric formula
    a, u = _spd(), arr(3, 3)
    u = u + u.T
    g = s2sgrad.grad(la_cholesky)(a)
    eps = 1e-6
    fd = (la_cholesky(a + eps * u) - la_cholesky(a - eps * u)) / (2 * eps)
    assert np.sum(g * u) == pytest.approx(fd, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# dtypes: float32 and float16 adjoints stay in their dtype
# ---------------------------------------------------------------------------------------------

DTYPE_CASES = [
    (np_sin, (X2,)), (np_arctanh, (arr(3, lo=-0.5, hi=0.5),)), (np_exp2, (X3,)), (np_log10, (pos(3),)),
    (np_abs, (X3,)), (np_reciprocal, (pos(2, 3),)),
    (np_divide, (pos(2, 3), pos(3))), (np_maximum, (X2, X3)), (np_where, (X2, X3)), (np_clip_const, (X2,)),
    (np_logaddexp, (X2, X3)), (np_power, (pos(3), pos(2, 3))),
    (np_sum_0, (X2,)), (np_mean, (X3,)), (np_mean_tuple_keep, (X234,)), (np_prod_last, (X2,)),
    (np_max_1, (X2,)), (np_var_0_ddof, (X2,)), (np_std_last_ddof, (X2,)), (np_cumsum_0, (X2,)),
    (np_norm_axis, (X2,)),
    (np_transpose_axes, (X234,)), (np_broadcast_to, (X3,)), (np_tile, (X3,)), (np_repeat_axis, (X2,)),
    (np_concatenate, (X2, arr(2, 4))), (np_stack, (X3, arr(3))),
    (la_dot, (X2, X3)), (la_tensordot_pairs, (X234, arr(4, 2, 5))), (la_einsum_matmul, (X2, arr(3, 4))),
    (la_trace, (arr(3, 3),)), (la_diag, (X3,)), (la_inv, (_well_conditioned(),)),
    (la_solve, (_well_conditioned(), arr(3))), (la_det, (_well_conditioned(),)), (la_cholesky, (_spd(),)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("fn, args", DTYPE_CASES, ids=[f"{c[0].__name__}" for c in DTYPE_CASES])
def test_low_precision_inputs_get_gradients_of_the_same_dtype(fn, args, dtype):
    if dtype == np.float16 and fn in (la_inv, la_solve, la_det, la_cholesky):
        pytest.skip("np.linalg has no float16")
    args = tuple(np.asarray(a, dtype=dtype) for a in args)
    wrt = tuple(range(len(args)))
    grads = s2sgrad.grad(fn, wrt=wrt)(*args)
    for g in grads:
        assert g.dtype == dtype


# ---------------------------------------------------------------------------------------------
# Runtime helpers on their own, against finite differences of the primitive they reverse
# ---------------------------------------------------------------------------------------------

def _vjp_check(primal, adjoints, args, index):
    """<adjoint(g), u> == d/dt <g, primal(args + t u)> for a random seed g and direction u."""
    y = primal(*args)
    g, u = arr(*np.shape(y)), arr(*np.shape(args[index]))

    def along(t):
        moved = list(args)
        moved[index] = args[index] + t * u
        return np.sum(g * primal(*moved))

    eps = 1e-6
    fd = (along(eps) - along(-eps)) / (2 * eps)
    assert np.sum(adjoints(g) * u) == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("arrays, axis", [([X2, arr(2, 4)], 1), ([X3, arr(2), arr(4)], 0), ([X2, arr(5)], None)],
                         ids=["2-D axis 1", "1-D", "axis None"])
def test_split_like_reverses_concatenate(arrays, axis):
    for k in range(len(arrays)):
        def primal(*xs):
            return np.concatenate(list(xs), axis=axis)
        _vjp_check(primal, lambda g: runtime.split_like(g, arrays, axis)[k], arrays, k)


def test_split_like_reverses_hstack_and_vstack_of_1d_arrays():
    a, b = X3, arr(3)
    for k in range(2):
        _vjp_check(lambda *xs: np.hstack(list(xs)), lambda g: runtime.split_like(g, [a, b], 0)[k], [a, b], k)
        _vjp_check(lambda *xs: np.vstack(list(xs)), lambda g: runtime.split_like(g, [a, b], 0)[k], [a, b], k)


def test_einsum_adjoints_reverse_einsum():
    a, b, c = arr(2, 3), arr(3, 4), arr(4)
    spec = "ij,jk,k->i"
    for k in range(3):
        _vjp_check(lambda *ops: np.einsum(spec, *ops), lambda g: runtime.einsum_adjoints(g, spec, [a, b, c])[k],
                   [a, b, c], k)


def test_einsum_adjoints_refuse_subscripts_that_are_not_a_string():
    # the sublist form np.einsum(x, [0, 1], [1, 0]) is rewritten into a string before it gets here
    with pytest.raises(TypeError, match="string"):
        runtime.einsum_adjoints(np.ones(2), np.eye(2), [[0, 1], [1]])


@pytest.mark.parametrize("shape, reps", [((3,), (2, 2)), ((2, 3), 3), ((2, 1, 3), (2, 1))])
def test_untile_reverses_tile(shape, reps):
    x = arr(*shape)
    _vjp_check(lambda x: np.tile(x, reps), lambda g: runtime.untile(g, x, reps), [x], 0)


@pytest.mark.parametrize("repeats, axis", [(2, None), (np.array([1, 0, 3]), 1), (3, 0)])
def test_unrepeat_reverses_repeat(repeats, axis):
    x = X2
    _vjp_check(lambda x: np.repeat(x, repeats, axis), lambda g: runtime.unrepeat(g, x, repeats, axis), [x], 0)


def test_prod_of_others_over_a_tuple_of_axes():
    x = arr(2, 3, 4)
    np.testing.assert_allclose(runtime.prod_of_others(x, (0, 2)), np.prod(x, axis=(0, 2), keepdims=True) / x,
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Property tests: random shapes and broadcasting combinations
# ---------------------------------------------------------------------------------------------

PROPERTY = settings(derandomize=True, max_examples=30, deadline=None)


def _values(shape, lo=-1.5, hi=1.5):
    """Arrays of `shape` with entries in [lo, hi], none within 0.05 of 0 (kinks of abs, hypot at 0)."""
    values = hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, width=64))
    return values.map(lambda x: np.where(x >= 0.0, np.maximum(x, 0.05), np.minimum(x, -0.05)))


@st.composite
def _broadcast_pair(draw, lo=-1.5, hi=1.5):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    a, b = (draw(_values(s, lo, hi)) for s in shapes.input_shapes)
    return a, b


def prop_binary(a, b):
    return np.sum(np.sin(np.multiply(np.add(a, b), np.hypot(a, b)) + np.arctan2(a, b)))


def prop_power(a, b):
    return np.sum(np.sin(np.power(a, b) - np.logaddexp(a, b)))


@PROPERTY
@given(_broadcast_pair())
def test_property_elementwise_binary_rules_sum_back_over_broadcast_axes(pair):
    a, b = pair
    assert_grad_matches(prop_binary, a, b, wrt=(0, 1), rtol=1e-5, atol=1e-5)


@PROPERTY
@given(_broadcast_pair(lo=0.5, hi=1.5))
def test_property_power_and_logaddexp_with_broadcasting(pair):
    a, b = pair
    assert_grad_matches(prop_power, a, b, wrt=(0, 1), rtol=1e-5, atol=1e-5)


def prop_unary(x):
    return np.sum(np.tanh(np.exp2(np.cbrt(np.square(x) + 0.5)) * np.arctan(x) + np.log1p(np.abs(x))))


@PROPERTY
@given(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).flatmap(_values))
def test_property_elementwise_unary_rules(x):
    assert_grad_matches(prop_unary, x, rtol=1e-5, atol=1e-5)


def prop_sum(x, axis):
    return np.sum(np.sin(np.sum(x, axis=axis) + np.mean(x, axis=axis)))


def prop_sum_keep(x, axis):
    return np.sum(np.sin(np.sum(x, axis=axis, keepdims=True) * x))


def prop_stats(x, axis):
    return np.sum(np.sin(np.var(x, axis=axis) + np.std(x, axis=axis, ddof=1) * np.prod(x, axis=axis)))


def prop_max(x, axis):
    return np.sum(np.sin(np.max(x, axis=axis) - np.amin(x, axis=axis, keepdims=True)))


@st.composite
def _array_and_axis(draw, min_side=1, max_side=4):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=max_side))
    # distinct multiples of 1/16 in [-1.25, 1.25]: no ties within the finite-difference step
    x = draw(hnp.arrays(np.int64, shape, elements=st.integers(-20, 20), unique=True)) / 16.0
    ndim = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)))
    return x, axis


@PROPERTY
@given(_array_and_axis(max_side=3), st.sampled_from([prop_sum, prop_sum_keep, prop_max]))
def test_property_sum_mean_max_over_random_axes(case, fn):
    x, axis = case
    g = s2sgrad.grad(fn)(x, axis)
    np.testing.assert_allclose(g, numeric_grad(fn, (x, axis), 0), rtol=1e-5, atol=1e-5)


@PROPERTY
@given(_array_and_axis(min_side=2, max_side=3))
def test_property_var_std_prod_over_random_axes(case):
    x, axis = case
    g = s2sgrad.grad(prop_stats)(x, axis)
    np.testing.assert_allclose(g, numeric_grad(prop_stats, (x, axis), 0), rtol=1e-5, atol=1e-5)


def prop_shape(x, axes):
    y = np.transpose(np.flip(x, 0), axes)
    return np.sum(np.sin(np.cumsum(np.reshape(y, (-1,)), axis=0)) * np.arange(np.size(x)))


@st.composite
def _array_and_permutation(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = draw(_values(shape))
    return x, tuple(draw(st.permutations(range(len(shape)))))


@PROPERTY
@given(_array_and_permutation())
def test_property_shape_rules_route_each_element_back(case):
    x, axes = case
    g = s2sgrad.grad(prop_shape)(x, axes)
    np.testing.assert_allclose(g, numeric_grad(prop_shape, (x, axes), 0), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Second order through every rule: the Hessian (reverse mode over the forward-mode code, so every
# tangent template is differentiated again) against central differences of the gradient
# ---------------------------------------------------------------------------------------------

def hessian_check(fn, args, wrt, rtol=1e-4, atol=1e-6):
    """H u for a random direction u of argument `wrt`, by s2sgrad.hessian, against central differences
    (step 1e-5) of s2sgrad's gradient (itself checked against differences of the function above)."""
    import warnings
    x = np.asarray(args[wrt], dtype=float)
    u = RNG.standard_normal(x.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        H = s2sgrad.hessian(fn, wrt=wrt)(*args)
        grad = s2sgrad.grad(fn, wrt=wrt)

        def along(step):
            moved = list(args)
            moved[wrt] = x + step * u if x.ndim else float(x + step * u)
            return np.asarray(grad(*moved))

        fd = (along(1e-5) - along(-1e-5)) / 2e-5
    Hu = np.tensordot(H, u, axes=x.ndim) if x.ndim else np.asarray(H) * u
    np.testing.assert_allclose(Hu, fd, rtol=rtol, atol=atol, err_msg=f"Hessian of {fn.__name__} at {args}")
    assert np.shape(H) == x.shape + x.shape


# The second-order code indexes the list of pieces these return (`pieces[0]`), and the reverse transform
# starts that list's adjoint as np.zeros_like(pieces), which fails for pieces of different shapes (a compiler
# matter: the adjoint of a list-valued result should be a list of zeros, one per piece).
# The tangents of these are tuples of factors (or sums over a loop) computed by helpers that have no rules
# themselves: second order is refused with a located error, never approximated. The values alone (svdvals,
# eigvalsh, norms of every ord, pinv) have second derivatives.
SECOND_ORDER_REFUSED = {la_svd, la_svd_square, la_svd_values, la_eigh, la_eigh_upper, la_eig, la_qr, la_lstsq,
                        la_matrix_power, la_multi_dot}
HESSIAN_XFAIL = {}

_HESSIAN_CASES = [pytest.param(fn, points[0], pos, id=f"{fn.__name__}-{pos}",
                               marks=[pytest.mark.xfail(strict=True, reason=HESSIAN_XFAIL[fn])] if fn in HESSIAN_XFAIL
                               else [])
                  for _, _, fn, points, wrt in NUMPY_RULES if points and fn not in SECOND_ORDER_REFUSED
                  for pos in ((wrt,) if isinstance(wrt, int) else wrt)]


@pytest.mark.parametrize("fn, args, wrt", _HESSIAN_CASES)
def test_hessian_through_every_numpy_rule_matches_differences_of_the_gradient(fn, args, wrt):
    hessian_check(fn, args, wrt)


@pytest.mark.parametrize("fn", sorted(SECOND_ORDER_REFUSED, key=lambda f: f.__name__), ids=lambda f: f.__name__)
def test_second_order_through_a_decomposition_is_refused_with_a_located_error(fn):
    args = next(points[0] for _, _, f, points, _ in NUMPY_RULES if f is fn and points)
    with pytest.raises(s2sgrad.NoGradientRuleError, match="test_numpy_rules.py"):
        s2sgrad.hessian(fn)(*args)


# ---------------------------------------------------------------------------------------------
# The README's list of NumPy and SciPy functions is the rule table
# ---------------------------------------------------------------------------------------------

def readme_functions():
    """The objects the README's NumPy and SciPy lists name: every identifier in backquotes that is a
    function of the namespace its bullet is about (np, np.linalg, scipy.special; scipy.stats distributions
    with the methods in the parentheses after them). Other backquoted words (`axis`, `ord`) name nothing."""
    import pathlib
    import re
    text = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    section = text[text.index("- NumPy: each function"):text.index("- Methods and attributes of arrays")]
    bullets = re.split(r"\n  - ", section)
    found = []
    for bullet in bullets:
        if bullet.startswith("`scipy.stats`"):
            try:
                from scipy import stats
            except ImportError:
                continue
            for dists, methods in re.findall(r"`([a-z0-9_\s]+)`\s*\(`([a-z\s]+)`", bullet):
                found += [getattr(getattr(stats, d), m) for d in dists.split() for m in methods.split()]
            continue
        if bullet.startswith(("`scipy.special`", "`scipy.signal`", "`scipy.linalg`", "`scipy.integrate`")):
            try:
                import importlib
                namespace = importlib.import_module(bullet[1:bullet.index("`", 1)])
            except ImportError:
                continue
        else:
            namespace = np.linalg if bullet.startswith("`np.linalg`") else np
        for group in re.findall(r"`([^`]+)`", bullet):
            for word in group.split():
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word) and word != "astype":    # astype: the method
                    obj = getattr(namespace, word, None)
                    if callable(obj):
                        found.append(obj)
    return found


def test_the_readme_lists_every_numpy_and_scipy_rule_and_no_other_function():
    from s2sgrad.rules import NONDIFF
    listed = readme_functions()                 # first: importing SciPy's modules registers their rules
    table = [p for p in list(RULES) + list(NONDIFF) if (_is_numpy(p) or is_scipy(p))
             and p not in runtime.STANDINS]        # x.astype(), x.flatten(), np.r_[...]: the methods bullet
    missing = [p for p in table if p not in listed]
    extra = [p for p in listed if p not in table]
    assert not missing, f"rules the README does not list: {missing}"
    assert not extra, f"functions the README lists that have no rule: {extra}"


def test_the_readme_walk_sees_each_namespace():
    listed = readme_functions()
    assert np.sin in listed and np.linalg.svd in listed and np.linalg.norm in listed and np.zeros in listed
