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

from ..runtime import c_ as c_of_values, r_ as r_of_values
from ..runtime import (bound_or, cast_back, convolution_adjoint, cumprod_adjoint, diagonal_adjoint, extremum_share,
                       filled, hstack_axis, inverse_axes, linspace_weights, none_chosen, pad_adjoint, pad_mode,
                       prod_of_others, quantile_adjoint, quantile_weights, reduced_count, reverse_cumsum,
                       rollaxis_destination, select_adjoints, share_of, source_positions, split_like, sum_to_shape,
                       take_adjoint, take_along_axis_adjoint, unbroadcast, undiff, unreduce, unrepeat, untile,
                       interp_slope, interp_values_adjoint)
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


@adjoint(np.absolute, np.fabs)          # np.abs is np.absolute
def absolute(y, x):
    d[x] = d[y] * np.sign(x)           # 0 at the kink, as in JAX and PyTorch


# np.negative and np.positive share the templates of unary - and +: rules/operators.py.


@adjoint(np.reciprocal)
def reciprocal(y, x):
    d[x] = -d[y] * y * y


@adjoint(np.deg2rad, np.radians)
def deg2rad(y, x):
    d[x] = d[y] * (math.pi / 180.0)


@adjoint(np.rad2deg, np.degrees)
def rad2deg(y, x):
    d[x] = d[y] * (180.0 / math.pi)


@adjoint(np.sinc)
def sinc(y, x):
    # (cos(pi x) - sinc(x)) / x, which is 0 / 0 at 0 and loses digits near it: there its Taylor series,
    # whose derivatives at 0 are those of sinc' too (second order: sinc''(0) = -pi^2 / 3)
    near = np.abs(x) < 1e-2
    far = np.where(near, 1.0, x)
    small = np.where(near, x, 0.0)
    d[x] = d[y] * np.where(near, small * (-math.pi ** 2 / 3.0 + small * small * (math.pi ** 4 / 30.0 - small * small
                                                                                   * math.pi ** 6 / 840.0)),
                           (np.cos(math.pi * far) - np.sinc(far)) / far)


@adjoint(np.real, np.conjugate)            # of real input (complex values are refused where they enter)
def real(y, x):
    d[x] = d[y]


@adjoint(np.nan_to_num, inert=("copy",))
def nan_to_num(y, x, copy=True, nan=0.0, posinf=None, neginf=None):
    # finite elements pass through; each non-finite one is replaced by the value given for its kind
    d[x] = np.where(np.isfinite(x), d[y], 0.0)
    d[nan] = unbroadcast(np.where(np.isnan(x), d[y], 0.0), nan)
    d[posinf] = unbroadcast(np.where(np.isposinf(x), d[y], 0.0), posinf)
    d[neginf] = unbroadcast(np.where(np.isneginf(x), d[y], 0.0), neginf)


nondifferentiable(np.sign, np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix, np.imag, np.signbit,
                  np.spacing)


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


@adjoint(np.logaddexp2)
def logaddexp2(z, x, y):
    d[x] = unbroadcast(d[z] * np.exp2(x - z), x)
    d[y] = unbroadcast(d[z] * np.exp2(y - z), y)


@adjoint(np.remainder, np.fmod)              # np.mod is np.remainder
def remainder(z, x, y):
    # x - y k with k = floor(x / y) (trunc for fmod), piecewise constant: (x - z) / y
    d[x] = unbroadcast(d[z], x)
    d[y] = -unbroadcast(d[z] * ((x - z) / y), y)


@adjoint(np.copysign, inert=("y",))          # only y's sign is read
def copysign(z, x, y):
    d[x] = unbroadcast(d[z] * np.sign(x) * np.copysign(1.0, y), x)


@adjoint(np.ldexp, inert=("e",))             # x 2^e, e integers
def ldexp(z, x, e):
    d[x] = unbroadcast(np.ldexp(d[z], e), x)


@adjoint(np.where, inert=("cond",))          # the condition is piecewise constant
def where(y, cond, a, b):
    d[a] = unbroadcast(np.where(cond, d[y], 0.0), a)
    d[b] = unbroadcast(np.where(cond, 0.0, d[y]), b)


