"""The few helpers generated code may call. Each is small, exact, and has its own rule
where generated code must be differentiated again.

Example:
    >>> unbroadcast(np.ones((3, 2)), np.ones(2))   # array([3., 3.])
"""

import math
import string
from collections import Counter

import numpy as np


def float_dtype(x):
    """The floating dtype a share, mask or constant for `x` takes: x's own for float arrays and NumPy
    floats (float16 stays float16), float64 for Python numbers, integers and booleans. Never
    `np.result_type(x, np.float16)`: under NumPy 2 that is float16 for a Python float.

    Example:
        >>> float_dtype(2.0), float_dtype(np.ones(2, np.float32))   # float64, float32
    """
    dtype = x.dtype if isinstance(x, (np.ndarray, np.generic)) else np.asarray(x).dtype
    return dtype if dtype.kind == "f" else np.dtype(float)


def unbroadcast(g, x):
    """Sum the adjoint `g` over the axes along which `x` was broadcast, so it takes x's shape."""
    if type(g) is float:
        return g
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    if getattr(g, "shape", None) == shape:
        return g
    g = sum_to_shape(g, shape)
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


# ---------------------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------------------

def times_power(c, x, e):
    """c * x ** e, where a zero c gives 0 even where x ** e is infinite or NaN (0·∞ is 0 here). The
    slope of x ** y in x is times_power(y, x, y - 1): 0 at y == 0 for every x, x == 0 included, as in
    JAX and autograd. Where x ** e is infinite (x == 0, e < 0) the result is ±inf, also for Python
    floats, which raise ZeroDivisionError for 0.0 ** -0.5.

    Example:
        >>> times_power(0.0, 0.0, -1.0), times_power(0.5, 0.0, -0.5)    # (0.0, inf)
    """
    if isinstance(e, (int, float)) and e >= 0:      # x ** e is finite: the plain product
        return c * x ** e
    with np.errstate(divide="ignore", invalid="ignore"):
        product = c * np.power(x, e)
    out = np.where(c == 0, 0.0, product)
    return out[()] if out.ndim == 0 else out       # a NumPy scalar, not a 0-d array, for scalars


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------

def reduced_count(x, axis):
    """How many elements of `x` each value of a reduction over `axis` (None, an int or a tuple)
    combines: the n of a mean, var or std. A Python int, 0 for an empty axis (which a ratio of
    sizes would divide by).

    Example:
        >>> reduced_count(np.ones((2, 3, 4)), (0, 2))     # 8
    """
    shape = np.shape(x)
    return math.prod(shape[a] for a in _axes(axis, len(shape)))


def _axes(axis, ndim):
    """`axis` (None, an int or a sequence, negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(sorted(int(a) % ndim for a in axis))


def unreduce(g, x, axis, keepdims):
    """The adjoint `g` of a reduction of `x` over `axis`, broadcast back to x's shape (a new array)."""
    shape = np.shape(x)
    g = np.asarray(g, dtype=np.result_type(g, x))        # a Python float seed takes x's dtype
    if not keepdims:
        g = np.expand_dims(g, _axes(axis, len(shape)))
    return np.array(np.broadcast_to(g, shape))


def sum_to_shape(g, shape):
    """Sum `g` over the axes along which an array of `shape` was broadcast to g's shape.

    Like `unbroadcast`, but never dropped by the compiler: for broadcast_to the other
    argument is a shape, not an operand of the same size."""
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def extremum_share(x, y, axis, keepdims):
    """Where `x` attains its max (or min) `y` along `axis`: 1/k at each of the k tied extrema, else 0.
    The gradient of a tie is split equally among the tied elements (what JAX does)."""
    hit = x == unreduce(y, x, axis, keepdims)
    count = np.sum(hit, axis=_axes(axis, np.ndim(x)), keepdims=True)
    return (hit / count).astype(float_dtype(x))


def share_of(x, other, z):
    """How much of the gradient of z = maximum(x, other) (or minimum, fmax, fmin) goes to x:
    1 where z is x alone, 1/2 where x == other (ties split equally, as JAX does), else 0;
    in z's dtype."""
    share = np.where(x == other, 0.5, (x == z) * 1.0)
    return share.astype(float_dtype(z))


