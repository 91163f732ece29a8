"""Containers of parameters (pytrees, as JAX calls them): walking, flattening and rebuilding them.

A tree node is one of:
- a dict, a list or a tuple (a NamedTuple included): children its items; dicts are walked in sorted key
  order (as JAX does), so two dicts with the same keys flatten alike whatever order they were built in;
- a dataclass instance: children its fields present on the instance, in definition order (attributes
  that are not fields, set in __post_init__, are not part of the tree);
- an object of a class of the user's (not the standard library's or numpy's, scipy's, ...: see
  `is_object`): children its instance attributes, `vars(obj)`, in sorted order. Class attributes are not
  children: they are the class's, like a global constant.

Anything else is a leaf. A leaf either carries a derivative (a float, an int, a NumPy float scalar, an
array) or does not (None, a string, bytes, a bool, a function, a class, a module): the gradient of a
tree has None at those leaves, and `ravel` leaves them out of its vector. Any other leaf (a NumPy random
Generator, a SciPy distribution, an array of ints) is refused where it would be differentiated.

Where objects are nodes: s2sgrad walks as a tree only what it differentiates, namely an argument named
in `wrt`, a function's output (for jvp, vjp and jacobian), the tree given to `ravel`, and directions of
their structure. An object one of those holds (an attribute of a model, an item of a wrt dict) is a node
at any depth; an object passed as an argument not in `wrt` is never walked, copied or rebuilt.

A rebuilt node is a new one of the same type: `like` copies an object (`copy.copy`) and sets each child
(frozen dataclasses included), so the original is never mutated or shared.

Example:
    >>> params = {"W": np.ones((2, 3)), "b": np.zeros(2), "act": "tanh"}
    >>> [path for path, leaf in leaves(params)]
    [('W',), ('act',), ('b',)]
    >>> vector, unravel = ravel(params)     # 8 floats; unravel(vector) is params again
    >>> @dataclass
    ... class Layer:
    ...     W: np.ndarray
    ...     b: np.ndarray
    >>> path_text(Layer(np.ones(2), 0.0), ("b",))
    '.b'
"""

import copy
import dataclasses
import numbers
import sys
import types

import numpy as np

from .frontend import LIBRARIES

# Modules whose classes' instances are never walked by attribute: a NumPy random Generator or a SciPy
# distribution object is a leaf (refused where it would be differentiated), not a tree of its internals.
_NOT_THE_USERS = frozenset(sys.stdlib_module_names) | set(LIBRARIES) | {"builtins", "s2sgrad"}


def is_container(x):
    """Whether `x` is a tree node rather than a leaf: a dict, list or tuple, a dataclass instance, or an
    object of the user's (`is_object`)."""
    return isinstance(x, (dict, list, tuple)) or is_object(x)


def is_object(x):
    """Whether `x` is a node walked by attribute: a dataclass instance (of any module), or an instance of
    a class defined outside the standard library and the libraries s2sgrad knows (numpy, scipy, ...)
    whose instances have a `__dict__`, and which is not a number, an array, a string, a function or a
    class. A callable object of the user's (a layer with `__call__`) is a node, like a model. Decided by
    the class alone, once per class.

    Example:
        >>> is_object(Model()), is_object(np.random.default_rng()), is_object(np.tanh)
        (True, False, False)
    """
    cls = type(x)
    found = _OBJECT_CLASSES.get(cls)
    if found is None:
        found = _OBJECT_CLASSES[cls] = _is_object_class(cls)
    return found


_OBJECT_CLASSES = {}


def _is_object_class(cls):
    if issubclass(cls, (dict, list, tuple, type, types.ModuleType, np.ndarray, np.generic, numbers.Number, str,
                        bytes, type(None))):
        return False
    if dataclasses.is_dataclass(cls):
        return True
    if issubclass(cls, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)) \
            or not cls.__dictoffset__:                          # no __dict__: slots, or a C type
        return False
    return (cls.__module__ or "").partition(".")[0] not in _NOT_THE_USERS


def carries_derivative(leaf):
    """Whether a leaf has a derivative: False for None, strings, bytes and bools, and for functions,
    classes and modules (whatever is callable but not a node: np.tanh, functools.partial, a class), whose
    gradient is None; True for everything else (numbers and arrays; which of those are differentiable is
    checked where they are differentiated, and other objects are refused there)."""
    return not (leaf is None or isinstance(leaf, (str, bytes, bool, np.bool_, types.ModuleType))
                or callable(leaf) and not is_container(leaf))


def keys(x):
    """The children of a node in the order trees are walked: a dict's keys sorted, a list's or tuple's
    positions, a dataclass's fields present on the instance in definition order, an object's instance
    attributes sorted."""
    if isinstance(x, dict):
        return _sorted(x)
    if isinstance(x, (list, tuple)):
        return range(len(x))
    if dataclasses.is_dataclass(x):
        state = getattr(x, "__dict__", None)            # None with slots=True
        return [name for name in _field_names(type(x))
                if (name in state if state is not None else hasattr(x, name))]
    return _sorted(vars(x))


def _field_names(cls):
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_FIELD_NAMES = {}


def _sorted(names):
    try:
        return sorted(names)
    except TypeError:                   # keys of types that do not compare (1 and "a"): still one order
        return sorted(names, key=lambda k: (type(k).__qualname__, repr(k)))


def own_keys(x):
    """The children of a node in its own order: a dict's insertion order, else as `keys`. `like` takes its
    items in this order."""
    return list(x) if isinstance(x, dict) else keys(x)


def child(tree, key):
    """The child `key` of a node: an item of a dict, list or tuple, else an attribute. The one way trees are
    read, so the adjoint of an object (a dict keyed by attribute inside generated code) and the object
    itself are read alike: child(grad, "W") is grad["W"] or grad.W."""
    if isinstance(tree, (dict, list, tuple)):
        return tree[key]
    return getattr(tree, key)


