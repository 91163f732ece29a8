"""Adjoints and tangents of the builtins numeric code applies to sequences: `sum`, `max` and `min`, and the
builtins whose results carry no derivative (`len`, `isinstance`, `any`, `all`, ...).

A sequence argument is a list or tuple display (`sum([a, b * b, 3.0])`, `max(a, b, c)`: one adjoint per
element) or a name holding a list, a tuple or an array (`sum(xs)`: an adjoint of the same structure, one
item each). Python iterates an array along its first axis, so `sum(x)` is `x.sum(axis=0)` and `max(x)`
of a 1-d array is its largest entry.

`max` and `min` give the whole adjoint to the item Python returns: the first of equal largest (smallest)
items, found by the comparisons Python makes (`first_max`, `first_min`). Their second derivatives are
zero, and the tangents below are made of functions with rules of their own, so Hessians through them run.

`sorted` has no rule: sorting values that carry a derivative is refused at the user's line (the
derivative of a sort is a permutation; `np.sort(np.array(xs))` has that rule).
"""

import builtins

import numpy as np

from ..runtime import stacked_tangent, sum_to_shape, unbroadcast, zeros_of
from . import adjoint, d, nondifferentiable
from .tangents import linear, t, tangent


def items_adjoint(g, xs):
    """The adjoint of each item of `xs` for `y = sum(xs)` (or `sum(xs, start)`), whose adjoint is `g`: g summed
    to each item's shape, as a list for a list or tuple; for an array, whose items are its rows, an array of
    xs's shape; zeros (of the same structure) for a dict, whose keys Python sums.

    Example:
        >>> items_adjoint(np.ones(3), [1.0, np.zeros(3)])       # [3.0, array([1., 1., 1.])]
    """
    if isinstance(xs, np.ndarray):
        out = np.zeros(xs.shape, dtype=np.result_type(xs, np.float16))
        out[...] = sum_to_shape(g, xs.shape[1:])
        return out
    if isinstance(xs, dict):
        return zeros_of(xs)
    return [None if x is None else unbroadcast(g, x) for x in xs]


def first_max(xs):
    """The position of the item `max(xs)` returns: the first of the largest, by Python's own comparisons
    (an item replaces the one kept only when it is greater), so NaNs fall where Python puts them."""
    best = 0
    for k in range(1, len(xs)):
        if xs[k] > xs[best]:
            best = k
    return best


def first_min(xs):
    """The position of the item `min(xs)` returns: the first of the smallest (see `first_max`)."""
    best = 0
    for k in range(1, len(xs)):
        if xs[k] < xs[best]:
            best = k
    return best


def chosen_adjoint(g, xs, k):
    """The adjoints of the items of `xs` for `y = xs[k]` (max or min), whose adjoint is `g`: g for item k, zero
    for the others; a list for a list or tuple, an array of xs's shape for an array.

    Example:
        >>> chosen_adjoint(2.0, [0.5, 3.0, 1.0], 1)           # [0.0, 2.0, 0.0]
    """
    if isinstance(xs, np.ndarray):
        out = np.zeros(xs.shape, dtype=np.result_type(xs, np.float16))
        out[k] = g
        return out
    return [g if j == k else (np.zeros_like(x, dtype=np.result_type(x, np.float16)) if isinstance(x, np.ndarray)
                              else 0.0) for j, x in enumerate(xs)]


# Positions and counts carry no derivative: they may be computed from values that do.
nondifferentiable(first_max, first_min, builtins.any, builtins.all)


# -- sum ----------------------------------------------------------------------------------------------

@adjoint(builtins.sum)
def sum_items(y, xs, start=0):
    d[xs] = items_adjoint(d[y], xs)
    d[start] = unbroadcast(d[y], start)


linear(builtins.sum, "xs", "start")          # sum(xs_dot, start_dot): the items' tangents added up


# -- max and min ------------------------------------------------------------------------------------------
# Tried in order: one argument is an iterable (a list, tuple or 1-d array), two are the values compared
# (the first rule, kept), more are the values too.

@adjoint(builtins.max)
def max_of(z, xs):
    d[xs] = chosen_adjoint(d[z], xs, first_max(xs))


@adjoint(builtins.max)
def max_of_two(z, x, y):
    d[x] = d[z] * (x >= y)
    d[y] = d[z] * (y > x)


@adjoint(builtins.max)
def max_of_values(z, *xs):
    d[xs] = chosen_adjoint(d[z], xs, first_max(xs))


@adjoint(builtins.min)
def min_of(z, xs):
    d[xs] = chosen_adjoint(d[z], xs, first_min(xs))


@adjoint(builtins.min)
def min_of_two(z, x, y):
    d[x] = d[z] * (x <= y)
    d[y] = d[z] * (y < x)


@adjoint(builtins.min)
def min_of_values(z, *xs):
    d[xs] = chosen_adjoint(d[z], xs, first_min(xs))


# The tangent is the chosen item's: the items' tangents stacked (zeros for those with none), read at its
# position, which carries no derivative.

@tangent(builtins.max)
def max_of_tangent(z, xs):
    t[z] = stacked_tangent(t[xs], xs)[first_max(xs)]


@tangent(builtins.max)
def max_of_two_tangent(z, x, y):
    t[z] = t[x] * (x >= y) + t[y] * (y > x)


@tangent(builtins.max)
def max_of_values_tangent(z, *xs):
    t[z] = stacked_tangent(t[xs], xs)[first_max(xs)]


@tangent(builtins.min)
def min_of_tangent(z, xs):
    t[z] = stacked_tangent(t[xs], xs)[first_min(xs)]


@tangent(builtins.min)
def min_of_two_tangent(z, x, y):
    t[z] = t[x] * (x <= y) + t[y] * (y < x)


@tangent(builtins.min)
def min_of_values_tangent(z, *xs):
    t[z] = stacked_tangent(t[xs], xs)[first_min(xs)]