def prod_of_others(x, axis):
    """For each element of `x`, the product of the other elements reduced with it along `axis`:
    the exact derivative of np.prod, zeros included (no division)."""
    x = np.asarray(x)
    axes = _axes(axis, x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    others = (before * after).reshape(moved.shape)
    return np.transpose(others, np.argsort(kept + list(axes)))


def prod_of_others_derivative(v, x, axis):
    """M v for the symmetric matrix M of the derivatives of prod_of_others(x, axis): entry (i, j) is the
    product of the elements other than i and j reduced together (0 for i == j, and between elements
    reduced apart). Both the adjoint and the tangent of prod_of_others, so np.prod is differentiated
    twice (Hessians) exactly with zeros among the elements: no division.

    Example:
        >>> prod_of_others_derivative(np.ones(3), np.array([2.0, 3.0, 5.0]), None)   # [3+5, 2+5, 2+3]
    """
    x = np.asarray(x)
    axes = _axes(axis, x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    order = kept + list(axes)
    moved = np.transpose(x, order)
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    n = flat.shape[-1]
    rows = np.array(np.broadcast_to(flat[..., None, :], flat.shape + (n,)))   # row i: x with x_i := 1
    rows[..., np.arange(n), np.arange(n)] = 1.0
    pairs = prod_of_others(rows, -1)                                           # (i, j): x_k over k not i, j
    pairs[..., np.arange(n), np.arange(n)] = 0.0
    w = np.transpose(np.asarray(v), order).reshape(flat.shape)
    out = np.einsum("...ij,...i->...j", pairs, w).reshape(moved.shape)
    return np.transpose(out, np.argsort(order))


def to_last(x, axis):
    """`x` with `axis` moved last, or flattened when axis is None: the layout of a cumulative operation
    (np.cumsum, np.cumprod) along its axis."""
    if axis is None:
        return np.ravel(x)
    return np.moveaxis(x, axis, -1)


def from_last(g, x, axis):
    """The inverse of to_last: `g`, laid out along the last axis, back to the shape of `x`."""
    if axis is None:
        return np.reshape(g, np.shape(x))
    return np.moveaxis(g, -1, axis)


def cumprod_adjoint(g, x, axis):
    """Adjoint of x in y = np.cumprod(x, axis), exact with zeros (no division): for the k-th element,
    the product of the elements before it times s_k = g_k + x_(k+1) s_(k+1), summed from the end."""
    xl, gl = to_last(np.asarray(x), axis), to_last(np.asarray(g, dtype=np.result_type(g, x)), axis)
    n = xl.shape[-1]
    s = np.zeros_like(gl)
    if n:
        s[..., n - 1] = gl[..., n - 1]
    for k in range(n - 2, -1, -1):
        s[..., k] = gl[..., k] + xl[..., k + 1] * s[..., k + 1]
    before = np.cumprod(np.concatenate([np.ones_like(xl[..., :1]), xl[..., :-1]], axis=-1), axis=-1)
    return from_last(before * s, x, axis)


def _grouped(x, axis):
    """(x with the reduced axes moved last and flattened into one, the order of the axes that did it)."""
    x = np.asarray(x)
    axes = _axes(axis, x.ndim)
    order = [a for a in range(x.ndim) if a not in axes] + list(axes)
    moved = np.transpose(x, order)
    return moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,)), order


def _ungrouped(w, x, order):
    """The inverse of _grouped for an array `w` of the grouped shape: back to the layout of `x`."""
    moved_shape = tuple(np.shape(x)[a] for a in order)
    return np.transpose(np.reshape(w, moved_shape), np.argsort(order))


