"""The few helpers generated code may call. Each is small, exact, and has its own rule
where generated code must be differentiated again.

Example:
    >>> unbroadcast(np.ones((3, 2)), np.ones(2))   # array([3., 3.])
"""

import copy
import dataclasses
import functools
import math
import string
import types
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


def leaf_of(tree, path):
    """The part of an adjoint at `path` (indices into nested lists), None where a part is None (zero)."""
    for k in path:
        if tree is None:
            return None
        tree = tree[k]
    return tree


def keys_of(d):
    """The keys of a dict, in order (what `for k in d.items()` walks): they carry no derivative."""
    return list(d)


_NO_DERIVATIVE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                  np.ufunc, functools.partial)


def zeros_of(x):
    """Zeros to accumulate the adjoint of `x` into: an array of x's shape and float dtype; for a container
    (a list, a tuple, what np.split returns, a dict, a NamedTuple) one of the same structure, a list for
    a sequence, a dict keyed by attribute for a dataclass or an object; None for what carries no derivative
    (a bool, a string, None, an array of bools or strings, a function, a class, a module).

    Example:
        >>> zeros_of({"W": np.ones((2, 2)), "n": "relu"})     # {'W': array of zeros, 'n': None}
    """
    if isinstance(x, dict):
        return {k: zeros_of(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [zeros_of(item) for item in x]
    if isinstance(x, _NO_DERIVATIVE):          # an object's function or module attribute (a module's own
        return None                            # attributes are not walked: they may refer back to it)
    if hasattr(x, "__dict__") and not isinstance(x, np.ndarray):     # a dataclass, an object: by attribute
        return {k: zeros_of(v) for k, v in vars(x).items()}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):      # with slots=True: by field
        return {f.name: zeros_of(getattr(x, f.name)) for f in dataclasses.fields(x) if hasattr(x, f.name)}
    if x is None or isinstance(x, (bool, np.bool_, str, bytes)):
        return None
    if isinstance(x, np.ndarray) and x.dtype.kind not in "fiuc":
        return None
    if isinstance(x, (int, float, np.integer, np.floating)) or np.ndim(x) == 0:
        return np.zeros_like(x, dtype=np.result_type(x, np.float16)) if isinstance(x, np.ndarray) else 0.0
    return np.zeros_like(x, dtype=np.result_type(x, np.float16))


def append(xs, x):
    """`xs.append(x)` in the core, where every statement assigns: the list itself, one item longer.
    Generated code prints it as the method call."""
    xs.append(x)
    return xs


def pop(xs, i=-1):
    """`xs.pop(i)` in the core (the item was read just before, `a = xs[i]`): the list, one item shorter."""
    xs.pop(i)
    return xs


def insert(xs, i, x):
    """`xs.insert(i, x)` in the core: the list, one item longer."""
    xs.insert(i, x)
    return xs


def put_back(xs, i, item):
    """Undo `xs.pop(i)`: `item` goes back where it was taken from (i may be negative). A dict's pop cannot
    be undone so (the key would move to the end): refused."""
    if isinstance(xs, dict):
        raise TypeError(f"d.pop({i!r}) on a dict is not supported in a differentiated function (undoing it in "
                        "the reverse sweep would change the dict's order); read d[key] and build a dict without it")
    if i == -1:
        xs.append(item)
    else:
        xs.insert(i if i >= 0 else i + 1, item)


def take_inserted(xs, i):
    """Undo `xs.insert(i, item)`: remove the item from where insert put it, and return it."""
    before = len(xs) - 1
    return xs.pop(min(i, before) if i >= 0 else max(before + i, 0))


class Missing:
    """What `item_or_missing` saves for a dict key that is not there yet."""

    def __repr__(self):
        return "MISSING"


MISSING = Missing()


def item_or_missing(c, key):
    """`c[key]` before `c[key] = v` changes it, to put back later; MISSING for a key a dict does not have."""
    return c[key] if not isinstance(c, dict) or key in c else MISSING


def put_item(c, key, old):
    """Undo `c[key] = v`: the old item back, or no key at all where there was none."""
    if old is MISSING:
        del c[key]
    else:
        c[key] = old


def take_item(d, key):
    """The adjoint of `v` in `c[key] = v`, from c's adjoint `d` (None: zero); d's item there becomes zero
    (None): what c held at key before had no effect on the result."""
    item = d.get(key) if isinstance(d, dict) else d[key]
    d[key] = None
    return item


def items_back(g, x):
    """The adjoint of `x` for `y = list(x)` or `tuple(x)`, whose adjoint is the list `g`: for an array, whose
    items are its rows, the rows' adjoints in an array of x's shape (None a zero row); for a dict, whose
    keys `list` gives, zeros; else g as a list.

    Example:
        >>> items_back([np.ones(2), None], np.zeros((2, 2)))     # array([[1., 1.], [0., 0.]])
    """
    if isinstance(x, np.ndarray):
        out = np.zeros(x.shape, dtype=np.result_type(x, np.float16))
        for k, gk in enumerate(g):
            if gk is not None:
                out[k] = gk
        return out
    if isinstance(x, dict):
        return zeros_of(x)
    return list(g)


def tree_add(a, b):
    """a + b for adjoints that may be containers (leaf by leaf, a list's items by position, a dict's by
    key) or None (a zero)."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict):             # a's keys in order, then b's others: deterministic
        return {k: tree_add(a.get(k), b.get(k)) for k in list(a) + [k for k in b if k not in a]}
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):      # one may be an array of rows
        return [tree_add(u, v) for u, v in zip(a, b, strict=True)]
    return a + b


def add_at(d, key, g):
    """Add `g` into the adjoint `d` of a container at `key` (an index, a key or a slice), in place: the
    adjoint of reading `c[key]`."""
    if g is None:
        return
    if isinstance(key, slice):
        for k, piece in zip(range(*key.indices(len(d))), g):
            d[k] = tree_add(d[k], piece)
        return
    d[key] = tree_add(d[key], g)


def _field_key(x, attr):
    """Where an adjoint holds the adjoint of `x.attr`: a NamedTuple's field by its position, else by name."""
    fields = getattr(type(x), "_fields", None)
    return fields.index(attr) if fields is not None and attr in fields else attr


def add_field(d, x, attr, g):
    """Add `g` into the adjoint `d` of `x` (a NamedTuple, a dataclass, an object) for `x.attr`, in place."""
    if g is not None:
        if isinstance(d, dict) and not _instance_state(x, attr):
            return                             # a class attribute: the class's constant, not the object's
        key = _field_key(x, attr)
        d[key] = tree_add(d[key], g)


def field_of(t, x, attr):
    """The tangent of `x.attr` from the tangent `t` of x (a NamedTuple, a dict of attributes, None)."""
    if t is None:
        return None
    if isinstance(t, dict) and not _instance_state(x, attr):
        return zeros_of(getattr(x, attr))     # a class attribute: a constant
    if hasattr(t, attr) and not isinstance(t, (dict, list)):
        return getattr(t, attr)
    return t[_field_key(x, attr)]


def field_adjoint(g, t, x, attr):
    """The adjoint of the tangent `t` for `z = field_of(t, x, attr)`, whose adjoint is `g`: zeros of t's
    structure (x's, when t is None) holding g at attr. What second order through `x.attr` of a container
    needs.

    Example:
        >>> field_adjoint(np.ones(2), {"W": np.zeros(2), "n": None}, model, "W")   # {'W': array([1., 1.]), 'n': None}
    """
    out = zeros_of(x if t is None else t)
    add_field(out, x, attr, g)
    return out


def _instance_state(x, attr):
    """Whether `x.attr`, read from an object differentiated with respect to, is the object's own attribute
    (its adjoint and tangent hold one entry per attribute), or else a plain class attribute (False: a
    constant, like a global). A property, a cached_property or another descriptor computes its value
    from the object, which reading it as an attribute of its own would miss: refused."""
    if isinstance(x, (dict, list, tuple)):
        return True
    found = next((klass.__dict__[attr] for klass in type(x).__mro__ if attr in klass.__dict__), None)
    state = getattr(x, "__dict__", None)
    if state is not None and attr in state and not isinstance(found, functools.cached_property):
        return True                            # an instance attribute (even one shadowing a method)
    if isinstance(found, types.MemberDescriptorType):          # a slot
        return True
    if found is None or hasattr(type(found), "__get__"):
        what = "computed by __getattr__" if found is None else f"a {type(found).__name__}"
        raise TypeError(f"{type(x).__name__}.{attr} is {what}, not an attribute of the {type(x).__name__} "
                        "differentiated with respect to: s2sgrad reads such an object's own attributes, not "
                        "what its class computes from them; read the attributes it uses instead, or pass the "
                        "object as an argument not in wrt")
    return False


def copy_tree(g):
    """A copy of an adjoint that is a container, down to its arrays (it is updated in place later)."""
    if isinstance(g, dict):
        return {k: copy_tree(v) for k, v in g.items()}
    if isinstance(g, (list, tuple)):
        return [copy_tree(v) for v in g]
    return np.copy(g) if isinstance(g, np.ndarray) else g


def list_of(g):
    """The adjoint of a list that the reverse sweep pops from or writes into, as a list of its own (a rule
    may have given an array, or a tuple)."""
    if isinstance(g, np.ndarray):
        return [np.copy(row) for row in g]
    return copy_tree(g)


def stale_function(fn):
    """Raised from generated code that dispatches over a container of functions when the function found
    there is none of those it held when the code was built (the container was changed since)."""
    from .errors import S2SGradError
    raise S2SGradError(f"{getattr(fn, '__qualname__', fn)!r} is not one of the functions its container held "
                       "when the derivative was built; the container was changed since: build the derivative "
                       "again (s2sgrad.grad(...) anew)")


def in_place(value, old):
    """What `old op= ...` leaves in `old`, given `value = old op ...`: for an array, the result in old's
    dtype and memory layout (NumPy updates the array in place, casting back: `w *= np.sin(c)` keeps a
    float32 w float32, and a transposed array stays Fortran-ordered, so that a later reduction adds in
    the order the user's code does, to the last bit); for anything else, which `op=` rebinds, the
    result itself.

    Example:
        >>> in_place(np.float64(2.0) * np.ones(2, np.float32), np.ones(2, np.float32)).dtype   # float32
    """
    if type(old) is np.ndarray and not (type(value) is np.ndarray and value.dtype == old.dtype
                                        and value.strides == old.strides):
        out = np.empty_like(old)
        out[...] = value
        return out
    return value


def in_place_adjoint(g, value):
    """The adjoint of `value` in `in_place(value, old)`: g in value's dtype."""
    if type(value) is np.ndarray and np.result_type(g) != value.dtype:
        return np.asarray(g).astype(value.dtype)
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


def r_(xs):
    """`np.r_[a, b, ...]` of values (no slices or strings in the index): exactly what NumPy computes,
    as a call a rule can differentiate (its adjoint cuts the gradient back into the items)."""
    return np.r_[tuple(xs)]


def c_(xs):
    """`np.c_[a, b, ...]` of values: 1-d items as columns, joined along the last axis (see `r_`)."""
    return np.c_[tuple(xs)]


# s2sgrad's functions that stand for what user code writes (x.astype(t), x.flatten(), np.r_[...], np.c_[...]):
# rules of the NumPy table, unlike the helpers only generated code calls.
STANDINS = (astype, flatten, r_, c_)


def broadcast_like(t, y):
    """The tangent `t` of a broadcasting operation spread to the shape of its output `y`
    (a contribution from a smaller operand, like a scalar added to an array, is smaller)."""
    shape = np.shape(y)
    if np.shape(t) == shape:
        return t
    return np.broadcast_to(t, shape)


def zero_tangent(y):
    """The tangent of a value that does not depend on the inputs: zeros of its shape; for a container, one
    of the same structure (a list for a list or tuple, None for a leaf that carries no derivative)."""
    if isinstance(y, dict):
        return {k: _zero_leaf(v) for k, v in y.items()}
    if isinstance(y, (list, tuple)):
        return [_zero_leaf(v) for v in y]
    if isinstance(y, np.ndarray):
        return np.zeros(y.shape, y.dtype if y.dtype.kind == "f" else float)
    if isinstance(y, np.floating):
        return y.dtype.type(0.0)
    return 0.0


def _zero_leaf(y):
    if y is None or isinstance(y, (bool, np.bool_, str, bytes)):
        return None
    return zero_tangent(y)


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
    no other tangent shares, so `y_dot[i] = ...` changes only y's tangent; for a list or dict, a copy of
    the list or dict of its items' tangents."""
    if isinstance(y, (list, dict)):
        return copy.copy(t) if isinstance(t, type(y)) else zero_tangent(y)
    dtype = np.result_type(y) if np.result_type(y).kind == "f" else float
    return np.array(np.broadcast_to(t, np.shape(y)), dtype=dtype)


class ItemwiseTuple(tuple):
    """The tangent of a function returning several values (np.linalg.lstsq, ...): a tuple whose sum with
    another adds item by item (None or 0 is no tangent), as the terms of a tangent rule add."""

    def __add__(self, other):
        return ItemwiseTuple(b if a is None else a if b is None else a + b for a, b in zip(self, other))

    __radd__ = __add__

    def __neg__(self):
        return ItemwiseTuple(None if a is None else -a for a in self)

    def __sub__(self, other):
        return self + (-ItemwiseTuple(other))


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


def _interp_cell(x, xp):
    """For np.interp(x, xp, fp): the index i of each x's cell [xp[i], xp[i+1]] (x outside xp: no cell, -1) and
    its weight on xp[i + 1]."""
    x, xp = np.asarray(x, dtype=float), np.asarray(xp, dtype=float)
    i = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, max(len(xp) - 2, 0))
    inside = (x >= xp[0]) & (x <= xp[-1])
    width = xp[i + 1] - xp[i] if len(xp) > 1 else np.ones_like(x)
    return np.where(inside, i, -1), (x - xp[i]) / np.where(width == 0, 1.0, width), width


