"""Adjoints of NumPy's linear algebra: products (dot, matmul, vdot, inner, outer, tensordot, einsum,
vecdot, kron, cross, multi_dot), trace and diagonals, and np.linalg (norm of every ord, vector_norm,
matrix_norm, inv, pinv, solve, lstsq, det, slogdet, matrix_power, cholesky, qr, svd, svdvals, eig,
eigvals, eigh, eigvalsh). Rank cases and the longer formulas live in `s2sgrad.runtime`. Matrix functions
accept stacks of matrices (..., m, n).

Decompositions at repeated eigenvalues or singular values (eigh, eig, svd): the terms coupling two values
equal to working precision are left out (JAX and PyTorch divide by their zero difference and give
inf/NaN). That is the exact derivative of any function of the values and of the spaces of repeated ones (a projector), and for a
function of individual vectors within such a space, which has no derivative there, the one of the basis
NumPy returned. Near-equal values give large finite derivatives, as the math has.
"""

import numpy as np

from ..runtime import (cholesky_adjoint, cross_adjoint, diag_adjoint, diagonal_adjoint, dot_adjoint_left,
                       dot_adjoint_right, eig_adjoint, eigh_adjoint, eigvals_adjoint, eigvalsh_adjoint, einsum_adjoints,
                       inner_adjoint_left, inner_adjoint_right, kron_adjoint, lstsq_adjoint, matmul_adjoint_left,
                       matmul_adjoint_right, matrix_power_adjoint, multi_dot_adjoints, norm_axes, norm_slope,
                       pinv_adjoint, qr_adjoint, solve_transposed, svd_adjoint, svdvals_adjoint,
                       tensordot_adjoint_left, tensordot_adjoint_right, times_transpose, unbroadcast, unreduce,
                       vecdot_adjoint)
from . import adjoint, d, nondifferentiable


# ---------------------------------------------------------------------------------------------
# Products
# ---------------------------------------------------------------------------------------------

@adjoint(np.dot)
def dot(y, a, b):
    d[a] = dot_adjoint_left(d[y], a, b)
    d[b] = dot_adjoint_right(d[y], a, b)


@adjoint(np.matmul, np.linalg.matmul)
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


@adjoint(np.outer, np.linalg.outer)
def outer(y, a, b):
    d[a] = np.reshape(d[y] @ np.ravel(b), np.shape(a))
    d[b] = np.reshape(np.ravel(a) @ d[y], np.shape(b))


@adjoint(np.tensordot, np.linalg.tensordot, inert=("axes",))
def tensordot(y, a, b, axes=2):
    d[a] = tensordot_adjoint_left(d[y], a, b, axes)
    d[b] = tensordot_adjoint_right(d[y], a, b, axes)


@adjoint(np.vecdot, np.linalg.vecdot, inert=("axis",))        # `axis` is each operand's own, then they broadcast
def vecdot(y, a, b, *, axis=-1):
    d[a] = vecdot_adjoint(d[y], a, b, axis)
    d[b] = vecdot_adjoint(d[y], b, a, axis)


@adjoint(np.kron)
def kron(y, a, b):
    d[a] = kron_adjoint(d[y], a, b, True)
    d[b] = kron_adjoint(d[y], a, b, False)


@adjoint(np.cross, np.linalg.cross)           # of vectors along the last axis (axis= has no rule)
def cross(y, a, b):
    d[a] = cross_adjoint(d[y], a, b, True)
    d[b] = cross_adjoint(d[y], a, b, False)


@adjoint(np.linalg.multi_dot)
def multi_dot(y, xs):
    d[xs] = multi_dot_adjoints(d[y], xs)


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


@adjoint(np.linalg.diagonal, inert=("offset",))      # of the last two axes
def linalg_diagonal(y, x, *, offset=0):
    d[x] = diagonal_adjoint(d[y], x, offset, -2, -1)


