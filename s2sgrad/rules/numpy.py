"""Adjoints of NumPy's elementwise functions, reductions and shape functions (linear algebra is
in `linalg`). Grouped by family; the machinery they share (un-reducing along axes, ...) lives in
`s2sgrad.runtime`.

Conventions: `d[y]` has y's shape; broadcasting binary adjoints are wrapped in `unbroadcast`
(dropped by the compiler where shapes are known equal); constants are Python floats, which NumPy
treats as weak, so float32 and float16 adjoints keep their dtype.

At degenerate points each rule gives the derivative the math has, as JAX and autograd do: infinite
where it is (sqrt at 0), the subgradient JAX and PyTorch give where the function has a kink (0 for
abs, norm and hypot at 0, and for std where every element is equal), never a NaN from 0 * inf or 0 / 0
where the function is smooth. A NumPy function called on Python floats computes its adjoint with NumPy
where a Python float could divide by zero (np.divide, not `/`): NumPy's primal gave inf there, and
Python would raise ZeroDivisionError. `inert` names inputs that carry no derivative (a condition, a
shape, an axis): the compiler refuses any other input without an adjoint when it is differentiated.
"""

import math

import numpy as np

from ..runtime import (bound_or, cast_back, extremum_share, hstack_axis, inverse_axes, linspace_weights,
                       prod_of_others, reduced_count, reverse_cumsum, share_of, split_like, sum_to_shape, unbroadcast,
                       unreduce, unrepeat, untile)
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
    d[x] = np.divide(d[y], 1.0 - x * x)


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
    d[x] = np.divide(d[y], x)


@adjoint(np.log2)
def log2(y, x):
    d[x] = np.divide(d[y], x * math.log(2.0))


@adjoint(np.log10)
def log10(y, x):
    d[x] = np.divide(d[y], x * math.log(10.0))


@adjoint(np.log1p)
def log1p(y, x):
    d[x] = np.divide(d[y], 1.0 + x)


@adjoint(np.sqrt)
def sqrt(y, x):
    d[x] = d[y] / (2.0 * y)            # inf at 0, the slope of sqrt there


@adjoint(np.cbrt)
def cbrt(y, x):
    d[x] = d[y] / (3.0 * y * y)


@adjoint(np.square)
def square(y, x):
    d[x] = d[y] * 2.0 * x


@adjoint(np.absolute)          # np.abs is the same object
def absolute(y, x):
    d[x] = d[y] * np.sign(x)           # 0 at the kink, as in JAX and PyTorch


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
    # x / (x^2 + y^2) and -y / (x^2 + y^2), divided by r twice (r * r underflows for tiny x, y); at the
    # origin arctan2 jumps and has no derivative: NaN, as in JAX and PyTorch
    r = np.hypot(x, y)
    d[y] = unbroadcast(d[z] * (x / r) / r, y)
    d[x] = -unbroadcast(d[z] * (y / r) / r, x)


@adjoint(np.hypot)
def hypot(z, x, y):
    # x / z and y / z; at the origin, a kink, 0 (0 / 1), the subgradient PyTorch gives the norm there
    nonzero_z = np.where(z == 0, 1.0, z)
    d[x] = unbroadcast(d[z] * x / nonzero_z, x)
    d[y] = unbroadcast(d[z] * y / nonzero_z, y)


@adjoint(np.logaddexp)
def logaddexp(z, x, y):
    d[x] = unbroadcast(d[z] * np.exp(x - z), x)
    d[y] = unbroadcast(d[z] * np.exp(y - z), y)


@adjoint(np.where, inert=("cond",))          # the condition is piecewise constant
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


@adjoint(np.sum, inert=("axis", "keepdims"))
def sum_along(y, x, axis=None, *, keepdims=False):
    d[x] = unreduce(d[y], x, axis, keepdims)


@adjoint(np.mean)
def mean(y, x):
    d[x] = np.full_like(x, d[y]) / np.size(x)            # an empty x divides an empty array, not a float


@adjoint(np.mean, inert=("axis", "keepdims"))
def mean_along(y, x, axis=None, *, keepdims=False):
    d[x] = unreduce(d[y], x, axis, keepdims) / reduced_count(x, axis)


@adjoint(np.prod)
def prod(y, x):
    # the product of the other elements, computed without dividing: exact with zeros too
    d[x] = d[y] * prod_of_others(x, None)


@adjoint(np.prod, inert=("axis", "keepdims"))
def prod_along(y, x, axis=None, *, keepdims=False):
    d[x] = unreduce(d[y], x, axis, keepdims) * prod_of_others(x, axis)


@adjoint(np.max, np.amax, np.min, np.amin)
def max(y, x):
    # the gradient is split equally among tied maxima (minima), as JAX does
    d[x] = d[y] * extremum_share(x, y, None, False)


@adjoint(np.max, np.amax, np.min, np.amin, inert=("axis", "keepdims"))
def max_along(y, x, axis=None, *, keepdims=False):
    # the gradient is split equally among tied maxima (minima), as JAX does
    d[x] = unreduce(d[y], x, axis, keepdims) * extremum_share(x, y, axis, keepdims)


@adjoint(np.var)
def var(y, x):
    d[x] = d[y] * 2.0 * (x - np.mean(x)) / np.size(x)


@adjoint(np.var, inert=("axis", "keepdims"))            # ddof moves var and has no adjoint: refused
def var_along(y, x, axis=None, *, ddof=0, keepdims=False):
    n = reduced_count(x, axis)
    d[x] = unreduce(d[y], x, axis, keepdims) * (2.0 * (x - np.mean(x, axis=axis, keepdims=True)) / (n - ddof))