def quantile_weights(a, q, axis, scale):
    """How much each element of `a` weighs in np.quantile(a, q, axis) (`scale` 1) or np.percentile
    (`scale` 100) with the default method 'linear': 1 - f and f at the two order statistics the
    position q (n - 1) falls between (f its fractional part), as an array of shape q.shape + a.shape.
    Elements tied at those order statistics take the weight argsort gives them. np.median is q = 1/2.

    Example:
        >>> quantile_weights(np.array([3.0, 1.0, 2.0]), 0.25, None, 1.0)    # [0. , 0.5, 0.5]
    """
    flat, order = _grouped(a, axis)
    n = flat.shape[-1]
    ranks = np.argsort(flat, axis=-1)
    qs = np.asarray(q, dtype=float_dtype(a)) / scale
    weights = []
    for k in np.ndindex(qs.shape):
        position = qs[k] * (n - 1)
        lo = int(np.floor(position))
        hi = min(lo + 1, n - 1)
        rows = np.zeros(flat.shape, dtype=float_dtype(a))
        np.put_along_axis(rows, ranks[..., lo:lo + 1], 1.0 - (position - lo), axis=-1)
        high = np.take_along_axis(rows, ranks[..., hi:hi + 1], axis=-1) + (position - lo)
        np.put_along_axis(rows, ranks[..., hi:hi + 1], high, axis=-1)
        weights.append(_ungrouped(rows, a, order))
    return np.reshape(np.stack(weights), qs.shape + np.shape(a))


def quantile_adjoint(g, a, q, axis, keepdims, scale):
    """Adjoint of a in y = np.quantile(a, q, axis, keepdims=keepdims) (`scale` 1) or np.percentile (100):
    each output's adjoint spread over the elements by their quantile_weights."""
    w = quantile_weights(a, q, axis, scale)
    g = np.asarray(g, dtype=np.result_type(g, w))
    spread = [unreduce(g[k], a, axis, keepdims) for k in np.ndindex(np.shape(q))]
    return np.sum(w * np.reshape(np.stack(spread), np.shape(w)), axis=tuple(range(np.ndim(q))))


def quantile_tangent(t, a, q, axis, keepdims, scale):
    """Tangent of y = np.quantile(a, q, axis, keepdims=keepdims) (`scale` 1) or np.percentile (100) along
    the tangent t of a: t summed with the quantile_weights, in y's shape (the weights do not move with a
    away from ties)."""
    w = quantile_weights(a, q, axis, scale)
    axes = tuple(np.ndim(q) + k for k in _axes(axis, np.ndim(a)))
    return np.sum(w * t, axis=axes, keepdims=keepdims)


def undiff(g, n, axis):
    """Adjoint of np.diff(a, n, axis): n times, minus the difference of g padded with a zero at each end."""
    g = np.asarray(g)
    for _ in range(n):
        shape = list(g.shape)
        shape[axis] = 1
        zero = np.zeros(shape, dtype=g.dtype)
        g = -np.diff(np.concatenate([zero, g, zero], axis=axis), axis=axis)
    return g


def reverse_cumsum(g, axis):
    """Sum of `g` from each position to the end along `axis` (all axes flattened if None):
    the adjoint of np.cumsum."""
    if axis is None:
        g = np.ravel(g)
        axis = 0
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


# ---------------------------------------------------------------------------------------------
# Shape
# ---------------------------------------------------------------------------------------------

def inverse_axes(axes, ndim):
    """The permutation that undoes np.transpose(x, axes) for an x of `ndim` axes: None (reverse the
    axes again) for axes=None, negative axes counted from the end.

    Example:
        >>> inverse_axes((2, 0, 1), 3), inverse_axes((-1, 0, 1), 3), inverse_axes(None, 3)   # [1 2 0] twice, None
    """
    if axes is None:
        return None
    return np.argsort([int(a) % ndim for a in axes])


def linspace_weights(y, num, endpoint):
    """k / (num - 1) (num without the endpoint) for the k-th value of y = np.linspace(start, stop, num, endpoint)
    along its first axis, shaped to broadcast against y and in y's dtype: y is start * (1 - w) + stop * w.

    Example:
        >>> linspace_weights(np.linspace(0.0, 1.0, 3), 3, True)     # array([0. , 0.5, 1. ])
    """
    w = np.linspace(0.0, 1.0, num, endpoint=endpoint, dtype=float_dtype(y))
    return np.reshape(w, (-1,) + (1,) * (np.ndim(y) - 1))