def interp_slope(x, xp, fp):
    """The derivative of np.interp(x, xp, fp) in x: the slope of the piece x lies on, 0 outside xp (the ends
    are constant there); at a knot, the slope of the piece to its right (the left one at the last knot)."""
    cell, _, width = _interp_cell(x, xp)
    fp = np.asarray(fp)
    j = np.maximum(cell, 0)
    slope = (fp[np.minimum(j + 1, len(fp) - 1)] - fp[j]) / np.where(width == 0, 1.0, width)
    return np.where(cell >= 0, slope, 0.0).astype(float_dtype(fp)) if np.ndim(x) else float(
        np.where(cell >= 0, slope, 0.0))


def interp_slope_adjoint(g, x, xp, fp):
    """The adjoint of fp in interp_slope(x, xp, fp): each slope is (fp[i+1] - fp[i]) / width."""
    cell, _, width = _interp_cell(x, xp)
    share = np.where(cell >= 0, np.asarray(g, dtype=float) / np.where(width == 0, 1.0, width), 0.0)
    out = np.zeros(np.shape(fp), dtype=np.result_type(np.asarray(g, dtype=float), fp))
    j = np.maximum(cell, 0)
    np.add.at(out, np.minimum(j + 1, len(out) - 1), np.ravel(share) if np.ndim(share) else share)
    np.add.at(out, j, -(np.ravel(share) if np.ndim(share) else share))
    return out


