"""The few helpers generated code may call. Each is small, exact, and has its own rule
where generated code must be differentiated again.

Example:
    >>> unbroadcast(np.ones((3, 2)), np.ones(2))   # array([3., 3.])
"""

import numpy as np


def unbroadcast(g, x):
    """Sum the adjoint `g` over the axes along which `x` was broadcast, so it takes x's shape."""
    if type(g) is float:
        return g
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    if getattr(g, "shape", None) == shape:
        return g
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if not shape and isinstance(x, (float, int)):
        return float(g)
    return g


def matmul_adjoint_left(g, x, y):
    """Adjoint of x in x @ y, for every rank NumPy's matmul accepts."""
    if np.ndim(y) == 1:
        if np.ndim(x) == 1:
            return g * y
        return unbroadcast(np.expand_dims(g, -1) * y, x)
    if np.ndim(x) == 1:
        return unbroadcast(np.squeeze(np.expand_dims(g, -2) @ np.swapaxes(y, -1, -2), -2), x)
    return unbroadcast(g @ np.swapaxes(y, -1, -2), x)


def matmul_adjoint_right(g, x, y):
    """Adjoint of y in x @ y, for every rank NumPy's matmul accepts."""
    if np.ndim(x) == 1:
        if np.ndim(y) == 1:
            return g * x
        return unbroadcast(np.expand_dims(x, -1) * np.expand_dims(g, -2), y)
    if np.ndim(y) == 1:
        return unbroadcast(np.squeeze(np.swapaxes(x, -1, -2) @ np.expand_dims(g, -1), -1), y)
    return unbroadcast(np.swapaxes(x, -1, -2) @ g, y)


def astype(x, dtype):
    """`x.astype(dtype)`: always a new array (a Python number becomes a 0-d array)."""
    return np.asarray(x).astype(dtype)


def flatten(x):
    """`x.flatten()`: a new 1-d array (never a view, unlike ravel)."""
    return np.ravel(x).copy()


def broadcast_like(t, y):
    """The tangent `t` of a broadcasting operation spread to the shape of its output `y`
    (a contribution from a smaller operand, like a scalar added to an array, is smaller)."""
    shape = np.shape(y)
    if np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def zero_tangent(y):
    """The tangent of a value that does not depend on the inputs: zeros of its shape."""
    if isinstance(y, np.ndarray):
        return np.zeros(y.shape, y.dtype if y.dtype.kind == "f" else float)
    if isinstance(y, np.floating):
        return y.dtype.type(0.0)
    return 0.0


def written(g, index):
    """`g[index]` for the adjoint of `x[index] = v`, where only the last write to a repeated position
    counts (NumPy assigns repeated integer indices in order): earlier duplicates get zero."""
    part = np.array(g[index], copy=True)
    positions = np.arange(np.size(g)).reshape(np.shape(g))[index]
    flat = np.ravel(positions)
    if flat.size == np.unique(flat).size:
        return part
    last = {p: k for k, p in enumerate(flat)}
    keep = np.zeros(flat.size, dtype=bool)
    keep[list(last.values())] = True
    np.ravel(part)[~keep] = 0      # part is contiguous, so ravel is a view
    return part


def cast_back(g, x, y):
    """The adjoint of `y = x.astype(...)`: g in x's dtype (float16 stays float16), and zero when the
    cast made integers or booleans, which carry no derivative."""
    if np.result_type(y).kind != "f":
        return np.zeros_like(x)
    return np.asarray(g).astype(np.result_type(x))


def cast_tangent(t, y):
    """The tangent of `y = x.astype(...)`: t in y's dtype, and zero when the cast made integers or
    booleans, which carry no derivative."""
    if np.result_type(y).kind != "f":
        return zero_tangent(y)
    return np.asarray(t).astype(np.result_type(y))


def own_tangent(t, y):
    """The tangent of an array the function writes into by index: a new array of y's shape that
    no other tangent shares, so `y_dot[i] = ...` changes only y's tangent."""
    dtype = np.result_type(y) if np.result_type(y).kind == "f" else float
    return np.array(np.broadcast_to(t, np.shape(y)), dtype=dtype)