@adjoint(np.linalg.trace, inert=("offset",))
def linalg_trace(y, x, *, offset=0):
    d[x] = diagonal_adjoint(np.expand_dims(d[y], -1) * np.ones(np.shape(np.linalg.diagonal(x, offset=offset))[-1:]),
                            x, offset, -2, -1)


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


# Every ord (vector: None, 2, 1, inf, -inf, 0, any p; matrix: 'fro', 'nuc', 2, -2, 1, -1, inf, -inf), axis an int
# or a pair: each element's share of the norm's derivative is norm_slope (subgradient 0 at kinks, ties share).

@adjoint(np.linalg.norm, inert=("ord", "axis", "keepdims"))
def norm_ord(y, x, ord=None, axis=None, keepdims=False):
    d[x] = unreduce(d[y], x, norm_axes(x, ord, axis), keepdims) * norm_slope(x, ord, axis)


@adjoint(np.linalg.vector_norm, inert=("axis", "keepdims", "ord"))
def vector_norm(y, x, *, axis=None, keepdims=False, ord=2):
    d[x] = unreduce(d[y], x, norm_axes(x, ord, axis, "vector"), keepdims) * norm_slope(x, ord, axis, "vector")


@adjoint(np.linalg.matrix_norm, inert=("keepdims", "ord"))
def matrix_norm(y, x, *, keepdims=False, ord="fro"):
    d[x] = unreduce(d[y], x, norm_axes(x, ord, None, "matrix"), keepdims) * norm_slope(x, ord, None, "matrix")


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


@adjoint(np.linalg.pinv)                  # rcond= and hermitian= have no rule; the rank is constant nearby
def pinv(y, a):
    d[a] = pinv_adjoint(d[y], a, y)


@adjoint(np.linalg.lstsq, inert=("rcond",))
def lstsq(y, a, b, rcond=None):
    # y = (x, residuals, rank, singular values): x is pinv(a) b, the residuals |a x - b|^2 move with a and b
    # at fixed x (x is optimal), the singular values are a's
    d[a] = lstsq_adjoint(d[y], a, b, y, True)
    d[b] = lstsq_adjoint(d[y], a, b, y, False)


@adjoint(np.linalg.matrix_power, inert=("n",))
def matrix_power(y, a, n):
    d[a] = matrix_power_adjoint(d[y], a, n)


# Decompositions: d[y] holds one adjoint per factor (0.0 for a factor nothing read). svd with
# full_matrices=True needs square matrices (the extra columns of a full U or V are any completion), qr takes
# mode='reduced' of matrices with at least as many rows as columns, eig real eigenvalues: otherwise an error
# says so when the gradient runs.

@adjoint(np.linalg.svd, inert=("full_matrices", "compute_uv"))      # hermitian= has no rule
def svd(y, a, full_matrices=True, compute_uv=True):
    d[a] = svd_adjoint(d[y], a, y, full_matrices, compute_uv)


@adjoint(np.linalg.svdvals)
def svdvals(y, x):
    d[x] = svdvals_adjoint(d[y], x)


@adjoint(np.linalg.eigh, inert=("UPLO",))            # NumPy reads the lower (UPLO='U': upper) triangle
def eigh(y, a, UPLO="L"):
    d[a] = eigh_adjoint(d[y], a, y, UPLO)


@adjoint(np.linalg.eigvalsh, inert=("UPLO",))
def eigvalsh(y, a, UPLO="L"):
    d[a] = eigvalsh_adjoint(d[y], a, UPLO)


@adjoint(np.linalg.eig)
def eig(y, a):
    d[a] = eig_adjoint(d[y], a, y)


@adjoint(np.linalg.eigvals)
def eigvals(y, a):
    d[a] = eigvals_adjoint(d[y], a)


@adjoint(np.linalg.qr, inert=("mode",))
def qr(y, a, mode="reduced"):
    d[a] = qr_adjoint(d[y], a, y, mode)


nondifferentiable(np.linalg.matrix_rank, norm_axes)