def interp_values_adjoint(g, x, xp, fp):
    """The adjoint of fp in np.interp(x, xp, fp): each output's adjoint to the two values it interpolates,
    with their weights (to the end values outside xp)."""
    x = np.asarray(x, dtype=float)
    cell, w, _ = _interp_cell(x, xp)
    g = np.broadcast_to(np.asarray(g, dtype=float), x.shape)
    out = np.zeros(np.shape(fp), dtype=np.result_type(g, fp))
    n = len(out)
    inside = cell >= 0
    j = np.maximum(cell, 0)
    np.add.at(out, j[inside], (g * (1.0 - w))[inside])
    np.add.at(out, np.minimum(j + 1, n - 1)[inside], (g * w)[inside])
    np.add.at(out, np.zeros(np.sum(~inside & (x < np.asarray(xp)[0])), dtype=int), g[~inside & (x < np.asarray(xp)[0])])
    np.add.at(out, np.full(np.sum(~inside & (x > np.asarray(xp)[-1])), n - 1), g[~inside & (x > np.asarray(xp)[-1])])
    return out


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


def none_chosen(condlist):
    """Where no condition of np.select(condlist, ...) holds: where the default is chosen."""
    return np.logical_not(np.any(np.asarray([np.asarray(c, dtype=bool) for c in condlist]), axis=0))


def _first_true(condlist, shape):
    """For each condition of np.select, where it is the first that holds (the choice np.select takes)."""
    taken = np.zeros(shape, dtype=bool)
    out = []
    for c in condlist:
        c = np.broadcast_to(np.asarray(c, dtype=bool), shape)
        out.append(np.logical_and(c, np.logical_not(taken)))
        taken = np.logical_or(taken, c)
    return out


def select_adjoints(g, condlist, xs):
    """The adjoints of the choices of y = np.select(condlist, xs, default): g where each is the one taken."""
    g = np.asarray(g)
    return [unbroadcast(np.where(mask, g, 0.0), x) for mask, x in zip(_first_true(condlist, g.shape), xs)]


def select_tangent(condlist, tangents, xs, y):
    """The tangent of y = np.select(condlist, xs, default) from the choices' tangents (None: one that does not
    move): each where it is the one taken, 0 where the default is."""
    out = np.zeros(np.shape(y), dtype=float_dtype(y))
    for mask, t in zip(_first_true(condlist, np.shape(y)), tangents):
        if t is not None:
            out = out + np.where(mask, t, 0.0)
    return out


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


def _t(m):
    return np.swapaxes(m, -1, -2)


def _zeros_if_none(g, like):
    """An output's adjoint, or zeros of its shape where nothing read it (None, or the 0.0 of an unread item)."""
    if g is None or (np.ndim(g) == 0 and np.ndim(like) > 0):
        return np.zeros(np.shape(like), dtype=np.result_type(like))
    return np.asarray(g)


def _pair_inverse(values):
    """F with F[..., i, j] = 1 / (values_j - values_i) off the diagonal, and 0 on it and wherever two values
    are equal to working precision (within 16 ulps of the largest): the terms coupling equal eigen- or
    singular values are left out (rules/linalg.py says why)."""
    values = np.asarray(values)
    gap = np.expand_dims(values, -2) - np.expand_dims(values, -1)
    scale = np.max(np.abs(values), axis=-1, keepdims=True)[..., None] if values.size else 0.0
    equal = np.abs(gap) <= 16.0 * np.finfo(float_dtype(values)).eps * scale
    return np.where(equal, 0.0, 1.0 / np.where(equal, 1.0, gap))


def kron_adjoint(g, a, b, left):
    """Adjoint of a (left) or of b in np.kron(a, b): g cut into blocks, contracted with the other factor."""
    nd = max(np.ndim(a), np.ndim(b))
    a_ = np.reshape(a, (1,) * (nd - np.ndim(a)) + np.shape(a))
    b_ = np.reshape(b, (1,) * (nd - np.ndim(b)) + np.shape(b))
    blocks = np.reshape(g, [n for pair in zip(a_.shape, b_.shape) for n in pair])
    letters = "abcdefghijklmnopqrstuvwxyz"
    outer, inner = letters[:nd], letters[nd:2 * nd]
    spec = "".join(o + i for o, i in zip(outer, inner))
    if left:
        return np.reshape(np.einsum(f"{spec},{inner}->{outer}", blocks, b_), np.shape(a))
    return np.reshape(np.einsum(f"{spec},{outer}->{inner}", blocks, a_), np.shape(b))


def vecdot_adjoint(g, a, b, axis):
    """Adjoint of a in np.vecdot(a, b, axis=axis) (and of b, swapping them): each operand's `axis` is its
    vector axis, the others broadcast."""
    a_, b_ = np.moveaxis(np.asarray(a), axis, -1), np.moveaxis(np.asarray(b), axis, -1)
    return np.moveaxis(unbroadcast(np.expand_dims(g, -1) * b_, a_), -1, axis)