# y = minimum(maximum(x, lo), hi): x inside [lo, hi] (ends included) gets the gradient; where lo > hi NumPy
# returns hi everywhere; a bound of None is no bound. Bounds by position, as a_min= / a_max=, or (NumPy 2.1)
# as min= / max=.

@adjoint(np.select, inert=("condlist",))        # xs: the choices; the conditions are piecewise constant
def select(y, condlist, xs, default=0):
    d[xs] = select_adjoints(d[y], condlist, xs)
    d[default] = unbroadcast(np.where(none_chosen(condlist), d[y], 0.0), default)


@adjoint(np.clip)
def clip(y, a, a_min=None, a_max=None):
    low = bound_or(a_min, -np.inf)
    high = bound_or(a_max, np.inf)
    d[a] = unbroadcast(np.where(np.logical_and(low <= a, a <= high), d[y], 0.0), a)
    d[a_min] = unbroadcast(np.where(np.logical_and(a < low, low <= high), d[y], 0.0), a_min)
    d[a_max] = unbroadcast(np.where(np.logical_or(a > high, low > high), d[y], 0.0), a_max)


@adjoint(np.clip)
def clip_keywords(y, a, *, min=None, max=None):
    low = bound_or(min, -np.inf)
    high = bound_or(max, np.inf)
    d[a] = unbroadcast(np.where(np.logical_and(low <= a, a <= high), d[y], 0.0), a)
    d[min] = unbroadcast(np.where(np.logical_and(a < low, low <= high), d[y], 0.0), min)
    d[max] = unbroadcast(np.where(np.logical_or(a > high, low > high), d[y], 0.0), max)


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


# y_i is the product of x_j over j <= i. The adjoint runs the products backwards (no division, exact with
# zeros); the tangent is that of row i of a matrix holding x_j at j <= i and 1 elsewhere, through np.prod's
# derivative, made of rules itself (Hessians) at the price of n x n entries along the axis.

@adjoint(np.cumprod, inert=("axis",))
def cumprod(y, x, axis=None):
    d[x] = cumprod_adjoint(d[y], x, axis)


# NaN-ignoring reductions: NaNs carry no derivative (they are left out, or count as 1 in a product)

@adjoint(np.nansum, inert=("axis", "keepdims"))
def nansum(y, x, axis=None, *, keepdims=False):
    d[x] = np.where(np.isnan(x), 0.0, unreduce(d[y], x, axis, keepdims))


@adjoint(np.nanmean, inert=("axis", "keepdims"))
def nanmean(y, x, axis=None, *, keepdims=False):
    counted = np.sum(np.logical_not(np.isnan(x)), axis=axis, keepdims=True)
    d[x] = np.where(np.isnan(x), 0.0, unreduce(d[y], x, axis, keepdims) / counted)


@adjoint(np.nanmax, np.nanmin, inert=("axis", "keepdims"))
def nanmax(y, x, axis=None, *, keepdims=False):
    # NaN equals nothing: the shares go to the extrema among the numbers, split equally among ties
    d[x] = unreduce(d[y], x, axis, keepdims) * extremum_share(x, y, axis, keepdims)


@adjoint(np.nanprod, inert=("axis", "keepdims"))
def nanprod(y, x, axis=None, *, keepdims=False):
    d[x] = np.where(np.isnan(x), 0.0, unreduce(d[y], x, axis, keepdims) * prod_of_others(
        np.where(np.isnan(x), 1.0, x), axis))


@adjoint(np.nancumsum, inert=("axis",))
def nancumsum(y, x, axis=None):
    d[x] = np.where(np.isnan(x), 0.0, np.reshape(reverse_cumsum(d[y], axis), np.shape(x)))


@adjoint(np.ptp, inert=("axis", "keepdims"))
def ptp(y, x, axis=None, *, keepdims=False):
    # max - min, ties at either end split equally
    top = np.max(x, axis=axis, keepdims=keepdims)
    bottom = np.min(x, axis=axis, keepdims=keepdims)
    d[x] = unreduce(d[y], x, axis, keepdims) * (extremum_share(x, top, axis, keepdims)
                                                  - extremum_share(x, bottom, axis, keepdims))


# Order statistics: np.median and np.quantile / np.percentile with the default method ('linear') move with
# the elements at the order statistics they read, weighted as they interpolate; ties take the weights
# argsort gives them (a subgradient). The quantile q moves them too and has no rule: refused.

