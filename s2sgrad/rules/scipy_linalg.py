"""Adjoints and tangents of scipy.linalg: inv, det, solve (assume_a, lower, transposed), solve_triangular,
cholesky, cho_factor and cho_solve, lu_factor and lu_solve, expm, sqrtm and solve_sylvester. Registered when
scipy.linalg is imported (scipy_loader).

SciPy's functions read what LAPACK reads: cholesky and cho_factor one triangle (the upper one unless
lower=True), solve with assume_a='sym' or 'pos' one triangle, solve_triangular one triangle (not its
diagonal with unit_diagonal): the gradients are with respect to those entries, zero elsewhere, so
symmetric perturbations give the usual symmetric derivatives. overwrite_a= and overwrite_b= have no rule
(the inputs the reverse sweep reads would be overwritten): calls passing them are refused.

cho_factor returns (c, lower) and lu_factor (lu, piv), which cho_solve and lu_solve take: the adjoint of that
pair is a pair of which only the matrix's part is not None. Their tangents are computed by helpers, so
second order through them is refused; inv, det, solve, solve_triangular, cholesky, expm, sqrtm and
solve_sylvester are written with functions that have rules, and have Hessians.
"""

import numpy as np
from scipy import linalg

from ..runtime import (apply_like, as_lower, cho_factor_adjoint, cho_factor_tangent, cho_solve_adjoint,
                       cho_solve_tangent, cholesky_adjoint, expm_frechet_block, lower_half_diagonal, lu_factor_adjoint,
                       lu_factor_tangent, lu_solve_adjoint, lu_solve_tangent, op_triangle, op_triangle_adjoint,
                       solve_like, solve_matrix, solve_matrix_adjoint, solve_transposed, symmetric_read,
                       times_transpose, triangular_system, unbroadcast, uplo)
from . import adjoint, d
from .tangents import t, tangent


@adjoint(linalg.inv, inert=("check_finite",))
def inv(y, a, *, check_finite=True):
    d[a] = -np.swapaxes(y, -1, -2) @ d[y] @ np.swapaxes(y, -1, -2)


@tangent(linalg.inv)
def inv_tangent(y, a, *, check_finite=True):
    t[y] = -(y @ t[a] @ y)


@adjoint(linalg.det, inert=("check_finite",))
def det(y, a, *, check_finite=True):
    d[a] = (d[y] * y)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)


@tangent(linalg.det)
def det_tangent(y, a, *, check_finite=True):
    t[y] = y * np.trace(np.linalg.solve(a, t[a]), axis1=-2, axis2=-1)


@adjoint(linalg.solve, inert=("lower", "check_finite", "assume_a", "transposed"))
def solve(x, a, b, lower=False, *, check_finite=True, assume_a=None, transposed=False):
    # x = m^-1 b, m the matrix solve reads (solve_matrix): b_bar = m^-T x_bar, m_bar = -b_bar x^T
    m = solve_matrix(a, lower, assume_a, transposed)
    b_bar = solve_transposed(m, d[x], b)
    d[a] = -solve_matrix_adjoint(times_transpose(b_bar, x, np.ndim(b) == 1), lower, assume_a, transposed)
    d[b] = unbroadcast(b_bar, b)


@tangent(linalg.solve)
def solve_tangent(x, a, b, lower=False, *, check_finite=True, assume_a=None, transposed=False):
    m = solve_matrix(a, lower, assume_a, transposed)
    t[x] = solve_like(m, t[b], b) - solve_like(m, apply_like(solve_matrix(t[a], lower, assume_a, transposed), x, b), b)


@adjoint(linalg.solve_triangular, inert=("trans", "lower", "unit_diagonal", "check_finite"))
def solve_triangular(x, a, b, trans=0, lower=False, unit_diagonal=False, *, check_finite=True):
    m = triangular_system(a, trans, lower, unit_diagonal)
    b_bar = solve_transposed(m, d[x], b)
    d[a] = -op_triangle_adjoint(times_transpose(b_bar, x, np.ndim(b) == 1), trans, lower, unit_diagonal)
    d[b] = unbroadcast(b_bar, b)


@tangent(linalg.solve_triangular)
def solve_triangular_tangent(x, a, b, trans=0, lower=False, unit_diagonal=False, *, check_finite=True):
    m = triangular_system(a, trans, lower, unit_diagonal)
    t[x] = solve_like(m, t[b], b) - solve_like(m, apply_like(op_triangle(t[a], trans, lower, unit_diagonal), x, b), b)


# cholesky: the factor of the triangle read (upper by default), through NumPy's lower-factor formulas