def _full_convolution_adjoint(g, shape1, shape2, mode, correlation, kind):
    """The adjoint `g` of a convolution (or correlation) of arrays of shapes shape1 and shape2 in `mode`,
    placed in zeros of the full result's shape where that mode's output sits in it. Where 'same' sits
    differs: np.convolve centres it on the shorter array, np.correlate one later when a is the shorter and
    of even length, scipy.signal's n-d functions on in2 ((n - 1) // 2), correlate2d at n // 2."""
    g = np.asarray(g)
    if mode == "full":
        return g
    if mode == "valid":
        start = [min(a, b) - 1 for a, b in zip(shape1, shape2)]
    elif kind == "numpy":
        shorter = min(shape1[0], shape2[0])
        start = [shorter // 2 if correlation and shape1[0] < shape2[0] else (shorter - 1) // 2]
    else:
        start = [b // 2 if correlation and kind == "scipy2d" else (b - 1) // 2 for b in shape2]
    full = np.zeros(tuple(a + b - 1 for a, b in zip(shape1, shape2)), dtype=g.dtype)
    full[tuple(slice(k, k + n) for k, n in zip(start, g.shape))] = g
    return full


def convolution_adjoint(g, in1, in2, mode, left, correlation=False, kind="numpy"):
    """Adjoint of in1 (left) or of in2 in np.convolve / np.correlate (kind "numpy"), scipy.signal.convolve /
    correlate / fftconvolve / oaconvolve ("scipy") or convolve2d / correlate2d ("scipy2d"), any mode: the
    full convolution's adjoint is the valid correlation of g with the other operand; a correlation is a
    convolution with in2 flipped."""
    shape1, shape2 = np.shape(in1), np.shape(in2)
    full = _full_convolution_adjoint(g, shape1, shape2, mode, correlation, kind)
    other = (in2[tuple(slice(None, None, -1) for _ in shape2)] if correlation else in2) if left else in1
    if kind == "numpy":
        out = np.correlate(full, other, "valid")
    else:
        from scipy import signal
        out = signal.correlate(full, other, "valid")
    if correlation and not left:
        out = out[tuple(slice(None, None, -1) for _ in shape2)]
    return out


def cross_adjoint(g, a, b, left):
    """Adjoint of a (left) or of b in np.cross(a, b) of 3-vectors (or 2-vectors, whose cross is a number)
    along the last axis: <g, a x b> = <a, b x g> = <b, g x a>."""
    if np.shape(a)[-1] == 2 and np.shape(b)[-1] == 2:
        g = np.expand_dims(g, -1)
        other = b if left else a
        turned = np.stack([other[..., 1], -other[..., 0]], axis=-1)
        return unbroadcast(g * turned if left else -g * turned, a if left else b)
    return unbroadcast(np.cross(b, g) if left else np.cross(g, a), a if left else b)


def svd_tangent(t, a, y, full_matrices=True, compute_uv=True):
    """The tangent of np.linalg.svd(a, full_matrices, compute_uv) along t: (dU, ds, dVh), or ds. With
    A = U S V^T (reduced), P = U^T dA V: ds = diag(P), dU = U (F o (P S + S P^T)) + (I - U U^T) dA V / S and
    dV likewise, F_ij = 1 / (s_j^2 - s_i^2)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    v = _t(vh)
    p = _t(u) @ t @ v
    ds = np.diagonal(p, axis1=-2, axis2=-1).copy()
    if not compute_uv:
        return ds
    _full_matches_reduced(a, full_matrices)
    f = _pair_inverse(s * s)
    sp, ps = np.expand_dims(s, -1) * p, p * np.expand_dims(s, -2)
    inv_s = np.expand_dims(1.0 / s, -2)
    du = u @ (f * (ps + _t(ps))) + (t @ v - u @ p) * inv_s
    dv = v @ (f * (sp + _t(sp))) + (_t(t) @ u - v @ _t(p)) * inv_s
    return du, ds, _t(dv)


def _full_matches_reduced(a, full_matrices):
    if full_matrices and np.shape(a)[-1] != np.shape(a)[-2]:
        raise ValueError("s2sgrad differentiates np.linalg.svd of a non-square matrix with full_matrices=False: "
                         "the extra columns of the full U or V are any orthonormal completion")


def svd_adjoint(g, a, y, full_matrices=True, compute_uv=True):
    """Adjoint of a in y = np.linalg.svd(a, full_matrices, compute_uv), after Townsend (2016): U [(F o (U^T Ub
    - Ub^T U)) S + diag(sb) + S (F o (V^T Vb - Vb^T V))] V^T + (I - U U^T) Ub V^T / S + U Vb^T (I - V V^T) / S,
    where Ub, sb, Vb are the adjoints of U, s, V (zeros for those nothing read)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    v = _t(vh)
    if not compute_uv:
        return u @ (np.expand_dims(np.asarray(g), -1) * vh)
    _full_matches_reduced(a, full_matrices)
    gu, gs, gvh = (_zeros_if_none(part, like) for part, like in zip(g, (u, s, vh)))
    gv = _t(gvh)
    f = _pair_inverse(s * s)
    ut_gu, vt_gv = _t(u) @ gu, _t(v) @ gv
    inner = ((f * (ut_gu - _t(ut_gu))) * np.expand_dims(s, -2) + np.expand_dims(gs, -1) * np.eye(s.shape[-1])
             + np.expand_dims(s, -1) * (f * (vt_gv - _t(vt_gv))))
    inv_s = np.expand_dims(1.0 / s, -2)
    return (u @ inner @ vh + ((gu - u @ ut_gu) * inv_s) @ vh
            + u @ (_t(gv - v @ vt_gv) * np.expand_dims(1.0 / s, -1)))


def svdvals_adjoint(g, a):
    """Adjoint of a in np.linalg.svdvals(a): U diag(g) V^T."""
    return svd_adjoint(g, a, None, False, False)


def singular_vectors(a, right):
    """U (or V, not V^T, when `right`) of the reduced SVD of a."""
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return _t(vh) if right else u


def singular_vectors_tangent(t, a, right):
    """The tangent of singular_vectors(a, right) along t."""
    du, _, dvh = svd_tangent(t, a, None, False, True)
    return _t(dvh) if right else du


def singular_vectors_adjoint(g, a, right):
    """The adjoint of a in singular_vectors(a, right)."""
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    zeros = (np.zeros_like(u), np.zeros_like(s), np.zeros_like(vh))
    parts = (zeros[0], zeros[1], _t(g)) if right else (g, zeros[1], zeros[2])
    return svd_adjoint(parts, a, None, False, True)


def symmetric_read(t, uplo):
    """The symmetric matrices np.linalg.eigh(a, UPLO) sees: a's lower (or upper) triangle mirrored."""
    return mirror_lower(t) if uplo == "L" else _t(mirror_lower(_t(t)))


def onto_triangle_read(g, uplo):
    """The adjoint of a from that of the symmetric matrix eigh read off its lower (or upper) triangle."""
    lower = np.tril(g) + np.tril(_t(g), -1)
    return lower if uplo == "L" else _t(lower)


def eigh_tangent(t, a, y, uplo="L"):
    """The tangent of (w, V) = np.linalg.eigh(a, UPLO) along t: P = V^T dS V, dw = diag(P), dV = V (F o P)
    with F_ij = 1 / (w_j - w_i) (0 for equal eigenvalues)."""
    w, v = np.linalg.eigh(a, UPLO=uplo)
    p = _t(v) @ symmetric_read(t, uplo) @ v
    return np.diagonal(p, axis1=-2, axis2=-1).copy(), v @ (_pair_inverse(w) * p)


def eigh_adjoint(g, a, y, uplo="L"):
    """Adjoint of a in (w, V) = np.linalg.eigh(a, UPLO): V (diag(wb) + F o (V^T Vb)) V^T, folded onto the
    triangle eigh reads."""
    w, v = np.linalg.eigh(a, UPLO=uplo)
    gw, gv = (_zeros_if_none(part, like) for part, like in zip(g, (w, v)))
    inner = np.expand_dims(gw, -1) * np.eye(w.shape[-1]) + _pair_inverse(w) * (_t(v) @ gv)
    return onto_triangle_read(v @ inner @ _t(v), uplo)


def eigvalsh_adjoint(g, a, uplo="L"):
    """Adjoint of a in np.linalg.eigvalsh(a, UPLO): V diag(g) V^T on the triangle read."""
    v = np.linalg.eigh(a, UPLO=uplo)[1]
    return onto_triangle_read((v * np.expand_dims(g, -2)) @ _t(v), uplo)


def norm_axes(x, ord, axis, kind="norm"):
    """The axes a norm of x reduces (see norm_form)."""
    return norm_form(x, ord, axis, kind)[1]


def eigenvectors_of_symmetric(a, uplo):
    """V of np.linalg.eigh(a, UPLO)."""
    return np.linalg.eigh(a, UPLO=uplo)[1]


def eigenvectors_of_symmetric_tangent(t, a, uplo):
    return eigh_tangent(t, a, None, uplo)[1]


def eigenvectors_of_symmetric_adjoint(g, a, uplo):
    w = np.linalg.eigvalsh(a, UPLO=uplo)
    return eigh_adjoint((np.zeros_like(w), g), a, None, uplo)


def _real_eig(a):
    w, v = np.linalg.eig(a)
    if np.iscomplexobj(w):
        if np.any(np.imag(w) != 0):
            raise ValueError("s2sgrad differentiates np.linalg.eig of matrices whose eigenvalues are real; this "
                             "one has complex eigenvalues")
        w, v = np.real(w), np.real(v)
    return w, v


def eig_tangent(t, a, y):
    """The tangent of (w, V) = np.linalg.eig(a) with real eigenvalues along t: P = V^-1 dA V, dw = diag(P),
    dV = V (F o P) less V's components along itself (NumPy's columns keep unit length)."""
    w, v = _real_eig(a)
    p = np.linalg.solve(v, t @ v)
    dv = v @ (_pair_inverse(w) * p)
    return np.diagonal(p, axis1=-2, axis2=-1).copy(), dv - v * np.expand_dims(np.sum(v * dv, axis=-2), -2)


def eig_adjoint(g, a, y):
    """Adjoint of a in (w, V) = np.linalg.eig(a), real eigenvalues: V^-T (diag(wb) + F o (V^T Vb - V^T V
    diag(diag(V^T Vb)))) V^T."""
    w, v = _real_eig(a)
    gw, gv = (_zeros_if_none(part, like) for part, like in zip(g, (w, v)))
    vt_gv = _t(v) @ gv
    inner = (np.expand_dims(gw, -1) * np.eye(w.shape[-1])
             + _pair_inverse(w) * (vt_gv - (_t(v) @ v) * np.expand_dims(np.diagonal(vt_gv, axis1=-2, axis2=-1), -2)))
    return np.linalg.solve(_t(v), inner @ _t(v))


def eigvals_tangent(t, a):
    return eig_tangent(t, a, None)[0]


def eigvals_adjoint(g, a):
    w, v = _real_eig(a)
    return eig_adjoint((g, np.zeros_like(v)), a, None)


def _reduced_qr(a, mode):
    if mode != "reduced" or np.shape(a)[-2] < np.shape(a)[-1]:
        raise ValueError("s2sgrad differentiates np.linalg.qr with mode='reduced' of matrices with at least as many "
                         "rows as columns")
    return np.linalg.qr(a)


def qr_tangent(t, a, y, mode="reduced"):
    """The tangent of (Q, R) = np.linalg.qr(a) along t: C = Q^T dA R^-1, W = tril(C, -1) - tril(C, -1)^T,
    dQ = Q (W - C) + dA R^-1, dR = (C - W) R."""
    q, r = _reduced_qr(a, mode)
    t_rinv = _t(np.linalg.solve(_t(r), _t(t)))
    c = _t(q) @ t_rinv
    w = np.tril(c, -1) - _t(np.tril(c, -1))
    return q @ (w - c) + t_rinv, (c - w) @ r


def qr_adjoint(g, a, y, mode="reduced"):
    """Adjoint of a in (Q, R) = np.linalg.qr(a): (Qb + Q (tril(M - M^T, -1) - M)) R^-T, M = Q^T Qb - Rb R^T."""
    q, r = _reduced_qr(a, mode)
    gq, gr = (_zeros_if_none(part, like) for part, like in zip(g, (q, r)))
    m = _t(q) @ gq - gr @ _t(r)
    return _t(np.linalg.solve(r, _t(gq + q @ (np.tril(m - _t(m), -1) - m))))


def lstsq_tangent(t_a, t_b, a, b, y):
    """The tangent of (x, residuals, rank, s) = np.linalg.lstsq(a, b) along (t_a, t_b), either None: x moves
    as pinv(a) b, the residuals |a x - b|^2 by their envelope (x is optimal), s as a's singular values."""
    x = y[0]
    p = np.linalg.pinv(a)
    dx = np.zeros_like(x)
    dres = np.zeros_like(np.asarray(y[1], dtype=float))
    ds = np.zeros_like(y[3])
    r = a @ x - b
    if t_b is not None:
        dx = dx + p @ t_b
        dres = dres - _residual_sum(2.0 * r * t_b, y[1])
    if t_a is not None:
        dx = dx + pinv_tangent(t_a, a, p) @ b
        dres = dres + _residual_sum(2.0 * r * (t_a @ x), y[1])
        ds = ds + svd_tangent(t_a, a, None, False, False)
    return ItemwiseTuple((dx, dres, None, ds))


def _residual_sum(v, residuals):
    """Column sums of v laid out like lstsq's residuals (empty when they are not computed)."""
    if np.size(residuals) == 0:
        return np.zeros_like(np.asarray(residuals, dtype=float))
    return np.sum(v, axis=0)


def lstsq_adjoint(g, a, b, y, left):
    """Adjoint of a (left) or of b in (x, residuals, rank, s) = np.linalg.lstsq(a, b)."""
    x = y[0]
    gx = _zeros_if_none(g[0], x)
    gres = _zeros_if_none(g[1], np.asarray(y[1], dtype=float))
    p = np.linalg.pinv(a)
    r = a @ x - b
    weight = gres if np.size(gres) else 0.0           # residuals: |a x - b|^2 per column of b
    if not left:
        return _t(p) @ gx - 2.0 * r * weight
    outer = np.expand_dims(gx, -1) * np.expand_dims(b, -2) if np.ndim(b) == 1 else gx @ _t(b)
    moved = pinv_adjoint(outer, a, p)
    res = 2.0 * (np.expand_dims(r * weight, -1) * np.expand_dims(x, -2) if np.ndim(b) == 1 else (r * weight) @ _t(x))
    gs = _zeros_if_none(g[3], y[3])
    return moved + res + svdvals_adjoint(gs, a)


def pinv_tangent(t, a, p):
    """The tangent of P = pinv(a) along t (rank locally constant): -P dA P + P P^T dA^T (I - A P) +
    (I - P A) dA^T P^T P."""
    return -p @ t @ p + p @ _t(p) @ _t(t) @ (np.eye(np.shape(a)[-2]) - a @ p) + (
        np.eye(np.shape(a)[-1]) - p @ a) @ _t(t) @ _t(p) @ p


def pinv_adjoint(g, a, p):
    """Adjoint of a in P = pinv(a): -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""
    return -_t(p) @ g @ _t(p) + (np.eye(np.shape(a)[-2]) - a @ p) @ _t(g) @ p @ _t(p) + _t(p) @ p @ _t(g) @ (
        np.eye(np.shape(a)[-1]) - p @ a)


def matrix_power_adjoint(g, a, n):
    """Adjoint of a in np.linalg.matrix_power(a, n): sum over k of (A^T)^k G (A^T)^(n-1-k); for n < 0 through
    the inverse, A^n = (A^-1)^|n|."""
    if n == 0:
        return np.zeros_like(np.asarray(a, dtype=np.result_type(g, a)))
    if n < 0:
        inv = np.linalg.inv(a)
        g_inv = matrix_power_adjoint(g, inv, -n)
        return -_t(inv) @ g_inv @ _t(inv)
    at = _t(a)
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a))]
    for _ in range(n - 1):
        powers.append(powers[-1] @ at)
    return sum(powers[k] @ g @ powers[n - 1 - k] for k in range(n))


def matrix_power_tangent(t, a, n):
    """The tangent of np.linalg.matrix_power(a, n) along t: sum over k of A^k T A^(n-1-k)."""
    if n == 0:
        return np.zeros_like(np.asarray(a, dtype=np.result_type(t, a)))
    if n < 0:
        inv = np.linalg.inv(a)
        return matrix_power_tangent(-inv @ t @ inv, inv, -n)
    powers = [np.broadcast_to(np.eye(np.shape(a)[-1]), np.shape(a))]
    for _ in range(n - 1):
        powers.append(powers[-1] @ a)
    return sum(powers[k] @ t @ powers[n - 1 - k] for k in range(n))


def multi_dot_adjoints(g, xs):
    """One adjoint per array of np.linalg.multi_dot(xs) (a 1-D first or last array is a row or column)."""
    mats = [np.reshape(x, (1, -1)) if k == 0 and np.ndim(x) == 1 else
            np.reshape(x, (-1, 1)) if k == len(xs) - 1 and np.ndim(x) == 1 else np.asarray(x)
            for k, x in enumerate(xs)]
    g = np.reshape(g, (mats[0].shape[0], mats[-1].shape[1]))
    left = [np.eye(mats[0].shape[0])]
    for m in mats[:-1]:
        left.append(left[-1] @ m)
    right = [np.eye(mats[-1].shape[1])]
    for m in reversed(mats[1:]):
        right.append(m @ right[-1])
    right = right[::-1]
    return [np.reshape(_t(left[k]) @ g @ _t(right[k]), np.shape(x)) for k, x in enumerate(xs)]


def multi_dot_tangent(tangents, xs):
    """The tangent of np.linalg.multi_dot(xs) when each array moves along its tangent (None: it does not)."""
    out = None
    for k, t in enumerate(tangents):
        if t is None:
            continue
        term = np.linalg.multi_dot(list(xs[:k]) + [t] + list(xs[k + 1:]))
        out = term if out is None else out + term
    return zero_tangent(np.linalg.multi_dot(list(xs))) if out is None else out


def norm_form(x, ord, axis, kind="norm"):
    """("vector", axes) or ("matrix", (row axis, column axis)): what a norm of x reduces, for np.linalg.norm
    (kind "norm"), np.linalg.vector_norm ("vector", axes None: all of them) and matrix_norm ("matrix")."""
    ndim = np.ndim(x)
    if kind == "matrix":
        return "matrix", (ndim - 2, ndim - 1)
    if kind == "vector" or (kind == "norm" and ord is None and axis is None):
        return "vector", _axes(axis, ndim)
    if axis is None:
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 2:
        return "matrix", tuple(int(a) % ndim for a in axes)
    return "vector", tuple(int(a) % ndim for a in axes)


def _share(hit, axes):
    """1/k at each of the k True entries of `hit` in each group reduced over `axes` (ties split equally)."""
    return hit / np.sum(hit, axis=axes, keepdims=True)


def _vector_norm(x, ord, axes):
    """The vector norm of x over `axes` (a tuple; several are one flattened vector), with those axes kept."""
    if not axes:
        return np.abs(x)
    moved = np.moveaxis(x, axes, range(-len(axes), 0))
    flat = np.reshape(moved, moved.shape[:np.ndim(x) - len(axes)] + (-1,))
    return np.expand_dims(np.linalg.norm(flat, ord=2 if ord is None else ord, axis=-1), axes)


def _vector_slope(x, ord, axes):
    y = _vector_norm(x, ord, axes)
    if ord is None or ord == 2:
        return x / np.where(y == 0, 1.0, y)
    if ord == np.inf or ord == -np.inf:
        return np.sign(x) * _share(np.abs(x) == y, axes)
    if ord == 0:
        return np.zeros_like(x)
    if ord == 1:
        return np.sign(x)
    ratio = np.abs(x) / np.where(y == 0, 1.0, y)
    return np.sign(x) * np.where(x == 0, 0.0, np.power(np.where(x == 0, 1.0, ratio), ord - 1))


def _matrix_slope(x, ord, axes):
    m = np.moveaxis(x, axes, (-2, -1))
    if ord is None or ord == "fro":
        y = np.sqrt(np.sum(m * m, axis=(-2, -1), keepdims=True))
        slope = m / np.where(y == 0, 1.0, y)
    elif ord in ("nuc", 2, -2):
        u, _, vh = np.linalg.svd(m, full_matrices=False)
        if ord == "nuc":
            slope = u @ vh
        else:
            k = 0 if ord == 2 else -1
            slope = np.expand_dims(u[..., :, k], -1) * np.expand_dims(vh[..., k, :], -2)
    elif ord in (1, -1, np.inf, -np.inf):
        along = -2 if ord in (1, -1) else -1                       # columns' sums for 1, rows' for inf
        sums = np.sum(np.abs(m), axis=along, keepdims=True)
        best = np.max(sums, axis=-1 if along == -2 else -2, keepdims=True) if ord in (1, np.inf) else \
            np.min(sums, axis=-1 if along == -2 else -2, keepdims=True)
        slope = np.sign(m) * _share(sums == best, (-1, -2))
    else:
        raise ValueError(f"invalid norm order {ord!r} for matrices")
    return np.moveaxis(slope, (-2, -1), axes)


def norm_slope(x, ord, axis, kind="norm"):
    """The derivative of a norm of x (np.linalg.norm with any ord, vector_norm, matrix_norm) with respect to
    each element, of x's shape: x / |x| for the 2-norm and Frobenius, sign(x) (|x| / |x|_p)^(p-1) for a
    p-norm, U V^T for the nuclear norm, u1 v1^T for the spectral one, sign(x) at the extreme entry, row or
    column for the max/min norms (ties share equally), 0 for ord=0 (a count). Where a kink makes the
    derivative one-sided (x = 0), the subgradient 0."""
    form, axes = norm_form(x, ord, axis, kind)
    x = np.asarray(x)
    if form == "vector":
        return _vector_slope(x, ord, axes)
    return _matrix_slope(x, ord, axes)


def norm_hvp(v, x, ord, axis, kind="norm"):
    """The derivative of norm_slope(x, ...) along v: the norm's Hessian times v (symmetric, so both the
    adjoint and the tangent of norm_slope). Zero for the norms that are piecewise linear (ord 0, 1, inf and
    their matrix counterparts)."""
    form, axes = norm_form(x, ord, axis, kind)
    x, v = np.asarray(x), np.asarray(v)
    if form == "matrix" and ord in ("nuc", 2, -2):
        m, w = np.moveaxis(x, axes, (-2, -1)), np.moveaxis(v, axes, (-2, -1))
        u, _, vh = np.linalg.svd(m, full_matrices=False)
        du, _, dvh = svd_tangent(w, m, None, False, True)
        if ord == "nuc":
            out = du @ vh + u @ dvh
        else:
            k = 0 if ord == 2 else -1
            out = (np.expand_dims(du[..., :, k], -1) * np.expand_dims(vh[..., k, :], -2)
                   + np.expand_dims(u[..., :, k], -1) * np.expand_dims(dvh[..., k, :], -2))
        return np.moveaxis(out, (-2, -1), axes)
    if form == "matrix" and ord not in (None, "fro"):
        return np.zeros_like(v)
    if form == "matrix":
        form, ord = "vector", 2
    if ord in (0, 1, np.inf, -np.inf):
        return np.zeros_like(v)
    p = 2 if ord is None else ord
    s = _vector_slope(x, p, axes)
    y = _vector_norm(x, p, axes)
    safe = np.where(y == 0, 1.0, y)
    ratio = np.abs(x) / safe
    curvature = np.ones_like(x) if p == 2 else np.power(ratio, p - 2)
    return np.where(y == 0, 0.0, (p - 1) / safe * (curvature * v - s * np.sum(s * v, axis=axes, keepdims=True)))


# scipy.linalg: which part of a matrix a function reads

def solve_matrix(a, lower=False, assume_a=None, transposed=False):
    """The matrix scipy.linalg.solve(a, b, lower, assume_a=..., transposed=...) inverts: a itself, or for
    assume_a 'sym', 'her' or 'pos' the triangle it reads (upper unless lower) mirrored; transposed when
    asked. Linear in a."""
    if assume_a in ("sym", "her", "pos", "symmetric", "hermitian", "positive definite"):
        a = symmetric_read(a, "L" if lower else "U")
    return _t(a) if transposed else a


def solve_matrix_adjoint(g, lower=False, assume_a=None, transposed=False):
    """The adjoint of a in solve_matrix(a, lower, assume_a, transposed)."""
    g = _t(g) if transposed else g
    if assume_a in ("sym", "her", "pos", "symmetric", "hermitian", "positive definite"):
        g = onto_triangle_read(g, "L" if lower else "U")
    return g


def op_triangle(a, trans=0, lower=False, unit_diagonal=False):
    """The matrix scipy.linalg.solve_triangular(a, b, trans, lower, unit_diagonal) inverts, less its unit
    diagonal when unit_diagonal: the triangle read, transposed for trans 1 ('T', 'C'). Linear in a."""
    part = np.tril(a, -1 if unit_diagonal else 0) if lower else np.triu(a, 1 if unit_diagonal else 0)
    return _t(part) if trans in (1, 2, "T", "C") else part


def op_triangle_adjoint(g, trans=0, lower=False, unit_diagonal=False):
    """The adjoint of a in op_triangle(a, ...)."""
    g = _t(g) if trans in (1, 2, "T", "C") else g
    return np.tril(g, -1 if unit_diagonal else 0) if lower else np.triu(g, 1 if unit_diagonal else 0)


def triangular_system(a, trans=0, lower=False, unit_diagonal=False):
    """op_triangle(a, ...) with its unit diagonal, when it has one: the whole matrix inverted."""
    part = op_triangle(a, trans, lower, unit_diagonal)
    return part + np.eye(np.shape(a)[-1], dtype=float_dtype(a)) if unit_diagonal else part


def as_lower(c, lower):
    """A Cholesky factor as the lower one: c itself when lower, its transpose when it is the upper one."""
    return c if lower else _t(c)


def uplo(lower):
    """'L' or 'U': the triangle a Cholesky factorization with `lower` reads."""
    return "L" if lower else "U"


def _factor_of(c, lower):
    """The lower Cholesky factor held in one triangle of cho_factor's c (the other holds a's entries)."""
    return np.tril(c) if lower else _t(np.triu(c))


def cho_factor_tangent(t, a, y):
    """The tangent of (c, lower) = scipy.linalg.cho_factor(a, lower): the factor's tangent in its triangle,
    t's entries in the other (which c copies from a)."""
    c, lower = y
    L = _factor_of(c, lower)
    left = np.linalg.solve(L, symmetric_read(t, uplo(lower)))
    dL = L @ lower_half_diagonal(_t(np.linalg.solve(L, _t(left))))
    factor = np.tril(dL) if lower else np.triu(_t(dL))
    other = np.triu(t, 1) if lower else np.tril(t, -1)
    return ItemwiseTuple((factor + other, None))


