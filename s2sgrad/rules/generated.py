"""Rules for the helpers generated code calls (s2sgrad/runtime.py), so that generated code can itself be
differentiated: the gradient of a jvp (Hessian-vector products) and forward mode over forward mode
(higher derivatives). Most helpers are linear in their first argument, the others giving a shape (inert);
those of the tangent rules of np.prod and np.linalg are not, and their rules spell out the derivatives."""

import numpy as np

from ..runtime import (apply_like, bound_or, broadcast_like, cast_back, cast_tangent, covariance_adjoint,
                       covariance_matrix, eigenvectors_of_symmetric, eigenvectors_of_symmetric_adjoint,
                       eigenvectors_of_symmetric_tangent, from_last, in_place, in_place_adjoint, keys_of,
                       lower_half_diagonal,
                       mirror_lower, norm_hvp, norm_slope, onto_triangle_read, own_tangent, pad_mode, pieces_like,
                       prod_of_others, prod_of_others_derivative, quantile_adjoint, quantile_tangent,
                       singular_vectors, singular_vectors_adjoint, singular_vectors_tangent, slogdet_tangent,
                       solve_like, solve_transposed, stacked_tangent, symmetric_read, times_transpose, to_last,
                       unbroadcast, unreduce, zero_tangent, solve_matrix, solve_matrix_adjoint, op_triangle,
                       op_triangle_adjoint, triangular_system, as_lower, select_adjoints, select_tangent,
                       interp_slope, interp_slope_adjoint, uplo, field_of, field_adjoint)
from . import adjoint, d, nondifferentiable
from .tangents import bilinear, linear, t, tangent


@adjoint(broadcast_like, inert=("y",))
def broadcast_like_rule(z, t, y):
    d[t] = unbroadcast(d[z], t)


@adjoint(own_tangent, inert=("y",))
def own_tangent_rule(z, t, y):
    d[t] = unbroadcast(d[z], t)


@adjoint(cast_tangent, inert=("y",))
def cast_tangent_rule(z, t, y):
    d[t] = cast_back(d[z], t, z)


@adjoint(stacked_tangent, inert=("xs",))
def stacked_tangent_rule(z, tangents, xs):
    d[tangents] = pieces_like(d[z], tangents, z)


@adjoint(in_place, inert=("old",))
def in_place_rule(z, value, old):
    d[value] = in_place_adjoint(d[z], value)


@adjoint(unbroadcast, inert=("x",))
def unbroadcast_rule(z, g, x):
    d[g] = broadcast_like(d[z], g)


@adjoint(unreduce, inert=("x", "axis", "keepdims"))
def unreduce_rule(z, g, x, axis, keepdims):
    d[g] = unbroadcast(np.sum(d[z], axis=axis, keepdims=keepdims), g)


@adjoint(bound_or, inert=("default",))
def bound_or_rule(z, bound, default):
    d[bound] = d[z]


# Helpers of the tangent rules of np.prod, np.linalg.slogdet, solve and cholesky, which are not linear in
# every argument: the adjoints of their formulas (second order: Hessians through those rules).

@adjoint(prod_of_others, inert=("axis",))
def prod_of_others_rule(z, x, axis):
    d[x] = prod_of_others_derivative(d[z], x, axis)


@tangent(prod_of_others)
def prod_of_others_tangent(z, x, axis):
    t[z] = prod_of_others_derivative(t[x], x, axis)


@adjoint(slogdet_tangent, inert=("y",))
def slogdet_tangent_rule(z, v, a, y):
    # z[1] = trace(a^-1 v): a^-T for v, and -a^-T v^T a^-T for a
    a_inv_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    g = np.expand_dims(d[z][1], (-2, -1))
    d[v] = g * a_inv_t
    d[a] = -g * (a_inv_t @ np.swapaxes(v, -1, -2) @ a_inv_t)


@tangent(slogdet_tangent)
def slogdet_tangent_tangent(z, v, a, y):
    t[z] = slogdet_tangent(t[v], a, y) - slogdet_tangent(t[a] @ np.linalg.solve(a, v), a, y)


@adjoint(solve_like, inert=("b",))
def solve_like_rule(z, a, r, b):
    # z = a^-1 r, r laid out like b: the adjoint of np.linalg.solve
    r_bar = solve_transposed(a, d[z], b)
    d[a] = -unbroadcast(times_transpose(r_bar, z, np.ndim(b) == 1), a)
    d[r] = unbroadcast(r_bar, r)


@tangent(solve_like)
def solve_like_tangent(z, a, r, b):
    t[z] = solve_like(a, t[r], b) - solve_like(a, apply_like(t[a], z, b), b)


@adjoint(apply_like, inert=("b",))
def apply_like_rule(z, m, y, b):
    # z = m @ y, y laid out like b
    d[m] = unbroadcast(times_transpose(d[z], y, np.ndim(b) == 1), m)
    d[y] = unbroadcast(apply_like(np.swapaxes(m, -1, -2), d[z], b), y)


@adjoint(lower_half_diagonal)
def lower_half_diagonal_rule(z, x):
    d[x] = lower_half_diagonal(d[z])


@adjoint(mirror_lower)
def mirror_lower_rule(z, v):
    d[v] = np.tril(d[z]) + np.tril(np.swapaxes(d[z], -1, -2), -1)


