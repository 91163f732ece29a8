"""Adjoints of NumPy's elementwise functions, reductions and shape functions (linear algebra is
in `linalg`). Grouped by family; the machinery they share (un-reducing along axes, ...) lives in
`s2sgrad.runtime`.

Conventions: `d[y]` has y's shape; broadcasting binary adjoints are wrapped in `unbroadcast`
(dropped by the compiler where shapes are known equal); constants are Python floats, which NumPy
treats as weak, so float32 and float16 adjoints keep their dtype.
"""

import math

import numpy as np

from ..runtime import (bound_or, extremum_share, share_of, hstack_axis, prod_of_others, reverse_cumsum, split_like, sum_to_shape,
                       unbroadcast, unreduce, unrepeat, untile)
from . import adjoint, d, nondifferentiable


# ---------------------------------------------------------------------------------------------
# Elementwise, one argument
# ---------------------------------------------------------------------------------------------

@adjoint(np.sin)
def sin(y, x):
    d[x] = d[y] * np.cos(x)


@adjoint(np.cos)
def cos(y, x):
    d[x] = -d[y] * np.sin(x)


@adjoint(np.tan)
def tan(y, x):
    d[x] = d[y] * (1.0 + y * y)


@adjoint(np.arcsin)
def arcsin(y, x):
    d[x] = d[y] / np.sqrt(1.0 - x * x)


@adjoint(np.arccos)
def arccos(y, x):
    d[x] = -d[y] / np.sqrt(1.0 - x * x)


@adjoint(np.arctan)
def arctan(y, x):
    d[x] = d[y] / (1.0 + x * x)


@adjoint(np.sinh)
def sinh(y, x):
    d[x] = d[y] * np.cosh(x)


@adjoint(np.cosh)
def cosh(y, x):
    d[x] = d[y] * np.sinh(x)


@adjoint(np.tanh)
def tanh(y, x):
    d[x] = d[y] * (1.0 - y * y)


@adjoint(np.arcsinh)
def arcsinh(y, x):
    d[x] = d[y] / np.sqrt(x * x + 1.0)


@adjoint(np.arccosh)
def arccosh(y, x):
    d[x] = d[y] / np.sqrt(x * x - 1.0)


@adjoint(np.arctanh)
def arctanh(y, x):
    d[x] = d[y] / (1.0 - x * x)


@adjoint(np.exp)
def exp(y, x):
    d[x] = d[y] * y


@adjoint(np.exp2)
def exp2(y, x):
    d[x] = d[y] * y * math.log(2.0)


@adjoint(np.expm1)
def expm1(y, x):
    d[x] = d[y] * (y + 1.0)


@adjoint(np.log)
def log(y, x):
    d[x] = d[y] / x


@adjoint(np.log2)
def log2(y, x):
    d[x] = d[y] / (x * math.log(2.0))


@adjoint(np.log10)
def log10(y, x):
    d[x] = d[y] / (x * math.log(10.0))


@adjoint(np.log1p)
def log1p(y, x):
    d[x] = d[y] / (1.0 + x)


@adjoint(np.sqrt)
def sqrt(y, x):
    d[x] = d[y] / (2.0 * y)


@adjoint(np.cbrt)
def cbrt(y, x):
    d[x] = d[y] / (3.0 * y * y)


@adjoint(np.square)
def square(y, x):
    d[x] = d[y] * 2.0 * x


@adjoint(np.absolute)          # np.abs is the same object
def absolute(y, x):
    d[x] = d[y] * np.sign(x)


# np.negative and np.positive share the templates of unary - and +: rules/operators.py.


@adjoint(np.reciprocal)
def reciprocal(y, x):
    d[x] = -d[y] * y * y


nondifferentiable(np.sign, np.floor, np.ceil, np.round, np.around, np.rint, np.trunc)


# ---------------------------------------------------------------------------------------------
# Elementwise, two or three arguments (broadcasting: adjoints are summed back to each shape)
# ---------------------------------------------------------------------------------------------

# np.add, np.subtract, np.multiply, np.divide (np.true_divide), np.power and np.float_power share
# the templates of the operators they compute: rules/operators.py.


@adjoint(np.maximum, np.minimum, np.fmax, np.fmin)
def maximum(z, x, y):
    # the gradient goes to the argument z equals, split equally where x == y (as JAX does);
    # fmax/fmin return the other argument where one is NaN, and so does the gradient
    d[x] = unbroadcast(d[z] * share_of(x, y, z), x)
    d[y] = unbroadcast(d[z] * share_of(y, x, z), y)


@adjoint(np.arctan2)
def arctan2(z, y, x):
    d[y] = unbroadcast(d[z] * x / (x * x + y * y), y)
    d[x] = -unbroadcast(d[z] * y / (x * x + y * y), x)


@adjoint(np.hypot)
def hypot(z, x, y):
    d[x] = unbroadcast(d[z] * x / z, x)
    d[y] = unbroadcast(d[z] * y / z, y)


@adjoint(np.logaddexp)
def logaddexp(z, x, y):
    d[x] = unbroadcast(d[z] * np.exp(x - z), x)
    d[y] = unbroadcast(d[z] * np.exp(y - z), y)


@adjoint(np.where)
def where(y, cond, a, b):
    d[a] = unbroadcast(np.where(cond, d[y], 0.0), a)
    d[b] = unbroadcast(np.where(cond, 0.0, d[y]), b)