def cho_factor_adjoint(g, a, y):
    """The adjoint of a in (c, lower) = scipy.linalg.cho_factor(a, lower)."""
    c, lower = y
    gc = _zeros_if_none(g[0], c)
    L = _factor_of(c, lower)
    through = cholesky_adjoint(np.tril(gc) if lower else _t(np.triu(gc)), L)
    return (through if lower else _t(through)) + (np.triu(gc, 1) if lower else np.tril(gc, -1))


def _factored_matrix(factor):
    c, lower = factor
    L = _factor_of(c, lower)
    return L, L @ _t(L)


def cho_solve_tangent(t_factor, t_b, factor, b, x):
    """The tangent of x = scipy.linalg.cho_solve((c, lower), b) along the tangents of c (a pair, or None) and
    of b (or None): A^-1 (db - dA x), A = L L^T, dA = dL L^T + L dL^T."""
    c, lower = factor
    L, A = _factored_matrix(factor)
    rhs = np.zeros_like(np.asarray(x, dtype=float)) if t_b is None else np.asarray(t_b, dtype=float)
    if t_factor is not None and t_factor[0] is not None:
        dc = t_factor[0]
        dL = np.tril(dc) if lower else _t(np.triu(dc))
        dA = dL @ _t(L) + L @ _t(dL)
        rhs = rhs - apply_like(dA, x, b)
    return solve_like(A, rhs, b)