def untile(g, x, reps):
    """The adjoint of np.tile(x, reps): the tiles of `g` summed into one of x's shape."""
    shape = np.shape(x)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    ndim = max(len(shape), len(reps))
    shape = (1,) * (ndim - len(shape)) + tuple(shape)
    reps = (1,) * (ndim - len(reps)) + reps
    split = np.reshape(g, [n for r, s in zip(reps, shape) for n in (r, s)])
    return np.reshape(np.sum(split, axis=tuple(range(0, 2 * ndim, 2))), np.shape(x))


def unrepeat(g, x, repeats, axis):
    """The adjoint of np.repeat(x, repeats, axis): each run of copies of `g` summed back."""
    if axis is None:
        axis, n = 0, np.size(x)
    else:
        axis = axis % np.ndim(x)
        n = np.shape(x)[axis]
    counts = np.broadcast_to(repeats, (n,))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    g = np.moveaxis(np.asarray(g), axis, 0)
    summed = np.zeros((n,) + g.shape[1:], dtype=g.dtype)
    nonempty = counts > 0
    summed[nonempty] = np.add.reduceat(g, starts[nonempty], axis=0)
    return np.reshape(np.moveaxis(summed, 0, axis), np.shape(x))


def split_like(g, xs, axis):
    """The adjoint of joining the arrays `xs` along `axis` (concatenate, stack's relatives,
    hstack, vstack): `g` cut into one piece per element of xs, each of that element's shape."""
    if axis is None:
        g, axis = np.ravel(g), 0
    g = np.asarray(g)
    across = g.size // g.shape[axis]
    sizes = [np.size(x) // across for x in xs]
    pieces = np.split(g, np.cumsum(sizes)[:-1], axis=axis)
    return [np.reshape(p, np.shape(x)) for p, x in zip(pieces, xs)]


def hstack_axis(xs):
    """The axis np.hstack joins `xs` along: 0 for 1-D (and 0-D) arrays, else 1."""
    return 0 if np.ndim(xs[0]) <= 1 else 1


def filled(gs, ys):
    """The adjoints `gs` of the pieces `ys` a function returned as a list (np.split, ...), with zeros of
    each piece's shape where an adjoint is missing (0.0 or None: a piece nothing read)."""
    return [np.zeros_like(y) if g is None or (np.ndim(g) == 0 and np.ndim(y) > 0 and g == 0) else g
            for g, y in zip(gs, ys)]


def source_positions(x, y, axis):
    """For `y`, a rearrangement of `x` along `axis` (np.sort, np.partition; flattened when axis is None),
    the index along that axis of the element of x each element of y is: y == take_along_axis(x, p, axis).
    Matches the k-th smallest of y with the k-th smallest of x, so tied values may swap sources (their
    derivatives are equal there, or the point is a kink)."""
    if axis is None:
        x = np.ravel(x)
        axis = 0
    p = np.empty(np.shape(y), dtype=np.intp)
    np.put_along_axis(p, np.argsort(y, axis=axis, kind="stable"), np.argsort(x, axis=axis, kind="stable"), axis=axis)
    return p


def take_along_axis_adjoint(g, arr, indices, axis):
    """Adjoint of arr in np.take_along_axis(arr, indices, axis): g added into zeros at the positions taken
    (a position taken twice adds both)."""
    g = np.asarray(g)
    out = np.zeros(np.shape(arr), dtype=np.result_type(g, arr))
    flat = out.reshape(-1) if axis is None else out
    if axis is None:
        np.add.at(flat, np.ravel(indices), np.ravel(g))
        return out
    axis = axis % out.ndim
    grid = list(np.ix_(*[np.arange(n) for n in np.shape(indices)]))
    grid[axis] = indices
    np.add.at(out, tuple(grid), g)
    return out


def take_adjoint(g, a, indices, axis):
    """Adjoint of a in np.take(a, indices, axis): g added into zeros at the positions taken."""
    g = np.asarray(g)
    out = np.zeros(np.shape(a), dtype=np.result_type(g, a))
    if axis is None:
        np.add.at(out.reshape(-1), indices, g)
    else:
        np.add.at(out, (slice(None),) * (axis % out.ndim) + (indices,), g)
    return out


def diagonal_adjoint(g, a, offset, axis1, axis2):
    """Adjoint of a in np.diagonal(a, offset, axis1, axis2) (np.diag for 2-D a, np.trace summed): g placed
    on that diagonal of zeros of a's shape."""
    out = np.zeros(np.shape(a), dtype=np.result_type(g, a))
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))          # a view: writing it writes out
    n = np.shape(g)[-1] if np.ndim(g) else 0
    rows = np.arange(n) + max(-offset, 0)
    moved[..., rows, rows + offset] = g
    return out


