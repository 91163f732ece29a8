"""Adjoints of NumPy's elementwise basics and sum (the full table is its own issue)."""

import numpy as np

from . import adjoint, d, nondifferentiable


@adjoint(np.sin)
def sin(y, x):
    d[x] = d[y] * np.cos(x)


@adjoint(np.cos)
def cos(y, x):
    d[x] = -d[y] * np.sin(x)


@adjoint(np.tan)
def tan(y, x):
    d[x] = d[y] * (1.0 + y * y)


@adjoint(np.exp)
def exp(y, x):
    d[x] = d[y] * y


@adjoint(np.log)
def log(y, x):
    d[x] = d[y] / x


@adjoint(np.tanh)
def tanh(y, x):
    d[x] = d[y] * (1.0 - y * y)


@adjoint(np.sqrt)
def sqrt(y, x):
    d[x] = d[y] / (2.0 * y)


@adjoint(np.sum)
def sum(y, x):
    d[x] = np.full_like(x, d[y])


nondifferentiable(
    np.shape, np.ndim, np.size, np.isnan, np.isinf, np.isfinite, np.zeros, np.ones, np.zeros_like,
    np.ones_like, np.arange, np.linspace, np.eye, np.argmax, np.argmin,
)