def cho_solve_adjoint(g, factor, b, x, of_factor):
    """The adjoint of (c, lower) (a pair: c's adjoint, none for lower) or of b in scipy.linalg.cho_solve."""
    c, lower = factor
    L, A = _factored_matrix(factor)
    b_bar = solve_like(A, g, b)
    if not of_factor:
        return unbroadcast(b_bar, b)
    a_bar = -times_transpose(b_bar, x, np.ndim(b) == 1)
    l_bar = (a_bar + _t(a_bar)) @ L
    return ItemwiseTuple((np.tril(l_bar) if lower else np.triu(_t(l_bar)), None))


def _lu_parts(lu, piv):
    n = np.shape(lu)[-1]
    L = np.tril(lu, -1) + np.eye(n)
    U = np.triu(lu)
    perm = np.arange(n)
    for i, p in enumerate(piv):                      # LAPACK's row interchanges, in order
        perm[[i, p]] = perm[[p, i]]
    P = np.eye(n)[:, perm]                            # A = P L U
    return P, L, U


def lu_factor_tangent(t, a, y):
    """The tangent of (lu, piv) = scipy.linalg.lu_factor(a): with A = P L U and F = L^-1 P^T dA U^-1,
    dL = L tril(F, -1) and dU = triu(F) U, held in lu as L's strict lower and U's upper triangle."""
    lu, piv = y
    P, L, U = _lu_parts(lu, piv)
    F = np.linalg.solve(L, _t(P) @ t) @ np.linalg.inv(U)
    return ItemwiseTuple((np.tril(L @ np.tril(F, -1), -1) + np.triu(np.triu(F) @ U), None))