def rollaxis_destination(ndim, axis, start):
    """Where np.rollaxis(a, axis, start) puts `axis` of an array of `ndim` axes, as np.moveaxis would."""
    axis, start = axis % ndim, start % (ndim + 1) if start < 0 else start
    return start - 1 if start > axis else start


PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def pad_mode(mode):
    """`mode` of np.pad when it copies elements (constant zeros, edge, reflect, symmetric, wrap): then
    the padded array is linear in the input, and its derivative is read off padded indices. The modes
    computing statistics (mean, maximum, linear_ramp, ...) have no rule: an error at run time."""
    if mode not in PAD_MODES:
        raise ValueError(f"s2sgrad differentiates np.pad with mode {', '.join(map(repr, PAD_MODES))}, "
                         f"not {mode!r}")
    return mode


def pad_adjoint(g, x, pad_width, mode="constant"):
    """Adjoint of x in np.pad(x, pad_width, mode): each element of g added to the element of x it is a
    copy of (the constant padding is no copy)."""
    size = int(np.size(x))
    index = np.arange(size).reshape(np.shape(x))
    if pad_mode(mode) == "constant":
        padded = np.pad(index, pad_width, mode="constant", constant_values=-1)
    else:
        padded = np.pad(index, pad_width, mode=mode)
    g = np.asarray(g)
    keep = padded >= 0
    out = np.zeros(size, dtype=np.result_type(g, x))
    np.add.at(out, padded[keep], g[keep])
    return out.reshape(np.shape(x))


# ---------------------------------------------------------------------------------------------
# Linear algebra
# ---------------------------------------------------------------------------------------------

def _contracted(axes, a, b):
    """np.tensordot's `axes` (an int or a pair of sequences) as two lists of non-negative axes."""
    if isinstance(axes, (int, np.integer)):
        return list(range(np.ndim(a) - axes, np.ndim(a))), list(range(axes))
    ia, ib = axes
    ia = [ia] if isinstance(ia, (int, np.integer)) else list(ia)
    ib = [ib] if isinstance(ib, (int, np.integer)) else list(ib)
    return [i % np.ndim(a) for i in ia], [i % np.ndim(b) for i in ib]


def tensordot_adjoint_left(g, a, b, axes):
    """Adjoint of a in np.tensordot(a, b, axes)."""
    ia, ib = _contracted(axes, a, b)
    free_a = [i for i in range(np.ndim(a)) if i not in ia]
    free_b = [i for i in range(np.ndim(b)) if i not in ib]
    g_free_b = list(range(len(free_a), np.ndim(g)))
    out = np.tensordot(g, b, axes=(g_free_b, free_b))    # axes: free_a, then b's contracted axes in order
    return np.transpose(out, np.argsort(free_a + [ia[ib.index(j)] for j in sorted(ib)]))


def tensordot_adjoint_right(g, a, b, axes):
    """Adjoint of b in np.tensordot(a, b, axes)."""
    ia, ib = _contracted(axes, a, b)
    free_a = [i for i in range(np.ndim(a)) if i not in ia]
    free_b = [i for i in range(np.ndim(b)) if i not in ib]
    out = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))   # a's contracted axes in order, free_b
    return np.transpose(out, np.argsort([ib[ia.index(i)] for i in sorted(ia)] + free_b))