@adjoint(np.median, inert=("axis", "keepdims"))
def median(y, x, axis=None, *, keepdims=False):
    d[x] = unreduce(d[y], x, axis, keepdims) * quantile_weights(x, 0.5, axis, 1.0)


@adjoint(np.quantile, inert=("axis", "keepdims"))
def quantile(y, a, q, axis=None, *, keepdims=False):
    d[a] = quantile_adjoint(d[y], a, q, axis, keepdims, 1.0)


@adjoint(np.percentile, inert=("axis", "keepdims"))
def percentile(y, a, q, axis=None, *, keepdims=False):
    d[a] = quantile_adjoint(d[y], a, q, axis, keepdims, 100.0)


@adjoint(np.cumulative_sum, inert=("axis",))               # include_initial= has no rule
def cumulative_sum(y, x, *, axis=None):
    d[x] = np.reshape(reverse_cumsum(d[y], axis), np.shape(x))


@adjoint(np.cumulative_prod, inert=("axis",))
def cumulative_prod(y, x, *, axis=None):
    d[x] = cumprod_adjoint(d[y], x, axis)


# np.interp(x, xp, fp): piecewise linear in x, linear in fp; the knots xp move it too and have no rule, nor do
# left=, right= and period=

@adjoint(np.interp)
def interp(y, x, xp, fp):
    d[x] = unbroadcast(d[y] * interp_slope(x, xp, fp), x)
    d[fp] = interp_values_adjoint(d[y], x, xp, fp)


@adjoint(np.diff, inert=("n", "axis"))          # prepend= and append= have no rule
def diff(y, a, n=1, axis=-1):
    d[a] = undiff(d[y], n, axis)


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


@adjoint(np.matrix_transpose, np.linalg.matrix_transpose)
def matrix_transpose(y, x):
    d[x] = np.matrix_transpose(d[y])


@adjoint(np.rollaxis, inert=("axis", "start"))
def rollaxis(y, x, axis, start=0):
    d[x] = np.moveaxis(d[y], rollaxis_destination(np.ndim(x), axis, start), axis)


@adjoint(np.atleast_1d, np.atleast_2d, np.atleast_3d)     # of one array (several give a list: no rule)
def atleast_1d(y, x):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.roll, inert=("shift", "axis"))
def roll(y, x, shift, axis=None):
    d[x] = np.roll(d[y], np.negative(shift), axis)


@adjoint(np.rot90, inert=("k", "axes"))
def rot90(y, x, k=1, axes=(0, 1)):
    d[x] = np.rot90(d[y], -k, axes)


@adjoint(np.flipud)
def flipud(y, x):
    d[x] = np.flipud(d[y])


@adjoint(np.fliplr)
def fliplr(y, x):
    d[x] = np.fliplr(d[y])


@adjoint(np.triu, inert=("k",))
def triu(y, x, k=0):
    d[x] = np.triu(d[y], k)


@adjoint(np.tril, inert=("k",))
def tril(y, x, k=0):
    d[x] = np.tril(d[y], k)


@adjoint(np.diagonal, inert=("offset", "axis1", "axis2"))
def diagonal(y, x, offset=0, axis1=0, axis2=1):
    d[x] = diagonal_adjoint(d[y], x, offset, axis1, axis2)


@adjoint(np.take, inert=("indices", "axis"))
def take(y, x, indices, axis=None):
    d[x] = take_adjoint(d[y], x, indices, axis)


@adjoint(np.take_along_axis, inert=("indices", "axis"))
def take_along_axis(y, x, indices, axis):
    d[x] = take_along_axis_adjoint(d[y], x, indices, axis)


# np.sort and np.partition rearrange x: each element of y goes back where it came from (tied values may
# trade places, where their derivatives agree or the point is a kink)

@adjoint(np.sort, inert=("axis",))
def sort(y, x, axis=-1):
    d[x] = take_along_axis_adjoint(d[y], x, source_positions(x, y, axis), axis)


@adjoint(np.partition, inert=("kth", "axis"))
def partition(y, x, kth, axis=-1):
    d[x] = take_along_axis_adjoint(d[y], x, source_positions(x, y, axis), axis)


# np.pad copies elements (mode constant with zeros, edge, reflect, symmetric, wrap): each copy's adjoint
# goes back to its element. constant_values= and the modes computing statistics have no rule.

