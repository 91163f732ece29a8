"""Adjoints of NumPy's linear algebra: products (dot, matmul, vdot, inner, outer, tensordot,
einsum), trace and diag, and np.linalg (norm, inv, solve, det, cholesky). Rank cases and the
longer formulas live in `s2sgrad.runtime`. Matrix functions accept stacks of matrices (...,n,n).
"""

import numpy as np

from ..runtime import (cholesky_adjoint, diag_adjoint, dot_adjoint_left, dot_adjoint_right, einsum_adjoint,
                       identity_like, inner_adjoint_left, inner_adjoint_right, matmul_adjoint_left,
                       matmul_adjoint_right, solve_transposed, tensordot_adjoint_left, tensordot_adjoint_right,
                       times_transpose, unbroadcast, unreduce)
from . import adjoint, d


# ---------------------------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------------------------

@adjoint(np.dot)
def dot(y, a, b):
    d[a] = dot_adjoint_left(d[y], a, b)
    d[b] = dot_adjoint_right(d[y], a, b)


@adjoint(np.matmul)
def matmul(y, a, b):
    d[a] = matmul_adjoint_left(d[y], a, b)
    d[b] = matmul_adjoint_right(d[y], a, b)


@adjoint(np.vdot)
def vdot(y, a, b):
    # real arrays: the sum of the flattened elementwise product
    d[a] = d[y] * np.reshape(b, np.shape(a))
    d[b] = d[y] * np.reshape(a, np.shape(b))


@adjoint(np.inner)
def inner(y, a, b):
    d[a] = inner_adjoint_left(d[y], a, b)
    d[b] = inner_adjoint_right(d[y], a, b)


@adjoint(np.outer)
def outer(y, a, b):
    d[a] = np.reshape(d[y] @ np.ravel(b), np.shape(a))
    d[b] = np.reshape(np.ravel(a) @ d[y], np.shape(b))


@adjoint(np.tensordot)
def tensordot(y, a, b, axes=2):
    d[a] = tensordot_adjoint_left(d[y], a, b, axes)
    d[b] = tensordot_adjoint_right(d[y], a, b, axes)


# Explicit subscripts ("ij,jk->ik"): each operand's adjoint is the einsum of d[y] with the others.
# One to three operands; more are refused until the compiler binds `*operands` to a sequence.

@adjoint(np.einsum)
def einsum(y, subscripts, a):
    d[a] = einsum_adjoint(d[y], subscripts, [a], 0)


@adjoint(np.einsum)
def einsum2(y, subscripts, a, b):
    d[a] = einsum_adjoint(d[y], subscripts, [a, b], 0)
    d[b] = einsum_adjoint(d[y], subscripts, [a, b], 1)


@adjoint(np.einsum)
def einsum3(y, subscripts, a, b, c):
    d[a] = einsum_adjoint(d[y], subscripts, [a, b, c], 0)
    d[b] = einsum_adjoint(d[y], subscripts, [a, b, c], 1)
    d[c] = einsum_adjoint(d[y], subscripts, [a, b, c], 2)


# ---------------------------------------------------------------------------------------------
# Diagonals
# ---------------------------------------------------------------------------------------------

@adjoint(np.trace)
def trace(y, a):
    d[a] = identity_like(a) * d[y]


@adjoint(np.diag)
def diag(y, v):
    d[v] = diag_adjoint(d[y], v)


# ---------------------------------------------------------------------------------------------
# np.linalg
# ---------------------------------------------------------------------------------------------

@adjoint(np.linalg.norm)
def norm(y, x):
    # the 2-norm of all elements (Frobenius for a matrix); not differentiable at 0
    d[x] = d[y] * x / y


@adjoint(np.linalg.norm)
def norm_along(y, x, *, axis=None, keepdims=False):
    # ord=None only: the 2-norm along an axis, or Frobenius over a pair of axes
    d[x] = unreduce(d[y] / y, x, axis, keepdims) * x


@adjoint(np.linalg.inv)
def inv(y, a):
    d[a] = -np.matrix_transpose(y) @ d[y] @ np.matrix_transpose(y)


@adjoint(np.linalg.solve)
def solve(x, a, b):
    # x = a^-1 b:  b_bar = a^-T x_bar,  a_bar = -b_bar x^T
    b_bar = solve_transposed(a, d[x], b)
    d[a] = -unbroadcast(times_transpose(b_bar, x, np.ndim(b) == 1), a)
    d[b] = unbroadcast(b_bar, b)


@adjoint(np.linalg.det)
def det(y, a):
    d[a] = (d[y] * y)[..., None, None] * np.matrix_transpose(np.linalg.inv(a))


@adjoint(np.linalg.cholesky)
def cholesky(L, a):
    d[a] = cholesky_adjoint(d[L], L)


@adjoint(np.linalg.slogdet)
def slogdet(y, a):
    # y = (sign, log|det a|): only the logarithm carries a derivative, d log|det a| = a^-T
    d[a] = np.expand_dims(d[y][1], (-2, -1)) * np.swapaxes(np.linalg.inv(a), -1, -2)