def _dot_axes(a, b):
    return [np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)]


def dot_adjoint_left(g, a, b):
    """Adjoint of a in np.dot(a, b), for every rank np.dot accepts (a scalar operand multiplies)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a) if np.ndim(a) else np.sum(g * b)
    return tensordot_adjoint_left(g, a, b, _dot_axes(a, b))


def dot_adjoint_right(g, a, b):
    """Adjoint of b in np.dot(a, b), for every rank np.dot accepts (a scalar operand multiplies)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b) if np.ndim(b) else np.sum(g * a)
    return tensordot_adjoint_right(g, a, b, _dot_axes(a, b))


def inner_adjoint_left(g, a, b):
    """Adjoint of a in np.inner(a, b) (a contraction over both last axes; a scalar operand multiplies)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return dot_adjoint_left(g, a, b)
    return tensordot_adjoint_left(g, a, b, ([-1], [-1]))


def inner_adjoint_right(g, a, b):
    """Adjoint of b in np.inner(a, b) (a contraction over both last axes; a scalar operand multiplies)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return dot_adjoint_right(g, a, b)
    return tensordot_adjoint_right(g, a, b, ([-1], [-1]))


def einsum_parts(subscripts, shapes):
    """(input subscripts, output subscript) of np.einsum(subscripts, *operands) for operands of these
    `shapes`, spelled out: each '...' becomes letters the subscripts do not use (right-aligned, one per
    broadcast axis), and an implicit output (no '->') is NumPy's: the '...' axes, then the letters that
    appear once, in alphabetical order (upper case first).

    Example:
        >>> einsum_parts("...ij,jk", [(5, 2, 3), (3, 4)])     # (['Aij', 'jk'], 'Aik')
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"the einsum gradient needs subscripts given as a string, not {type(subscripts).__name__}")
    spec = subscripts.replace(" ", "")
    lhs, arrow, output = spec.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(inputs)} operands, not {len(shapes)}")
    unused = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in spec]
    ranks = [len(shape) - (len(sub) - 3) if "..." in sub else 0 for sub, shape in zip(inputs, shapes)]
    ellipsis = "".join(unused[:max(ranks, default=0)])
    named = inputs
    inputs = [sub.replace("...", ellipsis[len(ellipsis) - rank:]) for sub, rank in zip(inputs, ranks)]
    if arrow:
        return inputs, output.replace("...", ellipsis)
    counts = Counter("".join(named).replace("...", ""))
    return inputs, ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1))


def einsum_adjoints(g, subscripts, operands, optimize=False):
    """One adjoint per operand of y = np.einsum(subscripts, *operands), every form NumPy accepts with
    string subscripts: '...', an implicit output, letters repeated in an operand ('ii', 'ii->i': the
    adjoint sits on the diagonal), any number of operands, and labels broadcast from size 1 (summed
    back). Each is the einsum of g (y's adjoint) with the other operands, shaped like its operand.

    Example:
        >>> einsum_adjoints(np.ones(()), "ii", [np.eye(2)])     # [array([[1., 0.], [0., 1.]])]
    """
    operands = [np.asarray(x) for x in operands]
    g = np.asarray(g, dtype=np.result_type(g, *operands))        # a Python float seed takes their dtype
    inputs, output = einsum_parts(subscripts, [x.shape for x in operands])
    grads = []
    for k, (sub, x) in enumerate(zip(inputs, operands)):
        letters = "".join(dict.fromkeys(sub))                      # each letter once, in order
        others = inputs[:k] + inputs[k + 1:]
        reached = set(output).union(*others)
        kept = "".join(c for c in letters if c in reached)         # letters x shares with g or the others
        part = np.einsum(",".join([output] + others) + "->" + kept, g, *operands[:k], *operands[k + 1:],
                         optimize=optimize)
        part = np.expand_dims(part, tuple(i for i, c in enumerate(letters) if c not in kept))
        size = [x.shape[sub.index(c)] for c in letters]
        broadcast = tuple(i for i, n in enumerate(size) if n == 1 and part.shape[i] != 1)
        if broadcast:                                              # a size-1 label of x the others spread
            part = np.sum(part, axis=broadcast, keepdims=True)
        part = np.broadcast_to(part, size)                         # letters summed in x alone
        if letters == sub:
            grads.append(np.array(part))
            continue
        diagonal = tuple(np.arange(size[letters.index(c)]).reshape(
            [-1 if j == letters.index(c) else 1 for j in range(len(letters))]) for c in sub)
        full = np.zeros(x.shape, dtype=part.dtype)
        full[diagonal] = part                                      # 'ii': g on the diagonal, zero elsewhere
        grads.append(full)
    return grads


def einsum_tangent(subscripts, operands, tangents, optimize=False):
    """The tangent of np.einsum(subscripts, *operands) when each operand moves along its tangent (None
    for one that does not move): one einsum per moving operand, with its tangent in its place.

    Example:
        >>> einsum_tangent("i,i->", [a, b], [u, None])     # np.einsum("i,i->", u, b)
    """
    out = None
    for k, t in enumerate(tangents):
        if t is None:
            continue
        term = np.einsum(subscripts, *operands[:k], t, *operands[k + 1:], optimize=optimize)
        out = term if out is None else out + term
    if out is None:
        return zero_tangent(np.einsum(subscripts, *operands, optimize=optimize))
    return out


def einsum_tangent_adjoints(g, subscripts, operands, tangents, optimize=False):
    """(adjoints of the operands, adjoints of the tangents) of z = einsum_tangent(subscripts, operands,
    tangents): what reverse mode over forward code needs (Hessians through einsums of four or more
    operands). Tangent k's adjoint is operand k's einsum adjoint; operand j's sums those of the terms
    where another operand k moves. None for a tangent that is None.

    Example:
        >>> einsum_tangent_adjoints(1.0, "i,i->", [a, b], [u, None])     # ([0 * a, u], [b, None])
    """
    own = einsum_adjoints(g, subscripts, operands, optimize)
    of_operands = [np.zeros(np.shape(x), dtype=np.result_type(g, x)) for x in operands]
    for k, t in enumerate(tangents):
        if t is None:
            continue
        moved = einsum_adjoints(g, subscripts, list(operands[:k]) + [t] + list(operands[k + 1:]), optimize)
        for j in range(len(operands)):
            if j != k:
                of_operands[j] = of_operands[j] + moved[j]
    return of_operands, [None if t is None else own[k] for k, t in enumerate(tangents)]


def diag_adjoint(g, v, k=0):
    """Adjoint of v in np.diag(v, k): the k-th diagonal of g if v is 1-D, else g on v's k-th diagonal."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    return diagonal_adjoint(g, v, k, 0, 1)


def solve_transposed(a, g, b):
    """a^-T g, shaped like g: the adjoint of b in np.linalg.solve(a, b) before summing over any
    broadcast batch axes. b is a vector if 1-D, else a stack of matrices (NumPy 2's rule)."""
    at = np.swapaxes(a, -1, -2)
    if np.ndim(b) == 1:
        return np.linalg.solve(at, np.expand_dims(g, -1))[..., 0]
    return np.linalg.solve(at, g)


def times_transpose(u, v, vectors):
    """u v^T for stacks of matrices, or for stacks of column vectors when `vectors` (an outer product)."""
    if vectors:
        return np.expand_dims(u, -1) * np.expand_dims(v, -2)
    return u @ np.swapaxes(v, -1, -2)


def lower_half_diagonal(x):
    """The lower triangle of each matrix in `x`, its diagonal halved: the Phi of the Cholesky derivatives.
    Linear and self-adjoint."""
    n = np.shape(x)[-1]
    return np.tril(x) * (1.0 - 0.5 * np.eye(n, dtype=float_dtype(x)))


def mirror_lower(t):
    """The symmetric matrices whose lower triangle is that of `t` (np.linalg.cholesky reads only it)."""
    return np.tril(t) + np.swapaxes(np.tril(t, -1), -1, -2)


def cholesky_adjoint(g, L):
    """Adjoint of a in L = np.linalg.cholesky(a) (lower), after Murray (2016), arXiv:1602.07527.

    S = L^-T Phi(L^T g) L^-1, where Phi takes the lower triangle and halves its diagonal. NumPy
    reads only the lower triangle of a, so the exact gradient is Phi(S + S^T): lower triangular
    (for symmetric perturbations it agrees with the usual symmetric (S + S^T) / 2)."""
    Lt = np.swapaxes(L, -1, -2)
    P = lower_half_diagonal(Lt @ g)
    S = np.linalg.solve(Lt, np.swapaxes(np.linalg.solve(Lt, np.swapaxes(P, -1, -2)), -1, -2))
    return lower_half_diagonal(S + np.swapaxes(S, -1, -2))


def solve_like(a, r, b):
    """Solve a z = r, where r is laid out like the right-hand side b of np.linalg.solve(a, b): a vector
    (per matrix of a stack) when b is 1-d, else matrices."""
    if np.ndim(b) == 1:
        return np.linalg.solve(a, r[..., None])[..., 0]
    return np.linalg.solve(a, r)


def apply_like(m, y, b):
    """m @ y, with y laid out like the right-hand side b of np.linalg.solve (a vector when b is 1-d)."""
    if np.ndim(b) == 1:
        return (m @ y[..., None])[..., 0]
    return m @ y


def stacked_tangent(tangents, xs):
    """The tangent of `np.array(xs)`: the elements' tangents (zeros for an element with none, given as
    None) stacked like the elements, or the tangent of xs itself when it is one array."""
    if isinstance(xs, (list, tuple)):
        return np.array([zero_tangent(x) if t is None else t for t, x in zip(tangents, xs)])
    return tangents


def pieces_like(g, xs, y):
    """The adjoint of `y = np.array(xs)`: one piece of g per element of a list `xs` (along the first axis),
    or g itself when xs was one array; zero when y holds integers or booleans (dtype=int), which carry
    no derivative."""
    if np.result_type(y).kind != "f":
        g = np.zeros(np.shape(y))
    if isinstance(xs, (list, tuple)):
        return list(g)
    return g


def slogdet_tangent(t, a, y):
    """The tangent of (sign, log|det a|) = np.linalg.slogdet(a) along t: 0 and trace(a^-1 t), stacked into
    one array (indexed like the pair), so that tangents of it add as arrays do when it is differentiated
    again."""
    logdet = np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)
    return np.stack([np.zeros_like(logdet), logdet])