@adjoint(np.clip)
def clip(y, x, lo, hi):
    # y = minimum(maximum(x, lo), hi): x inside [lo, hi] (ends included) gets the gradient; where
    # lo > hi NumPy returns hi everywhere; a bound of None is no bound
    low = bound_or(lo, -np.inf)
    high = bound_or(hi, np.inf)
    d[x] = unbroadcast(np.where((low <= x) & (x <= high), d[y], 0.0), x)
    d[lo] = unbroadcast(np.where((x < low) & (low <= high), d[y], 0.0), lo)
    d[hi] = unbroadcast(np.where((x > high) | (low > high), d[y], 0.0), hi)


# ---------------------------------------------------------------------------------------------
# Reductions (axis: None, an int, negative, or a tuple; keepdims)
# ---------------------------------------------------------------------------------------------

@adjoint(np.sum)
def sum(y, x):
    d[x] = np.full_like(x, d[y])


@adjoint(np.sum)
def sum_along(y, x, axis=None, *, keepdims=False):
    d[x] = unreduce(d[y], x, axis, keepdims)


@adjoint(np.mean)
def mean(y, x):
    d[x] = np.full_like(x, d[y] / np.size(x))


@adjoint(np.mean)
def mean_along(y, x, axis=None, *, keepdims=False):
    d[x] = unreduce(d[y], x, axis, keepdims) * (np.size(y) / np.size(x))


@adjoint(np.prod)
def prod(y, x):
    # the product of the other elements, computed without dividing: exact with zeros too
    d[x] = d[y] * prod_of_others(x, None)


@adjoint(np.prod)
def prod_along(y, x, axis=None, *, keepdims=False):
    d[x] = unreduce(d[y], x, axis, keepdims) * prod_of_others(x, axis)


@adjoint(np.max, np.amax, np.min, np.amin)
def max(y, x):
    # the gradient is split equally among tied maxima (minima), as JAX does
    d[x] = d[y] * extremum_share(x, y, None, False)


@adjoint(np.max, np.amax, np.min, np.amin)
def max_along(y, x, axis=None, *, keepdims=False):
    # the gradient is split equally among tied maxima (minima), as JAX does
    d[x] = unreduce(d[y], x, axis, keepdims) * extremum_share(x, y, axis, keepdims)


@adjoint(np.var)
def var(y, x):
    d[x] = d[y] * 2.0 * (x - np.mean(x)) / np.size(x)


@adjoint(np.var)
def var_along(y, x, axis=None, *, ddof=0, keepdims=False):
    n = np.size(x) / np.size(y)
    d[x] = unreduce(d[y], x, axis, keepdims) * (2.0 * (x - np.mean(x, axis=axis, keepdims=True)) / (n - ddof))


@adjoint(np.std)
def std(y, x):
    d[x] = d[y] * (x - np.mean(x)) / (np.size(x) * y)


@adjoint(np.std)
def std_along(y, x, axis=None, *, ddof=0, keepdims=False):
    n = np.size(x) / np.size(y)
    d[x] = unreduce(d[y] / y, x, axis, keepdims) * ((x - np.mean(x, axis=axis, keepdims=True)) / (n - ddof))


@adjoint(np.cumsum)
def cumsum(y, x, axis=None):
    d[x] = np.reshape(reverse_cumsum(d[y], axis), np.shape(x))


# ---------------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------------

@adjoint(np.reshape)
def reshape(y, x, shape):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.ravel)
def ravel(y, x):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.transpose)
def transpose(y, x):
    d[x] = np.transpose(d[y])


@adjoint(np.transpose)
def transpose_axes(y, x, axes):
    d[x] = np.transpose(d[y], np.argsort(axes))


@adjoint(np.swapaxes)
def swapaxes(y, x, axis1, axis2):
    d[x] = np.swapaxes(d[y], axis1, axis2)


@adjoint(np.moveaxis)
def moveaxis(y, x, source, destination):
    d[x] = np.moveaxis(d[y], destination, source)


@adjoint(np.expand_dims)
def expand_dims(y, x, axis):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.squeeze)
def squeeze(y, x, axis=None):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.broadcast_to)
def broadcast_to(y, x, shape):
    d[x] = sum_to_shape(d[y], np.shape(x))


@adjoint(np.tile)
def tile(y, x, reps):
    d[x] = untile(d[y], x, reps)


@adjoint(np.repeat)
def repeat(y, x, repeats, axis=None):
    d[x] = unrepeat(d[y], x, repeats, axis)


@adjoint(np.flip)
def flip(y, x, axis=None):
    d[x] = np.flip(d[y], axis)


# Sequence arguments: `xs` is the Python list of arrays; d[xs] is one adjoint per element.

@adjoint(np.concatenate)
def concatenate(y, xs, axis=0):
    d[xs] = split_like(d[y], xs, axis)


@adjoint(np.stack)
def stack(y, xs, axis=0):
    d[xs] = np.unstack(d[y], axis=axis)


@adjoint(np.hstack)
def hstack(y, xs):
    d[xs] = split_like(d[y], xs, hstack_axis(xs))


@adjoint(np.vstack)
def vstack(y, xs):
    d[xs] = split_like(d[y], xs, 0)


# ---------------------------------------------------------------------------------------------
# Constructors and queries: no derivative
# ---------------------------------------------------------------------------------------------

nondifferentiable(
    np.zeros, np.ones, np.full, np.empty, np.zeros_like, np.ones_like, np.full_like, np.empty_like,
    np.eye, np.identity, np.arange, np.linspace,
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort,
    np.isnan, np.isinf, np.isfinite, np.count_nonzero, np.any, np.all,
)