# (x - mean) / (n y); where y == 0 (one element, or all equal) x - mean is 0 too: 0 / 1, the gradient of
# std over one element (a constant) and the subgradient 0 at a kink, as for the norm

@adjoint(np.std)
def std(y, x):
    d[x] = d[y] * (x - np.mean(x)) / (np.size(x) * np.where(y == 0, 1.0, y))


@adjoint(np.std, inert=("axis", "keepdims"))
def std_along(y, x, axis=None, *, ddof=0, keepdims=False):
    n = reduced_count(x, axis)
    d[x] = unreduce(d[y] / np.where(y == 0, 1.0, y), x, axis, keepdims) * (
        (x - np.mean(x, axis=axis, keepdims=True)) / (n - ddof))


@adjoint(np.cumsum, inert=("axis",))
def cumsum(y, x, axis=None):
    d[x] = np.reshape(reverse_cumsum(d[y], axis), np.shape(x))


# ---------------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------------

@adjoint(np.reshape, inert=("shape",))
def reshape(y, x, shape):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.ravel)
def ravel(y, x):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.transpose)
def transpose(y, x):
    d[x] = np.transpose(d[y])


@adjoint(np.transpose, inert=("axes",))
def transpose_axes(y, x, axes):
    d[x] = np.transpose(d[y], inverse_axes(axes, np.ndim(x)))           # axes=None reverses them again


@adjoint(np.swapaxes, inert=("axis1", "axis2"))
def swapaxes(y, x, axis1, axis2):
    d[x] = np.swapaxes(d[y], axis1, axis2)


@adjoint(np.moveaxis, inert=("source", "destination"))
def moveaxis(y, x, source, destination):
    d[x] = np.moveaxis(d[y], destination, source)


@adjoint(np.expand_dims, inert=("axis",))
def expand_dims(y, x, axis):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.squeeze, inert=("axis",))
def squeeze(y, x, axis=None):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.broadcast_to, inert=("shape",))
def broadcast_to(y, x, shape):
    d[x] = sum_to_shape(d[y], np.shape(x))


@adjoint(np.tile, inert=("reps",))
def tile(y, x, reps):
    d[x] = untile(d[y], x, reps)


@adjoint(np.repeat, inert=("repeats", "axis"))
def repeat(y, x, repeats, axis=None):
    d[x] = unrepeat(d[y], x, repeats, axis)


@adjoint(np.flip, inert=("axis",))
def flip(y, x, axis=None):
    d[x] = np.flip(d[y], axis)


# Sequence arguments: `xs` is the Python list of arrays; d[xs] is one adjoint per element.

@adjoint(np.concatenate, inert=("axis",))
def concatenate(y, xs, axis=0):
    d[xs] = split_like(d[y], xs, axis)


@adjoint(np.stack, inert=("axis",))
def stack(y, xs, axis=0):
    d[xs] = np.unstack(d[y], axis=axis)


@adjoint(np.hstack)
def hstack(y, xs):
    d[xs] = split_like(d[y], xs, hstack_axis(xs))


@adjoint(np.vstack)
def vstack(y, xs):
    d[xs] = split_like(d[y], xs, 0)


# ---------------------------------------------------------------------------------------------
# Constructors: the values they are given move their output (a shape, a count or an array read
# for its shape only does not); cast_back gives zero where a dtype makes the output integers
# ---------------------------------------------------------------------------------------------

@adjoint(np.full, inert=("shape", "dtype"))
def full(y, shape, fill_value, dtype=None):
    d[fill_value] = cast_back(sum_to_shape(d[y], np.shape(fill_value)), fill_value, y)


@adjoint(np.full_like, inert=("a", "dtype"))
def full_like(y, a, fill_value, dtype=None):
    d[fill_value] = cast_back(sum_to_shape(d[y], np.shape(fill_value)), fill_value, y)


@adjoint(np.linspace, inert=("num", "endpoint"))
def linspace(y, start, stop, num=50, endpoint=True):
    # y = start * (1 - w) + stop * w along the first axis, w = k / (num - 1)
    w = linspace_weights(y, num, endpoint)
    d[start] = sum_to_shape(np.sum(d[y] * (1.0 - w), axis=0), np.shape(start))
    d[stop] = sum_to_shape(np.sum(d[y] * w, axis=0), np.shape(stop))


# y = start + k * step: `stop` only sets how many values there are, which is piecewise constant.
# np.arange(stop) alone has no rule: a stop that carries a derivative there is refused.

@adjoint(np.arange, inert=("stop",))
def arange_from(y, start, stop):
    d[start] = np.sum(d[y])


@adjoint(np.arange, inert=("stop",))
def arange_by(y, start, stop, step):
    d[start] = np.sum(d[y])
    d[step] = np.sum(d[y] * np.arange(np.size(y)))


# ---------------------------------------------------------------------------------------------
# Constructors and queries: no derivative
# ---------------------------------------------------------------------------------------------

nondifferentiable(
    np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye, np.identity,
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort,
    np.isnan, np.isinf, np.isfinite, np.count_nonzero, np.any, np.all,
)

# Helpers the tangent templates call that are piecewise constant in every argument (so Hessians go
# through max, maximum and the reductions that count).
nondifferentiable(extremum_share, share_of, reduced_count)
