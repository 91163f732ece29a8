"""Adjoints of NumPy's linear algebra: products (dot, matmul, vdot, inner, outer, tensordot,
einsum), trace and diag, and np.linalg (norm, inv, solve, det, cholesky). Rank cases and the
longer formulas live in `s2sgrad.runtime`. Matrix functions accept stacks of matrices (...,n,n).
"""

import numpy as np

from ..runtime import (cholesky_adjoint, diag_adjoint, diagonal_adjoint, dot_adjoint_left, dot_adjoint_right,
                       einsum_adjoints, inner_adjoint_left, inner_adjoint_right, matmul_adjoint_left,
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


@adjoint(np.tensordot, inert=("axes",))
def tensordot(y, a, b, axes=2):
    d[a] = tensordot_adjoint_left(d[y], a, b, axes)
    d[b] = tensordot_adjoint_right(d[y], a, b, axes)


# Every form with string subscripts: '...', implicit outputs, repeated letters ('ii'), broadcast size-1
# labels, any number of operands. Each operand's adjoint is the einsum of d[y] with the others.
# `subscripts` is not inert: in the sublist form (np.einsum(x, [0, 1])) it is an operand.

@adjoint(np.einsum, inert=("optimize",))
def einsum(y, subscripts, *operands, optimize=False):
    d[operands] = einsum_adjoints(d[y], subscripts, operands, optimize)


# ---------------------------------------------------------------------------------------------
# Diagonals
# ---------------------------------------------------------------------------------------------

@adjoint(np.trace, inert=("offset", "axis1", "axis2"))
def trace(y, a, offset=0, axis1=0, axis2=1):
    # the sum of a diagonal: each of its elements gets d[y]
    d[a] = diagonal_adjoint(np.expand_dims(d[y], -1) * np.ones(np.shape(np.diagonal(a, offset, axis1, axis2))[-1:]),
                            a, offset, axis1, axis2)


@adjoint(np.diag, inert=("k",))
def diag(y, v, k=0):
    d[v] = diag_adjoint(d[y], v, k)


@adjoint(np.diagflat, inert=("k",))
def diagflat(y, v, k=0):
    d[v] = np.reshape(np.diagonal(d[y], k), np.shape(v))


# ---------------------------------------------------------------------------------------------
# np.linalg
# ---------------------------------------------------------------------------------------------

# The 2-norm x / y; at x == 0, a kink, 0 (0 / 1): the subgradient PyTorch gives (JAX gives NaN).

@adjoint(np.linalg.norm)
def norm(y, x):
    # the 2-norm of all elements (Frobenius for a matrix)
    d[x] = d[y] * x / np.where(y == 0, 1.0, y)


@adjoint(np.linalg.norm, inert=("axis", "keepdims"))
def norm_along(y, x, *, axis=None, keepdims=False):
    # ord=None only: the 2-norm along an axis, or Frobenius over a pair of axes
    d[x] = unreduce(d[y] / np.where(y == 0, 1.0, y), x, axis, keepdims) * x


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