@adjoint(np.pad, inert=("pad_width",))
def pad(y, x, pad_width):
    d[x] = pad_adjoint(d[y], x, pad_width)


@adjoint(np.pad, inert=("pad_width", "mode"))
def pad_mode_(y, x, pad_width, mode):
    d[x] = pad_adjoint(d[y], x, pad_width, pad_mode(mode))


# Functions returning a list of pieces: d[y] holds each piece's adjoint (0.0 for a piece nothing read).

@adjoint(np.split, np.array_split, inert=("indices_or_sections", "axis"))
def split(y, x, indices_or_sections, axis=0):
    d[x] = np.concatenate(filled(d[y], y), axis=axis)


@adjoint(np.hsplit, inert=("indices_or_sections",))
def hsplit(y, x, indices_or_sections):
    d[x] = np.concatenate(filled(d[y], y), axis=hstack_axis([x]))


@adjoint(np.vsplit, inert=("indices_or_sections",))
def vsplit(y, x, indices_or_sections):
    d[x] = np.concatenate(filled(d[y], y), axis=0)


@adjoint(np.dsplit, inert=("indices_or_sections",))
def dsplit(y, x, indices_or_sections):
    d[x] = np.concatenate(filled(d[y], y), axis=2)


@adjoint(np.unstack, inert=("axis",))
def unstack(y, x, *, axis=0):
    d[x] = np.stack(filled(d[y], y), axis=axis)


@adjoint(np.append, inert=("axis",))
def append(y, arr, values, axis=None):
    pieces = split_like(d[y], [arr, values], axis)
    d[arr] = pieces[0]
    d[values] = pieces[1]


# Sequence arguments: `xs` is the Python list of arrays; d[xs] is one adjoint per element.

@adjoint(np.concatenate, inert=("axis",))
def concatenate(y, xs, axis=0):
    d[xs] = split_like(d[y], xs, axis)


@adjoint(r_of_values)
def r_(y, xs):
    d[xs] = split_like(d[y], xs, 0)             # each item a piece of the first axis (a number: one entry)


@adjoint(c_of_values)
def c_(y, xs):
    d[xs] = split_like(d[y], xs, -1)            # each item columns of the last axis (a 1-d item: one)


@adjoint(np.stack, inert=("axis",))
def stack(y, xs, axis=0):
    d[xs] = np.unstack(d[y], axis=axis)


@adjoint(np.hstack)
def hstack(y, xs):
    d[xs] = split_like(d[y], xs, hstack_axis(xs))


@adjoint(np.vstack, *([np.row_stack] if hasattr(np, "row_stack") else []))     # row_stack: NumPy < 2.5
def vstack(y, xs):
    d[xs] = split_like(d[y], xs, 0)


@adjoint(np.column_stack)
def column_stack(y, xs):
    d[xs] = split_like(d[y], xs, 1)


@adjoint(np.dstack)
def dstack(y, xs):
    d[xs] = split_like(d[y], xs, 2)


# ---------------------------------------------------------------------------------------------
# Convolutions of vectors (scipy.signal's n-d ones: rules/scipy_signal.py)
# ---------------------------------------------------------------------------------------------

@adjoint(np.convolve, inert=("mode",))
def convolve(y, a, v, mode="full"):
    d[a] = convolution_adjoint(d[y], a, v, mode, True)
    d[v] = convolution_adjoint(d[y], a, v, mode, False)


@adjoint(np.correlate, inert=("mode",))
def correlate(y, a, v, mode="valid"):
    d[a] = convolution_adjoint(d[y], a, v, mode, True, True)
    d[v] = convolution_adjoint(d[y], a, v, mode, False, True)


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
    np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye, np.identity, np.tri,
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.argpartition, np.nanargmax, np.nanargmin,
    np.isnan, np.isinf, np.isfinite, np.isposinf, np.isneginf, np.count_nonzero, np.any, np.all,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.nonzero, np.flatnonzero, np.argwhere, np.searchsorted, np.digitize, np.floor_divide,
)

# Helpers the tangent templates call that are piecewise constant in every argument (so Hessians go
# through max, maximum and the reductions that count).
nondifferentiable(extremum_share, share_of, reduced_count, quantile_weights, source_positions, rollaxis_destination,
                  none_chosen)