def lu_factor_adjoint(g, a, y):
    """The adjoint of a in (lu, piv) = scipy.linalg.lu_factor(a)."""
    lu, piv = y
    P, L, U = _lu_parts(lu, piv)
    g_lu = _zeros_if_none(g[0], lu)
    f_bar = np.tril(_t(L) @ np.tril(g_lu, -1), -1) + np.triu(np.triu(g_lu) @ _t(U))
    return P @ np.linalg.solve(_t(L), _t(np.linalg.solve(U, _t(f_bar))))


def lu_solve_tangent(t_factor, t_b, factor, b, x, trans=0):
    """The tangent of x = scipy.linalg.lu_solve((lu, piv), b, trans) along the tangents of lu (a pair, or
    None) and of b (or None)."""
    lu, piv = factor
    P, L, U = _lu_parts(lu, piv)
    A = P @ L @ U
    M = _t(A) if trans in (1, 2, "T", "C") else A
    rhs = np.zeros_like(np.asarray(x, dtype=float)) if t_b is None else np.asarray(t_b, dtype=float)
    if t_factor is not None and t_factor[0] is not None:
        dlu = t_factor[0]
        dA = P @ (np.tril(dlu, -1) @ U + L @ np.triu(dlu))
        rhs = rhs - apply_like(_t(dA) if trans in (1, 2, "T", "C") else dA, x, b)
    return solve_like(M, rhs, b)


def lu_solve_adjoint(g, factor, b, x, of_factor, trans=0):
    """The adjoint of (lu, piv) (a pair: lu's adjoint, none for piv) or of b in scipy.linalg.lu_solve."""
    lu, piv = factor
    P, L, U = _lu_parts(lu, piv)
    A = P @ L @ U
    transposed = trans in (1, 2, "T", "C")
    M = _t(A) if transposed else A
    b_bar = solve_transposed(M, g, b)
    if not of_factor:
        return unbroadcast(b_bar, b)
    m_bar = -times_transpose(b_bar, x, np.ndim(b) == 1)
    a_bar = _t(m_bar) if transposed else m_bar
    pa = _t(P) @ a_bar
    return ItemwiseTuple((np.tril(pa @ _t(U), -1) + np.triu(_t(L) @ pa), None))


def expm_frechet_block(a, e):
    """The derivative of scipy.linalg.expm at a along e: the upper right block of expm([[a, e], [0, a]])."""
    from scipy import linalg
    n = np.shape(a)[-1]
    top = np.concatenate([a, e], axis=-1)
    bottom = np.concatenate([np.zeros_like(top[..., :n]), a], axis=-1)
    return linalg.expm(np.concatenate([top, bottom], axis=-2))[..., :n, n:]


# scipy.integrate.odeint by the adjoint method: the derivatives of the right-hand side come from s2sgrad
# itself, at run time (its vjp and jvp of the user's function)

def _ode_parts(func, args, tfirst):
    """(the right-hand side f(y, t), the positions in func's call of the arguments that carry derivatives,
    how to call func) for odeint(func, y0, t, args, tfirst=tfirst)."""
    args = tuple(args)
    moving = [k for k, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]

    def call(y, t, extra):
        return func(t, y, *extra) if tfirst else func(y, t, *extra)

    y_position = 1 if tfirst else 0
    positions = (y_position,) + tuple(2 + k for k in moving)
    return (lambda y, t: np.asarray(call(y, t, args), dtype=float)), moving, positions, call


def _ode_tolerances(rtol, atol):
    """The backward (or sensitivity) integration's tolerances: the forward one's, at most 1e-10."""
    return (1e-10 if rtol is None else min(rtol, 1e-10)), (1e-10 if atol is None else min(np.min(atol), 1e-10))


