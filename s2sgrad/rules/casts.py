"""Adjoints of copies and casts: `np.copy` (`x.copy()`), `np.array` (of an array, or of a list of
values: `np.array([k, c])`), and the array helpers lowering calls for
methods with no NumPy function of their own, `x.astype(dtype)` and `x.flatten()` (s2sgrad/runtime.py)."""

import builtins
import copy as copy_module

from ..runtime import astype as astype_, cast_back, flatten as flatten_, items_back, pieces_like
from . import adjoint, d, nondifferentiable

import numpy as np


@adjoint(astype_, inert=("dtype",))
def astype(y, x, dtype):
    d[x] = cast_back(d[y], x, y)


@adjoint(flatten_)
def flatten(y, x):
    d[x] = np.reshape(d[y], np.shape(x))


@adjoint(np.copy, inert=("order",))
def copy(y, x, order="K"):
    d[x] = d[y]


@adjoint(copy_module.copy, copy_module.deepcopy)
def shallow_copy(y, x):
    # an array's, a list's or a dict's copy (what the derivative writes into instead of the caller's)
    d[x] = d[y]


@adjoint(builtins.list, builtins.tuple)
def list_of_items(y, x):
    # the items of a list, a tuple or an array (its rows) in a new list or tuple
    d[x] = items_back(d[y], x)


@adjoint(np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray, inert=("dtype",))
def asarray(y, x, dtype=None):
    # the same values (a list of them stacked), in the dtype asked: none when it is integers
    d[x] = cast_back(d[y], x, y)


nondifferentiable(np.result_type)      # x.dtype


@adjoint(np.array, inert=("dtype",))
def array(y, xs, dtype=None):
    d[xs] = pieces_like(d[y], xs, y)