@adjoint(to_last, inert=("axis",))
def to_last_rule(z, x, axis):
    d[x] = from_last(d[z], x, axis)


@adjoint(from_last, inert=("x", "axis"))
def from_last_rule(z, g, x, axis):
    d[g] = np.reshape(to_last(d[z], axis), np.shape(g))


@adjoint(quantile_tangent, inert=("a", "axis", "keepdims", "scale"))     # a's weights are piecewise constant
def quantile_tangent_rule(z, v, a, q, axis, keepdims, scale):
    d[v] = quantile_adjoint(d[z], a, q, axis, keepdims, scale)


@adjoint(covariance_matrix, inert=("samples",))
def covariance_matrix_rule(z, cov, samples):
    d[cov] = covariance_adjoint(d[z], cov)


@adjoint(norm_slope, inert=("ord", "axis", "kind"))
def norm_slope_rule(z, x, ord, axis, kind="norm"):
    # the norm's Hessian (symmetric) times d[z]
    d[x] = norm_hvp(d[z], x, ord, axis, kind)


@tangent(norm_slope)
def norm_slope_tangent(z, x, ord, axis, kind="norm"):
    t[z] = norm_hvp(t[x], x, ord, axis, kind)


@adjoint(singular_vectors, inert=("right",))
def singular_vectors_rule(z, a, right):
    d[a] = singular_vectors_adjoint(d[z], a, right)


@tangent(singular_vectors)
def singular_vectors_tangent_rule(z, a, right):
    t[z] = singular_vectors_tangent(t[a], a, right)


@adjoint(eigenvectors_of_symmetric, inert=("uplo",))
def eigenvectors_of_symmetric_rule(z, a, uplo):
    d[a] = eigenvectors_of_symmetric_adjoint(d[z], a, uplo)


@tangent(eigenvectors_of_symmetric)
def eigenvectors_of_symmetric_tangent_rule(z, a, uplo):
    t[z] = eigenvectors_of_symmetric_tangent(t[a], a, uplo)


@adjoint(symmetric_read, inert=("uplo",))
def symmetric_read_rule(z, v, uplo):
    d[v] = onto_triangle_read(d[z], uplo)


@adjoint(solve_matrix, inert=("lower", "assume_a", "transposed"))
def solve_matrix_rule(z, a, lower=False, assume_a=None, transposed=False):
    d[a] = solve_matrix_adjoint(d[z], lower, assume_a, transposed)


@adjoint(op_triangle, inert=("trans", "lower", "unit_diagonal"))
def op_triangle_rule(z, a, trans=0, lower=False, unit_diagonal=False):
    d[a] = op_triangle_adjoint(d[z], trans, lower, unit_diagonal)


@adjoint(triangular_system, inert=("trans", "lower", "unit_diagonal"))
def triangular_system_rule(z, a, trans=0, lower=False, unit_diagonal=False):
    d[a] = op_triangle_adjoint(d[z], trans, lower, unit_diagonal)


@tangent(triangular_system)
def triangular_system_tangent(z, a, trans=0, lower=False, unit_diagonal=False):
    t[z] = op_triangle(t[a], trans, lower, unit_diagonal)          # the unit diagonal does not move


@adjoint(as_lower, inert=("lower",))
def as_lower_rule(z, c, lower):
    d[c] = as_lower(d[z], lower)


@adjoint(select_tangent, inert=("condlist", "xs", "y"))
def select_tangent_rule(z, condlist, tangents, xs, y):
    d[tangents] = select_adjoints(d[z], condlist, tangents)


@adjoint(interp_slope, inert=("x",))                   # piecewise constant in x; the knots xp have no rule
def interp_slope_rule(z, x, xp, fp):
    d[fp] = interp_slope_adjoint(d[z], x, xp, fp)


linear(interp_slope, "fp")
linear(select_tangent, "tangents")
nondifferentiable(uplo)
linear(solve_matrix, "a")
linear(op_triangle, "a")
linear(as_lower, "c")
linear(symmetric_read, "v")
linear(covariance_matrix, "cov")
linear(to_last, "x")
linear(from_last, "g")
linear(quantile_tangent, "v")
nondifferentiable(pad_mode)
linear(unreduce, "g")
linear(bound_or, "bound")
bilinear(apply_like, "m", "y")
linear(lower_half_diagonal, "x")
linear(mirror_lower, "v")
linear(broadcast_like, "t")
linear(own_tangent, "t")
linear(cast_tangent, "t")
linear(unbroadcast, "g")
linear(stacked_tangent, "tangents")
linear(in_place, "value")
nondifferentiable(zero_tangent, keys_of)


# SciPy's rule tables join when the program imports SciPy (s2sgrad/rules/scipy_loader.py). Installed from
# here, the last table rules/__init__.py imports, so that they may build on every other table.
from . import scipy_loader  # noqa: E402

scipy_loader.install()


# x.attr of a container (a NamedTuple, a dataclass, an object in wrt): its tangent is read from the
# container's tangent v, so second order through it differentiates field_of in v (x and attr pick the entry).

@adjoint(field_of, inert=("x", "attr"))
def field_of_rule(z, v, x, attr):
    d[v] = field_adjoint(d[z], v, x, attr)


@tangent(field_of)
def field_of_tangent(z, v, x, attr):
    t[z] = field_of(t[v], x, attr)