def mvn_samples_shape(x, mean, cov):
    """The shape scipy.stats.multivariate_normal gives the quantiles `x`: samples along the leading axes,
    the dimension (mean's size, else cov's, else 1) last."""
    dim = np.size(mean) if mean is not None else (np.shape(cov)[0] if np.ndim(cov) >= 2 else 1)
    shape = np.shape(x)
    if len(shape) == 0:
        return (1,)
    if len(shape) == 1:
        return (shape[0], 1) if dim == 1 else (1, shape[0])
    return shape


def covariance_matrix(cov, samples):
    """The covariance matrix scipy.stats.multivariate_normal makes of `cov` for samples of the last axis of
    `samples`: a number times the identity, a vector's diagonal, or a matrix's lower triangle mirrored
    (SciPy factors it with eigh(lower=True), reading only that triangle). Linear in cov."""
    dim = np.shape(samples)[-1]
    if np.ndim(cov) == 0:
        return cov * np.eye(dim, dtype=float_dtype(cov))
    if np.ndim(cov) == 1:
        return np.diag(cov)
    return mirror_lower(cov)


def covariance_adjoint(g, cov):
    """The adjoint of cov in covariance_matrix(cov, samples): g's trace, diagonal, or lower triangle with the
    upper one folded onto it."""
    if np.ndim(cov) == 0:
        return np.trace(g)
    if np.ndim(cov) == 1:
        return np.diagonal(g).copy()
    return np.tril(g) + np.tril(np.swapaxes(g, -1, -2), -1)


def bound_or(bound, default):
    """A bound of np.clip, with None (no bound) as `default` (-inf or inf)."""
    return default if bound is None else bound