def odeint_adjoint(g, func, y0, t, args, y, tfirst=False, rtol=None, atol=None):
    """The adjoints of (y0, the arguments in args, t) in y = scipy.integrate.odeint(func, y0, t, args): the
    adjoint method, integrating backwards from t[-1] to t[0] the state, a = dL/dy with da/dt = -a df/dy,
    and the arguments' adjoints with dp/dt = -a df/dp, adding each time's cotangent g[k] at t[k]. The
    vector-Jacobian products of func are s2sgrad's (s2sgrad.vjp of func, run at each step).

    Example:
        >>> odeint_adjoint(np.ones((2, 1)), decay, np.ones(1), np.array([0.0, 1.0]), (0.5,), y)
    """
    from scipy.integrate import odeint
    from .api import vjp
    f, moving, positions, call = _ode_parts(func, args, tfirst)
    args = tuple(args)
    y0 = np.asarray(y0, dtype=float)
    g = np.asarray(g, dtype=float).reshape(np.shape(y))
    n = y0.size
    sizes = [np.size(args[k]) for k in moving]

    def pullback_at(state, tt, a):
        full = [state.reshape(y0.shape), tt, *args] if not tfirst else [tt, state.reshape(y0.shape), *args]
        _, pullback = vjp(func, *full, wrt=positions)
        grads = pullback(a.reshape(y0.shape))
        return [np.ravel(np.asarray(v, dtype=float)) for v in grads]

    def backwards(z, tt):
        state, a = z[:n], z[n:2 * n]
        grads = pullback_at(state, tt, a)
        return np.concatenate([f(state.reshape(y0.shape), tt).ravel(), -grads[0]] + [-v for v in grads[1:]])

    rtol_b, atol_b = _ode_tolerances(rtol, atol)
    t = np.asarray(t, dtype=float)
    a = g[-1].ravel().copy() if len(t) > 1 else np.zeros(n)     # one time: y is y0 alone, g[0] is added below
    p = np.zeros(sum(sizes))
    dt = np.zeros_like(t)
    for k in range(len(t) - 1, 0, -1):
        dt[k] = np.dot(g[k].ravel(), f(np.asarray(y[k]).reshape(y0.shape), t[k]).ravel())
        z = odeint(backwards, np.concatenate([np.ravel(y[k]), a, p]), [t[k], t[k - 1]], rtol=rtol_b, atol=atol_b)[-1]
        a, p = z[n:2 * n], z[2 * n:]
        if k - 1 > 0:
            a = a + g[k - 1].ravel()
    dt[0] = -np.dot(a, f(y0, t[0]).ravel())
    dy0 = (a + g[0].ravel()).reshape(y0.shape)
    dargs, start = [None] * len(args), 0
    for k, size in zip(moving, sizes):
        dargs[k] = p[start:start + size].reshape(np.shape(args[k]))
        start += size
    return dy0, dargs, dt


def odeint_tangent(t_y0, t_args, t_t, func, y0, t, args, y, tfirst=False, rtol=None, atol=None):
    """The tangent of y = scipy.integrate.odeint(func, y0, t, args) along the tangents of y0, of args (a
    sequence with None for an argument that does not move) and of t (None where they do not move): the
    sensitivity s = dy integrated alongside y, ds/dt = df/dy s + df/dp dp, from s(t0) = dy0 - f(y0, t0) dt0;
    at each t[k] the output also moves by f(y[k], t[k]) dt[k]. The Jacobian-vector products of func are
    s2sgrad's (s2sgrad.jvp of func, run at each step)."""
    from scipy.integrate import odeint
    from .api import jvp
    f, moving, positions, call = _ode_parts(func, args, tfirst)
    args = tuple(args)
    y0 = np.asarray(y0, dtype=float)
    n = y0.size
    t = np.asarray(t, dtype=float)
    arg_tangents = [None if t_args is None or t_args[k] is None else t_args[k] for k in range(len(args))]
    moving_tangents = [np.zeros(np.shape(args[k])) if arg_tangents[k] is None else np.asarray(arg_tangents[k], float)
                       for k in moving]

    def forwards(z, tt):
        state, s = z[:n].reshape(y0.shape), z[n:].reshape(y0.shape)
        full = [state, tt, *args] if not tfirst else [tt, state, *args]
        value, slope = jvp(func, tuple(full), tuple([s] + moving_tangents), wrt=positions)
        return np.concatenate([np.ravel(value), np.ravel(slope)])

    s0 = np.zeros(n) if t_y0 is None else np.ravel(np.asarray(t_y0, dtype=float)).copy()
    if t_t is not None:
        s0 = s0 - f(y0, t[0]).ravel() * np.asarray(t_t, dtype=float)[0]
    rtol_b, atol_b = _ode_tolerances(rtol, atol)
    z = odeint(forwards, np.concatenate([y0.ravel(), s0]), t, rtol=rtol_b, atol=atol_b)
    out = z[:, n:].reshape(np.shape(y))
    out[0] = 0.0 if t_y0 is None else np.reshape(t_y0, np.shape(y)[1:])      # y[0] is y0, whatever t[0] is
    if t_t is not None:
        t_t = np.asarray(t_t, dtype=float)
        for k in range(1, len(t)):
            out[k] = out[k] + f(np.asarray(y[k]).reshape(y0.shape), t[k]).reshape(np.shape(y)[1:]) * t_t[k]
    return out


# scipy.integrate.solve_ivp with t_eval: odeint's adjoint and sensitivity code, with fun(t, y, *args) (odeint's
# tfirst=True) and sol.y read as odeint's trajectory transposed, from t_span[0], where y0 is

def _ivp_as_odeint(t_span, y0, t_eval, sol):
    """(times, trajectory, whether t_span[0] was put first) of sol = solve_ivp(fun, t_span, y0, t_eval=t_eval)
    as odeint's: one row per time, the first time t_span[0] with y0 its row (t_eval need not start there)."""
    t0 = float(t_span[0])
    t_eval = np.asarray(t_eval, dtype=float).ravel()
    y = np.asarray(sol["y"], dtype=float).T.reshape(t_eval.size, y0.size)
    if t_eval.size and t_eval[0] == t0:
        return t_eval, y, False
    return np.concatenate([[t0], t_eval]), np.concatenate([y0.reshape(1, -1), y]), True


def _ivp_inputs(y0, args):
    y0 = np.asarray(y0)
    if y0.dtype.kind == "c":
        raise TypeError("s2sgrad differentiates solve_ivp for a real state y0 only, not a complex one")
    return np.asarray(y0, dtype=float), (() if args is None else tuple(args))


def solve_ivp_adjoint(g, fun, t_span, y0, t_eval, args, sol, rtol=None, atol=None):
    """The adjoints of (y0, the arguments in args) in sol = scipy.integrate.solve_ivp(fun, t_span, y0,
    t_eval=t_eval, args=args), given g, the adjoint of sol (a dict by field): odeint_adjoint's along g["y"]
    transposed, with fun(t, y, *args). Only sol.y carries a derivative; t_span and t_eval carry none.

    Example:
        >>> solve_ivp_adjoint({"y": np.ones((1, 2))}, decay, (0.0, 1.0), np.ones(1), [0.5, 1.0], (0.5,), sol)
    """
    y0, args = _ivp_inputs(y0, args)
    times, y, added = _ivp_as_odeint(t_span, y0, t_eval, sol)
    gy = None if g is None else g.get("y")
    gy = np.zeros((len(times) - added, y0.size)) if gy is None else np.asarray(gy, dtype=float).T
    if added:                                   # no output at t_span[0]
        gy = np.concatenate([np.zeros((1, y0.size)), gy.reshape(-1, y0.size)])
    dy0, dargs, _ = odeint_adjoint(gy, fun, y0, times, args, y, True, rtol, atol)
    return dy0, dargs


class ItemwiseDict(dict):
    """The tangent of a result with fields (solve_ivp's): a dict whose sum with another adds field by field
    (None is no tangent), as the terms of a tangent rule add.

    Example:
        >>> ItemwiseDict(y=np.ones(2), message=None) + ItemwiseDict(y=np.ones(2), message=None)   # y: [2., 2.]
    """

    def __add__(self, other):
        return ItemwiseDict({k: other[k] if v is None else v if other[k] is None else v + other[k]
                             for k, v in self.items()})

    __radd__ = __add__


def solve_ivp_tangent(t_y0, t_args, fun, t_span, y0, t_eval, args, sol, rtol=None, atol=None):
    """The tangent of sol = scipy.integrate.solve_ivp(fun, t_span, y0, t_eval=t_eval, args=args) along the
    tangents of y0 and of args (a sequence, None for an argument that does not move), by field: odeint_tangent's,
    transposed, for sol.y; zeros for the other fields (sol.t is t_eval, which carries no derivative).

    Example:
        >>> solve_ivp_tangent(np.ones(1), None, decay, (0.0, 1.0), np.ones(1), [0.5, 1.0], (0.5,), sol)["y"]
    """
    y0, args = _ivp_inputs(y0, args)
    times, y, added = _ivp_as_odeint(t_span, y0, t_eval, sol)
    ty = odeint_tangent(t_y0, t_args, None, fun, y0, times, args, y, True, rtol, atol)[int(added):]
    out = ItemwiseDict(zero_tangent(sol))
    out["y"] = ty.T.reshape(np.shape(sol["y"]))
    return out


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
