"""Containers of parameters (pytrees, as JAX calls them): walking, flattening and rebuilding them.

A tree is a dict, a list or a tuple (a NamedTuple included), nested to any depth; anything else is a
leaf. A leaf either carries a derivative (a float, an int, a NumPy float scalar, an array) or does not
(None, a string, bytes, a bool): the gradient of a tree has None at those leaves, and `ravel` leaves
them out of its vector. Dicts are walked in sorted key order (as JAX does), so two dicts with the same
keys flatten alike whatever order they were built in; rebuilt dicts keep the order of the original.

Example:
    >>> params = {"W": np.ones((2, 3)), "b": np.zeros(2), "act": "tanh"}
    >>> [path for path, leaf in leaves(params)]
    [('W',), ('act',), ('b',)]
    >>> vector, unravel = ravel(params)     # 8 floats; unravel(vector) is params again
"""

import copy
import numbers

import numpy as np


def is_container(x):
    """Whether `x` is a tree node (a dict, list or tuple) rather than a leaf."""
    return isinstance(x, (dict, list, tuple))


def carries_derivative(leaf):
    """Whether a leaf has a derivative: False for None, strings, bytes and bools (their gradient is None),
    True for everything else (numbers and arrays; which of those are differentiable is checked where
    they are differentiated)."""
    return not (leaf is None or isinstance(leaf, (str, bytes, bool, np.bool_)))


def keys(x):
    """The keys (dict) or positions (list, tuple) of a container, in the order trees are walked."""
    if isinstance(x, dict):
        try:
            return sorted(x)
        except TypeError:                   # keys of types that do not compare (1 and "a"): still one order
            return sorted(x, key=lambda k: (type(k).__qualname__, repr(k)))
    return range(len(x))


def leaves(tree, path=()):
    """Every leaf of `tree` as (path, leaf), in walking order; a path is the tuple of keys and positions
    from the root (`()` for a tree that is itself a leaf).

    Example:
        >>> leaves([(np.ones(2), 0.5), {"k": None}])
        [((0, 0), array([1., 1.])), ((0, 1), 0.5), ((1, 'k'), None)]
    """
    if not is_container(tree):
        return [(path, tree)]
    found = []
    for k in keys(tree):
        found.extend(leaves(tree[k], path + (k,)))
    return found


def rebuild(tree, values):
    """A tree of the structure and container types of `tree` whose leaves are `values`, given in the order
    of `leaves(tree)`; a dict keeps the key order of `tree`.

    Example:
        >>> rebuild({"b": 1.0, "a": 2.0}, [20.0, 10.0])       # leaves in key order: a, then b
        {'b': 10.0, 'a': 20.0}
    """
    values = iter(values)
    rebuilt = _rebuild(tree, values)
    if next(values, _END) is not _END:
        raise ValueError(f"rebuild was given more values than the {len(leaves(tree))} leaves of the tree")
    return rebuilt


_END = object()


def _rebuild(tree, values):
    if not is_container(tree):
        value = next(values, _END)
        if value is _END:
            raise ValueError("rebuild was given fewer values than the tree has leaves")
        return value
    made = {k: _rebuild(tree[k], values) for k in keys(tree)}
    return like(tree, [made[k] for k in (tree if isinstance(tree, dict) else range(len(tree)))])


def like(tree, items):
    """A container of the type of `tree` holding `items` (in the order of its own keys or positions): a
    dict for a dict, a NamedTuple for a NamedTuple, a list for a list."""
    if isinstance(tree, dict):
        pairs = zip(tree, items)
        if type(tree) is dict:
            return dict(pairs)
        made = copy.copy(tree)          # an OrderedDict, a defaultdict keeps its class (and its factory)
        made.update(pairs)
        return made
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*items)
    return type(tree)(items)


def at(tree, path):
    """The part of `tree` at `path` (None below a None: a zero subtree of a gradient or tangent)."""
    for k in path:
        if tree is None:
            return None
        tree = tree[k]
    return tree


def replaced(tree, path, value):
    """A new tree like `tree` with the leaf at `path` replaced by `value` (the other leaves shared).

    Example:
        >>> replaced({"W": W, "b": b}, ("b",), b + 1e-6)
    """
    return rebuild(tree, [value if p == path else leaf for p, leaf in leaves(tree)])


def path_text(tree, path):
    """`path` spelled as Python reads it, `['W'][0]` (`.W` for a NamedTuple's field), for messages."""
    text = []
    for k in path:
        fields = getattr(type(tree), "_fields", None)
        text.append(f".{fields[k]}" if isinstance(tree, tuple) and fields else f"[{k!r}]")
        tree = tree[k]
    return "".join(text)