@adjoint(linalg.cholesky, inert=("lower", "check_finite"))
def cholesky(y, a, lower=False, *, check_finite=True):
    d[a] = as_lower(cholesky_adjoint(as_lower(d[y], lower), as_lower(y, lower)), lower)


@tangent(linalg.cholesky)
def cholesky_tangent(y, a, lower=False, *, check_finite=True):
    t[y] = as_lower(as_lower(y, lower) @ lower_half_diagonal(np.swapaxes(np.linalg.solve(
        as_lower(y, lower), np.swapaxes(np.linalg.solve(as_lower(y, lower), symmetric_read(t[a], uplo(lower))), -1, -2)),
        -1, -2)), lower)


@adjoint(linalg.cho_factor, inert=("lower", "check_finite"))
def cho_factor(y, a, lower=False, *, check_finite=True):
    d[a] = cho_factor_adjoint(d[y], a, y)


@tangent(linalg.cho_factor)
def cho_factor_tangent_(y, a, lower=False, *, check_finite=True):
    t[y] = cho_factor_tangent(t[a], a, y)


# `xs` is the pair (c, lower) or (lu, piv): one adjoint per item (the flag and the pivots carry none)

@adjoint(linalg.cho_solve, inert=("check_finite",))
def cho_solve(x, xs, b, *, check_finite=True):
    d[xs] = cho_solve_adjoint(d[x], xs, b, x, True)
    d[b] = cho_solve_adjoint(d[x], xs, b, x, False)


@tangent(linalg.cho_solve)
def cho_solve_tangent_(x, xs, b, *, check_finite=True):
    t[x] = cho_solve_tangent(t[xs], None, xs, b, x) + cho_solve_tangent(None, t[b], xs, b, x)


@adjoint(linalg.lu_factor, inert=("check_finite",))
def lu_factor(y, a, *, check_finite=True):
    d[a] = lu_factor_adjoint(d[y], a, y)


@tangent(linalg.lu_factor)
def lu_factor_tangent_(y, a, *, check_finite=True):
    t[y] = lu_factor_tangent(t[a], a, y)


@adjoint(linalg.lu_solve, inert=("trans", "check_finite"))
def lu_solve(x, xs, b, trans=0, *, check_finite=True):
    d[xs] = lu_solve_adjoint(d[x], xs, b, x, True, trans)
    d[b] = lu_solve_adjoint(d[x], xs, b, x, False, trans)


@tangent(linalg.lu_solve)
def lu_solve_tangent_(x, xs, b, trans=0, *, check_finite=True):
    t[x] = lu_solve_tangent(t[xs], None, xs, b, x, trans) + lu_solve_tangent(None, t[b], xs, b, x, trans)


# expm: its derivative along E is the upper right block of expm([[A, E], [0, A]]); the adjoint is that of
# A^T along the output's adjoint. Written with expm itself, so it is differentiated again.

@adjoint(linalg.expm)
def expm(y, A):
    d[A] = expm_frechet_block(np.swapaxes(A, -1, -2), d[y])


@tangent(linalg.expm)
def expm_tangent(y, A):
    t[y] = linalg.expm(np.concatenate([np.concatenate([A, t[A]], axis=-1),
                                       np.concatenate([np.zeros_like(A), A], axis=-1)], axis=-2))[
        ..., :np.shape(A)[-1], np.shape(A)[-1]:]


# sqrtm: X X = A, so X dX + dX X = dA, a Sylvester equation

@adjoint(linalg.sqrtm)
def sqrtm(y, A):
    d[A] = linalg.solve_sylvester(np.swapaxes(y, -1, -2), np.swapaxes(y, -1, -2), d[y])


@tangent(linalg.sqrtm)
def sqrtm_tangent(y, A):
    t[y] = linalg.solve_sylvester(y, y, t[A])


@adjoint(linalg.solve_sylvester)
def solve_sylvester(x, a, b, q):
    # a x + x b = q: q_bar solves a^T q_bar + q_bar b^T = x_bar; a_bar = -q_bar x^T, b_bar = -x^T q_bar
    q_bar = linalg.solve_sylvester(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), d[x])
    d[q] = q_bar
    d[a] = -q_bar @ np.swapaxes(x, -1, -2)
    d[b] = -np.swapaxes(x, -1, -2) @ q_bar


@tangent(linalg.solve_sylvester)
def solve_sylvester_tangent(x, a, b, q):
    t[x] = (linalg.solve_sylvester(a, b, t[q]) - linalg.solve_sylvester(a, b, t[a] @ x)
            - linalg.solve_sylvester(a, b, x @ t[b]))