def leaves(tree, path=()):
    """Every leaf of `tree` as (path, leaf), in walking order; a path is the tuple of keys, positions and
    attribute names from the root (`()` for a tree that is itself a leaf). A node that contains itself
    (an object whose attribute refers back to it) is refused with a ValueError naming both paths.

    Example:
        >>> leaves([(np.ones(2), 0.5), {"k": None}])
        [((0, 0), array([1., 1.])), ((0, 1), 0.5), ((1, 'k'), None)]
    """
    found = []
    _walk(tree, tree, tuple(path), {}, found)
    return found


def _walk(root, tree, path, open_nodes, found):
    if not is_container(tree):
        found.append((path, tree))
        return
    if id(tree) in open_nodes:
        raise ValueError(f"tree{path_text(root, path)} is tree{path_text(root, open_nodes[id(tree)])} itself: a tree "
                         "that contains itself has no gradient of its structure; break the cycle (keep the "
                         "back reference outside the differentiated argument)")
    open_nodes[id(tree)] = path
    for k in keys(tree):
        _walk(root, child(tree, k), path + (k,), open_nodes, found)
    del open_nodes[id(tree)]


def rebuild(tree, values):
    """A tree of the structure and node types of `tree` whose leaves are `values`, given in the order
    of `leaves(tree)`; a dict keeps the key order of `tree`, an object is a copy of it (see `like`).

    Example:
        >>> rebuild({"b": 1.0, "a": 2.0}, [20.0, 10.0])       # leaves in key order: a, then b
        {'b': 10.0, 'a': 20.0}
    """
    count = len(leaves(tree))                   # refuses a cycle before the walk below would recurse forever
    values = iter(values)
    rebuilt = _rebuild(tree, values)
    if next(values, _END) is not _END:
        raise ValueError(f"rebuild was given more values than the {count} leaves of the tree")
    return rebuilt


_END = object()


def _rebuild(tree, values):
    if not is_container(tree):
        value = next(values, _END)
        if value is _END:
            raise ValueError("rebuild was given fewer values than the tree has leaves")
        return value
    made = {k: _rebuild(child(tree, k), values) for k in keys(tree)}
    return like(tree, [made[k] for k in own_keys(tree)])


def like(tree, items):
    """A node of the type of `tree` holding `items` (in the order of `own_keys(tree)`): a dict for a dict,
    a NamedTuple for a NamedTuple, a list for a list; for a dataclass or an object, a copy of it
    (`copy.copy`) with each child attribute set (through object.__setattr__, so frozen dataclasses work
    too): `tree` itself is never changed. What is not a child (a dataclass's other attributes) the copy
    holds as `tree` does."""
    if isinstance(tree, dict):
        pairs = zip(tree, items)
        if type(tree) is dict:
            return dict(pairs)
        made = copy.copy(tree)          # an OrderedDict, a defaultdict keeps its class (and its factory)
        made.update(pairs)
        return made
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*items)
    if isinstance(tree, (list, tuple)):
        return type(tree)(items)
    made = copy.copy(tree)
    for k, item in zip(own_keys(tree), items):
        object.__setattr__(made, k, item)
    return made


def at(tree, path):
    """The part of `tree` at `path` (None below a None: a zero subtree of a gradient or tangent)."""
    for k in path:
        if tree is None:
            return None
        tree = child(tree, k)
    return tree


def replaced(tree, path, value):
    """A new tree like `tree` with the leaf at `path` replaced by `value` (the other leaves shared).

    Example:
        >>> replaced({"W": W, "b": b}, ("b",), b + 1e-6)
    """
    return rebuild(tree, [value if p == path else leaf for p, leaf in leaves(tree)])


def path_text(tree, path):
    """`path` spelled as Python reads it, for messages: `['W'][0]`, `.W` for a NamedTuple's field and for
    an attribute of a dataclass or an object (`.layers[0].W`)."""
    text = []
    for k in path:
        fields = getattr(type(tree), "_fields", None)
        if isinstance(tree, tuple) and fields:
            text.append(f".{fields[k]}")
        elif isinstance(tree, (dict, list, tuple)) or tree is None:
            text.append(f"[{k!r}]")
        else:
            text.append(f".{k}")
        tree = None if tree is None else child(tree, k)
    return "".join(text)


def ravel(tree):
    """(vector, unravel): every leaf of `tree` that carries a derivative, flattened in C order into one
    new 1-d float array, and the function turning such a vector back into a tree like `tree`
    (autograd's `flatten`, JAX's `ravel_pytree`), for `scipy.optimize.minimize` or an optimiser
    written over one vector.

    - Leaves are taken in `leaves(tree)` order (dict keys sorted, a dataclass's fields in definition
      order, an object's attributes sorted), so `ravel(grad(f)(params))[0]` lines up with
      `ravel(params)[0]`: a gradient has the structure of its argument (an object for an object).
    - None, strings, bytes, bools, functions, classes and modules carry no derivative: they are not in
      the vector, and `unravel` puts the original objects back (a gradient has None there, which is
      left out too).
    - A dataclass or an object comes back from `unravel` as a new copy of it with its attributes set
      (see `like`); the one given to `ravel` is never changed.
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
        >>> def loss(params, x):
        ...     return np.sum(params["W"] @ x + params["b"]) * params["scale"]
        >>> step = unravel(v - 0.1 * ravel(s2sgrad.grad(loss)(params, np.ones(2)))[0])   # one SGD step
        >>> step["W"], step["act"]
        (array([[0.95, 0.95],
               [0.95, 0.95]]), 'tanh')
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
