"""Adjoints of Python's arithmetic operators (on scalars and, with broadcasting, on arrays), and of the
NumPy functions that compute the same (np.add for +, np.power for **, ...)."""

import operator

import numpy as np

from ..runtime import matmul_adjoint_left, matmul_adjoint_right, unbroadcast
from . import adjoint, d, nondifferentiable


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


@adjoint(operator.truediv, np.divide)          # np.true_divide is np.divide
def truediv(z, x, y):
    d[x] = unbroadcast(d[z] / y, x)
    d[y] = -unbroadcast(d[z] * z / y, y)


@adjoint(operator.pow, np.power, np.float_power)
def pow(z, x, y):
    d[x] = unbroadcast(d[z] * y * x ** (y - 1), x)
    d[y] = unbroadcast(d[z] * z * np.log(x), y)


@adjoint(operator.mod)
def mod(z, x, y):
    d[x] = unbroadcast(d[z], x)
    d[y] = -unbroadcast(d[z] * ((x - z) / y), y)


@adjoint(operator.matmul)
def matmul(z, x, y):
    d[x] = matmul_adjoint_left(d[z], x, y)
    d[y] = matmul_adjoint_right(d[z], x, y)


@adjoint(operator.neg, np.negative)
def neg(z, x):
    d[x] = -d[z]


@adjoint(operator.pos, np.positive)
def pos(z, x):
    d[x] = d[z]


nondifferentiable(operator.floordiv, operator.not_)
