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