def ravel(tree):
    """(vector, unravel): every leaf of `tree` that carries a derivative, flattened in C order into one
    new 1-d float array, and the function turning such a vector back into a tree like `tree`
    (autograd's `flatten`, JAX's `ravel_pytree`), for `scipy.optimize.minimize` or an optimiser
    written over one vector.

    - Leaves are taken in `leaves(tree)` order (dict keys sorted), so `ravel(grad(f)(params))[0]`
      lines up with `ravel(params)[0]`: a gradient has the structure of its argument.
    - None, strings, bytes and bools carry no derivative: they are not in the vector, and `unravel`
      puts the original objects back (a gradient has None there, which is left out too).
    - Floats and ints are entries of the vector; `unravel` gives them back as Python floats (an int
      is a real number here, as in `grad`). NumPy float scalars and arrays come back with their dtype
      and shape.
    - The vector's dtype is NumPy's result type of the leaves, a Python float or int counting as
      float64 (float32 arrays give a float32 vector; float32 arrays and a float a float64 one), so
      `unravel(ravel(tree)[0])` gives back exactly what went in; float64 for a tree with no leaves.
      An integer, bool, complex or object array, a complex number or any other object is refused
      with a TypeError naming its path, as `grad` refuses it.
    - Nothing shares memory: the vector is a new array, and each `unravel(v)` call makes new arrays,
      so the caller may update `v` in place afterwards.

    Example:
        >>> params = {"W": np.ones((2, 2)), "b": np.zeros(2), "scale": 0.5, "act": "tanh"}
        >>> v, unravel = ravel(params)
        >>> v                           # W, then b, then scale (act carries no derivative)
        array([1. , 1. , 1. , 1. , 0. , 0. , 0.5])
        >>> unravel(v - 0.1 * ravel(s2sgrad.grad(loss)(params, x))[0])    # one gradient step
    """
    parts = []                                          # (path, leaf) of the leaves in the vector
    for path, leaf in leaves(tree):
        if carries_derivative(leaf):
            _check_leaf(tree, path, leaf)
            parts.append((path, leaf))
    dtypes = [leaf.dtype if isinstance(leaf, (np.ndarray, np.generic)) else np.dtype(np.float64)
              for _, leaf in parts]
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    pieces = [np.ravel(np.asarray(leaf, dtype)) for _, leaf in parts]
    vector = np.concatenate(pieces) if pieces else np.zeros(0, dtype)
    sizes = [piece.size for piece in pieces]
    return vector, _Unravel(tree, parts, sizes, dtype)


def _check_leaf(tree, path, leaf):
    """Refuse a leaf that carries a derivative but is not a real number or an array of floats."""
    if isinstance(leaf, (np.ndarray, np.generic)):
        if leaf.dtype.kind == "f":
            return
        found = f"an array of dtype {leaf.dtype}" if isinstance(leaf, np.ndarray) else _a(type(leaf).__name__)
    elif isinstance(leaf, numbers.Real):
        return
    else:
        found = "complex" if isinstance(leaf, numbers.Complex) else _a(type(leaf).__name__)
    raise TypeError(f"ravel: the leaf tree{path_text(tree, path)} is {found}, not a float or an array of floats; "
                    "pass it to your function as an argument of its own (or convert it: x.astype(float))")


def _a(noun):
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


class _Unravel:
    """The `unravel` function `ravel` returns: a vector of the raveled length back into a tree."""

    def __init__(self, tree, parts, sizes, dtype):
        self._tree = tree
        self._paths = {path for path, _ in parts}
        self._parts = parts
        self._sizes = sizes
        self.size = sum(sizes)          # the vector's length
        self.dtype = dtype              # and dtype, as ravel made it

    def __call__(self, vector):
        """The tree `ravel` was given, with the entries of `vector` (new arrays, never views of it)."""
        v = np.asarray(vector)
        if v.shape != (self.size,):
            raise ValueError(f"unravel takes a 1-d vector of length {self.size} (what ravel gave), not one of "
                             f"shape {v.shape}")
        if v.dtype.kind not in "biuf":
            raise TypeError(f"unravel takes a vector of real numbers, not one of dtype {v.dtype}")
        new, start = {}, 0
        for (path, leaf), size in zip(self._parts, self._sizes):
            piece = v[start:start + size]
            start += size
            if isinstance(leaf, np.ndarray):
                new[path] = np.array(piece, dtype=leaf.dtype).reshape(leaf.shape)      # a copy
            elif isinstance(leaf, np.generic):
                new[path] = leaf.dtype.type(piece[0])
            else:                                                                    # a float or an int
                new[path] = float(piece[0])
        return rebuild(self._tree, [new.get(path, leaf) for path, leaf in leaves(self._tree)])

    def __repr__(self):
        return f"<s2sgrad.ravel unravel: {self.size} entries of {self.dtype} into {type(self._tree).__name__}>"
