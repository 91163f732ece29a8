"""Adjoints of Python's arithmetic operators (on scalars and, with broadcasting, on arrays), and of the
NumPy functions that compute the same (np.add for +, np.power for **, ...)."""

import math
import operator

import numpy as np

from ..runtime import matmul_adjoint_left, matmul_adjoint_right, times_power, unbroadcast
from . import adjoint, at_ranks, d, nondifferentiable


@adjoint(operator.add, np.add)
def add(z, x, y):
    d[x] = unbroadcast(d[z], x)
    d[y] = unbroadcast(d[z], y)


@adjoint(operator.sub, np.subtract)
def sub(z, x, y):
    d[x] = unbroadcast(d[z], x)
    d[y] = -unbroadcast(d[z], y)


@adjoint(operator.mul, np.multiply)
def mul(z, x, y):
    d[x] = unbroadcast(d[z] * y, x)
    d[y] = unbroadcast(d[z] * x, y)


@adjoint(operator.truediv)
def truediv(z, x, y):
    d[x] = unbroadcast(d[z] / y, x)
    d[y] = -unbroadcast(d[z] * z / y, y)


@adjoint(np.divide)          # np.true_divide is np.divide
def divide(z, x, y):
    # the math of x / y; np.divide(x, 0.0) of Python floats is inf, where `/` would raise ZeroDivisionError
    d[x] = unbroadcast(np.divide(d[z], y), x)
    d[y] = -unbroadcast(d[z] * z / y, y)


# x ** y, also math.pow: the slope y x^(y-1) is 0 where y == 0 (x^0 is 1 for every x), also at x == 0,
# where the formula is 0 * inf (times_power; JAX and autograd do the same); inf at x == 0 for 0 < y < 1,
# never a ZeroDivisionError. d/dy is z log x, 0 where x == 0 (z is 0 or 1 nearby, as in JAX and autograd);
# where x < 0, x^y is real only at integer y and has no derivative in y: NaN (log of a negative), as in
# JAX and autograd.

@adjoint(operator.pow, np.power, np.float_power, math.pow)
def pow(z, x, y):
    d[x] = unbroadcast(times_power(d[z] * y, x, y - 1), x)
    d[y] = unbroadcast(d[z] * z * np.log(np.where(x == 0, 1.0, x)), y)


# The slope helper above, so that derivatives of pow are differentiated again (Hessians). p = c x^e is
# linear in c; its slope in x is again a times_power, zero wherever c e == 0, so every order is exact.

@adjoint(times_power)
def times_power_rule(p, c, x, e):
    d[c] = unbroadcast(times_power(d[p], x, e), c)
    d[x] = unbroadcast(times_power(d[p] * c * e, x, e - 1), x)
    d[e] = unbroadcast(d[p] * p * np.log(np.where(x == 0, 1.0, x)), e)


@adjoint(operator.mod)
def mod(z, x, y):
    d[x] = unbroadcast(d[z], x)
    d[y] = -unbroadcast(d[z] * ((x - z) / y), y)


@adjoint(operator.matmul)
def matmul(z, x, y):
    d[x] = matmul_adjoint_left(d[z], x, y)
    d[y] = matmul_adjoint_right(d[z], x, y)


# With the ranks of x and y known (code specialised on shapes), the adjoints of x @ y are the plain math.
at_ranks(matmul_adjoint_left, (1, 2), {(2, 2): "g @ y.T", (2, 1): "np.outer(g, y)", (1, 2): "y @ g", (1, 1): "g * y"})
at_ranks(matmul_adjoint_right, (1, 2), {(2, 2): "x.T @ g", (2, 1): "x.T @ g", (1, 2): "np.outer(x, g)", (1, 1): "g * x"})


@adjoint(operator.neg, np.negative)
def neg(z, x):
    d[x] = -d[z]


@adjoint(operator.pos, np.positive)
def pos(z, x):
    d[x] = d[z]


nondifferentiable(operator.floordiv, operator.not_)
